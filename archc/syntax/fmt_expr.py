"""Expressions in canonical form: minimal parentheses, laid out on one line or broken to fit.

:func:`flat` writes an expression on one line with only the parentheses that the grammar's
precedence needs. :class:`Breaker` lays an expression out as :class:`Line` objects: one line when
it fits and no comment sits inside it, otherwise broken at its outermost structure (before `->`,
before `then` and `else`, or after an opening bracket with one item per line), each part laid out
again the same way. Every line remembers where its code starts in the source, so that
the comments of a statement can be put back between the right lines (see :mod:`archc.syntax.fmt`).

>>> from archc.syntax import ast
>>> flat(ast.Binary("*", ast.Binary("+", ast.Name("a"), ast.Int(1)), ast.Name("b")))
'(a + 1) * b'
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

from archc.syntax import ast

WIDTH = 99
INDENT = 4

# Binding strength, loosest first, following the `?expr ... ?atom` rules of grammars/arch.lark.
COND, CHAIN, NAMED, OR, AND, NOT, COMPARE, SUM, PRODUCT, UNARY, POWER, POSTFIX, ATOM = range(13)

_BINARY = {"+": SUM, "-": SUM, "*": PRODUCT, "/": PRODUCT, "//": PRODUCT, "%": PRODUCT}
_BINARY["**"] = POWER
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"}


def precedence(node: ast.Expr) -> int:
    """How tightly ``node`` binds: the grammar level that produces it."""
    if isinstance(node, ast.Cond):
        return COND
    if isinstance(node, ast.Chain):
        return CHAIN
    if isinstance(node, ast.Named):
        return NAMED
    if isinstance(node, ast.Logic):
        return OR if node.op == "or" else AND
    if isinstance(node, ast.Unary):
        return NOT if node.op == "not" else UNARY
    if isinstance(node, ast.Compare):
        return COMPARE
    if isinstance(node, ast.Binary):
        return _BINARY[node.op]
    if isinstance(node, ast.Call | ast.Attribute | ast.Index):
        return POSTFIX
    return ATOM


def _operand_levels(node: ast.Binary | ast.Compare | ast.Logic) -> tuple[int, int]:
    """The loosest levels allowed, without parentheses, left and right of the operator."""
    if isinstance(node, ast.Logic):
        return (OR, AND) if node.op == "or" else (AND, NOT)
    if isinstance(node, ast.Compare):  # comparisons do not chain: `a < b < c` is refused
        return SUM, SUM
    if node.op == "**":  # right-associative, and its right operand may be signed: `2 ** -1`
        return POSTFIX, UNARY
    level = _BINARY[node.op]
    return level, level + 1


def quote(value: str) -> str:
    """A string literal for ``value`` with the canonical escapes."""
    return '"' + "".join(_ESCAPES.get(ch, ch) for ch in value) + '"'


def float_text(value: float) -> str:
    # NOTE: a literal too large for a float reads as infinity; `1e999` reads back the same way.
    return repr(value) if math.isfinite(value) else "1e999"


def _label(arg: ast.Arg) -> str:
    return f"{arg.name.name}=" if arg.name else ""


def arg_text(arg: ast.Arg) -> str:
    return _label(arg) + flat(arg.value)


def flat(node: ast.Expr, level: int = COND) -> str:
    """``node`` on one line, parenthesised if it binds more loosely than ``level`` allows."""
    text = _bare(node)
    return f"({text})" if precedence(node) < level else text


def _bare(node: ast.Expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Int):
        return str(node.value)
    if isinstance(node, ast.Float):
        return float_text(node.value)
    if isinstance(node, ast.Str):
        return quote(node.value)
    if isinstance(node, ast.Bool):
        return "true" if node.value else "false"
    if isinstance(node, ast.NoneLit):
        return "none"
    if isinstance(node, ast.TupleExpr | ast.ListExpr):
        return _sequence(node)
    return _compound(node)


def _sequence(node: ast.TupleExpr | ast.ListExpr) -> str:
    items = ", ".join(flat(item) for item in node.items)
    if isinstance(node, ast.ListExpr):
        return f"[{items}]"
    return f"({items},)" if len(node.items) == 1 else f"({items})"


def _compound(node: ast.Expr) -> str:
    if isinstance(node, ast.Unary):
        if node.op == "not":
            return f"not {flat(node.operand, NOT)}"
        return f"{node.op}{flat(node.operand, UNARY)}"
    if isinstance(node, ast.Binary | ast.Compare | ast.Logic):
        left, right = _operand_levels(node)
        return f"{flat(node.left, left)} {node.op} {flat(node.right, right)}"
    if isinstance(node, ast.Cond):
        return f"if {flat(node.test)} then {flat(node.body)} else {flat(node.orelse)}"
    if isinstance(node, ast.Chain):
        # A parenthesised chain as the head stays a separate tree: `(a -> b) -> c`.
        return " -> ".join(flat(part, NAMED) for part in (node.head, *node.stages))
    if isinstance(node, ast.Named):
        return f"{flat(node.value, NAMED)} as {node.name.name}"
    if isinstance(node, ast.Call):
        return f"{flat(node.func, POSTFIX)}({', '.join(arg_text(a) for a in node.args)})"
    if isinstance(node, ast.Attribute):
        return f"{flat(node.value, POSTFIX)}.{node.attr.name}"
    if isinstance(node, ast.Index):
        return f"{flat(node.value, POSTFIX)}[{flat(node.index)}]"
    raise TypeError(f"not an expression: {node!r}")


def skip_blank(text: str, pos: int) -> int:
    """The first offset at or after ``pos`` that holds neither whitespace nor a comment."""
    while pos < len(text):
        if text[pos] == "#":
            end = text.find("\n", pos)
            pos = len(text) if end == -1 else end
        elif text[pos] in " \t\f\n":
            pos += 1
        else:
            break
    return pos


def find_code(text: str, pos: int, char: str) -> int:
    """The offset of the first ``char`` at or after ``pos`` outside comments (or ``len(text)``)."""
    pos = skip_blank(text, pos)
    while pos < len(text) and text[pos] != char:
        pos = skip_blank(text, pos + 1)
    return pos


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
    """Lays expressions out over lines; ``comments`` holds the offset of every comment."""

    def __init__(self, comments: Sequence[int]) -> None:
        self._comments = sorted(comments)

    def lines(
        self,
        node: ast.Expr,
        indent: int,
        prefix: str,
        suffix: str,
        anchor: int,
        level: int = COND,
        hang: int = INDENT,
    ) -> list[Line]:
        """``prefix``, ``node`` and ``suffix`` as lines; the first starts at ``anchor``.

        ``hang`` is how much deeper than the first line `->`, `then` and `else` lines go.
        """
        end = self._break_end(node, level)
        text = prefix + flat(node, level) + suffix
        fits = indent + len(text) <= WIDTH and not self._commented(node.span.start, end)
        if end is None or fits:
            return [Line(indent, text, anchor, indent)]
        if precedence(node) < level:
            return self._parenthesised(node, indent, prefix, suffix, anchor)
        if isinstance(node, ast.Named):
            tail = f" as {node.name.name}{suffix}"
            return self.lines(node.value, indent, prefix, tail, anchor, NAMED, hang)
        if isinstance(node, ast.Chain):
            return self._chain(node, indent, prefix, suffix, anchor, hang)
        if isinstance(node, ast.Cond):
            return self._cond(node, indent, prefix, suffix, anchor, hang)
        return self._bracketed(node, indent, prefix, suffix, anchor)

    def _commented(self, start: int, end: int | None) -> bool:
        """Whether a comment lies strictly between ``start`` and ``end``."""
        if end is None:
            return False
        first = bisect.bisect_right(self._comments, start)
        return first < len(self._comments) and self._comments[first] < end

    def _break_end(self, node: ast.Expr, level: int) -> int | None:
        """The anchor of the last line ``node`` gets when broken; None if it never breaks.

        A comment between the start of ``node`` and this offset forces the break, and stays
        between the same two lines on the next run, which keeps the output stable.
        """
        if precedence(node) < level:
            return _closing_paren(node)
        if isinstance(node, ast.Chain | ast.Cond):
            last, last_level = (
                (node.stages[-1], NAMED) if isinstance(node, ast.Chain) else (node.orelse, COND)
            )
            # The last part is broken too when a comment inside it forces it.
            inner = self._break_end(last, last_level)
            return last.span.start if inner is None else inner
        if isinstance(node, ast.Named):
            return self._break_end(node.value, NAMED)
        if isinstance(node, ast.Call) and node.args:
            return node.span.end - 1
        if isinstance(node, ast.TupleExpr | ast.ListExpr) and node.items:
            return node.span.end - 1
        return None

    def _parenthesised(
        self, node: ast.Expr, indent: int, prefix: str, suffix: str, anchor: int
    ) -> list[Line]:
        inner = indent + INDENT
        return [
            Line(indent, prefix + "(", anchor, inner),
            *self.lines(node, inner, "", "", node.span.start, COND, hang=0),
            Line(indent, ")" + suffix, _closing_paren(node), inner),
        ]

    def _chain(
        self, node: ast.Chain, indent: int, prefix: str, suffix: str, anchor: int, hang: int
    ) -> list[Line]:
        """The head and the first stage on one line when they fit, then one line per stage."""
        first, *rest = node.stages
        together = prefix + flat(node.head, NAMED) + " -> " + flat(first, NAMED)
        first_end = self._break_end(first, NAMED)
        apart = self._commented(
            node.span.start, first.span.start if first_end is None else first_end
        )
        if rest and indent + len(together) <= WIDTH and not apart:
            out = [Line(indent, together, anchor, indent)]
        else:
            out = self.lines(node.head, indent, prefix, "", anchor, NAMED)
            rest = list(node.stages)
        for i, stage in enumerate(rest):
            tail = suffix if i == len(rest) - 1 else ""
            out += self.lines(stage, indent + hang, "-> ", tail, stage.span.start, NAMED)
        return out

    def _cond(
        self, node: ast.Cond, indent: int, prefix: str, suffix: str, anchor: int, hang: int
    ) -> list[Line]:
        return [
            *self.lines(node.test, indent, prefix + "if ", "", anchor),
            *self.lines(node.body, indent + hang, "then ", "", node.body.span.start),
            *self.lines(node.orelse, indent + hang, "else ", suffix, node.orelse.span.start),
        ]

    def _bracketed(
        self, node: ast.Expr, indent: int, prefix: str, suffix: str, anchor: int
    ) -> list[Line]:
        """A call, list or tuple with one item per line, indented one step deeper."""
        if isinstance(node, ast.Call):
            opener, closer = flat(node.func, POSTFIX) + "(", ")"
            items = [(_label(a), a.value, a.span.start) for a in node.args]
        else:
            assert isinstance(node, ast.TupleExpr | ast.ListExpr)
            opener, closer = ("[", "]") if isinstance(node, ast.ListExpr) else ("(", ")")
            items = [("", item, item.span.start) for item in node.items]
        inner = indent + INDENT
        out = [Line(indent, prefix + opener, anchor, inner)]
        for i, (label, value, start) in enumerate(items):
            single = isinstance(node, ast.TupleExpr) and len(items) == 1
            comma = "," if i < len(items) - 1 or single else ""
            out += self.lines(value, inner, label, comma, start)
        out.append(Line(indent, closer + suffix, node.span.end - 1, inner))
        return out


def _closing_paren(node: ast.Expr) -> int:
    """The offset of the `)` that closes the parentheses around ``node`` in the source.

    Falls back to the end of ``node`` for a tree built without a source.
    """
    text = node.span.source.text
    close = skip_blank(text, node.span.end)
    return close if text[close : close + 1] == ")" else node.span.end
