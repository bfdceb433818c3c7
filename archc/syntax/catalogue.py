"""Syntax errors in plain words.

Lark reports a parser state and the token it could not take; this module turns that into a
:class:`Diagnostic` worded by the catalogue in archc/syntax/mistakes.py. An error is looked at
three ways, and the first that recognises it wins:

1. the rules in mistake_rules.py, which read the tokens around the error (see error_site.py);
2. the parser state, compared with the broken example snippets of the catalogue;
3. a fallback, "expected X, found Y", with every token named in words.

Each result also says which text to blank out before parsing again (see recovery.py).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from string import Template

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedToken

from archc.errors import Diagnostic, Label, SourceFile, Span, code_point, invisible
from archc.syntax.error_site import (
    BODY_WORDS,
    ENDS,
    LITERALS,
    NEEDS_OPERAND,
    STARTS_EXPR,
    Site,
    kind,
    reads_as_statement,
)
from archc.syntax.grammar import comments, parser
from archc.syntax.layout import MAX_BRACKET_DEPTH, NestingTooDeep
from archc.syntax.mistake_rules import RULES, Hit
from archc.syntax.mistakes import BY_CODE, C_OPERATORS, MISTAKES
from archc.syntax.recovery import line_range, statement_range


@dataclass(frozen=True)
class Problem:
    """A syntax error: the diagnostic, and the text to blank out before parsing again."""

    diagnostic: Diagnostic
    skip: tuple[int, int]


def syntax_problem(exc: Exception, source: SourceFile, text: str) -> Problem:
    """The problem behind a Lark error (or a nesting overflow) raised on ``text``."""
    if isinstance(exc, NestingTooDeep):
        start = exc.token.start_pos or 0
        diagnostic = Diagnostic(
            "A105",
            f"brackets are nested more than {MAX_BRACKET_DEPTH} deep",
            source.span(start, start + 1),
            label="too deeply nested",
            help="split the expression into named intermediate values",
        )
        return Problem(diagnostic, statement_range(text, start))
    if isinstance(exc, UnexpectedCharacters):
        diagnostic = _character_diagnostic(exc.pos_in_stream, source, text)
        return Problem(diagnostic, statement_range(text, exc.pos_in_stream))
    assert isinstance(exc, UnexpectedToken)
    site = Site(exc, source, text)
    hit = next((h for rule in RULES if (h := rule(site)) is not None), None) or _state_match(site)
    if hit is None:
        return _fallback(site)
    defaults = {"found": site.in_text, "previous": site.previous or ""}
    diagnostic = _diagnostic(hit, defaults)
    return Problem(diagnostic, hit.skip or _default_skip(site, diagnostic.span))


# --- parser states -------------------------------------------------------------------------------


def _state_match(site: Site) -> Hit | None:
    """The catalogue entry whose examples stop the parser in the same state, if any."""
    position = site.exc.state.position if site.exc.state is not None else None
    code = _example_states().get((position, site.exc.token.type)) or _example_states().get(
        (position, None)
    )
    if code is None:
        return None
    return Hit(code, site.at_found(), {"word": site.kind})


@functools.cache
def _example_states() -> dict[tuple[object, str | None], str]:
    """(parser state, token type) -> code, from the catalogue's examples.

    NOTE: Lark's ``match_examples`` also compares the depth of the parser stack, so an example
    only matches errors at the same nesting depth. Comparing the LALR state alone makes one
    snippet cover the same mistake anywhere, inside a body or deep in brackets.
    """
    states: dict[tuple[object, str | None], str] = {}
    for mistake in MISTAKES:
        for example in mistake.examples:
            exc = example_error(example)
            assert exc.state is not None, example
            key = (exc.state.position, None if mistake.any_token else exc.token.type)
            states.setdefault(key, mistake.code)
    return states


def example_error(snippet: str) -> UnexpectedToken:
    """The error a catalogue snippet raises (it must raise one)."""
    reset = comments.set([])
    try:
        parser().parse(snippet)
    except UnexpectedToken as exc:
        return exc
    finally:
        comments.reset(reset)
    raise AssertionError(f"catalogue example parses without error: {snippet!r}")


# --- building the diagnostic ---------------------------------------------------------------------


def _diagnostic(hit: Hit, defaults: Mapping[str, object]) -> Diagnostic:
    """The catalogue's wording for ``hit``, its templates filled from the hit's fields."""
    mistake = BY_CODE[hit.code]
    fields = {**defaults, **hit.fields}

    def fill(template: str) -> str:
        return Template(template).substitute({k: str(v) for k, v in fields.items()})

    secondary = (Label(hit.other, fill(mistake.other)),) if hit.other is not None else ()
    return Diagnostic(
        hit.code,
        fill(mistake.message),
        hit.span,
        fill(mistake.label),
        secondary=secondary,
        help=fill(mistake.help),
    )


def _default_skip(site: Site, span: Span | None) -> tuple[int, int]:
    start = span.start if span is not None else site.offset
    if site.line_of(start) < site.line_of(site.offset):
        # The mistake was put on an earlier line than where the parser stopped: the lines in
        # between belong to the next statement, which must be parsed again.
        return line_range(site.text, start)
    return statement_range(site.text, start)


def _fallback(site: Site) -> Problem:
    expected = expected_in_words(site.accepted)
    found = describe(site.found)
    if site.kind in ENDS or _ends_early(site):
        span, label = site.after_previous(), f"expected {expected}"
        found = found if site.kind in ENDS else _WORDS["_NL"]
    else:
        span, label = site.span(site.found), f"unexpected `{site.found}`"
    diagnostic = Diagnostic("A100", f"expected {expected}, found {found}", span, label=label)
    return Problem(diagnostic, _default_skip(site, span))


def _ends_early(site: Site) -> bool:
    """Whether the error is a new statement after a line the layout joined to it."""
    if site.previous is None or site.statement_ended or not site.found_starts_line():
        return False
    return reads_as_statement(site.rest)


_WORDS = {
    "NAME": "a name",
    "INT": "a number",
    "FLOAT": "a number",
    "STRING": "a string",
    "_NL": "the end of the line",
    "$END": "the end of the file",
}
_OPERATORS = NEEDS_OPERAND | {"as", ".", "(", "["}


def describe(token: Token) -> str:
    """A token in words: "the name `x`", "`->`", "the end of the line"."""
    token_kind = kind(token)
    if token_kind in ENDS:
        return _WORDS[token_kind]
    if token_kind in LITERALS:
        return f"the {_WORDS[token_kind].split(' ', 1)[1]} `{token}`"
    return f"`{token}`"


def expected_in_words(kinds: set[str]) -> str:
    """What the parser would have taken, in words, with families of tokens grouped."""
    rest = set(kinds)
    words = []
    for family, members, needed in (
        ("a statement", BODY_WORDS | {"NAME"}, {"in", "out"}),
        ("a definition", {"block", "network", "use", "init", "NAME"}, {"block", "network"}),
        ("an expression", STARTS_EXPR, {"NAME", "INT", "STRING"}),
        ("an operator", _OPERATORS, {"+", "*", "->"}),
    ):
        if needed <= rest:
            words.append(family)
            rest -= members
    words += sorted(_WORDS.get(k, f"`{k}`") for k in rest if k not in ENDS)
    words += [_WORDS[k] for k in sorted(rest & ENDS)]
    words = list(dict.fromkeys(words))
    if not words:
        return "something else"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


# --- characters the lexer cannot read -----------------------------------------------------------


def _character_diagnostic(start: int, source: SourceFile, text: str) -> Diagnostic:
    char = text[start]
    line_end = text.find("\n", start)
    line_end = len(text) if line_end == -1 else line_end
    if char == '"':
        return Diagnostic(
            "A101",
            "unterminated string",
            source.span(start, line_end),
            label="this string is never closed",
            help='close the string with `"` on the same line',
        )
    hit = _foreign_character(start, source, text, line_end)
    if hit is not None:
        return _diagnostic(hit, {})
    if invisible(char):
        return Diagnostic(
            "A109",
            f"unexpected invisible character {code_point(char)}",
            source.span(start, start + 1),
            label="looks like a space but is not one" if char.isspace() else "invisible",
            help="such characters come with text pasted from web pages and word processors; "
            "delete it, or type a plain space in its place",
        )
    return Diagnostic(
        "A109",
        f"unexpected character `{char}`",
        source.span(start, start + 1),
        label="not part of the language",
        help=_character_help(char),
    )


def _foreign_character(start: int, source: SourceFile, text: str, line_end: int) -> Hit | None:
    """Single quotes, `;` and C's logical operators."""
    char = text[start]
    if char == "'":
        close = text.find("'", start + 1, line_end)
        end = start + 1 if close == -1 else close + 1
        inner = text[start + 1 : close] if close != -1 else "..."
        return Hit("A122", source.span(start, end), {"fixed": f'"{inner}"'})
    if char == ";":
        return Hit("A147", source.span(start, start + 1))
    if char in C_OPERATORS:
        op = text[start : start + 2] if text[start : start + 2] in C_OPERATORS else char
        fields = {"op": op, "word": C_OPERATORS[op]}
        return Hit("A148", source.span(start, start + len(op)), fields)
    return None


_LOOKALIKES = {"→": "->", "×": "*", "÷": "/", "−": "-", "“": '"', "”": '"', "≠": "!="}


def _character_help(char: str) -> str | None:
    if char in _LOOKALIKES:
        return f"write `{_LOOKALIKES[char]}` instead of `{char}`"
    if char.isalpha():
        return "names are made of ASCII letters, digits and `_`"
    return None
