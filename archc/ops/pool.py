"""Pooling: sliding max and average windows, adaptive pools, global average pooling.

MACs count one operation per element a window reads, for every output element: a comparison
for max pooling, an addition for average pooling (the final division per output is not
counted). Adaptive windows vary in size; their reads are summed exactly for fixed input sizes,
and taken as the input size along a symbolic axis (exact when the output size divides it).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

from archc import dims
from archc.dims import Dim, TensorType
from archc.ops.conv import IntOrTuple
from archc.ops.registry import register
from archc.ops.schema import Args
from archc.ops.spec import (
    INVALID,
    RANK,
    Ctor,
    Execution,
    Finding,
    Inferred,
    NonNegativeInt,
    Op,
    PositiveInt,
    Template,
    fail,
)
from archc.ops.window import AXES, Window, check_layout, per_axis

NonNegativeIntOrTuple = NonNegativeInt | tuple[NonNegativeInt, ...]


class PoolArgs(Args):
    kernel_size: IntOrTuple
    # None means "the kernel size", as in torch: non-overlapping windows
    stride: IntOrTuple | None = None
    padding: NonNegativeIntOrTuple = 0


class MaxPoolArgs(PoolArgs):
    dilation: IntOrTuple = 1
    ceil_mode: bool = False


class AvgPoolArgs(PoolArgs):
    ceil_mode: bool = False
    count_include_pad: bool = True


def check_padding(kernel: tuple[int, ...], padding: tuple[int, ...], op: str) -> None:
    """torch refuses a window that could lie more than half in the padding."""
    for k, p in zip(kernel, padding, strict=True):
        if p > k // 2:
            raise fail(
                INVALID,
                f"{op} padding={p} is more than half the kernel size {k}",
                rule="padding <= kernel_size // 2",
                with_=f"padding={p}, kernel_size={k}  ->  {p} > {k}//2 = {k // 2}",
                help=f"use padding <= {k // 2}, or a kernel_size of at least {2 * p}",
                arg="padding",
            )


def _shown(values: tuple[int, ...]) -> str:
    return "×".join(map(str, values)) if len(set(values)) > 1 else str(values[0])


class _WindowPool(Op):
    family = "pool"
    spatial: ClassVar[int]
    kind: ClassVar[str]
    # the optional arguments of the torch module, in its order
    torch_order: ClassVar[tuple[str, ...]]
    rule = "W' = floor((W + 2P - D*(F-1) - 1) / S) + 1, per spatial axis; S defaults to F"

    def windows(self, args: PoolArgs) -> list[Window]:
        kernel = per_axis(args.kernel_size, self.spatial, "kernel_size")
        given = kernel if args.stride is None else args.stride
        stride = per_axis(given, self.spatial, "stride")
        padding = per_axis(args.padding, self.spatial, "padding")
        check_padding(kernel, padding, self.name)
        # only max pooling dilates its window
        given_dilation = args.dilation if isinstance(args, MaxPoolArgs) else 1
        dilation = per_axis(given_dilation, self.spatial, "dilation")
        return [
            Window(*window, ceil_mode=args.ceil_mode)
            for window in zip(kernel, stride, padding, dilation, strict=True)
        ]

    def sliding_window(self, args: PoolArgs) -> list[tuple[int, int, int]]:
        return [(w.kernel, w.stride, w.dilation) for w in self.windows(args)]

    def infer(self, args: PoolArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        check_layout(x, self.name, self.spatial)
        windows = self.windows(args)
        sizes: list[Dim] = []
        findings: list[Finding] = []
        for window, size, axis in zip(windows, x.shape[2:], AXES[self.spatial], strict=True):
            out, finding = window.output(size, axis, self.name)
            sizes.append(out)
            findings += [finding] if finding else []
        reads = dims.numel(tuple(w.kernel for w in windows))
        return Inferred(
            outputs=(TensorType((*x.shape[:2], *sizes)),),
            macs=dims.product([x.shape[1], *sizes]) * reads,
            findings=tuple(findings),
        )

    def label(self, args: PoolArgs, inferred: Inferred) -> str:
        windows = self.windows(args)
        kernel = "×".join(str(w.kernel) for w in windows)
        stride = tuple(w.stride for w in windows)
        suffix = f", /{_shown(stride)}" if any(s != 1 for s in stride) else ""
        return f"{self.kind}pool {kernel}{suffix}"

    def torch_module(self, args: PoolArgs, inferred: Inferred) -> Ctor:
        kwargs = (("kernel_size", args.kernel_size), *args.changed(*self.torch_order))
        return Ctor(f"nn.{self.kind.capitalize()}Pool{self.spatial}d", (), kwargs)

    def execute(self, args: Any, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        windows = self.windows(args)
        pool = getattr(run.F, f"{self.kind}_pool{self.spatial}d")
        shape = {
            "kernel_size": tuple(w.kernel for w in windows),
            "stride": tuple(w.stride for w in windows),
            "padding": tuple(w.padding for w in windows),
            "ceil_mode": args.ceil_mode,
        }
        if self.kind == "max":
            shape["dilation"] = tuple(w.dilation for w in windows)
        else:
            shape["count_include_pad"] = args.count_include_pad
        return (pool(x, **shape),)


class _MaxPool(_WindowPool):
    kind = "max"
    Args = MaxPoolArgs
    positional = ("kernel_size", "stride", "padding", "dilation")
    torch_positional = positional
    torch_order = ("stride", "padding", "dilation", "ceil_mode")


class _AvgPool(_WindowPool):
    kind = "avg"
    Args = AvgPoolArgs
    positional = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")
    torch_positional = positional
    rule = "W' = floor((W + 2P - F) / S) + 1, per spatial axis; S defaults to F"
    torch_order = ("stride", "padding", "ceil_mode", "count_include_pad")


@register
class MaxPool1d(_MaxPool):
    name = "maxpool1d"
    spatial = 1
    summary = "max over sliding windows of (N, C, L)"


@register
class MaxPool2d(_MaxPool):
    name = "maxpool2d"
    spatial = 2
    summary = "max over sliding windows of (N, C, H, W)"


@register
class MaxPool3d(_MaxPool):
    name = "maxpool3d"
    spatial = 3
    summary = "max over sliding windows of (N, C, D, H, W)"


@register
class AvgPool1d(_AvgPool):
    name = "avgpool1d"
    spatial = 1
    summary = "mean over sliding windows of (N, C, L)"


@register
class AvgPool2d(_AvgPool):
    name = "avgpool2d"
    spatial = 2
    summary = "mean over sliding windows of (N, C, H, W)"


@register
class AvgPool3d(_AvgPool):
    name = "avgpool3d"
    spatial = 3
    summary = "mean over sliding windows of (N, C, D, H, W)"


# --- adaptive pools: the output size is given, the windows follow from it ------------------------


class AdaptiveArgs(Args):
    # a `none` entry keeps that axis's input size
    output_size: PositiveInt | tuple[PositiveInt | None, ...]


class AdaptiveArgs1d(Args):
    # torch takes no `none` here: keeping the only axis would make the pool a copy
    output_size: PositiveInt | tuple[PositiveInt]


def adaptive_reads(size: Dim, target: int | None) -> Dim:
    """Elements read along one axis: output i averages [floor(i*L/O), ceil((i+1)*L/O)).

    Summed over i, the floors and ceilings telescope to L, plus one for each i whose window
    end i*L/O is not whole: O - gcd(L, O) of them. (A loop over O would never end for a huge
    output size.)

    >>> adaptive_reads(7, 3), adaptive_reads(6, 3)
    (9, 6)
    """
    if target is None or not isinstance(size, int):
        return size
    return size + target - math.gcd(size, target)


def _end(index: int, length: int, target: int) -> int:
    """Where adaptive window ``index`` of ``target`` over ``length`` positions ends: the
    ceiling of (index + 1) * length / target."""
    return -(-(index + 1) * length // target)


class _AdaptivePool(Op):
    family = "pool"
    Args = AdaptiveArgs
    positional = ("output_size",)
    torch_positional = positional
    spatial: ClassVar[int]
    kind: ClassVar[str]
    rule = "(N, C, *spatial) -> (N, C, *output_size); a `none` entry keeps that axis"

    def infer(self, args: AdaptiveArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        check_layout(x, self.name, self.spatial)
        targets = per_axis(args.output_size, self.spatial, "output_size")
        spatial = x.shape[2:]
        sizes = [s if t is None else t for s, t in zip(spatial, targets, strict=True)]
        reads = [adaptive_reads(s, t) for s, t in zip(spatial, targets, strict=True)]
        return Inferred(
            outputs=(TensorType((*x.shape[:2], *sizes)),),
            macs=dims.product([x.shape[1], *reads]),
        )

    def label(self, args: AdaptiveArgs, inferred: Inferred) -> str:
        sizes = "×".join(str(d) for d in inferred.outputs[0].shape[2:])
        return f"adaptive {self.kind}pool → {sizes}"

    def torch_module(self, args: AdaptiveArgs, inferred: Inferred) -> Ctor:
        return Ctor(f"nn.Adaptive{self.kind.capitalize()}Pool{self.spatial}d", (args.output_size,))

    def execute(self, args: AdaptiveArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        # output i of an axis of L reduces positions floor(i*L/O) to ceil((i+1)*L/O) - 1
        reduce = run.torch.amax if self.kind == "max" else run.torch.mean
        targets = per_axis(args.output_size, self.spatial, "output_size")
        y = x
        for axis, target in enumerate(targets, start=2):
            if target is None:
                continue
            length = y.shape[axis]
            pieces = [
                reduce(
                    y.narrow(
                        axis, i * length // target, _end(i, length, target) - i * length // target
                    ),
                    dim=axis,
                    keepdim=True,
                )
                for i in range(target)
            ]
            y = run.torch.cat(pieces, dim=axis)
        return (y,)


@register
class AdaptiveAvgPool1d(_AdaptivePool):
    Args = AdaptiveArgs1d
    name = "adaptive_avgpool1d"
    spatial = 1
    kind = "avg"
    summary = "mean over windows chosen to give a fixed output length"


@register
class AdaptiveAvgPool2d(_AdaptivePool):
    name = "adaptive_avgpool2d"
    spatial = 2
    kind = "avg"
    summary = "mean over windows chosen to give a fixed output size (H', W')"


@register
class AdaptiveAvgPool3d(_AdaptivePool):
    name = "adaptive_avgpool3d"
    spatial = 3
    kind = "avg"
    summary = "mean over windows chosen to give a fixed output size (D', H', W')"


@register
class AdaptiveMaxPool1d(_AdaptivePool):
    Args = AdaptiveArgs1d
    name = "adaptive_maxpool1d"
    spatial = 1
    kind = "max"
    summary = "max over windows chosen to give a fixed output length"


@register
class AdaptiveMaxPool2d(_AdaptivePool):
    name = "adaptive_maxpool2d"
    spatial = 2
    kind = "max"
    summary = "max over windows chosen to give a fixed output size (H', W')"


@register
class AdaptiveMaxPool3d(_AdaptivePool):
    name = "adaptive_maxpool3d"
    spatial = 3
    kind = "max"
    summary = "max over windows chosen to give a fixed output size (D', H', W')"


@register
class GlobalAvgPool(Op):
    name = "global_avgpool"
    aliases = ("global_avg_pool",)
    family = "pool"
    # Dropping the pooled axes gives the (N, C) features a classifier head takes directly;
    # adaptive_avgpool2d(1) is the variant that keeps them as (N, C, 1, 1).
    summary = "mean over every spatial axis, which it drops: (N, C, *spatial) -> (N, C)"
    rule = "(N, C, *spatial) -> (N, C)"

    def infer(self, args: Args, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        if x.rank < 3:
            raise fail(
                RANK,
                f"{self.name} expects (N, C, *spatial) with at least one spatial axis, got {x}",
                rule="input shape = (N, C, *spatial)",
                help="the input has no spatial axes left to pool; leave the pool out",
            )
        return Inferred(
            outputs=(TensorType(x.shape[:2], x.dtype),),
            macs=dims.product(list(x.shape[1:])),
            resolved={"dims": tuple(range(2, x.rank))},
        )

    def label(self, args: Args, inferred: Inferred) -> str:
        return "global avgpool"

    def torch_expr(self, args: Args, inferred: Inferred) -> Template:
        axes = inferred.resolved["dims"]
        return Template("{0}.mean(dim={dims})", (("dims", axes[0] if len(axes) == 1 else axes),))

    def execute(self, args: Args, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        return (run.torch.mean(x, dim=list(range(2, x.dim()))),)
