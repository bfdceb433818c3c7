"""Line layout of generated calls, the way ruff (and black) format them.

A call that fits in the line stays on it. Otherwise its arguments move to one indented line
between the brackets; if that does not fit either, they go one per line with a trailing comma,
each laid out by the same rules. A list comprehension that does not fit puts its element and
its `for` clause on lines of their own, and a call whose only argument it is does not add a
trailing comma. A conditional expression that does not fit puts its value, its `if` and its
`else` on lines of their own. A statement's operands joined by one operator (`+`, `and`) split
inside the brackets of the last, a call, where the operator is written once; otherwise they go
one per line inside parentheses, each line starting with its operator.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

LINE_LENGTH = 99
INDENT = "    "


@dataclass(frozen=True)
class Call:
    """``callee(args)``; an argument is source text or a nested Call (``prefix`` like ``k=``)."""

    callee: str
    args: tuple[Arg, ...] = ()
    brackets: str = "()"
    # the arguments may share one indented line between the brackets, as a call's do; a tuple
    # that does not fit goes one element per line, as ruff writes it
    hug: bool = True


@dataclass(frozen=True)
class Arg:
    value: str | Call | ListOf
    prefix: str = ""  # `name=` for a keyword argument, `*` to unpack


@dataclass(frozen=True)
class ListOf:
    """``[element for_clause]``: a list comprehension."""

    element: str | Call
    for_clause: str  # `for _ in range(6)`


@dataclass(frozen=True)
class IfElse:
    """``value if test else orelse``: a conditional expression."""

    value: str
    test: str
    orelse: str


@dataclass(frozen=True)
class Operation:
    """``a op b op c``: operands joined by operators of one priority (`+` and `-`, `and`), the
    whole value of a statement (an assignment's, an `if`'s test)."""

    operands: tuple[Node, ...]
    operators: tuple[str, ...]  # one between each two operands


Node = str | Call | ListOf | IfElse | Operation


def flat(node: Node) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, ListOf):
        return f"[{flat(node.element)} {node.for_clause}]"
    if isinstance(node, IfElse):
        return f"{node.value} if {node.test} else {node.orelse}"
    if isinstance(node, Operation):
        rest = zip(node.operators, node.operands[1:], strict=True)
        return flat(node.operands[0]) + "".join(f" {op} {flat(x)}" for op, x in rest)
    inner = ", ".join(a.prefix + flat(a.value) for a in node.args)
    return f"{node.callee}{node.brackets[0]}{inner}{node.brackets[1]}"


def lay_out(indent: str, head: str, node: Node, tail: str = "") -> list[str]:
    """``head`` + ``node`` + ``tail`` as lines starting at ``indent``."""
    one = f"{indent}{head}{flat(node)}{tail}"
    if len(one) <= LINE_LENGTH or isinstance(node, str):
        return [one]
    if isinstance(node, ListOf):
        inside = indent + INDENT
        element = lay_out(inside, "", node.element)
        return [f"{indent}{head}[", *element, f"{inside}{node.for_clause}", f"{indent}]{tail}"]
    if isinstance(node, Operation):
        return _operation(indent, head, node, tail)
    if isinstance(node, IfElse):  # inside brackets, as every argument is
        return [
            f"{indent}{head}{node.value}",
            f"{indent}if {node.test}",
            f"{indent}else {node.orelse}{tail}",
        ]
    if not node.args:
        return [one]
    opening = f"{indent}{head}{node.callee}{node.brackets[0]}"
    closing = f"{indent}{node.brackets[1]}{tail}"
    inner = INDENT + ", ".join(a.prefix + flat(a.value) for a in node.args)
    if node.hug and len(indent + inner) <= LINE_LENGTH:
        return [opening, indent + inner, closing]
    lines = [opening]
    if len(node.args) == 1 and isinstance(node.args[0].value, ListOf):
        only = node.args[0]
        return [opening, *lay_out(indent + INDENT, only.prefix, only.value), closing]
    for arg in node.args:
        lines += lay_out(indent + INDENT, arg.prefix, arg.value, ",")
    lines.append(closing)
    return lines


def _operation(indent: str, head: str, node: Operation, tail: str) -> list[str]:
    """An operation too long for its line: split inside its last operand's brackets where
    one operator joins it to a call and the line up to them fits, as ruff leaves out the
    parentheses it would add; else one operand per line inside them."""
    first, *_, last = node.operands
    if len(node.operators) == 1 and isinstance(last, Call) and last.args:
        joined = f"{head}{flat(first)} {node.operators[0]} "
        if len(f"{indent}{joined}{last.callee}{last.brackets[0]}") <= LINE_LENGTH:
            return lay_out(indent, joined, last, tail)
    inside = indent + INDENT
    lines = [f"{indent}{head}(", *lay_out(inside, "", first)]
    for operator, operand in zip(node.operators, node.operands[1:], strict=True):
        lines += lay_out(inside, f"{operator} ", operand)
    return [*lines, f"{indent}){tail}"]


# the operators of each priority a statement's operation may join, as ast names them
_PRIORITIES = (
    {ast.Add: "+", ast.Sub: "-"},
    {ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@"},
)


def structure(source: str, nested: bool = False) -> Node:
    """A Python expression's calls, lists and tuples (of two or more) as :class:`Call` nodes,
    and its conditional expressions inside brackets (all of them where the expression is
    ``nested`` in a call's arguments) as :class:`IfElse`, and, where it is not nested, its
    operators at the top as an :class:`Operation`, for :func:`lay_out` to wrap; every other part
    kept as written.

    >>> structure("torch.cat([a, b], dim=1)")
    Call(callee='torch.cat', args=(Arg(value=Call(callee='', args=(Arg(value='a', prefix=''), \
Arg(value='b', prefix='')), brackets='[]', hug=True), prefix=''), \
Arg(value='1', prefix='dim=')), brackets='()', hug=True)
    """

    def node(tree: ast.expr, nested: bool = True) -> Node:
        text = ast.get_source_segment(source, tree)
        assert text is not None
        if isinstance(tree, ast.Call) and not any(k.arg is None for k in tree.keywords):
            callee = ast.get_source_segment(source, tree.func)
            assert callee is not None
            args = [Arg(node(a), "*" if isinstance(a, ast.Starred) else "") for a in tree.args]
            args += [Arg(node(k.value), f"{k.arg}=") for k in tree.keywords]
            dotted = all(part.isidentifier() for part in callee.split("."))
            return Call(callee, tuple(args)) if dotted else text
        if isinstance(tree, ast.BinOp | ast.BoolOp) and not nested:
            joined = _operands(tree)
            if joined is not None:
                written = Operation(tuple(node(o) for o in joined[0]), joined[1])
                if flat(written) == text:  # else a bracketed operand: kept as written
                    return written
        if isinstance(tree, ast.List) and text.startswith("["):
            return Call("", tuple(Arg(node(e)) for e in tree.elts), "[]")
        if isinstance(tree, ast.Tuple) and text.startswith("(") and len(tree.elts) > 1:
            return Call("", tuple(Arg(node(e)) for e in tree.elts), hug=False)
        if isinstance(tree, ast.Starred):
            return node(tree.value)
        if isinstance(tree, ast.IfExp) and nested:
            value, test = (_part(source, part) for part in (tree.body, tree.test))
            return IfElse(value, test, ast.get_source_segment(source, tree.orelse) or "")
        return text

    return node(ast.parse(source, mode="eval").body, nested)


def _part(source: str, tree: ast.expr) -> str:
    """The value or test of a conditional expression as written, in the brackets a
    conditional there needs (its source segment leaves them out): `(a if t else b) if s
    else c`, where `a if s else b if t else c` needs none."""
    text = ast.get_source_segment(source, tree) or ""
    return f"({text})" if isinstance(tree, ast.IfExp | ast.Lambda) else text


def _operands(tree: ast.BinOp | ast.BoolOp) -> tuple[list[ast.expr], tuple[str, ...]] | None:
    """The operands an operation joins at its own priority, and the operators between them:
    `a + b * c - d` joins a, b * c and d by + and -; None for an operator of no priority here."""
    if isinstance(tree, ast.BoolOp):
        word = "and" if isinstance(tree.op, ast.And) else "or"
        return tree.values, (word,) * (len(tree.values) - 1)
    level = next((ops for ops in _PRIORITIES if type(tree.op) in ops), None)
    if level is None:
        return None
    operands: list[ast.expr] = [tree.right]
    operators = [level[type(tree.op)]]
    left = tree.left
    while isinstance(left, ast.BinOp) and type(left.op) in level:
        operands.append(left.right)
        operators.append(level[type(left.op)])
        left = left.left
    operands.append(left)
    return operands[::-1], tuple(operators[::-1])
