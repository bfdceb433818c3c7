"""Conditionals a generated class holds both alternatives of: optional submodules.

Where a block's body chose between tensors (`skip = if stride != 1 then x -> (...) as
downsample else x`), elaboration records the choice with both alternatives (ir.Choice): the
one taken, in the graph, and the other, set aside. A class serves instances that took either,
and builds the alternative's module under the test, as torchvision's Bottleneck does with
`downsample=None`. This module reads a choice as the class sees it; the forms it takes are an
alternative of one module against one of no layers (`self.downsample(x) if self.downsample is
not None else x`), two modules under one name, a module or no layers against an alternative
these values cannot build (the constructor raises ValueError where the arguments need it),
several layers against no layers, a conditional output such as a residual `if stride == 1 then
y + x else y` (a flag set in `__init__` from the test, `self.use_add = stride == 1`, and an
`if` in forward), and two tensors the body already has (`if stride == 1 then x2 else x`), which
forward chooses where the choice's value is read (`self.branch2(x2 if self.stride == 1 else
x)`); the layers that read it are built once, each value that follows the choice written under
its test (`in_channels // 2 if stride == 1 else in_channels`). Several layers set aside are
never written from the copy: where no instance took them, the class asks for its instance
elaborated with an argument that makes the test go their way (other_way), which took them.
An alternative these values cannot build is no obstacle to sharing a class with instances that
built it (classes.py). Any other choice leaves the instances that differ in it to classes of
their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from archc.backends.torch.structure import Item, inferred_of, scope_items
from archc.ops import lookup
from archc.semantics import provenance as pv
from archc.semantics.ir import Alternative, Choice, Module, Network, Node, Rebind, Ref


@dataclass(frozen=True)
class Branch:
    """One alternative of a choice in one instance: one module (``item``, in ``network``:
    the graph, or a view of the alternative set aside), several layers the instance took
    (``items``, in order, the last giving ``value``), no layers (``value``, a tensor the body
    had already, which may be the value of the earlier choice at ``via``), or none these
    values can build."""

    kind: Literal["module", "steps", "empty", "unbuilt"]
    network: Network | None = None
    item: Item | None = None
    value: Ref | None = None
    items: tuple[Item, ...] = ()
    via: int | None = None

    @property
    def built(self) -> bool:
        """Whether the alternative makes layers (the class builds them under the test)."""
        return self.kind in ("module", "steps")


@dataclass(frozen=True)
class Optional:
    """A choice of one instance, as its class writes it."""

    guard: pv.Expr
    held: bool  # the test held here: ``then`` is the branch taken
    first: int  # the choice made its nodes after this id
    then: Branch
    orelse: Branch
    index: int  # its position in Module.choices, which Node.via and Module.via name

    @property
    def between_tensors(self) -> bool:
        """Whether both alternatives are tensors the body already has: no layers to build,
        a tensor to choose in forward."""
        return self.then.kind == self.orelse.kind == "empty"

    @property
    def taken(self) -> Branch:
        return self.then if self.held else self.orelse

    @property
    def other(self) -> Branch:
        return self.orelse if self.held else self.then

    @property
    def rank(self) -> int:
        """How much of the choice the instance shows: 2 where it took layers, 1 where it
        set aside a module, else 0. A class is written from an instance that shows most."""
        return 2 if self.taken.built else 1 if self.other.kind == "module" else 0

    @property
    def made(self) -> tuple[Item, ...]:
        """The class's items the alternative taken made."""
        if self.taken.kind == "steps":
            return self.taken.items
        return () if self.taken.item is None else (self.taken.item,)


def optionals(network: Network, module: Module) -> list[Optional] | None:
    """The choices of a block instance as its class writes them; None where one of them has
    no form this module writes (the class then serves only instances of its structure).
    A network's class writes those of its choices whose both alternatives were built; the
    others it writes as taken, their tests' parameters fixed (faithful.py)."""
    network_class = module.kind == "network"
    found: list[Optional] = []
    for index, choice in enumerate(module.choices):
        if choice.guard is not None and not (
            pv.reads(choice.guard) or pv.reads_sizes(choice.guard)
        ):
            continue  # a test of constants: every instance builds what it took
        if network_class and choice.other is None:
            continue
        if _reads_choice(found, index, choice):
            if network_class:
                continue
            return None
        taken = _branch(network, module.path, choice.taken)
        other = (
            Branch("unbuilt")
            if choice.other is None
            else _branch(network.aside(choice.other), module.path, choice.other)
        )
        if (
            choice.guard is None
            or taken is None
            or taken.kind == "unbuilt"
            or other is None
            or not _writable(taken, other)
        ):
            if network_class:
                continue
            return None
        then, orelse = (taken, other) if choice.held else (other, taken)
        found.append(Optional(choice.guard, choice.held, choice.taken.first, then, orelse, index))
    return found


def _reads_choice(found: list[Optional], index: int, choice: Choice) -> bool:
    """Whether ``choice`` may give the value of another choice (Alternative.via) that the
    class cannot read it through: one between tensors (`u = if a then p else q`, then `if b
    then u else x`), whose tensor an instance read would stand for it, or one not earlier,
    undone with the alternative that made it (speculation.py)."""
    vias = [a.via for a in (choice.taken, choice.other) if a is not None and a.via is not None]
    earlier = {o.index: o for o in found}
    return any(via >= index or (via in earlier and earlier[via].between_tensors) for via in vias)


def by_choice(found: list[Optional]) -> dict[int, int]:
    """Where each of a class's choices is among ``found``, by its position in
    Module.choices (a test of constants has none)."""
    return {optional.index: k for k, optional in enumerate(found)}


def _writable(taken: Branch, other: Branch) -> bool:
    kinds = {taken.kind, other.kind}
    if "steps" in kinds:  # several layers or none: a flag and an `if` in forward
        return kinds == {"steps", "empty"}
    if kinds == {"module"}:  # two modules under one name, called alike
        assert taken.item is not None and other.item is not None
        return taken.item.attr == other.item.attr and taken.item.inputs == other.item.inputs
    return True


def _branch(network: Network, path: str, alternative: Alternative) -> Branch | None:
    """The alternative as the class's items; None where the one taken is not whole items of
    the class. One set aside (its first id is negative) is written only where it is one
    module: otherwise it is taken as one these values cannot build (other_way finds values
    that take it)."""
    if alternative.empty:
        return Branch("empty", value=alternative.value, via=alternative.via)
    aside = alternative.first < 0
    made = [i for i in scope_items(network, path) if _made(network, i, alternative)]
    count = sum(1 for node in network.within(path) if alternative.made(node.id))
    whole = sum(len(_nodes(network, item)) for item in made) == count
    if not made or made[-1].outputs != (alternative.value,) or not whole:
        return Branch("unbuilt") if aside else None
    if len(made) > 1 or not _is_module(made[0]):
        if aside:  # several layers are written from an instance that took them (other_way)
            return Branch("unbuilt")
        return Branch("steps", network, value=alternative.value, items=tuple(made))
    item = made[0]
    if aside and item.module is not None and _holds_block(network, item.module):
        return Branch("unbuilt")  # a block set aside has no class: not written
    return Branch("module", network, item, alternative.value)


def _nodes(network: Network, item: Item) -> list[Node]:
    return network.within(item.module.path) if item.module is not None else [item.node]  # type: ignore[list-item]


def _made(network: Network, item: Item, alternative: Alternative) -> bool:
    if item.node is not None:
        return alternative.made(item.node.id)
    assert item.module is not None
    return all(alternative.made(node.id) for node in network.within(item.module.path))


def _is_module(item: Item) -> bool:
    if item.module is not None:
        return True
    assert item.node is not None
    op = lookup(item.node.op)
    return op is not None and op.torch_module(item.node.args, inferred_of(item.node)) is not None


def _holds_block(network: Network, module: Module) -> bool:
    return module.kind == "block" or any(
        m.kind == "block" and m.path.startswith(module.path + ".")
        for m in network.modules.values()
    )


def other_way(network: Network, module: Module, optional: Optional) -> tuple[Rebind, ...] | None:
    """A value of one parameter of the block instance ``module`` under which the test of
    ``optional`` goes the other way, the other arguments and the input sizes kept: a truth
    value negated, or a number next to one the test compares with (its literals, the sizes
    it reads, the parameter's own value), positive ones first. None where no such value is
    found, or where another parameter's default may read the one changed (it would keep
    the value it took from the old one)."""
    signature = module.signature
    if signature is None:
        return None
    sizes = {
        (name, axis): size
        for name, ref in zip(signature.inputs, module.inputs, strict=False)
        for axis, size in enumerate(_shape(network, ref))
        if isinstance(size, int)
    }
    params = dict(module.args)
    for name in sorted(pv.reads(optional.guard)):
        defaults = [p.default for p in signature.params if p.name not in (name, *module.given)]
        if name not in params or any(d is None or name in pv.reads(d) for d in defaults):
            continue
        for value in _candidates(params[name], optional.guard, sizes):
            try:
                outcome = pv.evaluate(optional.guard, {**params, name: value}, sizes)
            except (ArithmeticError, KeyError, TypeError, ValueError):
                continue
            if isinstance(outcome, bool) and outcome != optional.held:
                return ((name, value),)
    return None


def _shape(network: Network, ref: Ref) -> tuple[Any, ...]:
    found = network.type_of(ref) if network.has_node(ref.node) else None
    return () if found is None else tuple(found.shape)


def _candidates(current: Any, guard: pv.Expr, sizes: dict[tuple[str, int], int]) -> list[Any]:
    """The values worth trying for a parameter the test ``guard`` reads that now holds
    ``current``."""
    if isinstance(current, bool):
        return [not current]
    if isinstance(current, str):
        return sorted({v for v in _literals(guard) if isinstance(v, str) and v != current})
    if not isinstance(current, int):
        return []
    near = {current, *(v for v in _literals(guard) if _integer(v)), *sizes.values()}
    found = {int(v) + step for v in near for step in (-1, 0, 1)} - {int(current)}
    return sorted(found, key=lambda v: (v < 1, abs(v - current), -v))


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _literals(expr: pv.Expr) -> list[Any]:
    if isinstance(expr, pv.Lit):
        return [expr.value]
    if isinstance(expr, pv.Apply):
        return [v for a in expr.args for v in _literals(a)]
    return []
