"""Spec text for steps whose sizes follow a symbolic input axis: each such size written from
the shape of a tensor the body has (`x.shape[1]`), a reshape's one such size as `-1`, and rows of
positions as `positions(ids, dim=1)`. What cannot be written so raises :class:`Unwritable`."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from archc.importer.body import Term
from archc.importer.layers import Layer
from archc.importer.sizes import TANGLED, Size, Unwritable, has_size
from archc.importer.terms import Literal, call

# a value's shape, its sizes that follow symbolic axes as `Size`s, by value name
Shapes = Callable[[str], tuple[Any, ...] | None]


@dataclass
class Reach:
    """The tensors a step may read sizes from: its ``operands`` (``{0}``, ``{1}``), then
    ``others``; writing a size from one of those makes it the next of the tensors ``used``."""

    operands: list[str]
    others: Sequence[str]
    shapes: Shapes
    used: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.used = list(self.operands)

    def size(self, size: Size) -> str:
        """``size`` from an axis of one of the tensors: `{0}.shape[1]`, `2 * {1}.shape[1] + 1`."""
        for value in [*self.used, *(v for v in self.others if v not in self.used)]:
            for dim, axis in enumerate(self.shapes(value) or ()):
                fit = size.over(axis) if isinstance(axis, Size) else None
                if fit is None:
                    continue
                if value not in self.used:
                    self.used.append(value)
                text = f"{{{self.used.index(value)}}}.shape[{dim}]"
                scale, offset = fit
                text = text if scale == 1 else f"{scale} * {text}"
                return text + (f" {'+' if offset > 0 else '-'} {abs(offset)}" if offset else "")
        raise Unwritable(f"the model gives a step the size {size!r}, which no tensor there has")

    def positions(self, size: Size) -> str:
        """The row 0, 1, ..., ``size`` - 1 as a batch of one: the positions of an axis of a
        tensor of shape (N, size)."""
        for value in [*self.used, *(v for v in self.others if v not in self.used)]:
            shape = self.shapes(value)
            if shape is not None and len(shape) == 2 and shape[1] == size:
                if value not in self.used:
                    self.used.append(value)
                return f"positions({{{self.used.index(value)}}}, dim=1)"
        raise Unwritable(f"the model makes {size!r} positions, and no sequence there is as long")


def reshaped(layer: Layer, shape: tuple[Any, ...] | None) -> Layer:
    """A reshape given sizes that follow an axis, to a shape with one such size: that size is
    `-1`, the others the numbers they are, which is exact at every length."""
    if layer.op != "reshape" or shape is None or not has_size(layer.positional):
        return layer
    following = [size for size in shape[1:] if not isinstance(size, int)]
    if len(following) != 1:
        return layer
    sizes = tuple(-1 if not isinstance(size, int) else size for size in shape[1:])
    *leading, (name, _) = layer.positional
    return replace(layer, positional=(*leading, (name, sizes)))


def from_end(index: Any, shape: tuple[Any, ...]) -> Any:
    """An index as a spec writes it where the axes it cuts follow a symbolic size: a slice
    bound that follows the axis's length counted from its end (`x[:, : x.shape[1] - 1]` is
    `x[:, :-1]`; one at or past the end is the end). On such an axis a slice starts at a
    fixed place and ends at the end or a fixed distance before it, as archc's `slice` does;
    any other raises :class:`Unwritable`."""
    parts = index if isinstance(index, tuple) else (index,)
    found = []
    for dim, part in enumerate(parts):
        length = shape[dim] if dim < len(shape) else 0
        if isinstance(part, slice) and not isinstance(length, int):
            part = slice(_from_end(part.start, length), _from_end(part.stop, length), part.step)
            start, stop = part.start or 0, part.stop
            if has_size(part) or start < 0 or (stop is not None and stop >= 0):
                raise Unwritable("the model slices it other than to its end or near it")
        if has_size(part):
            raise Unwritable("the model indexes it with a size that follows it")
        found.append(part)
    return tuple(found) if isinstance(index, tuple) else found[0]


def _from_end(bound: Any, length: Any) -> Any:
    if not isinstance(bound, Size) or not isinstance(length, Size):
        return bound
    if (bound.symbol, bound.scale) != (length.symbol, length.scale):
        return bound
    offset = bound.offset - length.offset
    return offset if offset < 0 else None


def sized_call(layer: Layer, reach: Reach, lit: Literal, chain: bool) -> str:
    """The call with its sizes that follow an axis written from tensors' shapes; a chain's
    layer reads its input as `{0}`: `{0} -> reshape({0}.shape[1], 4, 8)`."""

    def written(name: str, value: Any) -> str:
        if isinstance(value, Size):
            return reach.size(value)
        if value is TANGLED:
            raise Unwritable("the model computes a size from it that a spec cannot write")
        if isinstance(value, tuple | list) and has_size(value):
            items = [written(name, v) for v in value]
            return f"({items[0]},)" if len(items) == 1 else f"({', '.join(items)})"
        return lit(name, value)

    if chain:
        return "{0} -> " + call(layer, written)
    return call(layer, written, [f"{{{i}}}" for i in range(len(reach.operands))])


def constant_row(
    held: torch.Tensor, probed: list[torch.Tensor], count: Any, reach: Reach
) -> str | None:
    """A constant tensor of ids the forward made from sizes alone, as a spec computes it: one
    row of consecutive positions (`torch.arange(seq_len)[None]`) is `arange`, one of zeros
    (the segment ids of a single sentence) `arange(n) - arange(n)`; a row as long as a
    sequence is that sequence's `positions`, plus the first where that is not 0. None for any
    other; a tensor that changes with the length other than so raises :class:`Unwritable`."""
    kinds = {_row_kind(t) for t in [held, *probed]}
    if len(kinds) != 1 or None in kinds:
        if any(not torch.equal(held, t) for t in probed):
            raise Unwritable("the model computes a tensor from it that a spec cannot write")
        return None
    ((kind, start),) = kinds
    if isinstance(count, int):
        row = f"arange({count})" if start == 0 else f"arange({start}, {start + count})"
    else:  # positions counted from an offset, as OPT counts them from 2
        row = reach.positions(count) + (f" + {start}" if start else "")
    return row if kind == "range" else f"{row} - {row}"


def _row_kind(value: torch.Tensor) -> tuple[str, int] | None:
    """("range", first) for one row of consecutive integers, ("zeros", 0) for a row of zeros
    (a difference of integers stays integer, where scaling makes floats)."""
    if value.dtype != torch.int64 or value.dim() != 2 or value.shape[0] != 1:
        return None
    row = value[0]
    if not len(row):
        return None
    start = int(row[0])
    if torch.equal(row, torch.arange(start, start + len(row))):
        return "range", start
    return ("zeros", 0) if not row.any() else None


# the positions of a sequence, counted from 0 or from an offset: `positions({0}, dim=1) + 2`
_POSITIONS = re.compile(r"positions\(\{0\}, dim=1\)(?: \+ (\d+))?")
# an embedding without options, its table's length and its name: `embedding(16, 32) as wpe`
_TABLE = re.compile(r"embedding\(([^,()]+), [^,()]+\) as (\w+)")


def learned_positions(terms: list[Term], shapes: Shapes) -> list[Term]:
    """A table of positions looked up at the positions of a sequence and added to a tensor as
    long as the sequence, `x + (positions(ids, dim=1) -> embedding(16, 32) as wpe)`, is
    `x -> learned_positions(16) as wpe`: the same parameter, and archc's checker then bounds the
    length by the table's (A309). Positions counted from an offset (`positions(ids, dim=1) + 2`)
    are the table's rows from that offset on: `learned_positions(18, offset=2)`."""
    readers: dict[str, list[Term]] = {}
    for term in terms:
        for value in term.inputs:
            readers.setdefault(value, []).append(term)
    replaced: dict[int, Term] = {}  # the sum's term, by id, to the one that replaces it
    dropped: set[int] = set()
    for rows in terms:
        counted = _POSITIONS.fullmatch(rows.text)
        if (
            counted is None
            or rows.shape is None
            or not isinstance(rows.shape[1], Size)
            or len(readers.get(rows.output, [])) != 1
        ):
            continue
        (table,) = readers[rows.output]
        match = _TABLE.fullmatch(table.text)
        if match is None or not table.chain or len(readers.get(table.output, [])) != 1:
            continue
        (total,) = readers[table.output]
        others = [value for value in total.inputs if value != table.output]
        if total.text != "{0} + {1}" or len(others) != 1:
            continue
        shape = shapes(others[0])
        if shape is None or len(shape) != 3 or shape[1] != rows.shape[1]:
            continue
        offset = f", offset={counted.group(1)}" if counted.group(1) else ""
        text = f"learned_positions({match.group(1)}{offset}) as {match.group(2)}"
        replaced[id(total)] = Term(text, others, total.output, True, shape=total.shape)
        dropped |= {id(rows), id(table)}
    return [replaced.get(id(t), t) for t in terms if id(t) not in dropped]
