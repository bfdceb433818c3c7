"""Line layout of generated calls, the way ruff (and black) format them.

A call that fits in the line stays on it. Otherwise its arguments move to one indented line
between the brackets; if that does not fit either, they go one per line with a trailing comma,
each laid out by the same rules.
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


@dataclass(frozen=True)
class Arg:
    value: str | Call
    prefix: str = ""  # `name=` for a keyword argument


def flat(node: str | Call) -> str:
    if isinstance(node, str):
        return node
    inner = ", ".join(a.prefix + flat(a.value) for a in node.args)
    return f"{node.callee}{node.brackets[0]}{inner}{node.brackets[1]}"


def lay_out(indent: str, head: str, node: str | Call, tail: str = "") -> list[str]:
    """``head`` + ``node`` + ``tail`` as lines starting at ``indent``."""
    one = f"{indent}{head}{flat(node)}{tail}"
    if len(one) <= LINE_LENGTH or isinstance(node, str) or not node.args:
        return [one]
    opening = f"{indent}{head}{node.callee}{node.brackets[0]}"
    closing = f"{indent}{node.brackets[1]}{tail}"
    inner = INDENT + ", ".join(a.prefix + flat(a.value) for a in node.args)
    if len(indent + inner) <= LINE_LENGTH:
        return [opening, indent + inner, closing]
    lines = [opening]
    for arg in node.args:
        lines += lay_out(indent + INDENT, arg.prefix, arg.value, ",")
    lines.append(closing)
    return lines
