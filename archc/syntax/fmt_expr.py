"""Expressions in canonical form on one line: minimal parentheses, literals as written.

:func:`flat` writes an expression on one line with only the parentheses that the grammar's
precedence needs; :mod:`archc.syntax.fmt_lines` breaks the expressions that do not fit.

>>> from archc.syntax import ast
>>> flat(ast.Binary("*", ast.Binary("+", ast.Name("a"), ast.Int(1)), ast.Name("b")))
'(a + 1) * b'
"""

from __future__ import annotations

import math

from archc.syntax import ast

# Binding strength, loosest first, following the `?expr ... ?atom` rules of grammars/arch.lark.
COND, CHAIN, NAMED, OR, AND, NOT, COMPARE, SUM, PRODUCT, UNARY, POWER, POSTFIX, ATOM = range(13)

_BINARY = {"+": SUM, "-": SUM, "*": PRODUCT, "/": PRODUCT, "//": PRODUCT, "%": PRODUCT}
_BINARY["**"] = POWER
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"}


def layer_name(node: ast.Named | ast.NamedCopies) -> str:
    """What follows `as`: a name (name_text), or a naming pattern (`layer{i + 1}`)."""
    if isinstance(node, ast.Named):
        return name_text(node.name)
    suffix = node.suffix.name if node.suffix is not None else ""
    return f"{node.prefix.name}{{{flat(node.index)}}}{suffix}"


def name_text(name: ast.Ident) -> str:
    """An `as` name as written: quoted where it was (`as "0"`)."""
    return quote(name.name) if name.quoted else name.name


def named_value_level(node: ast.Named | ast.NamedCopies) -> int:
    """The level the value of `as` is written at: a name on a named layer keeps both, a
    container around the named one, so `(block as inner) as outer` keeps its parentheses."""
    return OR if isinstance(node.value, ast.Named | ast.NamedCopies) else NAMED


def precedence(node: ast.Expr) -> int:
    """How tightly ``node`` binds: the grammar level that produces it."""
    if isinstance(node, ast.Cond):
        return COND
    if isinstance(node, ast.Chain):
        return CHAIN
    if isinstance(node, ast.Named | ast.NamedCopies):
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


def operand_levels(node: ast.Binary | ast.Compare | ast.Logic) -> tuple[int, int]:
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


def _float_text(value: float) -> str:
    """A float built without source text; one too large reads back as infinity from `1e999`."""
    return repr(value) if math.isfinite(value) else "1e999"


def label(arg: ast.Arg) -> str:
    return f"{arg.name.name}=" if arg.name else ""


def arg_text(arg: ast.Arg) -> str:
    return label(arg) + flat(arg.value)


def flat(node: ast.Expr, level: int = COND) -> str:
    """``node`` on one line, parenthesised if it binds more loosely than ``level`` allows."""
    text = _bare(node)
    return f"({text})" if precedence(node) < level else text


def _bare(node: ast.Expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    # A parsed number keeps its spelling: `50_257` and `1e-5` say something `50257` and `1e-05`
    # do not.
    if isinstance(node, ast.Int):
        return node.text or str(node.value)
    if isinstance(node, ast.Float):
        return node.text or _float_text(node.value)
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
        left, right = operand_levels(node)
        return f"{flat(node.left, left)} {node.op} {flat(node.right, right)}"
    if isinstance(node, ast.Cond):
        return f"if {flat(node.test)} then {flat(node.body)} else {flat(node.orelse)}"
    if isinstance(node, ast.Chain):
        # A parenthesised chain as the head stays a separate tree: `(a -> b) -> c`.
        return " -> ".join(flat(part, NAMED) for part in (node.head, *node.stages))
    if isinstance(node, ast.Named | ast.NamedCopies):
        return f"{flat(node.value, named_value_level(node))} as {layer_name(node)}"
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
