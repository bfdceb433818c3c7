"""Unnamed repeats in a block's own body whose count the spec computes, as loops.

`(conv2d(channels, 3, padding=1) -> relu) * convs` in a block makes its copies the class's own
layers, `conv1`, `relu1`, `conv2`, `relu2`, ...: the state_dict keys a hand-written VGG has.
A class serves every count: `__init__` registers each copy's layers in a loop over the count
(`self.add_module(f"conv{k + 1}", ...)`) and `forward` calls them in a loop alike, the tensor
one copy gives the next carried in one variable. ir.Looped records the count's provenance and
the names each copy made; a repeat is a loop where that holds for any count:

- every copy's layers are named `<base><number>`, each number the first copy's plus the
  copy's index times the layers of that base per copy, and no other layer of the class has
  a greater number of a base the copies use (it would move with the count);
- the copies take one tensor from the one before, each copy's the same layer of the one
  before (and the same other tensors), and only the last copy's is read after them;
- copies after the first are built alike: seen two of them, they are, and the layers of
  the second are built from values that no size of the class's inputs, and no size that
  changes from copy to copy, decides.

The first copy may be built from other values (it takes the class's input): those are
written `in_channels if k == 0 else channels`. Any other repeat keeps its copies as the
class's own items. An instance whose count made no copy records no names; it shares the class
where, without the loop, it has the structure of an instance that loops (classes.py), and
`aligned` puts None for the loop among its loops.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from archc.backends.torch.constants import holds_buffer
from archc.backends.torch.stateless import forward_template
from archc.backends.torch.structure import Item, first_id, scope_items
from archc.errors import Span
from archc.ops.spec import HELD
from archc.semantics import provenance as pv
from archc.semantics.ir import Looped, Module, Network, Node, Ref, join_path

_NUMBERED = re.compile(r"^(.*?)(\d+)$")


@dataclass(frozen=True)
class Loop:
    """A repeat written as a loop: ``copies[k]`` are copy k's items (consecutive in the
    class's items from ``start``), named ``names[j] = (base, first, step)`` at position j,
    `f"{base}{first + step * k}"`. Copy 0 reads ``carried`` from before the loop, each later
    copy reads the output ``out = (position, port)`` of the copy before in its place.
    ``changes`` where the sizes its copies give may differ from those it takes, and
    ``needs_copy`` where the layers after the loop are built from values that may follow
    them: without a copy, they would be others."""

    origin: pv.Expr
    span: Span  # the repeat's (ir.Looped)
    start: int
    copies: tuple[tuple[Item, ...], ...]
    names: tuple[tuple[str, int, int], ...]
    carried: Ref
    out: tuple[int, int]
    changes: bool
    needs_copy: bool

    @property
    def width(self) -> int:
        return len(self.copies[0])

    @property
    def last(self) -> Ref:
        """The tensor the loop gives: the last copy's ``out``."""
        position, port = self.out
        return self.copies[-1][position].outputs[port]

    def attrs(self) -> set[str]:
        return {item.attr for copy in self.copies for item in copy}

    def name(self, position: int, index: str) -> str:
        """The f-string that names the layer at ``position`` of copy ``index``."""
        base, first, step = self.names[position]
        term = index if step == 1 else f"{step} * {index}"
        number = f"{term} + {first}" if first else term
        return f'f"{base}{{{number}}}"'


def loops(network: Network, module: Module) -> list[Loop]:
    """The repeats of the block instance ``module`` that its class writes as loops."""
    if module.kind != "block" or not module.looped:
        return []
    items = scope_items(network, module.path)
    position = {item.attr: k for k, item in enumerate(items)}
    made = [{n for copy in looped.copies for n in copy} for looped in module.looped]
    found: list[Loop] = []
    for looped, names in zip(module.looped, made, strict=True):
        inside = any(names < other for other in made)  # a copy's part: the copies' count
        if not names or inside or any(n not in position for n in names):
            continue  # its copies stay the class's items
        loop = _loop(network, module, items, position, looped)
        if loop is not None:
            found.append(loop)
    return found


def aligned(template: list[Loop], network: Network, module: Module) -> list[Loop | None]:
    """The loops of the instance ``module`` beside those of its class's template: None for
    one whose count made no copy there (classes.py lets such an instance share the class)."""
    empty = {looped.span for looped in module.looped if not looped.copies}
    own = iter(loops(network, module))
    return [None if loop.span in empty else next(own) for loop in template]


def _loop(
    network: Network,
    module: Module,
    items: list[Item],
    position: dict[str, int],
    looped: Looped,
) -> Loop | None:
    copies = looped.copies
    width = len(copies[0])
    start = position[copies[0][0]]
    if any(len(copy) != width for copy in copies) or [
        position[n] for copy in copies for n in copy
    ] != list(range(start, start + width * len(copies))):
        return None
    made = tuple(tuple(items[position[n]] for n in copy) for copy in copies)
    if not all(_loopable(network, module, item) for copy in made for item in copy):
        return None
    chosen = [first_id(network, item) for copy in made for item in copy]
    if any(c.taken.made(i) for c in module.choices for i in chosen):
        return None  # made by a conditional's alternative (optional.py)
    end = start + width * len(copies)
    names = _patterns(copies, [i.attr for i in items[:start] + items[end:]])
    if names is None:
        return None
    ends = _carried(made, items[end:], module.outputs)
    if ends is None:
        return None
    carried, out = ends
    if len(made) > 1 and not alike(network, module, made, out):
        return None
    later = [o for item in items[end:] for o in origins(network, item) if o is not None]
    moves = len(made) > 1 and _moves(
        *(_dims(network, c[out[0]].outputs[out[1]], module, True) for c in made[:2])
    )
    if moves and any(pv.reads_sizes(o) for o in later):
        return None  # built for the sizes this count gives
    gives = _dims(network, made[0][out[0]].outputs[out[1]], module)
    changes = _moves(_dims(network, carried, module), gives) is not False  # sizes given
    needs_copy = changes and any(pv.reads(o) or pv.reads_sizes(o) for o in later)
    return Loop(looped.origin, looped.span, start, made, names, carried, out, changes, needs_copy)


def _loopable(network: Network, module: Module, item: Item) -> bool:
    """Whether a copy's item can be registered and called under a computed name: no buffer
    or tensor held directly, no shared layer, no scan, no choice's value read."""
    if join_path(module.path, item.attr) in network.applications:
        return False
    if item.node is not None:
        node = item.node
        return not (holds_buffer(node) or HELD in node.params or node.via)
    assert item.module is not None
    return item.module.scan is None and not item.module.via and not item.module.parallel


def _patterns(
    copies: tuple[tuple[str, ...], ...], others: list[str]
) -> tuple[tuple[str, int, int], ...] | None:
    """Each position's (base, first number, step), where every copy's names follow them and
    no other layer has a greater number of a base the copies use."""
    split = [_NUMBERED.match(name) for name in copies[0]]
    if any(m is None for m in split):
        return None
    bases = [m.group(1) for m in split]  # type: ignore[union-attr]
    names = tuple(
        (base, int(m.group(2)), bases.count(base))  # type: ignore[union-attr]
        for base, m in zip(bases, split, strict=True)
    )
    for k, copy in enumerate(copies):
        if list(copy) != [f"{b}{first + step * k}" for b, first, step in names]:
            return None
    least = {b: min(f for base, f, _ in names if base == b) for b in bases}
    for other in others:
        match = _NUMBERED.match(other)
        if match and match.group(1) in least and int(match.group(2)) > least[match.group(1)]:
            return None
    return names


def _carried(
    made: tuple[tuple[Item, ...], ...], after: list[Item], outputs: tuple[Ref, ...]
) -> tuple[Ref, tuple[int, int]] | None:
    """The tensor the first copy takes from before the loop where each later copy takes the
    one before's, and where that one is in a copy (position, port); None unless every copy
    reads the one before in that one tensor alone, the first reading the carried one in the
    same places, and nothing after the loop reads any of its tensors but the last copy's."""
    inside = {ref for copy in made for item in copy for ref in item.outputs}
    read_later = [r for r in (*(r for i in after for r in i.inputs), *outputs) if r in inside]
    roles = [_roles(made, k) for k in range(len(made))]
    outside = {role[1] for role in _flat(roles[0]) if role[0] == "outside"}
    if len(made) == 1:
        if len(outside) != 1 or len(set(read_later)) != 1:
            return None
        (carried,) = outside
        own = {r: (j, p) for j, item in enumerate(made[0]) for p, r in enumerate(item.outputs)}
        return carried, own[read_later[0]]  # type: ignore[return-value]
    previous = {role[1:] for role in _flat(roles[1]) if role[0] == "prev"}
    if len(previous) != 1 or any(r != roles[1] for r in roles[2:]):
        return None
    ((out,),) = previous
    pairs = list(zip(_flat(roles[0]), _flat(roles[1]), strict=True))
    carried = {mine for mine, theirs in pairs if theirs[0] == "prev"}
    if len(carried) != 1 or next(iter(carried))[0] != "outside":
        return None
    ((_, given),) = carried
    # elsewhere the copies read alike, and none reads the carried tensor itself again
    if any(
        mine != theirs or theirs == ("outside", given)
        for mine, theirs in pairs
        if theirs[0] != "prev"
    ):
        return None
    if any(ref != made[-1][out[0]].outputs[out[1]] for ref in read_later):
        return None
    return given, out  # type: ignore[return-value]


def _roles(made: tuple[tuple[Item, ...], ...], k: int) -> list[list[tuple[object, ...]]]:
    """What each input of each item of copy ``k`` reads: a tensor of the copy itself
    (position, port), of the copy before, or one from outside the loop."""
    own = {r: (j, p) for j, item in enumerate(made[k]) for p, r in enumerate(item.outputs)}
    before = (
        {r: (j, p) for j, item in enumerate(made[k - 1]) for p, r in enumerate(item.outputs)}
        if k
        else {}
    )
    return [
        [
            ("own", own[ref])
            if ref in own
            else ("prev", before[ref])
            if ref in before
            else ("outside", ref)
            for ref in item.inputs
        ]
        for item in made[k]
    ]


def _flat(roles: list[list[tuple[object, ...]]]) -> list[tuple[object, ...]]:
    return [role for item in roles for role in item]


def alike(
    network: Network,
    module: Module,
    made: tuple[tuple[Item, ...], ...],
    out: tuple[int, int],
    steady: bool = False,
) -> bool:
    """Whether the copies after the first are built alike, for any count: those seen are,
    their forward statements are the first's, and the second gives the next copy the sizes
    it was given; where a size that reads the class's input sizes changes (a stride), the
    second's values read none of them, and ``steady`` refuses it (what comes after is
    built for the sizes the copies give)."""
    described = {tuple(_built(network, item) for item in copy) for copy in made[1:]}
    if len(described) != 1:
        return False
    if [_forward(i) for i in made[0]] != [_forward(i) for i in made[1]]:
        return False
    given, gives = (_dims(network, c[out[0]].outputs[out[1]], module, True) for c in made[:2])
    moves = _moves(given, gives)
    if moves is None or (moves and steady):
        return False
    return not moves or not any(
        o is not None and pv.reads_sizes(o) for item in made[1] for o in origins(network, item)
    )


def _built(network: Network, item: Item) -> tuple[object, ...]:
    """What a copy's item is built from: each op with the provenance of its values, and each
    block with its arguments', under their paths in the item."""
    if item.node is not None:
        return (_node(item.node),)
    assert item.module is not None
    path = item.module.path
    blocks = [
        (m.path[len(path) :], m.name, tuple(sorted(_shared(m).items())), m.repeat)
        for m in network.modules.values()
        if m.kind == "block" and (m.path == path or m.path.startswith(f"{path}."))
    ]
    nodes = [(n.path[len(path) :], _node(n)) for n in network.within(path)]
    return (item.module.kind, tuple(sorted(blocks)), tuple(nodes))


def _shared(module: Module | Node) -> dict[str, pv.Expr]:
    """A block call's or an op's arguments as every copy of a repeat has them: one that
    reads the copy's index as the expression of it all copies share (index_origins), which
    gives each its own."""
    return {**module.arg_origins, **module.index_origins}


def _node(node: Node) -> tuple[object, ...]:
    return (
        node.op,
        tuple(sorted(_shared(node).items())),
        tuple(sorted({**node.resolved_origins, **node.index_resolved}.items())),
        node.given,
        tuple(sorted(node.given_origins.items())),
    )


def _forward(item: Item) -> tuple[object, ...]:
    if item.node is not None:
        text, kept = forward_template(item.node)
        return (text, tuple((name, origin) for name, origin, _ in kept))
    return ("call",)


def origins(network: Network, item: Item) -> list[pv.Expr | None]:
    """The provenance of every value the item is built from, the sizes its blocks are
    given included."""
    if item.node is not None:
        return [*item.node.arg_origins.values(), *item.node.resolved_origins.values()]
    assert item.module is not None
    path = item.module.path
    found: list[pv.Expr | None] = []
    for node in network.within(path):
        found += [*node.arg_origins.values(), *node.resolved_origins.values()]
    for module in network.modules.values():
        if module.path == path or module.path.startswith(f"{path}."):
            sizes = [d for dims in module.input_dims if dims is not None for d in dims]
            found += [*module.arg_origins.values(), module.repeat_origin, *sizes]
    return found


def _moves(
    before: tuple[pv.Expr | None, ...] | None, after: tuple[pv.Expr | None, ...] | None
) -> bool | None:
    """Whether a size a copy gives differs from the one it was given (``before``, ``after``:
    their provenance), where the sizes read the class's input sizes; None where one
    computed from parameters alone does (then later copies would be built otherwise)."""
    if before is None or after is None or len(before) != len(after):
        return None
    moves = False
    for a, b in zip(before, after, strict=True):
        if a is None or b is None:
            if a != b:
                return None
            continue
        if not pv.reads_sizes(a) and not pv.reads_sizes(b):
            if a != b:
                return None
        elif not pv.equal_for_all_values(a, b):
            moves = True
    return moves


def _dims(
    network: Network, ref: Ref, module: Module, shared: bool = False
) -> tuple[pv.Expr | None, ...] | None:
    """The provenance of a tensor's sizes in the class: a size of an input is itself, and one
    a child block's body computed is moved out into the class's terms (None where it has no
    expression there); ``shared``: in a copy of a repeat, as every copy has it, where it
    follows the copy's index (indexed_sizes.py)."""
    if ref in module.inputs:
        name = module.input_names[module.inputs.index(ref)]
        tensor = network.type_of(ref)
        if tensor is None:
            return None
        return (None, *(pv.Size(name, axis) for axis in range(1, len(tensor.shape))))
    node = network.node(ref.node)
    if ref.port >= len(node.dims):
        return None
    dims = node.index_dims if shared and node.index_dims else node.dims
    inner = network.instance_of(node).path
    holder = network.instance_of_path(module.path).path  # the class's instance
    if inner == holder:
        return tuple(dims[ref.port])
    if not shared:
        return tuple(None if d is None else network.lift(d, inner, holder) for d in dims[ref.port])
    # the block call in the class's body that holds the node
    child = network.modules[inner]
    while child.path and network.instance_of_path(child.path.rpartition(".")[0]).path != holder:
        child = network.instance_of_path(child.path.rpartition(".")[0])
    if not child.path:
        return None
    return tuple(
        None if d is None else _shared_lift(network, d, inner, child) for d in dims[ref.port]
    )


def _shared_lift(network: Network, expr: pv.Expr, inner: str, child: Module) -> pv.Expr | None:
    """``expr``, in the terms of the block instance at ``inner``, in those of the class that
    calls ``child`` (which holds it), moved out of ``child`` with the provenance its
    arguments and input sizes share with the other copies of a repeat."""
    own = network.lift(expr, inner, child.path)
    if own is None:
        return None
    given = child.index_input_dims or child.input_dims

    def size(name: str, axis: int) -> pv.Expr | None:
        sizes = given[child.input_names.index(name)] if name in child.input_names else None
        return sizes[axis] if sizes is not None and axis < len(sizes) else None

    return pv.substitute(own, {**child.arg_origins, **child.index_origins}, size)
