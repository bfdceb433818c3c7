"""Where the parser stopped: the tokens around a syntax error, and the kinds of token in it.

Lark reports only the token it could not take and its parser state. :class:`Site` lexes the
text around that token again, so that the rules in mistake_rules.py and the fallback wording in
catalogue.py can look at what came before it, what follows on its line, and which brackets are
still open.
"""

from __future__ import annotations

import functools

from lark import TextSlice, Token
from lark.exceptions import UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr

from archc.errors import SourceFile, Span
from archc.syntax.grammar import comments, parser
from archc.syntax.layout import NestingTooDeep
from archc.syntax.recovery import scan_start

LITERALS = {"NAME", "INT", "FLOAT", "STRING"}
ENDS = {"_NL", "$END"}
OPENERS = {"(": ")", "[": "]", "{": "}"}
CLOSERS = {closer: opener for opener, closer in OPENERS.items()}


def kind(token: Token) -> str:
    """What a token is: its type for names, literals and line ends, else its text."""
    return token.type if token.type in LITERALS | ENDS else str(token)


class Site:
    """The tokens around a parser error: before it, on its line, and the unclosed brackets."""

    def __init__(self, exc: UnexpectedToken, source: SourceFile, text: str) -> None:
        self.exc = exc
        self.source = source
        self.text = text
        self.offset = _offset(exc.token, text)
        self.before, self.after, self.statement_ended = _lex_around(text, self.offset)
        self.open = _unclosed(self.before)
        self.found: Token = exc.token
        self.kind = kind(exc.token)
        # The token in the text at the error: a `}` where the layout added a newline before it.
        lexed = self.after[0] if self.after and self.after[0].start_pos == self.offset else None
        self.in_text = lexed or exc.token
        same = lexed is not None and lexed.type == exc.token.type
        # The token at the error and those after it on its line (or the next line).
        self.rest = (exc.token, *self.after[1:]) if same else (exc.token, *self.after)

    @property
    def previous(self) -> Token | None:
        return self.before[-1] if self.before else None

    @property
    def previous_kind(self) -> str:
        return kind(self.previous) if self.previous is not None else "$START"

    @functools.cached_property
    def accepted(self) -> set[str]:
        """The kinds of token the parser would have taken instead."""
        return {_terminal_kind(name) for name in self.exc.accepts or ()}

    def span(self, token: Token, until: Token | None = None) -> Span:
        end = until if until is not None else token
        return self.source.span(token.start_pos or 0, end.end_pos or 0)

    def after_previous(self) -> Span:
        """An empty span just after the last good token, where something is missing."""
        end = (self.previous.end_pos or 0) if self.previous is not None else self.offset
        return self.source.span(end, end)

    def at_found(self) -> Span:
        if self.kind in ENDS:
            return self.after_previous()
        return self.span(self.found)

    def line_of(self, offset: int) -> int:
        return self.source.line_col(offset)[0]

    def found_starts_line(self) -> bool:
        previous = self.previous
        return previous is None or previous.line != self.line_of(self.offset)

    def previous_starts_line(self) -> bool:
        return len(self.before) < 2 or self.before[-2].line != self.before[-1].line

    def following(self, index: int) -> Token | None:
        """The token ``index`` places on from the one at the error (0)."""
        return self.rest[index] if index < len(self.rest) else None


def _offset(token: Token, text: str) -> int:
    if token.type == "$END":
        return len(text)
    start = token.start_pos or 0
    # The layout adds a newline after the last token of the file, borrowing its position.
    if token.type == "_NL" and not text.startswith(("\n", "}"), start):
        return token.end_pos or start
    return start


# How many tokens from the error on are looked at; enough for any rule, bounded for long lines.
_LOOKAHEAD = 100


def _lex_around(text: str, offset: int) -> tuple[tuple[Token, ...], tuple[Token, ...], bool]:
    """The tokens before ``offset``, those from ``offset`` to the end of that line, and whether
    the layout ended a statement between the last of the first and ``offset``.

    Lexing starts at a line near ``offset`` that is outside any bracket, not at the start of
    the file, so that each error in a long file costs little.
    """
    ended = False
    before: list[Token] = []
    after: list[Token] = []
    reset = comments.set([])
    try:
        for token in parser().lex(TextSlice(text, scan_start(text, offset), None)):
            if token.type == "_NL":
                ended = ended or (token.start_pos or 0) < offset
                continue
            if (token.start_pos or 0) < offset:
                before.append(token)
                ended = False
            elif len(after) < _LOOKAHEAD and (not after or token.line == after[0].line):
                after.append(token)
            else:
                break
    except (UnexpectedInput, NestingTooDeep):
        pass  # a later mistake; the tokens up to it are all that matter
    finally:
        comments.reset(reset)
    return tuple(before), tuple(after), ended


def _unclosed(tokens: tuple[Token, ...]) -> tuple[Token, ...]:
    stack: list[Token] = []
    for token in tokens:
        if kind(token) in OPENERS:
            stack.append(token)
        elif stack and OPENERS[kind(stack[-1])] == kind(token):
            stack.pop()
    return tuple(stack)


@functools.cache
def _terminal_kind(name: str) -> str:
    if name in LITERALS | ENDS:
        return name
    pattern = parser().get_terminal(name).pattern
    return pattern.value if isinstance(pattern, PatternStr) else name


# --- kinds of token ------------------------------------------------------------------------------

STARTS_EXPR = LITERALS | {"(", "[", "-", "+", "not", "if", "true", "false", "none"}
ENDS_EXPR = LITERALS | {")", "]", "true", "false", "none"}
BINARY_ONLY = {
    "->", "*", "/", "//", "%", "**", "==", "!=", "<", "<=", ">", ">=", "and", "or",
}  # fmt: skip
NEEDS_OPERAND = BINARY_ONLY | {"+", "-", "not"}
# Tokens that leave a statement unfinished when nothing follows them.
DANGLING = NEEDS_OPERAND | {"="}
STATEMENT_WORDS = ("network", "block", "fn", "use", "init", "in", "out", "tie", "assert")
BODY_WORDS = {"in", "out", "tie", "assert", "init"}


def reads_as_statement(tokens: tuple[Token, ...]) -> bool:
    """Whether ``tokens``, the start of a line, begin a statement of their own."""
    if kind(tokens[0]) in STATEMENT_WORDS:
        return True
    return kind(tokens[0]) == "NAME" and len(tokens) > 1 and str(tokens[1]) in ("=", ",")
