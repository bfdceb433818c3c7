"""Fully connected layers, and the identity."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archc import dims
from archc.dims import TensorType
from archc.ops.registry import register
from archc.ops.schema import Args
from archc.ops.spec import (
    DTYPE,
    RANK,
    SYMBOLIC,
    Ctor,
    Execution,
    Inferred,
    Op,
    PositiveInt,
    fail,
)


class LinearArgs(Args):
    out_features: PositiveInt
    bias: bool = True
    # the weight stored (in_features, out_features), as Hugging Face's Conv1D stores it
    transposed: bool = False


# The element types a weight matrix multiplies; integer ids need an embedding first.
FLOAT_DTYPES = ("float32", "float64", "float16", "bfloat16")


def _in_features(x: TensorType) -> int:
    if x.dtype not in FLOAT_DTYPES:
        raise fail(
            DTYPE,
            f"linear multiplies floating-point features, but its input "
            f"{dims.show_shape(x.shape)} holds {x.dtype}",
            rule="input dtype = a floating-point type",
            help="integer ids are looked up with `embedding(vocab, width)` first",
            label=f"{x.dtype} input",
        )
    if x.rank < 2:
        raise fail(
            RANK,
            f"linear needs at least a 2-d input (N, features), got {x}",
            label=f"a {x.rank}-d input",
        )
    features = x.shape[-1]
    if not isinstance(features, int):
        help = "pool or reshape to a fixed size first (e.g. adaptive_avgpool2d(1) -> flatten)"
        if x.rank == 3 and isinstance(x.shape[1], int):
            help = (
                f"axis 1 has the fixed size {x.shape[1]}: `transpose(1, 2)` first makes "
                f"the input {dims.show_shape((x.shape[0], features, x.shape[1]))}"
            )
        raise fail(
            SYMBOLIC,
            f"linear needs a fixed number of input features, but the last axis is {features}",
            help=help,
            label=f"the last axis {features} is not fixed",
        )
    return features


@register
class Linear(Op):
    absent_as_none = ("bias",)  # bias=False registers bias as None, as torch does
    name = "linear"
    family = "linear"
    positionwise = True
    summary = (
        "fully connected layer on the last axis: y = x W^T + b; `transposed` stores the weight "
        "(in_features, out_features), y = x W + b, as Hugging Face's Conv1D does (GPT-2's "
        "c_attn, c_fc, c_proj), so its checkpoints load unchanged"
    )
    Args = LinearArgs
    positional = ("out_features", "bias")
    torch_positional = (None, "out_features", "bias")
    rule = "(N, *, in_features) -> (N, *, out_features)"
    params_rule = (
        "weight out_features·in_features (in_features·out_features transposed) "
        "+ bias out_features (bias=true)"
    )
    # transformers' Conv1D is this layer, transposed
    foreign = ("transformers.pytorch_utils.Conv1D",)

    def read_module(self, module: Any) -> dict[str, Any] | None:
        return {"out_features": module.nf, "bias": module.bias is not None, "transposed": True}

    def infer(self, args: LinearArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        in_features = _in_features(x)
        params = {"weight": (args.out_features, in_features)}
        if args.transposed:
            params["weight"] = (in_features, args.out_features)
        if args.bias:
            params["bias"] = (args.out_features,)
        positions = dims.product(list(x.shape[1:-1]))
        return Inferred(
            outputs=(TensorType((*x.shape[:-1], args.out_features)),),
            params=params,
            macs=positions * in_features * args.out_features,
            resolved={"in_features": in_features},
        )

    def label(self, args: LinearArgs, inferred: Inferred) -> str:
        return f"linear {inferred.resolved['in_features']}→{args.out_features}"

    def torch_module(self, args: LinearArgs, inferred: Inferred) -> Ctor:
        # archc's TransposedLinear (archc/torch_helpers.py) where transposed
        return Ctor(
            "TransposedLinear" if args.transposed else "nn.Linear",
            (inferred.resolved["in_features"], args.out_features),
            args.changed("bias"),
        )

    def execute(self, args: LinearArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        weight = run.state["weight"]
        y = x @ (weight if args.transposed else weight.T)
        return (y + run.state["bias"] if args.bias else y,)


@register
class Identity(Op):
    name = "identity"
    family = "shape"
    positionwise = True
    summary = "passes its input through unchanged"

    def infer(self, args: Args, inputs: Sequence[TensorType]) -> Inferred:
        return Inferred(outputs=(inputs[0],))

    def torch_module(self, args: Args, inferred: Inferred) -> Ctor:
        return Ctor("nn.Identity")

    def execute(self, args: Args, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        return run.inputs
