"""The init-scheme contract and its registry: scheme name (or alias) -> scheme.

A scheme is one :class:`Scheme` subclass registered with ``@register``, like an op: its
arguments, the ranks it fits, the statement it emits and the gain it assumes follows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

from archc.inits.args import InitArgs, NoArgs
from archc.inits.gains import gain_name
from archc.pysource import layout
from archc.pysource.exprs import literal

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
        return tuple(self.Args.fields)

    def arguments(self, args: Any) -> Arguments:
        """The call's arguments after the tensor: positional values, then keywords.

        Only arguments that differ from the function's defaults are spelled out.
        """
        return (), args.changed(*type(args).fields)

    def call(self, args: Any, tensor: str, write: Callable[[Any], str] = literal) -> layout.Call:
        """The statement's call, for :func:`layout.lay_out` to wrap as ruff does; ``write``
        writes each argument's value."""
        positional, keywords = self.arguments(args)
        return layout.Call(
            self.function,
            (
                layout.Arg(tensor),
                *(layout.Arg(write(value)) for value in positional),
                *(layout.Arg(write(value), f"{key}=") for key, value in keywords),
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
        return None if assumed is None else gain_name(assumed)

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
