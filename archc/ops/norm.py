"""Normalisation: batch, instance, layer, group, RMS and local response normalisation.

The feature count a norm needs (``num_features``, ``normalized_shape``, ``num_channels``) is taken
from its input; when a spec spells it out as in torch (``batchnorm2d(64)``), it is checked.

MACs per element: with fixed statistics (running statistics at inference) normalising and the
affine fold into one multiply-add. Statistics computed from the input cost 2 more (mean and
variance; 1 for RMS norm's mean square; ``size`` for local response norm's sum of squares), one
more normalises, and the affine then costs 1 of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from archc import dims
from archc.dims import Dim, TensorType
from archc.ops.registry import register
from archc.ops.schema import Args
from archc.ops.spec import (
    CHANNELS,
    DIVISIBILITY,
    INVALID,
    RANK,
    SYMBOLIC,
    Ctor,
    Execution,
    Inferred,
    Op,
    PositiveFloat,
    PositiveInt,
    Probability,
    divisors,
    fail,
)
from archc.ops.window import AXES, check_layout, fixed_channels


def norm_macs(elements: Dim, statistics: int, affine: bool) -> Dim:
    """MACs for normalising ``elements`` values; ``statistics`` per element, 0 when fixed."""
    if statistics == 0:
        return elements
    return elements * (statistics + 1 + int(affine))


def check_declared(op: str, arg: str, declared: object, actual: object, x: TensorType) -> None:
    """A feature count written in the spec must match the one the input has."""
    if declared is None or declared == actual:
        return
    raise fail(
        CHANNELS,
        f"{op} was given {arg}={declared}, but its input {x} has {actual}",
        rule=f"{arg} = the input's size",
        with_=f"{arg}={declared}, input {actual}",
        help=f"use {arg}={actual}, or leave it out: it is taken from the input",
        arg=arg,
    )


def elements(x: TensorType) -> Dim:
    return dims.product(list(x.shape[1:]))


def standardise(x: Any, axes: list[int], eps: float) -> Any:
    """``x`` less its mean over ``axes``, over its standard deviation there (the biased
    variance, as every norm here divides by)."""
    mean = x.mean(dim=axes, keepdim=True)
    variance = x.var(dim=axes, unbiased=False, keepdim=True)
    return (x - mean) / (variance + eps).sqrt()


def per_channel(values: Any, x: Any) -> Any:
    """A (C,) tensor shaped to broadcast along axis 1 of ``x``."""
    return values.reshape(-1, *[1] * (x.dim() - 2))


# --- batch and instance norm: per-channel statistics over (N, C, *spatial) -----------------------


class ChannelNormArgs(Args):
    num_features: PositiveInt | None = None
    eps: PositiveFloat = 1e-5
    # None averages the running statistics over all batches seen, as in torch
    momentum: Probability | None = 0.1
    affine: bool = True
    track_running_stats: bool = True


class InstanceNormArgs(ChannelNormArgs):
    affine: bool = False
    track_running_stats: bool = False


class _ChannelNorm(Op):
    absent_as_none = ("weight", "bias")  # affine=False registers both as None
    family = "norm"
    Args = ChannelNormArgs
    positional = ("num_features", "eps", "momentum", "affine", "track_running_stats")
    torch_positional = (None, *positional[1:])
    params_rule = (
        "weight C + bias C (affine=true); buffers running_mean C, running_var C, "
        "num_batches_tracked 1 (track_running_stats=true)"
    )
    spatial: ClassVar[int]
    torch_class: ClassVar[str]

    def channels(self, x: TensorType) -> int:
        check_layout(x, self.name, self.spatial)
        return fixed_channels(x, self.name)

    def infer(self, args: ChannelNormArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        channels = self.channels(x)
        check_declared(self.name, "num_features", args.num_features, channels, x)
        params = {"weight": (channels,), "bias": (channels,)} if args.affine else {}
        buffers: dict[str, tuple[int, ...]] = {}
        if args.track_running_stats:
            buffers = {
                "running_mean": (channels,),
                "running_var": (channels,),
                "num_batches_tracked": (),
            }
        statistics = 0 if args.track_running_stats else 2
        return Inferred(
            outputs=(x,),
            params=params,
            buffers=buffers,
            macs=norm_macs(elements(x), statistics, args.affine),
            resolved={"num_features": channels},
        )

    def torch_module(self, args: ChannelNormArgs, inferred: Inferred) -> Ctor:
        return Ctor(
            f"nn.{self.torch_class}{self.spatial}d",
            (inferred.resolved["num_features"],),
            args.changed("eps", "momentum", "affine", "track_running_stats"),
        )

    def statistics_axes(self, x: Any) -> list[int]:
        """The axes a channel's statistics are taken over (the batch's too, for batch norm)."""
        raise NotImplementedError

    def execute(
        self, args: ChannelNormArgs, inferred: Inferred, run: Execution
    ) -> tuple[Any, ...]:
        (x,) = run.inputs
        state = run.state
        if run.training or not args.track_running_stats:
            y = standardise(x, self.statistics_axes(x), args.eps)
        else:
            mean, variance = (per_channel(state[n], x) for n in ("running_mean", "running_var"))
            y = (x - mean) / (variance + args.eps).sqrt()
        if args.affine:
            y = y * per_channel(state["weight"], x) + per_channel(state["bias"], x)
        return (y,)


class _BatchNorm(_ChannelNorm):
    torch_class = "BatchNorm"
    batch_statistics = True
    rule = "(N, C, *spatial) -> same; statistics per channel over the batch and positions"

    def label(self, args: ChannelNormArgs, inferred: Inferred) -> str:
        return "bn"

    def statistics_axes(self, x: Any) -> list[int]:
        return [0, *range(2, x.dim())]


@register
class BatchNorm1d(_BatchNorm):
    name = "batchnorm1d"
    spatial = 1
    summary = "batch normalisation of (N, C) features or (N, C, L) sequences"
    rule = "(N, C) or (N, C, L) -> same; statistics per channel"

    def channels(self, x: TensorType) -> int:
        if x.rank == 2:
            return fixed_channels(x, self.name)
        return super().channels(x)


@register
class BatchNorm2d(_BatchNorm):
    name = "batchnorm2d"
    spatial = 2
    summary = "batch normalisation of (N, C, H, W) images, per channel"


@register
class BatchNorm3d(_BatchNorm):
    name = "batchnorm3d"
    spatial = 3
    summary = "batch normalisation of (N, C, D, H, W) volumes, per channel"


class _InstanceNorm(_ChannelNorm):
    Args = InstanceNormArgs
    torch_class = "InstanceNorm"
    rule = "(N, C, *spatial) -> same; statistics per sample and channel over the positions"

    def channels(self, x: TensorType) -> int:
        channels = super().channels(x)
        if dims.product(list(x.shape[2:])) == 1:
            axes = AXES[self.spatial]
            raise fail(
                INVALID,
                f"{self.name} takes statistics over each channel's positions, "
                f"but {x} has one position per channel",
                rule="instance statistics need more than one spatial element",
                with_=f"{'*'.join(axes)} = {'*'.join(str(d) for d in x.shape[2:])} = 1",
                help="torch refuses it when training; normalise before pooling to 1, "
                "or use layernorm",
            )
        return channels

    def label(self, args: ChannelNormArgs, inferred: Inferred) -> str:
        return "instancenorm"

    def statistics_axes(self, x: Any) -> list[int]:
        return list(range(2, x.dim()))


@register
class InstanceNorm1d(_InstanceNorm):
    name = "instancenorm1d"
    spatial = 1
    summary = "instance normalisation of (N, C, L): each sample's channels over their length"


@register
class InstanceNorm2d(_InstanceNorm):
    name = "instancenorm2d"
    spatial = 2
    summary = "instance normalisation of (N, C, H, W): each sample's channels over the image"


@register
class InstanceNorm3d(_InstanceNorm):
    name = "instancenorm3d"
    spatial = 3
    summary = "instance normalisation of (N, C, D, H, W): each sample's channels over the volume"


# --- layer and RMS norm: statistics over the trailing axes -------------------------------------


class TrailingArgs(Args):
    # the sizes of the trailing axes to normalise; by default the last axis of the input
    normalized_shape: PositiveInt | tuple[PositiveInt, ...] | None = None
    # or: how many trailing axes to normalise, their sizes taken from the input
    dims: PositiveInt | None = None


class LayerNormArgs(TrailingArgs):
    eps: PositiveFloat = 1e-5
    elementwise_affine: bool = True
    bias: bool = True


class RMSNormArgs(TrailingArgs):
    finite = True  # an infinite offset or epsilon leaves no value to normalise
    # None is torch's choice: the machine epsilon of the input's dtype
    eps: PositiveFloat | None = None
    elementwise_affine: bool = True
    # the scale is weight_offset + weight: Gemma's 1 + weight, its weight starting at zero
    weight_offset: float = 0.0


class _TrailingNorm(Op):
    family = "norm"
    positionwise = True  # over the features, the trailing axes
    rule = "(N, *, *normalized_shape) -> same; statistics per position over the trailing axes"
    torch_class: ClassVar[str]
    # statistics cost per element (see the module's note on MACs)
    statistics: ClassVar[int]

    def normalized(self, args: TrailingArgs, x: TensorType) -> tuple[int, ...]:
        """The trailing axes' sizes: given, or read from the input."""
        if args.normalized_shape is not None and args.dims is not None:
            raise fail(
                INVALID,
                f"{self.name} takes normalized_shape or dims, not both",
                help="dims=k normalises the last k axes with their sizes taken from the input",
                arg="dims",
            )
        declared = args.normalized_shape
        if isinstance(declared, int):
            declared = (declared,)
        count = len(declared) if declared else args.dims or 1
        arg = "dims" if args.dims else "normalized_shape"
        if x.rank - 1 < count:
            raise fail(
                RANK,
                f"{self.name} normalises the last {count} axes, but {x} has {x.rank - 1} "
                "besides the batch",
                rule="input shape = (N, *, *normalized_shape)",
                arg=arg,
            )
        actual = x.shape[x.rank - count :]
        sizes = tuple(d for d in actual if isinstance(d, int))
        if len(sizes) != count:
            raise fail(
                SYMBOLIC,
                f"{self.name} would normalise over {dims.show_shape(actual)}, whose size "
                "decides the weight's shape but is symbolic",
                help="normalise over fixed-size axes (the features), or give them as numbers",
                arg=arg,
            )
        check_declared(self.name, "normalized_shape", declared, sizes, x)
        return sizes

    def infer(self, args: TrailingArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        shape = self.normalized(args, x)
        params = self.params(args, shape)
        return Inferred(
            outputs=(x,),
            params=params,
            macs=norm_macs(elements(x), self.statistics, bool(params)),
            resolved={"normalized_shape": shape},
        )

    def params(self, args: TrailingArgs, shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        raise NotImplementedError

    def torch_module(self, args: TrailingArgs, inferred: Inferred) -> Ctor:
        shape = inferred.resolved["normalized_shape"]
        return Ctor(
            f"nn.{self.torch_class}",
            (shape[0] if len(shape) == 1 else shape,),
            # the positional arguments after normalized_shape are torch's, in its order
            args.changed(*self.positional[1:]),
        )

    def label(self, args: TrailingArgs, inferred: Inferred) -> str:
        return self.name

    def execute(self, args: Any, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        axes = list(range(-len(inferred.resolved["normalized_shape"]), 0))
        # no eps is torch's choice for RMS norm: the machine epsilon of the input's type
        eps = run.torch.finfo(x.dtype).eps if args.eps is None else args.eps
        y = self.normalise(x, axes, eps)
        if "weight" in run.state:
            y = y * self.scale(args, run.state["weight"])
        return (y + run.state["bias"] if "bias" in run.state else y,)

    def normalise(self, x: Any, axes: list[int], eps: float) -> Any:
        """``x`` normalised over the trailing ``axes``, before the affine."""
        raise NotImplementedError

    def scale(self, args: Any, weight: Any) -> Any:
        """What the normalised values are multiplied by, given the weight."""
        return weight


@register
class LayerNorm(_TrailingNorm):
    name = "layernorm"
    summary = "layer normalisation over the last axis (or the last `dims` axes)"
    Args = LayerNormArgs
    positional = ("normalized_shape", "eps", "elementwise_affine", "bias")
    params_rule = (
        "weight ∏S + bias ∏S, S = normalized_shape (elementwise_affine=true; the bias only "
        "with bias=true)"
    )
    torch_class = "LayerNorm"
    statistics = 2

    def params(self, args: LayerNormArgs, shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        if not args.elementwise_affine:
            return {}
        return {"weight": shape, "bias": shape} if args.bias else {"weight": shape}

    def normalise(self, x: Any, axes: list[int], eps: float) -> Any:
        return standardise(x, axes, eps)


@register
class RMSNorm(_TrailingNorm):
    name = "rmsnorm"
    summary = (
        "root-mean-square normalisation over the last axis (or the last `dims` axes); "
        "`weight_offset` scales by weight_offset + weight, as Gemma's RMSNorm scales by "
        "1 + weight, its weight starting at 1 - weight_offset (zeros) so that the scale "
        "starts at one"
    )
    Args = RMSNormArgs
    positional = ("normalized_shape", "eps", "elementwise_affine")
    params_rule = "weight ∏S, S = normalized_shape (elementwise_affine=true)"
    torch_class = "RMSNorm"
    statistics = 1

    def infer(self, args: RMSNormArgs, inputs: Sequence[TensorType]) -> Inferred:
        if args.weight_offset and not args.elementwise_affine:
            raise fail(
                INVALID,
                f"{self.name} has no weight to add weight_offset={args.weight_offset} to",
                rule="weight_offset needs elementwise_affine=true",
                arg="weight_offset",
                help="leave weight_offset out, or keep the weight (elementwise_affine=true)",
            )
        return super().infer(args, inputs)

    def params(self, args: RMSNormArgs, shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
        return {"weight": shape} if args.elementwise_affine else {}

    def torch_module(self, args: RMSNormArgs, inferred: Inferred) -> Ctor:
        if not args.weight_offset:
            return super().torch_module(args, inferred)
        # archc's OffsetRMSNorm (archc/torch_helpers.py), nn.RMSNorm scaled by offset + weight
        shape = inferred.resolved["normalized_shape"]
        return Ctor(
            "OffsetRMSNorm",
            (shape[0] if len(shape) == 1 else shape,),
            (*args.changed("eps"), ("offset", args.weight_offset)),
        )

    def normalise(self, x: Any, axes: list[int], eps: float) -> Any:
        return x / (x.square().mean(dim=axes, keepdim=True) + eps).sqrt()

    def scale(self, args: RMSNormArgs, weight: Any) -> Any:
        return args.weight_offset + weight


# --- group norm and local response norm ----------------------------------------------------------


class GroupNormArgs(Args):
    num_groups: PositiveInt
    num_channels: PositiveInt | None = None
    eps: PositiveFloat = 1e-5
    affine: bool = True


def _divisors(n: int) -> str:
    return ", ".join(map(str, divisors(n)))


@register
class GroupNorm(Op):
    absent_as_none = ("weight", "bias")  # affine=False registers both as None
    name = "groupnorm"
    family = "norm"
    summary = "group normalisation: statistics per sample over groups of channels"
    Args = GroupNormArgs
    positional = ("num_groups", "num_channels", "eps", "affine")
    rule = "(N, C, *) -> same; C % num_groups == 0"
    params_rule = "weight C + bias C (affine=true)"

    def infer(self, args: GroupNormArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        if x.rank < 2:
            raise fail(RANK, f"{self.name} expects (N, C, *), got {x}", rule=self.rule)
        channels = fixed_channels(x, self.name)
        check_declared(self.name, "num_channels", args.num_channels, channels, x)
        if channels % args.num_groups:
            raise fail(
                DIVISIBILITY,
                f"{self.name} cannot split {channels} channels into {args.num_groups} groups",
                rule="C % num_groups == 0",
                with_=f"{channels} % {args.num_groups} = {channels % args.num_groups}",
                help=f"num_groups must divide {channels}: {_divisors(channels)}",
                arg="num_groups",
            )
        params = {"weight": (channels,), "bias": (channels,)} if args.affine else {}
        return Inferred(
            outputs=(x,),
            params=params,
            macs=norm_macs(elements(x), 2, args.affine),
            resolved={"num_channels": channels},
        )

    def label(self, args: GroupNormArgs, inferred: Inferred) -> str:
        return f"groupnorm {args.num_groups}"

    def torch_module(self, args: GroupNormArgs, inferred: Inferred) -> Ctor:
        return Ctor(
            "nn.GroupNorm",
            (args.num_groups, inferred.resolved["num_channels"]),
            args.changed("eps", "affine"),
        )

    def execute(self, args: GroupNormArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        # each sample's channels in num_groups consecutive groups, each normalised as a whole
        groups = x.reshape(x.shape[0], args.num_groups, -1)
        y = standardise(groups, [2], args.eps).reshape(x.shape)
        if args.affine:
            y = y * per_channel(run.state["weight"], x) + per_channel(run.state["bias"], x)
        return (y,)


class LocalResponseNormArgs(Args):
    size: PositiveInt
    alpha: float = 1e-4
    beta: float = 0.75
    k: float = 1.0


@register
class LocalResponseNorm(Op):
    name = "local_response_norm"
    aliases = ("lrn",)
    family = "norm"
    summary = "AlexNet's local response normalisation across `size` neighbouring channels"
    Args = LocalResponseNormArgs
    positional = ("size", "alpha", "beta", "k")
    rule = "(N, C, *spatial) -> same; b = a / (k + alpha * mean of a^2 over size channels)^beta"

    def infer(self, args: LocalResponseNormArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        if x.rank < 3:
            raise fail(
                RANK,
                f"{self.name} expects (N, C, *spatial) with at least one spatial axis, got {x}",
                rule="input shape = (N, C, *spatial)",
            )
        return Inferred(outputs=(x,), macs=norm_macs(elements(x), args.size, False))

    def label(self, args: LocalResponseNormArgs, inferred: Inferred) -> str:
        return f"lrn {args.size}"

    def torch_module(self, args: LocalResponseNormArgs, inferred: Inferred) -> Ctor:
        return Ctor("nn.LocalResponseNorm", (args.size,), args.changed("alpha", "beta", "k"))

    def execute(
        self, args: LocalResponseNormArgs, inferred: Inferred, run: Execution
    ) -> tuple[Any, ...]:
        (x,) = run.inputs
        # the mean of squares over a window of `size` channels, centred (the odd one before),
        # zeros beyond the ends counted
        before, after = args.size // 2, (args.size - 1) // 2
        squares = x.square()
        shape = list(squares.shape)
        padded = run.torch.cat(
            [
                squares.new_zeros([shape[0], before, *shape[2:]]),
                squares,
                squares.new_zeros([shape[0], after, *shape[2:]]),
            ],
            dim=1,
        )
        window = padded.unfold(1, args.size, 1).sum(dim=-1) / args.size
        return (x / (args.k + args.alpha * window) ** args.beta,)
