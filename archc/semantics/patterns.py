"""Naming patterns: `layer * n as stem{i + 1}` names each copy of a repeat from its index.

The braces hold `i` (0 for the first copy), integers, `+`, `-` and `*` (the parser refuses
anything else, A156, and a pattern without `i`, A157), so a pattern is computed here without
the expression evaluator, and the names are checked before any copy is built.
"""

from __future__ import annotations

from archc.errors import Diagnostic, Span
from archc.syntax import ast
from archc.syntax.fmt_expr import NAMED, flat, layer_name

# A copy's number is part of a Python name: no network has a billion copies of anything, and a
# bound keeps a pattern such as `{i * 10000000000 * 10000000000}` from making names of any length.
MAX_NUMBER = 10**9


class PatternError(Exception):
    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def index_value(expr: ast.Expr, i: int) -> int:
    """The number the braces give the copy at index ``i``."""
    if isinstance(expr, ast.Int):
        return expr.value
    if isinstance(expr, ast.Name):
        return i
    if isinstance(expr, ast.Unary):
        return -index_value(expr.operand, i)
    assert isinstance(expr, ast.Binary), expr  # the parser admits nothing else
    left, right = index_value(expr.left, i), index_value(expr.right, i)
    return left + right if expr.op == "+" else left - right if expr.op == "-" else left * right


def written(pattern: ast.NamedCopies) -> str:
    """The pattern as the formatter writes it: `layer{i + 1}`."""
    return layer_name(pattern)


def copy_names(pattern: ast.NamedCopies, count: int) -> tuple[ast.Ident, ...]:
    """The names of ``count`` copies; PatternError for a negative number or a name given
    twice."""
    shown = written(pattern)
    suffix = pattern.suffix.name if pattern.suffix is not None else ""
    first: dict[str, int] = {}
    names = []
    for i in range(count):
        number = index_value(pattern.index, i)
        if not 0 <= number < MAX_NUMBER:
            raise PatternError(_out_of_range(pattern, i, number))
        name = f"{pattern.prefix.name}{number}{suffix}"
        if name in first:
            raise PatternError(
                Diagnostic(
                    "A242",
                    f"the naming pattern `{shown}` names copies {first[name]} and {i} both "
                    f"`{name}`",
                    _span(pattern),
                    label=f"{number} at i = {first[name]} and at i = {i}",
                    rule="each copy of a repeat needs a name of its own",
                    with_=f"{flat_index(pattern)} = {number} at i = {first[name]} and i = {i}",
                    help="give each copy its own number: `{i}` or `{i + 1}` counts them one "
                    "by one",
                )
            )
        first[name] = i
        names.append(ast.Ident(name, pattern.span))
    return tuple(names)


def _out_of_range(pattern: ast.NamedCopies, i: int, number: int) -> Diagnostic:
    limit = f"{MAX_NUMBER - 1:,}"
    value = (
        f"{number:,}"
        if abs(number) < MAX_NUMBER
        else f"> {limit}"
        if number > 0
        else f"< -{limit}"
    )
    why = "a name cannot hold a minus sign" if number < 0 else "past the limit for a name"
    return Diagnostic(
        "A244",
        f"the naming pattern `{written(pattern)}` gives copy {i} the number {value}: {why}",
        _span(pattern),
        label=f"{value} at i = {i}",
        rule=f"i counts the copies 0, 1, ..., n - 1; every number is 0 to {limit}",
        with_=f"i = {i}: {flat_index(pattern)} = {value}",
        help="count from 0 or 1 in steps: `{i}`, `{i + 1}` or `{2 * i}`",
    )


def _span(pattern: ast.NamedCopies) -> Span:
    """The pattern itself, from its stem to its suffix."""
    return pattern.prefix.span.to(pattern.span)


def flat_index(pattern: ast.NamedCopies) -> str:
    return flat(pattern.index)


def not_a_repeat(pattern: ast.NamedCopies, what: str) -> Diagnostic:
    return Diagnostic(
        "A241",
        f"the naming pattern `{written(pattern)}` names the copies of a repeat, but this is "
        f"{what}",
        pattern.value.span,
        label="not a repeat",
        help=f"repeat the layer (`{flat(pattern.value, NAMED)} * 4 as {written(pattern)}`), or "
        f"name it with a plain name (`as {pattern.prefix.name}`)",
    )


def clash(pattern: ast.NamedCopies, name: ast.Ident, index: int, where: str) -> Diagnostic:
    return Diagnostic(
        "A243",
        f"the naming pattern `{written(pattern)}` names copy {index} `{name.name}`, a name "
        f"{where} already has",
        _span(pattern),
        label=f"`{name.name}` at i = {index}",
        help="change the pattern's stem or its count, or rename the other layer",
    )
