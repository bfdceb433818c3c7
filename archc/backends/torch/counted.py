"""Unnamed repeats among a named chain's children whose count the spec computes.

`[conv2d(expanded, 1) -> batchnorm2d -> act] * (if expanded != x.channels then 1 else 0)` in a
named chain makes one child or none (`* (if deep then n else 0)`, any number), and the children
after it are numbered on from there, as torchvision's `nn.Sequential(*layers)` numbers the
layers its constructor appended. A class serves instances with any count: the chain is an
`nn.Sequential` in which the copies are unpacked from a comprehension over the count's
provenance (`*[... for _ in range(...)]`, the first copy's values beside the later ones' where
they differ: `in_channels if k == 0 else width`), so the children keep the numbers the spec
gives them (ir.Counted records which children each repeat made); beside a child the spec
named, the chain is keyed (`OrderedDict([("stem", ...), *[(str(k + 1), ...) for k in
range(...)]])`), a numbered child after the copies under its number moved by their count.
Instances that made fewer copies share the class of those that made more (classes.py), since
the copies are written from them; a copy no instance made comes from the class's template
elaborated aside with it (emit.py), and is refused with ValueError only where the spec
refuses that count. The copies after the first must be built alike for any count, as
looped.alike decides.
"""

from __future__ import annotations

from dataclasses import dataclass

from archc.backends.torch.looped import alike
from archc.backends.torch.structure import Item, is_chain, scope_items
from archc.semantics import provenance as pv
from archc.semantics.ir import Counted, Module, Network


@dataclass(frozen=True)
class Slot:
    """A child of the chain, or the copy of a counted repeat (``items`` empty where it made
    none)."""

    items: tuple[Item, ...]
    counted: Counted | None = None


def slots(network: Network, module: Module) -> list[Slot] | None:
    """The children of a named chain with counted repeats of at most one copy, each copy one
    child; None for any other container."""
    counted = [c for c in module.counted if c.origin is not None]
    if not counted or not is_chain(network, module):
        return None
    if any(isinstance(c.origin, pv.Lit) or c.children != c.count for c in counted):
        return None
    items = scope_items(network, module.path)
    # a child the spec named keeps its name, and its number is taken all the same
    if any(item.attr != str(k) and item.attr.isdigit() for k, item in enumerate(items)):
        return None
    starts = {c.start: c for c in counted}
    if len(starts) != len(counted) or any(s + c.count > len(items) for s, c in starts.items()):
        return None
    for c in counted:  # the copies after the first are built alike, whatever the count
        made = tuple((item,) for item in items[c.start : c.start + c.count])
        if len(made) > 1 and not alike(network, module, made, (0, 0), steady=True):
            return None
    found: list[Slot] = []
    index = 0
    while index <= len(items):
        repeat = starts.get(index)
        if repeat is not None:
            found.append(Slot(tuple(items[index : index + repeat.children]), repeat))
            if repeat.children:
                index += repeat.children
                continue
        if index < len(items):
            found.append(Slot((items[index],)))
        index += 1
    return found


def made(origin: pv.Expr) -> pv.Expr:
    """The test under which a repeat counted by ``origin`` makes a copy: `t` for `if t then
    1 else 0` (or any number above 0), `t and n > 0` for `if t then n else 0`, else the
    count above 0."""
    if isinstance(origin, pv.Apply) and origin.fn == "if":
        test, then, orelse = origin.args
        if orelse == pv.Lit(0):
            if isinstance(then, pv.Lit) and _positive(then.value):
                return test
            return pv.apply("and", test, made(then))
    return pv.apply(">", origin, pv.Lit(0))


def at_most_one(origin: pv.Expr) -> bool:
    """Whether a count computed as ``origin`` is 0 or 1 whatever the class's arguments."""
    if isinstance(origin, pv.Lit):
        return origin.value in (0, 1)
    if isinstance(origin, pv.Apply) and origin.fn == "if":
        return at_most_one(origin.args[1]) and at_most_one(origin.args[2])
    return False


def _positive(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
