"""Activations: elementwise nonlinearities, prelu (which learns its slopes), softmax, log_softmax
and glu.

Each emits its torch module (`nn.ReLU(inplace=True)`, `nn.GELU(approximate="tanh")`), spelling
out only the arguments that differ from torch's defaults, so the generated code reads like
torchvision's. Activations count 0 MACs, as fvcore and ptflops do.

The elementwise activations differ only in their torch class and arguments, so they are rows of
:data:`ELEMENTWISE`, one per op, each registered as its own op class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from archc.dims import TensorType
from archc.ops.registry import register
from archc.ops.schema import Args, checks
from archc.ops.shape import Axis, axis_index, exact_quotient
from archc.ops.spec import (
    CHANNELS,
    DIVISIBILITY,
    RANK,
    SYMBOLIC,
    Ctor,
    Execution,
    Inferred,
    NoArgs,
    Op,
    PositiveFloat,
    PositiveInt,
    fail,
)

# --- arguments, fields in torch's constructor order (they bind positionally in that order) ------


class InplaceArgs(Args):
    inplace: bool = False


class LeakyReluArgs(Args):
    negative_slope: float = 0.01
    inplace: bool = False


class AlphaArgs(Args):
    alpha: PositiveFloat = 1.0
    inplace: bool = False


class GeluArgs(Args):
    approximate: Literal["none", "tanh"] = "none"


class HardtanhArgs(Args):
    min_val: float = -1.0
    max_val: float = 1.0
    inplace: bool = False

    @checks()
    def _ordered(self) -> None:
        if self.max_val <= self.min_val:
            raise ValueError(f"max_val={self.max_val} must exceed min_val={self.min_val}")


class SoftplusArgs(Args):
    beta: PositiveFloat = 1.0
    threshold: float = 20.0


class DimArgs(Args):
    dim: Axis = -1


class PreluArgs(Args):
    # one slope shared by all channels, or one per channel: the count, or "channels" for it
    num_parameters: PositiveInt | Literal["channels"] = 1
    init: float = 0.25


# --- elementwise activations ---------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One elementwise activation: its name, torch module, arguments and summary."""

    name: str
    module: str
    summary: str
    args: type[Args] = NoArgs
    aliases: tuple[str, ...] = ()


ELEMENTWISE = (
    Row("relu", "nn.ReLU", "rectified linear unit: max(0, x)", InplaceArgs),
    Row("relu6", "nn.ReLU6", "relu capped at 6: min(max(0, x), 6)", InplaceArgs),
    Row("leaky_relu", "nn.LeakyReLU", "x for x > 0, negative_slope * x below", LeakyReluArgs),
    Row("elu", "nn.ELU", "x for x > 0, alpha * (exp(x) - 1) below", AlphaArgs),
    Row("selu", "nn.SELU", "scaled elu with self-normalising constants", InplaceArgs),
    Row("celu", "nn.CELU", "continuously differentiable elu", AlphaArgs),
    Row("gelu", "nn.GELU", "Gaussian error linear unit: x * Phi(x)", GeluArgs),
    Row("silu", "nn.SiLU", "sigmoid linear unit: x * sigmoid(x)", InplaceArgs, ("swish",)),
    Row("mish", "nn.Mish", "x * tanh(softplus(x))", InplaceArgs),
    Row("hardswish", "nn.Hardswish", "piecewise-linear silu: x * relu6(x + 3) / 6", InplaceArgs),
    Row("hardsigmoid", "nn.Hardsigmoid", "piecewise-linear sigmoid: relu6(x+3) / 6", InplaceArgs),
    Row("hardtanh", "nn.Hardtanh", "x clamped to [min_val, max_val]", HardtanhArgs),
    Row("sigmoid", "nn.Sigmoid", "logistic function: 1 / (1 + exp(-x))"),
    Row("tanh", "nn.Tanh", "hyperbolic tangent"),
    Row("softplus", "nn.Softplus", "smooth relu: log(1 + exp(beta * x)) / beta", SoftplusArgs),
    Row("softsign", "nn.Softsign", "x / (1 + |x|)"),
    Row("tanhshrink", "nn.Tanhshrink", "x - tanh(x)"),
)


class _Activation(Op):
    """An activation whose torch module takes the op's arguments as keywords, and whose
    torch.nn.functional function of the op's name takes them too (`inplace` aside: the
    reference never overwrites its input)."""

    family = "activation"
    positionwise = True
    module: ClassVar[str]

    def infer(self, args: Any, inputs: Sequence[TensorType]) -> Inferred:
        return Inferred(outputs=(inputs[0],))

    def label(self, args: Any, inferred: Inferred) -> str:
        changed = args.changed(*type(args).fields)
        shown = [str(value) for name, value in changed if name != "inplace"]
        return " ".join([self.name, *shown])

    def kwargs(self, args: Any) -> tuple[tuple[str, Any], ...]:
        return args.changed(*type(args).fields)

    def torch_module(self, args: Any, inferred: Inferred) -> Ctor:
        return Ctor(self.module, (), self.kwargs(args))

    def execute(self, args: Any, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        values = {name: getattr(args, name) for name in type(args).fields}
        values.pop("inplace", None)
        return (getattr(run.F, self.name)(x, **values),)


def _define(row: Row) -> type[_Activation]:
    attributes = {
        "name": row.name,
        "aliases": row.aliases,
        "summary": row.summary,
        "Args": row.args,
        "positional": tuple(row.args.fields),
        "torch_positional": tuple(row.args.fields),
        "module": row.module,
        "__doc__": row.summary,
    }
    return type(row.module.removeprefix("nn."), (_Activation,), attributes)


for _row in ELEMENTWISE:
    register(_define(_row))


# --- activations along an axis, and with parameters ----------------------------------------------


class _AlongAxis(_Activation):
    positionwise = False  # along an axis, which may be the sequence's
    Args = DimArgs
    positional = ("dim",)

    def infer(self, args: DimArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        axis_index(args.dim, x, self.name)
        return Inferred(outputs=(x,))

    def kwargs(self, args: DimArgs) -> tuple[tuple[str, Any], ...]:
        # torch's default dim is an implicit, deprecated guess: always name it
        return (("dim", args.dim),)


@register
class Softmax(_AlongAxis):
    name = "softmax"
    module = "nn.Softmax"
    summary = "exp(x) normalised to sum to 1 along dim (default: the last axis)"


@register
class LogSoftmax(_AlongAxis):
    name = "log_softmax"
    module = "nn.LogSoftmax"
    summary = "log of softmax along dim, computed stably: for nll_loss"


@register
class Glu(_Activation):
    name = "glu"
    positionwise = False  # along an axis, which may be the sequence's
    module = "nn.GLU"
    summary = "gated linear unit: the first half of dim times sigmoid of the second half"
    Args = DimArgs
    positional = ("dim",)
    rule = "(..., 2k, ...) -> (..., k, ...) along dim"

    def infer(self, args: DimArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        index = axis_index(args.dim, x, self.name)
        size = x.shape[index]
        half = exact_quotient(size, 2)
        if half is None:
            raise fail(
                DIVISIBILITY if isinstance(size, int) else SYMBOLIC,
                f"glu halves axis {index} of {x}, but its size {size} is not even",
                rule=self.rule,
                with_=f"{size} % 2 = {size % 2}",
                arg="dim",
                help="give the layer before it an even number of outputs (twice the width)",
            )
        shape = (*x.shape[:index], half, *x.shape[index + 1 :])
        return Inferred(outputs=(TensorType(shape, x.dtype),))


@register
class Prelu(_Activation):
    name = "prelu"
    positionwise = False  # a slope per channel: axis 1, a sequence's positions
    module = "nn.PReLU"
    summary = "leaky relu with learned negative slopes, one shared or one per channel"
    Args = PreluArgs
    positional = ("num_parameters", "init")
    rule = "output shape = input shape; weight: (num_parameters,), 1 or the channel count"
    params_rule = 'weight num_parameters (1, or C for "channels")'

    def infer(self, args: PreluArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        count = self._count(args, x)
        return Inferred(
            outputs=(x,), params={"weight": (count,)}, resolved={"num_parameters": count}
        )

    def _count(self, args: PreluArgs, x: TensorType) -> int:
        if args.num_parameters == 1:
            return 1
        if x.rank < 2:
            raise fail(
                RANK,
                f"prelu with one slope per channel needs a channel axis, but {x} has none",
                arg="num_parameters",
                help="use num_parameters=1 for a single shared slope",
            )
        channels = x.shape[1]
        if not isinstance(channels, int):
            raise fail(
                SYMBOLIC,
                f"prelu needs a fixed channel count for its slopes, but {x} has {channels}",
                arg="num_parameters",
                help="declare the channel dimension of the input as a number",
            )
        if args.num_parameters not in ("channels", channels):
            raise fail(
                CHANNELS,
                f"prelu has {args.num_parameters} slopes but its input {x} has {channels} "
                "channels",
                rule="num_parameters == 1 or num_parameters == channels (axis 1)",
                with_=f"num_parameters = {args.num_parameters}, channels = {channels}",
                arg="num_parameters",
                help=f'use num_parameters="channels" (here {channels}), or 1',
            )
        return channels

    def kwargs(self, args: PreluArgs) -> tuple[tuple[str, Any], ...]:
        return args.changed("init")

    def torch_module(self, args: PreluArgs, inferred: Inferred) -> Ctor:
        count = inferred.resolved["num_parameters"]
        counted = (("num_parameters", count),) if count != 1 else ()
        return Ctor(self.module, (), counted + self.kwargs(args))

    def execute(self, args: PreluArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        # one slope, or one per channel (axis 1) broadcast over the axes after it
        slopes = run.state["weight"]
        if slopes.numel() > 1:
            slopes = slopes.reshape(-1, *[1] * (x.dim() - 2))
        return (run.torch.where(x >= 0, x, slopes * x),)
