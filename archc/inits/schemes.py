"""The init schemes: torch's ``nn.init`` functions, and ``variance_scaling`` and
``sinusoidal``, which torch lacks.

Each class is registered under its name and aliases when this module is imported; the order
here is the order :func:`archc.inits.all_schemes` lists them in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar, Literal

from archc.inits.args import (
    ConstantArgs,
    DiracArgs,
    GainArgs,
    KaimingArgs,
    NoArgs,
    NormalArgs,
    SinusoidalArgs,
    TruncNormalArgs,
    UniformArgs,
    VarianceScalingArgs,
)
from archc.inits.gains import gain
from archc.inits.registry import Arguments, Scheme, register

# --- distributions and constants -----------------------------------------------------------------


@register
class Uniform(Scheme):
    name = "uniform"
    summary = "uniform on [a, b]"
    Args = UniformArgs
    function = "nn.init.uniform_"


@register
class Normal(Scheme):
    name = "normal"
    summary = "normal distribution with the given mean and standard deviation"
    Args = NormalArgs
    function = "nn.init.normal_"


@register
class TruncNormal(Scheme):
    name = "trunc_normal"
    summary = "normal distribution, values outside [a, b] redrawn"
    Args = TruncNormalArgs
    function = "nn.init.trunc_normal_"


@register
class Constant(Scheme):
    name = "constant"
    aliases = ("const",)
    summary = "every element equal to value; a plain number means the same"
    Args = ConstantArgs
    function = "nn.init.constant_"

    def arguments(self, args: ConstantArgs) -> Arguments:
        return (args.value,), ()


@register
class Zeros(Scheme):
    name = "zeros"
    summary = "every element 0"
    function = "nn.init.zeros_"


@register
class Ones(Scheme):
    name = "ones"
    summary = "every element 1"
    function = "nn.init.ones_"


# --- fan-scaled schemes --------------------------------------------------------------------------


class _Gained(Scheme):
    """A scheme whose only argument is the gain of the nonlinearity that follows."""

    Args = GainArgs
    min_rank = 2

    def assumed_gain(self, args: GainArgs) -> float:
        return args.gain


@register
class XavierUniform(_Gained):
    name = "xavier_uniform"
    aliases = ("glorot_uniform",)
    summary = "Glorot & Bengio (2010): uniform, variance gain² · 2 / (fan_in + fan_out)"
    function = "nn.init.xavier_uniform_"


@register
class XavierNormal(_Gained):
    name = "xavier_normal"
    aliases = ("glorot_normal",)
    summary = "Glorot & Bengio (2010): normal, variance gain² · 2 / (fan_in + fan_out)"
    function = "nn.init.xavier_normal_"


@register
class Orthogonal(_Gained):
    name = "orthogonal"
    summary = "a (semi-)orthogonal matrix times gain (Saxe et al., 2014), for recurrent weights"
    function = "nn.init.orthogonal_"


class _Kaiming(Scheme):
    Args = KaimingArgs
    min_rank = 2

    def assumed_gain(self, args: KaimingArgs) -> float | None:
        return gain(args.nonlinearity, args.a)

    def nonlinearity(self, args: KaimingArgs) -> str:
        return args.nonlinearity


@register
class KaimingUniform(_Kaiming):
    name = "kaiming_uniform"
    aliases = ("he_uniform",)
    summary = "He et al. (2015): uniform, variance gain² / fan (fan_in or fan_out)"
    function = "nn.init.kaiming_uniform_"


@register
class KaimingNormal(_Kaiming):
    name = "kaiming_normal"
    aliases = ("he_normal",)
    summary = "He et al. (2015): normal, variance gain² / fan (fan_in or fan_out)"
    function = "nn.init.kaiming_normal_"


_VARIANCE_SCALING = '''\
def variance_scaling_(
    tensor: torch.Tensor,
    scale: float = 1.0,
    mode: str = "fan_in",
    distribution: str = "truncated_normal",
) -> torch.Tensor:
    """Fill ``tensor`` with variance ``scale / fan``, as Keras's and JAX's VarianceScaling do.

    ``mode`` picks the fan: "fan_in", "fan_out" or their mean, "fan_avg"; ``distribution`` is
    "truncated_normal" (cut at two standard deviations), "untruncated_normal" or "uniform".
    """
    receptive_field = tensor.shape[2:].numel()
    fan_in = tensor.shape[1] * receptive_field
    fan_out = tensor.shape[0] * receptive_field
    fan = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    std = (scale / max(1.0, fan)) ** 0.5
    if distribution == "uniform":
        bound = 3**0.5 * std
        return nn.init.uniform_(tensor, -bound, bound)
    if distribution == "untruncated_normal":
        return nn.init.normal_(tensor, std=std)
    # cutting a normal at two standard deviations shrinks its std by this factor: undo that
    std /= 0.87962566103423978
    return nn.init.trunc_normal_(tensor, std=std, a=-2 * std, b=2 * std)
'''


@register
class VarianceScaling(Scheme):
    name = "variance_scaling"
    summary = "variance scale / fan, (truncated) normal or uniform, as in Keras and JAX"
    Args = VarianceScalingArgs
    function = "variance_scaling_"
    helpers: ClassVar[dict[str, str]] = {"variance_scaling_": _VARIANCE_SCALING}
    min_rank = 2

    def assumed_gain(self, args: VarianceScalingArgs) -> float:
        return math.sqrt(args.scale)


class _Lecun(VarianceScaling):
    """LeCun et al. (1998): variance_scaling with scale 1 over fan_in, for selu networks."""

    Args = NoArgs
    distribution: ClassVar[Literal["truncated_normal", "uniform"]]

    def _as_variance_scaling(self) -> VarianceScalingArgs:
        return VarianceScalingArgs(distribution=self.distribution)

    def arguments(self, args: NoArgs) -> Arguments:
        return super().arguments(self._as_variance_scaling())

    def assumed_gain(self, args: NoArgs) -> float:
        return super().assumed_gain(self._as_variance_scaling())


@register
class LecunNormal(_Lecun):
    name = "lecun_normal"
    summary = 'variance_scaling(1, "fan_in", "truncated_normal"), as in Keras and JAX'
    distribution = "truncated_normal"


@register
class LecunUniform(_Lecun):
    name = "lecun_uniform"
    summary = 'variance_scaling(1, "fan_in", "uniform"), as in Keras and JAX'
    distribution = "uniform"


# --- tables --------------------------------------------------------------------------------------

_SINUSOIDAL = '''\
def sinusoidal_(
    tensor: torch.Tensor, base: float = 10000.0, layout: str = "interleaved"
) -> torch.Tensor:
    """Fill a (positions, width) table with the sines and cosines of each position at geometric
    frequencies, as `sinusoidal_positions` computes its buffer (here in float64): sines and
    cosines interleaved, or with layout="halves" all sines then all cosines (tensor2tensor,
    fairseq, Whisper).
    """
    length, width = tensor.shape
    positions = torch.arange(length, dtype=torch.float64)[:, None]
    if layout == "halves":
        half = width // 2
        angles = positions * base ** -(torch.arange(half, dtype=torch.float64) / (half - 1))
        table = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    else:
        angles = positions * base ** -(torch.arange(0, width, 2, dtype=torch.float64) / width)
        table = torch.stack([torch.sin(angles), torch.cos(angles)], dim=2).flatten(1)
    with torch.no_grad():
        return tensor.copy_(table)
'''


@register
class Sinusoidal(Scheme):
    name = "sinusoidal"
    summary = (
        "a table of positions' sines and cosines, as sinusoidal_positions holds it, for a "
        "position table held as a parameter (Whisper's encoder)"
    )
    Args = SinusoidalArgs
    function = "sinusoidal_"
    helpers: ClassVar[dict[str, str]] = {"sinusoidal_": _SINUSOIDAL}
    min_rank = 2
    max_rank = 2

    def check_shape(self, shape: Sequence[int], args: SinusoidalArgs) -> str | None:
        message = self.check_rank(len(shape))
        least = 4 if args.layout == "halves" else 2
        if message is None and (shape[1] % 2 or shape[1] < least):
            message = (
                f"`sinusoidal` fills pairs of sines and cosines: the width {shape[1]} must be "
                f"even and at least {least}"
            )
        return message


# --- identities ----------------------------------------------------------------------------------


@register
class Dirac(Scheme):
    name = "dirac"
    aliases = ("identity",)
    summary = "identity convolution kernels: each group's output channel d copies input channel d"
    Args = DiracArgs
    function = "nn.init.dirac_"
    min_rank = 3
    max_rank = 5

    def check_shape(self, shape: Sequence[int], args: DiracArgs) -> str | None:
        message = self.check_rank(len(shape))
        if message is None and shape[0] % args.groups:
            message = f"`dirac` groups={args.groups} must divide the {shape[0]} output channels"
        return message


@register
class Eye(Scheme):
    name = "eye"
    summary = "the identity matrix (ones on the diagonal of a 2-d tensor)"
    function = "nn.init.eye_"
    min_rank = 2
    max_rank = 2
