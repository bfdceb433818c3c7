"""A top-level constant as provenance: its value, remembering which constant it is.

`momentum = 1 - 0.9997` used as `batchnorm2d(momentum=momentum)` has the provenance of its
value, a literal; the literal keeps a :class:`~archc.semantics.provenance.Constant` that names
it and says how the file computes it, so generated code can define `MOMENTUM = 1 - 0.9997` once
and write `momentum=MOMENTUM`, as a person would, instead of the number the arithmetic folds to.

The definition is the constant's expression as written, of literals, built-in functions and
other constants; anything else (a `fn` call, a layer) leaves the value as the definition. It is
checked against the value elaboration computed: it must give exactly that value, or the value
itself is the definition.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from archc.semantics import provenance as pv
from archc.syntax import ast

# A constant generated code can define: plain data, written as a Python literal.
_PLAIN = (bool, int, float, str)

_UNARY = {"-": "neg", "not": "not"}


def named(
    value: Any, file: str, name: str, assign: ast.Assign, other: Callable[[str], pv.Expr | None]
) -> pv.Lit | None:
    """The literal of the constant ``name`` of ``file`` (defined by ``assign``) whose value is
    ``value``, remembering the constant; None where the value is no plain data. ``other``
    gives the provenance of another constant of the file."""
    if not _plain(value):
        return None
    written = _written(assign.value, other)
    if written is not None and len(assign.targets) > 1:  # `a, b = 1, 2`
        position = [t.name for t in assign.targets].index(name)
        items = written.args if isinstance(written, pv.Apply) and written.fn == "tuple" else ()
        written = items[position] if len(items) == len(assign.targets) else None
    if written is None or not _exactly(written, value):
        written = pv.Lit(value)
    return pv.Lit(value, pv.Constant(file, name, written))


def _plain(value: Any) -> bool:
    if isinstance(value, tuple):
        return all(map(_plain, value))
    return value is None or isinstance(value, _PLAIN)


def _exactly(written: pv.Expr, value: Any) -> bool:
    """Whether ``written`` computes ``value``: equal, of the same types, item by item."""
    try:
        computed = pv.evaluate(written, {}, {})
    except (ArithmeticError, TypeError, ValueError, IndexError, KeyError, OverflowError):
        return False
    return _identical(computed, value)


def _identical(a: Any, b: Any) -> bool:
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(map(_identical, a, b))
    return type(a) is type(b) and repr(a) == repr(b)


def _written(expr: ast.Expr, other: Callable[[str], pv.Expr | None]) -> pv.Expr | None:
    """``expr`` as provenance, as written: no arithmetic folded."""
    if isinstance(expr, ast.Int | ast.Float | ast.Str | ast.Bool):
        return pv.Lit(expr.value)
    if isinstance(expr, ast.NoneLit):
        return pv.Lit(None)
    if isinstance(expr, ast.Name):
        return other(expr.id)
    if isinstance(expr, ast.Unary):
        operand = _written(expr.operand, other)
        if operand is None or expr.op == "+":
            return operand
        return pv.Apply(_UNARY[expr.op], (operand,))
    if isinstance(expr, ast.Binary | ast.Compare | ast.Logic):
        if expr.op not in pv.BINARY and expr.op not in ("and", "or"):
            return None
        return _applied(expr.op, [expr.left, expr.right], other)
    if isinstance(expr, ast.Cond):
        return _applied("if", [expr.test, expr.body, expr.orelse], other)
    if isinstance(expr, ast.TupleExpr | ast.ListExpr):  # a list of values is a tuple
        return _applied("tuple", list(expr.items), other)
    if isinstance(expr, ast.Index):
        return _applied("index", [expr.value, expr.index], other)
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name):
        if expr.func.id not in pv.FUNCTIONS or any(a.name is not None for a in expr.args):
            return None
        return _applied(expr.func.id, [a.value for a in expr.args], other)
    return None


def _applied(
    fn: str, parts: list[ast.Expr], other: Callable[[str], pv.Expr | None]
) -> pv.Expr | None:
    args = [_written(part, other) for part in parts]
    if any(arg is None for arg in args):
        return None
    return pv.Apply(fn, tuple(args))  # type: ignore[arg-type]
