"""Resampling: interpolating upsample, and the pixel (un)shuffles that trade channels for space.

MACs: nearest-neighbour copies cost nothing; an interpolating mode costs one multiply-add per
tap for every output element (2 for linear, 4 for bilinear, 8 for trilinear, 16 for bicubic).
The pixel shuffles only move data and cost none.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, Literal

from archc import dims
from archc.dims import Dim, TensorType
from archc.ops.registry import register
from archc.ops.schema import Args, checks
from archc.ops.spec import (
    DIVISIBILITY,
    INVALID,
    NON_POSITIVE,
    RANK,
    Ctor,
    Execution,
    Inferred,
    Op,
    PositiveFloat,
    PositiveInt,
    Template,
    fail,
)
from archc.ops.window import AXES, check_layout, fixed_channels, layout, per_axis

Mode = Literal["nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear"]
# interpolation taps per output element; the modes absent here work on any spatial rank
TAPS = {"linear": 2, "bilinear": 4, "bicubic": 16, "trilinear": 8}
MODE_AXES = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}
INTERPOLATING = {1: "linear", 2: "bilinear", 3: "trilinear"}


class UpsampleArgs(Args):
    size: PositiveInt | tuple[PositiveInt, ...] | None = None
    scale_factor: PositiveFloat | tuple[PositiveFloat, ...] | None = None
    mode: Mode = "nearest"
    align_corners: bool | None = None

    @checks("scale_factor")
    def _finite(factor: float | tuple[float, ...] | None) -> float | tuple[float, ...] | None:
        factors = factor if isinstance(factor, tuple) else (factor,)
        if any(f is not None and math.isinf(f) for f in factors):
            raise ValueError("a scale factor is a finite number")
        return factor


def scaled(size: Dim, factor: float, axis: str) -> Dim:
    """torch's output size: floor(size * factor), computed in floating point as torch does."""
    if isinstance(size, int):
        out: Dim = math.floor(size * factor)
    else:
        # the factor as written (1.5 -> 3/2), so that a symbol gives `3*H//2`
        ratio = Fraction(str(factor))
        out = size * ratio.numerator // ratio.denominator
    if dims.positive(out) is False:
        raise fail(
            NON_POSITIVE,
            f"upsample output {axis} would be {out}",
            rule=f"{axis}' = floor({axis} * scale_factor)",
            with_=f"{axis}={size}, scale_factor={factor:g}  ->  floor({size}*{factor:g}) = {out}",
            help=f"use a scale_factor of at least 1/{size}",
            arg="scale_factor",
        )
    return out


def _factors(value: float | tuple[float, ...]) -> tuple[float, ...]:
    return value if isinstance(value, tuple) else (value,)


def _number(value: float) -> float | int:
    """2.0 -> 2, so that generated code reads `scale_factor=2`."""
    return int(value) if value.is_integer() else value


def check_mode(op: str, mode: str, align_corners: bool | None, x: TensorType) -> None:
    """``x`` is (N, C, *spatial) with 1 to 3 spatial axes, and ``mode`` interpolates them."""
    if x.rank - 2 not in AXES:
        raise fail(
            RANK,
            f"{op} expects (N, C, L), (N, C, H, W) or (N, C, D, H, W), got {x}",
            rule="input shape = (N, C, *spatial), 1 to 3 spatial axes",
        )
    spatial = MODE_AXES.get(mode)
    if spatial is not None and spatial != x.rank - 2:
        fitting = INTERPOLATING[x.rank - 2]
        raise fail(
            RANK,
            f'mode="{mode}" interpolates a {spatial + 2}-d input {layout(spatial)}, '
            f"got {x.rank}-d {x}",
            rule=f"input shape = {layout(spatial)}",
            help=f'for a {x.rank}-d input use mode="{fitting}"',
            arg="mode",
        )
    if align_corners is not None and mode not in TAPS:
        raise fail(
            INVALID,
            f'align_corners has no meaning for mode="{mode}"',
            help="align_corners applies to linear, bilinear, bicubic and trilinear; leave it out",
            arg="align_corners",
        )


@register
class Upsample(Op):
    name = "upsample"
    family = "resample"
    summary = "resize (N, C, *spatial) by a scale factor or to a size, by nearest or interpolation"
    Args = UpsampleArgs
    positional = ("size", "scale_factor", "mode", "align_corners")
    rule = "W' = size, or floor(W * scale_factor), per spatial axis"

    def infer(self, args: UpsampleArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        self._check(args, x)
        spatial = x.rank - 2
        if args.scale_factor is not None:
            factors = per_axis(args.scale_factor, spatial, "scale_factor")
            sizes: tuple[Dim, ...] = tuple(
                scaled(d, f, axis)
                for d, f, axis in zip(x.shape[2:], factors, AXES[spatial], strict=True)
            )
        else:
            sizes = per_axis(args.size, spatial, "size")
        taps = TAPS.get(args.mode, 0)
        return Inferred(
            outputs=(TensorType((*x.shape[:2], *sizes), x.dtype),),
            macs=dims.product([x.shape[1], *sizes]) * taps,
        )

    def _check(self, args: UpsampleArgs, x: TensorType) -> None:
        if (args.size is None) == (args.scale_factor is None):
            raise fail(
                INVALID,
                "upsample takes exactly one of size and scale_factor",
                help="give scale_factor=2 to double each axis or size=(H', W') for a fixed "
                "size; `resize(x, like)` takes another tensor's size",
                arg="scale_factor" if args.size is not None else None,
                label="both given" if args.size is not None else "neither given",
            )
        check_mode(self.name, args.mode, args.align_corners, x)

    def label(self, args: UpsampleArgs, inferred: Inferred) -> str:
        if args.scale_factor is None:
            target = "×".join(str(d) for d in inferred.outputs[0].shape[2:])
            return f"upsample → {target} {args.mode}"
        shown = "×".join(f"{f:g}" for f in _factors(args.scale_factor))
        return f"upsample ×{shown} {args.mode}"

    def torch_module(self, args: UpsampleArgs, inferred: Inferred) -> Ctor:
        kwargs = dict(args.changed("size", "scale_factor", "mode", "align_corners"))
        if args.scale_factor is not None:
            numbers = tuple(_number(f) for f in _factors(args.scale_factor))
            kwargs["scale_factor"] = numbers[0] if len(numbers) == 1 else numbers
        return Ctor("nn.Upsample", (), tuple(kwargs.items()))

    def execute(self, args: UpsampleArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        return (
            run.F.interpolate(
                x,
                size=args.size,
                scale_factor=args.scale_factor,
                mode=args.mode,
                align_corners=args.align_corners,
            ),
        )


class ShuffleArgs(Args):
    upscale_factor: PositiveInt


class UnshuffleArgs(Args):
    downscale_factor: PositiveInt


@register
class PixelShuffle(Op):
    name = "pixel_shuffle"
    family = "resample"
    summary = "sub-pixel upsampling: (N, C*r^2, H, W) -> (N, C, H*r, W*r)"
    Args = ShuffleArgs
    positional = ("upscale_factor",)
    rule = "(N, C*r^2, H, W) -> (N, C, H*r, W*r)"

    def infer(self, args: ShuffleArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        check_layout(x, self.name, 2)
        channels = fixed_channels(x, self.name)
        r = args.upscale_factor
        if channels % (r * r):
            lower = channels - channels % (r * r)
            nearby = " or ".join(str(c) for c in (lower, lower + r * r) if c)
            raise fail(
                DIVISIBILITY,
                f"{self.name} needs channels divisible by r^2 = {r * r}, got {channels}",
                rule="C_in % r^2 == 0",
                with_=f"C={channels}, r={r}  ->  {channels} % {r * r} = {channels % (r * r)}",
                help=f"give it {nearby} channels",
                arg="upscale_factor",
                label=f"{channels} channels do not split into {r}x{r}",
            )
        n, _, h, w = x.shape
        return Inferred(outputs=(TensorType((n, channels // (r * r), h * r, w * r), x.dtype),))

    def label(self, args: ShuffleArgs, inferred: Inferred) -> str:
        return f"pixel shuffle ×{args.upscale_factor}"

    def torch_module(self, args: ShuffleArgs, inferred: Inferred) -> Ctor:
        return Ctor("nn.PixelShuffle", (args.upscale_factor,))

    def execute(self, args: ShuffleArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        r = args.upscale_factor
        n, c, h, w = x.shape
        # channel c*r*r + i*r + j becomes pixel (h*r + i, w*r + j) of channel c
        blocks = x.reshape(n, c // (r * r), r, r, h, w)
        return (blocks.permute(0, 1, 4, 2, 5, 3).reshape(n, c // (r * r), h * r, w * r),)


@register
class PixelUnshuffle(Op):
    name = "pixel_unshuffle"
    family = "resample"
    summary = "space-to-depth: (N, C, H*r, W*r) -> (N, C*r^2, H, W)"
    Args = UnshuffleArgs
    positional = ("downscale_factor",)
    rule = "(N, C, H*r, W*r) -> (N, C*r^2, H, W)"

    def infer(self, args: UnshuffleArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        check_layout(x, self.name, 2)
        r = args.downscale_factor
        for axis, size in zip(AXES[2], x.shape[2:], strict=True):
            if isinstance(size, int) and size % r:
                raise fail(
                    DIVISIBILITY,
                    f"{self.name} needs {axis} divisible by {r}, got {size}",
                    rule=f"{axis} % r == 0",
                    with_=f"{axis}={size}, r={r}  ->  {size} % {r} = {size % r}",
                    help=f"pad or crop {axis} to a multiple of {r}",
                    arg="downscale_factor",
                )
        n, c, h, w = x.shape
        return Inferred(outputs=(TensorType((n, c * r * r, h // r, w // r), x.dtype),))

    def label(self, args: UnshuffleArgs, inferred: Inferred) -> str:
        return f"pixel unshuffle /{args.downscale_factor}"

    def torch_module(self, args: UnshuffleArgs, inferred: Inferred) -> Ctor:
        return Ctor("nn.PixelUnshuffle", (args.downscale_factor,))

    def execute(self, args: UnshuffleArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        r = args.downscale_factor
        n, c, h, w = x.shape
        # the inverse of pixel_shuffle: pixel (h*r + i, w*r + j) becomes channel c*r*r + i*r + j
        blocks = x.reshape(n, c, h // r, r, w // r, r)
        return (blocks.permute(0, 1, 3, 5, 2, 4).reshape(n, c * r * r, h // r, w // r),)


class ResizeArgs(Args):
    mode: Mode = "nearest"
    align_corners: bool | None = None


@register
class Resize(Op):
    name = "resize"
    family = "resample"
    summary = (
        "resizes (N, C, *spatial) to the spatial size of another tensor, `like`, by nearest or "
        "interpolation: right for any input size, as a U-Net's decoder needs"
    )
    Args = ResizeArgs
    inputs = ("x", "like")
    min_inputs = 2
    positional = ("mode", "align_corners")
    rule = "(N, C, *spatial), (N, *, *spatial') -> (N, C, *spatial')"

    def infer(self, args: ResizeArgs, inputs: Sequence[TensorType]) -> Inferred:
        x, like = inputs
        check_mode(self.name, args.mode, args.align_corners, x)
        if like.rank != x.rank:
            raise fail(
                RANK,
                f"resize takes the last {x.rank - 2} axes of `like`, but `like` {like} has "
                f"rank {like.rank} and the input {x} rank {x.rank}",
                rule="rank(like) == rank(x): the spatial axes are those after the channels",
                with_=f"rank(x) = {x.rank}, rank(like) = {like.rank}",
                arg="like",
                help="resize to a tensor with the same layout (N, C, *spatial)",
                label=f"a {like.rank}-d tensor",
            )
        sizes = like.shape[2:]
        return Inferred(
            outputs=(TensorType((*x.shape[:2], *sizes), x.dtype),),
            macs=dims.product([x.shape[1], *sizes]) * TAPS.get(args.mode, 0),
        )

    def label(self, args: ResizeArgs, inferred: Inferred) -> str:
        return f"resize like {args.mode}"

    def torch_expr(self, args: ResizeArgs, inferred: Inferred) -> Template:
        options = "".join(
            f", {name}={literal}"
            for name, literal in (
                ("mode", f'"{args.mode}"' if args.mode != "nearest" else None),
                ("align_corners", args.align_corners),
            )
            if literal is not None
        )
        return Template(f"F.interpolate({{0}}, size={{1}}.shape[2:]{options})")

    def execute(self, args: ResizeArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        x, like = run.inputs
        return (
            run.F.interpolate(
                x, size=tuple(like.shape[2:]), mode=args.mode, align_corners=args.align_corners
            ),
        )
