"""Expressions laid out over lines: one line when they fit, else broken at their outermost part.

:class:`Breaker` turns an expression into :class:`Line` objects by the rules of
:mod:`archc.syntax.fmt`: a chain breaks before each `->`, a conditional before `then` and
`else`, a call, list, tuple or parenthesised group after its opening bracket with one item per
line, and, inside brackets only, arithmetic, a comparison or `and` / `or` before each operator.
Each part is then laid out again the same way.

Every line remembers the source offset of its first code, its anchor, so that the comments of a
statement can be put back between the right lines. A comment inside an expression, before the
anchor of the last line the expression gets when broken, forces that break; the comment then
lies between the same two lines on the next run, which keeps the output stable.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from archc.errors import Span
from archc.syntax import ast
from archc.syntax.fmt_expr import (
    COND,
    NAMED,
    NOT,
    POSTFIX,
    UNARY,
    find_code,
    flat,
    label,
    layer_name,
    operand_levels,
    precedence,
    skip_blank,
)

WIDTH = 99
INDENT = 4

Operation = ast.Binary | ast.Compare | ast.Logic


@dataclass(frozen=True)
class Line:
    """One output line of a statement, without its comments.

    ``anchor`` is the source offset where the line's code starts: a comment found between the
    anchors of two lines goes between those lines. ``comment_indent`` is the indentation of a
    comment put on its own line just above this one (deeper than the line for a closing bracket).
    """

    indent: int
    text: str
    anchor: int
    comment_indent: int


class Breaker:
    """Lays expressions out over lines; ``comments`` are the spans of every comment."""

    def __init__(self, comments: Sequence[Span]) -> None:
        spans = sorted((c.start, c.end) for c in comments)
        self._starts = [start for start, _ in spans]
        self._ends = [end for _, end in spans]

    def commented(self, start: int, end: int) -> bool:
        """Whether a comment lies strictly between ``start`` and ``end``."""
        first = bisect.bisect_right(self._starts, start)
        return first < len(self._starts) and self._starts[first] < end

    def code_before(self, text: str, pos: int) -> int:
        """The offset of the last character of code before ``pos``, or -1 if there is none."""
        pos -= 1
        while pos >= 0:
            i = bisect.bisect_right(self._starts, pos) - 1
            if i >= 0 and pos < self._ends[i]:
                pos = self._starts[i] - 1
            elif text[pos] in " \t\f\n":
                pos -= 1
            else:
                return pos
        return -1

    def lines(
        self,
        node: ast.Expr,
        indent: int,
        prefix: str,
        suffix: str,
        anchor: int,
        level: int = COND,
        nested: bool = False,
    ) -> list[Line]:
        """``prefix``, ``node`` and ``suffix`` as lines; the first starts at ``anchor``.

        ``level`` is the loosest binding ``node`` may have without parentheses; ``nested`` says
        whether it lies inside brackets, where a line may start with an operator.
        """
        text = prefix + flat(node, level) + suffix
        one = [Line(indent, text, anchor, indent)]
        if not _breakable(node, level, nested):
            return one
        broken = self._broken(node, indent, prefix, suffix, anchor, level, nested)
        # A comment before the last line of the broken layout forces it: the comment then lies
        # before that line on the next run too. Its parts have made the same choice already.
        commented = self.commented(self._first(node, level), broken[-1].anchor)
        return one if indent + len(text) <= WIDTH and not commented else broken

    def _broken(
        self,
        node: ast.Expr,
        indent: int,
        prefix: str,
        suffix: str,
        anchor: int,
        level: int,
        nested: bool,
    ) -> list[Line]:
        if precedence(node) < level:
            return self._parenthesised(node, indent, prefix, suffix, anchor)
        if isinstance(node, ast.Named):
            tail = f" as {layer_name(node.name)}{suffix}"
            return self.lines(node.value, indent, prefix, tail, anchor, NAMED, nested)
        if isinstance(node, ast.Call | ast.TupleExpr | ast.ListExpr):
            return self._bracketed(node, indent, prefix, suffix, anchor)
        # The lines after the first go a step deeper, unless the expression starts its line:
        # then it is inside brackets, whose own indentation sets it apart already.
        hang = indent + INDENT if prefix else indent
        if isinstance(node, ast.Chain):
            return self._chain(node, indent, hang, prefix, suffix, anchor, nested)
        if isinstance(node, ast.Cond):
            return self._cond(node, indent, hang, prefix, suffix, anchor, nested)
        assert isinstance(node, Operation)
        return self._operation(node, indent, hang, prefix, suffix, anchor)

    def _first(self, node: ast.Expr, level: int) -> int:
        """Where the code of ``node`` starts, at a parenthesis around it or its leftmost part."""
        if precedence(node) < level:
            return self._opening_paren(node)
        part = _first_part(node)
        return node.span.start if part is None else self._first(*part)

    def _opening_paren(self, node: ast.Expr) -> int:
        """The offset of the `(` around ``node`` in the source (its start if built by hand)."""
        part = _first_part(node)
        text = node.span.source.text
        before = self.code_before(text, node.span.start if part is None else self._first(*part))
        return before if text[before : before + 1] == "(" else node.span.start

    def _parenthesised(
        self, node: ast.Expr, indent: int, prefix: str, suffix: str, anchor: int
    ) -> list[Line]:
        inner = indent + INDENT
        return [
            Line(indent, prefix + "(", anchor, inner),
            *self.lines(node, inner, "", "", self._first(node, COND), COND, nested=True),
            Line(indent, ")" + suffix, _closing_paren(node), inner),
        ]

    def _bracketed(
        self,
        node: ast.Call | ast.TupleExpr | ast.ListExpr,
        indent: int,
        prefix: str,
        suffix: str,
        anchor: int,
    ) -> list[Line]:
        """A call, list or tuple with one item per line, indented one step deeper."""
        if isinstance(node, ast.Call):
            opener, closer = flat(node.func, POSTFIX) + "(", ")"
            items = [
                (label(a), a.value, a.span.start if a.name else self._first(a.value, COND))
                for a in node.args
            ]
        else:
            opener, closer = ("[", "]") if isinstance(node, ast.ListExpr) else ("(", ")")
            items = [("", item, self._first(item, COND)) for item in node.items]
        inner = indent + INDENT
        single = isinstance(node, ast.TupleExpr) and len(items) == 1
        out = [Line(indent, prefix + opener, anchor, inner)]
        for i, (name, value, start) in enumerate(items):
            comma = "," if i < len(items) - 1 or single else ""
            out += self.lines(value, inner, name, comma, start, nested=True)
        out.append(Line(indent, closer + suffix, node.span.end - 1, inner))
        return out

    def _chain(
        self,
        node: ast.Chain,
        indent: int,
        hang: int,
        prefix: str,
        suffix: str,
        anchor: int,
        nested: bool,
    ) -> list[Line]:
        """The head on the first line, then each stage on a line of its own."""
        out = self.lines(node.head, indent, prefix, "", anchor, NAMED, nested)
        parts = (node.head, *node.stages)
        for i, stage in enumerate(node.stages):
            tail = suffix if i == len(node.stages) - 1 else ""
            arrow = _token_after(parts[i], "-")
            out += self.lines(stage, hang, "-> ", tail, arrow, NAMED, nested)
        return out

    def _cond(
        self,
        node: ast.Cond,
        indent: int,
        hang: int,
        prefix: str,
        suffix: str,
        anchor: int,
        nested: bool,
    ) -> list[Line]:
        then, orelse = _token_after(node.test, "t"), _token_after(node.body, "e")
        return [
            *self.lines(node.test, indent, prefix + "if ", "", anchor, COND, nested),
            *self.lines(node.body, hang, "then ", "", then, COND, nested),
            *self.lines(node.orelse, hang, "else ", suffix, orelse, COND, nested),
        ]

    def _operation(
        self, node: Operation, indent: int, hang: int, prefix: str, suffix: str, anchor: int
    ) -> list[Line]:
        """The first operand, then each operator with its right operand on a line of its own.

        A run of operators of one precedence (`a + b - c`) breaks before each of them, all
        level, where a staircase would suggest a grouping that the tree does not have.
        """
        rest: list[tuple[str, int, ast.Expr, int]] = []
        while True:
            left_level, right_level = operand_levels(node)
            rest.append((node.op, _token_after(node.left, node.op[0]), node.right, right_level))
            left = node.left
            # A left operand of the same precedence continues the run unless it needs parentheses
            # (`(a ** b) ** c`).
            if not (
                isinstance(left, Operation) and precedence(left) == precedence(node) >= left_level
            ):
                break
            node = left
        out = self.lines(node.left, indent, prefix, "", anchor, left_level, nested=True)
        for i, (op, at, operand, level) in enumerate(reversed(rest)):
            tail = suffix if i == len(rest) - 1 else ""
            out += self.lines(operand, hang, op + " ", tail, at, level, nested=True)
        return out


def _breakable(node: ast.Expr, level: int, nested: bool) -> bool:
    """Whether ``node`` can be laid out over several lines."""
    if precedence(node) < level:
        return True
    if isinstance(node, ast.Named):
        return _breakable(node.value, NAMED, nested)
    if isinstance(node, ast.Call):
        return bool(node.args)
    if isinstance(node, ast.TupleExpr | ast.ListExpr):
        return bool(node.items)
    return isinstance(node, ast.Chain | ast.Cond) or (nested and isinstance(node, Operation))


def _token_after(node: ast.Expr, char: str) -> int:
    """The offset of the token starting with ``char`` that follows ``node`` in the source.

    Only closing parentheses, blanks and comments can lie between, and none start with ``char``.
    """
    return find_code(node.span.source.text, node.span.end, char)


def _first_part(node: ast.Expr) -> tuple[ast.Expr, int] | None:
    """The part that ``node`` starts with, and the loosest level it may have unparenthesised.

    None when ``node`` starts with a token of its own: `if`, `not`, a sign or a bracket.
    """
    if isinstance(node, Operation):
        return node.left, operand_levels(node)[0]
    if isinstance(node, ast.Chain):
        return node.head, NAMED
    if isinstance(node, ast.Named):
        return node.value, NAMED
    if isinstance(node, ast.Call):
        return node.func, POSTFIX
    if isinstance(node, ast.Attribute | ast.Index):
        return node.value, POSTFIX
    return None


def _last_part(node: ast.Expr) -> tuple[ast.Expr, int] | None:
    """The part that ``node`` ends with, and the loosest level it may have unparenthesised.

    None when ``node`` ends with a token of its own: a name, a literal or a closing bracket.
    """
    if isinstance(node, Operation):
        return node.right, operand_levels(node)[1]
    if isinstance(node, ast.Chain):
        return node.stages[-1], NAMED
    if isinstance(node, ast.Cond):
        return node.orelse, COND
    if isinstance(node, ast.Unary):
        return node.operand, NOT if node.op == "not" else UNARY
    return None


def _code_end(node: ast.Expr, level: int) -> int:
    """The offset just past the code of ``node``, a parenthesis around its last part included."""
    if precedence(node) < level:
        return _closing_paren(node) + 1
    part = _last_part(node)
    return node.span.end if part is None else _code_end(*part)


def _closing_paren(node: ast.Expr) -> int:
    """The offset of the `)` that closes the parentheses around ``node`` in the source.

    Falls back to the end of ``node`` for a tree built without a source.
    """
    part = _last_part(node)
    text = node.span.source.text
    close = skip_blank(text, node.span.end if part is None else _code_end(*part))
    return close if text[close : close + 1] == ")" else node.span.end
