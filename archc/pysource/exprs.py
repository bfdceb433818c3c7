"""Spec expressions and values as Python source, with the parentheses Python needs.

Only numbers, strings (through ``repr``), booleans, tuples, operators, names the caller
resolves and calls of functions it resolves are ever written; anything else has no Python form
here and gives None, and the caller falls back to the value. A shape query (`x.features`,
`x.shape[-1]`) goes to the caller's resolver under its text, which may know an expression for
it (`in_features`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from archc.syntax import ast

# Python operator precedence, loosest first (the parts archc writes).
PRECEDENCE = {
    "if": 1, "or": 2, "and": 3, "not": 4, "compare": 5, "+": 6, "-": 6, "*": 7, "/": 7,
    "//": 7, "%": 7, "unary": 8, "**": 9, "atom": 10,
}  # fmt: skip

Resolver = Callable[[str], "str | None"]


def _no_functions(name: str) -> None:
    return None


def literal(value: Any) -> str:
    """A plain value as Python source: ``True``, ``0.1``, ``'same'``, ``(3, 5)``."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, str):
        return string(value)
    if isinstance(value, float) and math.isinf(value):
        return 'float("inf")' if value > 0 else 'float("-inf")'
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple | list):
        items = ", ".join(literal(v) for v in value)
        return f"({items},)" if len(value) == 1 else f"({items})"
    raise TypeError(f"no literal for {value!r}")


def string(text: str) -> str:
    """A string literal quoted the way ruff formats it: double quotes unless that escapes more.

    >>> print(string('say "hi"'), string("it's"), string("a\\nb"))
    'say "hi"' "it's" "a\\nb"
    """
    if '"' in text and "'" not in text:
        return repr(text)
    body = repr(text)[1:-1] if repr(text)[0] == '"' else repr(text)[1:-1].replace("\\'", "'")
    return '"' + body.replace('"', '\\"') + '"'


def python(expr: ast.Expr, resolve: Resolver, function: Resolver = _no_functions) -> str | None:
    """``expr`` as Python source; names go through ``resolve`` and the names of called
    functions through ``function`` (None: not expressible).

    >>> call = ast.Call(ast.Name("sqrt"), (ast.Arg(None, ast.Name("d")),))
    >>> python(ast.Binary("*", ast.Int(2), call), str, {"sqrt": "math.sqrt"}.get)
    '2 * math.sqrt(d)'
    """
    result = _Writer(resolve, function).emit(expr)
    return None if result is None else result[0]


class _Writer:
    """Writes one expression, resolving its names and functions the same way throughout."""

    def __init__(self, resolve: Resolver, function: Resolver) -> None:
        self.resolve = resolve
        self.function = function

    def emit(self, expr: ast.Expr) -> tuple[str, int] | None:
        """``expr`` as Python text with its precedence."""
        atom = PRECEDENCE["atom"]
        if isinstance(expr, ast.Int | ast.Float | ast.Str | ast.Bool):
            return literal(expr.value), atom if not _negative(expr) else PRECEDENCE["unary"]
        if isinstance(expr, ast.NoneLit):
            return "None", atom
        if isinstance(expr, ast.Name):
            name = self.resolve(expr.id)
            return None if name is None else (name, atom)
        query = shape_query(expr)
        if query is not None:
            text = self.resolve(query)
            return None if text is None else (text, atom)
        if isinstance(expr, ast.TupleExpr | ast.ListExpr):
            texts = self._all(expr.items)
            if texts is None:
                return None
            inner = texts[0] + "," if len(texts) == 1 else ", ".join(texts)
            return f"({inner})", atom
        if isinstance(expr, ast.Call):
            return self._call(expr)
        if isinstance(expr, ast.Unary):
            return self._unary(expr)
        if isinstance(expr, ast.Binary | ast.Compare | ast.Logic):
            return self._binary(expr)
        if isinstance(expr, ast.Cond):
            parts = [self.emit(e) for e in (expr.body, expr.test, expr.orelse)]
            if any(p is None for p in parts):
                return None
            body, test, orelse = (wrap(p, 2) for p in parts)  # type: ignore[arg-type]
            return f"{body} if {test} else {orelse}", PRECEDENCE["if"]
        return None

    def _all(self, exprs: tuple[ast.Expr, ...]) -> list[str] | None:
        parts = [self.emit(e) for e in exprs]
        return None if any(p is None for p in parts) else [p[0] for p in parts]  # type: ignore[index]

    def _call(self, expr: ast.Call) -> tuple[str, int] | None:
        callee = self.function(expr.func.id) if isinstance(expr.func, ast.Name) else None
        if callee is None or any(arg.name is not None for arg in expr.args):
            return None
        args = self._all(tuple(arg.value for arg in expr.args))
        return None if args is None else (f"{callee}({', '.join(args)})", PRECEDENCE["atom"])

    def _unary(self, expr: ast.Unary) -> tuple[str, int] | None:
        operand = self.emit(expr.operand)
        if operand is None:
            return None
        if expr.op == "not":
            return f"not {wrap(operand, PRECEDENCE['not'])}", PRECEDENCE["not"]
        level = PRECEDENCE["unary"]
        return f"{expr.op}{wrap(operand, level)}", level

    def _binary(self, expr: ast.Binary | ast.Compare | ast.Logic) -> tuple[str, int] | None:
        left = self.emit(expr.left)
        right = self.emit(expr.right)
        if left is None or right is None:
            return None
        key = "compare" if isinstance(expr, ast.Compare) else expr.op
        level = PRECEDENCE[key]
        if expr.op == "**":  # right-associative, and binds tighter than a unary minus on its left
            return power(wrap(left, level + 1), wrap(right, level)), level
        # left-associative: a right operand of equal precedence needs parentheses
        return f"{wrap(left, level)} {expr.op} {wrap(right, level + 1)}", level


def shape_query(expr: ast.Expr) -> str | None:
    """The text of a query of a named tensor's size (``x.features``, ``x.channels``,
    ``x.shape[-1]``), or None for any other expression.

    >>> shape = ast.Attribute(ast.Name("x"), ast.Ident("shape"))
    >>> shape_query(ast.Index(shape, ast.Unary("-", ast.Int(1))))
    'x.shape[-1]'
    >>> shape_query(ast.Attribute(ast.Name("x"), ast.Ident("rank"))) is None
    True
    """
    if (
        isinstance(expr, ast.Attribute)
        and isinstance(expr.value, ast.Name)
        and expr.attr.name in ("features", "channels")
    ):
        return f"{expr.value.id}.{expr.attr.name}"
    if (
        isinstance(expr, ast.Index)
        and isinstance(expr.value, ast.Attribute)
        and isinstance(expr.value.value, ast.Name)
        and expr.value.attr.name == "shape"
    ):
        index = _whole_number(expr.index)
        return None if index is None else f"{expr.value.value.id}.shape[{index}]"
    return None


def _whole_number(expr: ast.Expr) -> int | None:
    """A whole number as written, perhaps negated (`1`, `-1`); None for anything else."""
    if isinstance(expr, ast.Unary) and expr.op == "-":
        inner = _whole_number(expr.operand)
        return None if inner is None else -inner
    return expr.value if isinstance(expr, ast.Int) else None


def _negative(expr: ast.Int | ast.Float | ast.Str | ast.Bool) -> bool:
    return (
        isinstance(expr.value, int | float)
        and not isinstance(expr.value, bool)
        and (expr.value < 0)
    )


def wrap(part: tuple[str, int], level: int) -> str:
    text, precedence = part
    return f"({text})" if precedence < level else text


# a name, a dotted name or a number, negated or not: ruff writes `**` between two without spaces
_SIMPLE_POWER_OPERAND = re.compile(r"-?(?:[A-Za-z_][\w.]*|[\d.]+(?:e[+-]?\d+)?)")


def power(base: str, exponent: str) -> str:
    """``base ** exponent``, each side wrapped, as ruff writes it: `rows**2`, `(a + b) ** 2`."""
    simple = all(_SIMPLE_POWER_OPERAND.fullmatch(side) for side in (base, exponent))
    return f"{base}**{exponent}" if simple else f"{base} ** {exponent}"
