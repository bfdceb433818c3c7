"""Python that branches on a value that follows a symbolic length (`if x.shape[1] > 4:`).

The trace takes the branch the example takes, so the spec computes what the model computes at
the lengths that take it too, and nowhere else. Where those are every length from some least
one on (a comparison of a size that grows with the length with a number, or another such
size), the spec keeps the length symbolic and asserts that least length, so that the checker
refuses a shorter one (A277). Where they are not (an upper bound, an equality, a remainder,
a size that stops growing), no `assert` says which they are, and the length keeps the
example's.
"""

from __future__ import annotations

import linecache
import operator
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import fx

from archc.importer.sizes import Size, followed
from archc.importer.values import Probes

# the comparisons of sizes that follow a length whose outcome may be a bound on the length
COMPARISONS = (operator.gt, operator.ge, operator.lt, operator.le, operator.eq, operator.ne)
# the values a branch's condition is computed from, through which it follows a length
NUMBERS = (int, float, bool)
# the longest length whose branch is worked out one length at a time
LONGEST = 2**20


@dataclass(frozen=True)
class Branch:
    """A line of the model's source that branched on a value following ``symbol``, and the
    least length from which every length takes the branch the example took (None where the
    lengths that take it are not all those from some length on)."""

    symbol: str
    where: tuple[str, int]
    least: int | None

    @property
    def place(self) -> str:
        """`model.py:12, `if x.shape[1] > 4:``: the line and its text."""
        file, line = self.where
        text = linecache.getline(file, line).strip()
        return f"{Path(file).name}:{line}" + (f", `{text}`" if text else "")


def branches(
    decided: list[tuple[fx.Node, tuple[str, int]]], values: dict[str, Any], probes: Probes
) -> list[Branch]:
    """Each line of the model's source that branched on a value that changes with a symbol,
    from the nodes Python took the truth of and the line it did at. A line that tests several
    (`if q_length > 1 and kv_length > q_length:`) takes the example's branch where each keeps
    the example's outcome: from the latest of their least lengths on."""
    least: dict[tuple[str, tuple[str, int]], int | None] = {}
    for node, where in decided:
        if node.name not in values:
            continue
        for symbol, traces in probes.items():
            if not _follows(node, values, traces):
                continue  # the same at every length, and so is the branch
            found = _least(node, values, symbol, traces)
            known = least.get((symbol, where), 1)
            least[symbol, where] = None if found is None or known is None else max(known, found)
    return [Branch(symbol, where, length) for (symbol, where), length in least.items()]


def _least(node: fx.Node, values: dict[str, Any], symbol: str, traces: list[Any]) -> int | None:
    """The least length from which every length takes the branch the example takes at
    ``node``, a comparison of sizes that are each `scale * symbol + offset` (or a number), or
    such a size itself (`if seq_len:`, true where it is not 0); None for anything else."""
    compare: Callable[[int, int], bool] = operator.ne
    sides: tuple[Any, ...] = (node, 0)
    if node.target in COMPARISONS and len(node.args) == 2:
        compare, sides = node.target, node.args  # type: ignore[assignment]
    left = _linear(sides[0], values, symbol, traces)
    right = _linear(sides[1], values, symbol, traces)
    if left is None or right is None:
        return None
    taken = bool(values[node.name])

    def outcome(length: int) -> bool:
        return compare(left[0] * length + left[1], right[0] * length + right[1])

    # both sides are straight lines, which meet before the difference of their offsets: from
    # there on the outcome no longer changes
    base = traces[0][0]
    horizon = max(base, abs(left[1] - right[1])) + 2
    if horizon > LONGEST or outcome(base) != taken or outcome(horizon) != taken:
        return None
    other = [length for length in range(1, horizon) if outcome(length) != taken]
    return other[-1] + 1 if other else 1


def _linear(
    side: Any, values: dict[str, Any], symbol: str, traces: list[Any]
) -> tuple[int, int] | None:
    """A side of a comparison as (scale, offset) of ``symbol``: a number, or a traced size
    that is `scale * symbol + offset` at every length traced; None for anything else."""
    if type(side) is int:
        return 0, side
    if not isinstance(side, fx.Node) or type(values.get(side.name)) is not int:
        return None
    at = [(base, length, found[side.name]) for base, length, found in traces]
    size = followed(values[side.name], {symbol: at})
    if isinstance(size, Size):
        return size.scale, size.offset
    # a number at every length traced: one only where nothing it is computed from moves
    if type(size) is int and not any(_moves(n, values, traces) for n in _ancestry(side, values)):
        return 0, size
    return None


def _follows(node: fx.Node, values: dict[str, Any], traces: list[Any]) -> bool:
    """Whether the value Python took the truth of at ``node`` is computed from a number that
    changes with the length, or compares shapes that do (`x.shape[1:] == (4, 8)`)."""
    compared = []
    fx.node.map_arg(node.args, compared.append)
    return any(_moves(n, values, traces) for n in _ancestry(node, values)) or any(
        isinstance(values.get(n.name), tuple | list)
        and any(found.get(n.name) != values[n.name] for *_, found in traces)
        for n in compared
    )


def _ancestry(node: fx.Node, values: dict[str, Any]) -> list[fx.Node]:
    """``node`` and the numbers its value is computed from: not through a tensor or a shape,
    whose other sizes (the batch's) a number read off it need not follow."""
    seen: dict[fx.Node, None] = {}
    pending = [node]
    while pending:
        current = pending.pop()
        if current not in seen and type(values.get(current.name)) in NUMBERS:
            seen[current] = None
            fx.node.map_arg((current.args, current.kwargs), pending.append)
    return list(seen)


def _moves(node: fx.Node, values: dict[str, Any], traces: list[Any]) -> bool:
    """Whether ``node`` is a number that differs in a trace at another length. A tensor or a
    shape holds other sizes too (the batch's), which a branch may read alone."""
    value = values.get(node.name)
    return type(value) in NUMBERS and any(found.get(node.name) != value for *_, found in traces)
