"""The whole spec from a traced model: one `block` per user class (its instances' differing
arguments become parameters), named chains for `nn.Sequential`, and the network.

A block's instances are written with every literal argument as a numbered slot; instances whose
text then agrees are one definition. A slot equal in every instance stays a literal; slots that
vary become parameters, one per distinct column of values, a column that is a whole multiple of
another written as `channels * 4`. An instance that lacks one named layer its siblings have (a
residual block without its projection) gets a flag parameter, and the layer is written
`skip = if downsample then x -> ... else x`.
"""

from __future__ import annotations

import operator
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import fx, nn

from archc.importer.body import Binding, Term, dense, nested, statements
from archc.importer.definitions import Call, Held, bound, definition
from archc.importer.layers import (
    BATCH,
    OPERATORS,
    PASS_THROUGH,
    Layer,
    Unsupported,
    function_layer,
    function_name,
    index_layer,
    kept_whole,
    module_layer,
    whole_call_message,
)
from archc.importer.scopes import Scope, Step
from archc.importer.sharing import Shared, find_shared
from archc.importer.sized import (
    Reach,
    constant_row,
    from_end,
    learned_positions,
    reshaped,
    sized_call,
)
from archc.importer.sizes import TANGLED, Size, Unwritable, has_size
from archc.importer.terms import Literal, as_written, call, named, repeated, spec_literal
from archc.importer.values import PROBED, shape_of
from archc.ops import registry

# parameter names for the op arguments a block's instances differ in
PARAM_NAMES = {
    "out_channels": "channels",
    "out_features": "features",
    "kernel_size": "kernel",
    "p": "p_drop",
    "num_groups": "groups",
}
_WILD = object()  # a slot of a layer an instance does not have


@dataclass(frozen=True)
class Problem:
    """Something the spec cannot say: where (module path), what, and the fx node if any."""

    code: str
    path: str
    message: str
    node: Any = None


@dataclass
class _Slots:
    values: list[tuple[str, Any]] = field(default_factory=list)
    wild: bool = False

    def __call__(self, name: str, value: Any) -> str:
        self.values.append((name, _WILD if self.wild else value))
        return f"\x00{len(self.values) - 1}\x00"

    def resolve(self, text: str) -> str:
        """``text`` with each slot's value in its place (a wildcard stays a slot, equal to no
        other), so that two layers with the same arguments read the same."""

        def value(match: re.Match[str]) -> str:
            found = self.values[int(match.group(1))][1]
            return match.group(0) if found is _WILD else repr(found)

        return _PLACE.sub(value, text)


@dataclass
class Block:
    name: str
    params: list[tuple[str, bool, Any]]  # name, whether it has a default, the default
    lines: list[str]
    calls: dict[str, dict[str, Any]]  # instance path -> arguments given
    inputs: int = 1  # tensors it reads: `in x`, `in x2`, ...


class SpecWriter:
    """Turns a scope tree into spec text; problems found on the way are collected."""

    def __init__(self, root: Scope, opaque: set[str]) -> None:
        self.root = root
        self.opaque = opaque
        self.problems: list[Problem] = []
        self.blocks: dict[str, Block] = {}  # instance path -> its definition
        self.order: list[Block] = []
        self._instances: dict[type, list[Scope]] = {}
        self.modules = dict(root.module.named_modules())
        # every value's shape, by name, its sizes that follow symbolic axes as `Size`s
        nodes = next((step.node.graph.nodes for step in _steps(root)), ())
        self._shapes = {node.name: shape_of(node) for node in nodes}
        _pass_through(root, self.modules)
        _held_by_whole_calls(root)
        # keyword arguments a layer writes even at their default: those that another instance
        # of its block sets, so that the instances' bodies read alike
        self._forced: dict[str, set[str]] = {}
        stateful = {path for path, m in self.modules.items() if any(True for _ in m.state_dict())}
        self.shared = find_shared(root, stateful, is_container)
        for shared in self.shared.values():
            if shared.reason:
                second = shared.applications[1]
                node = second.node if isinstance(second, Step) else _first_node(second)
                self.problems.append(Problem("A509", shared.path, shared.reason, node))
        self._collect(root)

    def _collect(self, scope: Scope) -> None:
        for entry in scope.entries:
            # a later application of a module is the first one's instance again
            if isinstance(entry, Scope) and entry.call == 0:
                if not is_container(entry.module):
                    self._instances.setdefault(type(entry.module), []).append(entry)
                self._collect(entry)

    # --- terms ---------------------------------------------------------------------------------

    def _placeholder(self, path: str, what: str) -> str:
        return "TODO_" + re.sub(r"\W", "_", "_".join(p for p in (path, what) if p))

    def _step_term(self, step: Step, lit: Literal, scope: Scope, latest: str = "") -> Term:
        node = step.node
        shape = step.shape
        tensors = step.inputs
        if node.op == "call_module":
            module = self.modules[step.path]
            if isinstance(module, nn.MultiheadAttention) and len(set(tensors)) == 1:
                tensors = tensors[:1]  # self-attention: one tensor is query, key and value
            name = step.path.rsplit(".", 1)[-1]
            text = self._module_text(step, module, lit, step.input_types[: len(tensors)])
            stateful = any(True for _ in module.state_dict())
            keep = not name.isdigit() if is_container(scope.module) else stateful
            return Term(
                named(text, name if keep else None),
                tensors,
                node.name,
                len(tensors) == 1,
                shape=shape,
                path=_relative(step.path, scope.path),
            )
        if node.op in ("call_function", "call_method"):
            return self._function_term(step, lit, scope)
        owner, _, name = str(node.target).rpartition(".")
        held = getattr(self.modules.get(owner), name, None)
        if owner == scope.path and isinstance(held, nn.Parameter):
            # a learned tensor the module holds, shared by every sample: the `parameter` op
            # reads the batch size of the latest tensor and holds it under the same name; one
            # without a leading axis of 1 (ConvNeXt's (C, 1, 1) layer scale) is held as it is,
            # and seen with a batch axis of 1
            source = latest or scope.inputs[0]
            if held.shape[:1] == (1,):
                layer = Layer("parameter", (("shape", tuple(held.shape[1:])),))
                return Term(named(call(layer, lit), name), [source], node.name, True, shape=shape)
            layer = Layer("parameter", (("shape", tuple(held.shape)),), (("exact", True),))
            seen = (1, *held.shape)
            return Term(named(call(layer, lit), name), [source], node.name, True, shape=seen)
        if isinstance(held, torch.Tensor) and not isinstance(held, nn.Parameter):
            reach = self._reach([], scope, latest)
            count = shape[1] if shape is not None and len(shape) == 2 else None
            constant = constant_row(held, node.meta.get(PROBED, []), count, reach)
            if constant is not None:
                return Term(constant, reach.used, node.name, False, shape=shape)
        self.problems.append(
            Problem("A505", scope.path, f"reads the tensor `{node.target}` directly", node)
        )
        return Term(
            self._placeholder(scope.path, str(node.target)), [], node.name, False, shape=shape
        )

    def _module_text(
        self, step: Step, module: nn.Module, lit: Literal, types: list[Any] | None = None
    ) -> str:
        if step.path in self.opaque:
            return self._placeholder(step.path, "")
        types = step.input_types if types is None else types
        if any(t is None for t in types):
            self.problems.append(
                Problem("A505", step.path, "is given something other than a tensor", step.node)
            )
            return self._placeholder(step.path, type(module).__name__)
        inputs = [t for t in types if t is not None]
        try:
            layer = module_layer(module, inputs)
            return call(layer.with_keywords(self._forced.get(step.path, ())), lit)
        except (Unsupported, ValueError) as exc:
            self.problems.append(Problem("A502", step.path, str(exc), step.node))
            return self._placeholder(step.path, type(module).__name__)

    def _reach(
        self, operands: list[str], scope: Scope, latest: str = "", own: bool = False
    ) -> Reach:
        """The tensors a step in ``scope`` may read sizes from: its operands, and unless
        ``own``, the scope's inputs and the latest tensor made."""
        others = [] if own else [*scope.inputs, *([latest] if latest else [])]
        return Reach(operands, others, self._shapes.get)

    def _function_term(self, step: Step, lit: Literal, scope: Scope) -> Term:
        node = step.node
        tensors = step.inputs
        flat_args = _without_tensors(step.args)
        symbol = OPERATORS.get(node.target)
        if has_size(step.args) and symbol is not None:
            name = function_name(node.target)
            raise Unwritable(f"the model gives `{name}` a size that follows it")
        if symbol is not None and len(step.args) == 2 and not step.kwargs:
            operands = _operands(step.args)
            if operands is not None:
                text = f"{operands[0]} {symbol} {operands[1]}"
                return Term(text, tensors, node.name, False, shape=step.shape)
        try:
            if kept_whole(node.target):
                held = [
                    _relative(str(n.target), scope.path)
                    for n in node.all_input_nodes
                    if n.op == "get_attr"
                ]
                raise Unsupported(whole_call_message(node.target, held))
            if node.target is operator.getitem:
                layer = self._index(step)
            elif not all(_is_plain(a) for a in [*flat_args, *step.kwargs.values()]):
                raise Unsupported(f"`{function_name(node.target)}` is given a computed value")
            else:
                layer = function_layer(node.target, len(tensors), flat_args, dict(step.kwargs))
        except Unsupported as exc:
            self.problems.append(Problem("A503", scope.path, str(exc), node))
            text = self._placeholder(scope.path, function_name(node.target))
            return Term(text, tensors[:1], node.name, len(tensors) == 1, shape=step.shape)
        operands = [f"{{{i}}}" for i in range(len(tensors))]
        chain = len(tensors) == 1 and layer.op != "concat"
        roles = _roles(layer.op, len(tensors))
        layer = reshaped(layer, step.shape)
        if has_size([*layer.positional, *layer.keywords]):
            # a reshape reads its sizes off the tensor it reshapes, as archc's does
            reach = self._reach(list(tensors), scope, own=layer.op == "reshape")
            text = sized_call(layer, reach, lit, chain)
            return Term(
                text, reach.used, node.name, False, shape=step.shape, op=layer.op, roles=roles
            )
        text = call(layer, lit, None if chain else operands)
        return Term(text, tensors, node.name, chain, shape=step.shape, op=layer.op, roles=roles)

    def _index(self, step: Step) -> Layer:
        shape = step.input_shapes[0] if step.input_shapes else None
        if shape is None:
            raise Unsupported(
                "reads a part of a layer's several outputs other than the first, which is the "
                "only one a spec's layer gives"
            )
        return index_layer(from_end(step.args[1], shape), len(shape))

    def _scope_term(self, scope: Scope, lit: Literal, parent: Scope) -> Term:
        output = scope.output
        # an item of a container is named by its place; one that is a container itself is a
        # chain in brackets, which stays one item (parentheses only group)
        placed = is_container(parent.module) and scope.name.isdigit()
        name = None if placed else scope.name
        inner = "." in _relative(scope.path, parent.path)
        several = len(scope.inputs) > 1 and (is_container(scope.module) or inner)
        if not scope.inputs or "," in output or several:
            if "," in output:
                reason = "returns several tensors; a spec's block returns one"
            elif several:
                reason = "reads several tensors where a chain of layers gives it one"
            else:
                reason = "reads no tensor; a spec's block reads at least one"
            self.problems.append(
                Problem(
                    "A505", scope.path, reason, next((step.node for step in _steps(scope)), None)
                )
            )
            text = self._placeholder(scope.path, type(scope.module).__name__)
            first, *others = output.split(",")
            return Term(text, scope.inputs[:1], first, len(scope.inputs) == 1, also=others)
        shape = scope.shape
        if is_container(scope.module):
            text = named(self._chain(scope, lit, bracketed=placed), name)
            return Term(
                text,
                scope.inputs,
                output,
                True,
                shape=shape,
                alone=True,
                path=_relative(scope.path, parent.path),
            )
        block = self._block(scope)
        given = block.calls[scope.path]
        parts = [lit(n, given[n]) for n, has_default, _ in block.params if not has_default]
        parts += [
            f"{n}={lit(n, given[n])}"
            for n, has_default, _ in block.params
            if has_default and n in given
        ]
        # the block's other inputs are its call's first arguments: `{0} -> Up({1}) as up1`
        others = [f"{{{index}}}" for index in range(1, len(scope.inputs))]
        parts = others + parts
        text = f"{block.name}({', '.join(parts)})" if parts else block.name
        path = _relative(scope.path, parent.path)
        if others:
            text = "{0} -> " + named(text, name)
            return Term(text, scope.inputs, output, False, shape=shape, path=path)
        return Term(named(text, name), scope.inputs, output, True, shape=shape, path=path)

    def _chain(self, scope: Scope, lit: Literal, bracketed: bool = False) -> str:
        """A container's children, run one after another, as `(a -> b -> c)`, or, as an item
        of another container, `[a -> b -> c]`."""
        terms = [self._term(e, lit, scope) for e in scope.entries]
        value = scope.inputs[0]
        for term in terms:
            if not term.chain or term.inputs != [value]:
                self.problems.append(
                    Problem(
                        "A505",
                        scope.path,
                        "is a container whose layers do not run one after another",
                    )
                )
                return self._placeholder(scope.path, type(scope.module).__name__)
            value = term.output
        resolve = lit.resolve if isinstance(lit, _Slots) else as_written
        elements = repeated([t.text for t in terms], lit, resolve)
        if bracketed:
            return "[" + " -> ".join(elements) + "]"
        if len(elements) == 1 and len(terms) == 1 and " as " not in elements[0]:
            # a chain of one is the layer itself; a repeat of one keeps the index in its path
            return f"{_grouped(elements[0])} * 1"
        return "(" + " -> ".join(elements) + ")"

    def _term(self, entry: Step | Scope, lit: Literal, scope: Scope) -> Term:
        if isinstance(entry, Scope):
            return self._scope_term(entry, lit, scope)
        return self._step_term(entry, lit, scope)

    # --- bodies --------------------------------------------------------------------------------

    def terms(self, scope: Scope, lit: Literal) -> list[Term]:
        found: list[Term] = []
        bound: set[str] = set()  # the shared modules whose first application is bound
        pieces = _pieces(scope)
        for entry in scope.entries:
            if isinstance(entry, Step) and any(entry.node.name in p for p in pieces.values()):
                continue  # a piece of a split, bound where the split is
            latest = next((t.output for t in reversed(found) if t.shape is not None), "")
            shared = self.shared.get(entry.path) if entry.path else None
            if shared is not None and entry.call > 0:
                found.append(self._application(shared, entry, shared.path in bound))
                continue
            if isinstance(entry, Step) and definition(entry.node.target) is not None:
                found += self._defined_terms(entry, lit, scope, latest)
                continue
            if isinstance(entry, Step):
                term = self._step_term(entry, lit, scope, latest)
            else:
                term = self._scope_term(entry, lit, scope)
            # a first application the spec cannot write leaves the later ones placeholders
            if shared is not None and not shared.reason and not term.text.startswith("TODO_"):
                bound.add(shared.path)
                binding = _binding(term, shared.name)
                term = replace(self._application(shared, entry, True), binding=binding)
            if isinstance(entry, Step) and entry.node.name in pieces:
                term.unpacked = pieces[entry.node.name]
            found.append(term)
        return found

    def _defined_terms(self, step: Step, lit: Literal, scope: Scope, latest: str) -> list[Term]:
        """The statements that compute a call of a function fx keeps whole, from the definition
        held for it; a placeholder, reported, where the definition does not cover the call."""
        node = step.node
        held_here = {n.name for n in node.all_input_nodes if n.op == "get_attr"}
        computed = iter([v for v in step.inputs if v not in held_here])
        arguments: dict[str, Any] = {}
        for name, value in bound(node.target, step.args, step.kwargs).items():
            if isinstance(value, fx.Node) and value.op == "get_attr":
                owner, _, attribute = str(value.target).rpartition(".")
                held = getattr(self.modules.get(owner), attribute)
                arguments[name] = Held(_relative(str(value.target), scope.path), held.shape)
            elif isinstance(value, fx.Node):
                arguments[name] = next(computed)
            else:
                arguments[name] = value
        shapes = {v: self._shapes.get(v) for v in step.inputs}
        source = latest or scope.inputs[0]
        call = Call(arguments, shapes, node.name, source, lit)
        try:
            definition(node.target)(call)  # type: ignore[misc]
        except Unsupported as exc:
            name = function_name(node.target)
            message = f"archc's definition of `{name}` does not cover this call: {exc}"
            self.problems.append(Problem("A503", scope.path, message, node))
            text = self._placeholder(scope.path, name)
            return [Term(text, step.inputs[:1], node.name, len(step.inputs) == 1)]
        call.terms[-1].shape = step.shape
        return call.terms

    def positional(self, terms: list[Term]) -> list[Term]:
        """``terms`` with tables of positions added to a sequence as `learned_positions`."""
        return learned_positions(terms, self._shapes.get)

    def _application(self, shared: Shared, entry: Scope | Step, bound: bool) -> Term:
        """One application of a shared module: the name of its ``bound`` instance, on the
        tensor it is given, or else a placeholder."""
        if isinstance(entry, Step):
            inputs, output = entry.inputs, entry.node.name
        else:
            inputs, output = entry.inputs, entry.output
        if not bound:
            text = self._placeholder(entry.path, f"call{entry.call + 1}")
            return Term(text, inputs[:1], output.split(",")[0], len(inputs) == 1)
        return Term(shared.name, inputs[:1], output, True, shape=entry.shape, shares=True)

    def body(
        self, scope: Scope, terms: list[Term], names: dict[str, str] | None = None
    ) -> list[str]:
        """The statements of ``scope``; a block's inputs are `x`, `x2`, ..., the network's
        keep their names, and the network's statements show their shapes."""
        shapes = names is not None
        if names is None:
            names = {v: "x" if i == 0 else f"x{i + 1}" for i, v in enumerate(scope.inputs)}
        # a placeholder's several outputs are read as the one placeholder
        same = {other: term.output for term in terms for other in term.also}
        for term in terms:
            term.inputs = [same.get(value, value) for value in term.inputs]
        return statements(terms, names, same.get(scope.output, scope.output), shapes)

    # --- blocks --------------------------------------------------------------------------------

    def _block(self, scope: Scope) -> Block:
        if scope.path not in self.blocks:
            self._define(type(scope.module))
        return self.blocks[scope.path]

    def _define(self, cls: type) -> None:
        instances = self._instances[cls]
        self._force_keywords(instances)
        widest = max(instances, key=lambda s: len(s.entries))
        optional = _optional_key(widest, instances)
        groups: dict[str, list[tuple[list[Any], Scope]]] = {}
        for instance in instances:
            text, values = self._render_instance(instance, widest, optional)
            groups.setdefault(text, []).append((values, instance))
        base = self._free_name(cls.__name__)
        for number, (skeleton, members) in enumerate(groups.items()):
            name = base if number == 0 else self._free_name(f"{base}{number + 1}")
            block = _parameterise(name, skeleton, members)
            self.order.append(block)
            for _, instance in members:
                self.blocks[instance.path] = block

    def _force_keywords(self, instances: list[Scope]) -> None:
        given: dict[str, set[str]] = {}
        for instance in instances:
            for step in _steps(instance):
                module = self.modules.get(step.path)
                if module is None or step.path in self.opaque or None in step.input_types:
                    continue
                inputs = [t for t in step.input_types if t is not None]
                try:
                    layer = module_layer(module, inputs)
                except Unsupported:
                    continue
                relative = step.path[len(instance.path) + 1 :]
                given.setdefault(relative, set()).update(name for name, _ in layer.keywords)
        for instance in instances:
            for relative, names in given.items():
                self._forced[f"{instance.path}.{relative}"] = names

    def _free_name(self, name: str) -> str:
        taken = {b.name for b in self.order}
        candidate, number = name, 2
        while candidate in taken:
            candidate, number = f"{name}{number}", number + 1
        return candidate

    def _render_instance(
        self, instance: Scope, widest: Scope, optional: str | None
    ) -> tuple[str, list[Any]]:
        """The instance's body with numbered slots, and the slots' values. An instance without
        the ``optional`` layer gets it back as the untaken branch of an `if`, its arguments
        wildcards, so that its text matches the instances that have it."""
        slots = _Slots()
        terms = self.terms(instance, slots)
        keys = _keys(instance.entries)
        if optional is not None and optional in keys:
            terms[keys.index(optional)].optional = slots(optional, True)
        elif optional is not None:
            index = _keys(widest.entries).index(optional)
            phantom = self._phantom(widest, index, instance, terms, slots)
            if phantom is not None:
                terms.insert(index, phantom)
                phantom.optional = slots(optional, False)
        return _canonical(
            "\n".join(
                self.body(
                    instance,
                    nested(
                        dense(self.positional(terms), slots, slots.resolve),
                        slots,
                        slots.resolve,
                    ),
                )
            ),
            slots.values,
        )

    def _phantom(
        self, widest: Scope, index: int, instance: Scope, terms: list[Term], slots: _Slots
    ) -> Term | None:
        """The optional layer of ``widest`` for an instance without it: it reads what the
        widest's layer reads, and the layers that read its output there read it here."""
        wide_terms = self.terms(widest, _Slots())
        layer = wide_terms[index]
        if not layer.chain:
            return None
        source = _counterpart(layer.inputs[0], widest, wide_terms, instance, terms)
        if source is None:
            return None
        phantom_value = f"{layer.output}__absent"
        own = [t for i, t in enumerate(wide_terms) if i != index]
        for wide, mine in zip(own, terms, strict=True):
            for position, value in enumerate(wide.inputs):
                if value == layer.output:
                    if position >= len(mine.inputs) or mine.inputs[position] != source:
                        return None
                    mine.inputs[position] = phantom_value
        slots.wild = True
        text = self._term(widest.entries[index], slots, widest).text
        slots.wild = False
        return Term(text, [source], phantom_value, True)


def _pieces(scope: Scope) -> dict[str, list[str]]:
    """The steps of ``scope`` whose value is several tensors, each read once by position in the
    same scope (`q, k, v = qkv.split(64, dim=2)`): the values read, in order, by step."""
    found: dict[str, dict[int, str]] = {}
    steps = [e for e in scope.entries if isinstance(e, Step)]
    several = {s.node.name for s in steps if s.shape is None and s.node.op != "call_module"}
    for step in steps:
        node = step.node
        source = node.args[0] if node.args else None
        if (
            node.target is operator.getitem
            and isinstance(source, fx.Node)
            and source.name in several
            and type(node.args[1]) is int
        ):
            found.setdefault(source.name, {})[node.args[1]] = node.name
    return {
        name: [taken[i] for i in range(len(taken))]
        for name, taken in found.items()
        if sorted(taken) == list(range(len(taken))) and len(taken) > 1
    }


def _binding(term: Term, name: str) -> Binding:
    """The binding of a shared module from its first application ``term``: the layer without
    its `as` name, which the binding gives, and with the other tensors it takes."""
    text = term.text
    inputs: list[str] = []
    if not term.chain:
        # `{0} -> Block({1}, 8) as name`: the other tensors are the binding's own operands
        text = _PLACE_TENSOR.sub(lambda m: f"{{{int(m.group(1)) - 1}}}", text[len("{0} -> ") :])
        inputs = term.inputs[1:]
    return Binding(name, text.removesuffix(named("", name)), tuple(inputs))


def _first_node(scope: Scope) -> fx.Node | None:
    return next((step.node for step in _steps(scope)), None)


def _keys(entries: list[Step | Scope]) -> list[str]:
    """A name for each entry: its attribute name, or the function and its occurrence."""
    seen: Counter[str] = Counter()
    keys = []
    for entry in entries:
        if isinstance(entry, Scope):
            key = entry.name
        elif entry.path:
            key = entry.path.rsplit(".", 1)[-1]
        else:
            key = f"{entry.node.op}:{function_name(entry.node.target)}"
        seen[key] += 1
        keys.append(f"{key}#{seen[key]}" if seen[key] > 1 else key)
    return keys


def _optional_key(widest: Scope, instances: list[Scope]) -> str | None:
    """The one named layer some instances lack, all else equal, if there is one."""
    wide = _keys(widest.entries)
    missing = set()
    for instance in instances:
        own = _keys(instance.entries)
        if own == wide:
            continue
        lacking = [k for k in wide if k not in own]
        if len(lacking) != 1 or [k for k in wide if k != lacking[0]] != own:
            return None
        missing.add(lacking[0])
    if len(missing) != 1:
        return None
    (key,) = missing
    return key if key.isidentifier() and ":" not in key else None


def _counterpart(
    value: str, widest: Scope, wide_terms: list[Term], instance: Scope, terms: list[Term]
) -> str | None:
    """The value of ``instance`` in the place of ``value`` of ``widest``."""
    if value in widest.inputs:
        position = widest.inputs.index(value)
        return instance.inputs[position] if position < len(instance.inputs) else None
    wide_keys = _keys(widest.entries)
    own_keys = _keys(instance.entries)
    for key, term in zip(wide_keys, wide_terms, strict=True):
        if term.output == value and key in own_keys:
            return terms[own_keys.index(key)].output
    return None


_PLACE = re.compile("\x00(\\d+)\x00")
# a tensor operand of a term's text: `{1}`
_PLACE_TENSOR = re.compile(r"\{(\d+)\}")
# an optional layer's statement whose flag is the same in every instance
_ALWAYS = re.compile(r"^(\w+ = )if true then (.+) else \w+$", re.MULTILINE)
_NEVER = re.compile(r"^(\w+ = )if false then .+ else (\w+)$", re.MULTILINE)


def _canonical(text: str, values: list[tuple[str, Any]]) -> tuple[str, list[Any]]:
    """Slots renumbered in reading order, so equal bodies have equal text."""
    order: list[int] = []

    def renumber(match: re.Match[str]) -> str:
        order.append(int(match.group(1)))
        return f"\x00{len(order) - 1}\x00"

    return _PLACE.sub(renumber, text), [values[i] for i in order]


def _parameterise(name: str, skeleton: str, members: list[tuple[list[Any], Scope]]) -> Block:
    """The block whose body is ``skeleton`` with each slot a literal or a parameter."""
    columns = list(zip(*(values for values, _ in members), strict=True)) if members[0][0] else []
    params: list[tuple[str, list[Any]]] = []  # name, value per instance (_WILD where absent)
    filled: list[str] = []
    for column in columns:
        arg = column[0][0]
        values = [v for _, v in column]
        known = [v for v in values if v is not _WILD]
        if known and all(v == known[0] for v in known):
            # a size of a layer only some instances have reads as the parameter it follows
            # where one does (`channels * 4`), not as the one instance's number
            shared = _WILD in values and type(known[0]) is int and known[0] > 1
            filled.append((shared and _existing(values, params)) or spec_literal(known[0]))
            continue
        filled.append(_expression(arg, values, params))
    renames = _attribute_names(params, [instance.module for _, instance in members])
    if renames:
        params = [(renames.get(p, p), values) for p, values in params]
        word = re.compile(r"\b(" + "|".join(map(re.escape, renames)) + r")\b")
        filled = [word.sub(lambda m: renames[m.group(1)], text) for text in filled]
    calls: dict[str, dict[str, Any]] = {}
    defaults: dict[str, Any] = {}
    for param, values in params:
        known = [v for v in values if v is not _WILD]
        common, count = Counter(map(_hashable, known)).most_common(1)[0]
        if count * 2 > len(values) or len(known) < len(values):
            defaults[param] = next(v for v in known if _hashable(v) == common)
    for index, (_, instance) in enumerate(members):
        given = {}
        for param, values in params:
            value = values[index]
            if value is not _WILD and (param not in defaults or value != defaults[param]):
                given[param] = value
        calls[instance.path] = given
    text = _PLACE.sub(lambda m: filled[int(m.group(1))], skeleton)
    # a layer every instance has, or none, needs no `if`
    text = _ALWAYS.sub(r"\1\2", text)
    text = _NEVER.sub(r"\1\2", text)
    ordered = [(p, False, None) for p, _ in params if p not in defaults]
    ordered += [(p, True, defaults[p]) for p, _ in params if p in defaults]
    inputs = len(members[0][1].inputs)
    return Block(name, ordered, text.split("\n"), calls, inputs)


def _attribute_names(
    params: list[tuple[str, list[Any]]], modules: list[nn.Module]
) -> dict[str, str]:
    """Parameters renamed after the attribute that holds the same value in every instance
    (`self.planes = planes`), which says what the value means better than the op argument."""
    taken = {name for name, _ in params}
    renames: dict[str, str] = {}
    for name, values in params:
        for attribute, first in vars(modules[0]).items():
            if attribute.startswith("_") or attribute == "training" or attribute in taken:
                continue
            if type(first) not in (int, float, bool):
                continue
            if all(
                value is _WILD
                or (
                    type(getattr(m, attribute, None)) is type(value)
                    and getattr(m, attribute) == value
                )
                for m, value in zip(modules, values, strict=True)
            ):
                if attribute != name:
                    renames[name] = attribute
                    taken.add(attribute)
                break
    return renames


def _hashable(value: Any) -> Any:
    return repr(value)


def _expression(arg: str, values: list[Any], params: list[tuple[str, list[Any]]]) -> str:
    """A parameter for a varying slot: an existing one with the same values, a whole multiple
    of one, or a new one."""
    existing = _existing(values, params)
    if existing is not None:
        return existing
    base = PARAM_NAMES.get(arg, arg)
    taken = {n for n, _ in params}
    name, number = base, 2
    while name in taken:
        name, number = f"{base}{number}", number + 1
    params.append((name, list(values)))
    return name


def _existing(values: list[Any], params: list[tuple[str, list[Any]]]) -> str | None:
    """An existing parameter with the same values where both are known, or a whole multiple
    of one; a parameter unknown where the slot is known takes the slot's values."""

    def agrees(mine: list[Any], theirs: list[Any], scale: int) -> bool:
        pairs = [(a, b) for a, b in zip(mine, theirs, strict=True) if _WILD not in (a, b)]
        return bool(pairs) and all(
            type(a) is type(b)
            and (a == b if scale == 1 else isinstance(b, int) and a == b * scale)
            for a, b in pairs
        )

    for name, theirs in params:
        if agrees(values, theirs, 1):
            for i, v in enumerate(values):
                if theirs[i] is _WILD:
                    theirs[i] = v
            return name
    for name, theirs in params:
        for scale in (2, 3, 4, 6, 8):
            if all(
                isinstance(v, int) and not isinstance(v, bool) for v in values if v is not _WILD
            ) and agrees(values, theirs, scale):
                return f"{name} * {scale}"
    return None


def _grouped(text: str) -> str:
    return f"({text})" if "->" in text or " " in text.split("(")[0] else text


def _relative(path: str, scope: str) -> str:
    return path[len(scope) + 1 :] if scope else path


def is_container(module: nn.Module) -> bool:
    """A container that only holds layers (a subclass with its own forward is a block)."""
    if isinstance(module, nn.Sequential):
        return type(module).forward is nn.Sequential.forward
    return isinstance(module, nn.ModuleList | nn.ModuleDict) and (
        type(module).forward is nn.Module.forward
    )


def _roles(name: str, tensors: int) -> list[str]:
    """The names an op gives its ``tensors`` inputs where they say what each one is (`query`,
    `mask`): the names of a single letter (`x`, `y`) say nothing."""
    op = registry.lookup(name)
    if op is None or op.variadic or tensors < 2:
        return []
    return [role if len(role) > 1 else "" for role in op.inputs[:tensors]]


def _without_tensors(args: Any) -> list[Any]:
    """A call's arguments other than tensors (fx nodes, or lists of them, as torch.cat's)."""
    kept = []
    for arg in args:
        if isinstance(arg, fx.Node):
            continue
        if isinstance(arg, list | tuple) and arg and all(isinstance(a, fx.Node) for a in arg):
            continue
        kept.append(arg)
    return kept


def _operands(args: tuple[Any, ...]) -> list[str] | None:
    """The operands of an operator as a spec writes them, `{0}` for the first tensor: a tensor
    with a tensor, or with a number (`x * 2.0`, `1.0 - x`)."""
    tensors = 0
    written = []
    for arg in args:
        if isinstance(arg, fx.Node):
            written.append(f"{{{tensors}}}")
            tensors += 1
        elif type(arg) in (int, float):
            written.append(spec_literal(float(arg)))
        else:
            return None
    return written if tensors else None


def _is_plain(value: Any) -> bool:
    if isinstance(value, list | tuple):
        return all(_is_plain(v) for v in value)
    # a size that follows a symbolic axis is written, or found unwritable, with the call
    if value is None or value is BATCH or value is TANGLED:
        return True
    return isinstance(value, bool | int | float | str | Size)


def _source(step: Step, modules: dict[str, nn.Module]) -> str | None:
    """The value ``step`` gives back unchanged, as far as a spec's values go: a copy, a move to
    its own device, a broadcast of the batch axis (`class_token.expand(n, -1, -1)`, which a
    `parameter` already has) or a reshape to its own shape (`x.view(-1, seq_len)`), or the
    first output of a layer that gives several (nn.MultiheadAttention's)."""
    node = step.node
    if len(step.inputs) != 1 or step.kwargs:
        return None
    (value,) = step.inputs
    sizes = list(step.args[1:])
    if node.op == "call_method" and node.target in PASS_THROUGH and not sizes:
        return value
    moved = sizes and all(isinstance(s, torch.device) for s in sizes)
    if node.op == "call_method" and node.target == "to" and moved:
        return value
    if node.op == "call_method" and node.target in ("expand", "view", "reshape"):
        # a broadcast or reshape to the shape the tensor has, whatever its batch
        if len(sizes) == 1 and isinstance(sizes[0], tuple | list):
            sizes = list(sizes[0])
        shape = step.input_shapes[0]
        if (
            sizes
            and sizes[0] in (BATCH, -1)
            and shape is not None
            and len(sizes) == len(shape)
            and all(s in (-1, size) for s, size in zip(sizes[1:], shape[1:], strict=True))
            and (node.target == "expand" or list(sizes[1:]).count(-1) == 0)
        ):
            return value
        # sizes that give the shape the tensor has at every length traced
        if node.target != "expand" and sizes[:1] in ([BATCH], [-1]) and step.shape == shape:
            return value
    if node.target is operator.getitem and step.args[1:] == (0,) and step.input_shapes == [None]:
        producer = step.node.args[0]
        if isinstance(producer, fx.Node) and producer.op == "call_module":
            return value if str(producer.target) in modules else None
    return None


def _held_by_whole_calls(scope: Scope) -> None:
    """A module's tensors read only by functions fx keeps whole left out of the tree: the
    placeholder for the call stands for them, and its diagnostic names them."""
    held = set()
    for step in _steps(scope):
        node = step.node
        if node.op == "get_attr" and node.users and all(kept_whole(u.target) for u in node.users):
            held.add(node.name)

    def leave_out(scope: Scope) -> None:
        scope.entries = [
            e for e in scope.entries if not (isinstance(e, Step) and e.node.name in held)
        ]
        for entry in scope.entries:
            if isinstance(entry, Scope):
                leave_out(entry)
            else:
                entry.inputs = [v for v in entry.inputs if v not in held]

    leave_out(scope)


def _pass_through(root: Scope, modules: dict[str, nn.Module]) -> None:
    """Steps that give back their input left out of the tree, their readers reading it."""
    same: dict[str, str] = {}
    for step in _steps(root):
        source = _source(step, modules)
        if source is not None:
            same[step.node.name] = same.get(source, source)

    def rewire(scope: Scope) -> None:
        scope.entries = [
            e for e in scope.entries if not (isinstance(e, Step) and e.node.name in same)
        ]
        scope.inputs = list(dict.fromkeys(same.get(v, v) for v in scope.inputs))
        scope.output = (
            ",".join(same.get(v, v) for v in scope.output.split(",")) if scope.output else ""
        )
        for entry in scope.entries:
            if isinstance(entry, Scope):
                rewire(entry)
            else:
                entry.inputs = [same.get(v, v) for v in entry.inputs]

    if same:
        rewire(root)


def _steps(scope: Scope) -> list[Step]:
    found: list[Step] = []
    for entry in scope.entries:
        found += _steps(entry) if isinstance(entry, Scope) else [entry]
    return found
