"""The arguments of init schemes: one schema per scheme, with torch's defaults."""

from __future__ import annotations

from typing import Annotated, Literal

from archc.ops.schema import Args, Field, checks

# An int stays an int, so `constant(1)` is written `nn.init.constant_(w, 1)` as a person would.
Number = int | float
NonNegative = Annotated[Number, Field(ge=0)]
Positive = Annotated[Number, Field(gt=0)]
Nonlinearity = Literal[
    "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu",
]  # fmt: skip


class InitArgs(Args):
    """Base of every scheme's arguments: strict, no unknown names, immutable, finite numbers."""

    finite = True  # inf and nan have no Python literal to write into the generated code


class NoArgs(InitArgs):
    pass


class _Interval(InitArgs):
    """Arguments that bound values to [a, b]; subclasses declare a and b in torch's order."""

    @checks()
    def _ordered(self) -> None:
        a, b = self.a, self.b  # type: ignore[attr-defined]
        if not a < b:
            raise ValueError(f"a={a} must be below b={b}")


class UniformArgs(_Interval):
    a: Number = 0
    b: Number = 1


class NormalArgs(InitArgs):
    mean: Number = 0
    std: NonNegative = 1


class TruncNormalArgs(_Interval):
    mean: Number = 0
    std: Positive = 1
    a: Number = -2
    b: Number = 2


class ConstantArgs(InitArgs):
    value: Number


class GainArgs(InitArgs):
    gain: NonNegative = 1


class KaimingArgs(InitArgs):
    a: Number = 0
    mode: Literal["fan_in", "fan_out"] = "fan_in"
    nonlinearity: Nonlinearity = "leaky_relu"


class VarianceScalingArgs(InitArgs):
    scale: Positive = 1
    mode: Literal["fan_in", "fan_out", "fan_avg"] = "fan_in"
    distribution: Literal["truncated_normal", "untruncated_normal", "uniform"] = "truncated_normal"


class SinusoidalArgs(InitArgs):
    base: Positive = 10000.0
    layout: Literal["interleaved", "halves"] = "interleaved"


class DiracArgs(InitArgs):
    groups: Annotated[int, Field(gt=0)] = 1
