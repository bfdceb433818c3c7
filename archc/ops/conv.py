"""Convolutions: conv1d/2d/3d. (Transposed convolutions live in `conv_transpose.py`.)"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

from archc import dims
from archc.dims import TensorType
from archc.ops.registry import register
from archc.ops.schema import Args
from archc.ops.spec import (
    DIVISIBILITY,
    INVALID,
    Ctor,
    Execution,
    Finding,
    Inferred,
    NonNegativeInt,
    Op,
    PositiveInt,
    divisors,
    fail,
)
from archc.ops.window import AXES, Window, input_channels, per_axis

IntOrTuple = PositiveInt | tuple[PositiveInt, ...]


class ConvArgs(Args):
    out_channels: PositiveInt
    kernel_size: IntOrTuple
    stride: IntOrTuple = 1
    padding: NonNegativeInt | tuple[NonNegativeInt, ...] | Literal["same", "valid"] = 0
    dilation: IntOrTuple = 1
    groups: PositiveInt = 1
    bias: bool = True
    padding_mode: Literal["zeros", "reflect", "replicate", "circular"] = "zeros"


def check_groups(in_channels: int, out_channels: int, groups: int, op: str) -> None:
    for what, count in (("input", in_channels), ("output", out_channels)):
        if count % groups:
            common = math.gcd(in_channels, out_channels)
            valid = ", ".join(map(str, divisors(common)))
            raise fail(
                DIVISIBILITY,
                f"{op} groups={groups} does not divide the {count} {what} channels",
                rule="in_channels % groups == 0 and out_channels % groups == 0",
                with_=f"{count} % {groups} = {count % groups}",
                arg="groups",
                help=f"groups dividing both {in_channels} and {out_channels}: {valid}",
                label=f"{groups} does not divide {count}",
            )


class _Conv(Op):
    absent_as_none = ("bias",)  # bias=False registers bias as None, as torch does
    family = "conv"
    Args = ConvArgs
    positional = ("out_channels", "kernel_size", "stride", "padding")
    torch_positional = (None, "out_channels", "kernel_size", "stride", "padding", "dilation")
    torch_positional += ("groups", "bias", "padding_mode")
    spatial: int
    rule = "W' = floor((W + 2P - D*(F-1) - 1) / S) + 1, per spatial axis"
    params_rule = "weight C_out·(C_in/groups)·∏F + bias C_out (bias=true)"

    def infer(self, args: ConvArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        in_channels = input_channels(x, self.name, self.spatial)
        check_groups(in_channels, args.out_channels, args.groups, self.name)
        kernel = per_axis(args.kernel_size, self.spatial, "kernel_size")
        stride = per_axis(args.stride, self.spatial, "stride")
        dilation = per_axis(args.dilation, self.spatial, "dilation")
        padding = self._padding(args, kernel, stride, dilation)
        sizes = []
        findings: list[Finding] = []
        for axis, size, k, s, p, d in zip(
            AXES[self.spatial], x.shape[2:], kernel, stride, padding, dilation, strict=True
        ):
            out, finding = Window(k, s, p, d).output(size, axis, self.name)
            sizes.append(out)
            findings += [finding] if finding else []
        if args.padding == "same":
            sizes = list(x.shape[2:])
        per_position = (in_channels // args.groups) * dims.numel(kernel)
        weight = (args.out_channels, in_channels // args.groups, *kernel)
        params = {"weight": weight}
        if args.bias:
            params["bias"] = (args.out_channels,)
        out_shape = (x.shape[0], args.out_channels, *sizes)
        return Inferred(
            outputs=(TensorType(out_shape),),
            params=params,
            macs=dims.product([args.out_channels, *sizes]) * per_position,
            resolved={"in_channels": in_channels},
            findings=tuple(findings),
        )

    def _padding(
        self,
        args: ConvArgs,
        kernel: tuple[int, ...],
        stride: tuple[int, ...],
        dilation: tuple[int, ...],
    ) -> tuple[int, ...]:
        if args.padding == "valid":
            return (0,) * self.spatial
        if args.padding == "same":
            if any(s != 1 for s in stride):
                raise fail(
                    INVALID,
                    f'{self.name} padding="same" needs stride 1 (torch refuses it otherwise)',
                    arg="padding",
                    help="give the padding as a number for a strided convolution",
                )
            # torch pads `same` asymmetrically when needed; the output size is the input size
            return tuple(d * (k - 1) // 2 for k, d in zip(kernel, dilation, strict=True))
        return per_axis(args.padding, self.spatial, "padding")

    def sliding_window(self, args: ConvArgs) -> list[tuple[int, int, int]]:
        kernel = per_axis(args.kernel_size, self.spatial, "kernel_size")
        stride = per_axis(args.stride, self.spatial, "stride")
        dilation = per_axis(args.dilation, self.spatial, "dilation")
        return list(zip(kernel, stride, dilation, strict=True))

    def label(self, args: ConvArgs, inferred: Inferred) -> str:
        kernel = per_axis(args.kernel_size, self.spatial, "kernel_size")
        parts = [f"conv {'×'.join(map(str, kernel))}", str(args.out_channels)]
        stride = per_axis(args.stride, self.spatial, "stride")
        if any(s != 1 for s in stride):
            shown = "×".join(map(str, stride)) if len(set(stride)) > 1 else str(stride[0])
            parts.append(f"/{shown}")
        if args.groups != 1:
            depthwise = args.groups == inferred.resolved["in_channels"]
            parts.append("depthwise" if depthwise else f"groups {args.groups}")
        return ", ".join(parts)

    def torch_module(self, args: ConvArgs, inferred: Inferred) -> Ctor:
        # torch's keyword order; each default equals torch's
        optional = ("stride", "padding", "dilation", "groups", "bias", "padding_mode")
        return Ctor(
            f"nn.Conv{self.spatial}d",
            (inferred.resolved["in_channels"], args.out_channels),
            (("kernel_size", args.kernel_size), *args.changed(*optional)),
        )

    def execute(self, args: ConvArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        kernel = per_axis(args.kernel_size, self.spatial, "kernel_size")
        dilation = per_axis(args.dilation, self.spatial, "dilation")
        # the padding of each side of each axis, last axis first as F.pad takes it; `same`
        # puts the odd position on the right, as torch does
        padding = self._padding(args, kernel, (1,) * self.spatial, dilation)
        sides: list[int] = []
        for k, d, p in zip(kernel, dilation, padding, strict=True):
            total = d * (k - 1) if args.padding == "same" else 2 * p
            sides = [total // 2, total - total // 2, *sides]
        mode = "constant" if args.padding_mode == "zeros" else args.padding_mode
        convolve = getattr(run.F, f"conv{self.spatial}d")
        weight, bias = run.state["weight"], run.state.get("bias")
        stride = per_axis(args.stride, self.spatial, "stride")
        padded = run.F.pad(x, sides, mode=mode) if any(sides) else x
        return (convolve(padded, weight, bias, stride, 0, dilation, args.groups),)


@register
class Conv1d(_Conv):
    name = "conv1d"
    spatial = 1
    summary = "1-d convolution over (N, C, L)"


@register
class Conv2d(_Conv):
    name = "conv2d"
    spatial = 2
    summary = "2-d convolution over (N, C, H, W)"


@register
class Conv3d(_Conv):
    name = "conv3d"
    spatial = 3
    summary = "3-d convolution over (N, C, D, H, W)"
