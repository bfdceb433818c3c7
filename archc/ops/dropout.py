"""Dropout: elementwise, per channel (dropout1d/2d/3d), and alpha dropout for SELU networks.

Dropout is the identity at inference, so every op here keeps its input's shape and costs
0 MACs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from archc.dims import TensorType
from archc.ops.registry import register
from archc.ops.schema import Args
from archc.ops.spec import Ctor, Execution, Inferred, Op, Probability
from archc.ops.window import check_layout


class DropoutArgs(Args):
    p: Probability = 0.5


class _Dropout(Op):
    family = "dropout"
    positionwise = True  # the identity where a network decodes, in eval mode
    Args = DropoutArgs
    positional = ("p",)
    torch_positional = ("p",)
    torch_class: ClassVar[str]
    # the torch.nn.functional function that drops this way
    function: ClassVar[str]
    # spatial axes of the (N, C, *spatial) input a channel dropout needs; None takes any shape
    spatial: ClassVar[int | None] = None

    def infer(self, args: DropoutArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        if self.spatial is not None:
            check_layout(x, self.name, self.spatial)
        return Inferred(outputs=(x,))

    def label(self, args: DropoutArgs, inferred: Inferred) -> str:
        return f"{self.name.replace('_', ' ')} {args.p:g}"

    def torch_module(self, args: DropoutArgs, inferred: Inferred) -> Ctor:
        return Ctor(f"nn.{self.torch_class}", (), args.changed("p"))

    def execute(self, args: DropoutArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        p = run.drop_rate(args.p)
        return (getattr(run.F, self.function)(x, p, training=True) if p else x,)


@register
class Dropout(_Dropout):
    name = "dropout"
    summary = "zeroes each element with probability p while training (scaling the rest by 1/(1-p))"
    torch_class = "Dropout"
    function = "dropout"


@register
class Dropout1d(_Dropout):
    name = "dropout1d"
    summary = "zeroes whole channels of (N, C, L) with probability p while training"
    torch_class = "Dropout1d"
    function = "dropout1d"
    spatial = 1


@register
class Dropout2d(_Dropout):
    name = "dropout2d"
    summary = "zeroes whole channels of (N, C, H, W) with probability p while training"
    torch_class = "Dropout2d"
    function = "dropout2d"
    spatial = 2


@register
class Dropout3d(_Dropout):
    name = "dropout3d"
    summary = "zeroes whole channels of (N, C, D, H, W) with probability p while training"
    torch_class = "Dropout3d"
    function = "dropout3d"
    spatial = 3


@register
class AlphaDropout(_Dropout):
    name = "alpha_dropout"
    summary = "dropout that keeps a SELU network's zero mean and unit variance"
    torch_class = "AlphaDropout"
    function = "alpha_dropout"
