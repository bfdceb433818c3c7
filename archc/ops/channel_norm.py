"""Layer normalisation over the channels of an image, at each position (ConvNeXt's LayerNorm2d).

`layernorm` normalises the last axis; a channels-first (N, C, H, W) map keeps its features on
axis 1, so `layernorm2d` normalises there, with the weight and bias of an `nn.LayerNorm(C)`.
MACs as `layernorm`'s (see archc/ops/norm.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archc.dims import TensorType
from archc.ops.norm import check_declared, elements, norm_macs, standardise
from archc.ops.registry import register
from archc.ops.schema import Args
from archc.ops.spec import Ctor, Execution, Inferred, Op, PositiveFloat, PositiveInt
from archc.ops.window import input_channels


class LayerNorm2dArgs(Args):
    # checked against the input's channels when given, as torchvision writes LayerNorm2d(C)
    num_channels: PositiveInt | None = None
    eps: PositiveFloat = 1e-5
    elementwise_affine: bool = True
    bias: bool = True


@register
class LayerNorm2d(Op):
    name = "layernorm2d"
    family = "norm"
    summary = (
        "layer normalisation over the channels of (N, C, H, W) at each position, ConvNeXt's "
        "LayerNorm2d"
    )
    Args = LayerNorm2dArgs
    positional = ("num_channels", "eps", "elementwise_affine", "bias")
    rule = "(N, C, H, W) -> same; statistics per position over C"
    params_rule = "weight C + bias C (elementwise_affine=true; the bias only with bias=true)"
    foreign = ("torchvision.models.convnext.LayerNorm2d",)

    def read_module(self, module: Any) -> dict[str, Any] | None:
        return {
            "eps": module.eps,
            "elementwise_affine": module.elementwise_affine,
            "bias": module.bias is not None,
        }

    def infer(self, args: LayerNorm2dArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        channels = input_channels(x, self.name, 2)
        check_declared(self.name, "num_channels", args.num_channels, channels, x)
        params = {}
        if args.elementwise_affine:
            params = {"weight": (channels,), **({"bias": (channels,)} if args.bias else {})}
        return Inferred(
            outputs=(x,),
            params=params,
            macs=norm_macs(elements(x), 2, bool(params)),
            resolved={"num_channels": channels},
        )

    def label(self, args: LayerNorm2dArgs, inferred: Inferred) -> str:
        return f"layernorm2d {inferred.resolved['num_channels']}"

    def torch_module(self, args: LayerNorm2dArgs, inferred: Inferred) -> Ctor:
        return Ctor(
            "LayerNorm2d",
            (inferred.resolved["num_channels"],),
            args.changed("eps", "elementwise_affine", "bias"),
        )

    def execute(
        self, args: LayerNorm2dArgs, inferred: Inferred, run: Execution
    ) -> tuple[Any, ...]:
        (x,) = run.inputs
        y = standardise(x, [1], args.eps)
        if "weight" in run.state:
            y = y * run.state["weight"].reshape(1, -1, 1, 1)
        if "bias" in run.state:
            y = y + run.state["bias"].reshape(1, -1, 1, 1)
        return (y,)
