"""A traced scope's body as spec statements: chains of layers (`y = x -> a -> b`), expressions
where tensors meet (`y + skip`, `concat(a, b, dim=1)`), and `out`.

Consecutive layers whose input is the previous layer's output, read by nothing else, form one
chain; a value read twice or by an expression is named. A value an op takes as a named input
(scaled_dot_product_attention's `query`, `key`, `value`) is named after it, as are the values
that only lead to it through a chain; any other name is reused (`x = x -> ...`) when the value
it held is not read again, or else a fresh one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from archc.importer.sizes import TANGLED
from archc.importer.terms import Literal, Resolve, as_written, named, plain, repeated
from archc.syntax.grammar import is_name

FRESH = ("x", "y", "skip", "z", "h")


@dataclass(frozen=True)
class Binding:
    """`name = shared(text)`: the one instance of a module applied more than once, bound
    before its first application; `{0}`, `{1}` in ``text`` are the other tensors it takes."""

    name: str
    text: str
    inputs: tuple[str, ...] = ()


@dataclass
class Term:
    """One entry of a body: a layer applied to one tensor (``chain``, text like `relu`), or an
    expression over tensors (text with `{0}`, `{1}` for the inputs, like `{0} + {1}`).
    ``optional`` writes it as `name = if FLAG then x -> layer else x`."""

    text: str
    inputs: list[str]
    output: str
    chain: bool
    optional: str | None = None
    shape: tuple[int, ...] | None = None
    alone: bool = False  # a stage of the network, given its own statement
    also: list[str] = field(default_factory=list)  # a placeholder's other outputs
    # the values of the pieces of an op that gives several (`split`), in order, each bound to
    # a name of its own: `q, k, v = x -> split(64, dim=2)`
    unpacked: list[str] = field(default_factory=list)
    op: str = ""  # the op of a function call: `concat` for `torch.cat`
    # the op's names for its inputs where they say what the tensor is (`query`), else ""
    roles: list[str] = field(default_factory=list)
    # the module's path from the body's scope (`features.conv0` where `features` is a dict of
    # layers), and whether the text still lacks its `as` name
    path: str | None = None
    unnamed: bool = False
    # an application of a shared instance, written as its name; the first one binds it
    shares: bool = False
    binding: Binding | None = None


@dataclass
class _Pending:
    start: str
    layers: list[str] = field(default_factory=list)
    tail: str = ""
    shape: tuple[int, ...] | None = None


def statements(
    terms: list[Term], inputs: dict[str, str], output: str, shapes: bool = False
) -> list[str]:
    """The body's lines (without `in`), the inputs named by ``inputs``."""
    reads: dict[str, list[int]] = {}
    for index, term in enumerate(terms):
        for value in (*term.inputs, *(term.binding.inputs if term.binding else ())):
            reads.setdefault(value, []).append(index)
    reads.setdefault(output, []).append(len(terms))
    names = dict(inputs)
    taken = set(names.values())
    hints = _hints(terms, reads)
    # shared instances' variables: their own names, unless an input has one
    bound: dict[str, str] = {}
    bindings = [term.binding for term in terms if term.binding is not None]
    for binding in bindings:
        variable = binding.name
        if variable in taken or not is_name(variable):
            stem = binding.name if binding.name.isidentifier() and binding.name.isascii() else "h"
            variable = next(
                name
                for name in (f"{stem}_shared", *(f"{stem}_shared{n}" for n in range(2, 10_000)))
                if name not in taken
            )
        bound[binding.name] = variable
        taken.add(variable)
    lines: list[str] = []
    pending: _Pending | None = None

    def last_read(value: str) -> int:
        return max(reads.get(value, [-1]))

    def fresh(hint: str = "") -> str:
        for base in (hint, *FRESH, *(f"h{n}" for n in range(2, 10_000))):
            if not base or not is_name(base):
                continue
            if base not in taken:
                taken.add(base)
                return base
        raise AssertionError("unreachable: ten thousand names")

    def flush(index: int) -> None:
        nonlocal pending
        if pending is None:
            return
        text = " -> ".join([pending.start, *_applied(pending.layers, set(bound.values()))])
        # a size that follows the inputs other than as a multiple of one is left out
        shown = shapes and pending.shape and TANGLED not in pending.shape
        comment = f"  # {list(pending.shape[1:])}" if shown else ""
        if pending.tail == output and last_read(output) == len(terms):
            lines.append(f"out {text}{comment}")
            names[pending.tail] = ""
        else:
            start = pending.start
            reusable = (
                start in names.values() and (start not in inputs.values() or start == "x")
            ) and all(last_read(v) < index for v, n in names.items() if n == start)
            hint = hints.get(pending.tail, "")
            if reusable and is_name(start) and (start == hint or hint in taken or not hint):
                target = start
            else:
                target = fresh(hint)
            lines.append(f"{target} = {text}{comment}")
            names[pending.tail] = target
        pending = None

    # an instance that takes no other tensors is bound first; one that does, once they exist
    lines += [_bind(b, bound[b.name], []) for b in bindings if not b.inputs]
    for index, term in enumerate(terms):
        if term.binding is not None and term.binding.inputs:
            flush(index)
            operands = [names[v] for v in term.binding.inputs]
            lines.append(_bind(term.binding, bound[term.binding.name], operands))
        if term.shares:
            term = replace(term, text=bound[term.text])
        if term.optional is not None:
            flush(index)
            source = names[term.inputs[0]]
            target = fresh()
            lines.append(
                f"{target} = if {term.optional} then {source} -> {term.text} else {source}"
            )
            names[term.output] = target
            continue
        if term.unpacked:
            value = term.inputs[0]
            if (
                term.chain
                and pending is not None
                and pending.tail == value
                and len(reads[value]) == 1
            ):
                pending.layers.append(term.text)
                text = " -> ".join([pending.start, *_applied(pending.layers, set(bound.values()))])
                pending = None
            else:
                flush(index)
                operands = [names[v] for v in term.inputs]
                text = (
                    f"{operands[0]} -> {term.text}" if term.chain else term.text.format(*operands)
                )
            targets = [fresh(hints.get(piece, "")) for piece in term.unpacked]
            lines.append(f"{', '.join(targets)} = {text}")
            names.update(zip(term.unpacked, targets, strict=True))
            continue
        if term.chain:
            (value,) = term.inputs
            alone = term.alone and shapes
            if alone:
                flush(index)
            if pending is not None and pending.tail == value and len(reads[value]) == 1:
                pending.layers.append(term.text)
            else:
                flush(index)
                pending = _Pending(names[value], [term.text])
        else:
            flush(index)
            operands = [names[v] for v in term.inputs]
            pending = _Pending(term.text.format(*operands))
        pending.tail = term.output
        pending.shape = term.shape
        if (
            len(reads.get(term.output, [])) != 1
            or term.output == output
            or (term.alone and shapes)
        ):
            flush(index + 1)
    flush(len(terms))
    if not lines or not lines[-1].startswith("out "):
        lines.append(f"out {names[output]}")
    return lines


def _hints(terms: list[Term], reads: dict[str, list[int]]) -> dict[str, str]:
    """Names for values from the roles the ops that read them give them (`query`), carried back
    through the layers of a chain that leads only to such a value."""
    hints: dict[str, str] = {}
    for term in terms:
        for value, role in zip(term.inputs, term.roles, strict=False):
            if role:
                hints.setdefault(value, role)
    for term in reversed(terms):
        if term.chain and term.output in hints and len(term.inputs) == 1:
            (value,) = term.inputs
            if len(reads.get(value, [])) == 1:
                hints.setdefault(value, hints[term.output])
    return hints


def _bind(binding: Binding, variable: str, operands: list[str]) -> str:
    """`encoder = shared(Encoder(8))`; under another variable, the instance keeps its name:
    `x_shared = shared(linear(8) as x)`."""
    text = binding.text.format(*operands)
    if variable != binding.name:
        text = named(text, binding.name)
    return f"{variable} = shared({text})"


def _applied(layers: list[str], shared: set[str]) -> list[str]:
    """A chain's layers with consecutive applications of one shared instance as a repeat:
    `x -> layer -> layer -> layer` reads `x -> layer * 3`."""
    found: list[str] = []
    count = 0
    for index, layer in enumerate(layers):
        count += 1
        if layer in shared and index + 1 < len(layers) and layers[index + 1] == layer:
            continue
        found.append(f"{layer} * {count}" if count > 1 else layer)
        count = 0
    return found


def dense(terms: list[Term], lit: Literal = plain, resolve: Resolve = as_written) -> list[Term]:
    """Dense connectivity written with the `dense` combinator: layers that each read the
    concatenation of a tensor and every earlier layer's output, ending with the concatenation
    of all of them, become `x -> dense(a -> b -> c)`."""
    found: list[Term] = []
    index = 0
    while index < len(terms):
        match = _dense_at(terms, index, lit, resolve)
        if match is None:
            found.append(terms[index])
            index += 1
        else:
            term, index = match
            found.append(term)
    return found


def _joins(term: Term, values: list[str]) -> bool:
    joined = ", ".join(f"{{{i}}}" for i in range(len(values)))
    return term.op == "concat" and term.text == f"concat({joined})" and term.inputs == values


def _dense_at(
    terms: list[Term], start: int, lit: Literal, resolve: Resolve
) -> tuple[Term, int] | None:
    index = start
    first = terms[index]
    if first.op == "concat" and len(first.inputs) == 1 and _joins(first, first.inputs):
        source, reads = first.inputs[0], first.output
        index += 1
    elif first.chain and first.optional is None:
        source = reads = first.inputs[0]
    else:
        return None
    layers: list[Term] = []
    while index < len(terms) and terms[index].chain and terms[index].inputs == [reads]:
        outputs = [source, *(layer.output for layer in layers), terms[index].output]
        if index + 1 >= len(terms) or not _joins(terms[index + 1], outputs):
            break
        layers.append(terms[index])
        reads = terms[index + 1].output
        index += 2
    if len(layers) < 2:
        return None
    inside = {t.output for t in terms[start:index]}
    if any(v in inside for t in (*terms[:start], *terms[index:]) for v in t.inputs if v != reads):
        return None
    last = terms[index - 1]
    text = "dense(" + " -> ".join(repeated([t.text for t in layers], lit, resolve)) + ")"
    parents = {layer.path.rpartition(".")[0] if layer.path else None for layer in layers}
    parent = parents.pop() if len(parents) == 1 else None
    term = Term(text, [source], last.output, True, shape=last.shape, path=parent or None)
    term.unnamed = bool(parent)
    return term, index


def nested(terms: list[Term], lit: Literal = plain, resolve: Resolve = as_written) -> list[Term]:
    """Layers whose paths run through a dict or list of layers that is never called itself
    (`features.conv0`, `features.denseblock1`), one after another, as a named chain:
    `(conv2d(...) as conv0 -> ...) as features`, so that the paths stay the same."""
    found: list[Term] = []
    index = 0
    while index < len(terms):
        term = terms[index]
        head, dot, _ = (term.path or "").partition(".")
        if not (dot and term.chain):
            found.append(_with_name(term))
            index += 1
            continue
        members = [term]
        while index + len(members) < len(terms):
            following = terms[index + len(members)]
            if not (
                following.chain
                and (following.path or "").startswith(head + ".")
                and following.inputs == [members[-1].output]
            ):
                break
            members.append(following)
        inner = nested([_under(member, head) for member in members], lit, resolve)
        # a list's items are named by their places in the chain (`h.0`, `h.1`), but for a
        # list inside it: a chain's parentheses only group, so a list keeps its name
        elements = [
            _unnumbered(t.text, position) if t.path == str(position) else t.text
            for position, t in enumerate(inner)
        ]
        text = named("(" + " -> ".join(repeated(elements, lit, resolve)) + ")", head)
        last = members[-1]
        found.append(
            Term(text, term.inputs, last.output, True, shape=last.shape, alone=True, path=head)
        )
        index += len(members)
    return found


def _unnumbered(text: str, position: int) -> str:
    """A chain's item at ``position`` without its name, where the chain gives it that name:
    one layer (or block instance), not a chain of them, which the chain would flatten."""
    bare = text.removesuffix(named("", str(position)))
    return text if "->" in bare or " * " in bare else bare


def _under(term: Term, head: str) -> Term:
    """``term`` as seen from inside the container ``head``."""
    return replace(term, path=(term.path or "")[len(head) + 1 :])


def _with_name(term: Term) -> Term:
    if term.unnamed and term.path:
        return replace(term, text=named(term.text, term.path), unnamed=False)
    return term
