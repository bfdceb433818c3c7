"""Truth-value arguments computed from parameters, and the sizes they decide.

A shape rule computes sizes from traced integers, so `hidden * 2` carries its provenance; but
it branches on a truth value (`2 if bidirectional else 1`), and a bool cannot be traced. The
provenance of an output size would then hold only for the value the instance was given: a
class that takes `bidirectional` would build `nn.Linear(2 * hidden, ...)` after the GRU for
either value. Where an argument that is a truth value reads a parameter, the rule is run again
with the other value, and each size or resolved value that differs is recorded as the choice
between the two (`2 * hidden if bidirectional else hidden`), so that provenance holds for both.
Where the other value is refused, fails the rule or gives other ranks or element types, nothing
changes: the argument keeps choosing structure (backends/torch/faithful.py), and ``Node.flags``
names only the arguments whose both values the provenance covers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

from archc.ops.schema import ArgumentError
from archc.ops.spec import Inferred, ShapeError
from archc.semantics import provenance as pv

Dims: TypeAlias = tuple[tuple[pv.Expr | None, ...], ...]
Rule: TypeAlias = Callable[[Any], tuple[Inferred, Dims, dict[str, pv.Expr]]]


def both_ways(
    args: Any,
    arg_origins: dict[str, pv.Expr],
    inferred: Inferred,
    dims: Dims,
    resolved: dict[str, pv.Expr],
    rule: Rule,
) -> tuple[Dims, dict[str, pv.Expr], frozenset[str]]:
    """``dims`` and ``resolved`` (the provenance the rule gave with ``args``) made to hold for
    both values of each truth-value argument that reads a parameter, and the names of those
    arguments; ``rule`` runs the shape rule on other arguments."""
    covered: set[str] = set()
    for name, origin in arg_origins.items():
        value = getattr(args, name, None)
        if type(value) is not bool or isinstance(origin, pv.Lit):
            continue
        other = _flipped(args, name)
        if other is None:
            continue
        try:
            other_inferred, other_dims, other_resolved = rule(other)
        except ShapeError:
            continue
        if [(t.rank, t.dtype) for t in other_inferred.outputs] != [
            (t.rank, t.dtype) for t in inferred.outputs
        ] or other_inferred.resolved.keys() != inferred.resolved.keys():
            continue
        if other_resolved.keys() != resolved.keys():
            continue  # a value only one way has provenance for
        merged_dims = tuple(
            tuple(_choice(origin, value, a, b) for a, b in zip(mine, theirs, strict=True))
            for mine, theirs in zip(dims, other_dims, strict=True)
        )
        merged_resolved = {
            key: _choice(origin, value, mine, other_resolved[key])
            for key, mine in resolved.items()
        }
        lost = any(
            a is not None and b is None
            for mine, merged in zip(dims, merged_dims, strict=True)
            for a, b in zip(mine, merged, strict=True)
        ) or any(v is None for v in merged_resolved.values())
        if lost:
            continue  # a size one way has provenance for and the other has not
        dims, resolved = merged_dims, merged_resolved  # type: ignore[assignment]
        covered.add(name)
    return dims, resolved, frozenset(covered)


def _flipped(args: Any, name: str) -> Any:
    """``args`` with the truth value ``name`` negated, checked by the op's schema again; None
    where the schema refuses it."""
    given = {key: getattr(args, key) for key in args.given}
    given[name] = not getattr(args, name)
    try:
        return type(args)(**given)
    except ArgumentError:
        return None


def _choice(
    test: pv.Expr, value: bool, mine: pv.Expr | None, theirs: pv.Expr | None
) -> pv.Expr | None:
    """The provenance that gives ``mine`` where ``test`` is ``value`` and ``theirs`` where it
    is not."""
    if pv.written_alike(mine, theirs):
        return mine
    if mine is None or theirs is None:
        return None
    then, orelse = (mine, theirs) if value else (theirs, mine)
    return pv.Apply("if", (test, then, orelse))
