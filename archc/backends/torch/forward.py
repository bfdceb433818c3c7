"""The ``forward`` method of a generated class: one statement per layer or child module.

Variables follow the spec: a value the spec named keeps its name, and the layers leading to it
in a chain use that name too (``y = self.conv1(x)``, ``y = self.bn1(y)``). Otherwise a chain
rebinds its input's variable once that input is no longer needed, and starts a fresh ``out``
where the input is still needed later (a skip connection).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from archc import dims
from archc.backends.torch.constants import holds_buffer, init_only
from archc.backends.torch.decoding import READS_LENGTH
from archc.backends.torch.naming import RESERVED, identifier, member, module_level
from archc.backends.torch.stateless import forward_template
from archc.backends.torch.structure import (
    Item,
    empty_blocks,
    empty_position,
    first_id,
    holder,
    is_callable,
    is_module,
    relative,
)
from archc.ops import lookup
from archc.pysource.exprs import string
from archc.pysource.layout import INDENT, LINE_LENGTH, Arg, Call, lay_out, structure
from archc.semantics import provenance
from archc.semantics.ir import Module, Network, Node, Ref, Scan

if TYPE_CHECKING:
    from archc.backends.torch.emit import ClassWriter
    from archc.backends.torch.looped import Loop
    from archc.backends.torch.optional import Optional


DISCARD = "_"  # the variable an output nothing reads is assigned to


@dataclass
class Step:
    item: Item
    access: str  # how forward reaches the module: `self.conv1`, `self.stage[0]`
    # for an optional module (optional.py): the value where the class does not hold it
    otherwise: Ref | None = None
    optional: bool = False  # calls a module an alternative of a choice makes
    # a repeat written as a loop (looped.py): the loop, and the steps of its first copy
    loop: Loop | None = None
    body: tuple[Step, ...] = ()

    @property
    def reads(self) -> tuple[Ref, ...]:
        return self.item.inputs if self.otherwise is None else (*self.item.inputs, self.otherwise)


def steps(network: Network, path: str) -> list[Step]:
    """Forward statements of the scope at ``path``, in the order the spec computes them.

    A child block, a chain container or a dense block that loops is one call. The layers of any
    other container are called one by one, in order with the layers around them.
    """
    found: list[Step] = []
    seen: set[str] = set()
    called: dict[str, bool] = {}  # asked for every layer inside: a repeat of 48 blocks has 700
    holders: dict[str, str] = {}
    skipped = init_only(network, path)  # computed in __init__, for buffers
    for node in network.within(path):
        if node.kind == "input" or node.id in skipped:
            continue
        access, scope = "self", path
        for attr in relative(node.path, path).split("."):
            key = f"{scope}.{attr}" if scope else attr
            module = network.modules.get(key)
            if scope != path and scope not in holders:
                holders[scope] = holder(network, scope)
            # a shared layer's later application calls the instance, a sibling (sharing.py)
            called_attr = network.applications.get(key, attr).rpartition(".")[2]
            member = _member(access, called_attr, holders.get(scope) if scope != path else None)
            if module is not None and key not in called:
                called[key] = is_callable(network, module)
            if module is None or called[key]:
                if key not in seen:
                    seen.add(key)
                    found.append(Step(_item(network, attr, node, module), member))
                break
            access, scope = member, key
    for module in empty_blocks(network, path):  # a call that gives back what it takes
        attr = module.path.rpartition(".")[2]
        step = Step(_item(network, attr, None, module), _member("self", attr, None))
        found.insert(empty_position([s.item.outputs for s in found], module), step)
    return found


def _item(network: Network, attr: str, node: Node | None, module: Module | None) -> Item:
    if module is not None and module.scan is not None:  # the loop, which calls the cell
        return Item(attr, module=module, inputs=module.scan.inputs, outputs=module.scan.outputs)
    if module is not None:
        return Item(attr, module=module, inputs=module.inputs, outputs=module.outputs)
    assert node is not None
    outputs = tuple(Ref(node.id, port) for port in range(len(node.outputs)))
    inputs = () if holds_buffer(node) else node.inputs  # a buffer reads what __init__ stored
    return Item(attr, node=node, inputs=inputs, outputs=outputs)


def _member(access: str, attr: str, container: str | None) -> str:
    """`self.attr`, `self.stage[0]` (an nn.ModuleList) or `self.stage["conv"]` (a ModuleDict)."""
    if container is None:
        return member(access, attr)
    return f"{access}[{attr}]" if container == "list" else f"{access}[{string(attr)}]"


def forward_lines(writer: ClassWriter) -> list[str]:
    network, module = writer.network, writer.module
    ours = _with_optionals(network, steps(network, module.path), writer.optionals)
    ours = _with_loops(ours, module.path, writer.loops)
    outputs = _read(module.outputs, module.outputs_via, writer.optionals)
    # each instance's steps beside ours, for the shape comments; an alternative's have none
    per_instance = [
        _aligned(
            _with_loops(
                [s for s in steps(n, m.path) if not any(_taken(s, o) for o in found)],
                m.path,
                [loop for loop in looping if loop is not None],
            ),
            ours,
            [theirs is None for theirs in looping],
        )
        for (n, m), found, looping in zip(
            writer.instances, writer.chosen, writer.instance_loops, strict=True
        )
    ]
    common = [i for i, s in enumerate(ours) if not s.optional]
    needed = _needed(network, ours, outputs, writer.optionals)
    per_instance = [[p[k] for k, i in enumerate(common) if i in needed] for p in per_instance]
    ours = [step for position, step in enumerate(ours) if position in needed]
    common = [i for i, s in enumerate(ours) if not s.optional]
    names = _Variables(writer.input_names)
    wanted = _wanted_names(network, module.path, ours, outputs)
    for optional in writer.optionals:  # the spec's name for a choice's value
        other = optional.other
        if optional.taken.kind == "empty" and other.network is not None and other.value:
            name = _spec_name(other.network, other.value, module.path)
            if name is not None:
                wanted[other.value] = name
    remaining = _uses(ours, outputs)
    groups = _groups(ours, writer.optionals)
    for _, k in groups.values():  # the `else` of a choice's layers reads the other value
        remaining[writer.optionals[k].other.value] += 1  # type: ignore[index]
    opened: tuple[int, int, int] | None = None  # (last step, choice, first line) of an `if`
    variables: dict[Ref, str] = {}
    for name, ref in zip(writer.input_names, module.inputs, strict=True):
        variables[ref] = names.bind(name, ref)
    body: list[str] = []
    collected = _collected(network, ours, module.outputs)
    lists: dict[tuple[str, ...], str] = {}  # the elements of a collected list -> the list
    skip = 0
    for position, step in enumerate(ours):
        if opened is not None and position > opened[0]:
            body[opened[2] :] = _conditional(writer, opened[1], body[opened[2] :], variables)
            remaining[writer.optionals[opened[1]].other.value] -= 1  # type: ignore[index]
            opened = None
        if position in groups:
            opened = (groups[position][0], groups[position][1], len(body))
        if skip:
            skip -= 1
            continue
        inputs = [variables[ref] for ref in step.reads]
        if step.loop is not None:
            for ref in step.reads:
                remaining[ref] -= 1
            body += _loop_lines(step, step.loop, writer, names, remaining, wanted, variables)
            continue
        if position in collected:
            run = ours[position : position + collected[position]]
            for ref in (r for s in run for r in s.reads):
                remaining[ref] -= 1
            name = names.choose(["outs"], run[-1].item.outputs[0], remaining)
            elements = tuple(f"{name}[{i}]" for i in range(len(run)))
            variables.update({s.item.outputs[0]: e for s, e in zip(run, elements, strict=True)})
            lists[elements] = name
            container = step.access.rpartition("[")[0]
            each = f"[branch({inputs[0]}) for branch in {container}]"
            body += lay_out(INDENT * 2, f"{name} = ", structure(each))
            skip = len(run) - 1
            continue
        scan = step.item.module.scan if step.item.module is not None else None
        if scan is not None:
            for ref in step.reads:
                remaining[ref] -= 1
            body += _scan_loop(step, scan, inputs, names, remaining, wanted, variables)
            continue
        loop = _loop_length(ours, position, remaining)
        if loop:
            run = ours[position : position + loop]
            for ref in (r for s in run for r in s.reads):
                remaining[ref] -= 1
            last = run[-1].item.outputs[0]
            wishes = [wanted.get(last), *([inputs[0]] if remaining[step.reads[0]] == 0 else [])]
            out = variables[last] = names.choose(wishes, last, remaining)
            if out != inputs[0]:
                body.append(f"{INDENT * 2}{out} = {inputs[0]}")
            body.append(f"{INDENT * 2}for _ in range({loop}):")
            call = _expression(step, [out, *inputs[1:]], writer, lists)
            body.append(f"{INDENT * 3}{out} = {call}")
            skip = loop - 1
            continue
        copies = _copies_length(network, ours, position, remaining)
        if copies:
            run = ours[position : position + copies]
            for ref in (r for s in run for r in s.reads):
                remaining[ref] -= 1
            body += _copies_loop(step, run[-1], inputs, variables, names, wanted, remaining)
            skip = copies - 1
            continue
        for ref in step.reads:
            remaining[ref] -= 1
        outs = []
        for ref in step.item.outputs:
            if remaining[ref] == 0:  # one of several outputs that nothing reads
                outs.append(variables.setdefault(ref, DISCARD))
                continue
            wishes = [wanted.get(ref)]
            if len(step.item.inputs) == 1 and remaining[step.item.inputs[0]] == 0:
                wishes.append(inputs[0])
            outs.append(names.choose(wishes, ref, remaining))
            variables[ref] = outs[-1]
        if writer.carries and _carrying_chain(writer, step):
            body += _loop(outs[0], inputs[0], step.access, names)
            continue
        head, expression = f"{', '.join(outs)} = ", _expression(step, inputs, writer, lists)
        comment = (
            _shape_comment(
                [p[common.index(position)] for p in per_instance],
                writer.instances,
            )
            if position in common
            else None
        )
        line = f"{INDENT * 2}{head}{expression}"
        if len(line) > LINE_LENGTH:  # wrapped as ruff wraps it, without its comment
            body += lay_out(INDENT * 2, head, structure(expression))
            continue
        if comment and len(line) + len(comment) + 2 <= LINE_LENGTH:
            line += f"  {comment}"
        body.append(line)
    if opened is not None:
        body[opened[2] :] = _conditional(writer, opened[1], body[opened[2] :], variables)
    results = [variables[ref] for ref in outputs]
    whole = lists.get(tuple(results))
    body.append(f"{INDENT * 2}return {f'tuple({whole})' if whole else ', '.join(results)}")
    arguments = (Arg("self"), *(Arg(f"{n}: torch.Tensor") for n in names.inputs))
    if writer.carries:
        arguments += (Arg("cache: KVCache | None = None"),)
    returns = (
        "torch.Tensor"
        if len(results) == 1
        else f"tuple[{', '.join(['torch.Tensor'] * len(results))}]"
    )
    signature = lay_out(INDENT, "def ", Call("forward", arguments), f" -> {returns}:")
    return [*signature, *body]


def _expression(
    step: Step, inputs: list[str], writer: ClassWriter, lists: dict[tuple[str, ...], str]
) -> str:
    item = step.item
    if step.otherwise is not None:
        *called, otherwise = inputs
        call = f"{step.access}({', '.join(called)})"
        return f"{call} if {step.access} is not None else {otherwise}"
    cached = writer.carries and writer.passes_cache(_path(item))
    if item.node is None:
        return f"{step.access}({', '.join([*inputs, 'cache=cache'] if cached else inputs)})"
    node = item.node
    template, kept = forward_template(node, cached)
    if cached and READS_LENGTH in template:
        writer.helpers.add("cached_length")
    whole = lists.get(tuple(inputs))
    if whole is not None and "[{inputs}]" in template:  # `torch.cat(outs, dim=1)`
        template = template.replace("[{inputs}]", whole)
    writer.uses_functional |= template.startswith("F.")
    values = {
        f"arg_{name}": writer.kept_value(origin, (name, f"{item.attr}_{name}"), text)
        for name, origin, text in kept
    }
    return template.format(*inputs, m=step.access, inputs=", ".join(inputs), **values)


def _with_loops(found: list[Step], path: str, looping: list[Loop]) -> list[Step]:
    """The steps with those of each repeat written as a loop (looped.py) as one step, which
    reads what its first copy reads from before it and gives what its last copy gives."""
    for loop in looping:
        inside = loop.attrs()
        run = [
            k
            for k, step in enumerate(found)
            if step.loop is None and _top(step.item, path) in inside
        ]
        first = {item.attr for item in loop.copies[0]}
        body = tuple(found[k] for k in run if _top(found[k].item, path) in first)
        made = {ref for step in body for ref in step.item.outputs}
        reads = tuple(dict.fromkeys(r for step in body for r in step.reads if r not in made))
        item = Item(loop.copies[0][0].attr, inputs=reads, outputs=(loop.last,))
        step = Step(item, body[0].access, loop=loop, body=body)
        found = [*found[: run[0]], step, *found[run[-1] + 1 :]]
    return found


def _aligned(theirs: list[Step], ours: list[Step], without: list[bool]) -> list[Step]:
    """An instance's steps beside the template's (``ours``): where the instance made no copy
    of a loop (``without``, loop by loop), the template's loop step holds its place (a loop
    has no shape comment)."""
    if not any(without):
        return theirs
    found = list(theirs)
    loop = 0
    for position, step in enumerate(ours):
        if step.loop is not None:
            if without[loop]:
                found.insert(position, step)
            loop += 1
    return found


def _top(item: Item, path: str) -> str:
    """The attribute of the class that holds the module or op of ``item``."""
    made = item.module or item.node
    assert made is not None
    return relative(made.path, path).split(".", 1)[0]


def _loop_lines(
    step: Step,
    loop: Loop,
    writer: ClassWriter,
    names: _Variables,
    remaining: dict[Ref, int],
    wanted: dict[Ref, str],
    variables: dict[Ref, str],
) -> list[str]:
    """A repeat as the loop one would write, the copies' modules reached by their names and
    the tensor each gives the next carried in one variable:

    ```
    for k in range(self.convs):
        x = getattr(self, f"conv{k + 1}")(x)
        x = getattr(self, f"relu{k + 1}")(x)
    ```
    """
    source = variables[loop.carried]
    wishes = [wanted.get(loop.last), *([source] if remaining[loop.carried] == 0 else [])]
    # the loop's own: the copy's input while it is read, the index, what it reads from before
    copy = loop.copies[0][loop.out[0]].outputs[loop.out[1]]
    given, index_ref = Ref(-1, copy.node), Ref(-2, copy.node)
    reads = [r for s in step.body for r in s.reads]
    remaining[given] = reads.count(loop.carried)
    remaining[index_ref] = 1
    others = [r for r in step.reads if r != loop.carried]
    for ref in others:
        remaining[ref] += 1
    out = names.choose(wishes, given, remaining)
    index = names.choose([writer.loop_index()], index_ref, remaining)
    lines = [] if out == source else [f"{INDENT * 2}{out} = {source}"]
    lines.append(f"{INDENT * 2}for {index} in range({writer.stored(loop.origin)}):")
    local: dict[Ref, str] = {loop.carried: out}
    positions = {item.attr: k for k, item in enumerate(loop.copies[0])}
    pending = None  # the copy's result, where it is made before the copy's input is read
    for inner in step.body:
        inputs = [local.get(r, variables.get(r, "")) for r in inner.reads]
        for ref in inner.reads:
            remaining[given if ref == loop.carried else ref] -= 1
        outs = []
        for ref in inner.item.outputs:
            remaining.setdefault(ref, reads.count(ref))
            if ref == copy and remaining[given] == 0 and names.free(out, remaining):
                name = out
                names.holder[out] = ref
            else:
                single = len(inner.reads) == 1
                name = names.choose([inputs[0] if single else None], ref, remaining)
                if ref == copy:
                    pending = name
            local[ref] = name
            outs.append(name)
        top = _top(inner.item, writer.module.path)
        prefix = member("self", top)
        access = f"getattr(self, {loop.name(positions[top], index)}){inner.access[len(prefix) :]}"
        expression = _expression(Step(inner.item, access), inputs, writer, {})
        lines += lay_out(INDENT * 3, f"{', '.join(outs)} = ", structure(expression))
    if pending is not None:
        lines.append(f"{INDENT * 3}{out} = {pending}")
    for ref in others:
        remaining[ref] -= 1
    remaining[index_ref] = 0
    names.holder[out] = loop.last
    variables[loop.last] = out
    return lines


def _loop_length(found: list[Step], position: int, remaining: dict[Ref, int]) -> int:
    """How many steps from ``position`` call one module again and again, each on the one
    output of the step before (and the same other inputs, such as a mask) and nothing else
    reading that output (a shared layer repeated, `x -> shared(layer) * 12`): a loop, where
    there are at least two. 0 otherwise."""
    first = found[position]
    if not first.item.inputs or first.otherwise is not None:
        return 0
    others = first.item.inputs[1:]
    length = 1
    while position + length < len(found):
        step, before = found[position + length], found[position + length - 1]
        if (
            step.access != first.access
            or step.item.inputs != (*before.item.outputs, *others)
            or len(before.item.outputs) != 1
            or remaining[before.item.outputs[0]] != 1
        ):
            break
        length += 1
    return length if length > 1 and len(found[position + length - 1].item.outputs) == 1 else 0


def _scan_loop(
    step: Step,
    scan: Scan,
    inputs: list[str],
    names: _Variables,
    remaining: dict[Ref, int],
    wanted: dict[Ref, str],
    variables: dict[Ref, str],
) -> list[str]:
    """A scan as the loop one would write: each state a variable the cell's call rebinds,
    each output collected step by step and stacked along the axis.

    ```
    h = h0
    y_steps = []
    for x_t in x.unbind(1):
        y_t, h = self.gru(x_t, h)
        y_steps.append(y_t)
    y = torch.stack(y_steps, 1)
    ```
    """
    cell = step.item.module
    assert cell is not None
    sequences, starts = inputs[: scan.sequences], inputs[scan.sequences :]
    outputs = scan.outputs[: len(scan.outputs) - scan.states]
    finals = scan.outputs[len(outputs) :]
    # the loop's own variables stay taken until it ends: placeholders that name no tensor
    loop = scan.outputs[0].node  # the id of the node ending it, which no other loop has
    held = [Ref(-1 - index, loop) for index in range(2 * len(outputs) + len(sequences))]
    remaining.update(dict.fromkeys(held, 1))
    outer, inner = INDENT * 2, INDENT * 3
    lines = []
    states = []
    for final, start, name in zip(finals, starts, cell.input_names[scan.sequences :], strict=True):
        state = variables[final] = names.choose([name, wanted.get(final)], final, remaining)
        states.append(state)
        if state != start:
            lines.append(f"{outer}{state} = {start}")
    stacked = [names.choose([wanted.get(ref)], ref, remaining) for ref in outputs]
    count = len(outputs)
    kept = [
        names.choose([f"{n}_steps"], r, remaining)
        for n, r in zip(stacked, held[:count], strict=True)
    ]
    each = [
        names.choose([f"{n}_t"], r, remaining)
        for n, r in zip(stacked, held[count : 2 * count], strict=True)
    ]
    given = [
        names.choose([f"{n}_t"], r, remaining)
        for n, r in zip(cell.input_names[: scan.sequences], held[2 * count :], strict=True)
    ]
    lines += [f"{outer}{k} = []" for k in kept]
    unbound = [f"{s}.unbind({scan.dim})" for s in sequences]
    walk = unbound[0] if len(unbound) == 1 else f"zip({', '.join(unbound)}, strict=True)"
    if scan.reverse:
        walk = f"reversed({walk})" if len(unbound) == 1 else f"reversed(list({walk}))"
    lines.append(f"{outer}for {', '.join(given)} in {walk}:")
    call = f"{step.access}({', '.join([*given, *states])})"
    lines += lay_out(inner, f"{', '.join([*each, *states])} = ", structure(call))
    lines += [f"{inner}{k}.append({e})" for k, e in zip(kept, each, strict=True)]
    backwards = "[::-1]" if scan.reverse else ""
    for name, k, ref in zip(stacked, kept, outputs, strict=True):
        lines.append(f"{outer}{name} = torch.stack({k}{backwards}, {scan.dim})")
        variables[ref] = name
    for ref in held:
        remaining[ref] = 0
    return lines


def _copies_length(
    network: Network, found: list[Step], position: int, remaining: dict[Ref, int]
) -> int:
    """How many steps from ``position`` call every copy of one repeat in turn, each on all the
    outputs of the one before (and the same other inputs, such as a mask) and nothing else
    reading those: a loop over the container, right for any number of copies. 0 otherwise."""
    first = found[position]
    container, _, index = first.access.rpartition("[")
    made = first.item.module or first.item.node
    if index != "0]" or first.otherwise is not None or first.optional or made is None:
        return 0
    repeat = network.modules.get(made.path.rpartition(".")[0])
    count = repeat.repeat if repeat is not None else None
    if not isinstance(count, int) or position + count > len(found):
        return 0
    # each copy one child of the container: a copy that is a chain of several layers is
    # written into it layer by layer, and a loop over the container would run them all
    prefix = f"{repeat.path}."
    children = {n.path[len(prefix) :].split(".", 1)[0] for n in network.within(repeat.path)}
    if len(children) != count:
        return 0
    if not _held(first):
        return 0
    carried = len(first.item.outputs)
    others = first.item.inputs[carried:]
    for k in range(1, count):
        step, before = found[position + k], found[position + k - 1]
        if (
            step.access != f"{container}[{k}]"
            or not _held(step)
            or step.otherwise is not None
            or step.optional
            or step.item.inputs != (*before.item.outputs, *others)
            or any(remaining[ref] != 1 for ref in before.item.outputs)
        ):
            return 0
    return count


def _held(step: Step) -> bool:
    """Whether the step calls a module its container holds: a stateless op written as an
    expression leaves its place in the container empty, and a loop over it would skip it."""
    node = step.item.node
    return step.item.module is not None or (node is not None and is_module(node))


def _copies_loop(
    first: Step,
    last: Step,
    inputs: list[str],
    variables: dict[Ref, str],
    names: _Variables,
    wanted: dict[Ref, str],
    remaining: dict[Ref, int],
) -> list[str]:
    """``x, bias = x, mask``, then each copy of the repeat at ``first``'s container on them:
    ``for layer in self.block: x, bias = layer(x, bias)``."""
    carried = len(first.item.outputs)
    outs = []
    for ref, source, given in zip(last.item.outputs, first.reads, inputs, strict=False):
        wishes = [wanted.get(ref), *([given] if remaining[source] == 0 else [])]
        outs.append(names.choose(wishes, ref, remaining))
        variables[ref] = outs[-1]
    lines = []
    if outs != inputs[:carried]:
        lines.append(f"{INDENT * 2}{', '.join(outs)} = {', '.join(inputs[:carried])}")
    layer = next(n for n in ("layer", "layer_", "layer__") if n not in names.holder)
    call = f"{layer}({', '.join([*outs, *inputs[carried:]])})"
    return [
        *lines,
        f"{INDENT * 2}for {layer} in {first.access.rpartition('[')[0]}:",
        f"{INDENT * 3}{', '.join(outs)} = {call}",
    ]


def _path(item: Item) -> str:
    made = item.module or item.node
    assert made is not None
    return made.path


def _carrying_chain(writer: ClassWriter, step: Step) -> bool:
    """Whether the step calls a chain of modules that each take the KV cache (a repeat of
    decoder layers), which nn.Sequential cannot pass on: forward loops over it instead."""
    module = step.item.module
    return module is not None and module.kind == "sequence" and writer.passes_cache(module.path)


def _loop(out: str, source: str, access: str, names: _Variables) -> list[str]:
    """``out = source``, then each module of the chain at ``access`` on it, with the cache."""
    layer = next(n for n in ("layer", "layer_", "layer__") if n not in names.holder)
    lines = [] if out == source else [f"{INDENT * 2}{out} = {source}"]
    return [
        *lines,
        f"{INDENT * 2}for {layer} in {access}:",
        f"{INDENT * 3}{out} = {layer}({out}, cache=cache)",
    ]


def _collected(network: Network, found: list[Step], results: tuple[Ref, ...]) -> dict[int, int]:
    """The runs of steps that call every branch of a `branches(...)` container on one input,
    each giving one tensor, whose outputs one later step (a concat), or the return, takes
    together and in order: those are one comprehension, `outs = [branch(x) for branch in
    self.convs]`. By position of the first step, the length of the run."""
    runs: dict[int, int] = {}
    for position, step in enumerate(found):
        container, _, index = step.access.rpartition("[")
        if index != "0]":
            continue
        child = step.item.module or step.item.node
        assert child is not None
        parent = network.modules.get(child.path.rpartition(".")[0])
        if parent is None or not parent.parallel:
            continue
        count = len(parent.outputs)
        run = found[position : position + count]
        calls = [f"{container}[{i}]" for i in range(count)]
        if [s.access for s in run] != calls or any(
            s.item.inputs != step.item.inputs or len(s.item.outputs) != 1 for s in run
        ):
            continue
        outputs = tuple(s.item.outputs[0] for s in run)
        takers = [s.item.inputs for s in found if set(s.item.inputs) & set(outputs)]
        if set(results) & set(outputs):
            takers.append(results)
        if takers == [outputs]:
            runs[position] = count
    return runs


def _shape_comment(matching: list[Step], instances: list[tuple[Network, Module]]) -> str | None:
    """`# (N, T, d_model)`: each size as the class's own parameters give it, so that the
    comment holds for every argument the class takes. None where a size depends on the sizes of
    the tensors the class is given, or its provenance is not known, or instances disagree."""
    shown = set()
    for step, (network, module) in zip(matching, instances, strict=True):
        shapes = []
        for ref in step.item.outputs:
            sizes = _sizes_shown(network, module, ref)
            if sizes is None:
                return None
            shapes.append("(" + ", ".join(sizes) + ")")
        shown.add(", ".join(shapes))
    return f"# {shown.pop()}" if len(shown) == 1 else None


def _sizes_shown(network: Network, module: Module, ref: Ref) -> list[str] | None:
    node = network.node(ref.node)
    origins = node.dims[ref.port] if ref.port < len(node.dims) else ()
    tensor = network.type_of(ref)
    if tensor is None:
        return None
    shown = []
    for axis, size in enumerate(tensor.shape):
        origin = origins[axis] if axis < len(origins) else None
        if origin is not None:
            origin = network.lift(origin, network.instance_of(node).path, module.path)
        if origin is None:
            if isinstance(size, int) or not dims.show(size).isidentifier():
                return None
            shown.append(dims.show(size))  # the batch, or a size the network's inputs name
        elif provenance.reads_sizes(origin) or (
            not isinstance(size, int) and provenance.reads(origin)
        ):
            return None  # a size of the class's input, or a named size the arguments change
        elif provenance.needs_collecting(origin):
            return None  # `growth + growth + growth` reads badly; tidying it would import sympy
        else:
            shown.append(provenance.show(origin) if isinstance(size, int) else dims.show(size))
    return shown


def _with_optionals(network: Network, found: list[Step], chosen: list[Optional]) -> list[Step]:
    """The steps of the template instance with its choices' optional modules: the module an
    alternative taken made, applied or not (`self.downsample(x) if self.downsample is not
    None else x`), and the module of one not taken, where it would have been made, its value
    read where the choice's is (Node.via)."""
    for optional in chosen:
        taken, other = optional.taken, optional.other
        if taken.kind == "empty" and other.kind == "module":
            item = other.item
            assert item is not None and other.value is not None
            call = Item(item.attr, item.node, item.module, item.inputs, (other.value,))
            made = Step(call, member("self", item.attr), otherwise=taken.value, optional=True)
            later = [i for i, s in enumerate(found) if first_id(network, s.item) > optional.first]
            found.insert(later[0] if later else len(found), made)
        for step in found:
            if _taken(step, optional):
                step.optional = True
                if other.kind == "empty" and taken.kind == "module":
                    step.otherwise = other.value
    for step in found:
        made_by = step.item.module or step.item.node
        via = getattr(made_by, "via", ())
        if via and not step.optional:
            inputs = _read(step.item.inputs, via, chosen)
            step.item = Item(
                step.item.attr, step.item.node, step.item.module, inputs, step.item.outputs
            )
    return found


def _groups(found: list[Step], chosen: list[Optional]) -> dict[int, tuple[int, int]]:
    """The runs of steps that compute the layers of a choice the template took (its several
    layers against none, optional.py): by the position of the first, the position of the
    last and the choice."""
    runs: dict[int, tuple[int, int]] = {}
    for k, optional in enumerate(chosen):
        if optional.taken.kind != "steps":
            continue
        positions = [i for i, step in enumerate(found) if _taken(step, optional)]
        runs[positions[0]] = (positions[-1], k)
    return runs


def _conditional(
    writer: ClassWriter, k: int, lines: list[str], variables: dict[Ref, str]
) -> list[str]:
    """The lines that compute a choice's layers, under the flag that says the class took
    them; otherwise the choice's value is the other alternative's tensor."""
    optional = writer.optionals[k]
    value = variables[optional.taken.value]  # type: ignore[index]
    other = variables[optional.other.value]  # type: ignore[index]
    return [
        f"{INDENT * 2}if {writer.flag(k)}:",
        *(INDENT + line for line in lines),
        f"{INDENT * 2}else:",
        f"{INDENT * 3}{value} = {other}",
    ]


def _read(
    refs: tuple[Ref, ...], via: tuple[tuple[int, int], ...], chosen: list[Optional]
) -> tuple[Ref, ...]:
    """``refs`` with each that is a choice's value, where the template took its alternative
    of no layers, read from the other alternative's module instead (Node.via)."""
    found = list(refs)
    for position, k in via:
        optional = chosen[k] if k < len(chosen) else None
        if optional is not None and (optional.taken.kind, optional.other.kind) == (
            "empty",
            "module",
        ):
            found[position] = optional.other.value  # type: ignore[assignment]
    return tuple(found)


def _taken(step: Step, optional: Optional) -> bool:
    """Whether ``step`` calls a module (or applies an op) the alternative taken made."""
    return any(
        step.item.module is made.module if made.module is not None else step.item.node is made.node
        for made in optional.made
    )


def _needed(
    network: Network, found: list[Step], outputs: tuple[Ref, ...], chosen: list[Optional]
) -> set[int]:
    """The positions of the steps whose values lead to the class's outputs. The others compute
    values nothing reads (`_shared = ids -> embedding(...) as shared`, a layer kept for its
    parameters): their modules are built, never called. A choice's steps are all kept, and the
    value its `else` reads, and so is a step that changes what its modules hold."""
    read = {*outputs, *(o.other.value for o in chosen if o.other.value is not None)}
    kept = set()
    for position in range(len(found) - 1, -1, -1):
        step = found[position]
        if (
            step.optional
            or not read.isdisjoint(step.item.outputs)
            or _updates_state(network, step.item)
        ):
            kept.add(position)
            read.update(step.reads)
    return kept


def _updates_state(network: Network, item: Item) -> bool:
    """Whether calling ``item`` changes a tensor its modules hold: a batch norm's running
    statistics in training, which the spec's network updates whether or not its value is
    read."""
    nodes = [item.node] if item.node is not None else network.within(item.module.path)  # type: ignore[union-attr]
    return any(
        (op := lookup(node.op)) is not None and op.batch_statistics and bool(node.buffers)
        for node in nodes
        if node is not None and node.kind == "op"
    )


def _uses(found: list[Step], outputs: tuple[Ref, ...]) -> dict[Ref, int]:
    uses: dict[Ref, int] = {}
    for step in found:
        for ref in step.reads:
            uses[ref] = uses.get(ref, 0) + 1
        for ref in step.item.outputs:
            uses.setdefault(ref, 0)
    for ref in outputs:
        uses[ref] = uses.get(ref, 0) + 1
    return uses


def _wanted_names(
    network: Network, scope: str, found: list[Step], outputs: tuple[Ref, ...]
) -> dict[Ref, str]:
    """The spec's names for values, spread back along the chains that compute them."""
    wanted: dict[Ref, str] = {}
    for step in found:
        for ref in step.item.outputs:
            name = _spec_name(network, ref, scope)
            if name is not None:
                wanted[ref] = name
    uses = _uses(found, outputs)
    producer = {ref: step for step in found for ref in step.item.outputs}
    for step in reversed(found):
        if len(step.item.outputs) != 1 or len(step.item.inputs) != 1:
            continue
        name = wanted.get(step.item.outputs[0])
        source = step.item.inputs[0]
        if name and source in producer and uses[source] == 1 and source not in wanted:
            wanted[source] = name
    return wanted


def _spec_name(network: Network, ref: Ref, scope: str) -> str | None:
    if not network.has_node(ref.node):  # an alternative set aside has no names
        return None
    return network.node(ref.node).value_names.get((scope, ref.port))


class _Variables:
    """Local variable names of one forward method, reused once their value is dead."""

    def __init__(self, inputs: list[str]) -> None:
        self.inputs: list[str] = []
        self.holder: dict[str, Ref] = {}
        self._input_wishes = inputs

    def bind(self, wish: str, ref: Ref) -> str:
        name = _safe(wish)
        while name in self.holder:
            name += "_"
        self.holder[name] = ref
        self.inputs.append(name)
        return name

    def choose(self, wishes: list[str | None], ref: Ref, remaining: dict[Ref, int]) -> str:
        for wish in [*wishes, "out"]:
            if wish is None:
                continue
            base = _safe(wish)
            candidate, count = base, 1
            while not self.free(candidate, remaining):
                count += 1
                candidate = f"{base}{count}"
            if candidate == base or wish == "out":
                self.holder[candidate] = ref
                return candidate
        raise AssertionError("unreachable: `out` always yields a name")

    def free(self, name: str, remaining: dict[Ref, int]) -> bool:
        holder = self.holder.get(name)
        return holder is None or remaining.get(holder, 0) == 0


def _safe(wish: str) -> str:
    name = identifier(wish)
    return f"{name}_" if name in RESERVED or name in _called() else name


@functools.cache
def _called() -> frozenset[str]:
    """Names a forward calls besides its own locals: a local of the same name would hide them
    (the module-level helpers, `cached_length`, the KV cache it passes on, and `_`, which
    takes the outputs nothing reads)."""
    return module_level() | {"cache", DISCARD}


__all__: list[Any] = ["forward_lines", "steps"]
