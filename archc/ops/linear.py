"""Fully connected layers, and the identity."""

from __future__ import annotations

from collections.abc import Sequence

from archc import dims
from archc.dims import TensorType
from archc.ops.registry import register
from archc.ops.spec import RANK, SYMBOLIC, Args, Ctor, Inferred, Op, PositiveInt, fail


class LinearArgs(Args):
    out_features: PositiveInt
    bias: bool = True


def _in_features(x: TensorType) -> int:
    if x.rank < 2:
        raise fail(RANK, f"linear needs at least a 2-d input (N, features), got {x}")
    if x.rank > 3:
        flat = dims.product(list(x.shape[1:]))
        sizes = "*".join(str(d) for d in x.shape[1:])
        raise fail(
            RANK,
            f"linear applied to a {x.rank}-d tensor {x}; it would act on the last axis only",
            rule="linear: (N, *, in_features) -> (N, *, out_features)",
            with_=f"the last axis has {x.shape[-1]}, the whole sample {sizes} = {flat}",
            help=f"insert `flatten` before it: the flattened size is {sizes} = {flat}",
        )
    features = x.shape[-1]
    if not isinstance(features, int):
        raise fail(
            SYMBOLIC,
            f"linear needs a fixed number of input features, but the last axis is {features}",
            help="pool or reshape to a fixed size first (e.g. adaptive_avgpool2d(1) -> flatten)",
        )
    return features


@register
class Linear(Op):
    name = "linear"
    family = "linear"
    summary = "fully connected layer on the last axis: y = x W^T + b"
    Args = LinearArgs
    positional = ("out_features", "bias")
    rule = "(N, *, in_features) -> (N, *, out_features)"
    params_rule = "weight out_features·in_features + bias out_features (bias=true)"

    def infer(self, args: LinearArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        in_features = _in_features(x)
        params = {"weight": (args.out_features, in_features)}
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
        kwargs = () if args.bias else (("bias", False),)
        return Ctor("nn.Linear", (inferred.resolved["in_features"], args.out_features), kwargs)


@register
class Identity(Op):
    name = "identity"
    family = "shape"
    summary = "passes its input through unchanged"

    def infer(self, args: Args, inputs: Sequence[TensorType]) -> Inferred:
        return Inferred(outputs=(inputs[0],))

    def torch_module(self, args: Args, inferred: Inferred) -> Ctor:
        return Ctor("nn.Identity")
