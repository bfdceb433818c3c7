"""Gains: torch's ``calculate_gain`` table, and whether a scheme's gain fits the activation after.

A scheme states the nonlinearity it expects next either by name (kaiming) or as a gain (xavier,
orthogonal, variance_scaling); comparing gains, not names, tells whether the activation that
follows the layer is the one the scheme was made for.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from archc.inits.args import InitArgs

if TYPE_CHECKING:
    from archc.inits.registry import Scheme

# torch.nn.init.calculate_gain's table; leaky_relu's depends on its slope (see gain()).
_GAINS: dict[str, float] = {
    "linear": 1.0, "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0, "conv_transpose1d": 1.0,
    "conv_transpose2d": 1.0, "conv_transpose3d": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0,
    "relu": math.sqrt(2.0), "selu": 3.0 / 4.0,
}  # fmt: skip
_LEAKY_RELU_SLOPE = 0.01
# The name a gain is reported under when a scheme states only the number (xavier's gain=...).
_NAMED_GAINS = ("linear", "relu", "tanh", "selu")


def gain(nonlinearity: str, param: float | None = None) -> float | None:
    """The gain torch's ``calculate_gain`` gives ``nonlinearity``, or None where it has none.

    ``param`` is leaky_relu's negative slope (torch's default 0.01 when None).

    >>> gain("relu"), gain("linear"), gain("gelu")
    (1.4142135623730951, 1.0, None)
    >>> round(gain("leaky_relu", 0.2), 4)
    1.3868
    """
    if nonlinearity == "leaky_relu":
        slope = _LEAKY_RELU_SLOPE if param is None else param
        return math.sqrt(2.0 / (1 + slope**2))
    return _GAINS.get(nonlinearity)


def gain_name(value: float) -> str | None:
    """The nonlinearity a gain is reported under, where it is one of the named gains.

    >>> gain_name(1.0), gain_name(0.5)
    ('linear', None)
    """
    return next((n for n in _NAMED_GAINS if math.isclose(_GAINS[n], value)), None)


# Self-normalising networks want variance 1 / fan_in before a selu (Klambauer et al., 2017), so
# a selu that follows asks for the linear gain, as torch's calculate_gain documentation advises.
_GAIN_WANTED_BEFORE = {"selu": "linear"}


def nonlinearity_of(scheme: Scheme, args: InitArgs) -> str | None:
    """The nonlinearity ``scheme`` assumes follows the layer it initialises, by torch's name.

    xavier, orthogonal and variance_scaling state it as a gain, named where the gain is one of
    linear (1), relu (√2), tanh (5/3) or selu (3/4); kaiming names it; lecun assumes linear.
    None for schemes that assume nothing (normal, constant, dirac, ...).

    >>> from archc.inits import resolve_scheme
    >>> nonlinearity_of(*resolve_scheme("xavier_uniform"))
    'linear'
    >>> nonlinearity_of(*resolve_scheme("kaiming_normal", {"nonlinearity": "relu"}))
    'relu'
    """
    return scheme.nonlinearity(args)


def gain_mismatch(
    scheme: Scheme, args: InitArgs, activation: str, param: float | None = None
) -> str | None:
    """A warning when ``scheme`` assumes another gain than the ``activation`` that follows has.

    Gains, not names, are compared: kaiming's default leaky_relu with a=0 has relu's gain.
    ``param`` is the activation's negative slope for leaky_relu. None when they agree, or when
    either side has no gain in torch's table (normal, gelu, ...).

    >>> from archc.inits import resolve_scheme
    >>> gain_mismatch(*resolve_scheme("kaiming_normal"), "relu") is None
    True
    >>> print(gain_mismatch(*resolve_scheme("xavier_uniform"), "relu"))
    `xavier_uniform` assumes gain 1 (linear) next, but `relu` follows, whose gain is 1.414
    """
    assumed_name = scheme.nonlinearity(args)
    assumed = scheme.assumed_gain(args)
    # a scheme that names the activation itself follows torch's table for it, selu included
    asked_for = activation if assumed_name == activation else _GAIN_WANTED_BEFORE.get(activation)
    wanted = gain(asked_for or activation, param)
    if assumed is None or wanted is None:
        return None
    if math.isclose(assumed, wanted, rel_tol=1e-6):
        return None
    named = f" ({assumed_name})" if assumed_name else ""
    return (
        f"`{scheme.name}` assumes gain {assumed:.4g}{named} next, "
        f"but `{activation}` follows, whose gain is {wanted:.4g}"
    )
