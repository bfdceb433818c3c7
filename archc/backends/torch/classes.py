"""Which block instances share a generated class, and what each class is called.

Instances of one block definition share a class when their bodies have the same structure:
the same layers with the same arguments as written, building the same module classes, wired
the same way, but for the alternatives their conditionals took, which the class holds both of
(optional.py). An alternative an instance could not build matches what another instance built
there, so an instance without a residual (whose `y + x` would not type) shares the class of
one with it. What reads a choice between two tensors reads the choice, whichever tensor it
gave.
Instances whose structure differs otherwise get a class of their own, named after what they
add (`BasicBlockDownsample`) or numbered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from archc.backends.torch.counted import Slot, slots
from archc.backends.torch.given import given_ctor, given_layers
from archc.backends.torch.looped import Loop, loops
from archc.backends.torch.naming import Namespace
from archc.backends.torch.optional import Branch, Optional, optionals
from archc.backends.torch.stateless import forward_template, module_class
from archc.backends.torch.structure import Item, is_chain, relative, scope_items
from archc.errors import Span
from archc.semantics import provenance as pv
from archc.semantics.ir import Module, Network, Ref, Signature


@dataclass(eq=False)
class ClassInfo:
    """One generated class and the instances (network, module) it serves."""

    name: str
    definition: Signature  # of the block or network
    instances: list[tuple[Network, Module]] = field(default_factory=list)
    signature: tuple[Any, ...] = ()
    order: tuple[int, int] = (0, 0)  # source position, for a stable emission order
    params: list[Any] = field(default_factory=list)  # values.Param, once the class is written
    # each instance's choices (optional.py), in the order of ``instances``
    optionals: list[list[Optional]] = field(default_factory=list)
    # each alternative of each choice, then each counted repeat's copy (counted.py), as an
    # instance built it (None where none did)
    alternatives: list[Any] = field(default_factory=list)
    # how much of each choice and counted repeat each instance shows (Optional.rank; 2 for a
    # copy made, else 0), in the order of ``instances``
    ranks: list[list[int]] = field(default_factory=list)
    # loops, its own or its children's, whose copies may give other sizes than they take,
    # and that the class builds at 0 and above: the sizes of its outputs may follow whether
    # each count is 0 (set as the class is written)
    moves: list[Move] = field(default_factory=list)
    _positions: dict[int, int] = field(default_factory=dict, repr=False)

    def position(self, module: Module) -> int:
        """Which of the instances ``module`` is (its index in ``instances``)."""
        if len(self._positions) != len(self.instances):
            self._positions = {id(m): i for i, (_, m) in enumerate(self.instances)}
        return self._positions[id(module)]

    @property
    def template(self) -> int:
        """The instance the class is written from: the first that shows the most of its
        choices (Optional.rank), so that forward sees where their layers go; it shows as
        much of each choice as any instance does (assign_classes)."""
        shown = [sum(ranks) for ranks in self.ranks]
        return shown.index(max(shown)) if shown else 0


@dataclass(frozen=True)
class Move:
    """A loop whose copies may give other sizes than they take, as a class holding it sees
    it: its count's provenance in the class's terms, the path from the class's instance to
    the block instance whose body writes it ("" for the class's own), and its span."""

    origin: pv.Expr
    within: str
    span: Span


# what a loop dropped from a signature (``signature``'s ``dropped``) gives for each copy
DROPPED = ("dropped",)


@dataclass(frozen=True)
class Chosen:
    """The value of the choice at ``index`` in Module.choices, as a signature's wiring
    keys it beside the tensors (Ref) it reads: what reads it through the choice (Node.via)
    reads the choice, not the tensor it gave."""

    index: int


Wiring = dict[Ref | Chosen, Any]


def signature(
    network: Network,
    module: Module,
    classes: dict[int, ClassInfo],
    found: list[Optional],
    dropped: frozenset[Span] = frozenset(),
) -> tuple[tuple[Any, ...], list[Any]]:
    """The structure of the class body at ``module``: what must agree for two instances to
    share a class (layers, arguments as written, wiring, child classes), and what each
    alternative of its choices is (None where these values could not build it). The layers
    an alternative made are left out of the first, so that instances that took either
    alternative share the class (optional.py). The loops ``dropped`` (by span) are left
    out, what they give read from what they take, as the class builds them for a count of
    0; their copies are DROPPED among the alternatives."""
    index: Wiring = {ref: ("in", i) for i, ref in enumerate(module.inputs)}
    chosen = {Chosen(o.index): ("choice", k) for k, o in enumerate(found) if o.between_tensors}
    index.update(chosen)
    copies: list[Any] = []  # each counted repeat's copy (counted.py), None where it made none
    looping = tuple(loops(network, module))
    body = _body(
        network, module.path, module.path, index, classes, found, copies, looping, dropped
    )
    alternatives = [
        _branch(branch, module.path, index, classes)
        for o in found
        for branch in (o.then, o.orelse)
    ]
    guards = tuple(o.guard for o in found)
    shape = (*body, guards, _wired(index, module.outputs, module.outputs_via))
    return shape, alternatives + copies


def _body(
    network: Network,
    root: str,
    path: str,
    index: Wiring,
    classes: dict[int, ClassInfo],
    found: list[Optional],
    copies: list[Any],
    looping: tuple[Loop, ...] = (),
    dropped: frozenset[Span] = frozenset(),
) -> tuple[Any, ...]:
    made = {item.attr: (k, o) for k, o in enumerate(found) for item in o.made}
    starts = {loop.start: loop for loop in looping}
    inside = {attr for loop in looping for attr in loop.attrs()}
    parts: list[Any] = []
    for position, item in enumerate(scope_items(network, path)):
        if position in starts and starts[position].span in dropped:  # no copy: its input
            loop = starts[position]
            index[loop.last] = index.get(loop.carried, "?")
            copies += [DROPPED, DROPPED]
        elif position in starts:  # the loop stands for its copies, whatever their count
            loop = starts[position]
            parts.append(_loop(network, root, loop, index, classes, copies))
            index[loop.last] = (relative(path, root), len(parts) - 1, 0)
        if item.attr in inside:
            continue
        if item.attr in made:  # the choice's value stands for its alternatives
            k, optional = made[item.attr]
            other = optional.other
            if item.outputs == (optional.taken.value,):
                index[item.outputs[0]] = (
                    index.get(other.value, "?") if other.kind == "empty" else ("choice", k)
                )
            continue
        parts.append(_part(network, root, path, item, index, classes, copies))
        for port, ref in enumerate(item.outputs):
            index[ref] = (relative(path, root), len(parts) - 1, port)
    return tuple(parts)


def _loop(
    network: Network,
    root: str,
    loop: Loop,
    index: Wiring,
    classes: dict[int, ClassInfo],
    copies: list[Any],
) -> tuple[Any, ...]:
    """A repeat written as a loop (looped.py): its count, how its copies are named and
    chained, and the first copy's layers; those and the second's, which the later copies
    are built like, are set apart in ``copies`` (None where the instance made one copy), as
    an instance that made none has them (``signature``'s ``dropped``)."""
    shapes = []
    for k, copy in enumerate(loop.copies[:2]):
        inner: Wiring = dict(index)
        carried = loop.carried if k == 0 else loop.copies[0][loop.out[0]].outputs[loop.out[1]]
        inner[carried] = ("carried",)
        parts = []
        for position, item in enumerate(copy):
            part = _part(network, root, root, item, inner, classes, copies if k == 0 else [])
            parts.append((part[0], *part[2:]))
            for port, ref in enumerate(item.outputs):
                inner[ref] = ("own", position, port)
        shapes.append(tuple(parts))
    copies += [shapes[0], shapes[1] if len(shapes) > 1 else None]
    return ("loop", loop.origin, loop.names, loop.out, shapes[0])


def _slotted(
    network: Network,
    root: str,
    module: Module,
    found: list[Slot],
    index: Wiring,
    classes: dict[int, ClassInfo],
    copies: list[Any],
) -> tuple[Any, ...]:
    """A chain with counted repeats (counted.py): its children but for their numbers, which
    the copies shift, and for each repeat its count; its first copy and its second, which
    the later ones are built like, are set apart in ``copies`` (None where not made)."""
    parts: list[Any] = []
    for slot in found:
        if slot.counted is not None:
            parts.append(("counted", slot.counted.origin))
            made = [
                _part(network, _own(i, root), module.path, i, index, classes, [] if k else copies)
                for k, i in enumerate(slot.items[:2])
            ]
            made += [None] * (2 - len(made))
            copies += [None if p is None else (p[0], *p[2:]) for p in made]
            for item in slot.items:  # the next child reads what came before, copy or not
                for ref in item.outputs:
                    index[ref] = index.get(item.inputs[0], "?") if item.inputs else "?"
            continue
        (item,) = slot.items
        part = _part(network, _own(item, root), module.path, item, index, classes, copies)
        parts.append((part[0], *part[2:]))
        for port, ref in enumerate(item.outputs):
            index[ref] = (relative(module.path, root), len(parts) - 1, port)
    return tuple(parts)


def _own(item: Item, root: str) -> str:
    """Where the wiring inside a child of a chain with counted repeats is read from: the
    child itself, whose number the copies before it shift."""
    return item.module.path if item.module is not None else root


def _part(
    network: Network,
    root: str,
    path: str,
    item: Item,
    index: Wiring,
    classes: dict[int, ClassInfo],
    copies: list[Any],
) -> tuple[Any, ...]:
    made_by = item.node or item.module
    via = () if made_by is None or (item.module is not None and item.module.scan) else made_by.via
    wiring = _wired(index, item.inputs, via)
    if item.node is not None:
        node = item.node
        # how forward applies it, values included, but for those the class computes from
        # its parameters (stateless.py): instances that differ there cannot share it
        text, kept = forward_template(node)
        forward = (text, tuple((name, origin) for name, origin, _ in kept))
        ctor = given_ctor(node)
        if ctor is not None:  # the class takes the layer (given.py), calls it with sizes
            sizes = tuple(pv.origin_of(value) for value in ctor.args)
            return ("given", item.attr, node.given, sizes, forward, wiring, len(node.outputs))
        written = tuple(sorted(node.arg_origins.items()))
        built = module_class(node)
        return ("op", item.attr, node.op, written, built, forward, wiring, len(node.outputs))
    assert item.module is not None
    if item.module.kind == "block":
        scan = item.module.scan  # the loop a scan writes around the call
        loop = None if scan is None else (scan.dim, scan.reverse, scan.sequences, scan.states)
        child = id(classes[id(item.module)])
        return ("block", item.attr, child, given_layers(network, item.module), wiring, loop)
    module = item.module
    if module.combinator == "moe":  # one call: the router's arguments, the experts' classes
        router, experts = scope_items(network, module.path)[:2]
        parts = (
            _part(network, root, module.path, i, index, classes, copies) for i in (router, experts)
        )
        return ("moe", item.attr, *parts, wiring)
    found = slots(network, module)
    if found is not None:
        inner = _slotted(network, root, module, found, index, classes, copies)
        return ("seq", item.attr, True, inner, wiring)
    inner = _body(network, root, module.path, index, classes, [], copies)
    chain = is_chain(network, module)
    copy = _copy(network, module, classes) if chain else None
    if copy is not None:  # its count follows the class's arguments, not the instance's
        return ("repeat", item.attr, module.repeat_origin, copy, wiring)
    return ("seq", item.attr, chain, inner, wiring)


def _wired(
    index: Wiring, refs: tuple[Ref, ...], via: tuple[tuple[int, int], ...]
) -> tuple[Any, ...]:
    """Where each of ``refs`` comes from; one read through a choice between tensors
    (Node.via), from the choice."""
    wiring = [index.get(ref, "?") for ref in refs]
    for position, choice in via:
        wiring[position] = index.get(Chosen(choice), wiring[position])
    return tuple(wiring)


def _copy(network: Network, module: Module, classes: dict[int, ClassInfo]) -> Any:
    """What each copy of a repeat is, where every copy is built alike and the count is computed
    from the class's parameters or sizes (`Layer(width) * n as layers`), so that instances
    repeating a different number of times share the class; None otherwise."""
    origin = module.repeat_origin
    if origin is None or isinstance(origin, pv.Lit):
        return None
    items = scope_items(network, module.path)
    if module.repeat != len(items):  # `(a -> b) * n as stage` holds two children per copy
        return None
    copies = set()
    for item in items:
        if item.node is not None:
            node = item.node
            resolved = tuple(sorted(node.resolved_origins.items()))
            written = tuple(sorted(node.arg_origins.items()))
            copies.add((node.op, written, resolved, module_class(node)))
        elif item.module is not None and item.module.kind == "block":
            arguments = tuple(sorted(item.module.arg_origins.items()))
            child = id(classes[id(item.module)])
            layers = given_layers(network, item.module)
            copies.add((child, arguments, layers, item.module.input_dims))
        else:
            return None
    return copies.pop() if len(copies) == 1 else None


def _branch(
    branch: Branch, root: str, index: Wiring, classes: dict[int, ClassInfo]
) -> tuple[Any, ...] | None:
    if branch.kind == "module":
        assert branch.network is not None and branch.item is not None
        item = branch.item
        return ("module", _part(branch.network, root, root, item, index, classes, []))
    if branch.kind == "steps":
        assert branch.network is not None
        inner: Wiring = dict(index)
        parts = []
        for position, item in enumerate(branch.items):
            parts.append(_part(branch.network, root, root, item, inner, classes, []))
            for port, ref in enumerate(item.outputs):
                inner[ref] = ("alternative", position, port)
        return ("steps", tuple(parts))
    if branch.kind == "empty":
        return ("empty", index.get(branch.value, "?"))  # type: ignore[arg-type]
    return None


def assign_classes(networks: list[Network], names: Namespace) -> dict[int, ClassInfo]:
    """ClassInfo for every block instance (keyed by ``id(module)``), deepest blocks first."""
    instances = [
        (network, module)
        for network in networks
        for module in network.modules.values()
        if module.kind == "block"
    ]
    instances.sort(key=lambda pair: -pair[1].path.count("."))
    place = {id(module): k for k, (_, module) in enumerate(instances)}
    by_signature: dict[tuple[Any, ...], list[ClassInfo]] = {}
    infos: list[ClassInfo] = []
    classes: dict[int, ClassInfo] = {}
    found_in: dict[int, list[Optional]] = {}
    ranks_of: dict[int, list[int]] = {}
    for level in _levels(instances):
        shapes = []
        for network, module in level:  # blocks of one depth: none holds another
            found = found_in[id(module)] = optionals(network, module) or []
            body, alternatives = signature(network, module, classes, found)
            key = _key(module, body, found)
            ranks_of[id(module)] = _ranks(found, alternatives)
            shapes.append((network, module, key, alternatives))
        # those that show the most first, so that an instance showing every choice another
        # shows is in the class before the others ask to join it; those with a loop that made
        # no copy last, since they join the class of one that made copies (_without_copies)
        shapes.sort(key=lambda shape: (bool(_empty(shape[1])), -sum(ranks_of[id(shape[1])])))
        for network, module, key, alternatives in shapes:
            joined = _without_copies(
                (network, module, key, alternatives), infos, classes, found_in, ranks_of
            )
            if joined is not None:
                info, alternatives = joined
            else:
                ranks = ranks_of[id(module)]
                group = by_signature.setdefault(key, [])
                info = next((i for i in group if _joins(i, alternatives, ranks, ranks_of)), None)
            if info is None:
                assert module.signature is not None
                info = ClassInfo("", module.signature, signature=key)
                info.alternatives = [None] * len(alternatives)
                group.append(info)
                infos.append(info)
            info.alternatives = [
                a if a is not None else b
                for a, b in zip(alternatives, info.alternatives, strict=True)
            ]
            info.instances.append((network, module))
            classes[id(module)] = info
    for info in infos:
        info.instances.sort(key=lambda pair: (networks.index(pair[0]), _first_node(pair)))
        info.optionals = [found_in[id(module)] for _, module in info.instances]
        info.ranks = [ranks_of[id(module)] for _, module in info.instances]
        info.order = (info.definition.span.start, min(place[id(m)] for _, m in info.instances))
    _name_classes(infos, names)
    return classes


def _key(module: Module, body: tuple[Any, ...], found: list[Optional]) -> tuple[Any, ...]:
    assert module.signature is not None
    key = (module.signature.key, body)
    building = [o for o in found if not o.between_tensors]
    if len(building) > 1:  # forward is written from one instance: it must show every module
        key += (tuple(o.taken.kind for o in building),)
    return key


def _ranks(found: list[Optional], alternatives: list[Any]) -> list[int]:
    copies = alternatives[2 * len(found) :]
    return [o.rank for o in found] + [0 if c is None else 2 for c in copies]


def _empty(module: Module) -> frozenset[Span]:
    """The unnamed repeats of ``module``'s body counted by the spec that made no copy."""
    return frozenset(
        looped.span
        for looped in module.looped
        if not looped.copies and not isinstance(looped.origin, pv.Lit)
    )


def _without_copies(
    shape: tuple[Network, Module, tuple[Any, ...], list[Any]],
    infos: list[ClassInfo],
    classes: dict[int, ClassInfo],
    found_in: dict[int, list[Optional]],
    ranks_of: dict[int, list[int]],
) -> tuple[ClassInfo, list[Any]] | None:
    """The class of the instance ``shape`` describes (network, module, key, alternatives),
    whose repeats counted by ``_empty`` made no copy, where an instance of it writes each of
    those repeats as a loop and, without them, has the structure this one has (key): the
    class built with those counts at 0 is this one. With it, the alternatives in the
    class's order (None for the loops' copies); the ranks are set likewise."""
    _, module, key, alternatives = shape
    empty = _empty(module)
    if not empty:
        return None
    found = found_in[id(module)]
    assert module.signature is not None
    for info in infos:
        if info.definition.key != module.signature.key:
            continue
        shown = [sum(ranks_of[id(m)]) for _, m in info.instances]
        other, template = info.instances[shown.index(max(shown))]
        chosen = found_in[id(template)]
        body, theirs = signature(other, template, classes, chosen, empty)
        if DROPPED not in theirs or _key(template, body, chosen) != key:
            continue
        mine = iter(alternatives[2 * len(found) :])
        copies = [None if c is DROPPED else next(mine) for c in theirs[2 * len(found) :]]
        aligned = alternatives[: 2 * len(found)] + copies
        ranks = _ranks(found, aligned)
        if _joins(info, aligned, ranks, ranks_of):
            ranks_of[id(module)] = ranks
            return info, aligned
    return None


def admits(
    info: ClassInfo,
    network: Network,
    module: Module,
    classes: dict[int, ClassInfo],
    least: list[int] | None = None,
) -> bool:
    """Whether the class ``info`` builds ``module`` of ``network``, its template elaborated
    aside with other counts or values (ir.Network.recounted): without its loops that made no
    copy, it has the template's structure, and its alternatives and copies agree with those
    the class's instances built. Its child blocks are taken for instances of the classes of
    the template's at the same paths, which build whatever counts they are given. Given
    ``least``, ranks it must show at least (Optional.rank), its choices may take other
    alternatives than the template's."""
    own, template = info.instances[info.template]
    known = dict(classes)
    for path, child in network.modules.items():
        real = own.modules.get(path)
        if child.kind == "block" and real is not None and id(real) in classes:
            known[id(child)] = classes[id(real)]
    found = optionals(network, module) or []
    chosen = info.optionals[info.template]
    try:
        body, alternatives = signature(network, module, known, found)
    except KeyError:  # a child block the template does not have
        return False
    theirs_body, theirs = signature(own, template, classes, chosen, _empty(module))
    mine_key, their_key = _key(module, body, found), _key(template, theirs_body, chosen)
    if least is not None:  # the alternatives taken may differ: the structure may not
        mine_key, their_key = mine_key[:2], their_key[:2]
    if mine_key != their_key:
        return False
    mine = iter(alternatives[2 * len(found) :])
    copies = [None if c is DROPPED else next(mine, None) for c in theirs[2 * len(found) :]]
    aligned = alternatives[: 2 * len(found)] + copies
    if least is not None:
        shown = _ranks(found, aligned)
        if any(s < r for s, r in zip(shown, least, strict=True)):
            return False
    return all(
        a is None or b is None or a == b for a, b in zip(aligned, info.alternatives, strict=True)
    )


def _levels(instances: list[tuple[Network, Module]]) -> list[list[tuple[Network, Module]]]:
    """The instances, deepest first, grouped by depth."""
    levels: dict[int, list[tuple[Network, Module]]] = {}
    for pair in instances:
        levels.setdefault(pair[1].path.count("."), []).append(pair)
    return [levels[depth] for depth in sorted(levels, reverse=True)]


def _joins(
    info: ClassInfo,
    alternatives: list[Any],
    ranks: list[int],
    ranks_of: dict[int, list[int]],
) -> bool:
    """Whether an instance with these alternatives (None where it could not build one) and
    choice ranks may share ``info``'s class: its alternatives agree with those the class's
    instances built, and one instance shows as much of every choice as all the others."""
    agree = all(
        a is None or b is None or a == b
        for a, b in zip(alternatives, info.alternatives, strict=True)
    )
    if not agree:
        return False
    shown = [ranks_of[id(m)] for _, m in info.instances]
    best = max(shown, key=sum)
    return all(r <= b for r, b in zip(ranks, best, strict=True)) or all(
        r >= s for found in shown for r, s in zip(ranks, found, strict=True)
    )


def _first_node(pair: tuple[Network, Module]) -> int:
    network, module = pair
    return min((n.id for n in network.within(module.path)), default=0)


def _name_classes(infos: list[ClassInfo], names: Namespace) -> None:
    """The plainest structure of a block (fewest submodules) takes the block's name; variants
    are named after the submodules they add, else numbered."""
    by_block: dict[tuple[str, int], list[ClassInfo]] = {}
    for info in sorted(infos, key=lambda i: i.order):
        by_block.setdefault(info.definition.key, []).append(info)
    for variants in by_block.values():
        variants.sort(key=lambda i: len(_attrs(i)))
        base = variants[0].definition.name
        first_attrs = _attrs(variants[0])
        for position, info in enumerate(variants):
            if position == 0:
                info.name = names.name(base)
                continue
            extra = [a for a in _attrs(info) if a not in first_attrs]
            suffix = "".join(p.capitalize() for p in extra[0].split("_")) if extra else ""
            info.name = names.name(f"{base}{suffix}" if suffix else f"{base}{position + 1}")


def _attrs(info: ClassInfo) -> list[str]:
    """The class's submodules that every instance has (not those a choice makes)."""
    network, module = info.instances[0]
    made = {item.attr for o in (info.optionals or [[]])[0] for item in o.made}
    return [item.attr for item in scope_items(network, module.path) if item.attr not in made]
