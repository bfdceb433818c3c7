"""Sizes that follow an input's symbolic axes (a sequence length `T`).

The model is traced again with each symbolic axis at two other lengths; a traced size that
differs between the traces follows that axis. Where it is `scale * T + offset` at all three
lengths it is a :class:`Size`, which the spec writes from the size of a tensor it has
(`x.shape[1]`, `-1` in a reshape); anything else is :data:`TANGLED`, which no spec can write, and
the axis then keeps the example's length.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Axis:
    """A symbolic axis of an example input: the input's position, the axis (the batch is 0),
    and the symbol the spec declares it as."""

    input: int
    dim: int
    symbol: str


@dataclass(frozen=True)
class Size:
    """An integer that is ``scale * symbol + offset`` at every length the model was traced at."""

    symbol: str
    scale: int = 1
    offset: int = 0

    def __repr__(self) -> str:
        text = self.symbol if self.scale == 1 else f"{self.scale} * {self.symbol}"
        if self.offset:
            text += f" {'+' if self.offset > 0 else '-'} {abs(self.offset)}"
        return text

    def over(self, base: Size) -> tuple[int, int] | None:
        """(a, b) with this size ``a * base + b``, where ``base`` is the symbol itself times a
        whole number that divides this one's scale."""
        if base.symbol != self.symbol or base.offset or self.scale % base.scale:
            return None
        return self.scale // base.scale, self.offset


class _Tangled:
    def __repr__(self) -> str:
        return "TANGLED"


# a size that changes with the symbolic axes other than as `scale * symbol + offset` of one
TANGLED = _Tangled()


class Unwritable(Exception):
    """A size that follows a symbolic axis has no spec text where it is used."""


def default_axes(inputs: Sequence[torch.Tensor]) -> tuple[Axis, ...]:
    """Token ids and their masks (integer or boolean inputs of shape (N, T)) vary in their
    length: `T` for the first such length, `T2`, `T3`, ... for others, so that ids and a mask
    of one length share `T`."""
    symbols: dict[int, str] = {}
    axes = []
    for index, tensor in enumerate(inputs):
        if tensor.dim() == 2 and not tensor.is_floating_point():
            length = int(tensor.shape[1])
            number = len(symbols) + 1
            symbol = symbols.setdefault(length, "T" if number == 1 else f"T{number}")
            axes.append(Axis(index, 1, symbol))
    return tuple(axes)


def probe_lengths(length: int) -> tuple[int, int]:
    """The two other lengths an axis is traced at: shorter ones, which a table of positions
    sized for the example still covers, unless the example is too short for that."""
    return (length - 1, length - 2) if length > 2 else (length + 1, length + 2)


def resized(
    inputs: Sequence[torch.Tensor], axes: Sequence[Axis], symbol: str, length: int
) -> tuple[torch.Tensor, ...]:
    """``inputs`` with the axes of ``symbol`` cut or repeated to ``length``: the values stay
    ones the model was given (token ids within its vocabulary)."""
    found = list(inputs)
    for axis in axes:
        if axis.symbol == symbol:
            tensor = found[axis.input]
            times = -(-length // tensor.shape[axis.dim])
            whole = torch.cat([tensor] * times, dim=axis.dim) if times > 1 else tensor
            found[axis.input] = whole.narrow(axis.dim, 0, length)
    return tuple(found)


def followed(value: Any, probes: dict[str, list[tuple[int, int, Any]]]) -> Any:
    """``value`` with each integer that changed in the traces at other lengths as the
    :class:`Size` it follows. ``probes`` holds, by symbol, (example length, length, value
    there) for each trace."""
    if isinstance(value, tuple | list):
        parts = []
        for index, part in enumerate(value):
            at = {
                symbol: [
                    (base, length, found[index])
                    for base, length, found in traces
                    if isinstance(found, tuple | list) and len(found) == len(value)
                ]
                for symbol, traces in probes.items()
            }
            if any(len(at[s]) != len(probes[s]) for s in probes):
                return TANGLED
            parts.append(followed(part, at))
        return list(parts) if isinstance(value, list) else tuple(parts)
    if type(value) is not int:
        changed = any(found != value for traces in probes.values() for *_, found in traces)
        return TANGLED if changed else value
    moving = {s: t for s, t in probes.items() if any(found != value for *_, found in t)}
    if not moving:
        return value
    if len(moving) > 1:
        return TANGLED
    ((symbol, traces),) = moving.items()
    return _fitted(symbol, value, traces)


def _fitted(symbol: str, value: int, traces: list[tuple[int, int, Any]]) -> Size | _Tangled:
    """`scale * symbol + offset` through (example length, ``value``) and every trace's point."""
    base, length, found = traces[0]
    if type(found) is not int or (found - value) % (length - base):
        return TANGLED
    scale = (found - value) // (length - base)
    offset = value - scale * base
    if all(type(v) is int and v == scale * n + offset for _, n, v in traces):
        return Size(symbol, scale, offset)
    return TANGLED


def has_size(value: Any) -> bool:
    """Whether ``value`` holds a size that follows a symbolic axis (in an index, too)."""
    if isinstance(value, slice):
        return has_size([value.start, value.stop, value.step])
    if isinstance(value, tuple | list):
        return any(has_size(v) for v in value)
    return isinstance(value, Size) or value is TANGLED
