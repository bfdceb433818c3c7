"""Channels-first layout checks and sliding-window arithmetic shared by the spatial ops.

One function computes an output size for one spatial dimension and checks it, so that conv and
pool report the same rule with the same numbers; one function checks an (N, C, *spatial) input,
so that every op taking images, sequences or volumes words a wrong rank the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from archc import dims
from archc.dims import Dim, TensorType
from archc.ops.spec import NON_POSITIVE, RANK, SYMBOLIC, UNEVEN, Finding, fail

AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
# How a size along each axis reads in a label: "the 32-wide input".
_EXTENT = {"L": "long", "D": "deep", "H": "high", "W": "wide"}

Value = TypeVar("Value")


def layout(spatial: int) -> str:
    """`(N, C, H, W)` for 2 spatial axes."""
    return f"(N, C, {', '.join(AXES[spatial])})"


def check_layout(x: TensorType, op: str, spatial: int) -> None:
    """Check that ``x`` is an (N, C, *spatial) tensor with ``spatial`` spatial axes."""
    if x.rank == spatial + 2:
        return
    help = "reshape the input, or use the op for its dimensionality"
    # `maxpool2d` given a 3-d tensor: name the sibling op that fits it
    if op.endswith(f"{spatial}d") and x.rank - 2 in AXES:
        help = f"for a {x.rank}-d input {layout(x.rank - 2)} use {op[:-2]}{x.rank - 2}d"
    raise fail(
        RANK,
        f"{op} expects a {spatial + 2}-d input {layout(spatial)}, got {x.rank}-d {x}",
        rule=f"input shape = {layout(spatial)}",
        help=help,
        label=f"a {x.rank}-d input",
    )


def fixed_channels(x: TensorType, op: str) -> int:
    """The channel count (axis 1), which must be a number: it decides parameter shapes."""
    channels = x.shape[1]
    if not isinstance(channels, int):
        raise fail(
            SYMBOLIC,
            f"{op} needs a fixed channel count, but the input has {channels} channels",
            help="declare the channel dimension of the input as a number",
            label=f"{channels} channels",
        )
    return channels


def input_channels(x: TensorType, op: str, spatial: int) -> int:
    """The channel count of a (N, C, *spatial) input, checked for rank and fixedness."""
    check_layout(x, op, spatial)
    return fixed_channels(x, op)


def per_axis(value: Value | tuple[Value, ...], count: int, name: str) -> tuple[Value, ...]:
    """A value broadcast to every spatial axis, or a tuple checked to have one entry per axis."""
    if not isinstance(value, tuple):
        return (value,) * count
    if len(value) != count:
        raise fail(
            "A309",
            f"`{name}` has {len(value)} entries but the input has {count} spatial dimensions",
            arg=name,
            help=f"give one value, or a tuple of {count}",
            label=f"{len(value)} entries for {count} axes",
        )
    return tuple(value)


@dataclass(slots=True)  # not frozen: made for every axis of every convolution and pool
class Window:
    """One axis of a sliding window: size F, stride S, padding P, dilation D."""

    kernel: int
    stride: int
    padding: int
    dilation: int = 1
    ceil_mode: bool = False

    def output(self, size: Dim, axis: str, op: str) -> tuple[Dim, Finding | None]:
        """The output size along ``axis``, and a warning when the window does not tile evenly.

        Raises a ShapeError when the output would be empty.
        """
        span = self.dilation * (self.kernel - 1) + 1
        numerator = size + 2 * self.padding - span
        if self.ceil_mode:
            # ceil(a/S) written as floor((a + S - 1)/S): it prints readably for symbols
            out = (numerator + self.stride - 1) // self.stride + 1
            # torch drops a last window that would start inside the right padding only
            if isinstance(out, int) and (out - 1) * self.stride >= size + self.padding:
                out -= 1
        else:
            out = numerator // self.stride + 1
        if dims.positive(out) is False:
            raise fail(
                NON_POSITIVE,
                f"{op} output {axis} would be {out}: the window is larger than the input",
                rule=self.rule(axis),
                with_=self.plugged(size, axis, out),
                help=self.help(size),
                arg="kernel_size",
                label=f"the window is larger than the {size}-{_EXTENT[axis]} input",
            )
        finding = None
        if isinstance(numerator, int) and numerator % self.stride and not self.ceil_mode:
            # The trailing positions no window reaches; the right padding absorbs some of
            # them, and only the rest is real input lost (torch floors silently either way).
            # A window narrower than its stride skips positions by design (ResNet's 1x1/2
            # shortcut): that is no tiling to complain about.
            lost = numerator % self.stride - self.padding
            if span < self.stride:
                lost = 0
            message = f"{op} window does not tile the input {axis} evenly; " + (
                f"the last {lost} of {size} input positions are never seen"
                if lost > 0
                else "only padding is dropped"
            )
            finding = Finding(
                UNEVEN,
                message,
                rule=self.rule(axis),
                with_=self.plugged(size, axis, numerator / self.stride + 1),
                help=self.help(size),
                arg="stride",
                severity="warning" if lost > 0 else "strict",
                label=f"the {size}-{_EXTENT[axis]} input does not divide evenly",
            )
        return out, finding

    def rule(self, axis: str) -> str:
        if self.dilation == 1:
            return f"{axis}' = ({axis} - F + 2P) / S + 1"
        return f"{axis}' = ({axis} + 2P - D*(F-1) - 1) / S + 1"

    def plugged(self, size: Dim, axis: str, result: object) -> str:
        shown = f"{result:g}" if isinstance(result, float) else str(result)
        if self.dilation == 1:
            return (
                f"{axis}={size}, F={self.kernel}, P={self.padding}, S={self.stride}  ->  "
                f"({size} - {self.kernel} + 2*{self.padding})/{self.stride} + 1 = {shown}"
            )
        return (
            f"{axis}={size}, F={self.kernel}, P={self.padding}, S={self.stride}, "
            f"D={self.dilation}  ->  ({size} + 2*{self.padding} - {self.dilation}*"
            f"({self.kernel}-1) - 1)/{self.stride} + 1 = {shown}"
        )

    def help(self, size: Dim) -> str | None:
        """Nearby settings that tile evenly, found by trying them (never guessed)."""
        if not isinstance(size, int):
            return None
        # plain numbers: the tries are hints, not sizes whose provenance is recorded
        size, kernel, stride, padding = (
            int(size),
            int(self.kernel),
            int(self.stride),
            int(self.padding),
        )
        dilation = int(self.dilation)
        tries = []
        for name, (k, s, p) in (
            ("padding", (kernel, stride, padding + 1)),
            ("padding", (kernel, stride, padding - 1)),
            ("kernel_size", (kernel + 1, stride, padding)),
            ("kernel_size", (kernel - 1, stride, padding)),
            ("stride", (kernel, 1, padding)),
        ):
            if k < 1 or p < 0:
                continue
            numerator = size + 2 * p - dilation * (k - 1) - 1
            if numerator >= 0 and numerator % s == 0:
                value = {"padding": p, "kernel_size": k, "stride": s}[name]
                tries.append(f"{name}={value} gives {numerator // s + 1}")
        return ", ".join(tries[:3]) or None
