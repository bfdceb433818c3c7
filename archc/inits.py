"""Init schemes: what an ``init`` rule's right-hand side means, and the PyTorch that does it.

Each scheme is one class registered under its name and aliases, like the op registry: its
arguments (a strict pydantic model whose defaults are torch's), the tensor ranks it fits, the
one statement that initialises a tensor, and the nonlinearity it assumes follows. The code
generator asks :func:`resolve_scheme` for a validated ``(scheme, args)`` pair and writes
``scheme.emit(args, "module.weight")`` into the generated ``init_module`` method (or lays out
``scheme.call(args, "module.weight")`` where the line would be too long); schemes torch
lacks (``variance_scaling`` and the ``lecun`` pair built on it) call a small function whose
source is in ``scheme.helpers``, to be written once at module level.

Emitted code uses only ``torch`` and ``nn`` (``from torch import nn``). This module does not
import torch: checking and compiling a spec never need it.

>>> scheme, args = resolve_scheme("kaiming_normal", {"mode": "fan_out", "nonlinearity": "relu"})
>>> scheme.emit(args, "module.weight")
'nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")'
>>> scheme, args = resolve_scheme(0.5)
>>> scheme.emit(args, "module.bias")
'nn.init.constant_(module.bias, 0.5)'
"""

from __future__ import annotations

import math
import typing
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import ConfigDict, Field, ValidationError, model_validator

from archc.ops.registry import suggest
from archc.ops.spec import Args
from archc.pysource import layout
from archc.pysource.exprs import literal

# --- arguments -----------------------------------------------------------------------------------

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

    # inf and nan have no Python literal to write into the generated code
    model_config = ConfigDict(allow_inf_nan=False)


class NoArgs(InitArgs):
    pass


class _Interval(InitArgs):
    """Arguments that bound values to [a, b]; subclasses declare a and b in torch's order."""

    @model_validator(mode="after")
    def _ordered(self) -> _Interval:
        a, b = self.a, self.b  # type: ignore[attr-defined]
        if not a < b:
            raise ValueError(f"a={a} must be below b={b}")
        return self


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


class DiracArgs(InitArgs):
    groups: Annotated[int, Field(gt=0)] = 1


# --- gains ---------------------------------------------------------------------------------------

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


def _name_of(value: float) -> str | None:
    return next((n for n in _NAMED_GAINS if math.isclose(_GAINS[n], value)), None)


# --- the scheme contract -------------------------------------------------------------------------

Arguments = tuple[tuple[Any, ...], tuple[tuple[str, Any], ...]]


class Scheme:
    """Base class of every init scheme; subclasses are registered with ``@register``."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    summary: ClassVar[str]
    Args: ClassVar[type[InitArgs]] = NoArgs
    # The function the emitted statement calls: `nn.init.normal_`, or a name in `helpers`.
    function: ClassVar[str]
    # Source of module-level functions the statement calls, by name; the generator writes each
    # once. They use only `torch` and `nn`.
    helpers: ClassVar[dict[str, str]] = {}
    # The tensor ranks the scheme fits; max_rank None means no upper bound.
    min_rank: ClassVar[int] = 0
    max_rank: ClassVar[int | None] = None

    def __repr__(self) -> str:
        return f"<init scheme {self.name}>"

    @property
    def positional(self) -> tuple[str, ...]:
        """The order in which positional arguments bind: torch's parameter order."""
        return tuple(self.Args.model_fields)

    def arguments(self, args: Any) -> Arguments:
        """The call's arguments after the tensor: positional values, then keywords.

        Only arguments that differ from the function's defaults are spelled out.
        """
        return (), args.changed(*type(args).model_fields)

    def call(self, args: Any, tensor: str) -> layout.Call:
        """The statement's call, for :func:`layout.lay_out` to wrap as ruff does."""
        positional, keywords = self.arguments(args)
        return layout.Call(
            self.function,
            (
                layout.Arg(tensor),
                *(layout.Arg(literal(value)) for value in positional),
                *(layout.Arg(literal(value), f"{key}=") for key, value in keywords),
            ),
        )

    def emit(self, args: Any, tensor: str) -> str:
        """One statement, on one line, that initialises the tensor expression ``tensor``."""
        return layout.flat(self.call(args, tensor))

    def assumed_gain(self, args: Any) -> float | None:
        """The gain of the nonlinearity the scheme expects next, or None if it expects none."""
        return None

    def nonlinearity(self, args: Any) -> str | None:
        """The nonlinearity the scheme expects next, by its torch name, where one has a name."""
        assumed = self.assumed_gain(args)
        return None if assumed is None else _name_of(assumed)

    def check_rank(self, rank: int) -> str | None:
        """A message when a tensor of ``rank`` dimensions does not fit the scheme, else None."""
        low, high = self.min_rank, self.max_rank
        if low <= rank and (high is None or rank <= high):
            return None
        if high is None:
            wanted = f"at least {low} dimensions"
        elif low == high:
            wanted = f"exactly {low} dimensions"
        else:
            wanted = f"{low} to {high} dimensions"
        return f"`{self.name}` needs a tensor with {wanted}, not a {rank}-d one"

    def check_shape(self, shape: Sequence[int], args: Any) -> str | None:
        """Like :meth:`check_rank`, with the checks that need the sizes too."""
        return self.check_rank(len(shape))


_REGISTRY: dict[str, Scheme] = {}
_CANONICAL: dict[str, Scheme] = {}

SchemeClass = TypeVar("SchemeClass", bound=type[Scheme])


def register(cls: SchemeClass) -> SchemeClass:
    """Class decorator: make the scheme available under its name and aliases."""
    scheme = cls()
    for name in (cls.name, *cls.aliases):
        if name in _REGISTRY:
            raise ValueError(f"init scheme `{name}` is defined twice")
        _REGISTRY[name] = scheme
    _CANONICAL[cls.name] = scheme
    return cls


def lookup(name: str) -> Scheme | None:
    return _REGISTRY.get(name)


def all_schemes() -> list[Scheme]:
    """Every scheme once (aliases excluded), in the order they are defined."""
    return list(_CANONICAL.values())


def names() -> list[str]:
    """Every name a scheme answers to, aliases included."""
    return sorted(_REGISTRY)


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


# --- resolving a rule's scheme -------------------------------------------------------------------


class SchemeError(Exception):
    """A scheme name or argument that does not fit; ``arg`` names the argument at fault."""

    def __init__(self, message: str, help: str | None = None, arg: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.help = help
        self.arg = arg


def resolve_scheme(
    scheme: str | int | float,
    args: Mapping[str, Any] | None = None,
    positional: Sequence[Any] = (),
) -> tuple[Scheme, InitArgs]:
    """The scheme a rule names and its validated arguments; a plain number is a constant.

    ``positional`` values bind in the order of :attr:`Scheme.positional`, before ``args``.
    Raises :class:`SchemeError` with a did-you-mean where a name is close to a known one.

    >>> resolve_scheme("normal", {"std": 0.02})[1]
    NormalArgs(mean=0, std=0.02)
    >>> resolve_scheme("kaiming_norml")
    Traceback (most recent call last):
    archc.inits.SchemeError: unknown init scheme `kaiming_norml`
    """
    keywords = dict(args or {})
    if isinstance(scheme, int | float) and not isinstance(scheme, bool):
        if keywords or positional:
            raise SchemeError("a plain number is a constant and takes no arguments")
        return _CANONICAL["constant"], ConstantArgs(value=scheme)
    if not isinstance(scheme, str):
        raise SchemeError(
            f"{_show(scheme)} is not an init scheme", help="write a scheme name or a number"
        )
    found = lookup(scheme)
    if found is None:
        raise SchemeError(f"unknown init scheme `{scheme}`", help=_unknown_help(scheme))
    keywords = _bind(found, positional, keywords)
    try:
        return found, found.Args(**keywords)
    except ValidationError as error:
        raise _invalid(found, error) from None


def _unknown_help(name: str) -> str:
    close = suggest(name, names())
    if close:
        return f"did you mean `{close[0]}`?"
    return "known schemes: " + ", ".join(s.name for s in all_schemes())


def _bind(scheme: Scheme, values: Sequence[Any], keywords: dict[str, Any]) -> dict[str, Any]:
    order = scheme.positional
    if len(values) > len(order):
        takes = f"({', '.join(order)})" if order else "none"
        raise SchemeError(
            f"`{scheme.name}` takes {len(order)} positional arguments, got {len(values)}",
            help=f"its arguments in order: {takes}",
        )
    for name, value in zip(order, values, strict=False):
        if name in keywords:
            raise SchemeError(f"`{scheme.name}` got argument `{name}` twice", arg=name)
        keywords[name] = value
    return keywords


# Errors that only say a value has the wrong type; an int | float field reports one per member.
_TYPE_ERRORS = ("int_type", "float_type")


def _invalid(scheme: Scheme, error: ValidationError) -> SchemeError:
    """The first problem pydantic found, in archc's words."""
    problems = error.errors(include_url=False)
    loc = problems[0]["loc"][:1]
    about = [p for p in problems if p["loc"][:1] == loc]
    # the most telling of the problems with that argument: nan is finite_number, not int_type
    first = next((p for p in about if p["type"] not in _TYPE_ERRORS), about[0])
    field = str(loc[0]) if loc else None
    kind, value = first["type"], first.get("input")
    where = f"`{field}` of `{scheme.name}`"
    if kind == "extra_forbidden":
        return _unknown_argument(scheme, str(field))
    if kind == "missing":
        return SchemeError(
            f"`{scheme.name}` needs the argument `{field}`",
            help=f"e.g. {scheme.name}({field}=...)",
            arg=field,
        )
    if kind == "literal_error":
        return _not_a_choice(scheme, str(field), value)
    if kind in _TYPE_ERRORS:
        number = any(p["type"] == "float_type" for p in about)
        wanted = "a number" if number else "an integer"
        return SchemeError(f"{where} must be {wanted}, not {_show(value)}", arg=field)
    reason = first["msg"].removeprefix("Value error, ").replace("Input should be", "must be")
    if field is None:
        return SchemeError(f"`{scheme.name}`: {reason}")
    return SchemeError(f"{where} {reason}, not {_show(value)}", arg=field)


def _not_a_choice(scheme: Scheme, field: str, value: Any) -> SchemeError:
    choices = typing.get_args(scheme.Args.model_fields[field].annotation)
    close = suggest(value, choices) if isinstance(value, str) else []
    return SchemeError(
        f"`{field}` of `{scheme.name}` must be one of {', '.join(map(literal, choices))}, "
        f"not {_show(value)}",
        help=f"did you mean {literal(close[0])}?" if close else None,
        arg=field,
    )


def _unknown_argument(scheme: Scheme, name: str) -> SchemeError:
    known = scheme.positional
    close = suggest(name, known)
    if close:
        hint = f"did you mean `{close[0]}`?"
    elif known:
        hint = f"`{scheme.name}` takes " + ", ".join(f"`{k}`" for k in known)
    else:
        hint = f"`{scheme.name}` takes no arguments"
    return SchemeError(f"`{scheme.name}` has no argument `{name}`", help=hint, arg=name)


def _show(value: Any) -> str:
    try:
        return literal(value)
    except TypeError:
        return repr(value)


# --- nonlinearities ------------------------------------------------------------------------------

# Self-normalising networks want variance 1 / fan_in before a selu (Klambauer et al., 2017), so
# a selu that follows asks for the linear gain, as torch's calculate_gain documentation advises.
_GAIN_WANTED_BEFORE = {"selu": "linear"}


def nonlinearity_of(scheme: Scheme, args: InitArgs) -> str | None:
    """The nonlinearity ``scheme`` assumes follows the layer it initialises, by torch's name.

    xavier, orthogonal and variance_scaling state it as a gain, named where the gain is one of
    linear (1), relu (√2), tanh (5/3) or selu (3/4); kaiming names it; lecun assumes linear.
    None for schemes that assume nothing (normal, constant, dirac, ...).

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
