"""Line layout of generated calls, the way ruff (and black) format them.

A call that fits in the line stays on it. Otherwise its arguments move to one indented line
between the brackets; if that does not fit either, they go one per line with a trailing comma,
each laid out by the same rules. A list comprehension that does not fit puts its element and
its `for` clause on lines of their own, and a call whose only argument it is does not add a
trailing comma. A conditional expression that does not fit puts its value, its `if` and its
`else` on lines of their own. An assignment of arithmetic that ends in a call splits inside that
call's brackets.
"""

from __future__ import annotations

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


Node = str | Call | ListOf | IfElse


def flat(node: Node) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, ListOf):
        return f"[{flat(node.element)} {node.for_clause}]"
    if isinstance(node, IfElse):
        return f"{node.value} if {node.test} else {node.orelse}"
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


def structure(source: str, nested: bool = False) -> Node:
    """A Python expression's calls, lists and tuples (of two or more) as :class:`Call` nodes,
    and its conditional expressions inside brackets (all of them where the expression is
    ``nested`` in a call's arguments) as :class:`IfElse`, for :func:`lay_out` to wrap; every
    other part kept as written.

    >>> structure("torch.cat([a, b], dim=1)")
    Call(callee='torch.cat', args=(Arg(value=Call(callee='', args=(Arg(value='a', prefix=''), \
Arg(value='b', prefix='')), brackets='[]', hug=True), prefix=''), \
Arg(value='1', prefix='dim=')), brackets='()', hug=True)
    """
    import ast

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
        if isinstance(tree, ast.BinOp) and isinstance(tree.right, ast.Call) and not nested:
            # `y = x + f(a, b)` splits inside f's brackets, the last on the line, as ruff
            # splits a statement (inside brackets ruff splits at the operators instead)
            right, written = node(tree.right), ast.get_source_segment(source, tree.right)
            if isinstance(right, Call) and written and text.endswith(written):
                return Call(text[: -len(written)] + right.callee, right.args)
        if isinstance(tree, ast.List) and text.startswith("["):
            return Call("", tuple(Arg(node(e)) for e in tree.elts), "[]")
        if isinstance(tree, ast.Tuple) and text.startswith("(") and len(tree.elts) > 1:
            return Call("", tuple(Arg(node(e)) for e in tree.elts), hug=False)
        if isinstance(tree, ast.Starred):
            return node(tree.value)
        if isinstance(tree, ast.IfExp) and nested:
            parts = (tree.body, tree.test, tree.orelse)
            value, test, orelse = (ast.get_source_segment(source, part) or "" for part in parts)
            return IfElse(value, test, orelse)
        return text

    return node(ast.parse(source, mode="eval").body, nested)
