"""Sliding-window arithmetic shared by convolutions and pooling.

One function computes an output size for one spatial dimension and checks it, so that conv and
pool report the same rule with the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from archc import dims
from archc.dims import Dim
from archc.ops.spec import NON_POSITIVE, UNEVEN, Finding, fail

AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def per_axis(value: int | tuple[int, ...], count: int, name: str) -> tuple[int, ...]:
    """An int broadcast to every spatial axis, or a tuple checked to have one entry per axis."""
    if isinstance(value, int):
        return (value,) * count
    if len(value) != count:
        raise fail(
            "A309",
            f"`{name}` has {len(value)} entries but the input has {count} spatial dimensions",
            arg=name,
            help=f"give one value, or a tuple of {count}",
        )
    return tuple(value)


@dataclass(frozen=True)
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
            out = -((-numerator) // self.stride) + 1
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
            )
        finding = None
        if isinstance(numerator, int) and numerator % self.stride and not self.ceil_mode:
            finding = Finding(
                UNEVEN,
                f"{op} window does not tile the input {axis} evenly; "
                f"the last {numerator % self.stride} of {size} positions are dropped",
                rule=self.rule(axis),
                with_=self.plugged(size, axis, numerator / self.stride + 1),
                help=self.help(size),
                arg="stride",
                severity="warning",
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
        tries = []
        for name, window in (
            ("padding", Window(self.kernel, self.stride, self.padding + 1, self.dilation)),
            ("padding", Window(self.kernel, self.stride, self.padding - 1, self.dilation)),
            ("kernel_size", Window(self.kernel + 1, self.stride, self.padding, self.dilation)),
            ("kernel_size", Window(self.kernel - 1, self.stride, self.padding, self.dilation)),
            ("stride", Window(self.kernel, 1, self.padding, self.dilation)),
        ):
            if window.kernel < 1 or window.padding < 0:
                continue
            numerator = size + 2 * window.padding - window.dilation * (window.kernel - 1) - 1
            if numerator >= 0 and numerator % window.stride == 0:
                value = getattr(window, name if name != "kernel_size" else "kernel")
                tries.append(f"{name}={value} gives {numerator // window.stride + 1}")
        return ", ".join(tries[:3]) or None
