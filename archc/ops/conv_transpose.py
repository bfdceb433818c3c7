"""Transposed convolutions: conv_transpose1d/2d/3d, the learned upsampling of decoders and GANs.

Each axis grows by the stride, the inverse of the convolution rule:
``H' = (H-1)*S - 2P + D*(F-1) + output_padding + 1``. A stride-S convolution maps S input sizes
onto one output size; ``output_padding`` picks which of them to produce, so torch requires it to
be smaller than the stride or the dilation.

MACs count every input element multiplied into its (out_channels/groups) x kernel window; the
products that the padding crops off the border are computed all the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from archc import dims
from archc.dims import Dim, TensorType
from archc.ops.conv import IntOrTuple, check_groups
from archc.ops.registry import register
from archc.ops.schema import Args
from archc.ops.spec import (
    INVALID,
    NON_POSITIVE,
    Ctor,
    Execution,
    Inferred,
    NonNegativeInt,
    Op,
    PositiveInt,
    fail,
)
from archc.ops.window import AXES, input_channels, per_axis

NonNegativeIntOrTuple = NonNegativeInt | tuple[NonNegativeInt, ...]
RULE = "H' = (H-1)*S - 2P + D*(F-1) + output_padding + 1"


class ConvTransposeArgs(Args):
    out_channels: PositiveInt
    kernel_size: IntOrTuple
    stride: IntOrTuple = 1
    padding: NonNegativeIntOrTuple = 0
    output_padding: NonNegativeIntOrTuple = 0
    groups: PositiveInt = 1
    bias: bool = True
    dilation: IntOrTuple = 1


@dataclass(frozen=True)
class Stamp:
    """One axis of a transposed convolution: kernel F, stride S, padding P, dilation D."""

    kernel: int
    stride: int
    padding: int
    output_padding: int
    dilation: int

    def output(self, size: Dim, axis: str, op: str) -> Dim:
        self._check_output_padding(op)
        grown = (
            (size - 1) * self.stride
            - 2 * self.padding
            + self.dilation * (self.kernel - 1)
            + self.output_padding
            + 1
        )
        if dims.positive(grown) is False:
            raise fail(
                NON_POSITIVE,
                f"{op} output {axis} would be {grown}: the padding crops away every position",
                rule=RULE.replace("H", axis),
                with_=self.plugged(size, axis, grown),
                help=f"use padding <= {self._largest_padding(size)}",
                arg="padding",
            )
        return grown

    def plugged(self, size: Dim, axis: str, result: Dim) -> str:
        return (
            f"{axis}={size}, F={self.kernel}, S={self.stride}, P={self.padding}, "
            f"D={self.dilation}, output_padding={self.output_padding}  ->  "
            f"({size} - 1)*{self.stride} - 2*{self.padding} + {self.dilation}*({self.kernel} - 1)"
            f" + {self.output_padding} + 1 = {result}"
        )

    def _largest_padding(self, size: Dim) -> Dim:
        grown = (size - 1) * self.stride + self.dilation * (self.kernel - 1) + self.output_padding
        return grown // 2

    def _check_output_padding(self, op: str) -> None:
        if self.output_padding < self.stride or self.output_padding < self.dilation:
            return
        limit = max(self.stride, self.dilation)
        raise fail(
            INVALID,
            f"{op} output_padding={self.output_padding} must be smaller than the stride "
            f"({self.stride}) or the dilation ({self.dilation})",
            rule="output_padding < stride or output_padding < dilation",
            with_=f"output_padding={self.output_padding}, stride={self.stride}, "
            f"dilation={self.dilation}",
            help=f"output_padding chooses among the output sizes a stride maps onto one input "
            f"size; use 0 to {limit - 1}",
            arg="output_padding",
        )


def _shown(values: tuple[int, ...]) -> str:
    return "×".join(map(str, values)) if len(set(values)) > 1 else str(values[0])


class _ConvTranspose(Op):
    absent_as_none = ("bias",)  # bias=False registers bias as None, as torch does
    family = "conv"
    Args = ConvTransposeArgs
    positional = (
        "out_channels",
        "kernel_size",
        "stride",
        "padding",
        "output_padding",
        "groups",
        "bias",
        "dilation",
    )
    torch_positional = (None, *positional)
    spatial: int
    rule = f"{RULE}, per spatial axis; weight (in, out/groups, *F)"
    params_rule = "weight C_in·(C_out/groups)·∏F + bias C_out (bias=true)"

    def infer(self, args: ConvTransposeArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        in_channels = input_channels(x, self.name, self.spatial)
        check_groups(in_channels, args.out_channels, args.groups, self.name)
        kernel = per_axis(args.kernel_size, self.spatial, "kernel_size")
        stamps = zip(
            kernel,
            per_axis(args.stride, self.spatial, "stride"),
            per_axis(args.padding, self.spatial, "padding"),
            per_axis(args.output_padding, self.spatial, "output_padding"),
            per_axis(args.dilation, self.spatial, "dilation"),
            strict=True,
        )
        sizes = [
            Stamp(*stamp).output(size, axis, self.name)
            for stamp, size, axis in zip(stamps, x.shape[2:], AXES[self.spatial], strict=True)
        ]
        params = {"weight": (in_channels, args.out_channels // args.groups, *kernel)}
        if args.bias:
            params["bias"] = (args.out_channels,)
        per_input = (args.out_channels // args.groups) * dims.numel(kernel)
        return Inferred(
            outputs=(TensorType((x.shape[0], args.out_channels, *sizes)),),
            params=params,
            macs=dims.product([in_channels, *x.shape[2:]]) * per_input,
            resolved={"in_channels": in_channels},
        )

    def label(self, args: ConvTransposeArgs, inferred: Inferred) -> str:
        kernel = per_axis(args.kernel_size, self.spatial, "kernel_size")
        parts = [f"convT {'×'.join(map(str, kernel))}", str(args.out_channels)]
        stride = per_axis(args.stride, self.spatial, "stride")
        if any(s != 1 for s in stride):
            parts.append(f"×{_shown(stride)}")
        if args.groups != 1:
            parts.append(f"groups {args.groups}")
        return ", ".join(parts)

    def torch_module(self, args: ConvTransposeArgs, inferred: Inferred) -> Ctor:
        optional = ("stride", "padding", "output_padding", "groups", "bias", "dilation")
        kwargs = (("kernel_size", args.kernel_size), *args.changed(*optional))
        return Ctor(
            f"nn.ConvTranspose{self.spatial}d",
            (inferred.resolved["in_channels"], args.out_channels),
            kwargs,
        )

    def execute(
        self, args: ConvTransposeArgs, inferred: Inferred, run: Execution
    ) -> tuple[Any, ...]:
        (x,) = run.inputs
        stamp = getattr(run.F, f"conv_transpose{self.spatial}d")
        return (
            stamp(
                x,
                run.state["weight"],
                run.state.get("bias"),
                stride=per_axis(args.stride, self.spatial, "stride"),
                padding=per_axis(args.padding, self.spatial, "padding"),
                output_padding=per_axis(args.output_padding, self.spatial, "output_padding"),
                groups=args.groups,
                dilation=per_axis(args.dilation, self.spatial, "dilation"),
            ),
        )


@register
class ConvTranspose1d(_ConvTranspose):
    name = "conv_transpose1d"
    spatial = 1
    summary = "1-d transposed convolution over (N, C, L): upsamples by the stride"


@register
class ConvTranspose2d(_ConvTranspose):
    name = "conv_transpose2d"
    spatial = 2
    summary = "2-d transposed convolution over (N, C, H, W): upsamples by the stride"


@register
class ConvTranspose3d(_ConvTranspose):
    name = "conv_transpose3d"
    spatial = 3
    summary = "3-d transposed convolution over (N, C, D, H, W): upsamples by the stride"
