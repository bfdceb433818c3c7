"""Resolving an ``init`` rule's right-hand side: a scheme name or number, and its arguments.

Binds positional arguments in torch's order, checks them with the scheme's schema, and words
the first problem it finds as a :class:`SchemeError` in archc's terms, with a did-you-mean.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from typing import Any

from archc.inits.args import ConstantArgs, InitArgs
from archc.inits.registry import Scheme, all_schemes, lookup, names
from archc.ops.registry import suggest
from archc.ops.schema import ArgumentError, Problem
from archc.pysource.exprs import literal


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
    archc.inits.resolve.SchemeError: unknown init scheme `kaiming_norml`
    """
    keywords = dict(args or {})
    if isinstance(scheme, int | float) and not isinstance(scheme, bool):
        if keywords or positional:
            raise SchemeError("a plain number is a constant and takes no arguments")
        constant = lookup("constant")
        assert constant is not None
        return constant, ConstantArgs(value=scheme)
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
    except ArgumentError as error:
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


# Problems that only say a value has the wrong type; an int | float field reports one per member.
_TYPE_ERRORS = ("int", "float")
# What a value must be, by the kind of problem, with its limit.
_MUST = {
    "gt": "must be greater than {}",
    "ge": "must be greater than or equal to {}",
    "lt": "must be less than {}",
    "le": "must be less than or equal to {}",
    "finite": "must be a finite number",
    "bool": "must be true or false",
    "str": "must be a string",
}


def _invalid(scheme: Scheme, error: ArgumentError) -> SchemeError:
    """The first problem the scheme's schema found, in archc's words."""
    field = error.problems[0].name
    about = [p for p in error.problems if p.name == field]
    # the most telling of the problems with that argument: nan is not finite, not an int
    first = next((p for p in about if p.kind not in _TYPE_ERRORS), about[0])
    where = f"`{field}` of `{scheme.name}`"
    if first.kind == "unknown":
        return _unknown_argument(scheme, str(field))
    if first.kind == "missing":
        return SchemeError(
            f"`{scheme.name}` needs the argument `{field}`",
            help=f"e.g. {scheme.name}({field}=...)",
            arg=field,
        )
    if first.kind == "choice":
        return _not_a_choice(scheme, str(field), first.value)
    if first.kind in _TYPE_ERRORS:
        number = any(p.kind == "float" for p in about)
        wanted = "a number" if number else "an integer"
        return SchemeError(f"{where} must be {wanted}, not {_show(first.value)}", arg=field)
    reason = first.reason if first.kind == "invalid" else _MUST[first.kind].format(first.limit)
    if field is None:
        return SchemeError(f"`{scheme.name}`: {reason}")
    return SchemeError(f"{where} {reason}, not {_show(first.value)}", _range_help(first), field)


# The comparison behind each range problem, and the side the accepted values are on.
_RANGES = {"gt": (">", "above"), "ge": (">=", ""), "lt": ("<", "below"), "le": ("<=", "")}


def _range_help(problem: Problem) -> str | None:
    """The rule a value out of range broke, and the nearest value it keeps."""
    if problem.kind not in _RANGES:
        return None
    sign, side = _RANGES[problem.kind]
    bound = problem.limit
    nearest = f"any value {side} {bound}" if side else f"the nearest is {bound}"
    return f"the rule is `{problem.name} {sign} {bound}`; {nearest}"


def _not_a_choice(scheme: Scheme, field: str, value: Any) -> SchemeError:
    choices = typing.get_args(scheme.Args.fields[field].annotation)
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
    """A plain value as a spec writes it (`true`, `none`, `"relu"`, `(1, 2)`); elaboration
    passes nothing else (archc/semantics/inits.py)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, tuple | list):
        return "(" + ", ".join(_show(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return literal(value)
