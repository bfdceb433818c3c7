"""Syntax errors in plain words.

Lark reports a parser state and a token; this module turns that into a :class:`Diagnostic`.
Known mistakes are recognised with Lark's ``match_examples``: each :class:`Mistake` lists short
broken snippets, and an error whose parser state matches one of them gets that mistake's wording.
Anything else falls back to "unexpected X; expected Y or Z", with tokens named in words.
"""

from __future__ import annotations

from dataclasses import dataclass

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from archc.errors import Diagnostic, SourceFile, Span
from archc.syntax.grammar import comments, parser
from archc.syntax.layout import MAX_BRACKET_DEPTH, NestingTooDeep


@dataclass(frozen=True)
class Mistake:
    """A common syntax mistake: its code, message, caret label, help and example snippets.

    With ``at_previous`` the caret goes just after the last good token (where something is
    missing) instead of under the unexpected one.
    """

    code: str
    message: str
    label: str
    help: str
    examples: tuple[str, ...]
    at_previous: bool = False


MISTAKES: tuple[Mistake, ...] = (
    Mistake(
        "A110",
        "missing `)` after call arguments",
        "expected `)` here",
        "close the argument list with `)`",
        ("x = f(1, 2\ny = 3\n", "x = f(a\n", "network N {\n out x -> f(1\n}\n"),
        at_previous=True,
    ),
    Mistake(
        "A111",
        "missing `->` between a tensor and the layer applied to it",
        "expected `->` before this",
        "chain layers with `->`, as in `x -> relu`",
        ("x = a f(1)\n", "x = a f\n", "network N {\n out x relu\n}\n"),
    ),
)


_WORDS = {
    "NAME": "a name",
    "INT": "a number",
    "FLOAT": "a number",
    "STRING": "a string",
    "_NL": "the end of the line",
    "$END": "the end of the file",
    "BLOCK": "`block`",
    "NETWORK": "`network`",
}


def describe_terminal(name: str) -> str:
    """A terminal in words: `NAME` is "a name", `LPAR` is "`(`"."""
    if name in _WORDS:
        return _WORDS[name]
    for terminal in parser().terminals:
        if terminal.name == name:
            return f"`{terminal.pattern.value}`"
    return name.lower()


def describe_token(token: Token) -> str:
    if token.type in ("$END", "_NL"):
        return _WORDS[token.type]
    if token.type in ("NAME", "INT", "FLOAT", "STRING"):
        return f"{_WORDS[token.type].split(' ', 1)[1]} `{token}`"
    return f"`{token}`"


def expected_in_words(names: set[str]) -> str:
    words = sorted({describe_terminal(n) for n in names if not n.startswith("__")})
    if not words:
        return "something else"
    if len(words) > 6:
        return "an expression or a statement"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _parse_snippet(text: str) -> object:
    token = comments.set([])
    try:
        return parser().parse(text)
    finally:
        comments.reset(token)


def _match(exc: UnexpectedInput) -> Mistake | None:
    examples = {m.code: list(m.examples) for m in MISTAKES}
    try:
        code = exc.match_examples(_parse_snippet, examples, use_accepts=True)
    except Exception:  # an example that itself failed to raise; treat as no match
        return None
    return next((m for m in MISTAKES if m.code == code), None)


def _previous_end(text: str, offset: int) -> int:
    """The offset just after the last non-blank character before ``offset``."""
    i = min(offset, len(text))
    while i > 0 and text[i - 1] in " \t\n":
        i -= 1
    return i


def syntax_diagnostic(exc: Exception, source: SourceFile, text: str) -> Diagnostic:
    """The diagnostic for a Lark error (or a nesting overflow) raised on ``text``."""
    if isinstance(exc, NestingTooDeep):
        start = exc.token.start_pos or 0
        return Diagnostic(
            "A105",
            f"brackets are nested more than {MAX_BRACKET_DEPTH} deep",
            source.span(start, start + 1),
            label="too deeply nested",
            help="split the expression into named intermediate values",
        )
    if isinstance(exc, UnexpectedCharacters):
        return _character_diagnostic(exc, source, text)
    assert isinstance(exc, (UnexpectedToken, UnexpectedEOF))
    token: Token = exc.token
    start = len(text) if token.type == "$END" else (token.start_pos or 0)
    span = source.span(start, start if token.type in ("$END", "_NL") else (token.end_pos or start))
    mistake = _match(exc)
    if mistake is not None:
        if mistake.at_previous:
            end = _previous_end(text, start)
            span = source.span(end, end)
        return Diagnostic(mistake.code, mistake.message, span, mistake.label, help=mistake.help)
    expected = expected_in_words(set(getattr(exc, "expected", ()) or ()))
    return Diagnostic(
        "A100",
        f"unexpected {describe_token(token)}",
        span,
        label=f"expected {expected}",
    )


def _character_diagnostic(exc: UnexpectedCharacters, source: SourceFile, text: str) -> Diagnostic:
    start = exc.pos_in_stream
    char = text[start]
    if char == '"':
        end = text.find("\n", start)
        span: Span = source.span(start, len(text) if end == -1 else end)
        return Diagnostic(
            "A101",
            "unterminated string",
            span,
            label="this string is never closed",
            help='close the string with `"` on the same line',
        )
    return Diagnostic(
        "A109",
        f"unexpected character `{char}`",
        source.span(start, start + 1),
        label="not part of the language",
        help=_character_help(char),
    )


_LOOKALIKES = {"→": "->", "×": "*", "÷": "/", "−": "-", "“": '"', "”": '"', "'": '"', "≠": "!="}


def _character_help(char: str) -> str | None:
    if char in _LOOKALIKES:
        return f"write `{_LOOKALIKES[char]}` instead of `{char}`"
    if char.isalpha():
        return "names are made of ASCII letters, digits and `_`"
    return None
