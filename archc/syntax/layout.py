"""Newline handling between the lexer and the parser.

A statement ends at a newline, except where the line plainly goes on: inside brackets, after a
token that needs a right-hand side (`->`, `=`, `,`, an operator), and before a line that starts
with `->`, `then`, `else` or `as`. So a chain spans several lines the way people write them::

    y = x -> conv2d(64, 3)
          -> relu

The grammar then sees exactly one `_NL` after every statement, including the last one of a body
(inserted before `}`) and of the file.
"""

from __future__ import annotations

from collections.abc import Iterator

from lark import Token

NEWLINE = "_NL"
# Deeper bracket nesting than this is refused: no real spec needs it, and deep trees would
# exhaust Python's stack in later passes.
MAX_BRACKET_DEPTH = 64

_OPENERS = {"(", "["}
_CLOSERS = {")", "]"}
# A line ending in one of these continues on the next line.
_CONTINUES_AFTER = {
    "->", "=", ",", ":", "{", "(", "[", ".", "+", "-", "*", "/", "//", "%", "**",
    "==", "!=", "<", "<=", ">", ">=", "and", "or", "not", "if", "then", "else", "as",
}  # fmt: skip
# A line starting with one of these continues the previous one.
_CONTINUES_BEFORE = {"->", "then", "else", "as"}


class NestingTooDeep(Exception):
    """Brackets nested beyond MAX_BRACKET_DEPTH; carries the token that went too deep."""

    def __init__(self, token: Token) -> None:
        super().__init__(f"brackets nested deeper than {MAX_BRACKET_DEPTH}")
        self.token = token


def _value(token: Token) -> str:
    return "" if token.type == "STRING" else str(token)


class Layout:
    """Lark post-lexer applying the rules above."""

    always_accept = (NEWLINE,)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        depth = 0
        last: Token | None = None  # the last token passed on
        before_last = ""  # the value of the token before it
        pattern = False  # inside the braces of a naming pattern (`as layer{i + 1}`)
        pending: Token | None = None  # a newline not yet known to end a statement
        for token in stream:
            if token.type == NEWLINE:
                ends_line = depth == 0 and last is not None and last.type != NEWLINE
                if ends_line and _value(last) not in _CONTINUES_AFTER:  # type: ignore[arg-type]
                    pending = pending or token
                continue
            value = _value(token)
            closes_pattern = value == "}" and pattern
            if value == "{" and pending is None and before_last == "as":
                pattern = last is not None and last.type == "NAME"
            elif closes_pattern:
                pattern = False
            closes_body = value == "}" and not closes_pattern
            if closes_body and last is not None and last.type != NEWLINE and _value(last) != "{":
                yield (pending or Token.new_borrow_pos(NEWLINE, "\n", token))
            elif pending is not None and value not in _CONTINUES_BEFORE:
                yield pending
            pending = None
            if value in _OPENERS:
                depth += 1
                if depth > MAX_BRACKET_DEPTH:
                    raise NestingTooDeep(token)
            elif value in _CLOSERS:
                depth = max(0, depth - 1)
            yield token
            before_last = "" if last is None else _value(last)
            last = token
        if last is not None and last.type != NEWLINE:
            yield pending or Token.new_borrow_pos(NEWLINE, "\n", last)
