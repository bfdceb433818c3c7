"""Unnamed repeats among a named chain's children whose count the spec computes.

`[conv2d(expanded, 1) -> batchnorm2d -> act] * (if expanded != x.channels then 1 else 0)` in a
named chain makes one child or none, and the children after it are numbered on from there, as
torchvision's `nn.Sequential(*layers)` numbers the layers its constructor appended. A class
serves instances with either count: the chain is an `nn.Sequential` in which the copy is
unpacked from a comprehension over the count's provenance (`*[... for _ in range(...)]`), so
the children keep the numbers the spec gives them (ir.Counted records which children each
repeat made). Instances that made no copy share the class of those that made one
(classes.py), since the copy is written from one of them; a class no instance of which made
it raises ValueError where the arguments ask for it.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    if any(isinstance(c.origin, pv.Lit) or c.count > 1 or c.children != c.count for c in counted):
        return None
    items = scope_items(network, module.path)
    if [item.attr for item in items] != [str(k) for k in range(len(items))]:
        return None
    starts = {c.start: c for c in counted}
    if len(starts) != len(counted) or any(s > len(items) for s in starts):
        return None
    found: list[Slot] = []
    for index in range(len(items) + 1):
        repeat = starts.get(index)
        if repeat is not None:
            found.append(Slot(tuple(items[index : index + repeat.children]), repeat))
            if repeat.children:
                continue
        if index < len(items):
            found.append(Slot((items[index],)))
    return found


def made(origin: pv.Expr) -> pv.Expr:
    """The test under which a repeat counted by ``origin`` makes its copy: the test of
    `if t then 1 else 0`, else the count above 0."""
    if isinstance(origin, pv.Apply) and origin.fn == "if":
        test, then, orelse = origin.args
        if then == pv.Lit(1) and orelse == pv.Lit(0):
            return test
    return pv.apply(">", origin, pv.Lit(0))
