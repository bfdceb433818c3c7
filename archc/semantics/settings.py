"""Values a network's parameters are given from outside its spec: `-D name=value` on the
command line, keywords from Python.

A value is what a spec writes. From Python, a list is a tuple and a numpy integer an int. On
the command line a literal (`10`, `(64, 128)`, `"same"`) is its value, and anything else the
language can write is an expression (:class:`Written`), evaluated in the network's own file
where the parameter's default would be: `-D act=gelu`, `-D act=leaky_relu(0.1)`,
`-D width=2 * base` (a constant of the file).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

from archc.errors import UsageError
from archc.syntax import ast
from archc.syntax.layout import MAX_BRACKET_DEPTH


@dataclass(frozen=True)
class Written:
    """A `-D` value written as an expression of the language, which only elaborating the
    network can evaluate (its spans are in the `-D` text's own source)."""

    expr: ast.Expr


def spec_value(name: str, value: Any, depth: int = 0) -> Any:
    """A parameter's value given from Python, as a spec writes values: a list is a tuple."""
    if value is None or isinstance(value, bool | int | float | str | Written):
        return value
    if isinstance(value, list | tuple):
        if depth == MAX_BRACKET_DEPTH:  # as deep as a spec may write; a list inside itself
            raise UsageError(f"{name}: the value is nested more than {depth} deep")
        return tuple(spec_value(name, item, depth + 1) for item in value)
    if isinstance(value, numbers.Integral):  # numpy's integers, for one
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise UsageError(
        f"{name}={value!r}: a parameter's value is a number, a string, true, false, none or a "
        f"tuple of them; this one is of type {type(value).__name__}"
    )
