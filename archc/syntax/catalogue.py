"""Syntax errors in plain words.

Lark reports a parser state and the token it could not take; this module turns that into a
:class:`Diagnostic` worded by the catalogue in archc/syntax/mistakes.py. An error is looked at
three ways, and the first that recognises it wins:

1. rules that read the tokens around the error. They catch what the parser state alone cannot
   tell apart (a missing `)` looks like any other unexpected token after an argument) and move
   the caret to where the mistake is, which may be a line before where the parser noticed it;
2. the parser state, compared with the broken example snippets of the catalogue;
3. a fallback, "expected X, found Y", with every token named in words.

Each result also says which text to blank out before parsing again (see recovery.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from string import Template

from lark import TextSlice, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr

from archc.errors import Diagnostic, Label, SourceFile, Span
from archc.syntax.grammar import comments, parser
from archc.syntax.layout import MAX_BRACKET_DEPTH, NestingTooDeep
from archc.syntax.mistakes import BY_CODE, C_OPERATORS, MISTAKES, PYTHON_WORDS
from archc.syntax.recovery import line_range, scan_start, statement_range, statement_start


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


# --- where the parser stopped --------------------------------------------------------------------

_LITERALS = {"NAME", "INT", "FLOAT", "STRING"}
_ENDS = {"_NL", "$END"}
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {closer: opener for opener, closer in _OPENERS.items()}


def kind(token: Token) -> str:
    """What a token is: its type for names, literals and line ends, else its text."""
    return token.type if token.type in _LITERALS | _ENDS else str(token)


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
        if self.kind in _ENDS:
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
        if kind(token) in _OPENERS:
            stack.append(token)
        elif stack and _OPENERS[kind(stack[-1])] == kind(token):
            stack.pop()
    return tuple(stack)


@functools.cache
def _terminal_kind(name: str) -> str:
    if name in _LITERALS | _ENDS:
        return name
    pattern = parser().get_terminal(name).pattern
    return pattern.value if isinstance(pattern, PatternStr) else name


@functools.cache
def keywords() -> frozenset[str]:
    """The reserved words of the grammar, read from its terminals."""
    words = (t.pattern.value for t in parser().terminals if isinstance(t.pattern, PatternStr))
    return frozenset(w for w in words if w.isalpha())


# --- rules ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """A recognised mistake: its code, where the caret goes, and the words for the template."""

    code: str
    span: Span
    fields: Mapping[str, object] = field(default_factory=dict)
    other: Span | None = None
    skip: tuple[int, int] | None = None


_STARTS_EXPR = _LITERALS | {"(", "[", "-", "+", "not", "if", "true", "false", "none"}
_ENDS_EXPR = _LITERALS | {")", "]", "true", "false", "none"}
_BINARY_ONLY = {
    "->", "*", "/", "//", "%", "**", "==", "!=", "<", "<=", ">", ">=", "and", "or",
}  # fmt: skip
_NEEDS_OPERAND = _BINARY_ONLY | {"+", "-", "not"}
# Tokens that leave a statement unfinished when nothing follows them.
_DANGLING = _NEEDS_OPERAND | {"="}
_STATEMENT_WORDS = ("network", "block", "use", "init", "in", "out", "tie", "assert")
_BODY_WORDS = {"in", "out", "tie", "assert", "init"}


def _closing_bracket(site: Site) -> Hit | None:
    """A `)`, `]` or `}` that closes nothing, the wrong bracket, or skips an unclosed one."""
    opener_text = _CLOSERS.get(kind(site.in_text))
    if opener_text is None:
        return None
    innermost = kind(site.open[-1]) if site.open else ""
    if innermost == opener_text:
        return None  # it closes the right bracket; the mistake is elsewhere
    if any(kind(token) == opener_text for token in site.open):
        return _missing_closer(site, site.open[-1])
    if innermost in ("(", "["):
        opener = site.open[-1]
        fields = {"opener": innermost, "closer": _OPENERS[innermost], "line": opener.line}
        return Hit("A115", site.span(site.in_text), fields, other=site.span(opener))
    return Hit("A114", site.span(site.in_text), {"opener": opener_text})


def _unclosed_bracket(site: Site) -> Hit | None:
    """A `(` or `[` still open where a new statement or the end of the file begins."""
    brackets = [token for token in site.open if kind(token) != "{"]
    if not brackets or kind(site.open[-1]) == "{":
        return None
    # A newline only reaches the parser inside brackets at the end of the file.
    if site.kind in ("$END", "_NL", "{", "block", "network") or _starts_statement(site):
        return _missing_closer(site, brackets[-1])
    return None


def _starts_statement(site: Site) -> bool:
    """Whether the token at the error begins a line that reads as a new statement."""
    if not site.found_starts_line():
        return False
    depth = 0
    for token in site.rest:
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(kind(token), 0)
        if depth < 0:
            return False  # the line closes the bracket: it is a continuation after all
    return _reads_as_statement(site.rest)


def _reads_as_statement(tokens: tuple[Token, ...]) -> bool:
    if kind(tokens[0]) in _STATEMENT_WORDS:
        return True
    return kind(tokens[0]) == "NAME" and len(tokens) > 1 and str(tokens[1]) in ("=", ",")


def _dangling_operator(site: Site) -> Hit | None:
    """An operator ending a line whose next line is a statement of its own (`y = 1 +`)."""
    if site.kind in _ENDS:
        return None
    first = len(site.before)
    while first > 0 and site.before[first - 1].line == site.found.line:
        first -= 1
    if first in (0, len(site.before)):
        return None  # the error is at the start of its line: see _missing_right_operand
    operator = site.before[first - 1]
    if kind(operator) in _DANGLING and _reads_as_statement((*site.before[first:], site.found)):
        return _operand_missing(site, operator)
    return None


def _unclosed_body(site: Site) -> Hit | None:
    """The end of the file, or a definition, while a body is still open."""
    bodies = [token for token in site.open if kind(token) == "{"]
    if not bodies or site.kind not in ("$END", "block", "network"):
        return None
    if site.kind == "$END":
        start = statement_start(site.text, bodies[-1].start_pos or 0)
        return _missing_closer(site, bodies[-1], skip=(start, len(site.text)))
    if site.found.column == 1:
        # An unindented definition is the next one; the body before it was left open.
        start = statement_start(site.text, bodies[-1].start_pos or 0)
        return _missing_closer(site, bodies[-1], skip=(start, site.offset))
    fields = {"word": site.kind, "name": _definition_name(site.before)}
    return Hit("A143", site.span(site.found), fields)


def _early_paren(site: Site) -> Hit | None:
    """A `,` after a `)` that closed the arguments too soon: a `)` later on the line is spare."""
    if site.kind != "," or any(kind(token) in ("(", "[") for token in site.open):
        return None
    line = site.found.line
    closers = [t for t in site.before if t.line == line and kind(t) == ")"]
    depth = 0
    for token in site.rest:
        depth += {"(": 1, ")": -1}.get(kind(token), 0)
        if depth < 0 and closers:
            return Hit("A153", site.span(closers[-1]))
    return None


def _body_statement_outside(site: Site) -> Hit | None:
    """`in`, `out`, `tie` or `assert` at the top level of the file."""
    if site.kind not in _BODY_WORDS - {"init"} or site.open or not site.found_starts_line():
        return None
    return Hit("A142", site.span(site.found), {"word": site.kind})


def _early_close(site: Site) -> Hit | None:
    """A body statement just after a `}`: that `}` ended the body too soon."""
    previous = site.previous
    if site.open or site.kind not in _BODY_WORDS - {"init"} or site.previous_kind != "}":
        return None
    assert previous is not None
    if previous.column == 1 and site.found.column == 1:
        return None  # an unindented statement after a body is meant to be at the top level
    start = previous.start_pos or 0
    fields = {"name": _definition_name(site.before)}
    return Hit("A152", site.span(previous), fields, skip=(start, start + 1))


def _missing_closer(site: Site, opener: Token, skip: tuple[int, int] | None = None) -> Hit:
    code = {"(": "A110", "[": "A112", "{": "A113"}[kind(opener)]
    index = site.before.index(opener)
    fields = {"line": opener.line, "name": _definition_name(site.before[:index])}
    return Hit(code, site.after_previous(), fields, other=site.span(opener), skip=skip)


def _definition_name(tokens: tuple[Token, ...]) -> str:
    """The name, in backticks, of the definition whose header is last among ``tokens``."""
    for i in range(len(tokens) - 1, -1, -1):
        if kind(tokens[i]) in ("block", "network"):
            name = tokens[i + 1 : i + 2]
            return f"`{name[0]}`" if name and name[0].type == "NAME" else "this definition"
    return "this definition"


def _update_in_place(site: Site) -> Hit | None:
    """`x += 1` and `x := 1`: an operator glued to `=`."""
    equals = site.following(1)
    if equals is None or str(equals) != "=" or equals.start_pos != site.found.end_pos:
        return None
    previous = str(site.previous) if site.previous_kind == "NAME" else "x"
    span = site.span(site.found, equals)
    if site.kind == ":":
        return Hit("A124", span, {"previous": previous})
    if site.kind in ("+", "-", "*", "/", "//", "%", "**") and site.previous_kind == "NAME":
        return Hit("A123", span, {"op": site.kind, "previous": previous})
    return None


def _slash_comment(site: Site) -> Hit | None:
    if site.kind == "//" and site.found_starts_line():
        line_end = site.text.find("\n", site.offset)
        skip = (site.offset, len(site.text) if line_end == -1 else line_end)
        return Hit("A149", site.span(site.found), skip=skip)
    return None


def _missing_left_operand(site: Site) -> Hit | None:
    if site.kind not in _BINARY_ONLY or site.previous_kind in _ENDS_EXPR:
        return None
    if site.kind == "->":
        return Hit("A131", site.span(site.found))
    return Hit("A134", site.span(site.found), {"op": site.kind})


def _missing_right_operand(site: Site) -> Hit | None:
    """An operator, `->` or `=` with nothing usable after it, often at the end of a line."""
    if site.previous is None or site.previous_kind not in _DANGLING:
        return None
    return None if site.kind in _STARTS_EXPR else _operand_missing(site, site.previous)


def _operand_missing(site: Site, operator: Token) -> Hit:
    code = {"->": "A132", "=": "A150"}.get(kind(operator), "A133")
    return Hit(code, site.span(operator), {"op": kind(operator)})


def _number_then_name(site: Site) -> Hit | None:
    previous = site.previous
    if site.kind != "NAME" or site.previous_kind not in ("INT", "FLOAT") or previous is None:
        return None
    if previous.end_pos != site.found.start_pos:
        return None
    fields = {"number": str(previous), "word": str(site.found)}
    return Hit("A141", site.span(previous, site.found), fields)


def _python_word(site: Site) -> Hit | None:
    previous = site.previous
    if previous is None or site.previous_kind != "NAME" or str(previous) not in PYTHON_WORDS:
        return None
    fields = {"word": str(previous), "advice": PYTHON_WORDS[str(previous)]}
    return Hit("A121", site.span(previous), fields)


def _misspelt_keyword(site: Site) -> Hit | None:
    """A name close to a keyword: at the start of a statement, or where a keyword is expected."""
    previous = site.previous
    if (
        previous is not None
        and site.previous_kind == "NAME"
        and len(previous) >= 2
        and site.previous_starts_line()
        and not any(kind(token) in ("(", "[") for token in site.open)
        and site.kind not in ("=", ",", ":")
    ):
        suggestion = did_you_mean(str(previous), _STATEMENT_WORDS)
        if suggestion:
            return Hit("A120", site.span(previous), {"word": previous, "suggestion": suggestion})
    # Short names are usually meant as names (`a b` is not a misspelt `as`).
    if site.kind == "NAME" and len(site.found) >= 3:
        expected = sorted(site.accepted & keywords())
        suggestion = did_you_mean(str(site.found), expected)
        if suggestion:
            fields = {"word": site.found, "suggestion": suggestion}
            return Hit("A120", site.span(site.found), fields)
    return None


def _misspelt_continuation(site: Site) -> Hit | None:
    """A misspelt `then` or `else` starting a line: the layout took it for a new statement."""
    word = site.following(1)
    if site.kind != "_NL" or word is None or kind(word) != "NAME" or len(word) < 3:
        return None
    suggestion = did_you_mean(str(word), sorted(site.accepted & {"then", "else"}))
    if suggestion is None:
        return None
    # Blank the statement and the misspelt line with it, which belongs to it.
    skip = (statement_start(site.text, site.offset), line_range(site.text, word.start_pos or 0)[1])
    return Hit("A120", site.span(word), {"word": word, "suggestion": suggestion}, skip=skip)


def _python_conditional(site: Site) -> Hit | None:
    if site.kind == "if" and site.previous_kind in _ENDS_EXPR and not site.found_starts_line():
        return Hit("A137", site.span(site.found))
    return None


def _missing_then(site: Site) -> Hit | None:
    if "then" in site.accepted and site.kind != "then":
        return Hit("A136", site.at_found())
    return None


def _keyword_as_name(site: Site) -> Hit | None:
    previous = site.previous
    if site.kind == "=" and previous is not None and site.previous_kind in keywords():
        return Hit("A144", site.span(previous), {"word": site.previous_kind})
    if (
        site.kind in keywords() - _STARTS_EXPR
        and "NAME" in site.accepted
        and not site.found_starts_line()
    ):
        return Hit("A144", site.span(site.found), {"word": site.kind})
    return None


def _missing_comma(site: Site) -> Hit | None:
    if not site.open or kind(site.open[-1]) not in ("(", "[") or "," not in site.accepted:
        return None
    if site.kind not in _STARTS_EXPR or site.previous_kind not in _ENDS_EXPR:
        return None
    return Hit("A145", site.span(site.found), {"items": _items(site, site.open[-1])})


def _items(site: Site, opener: Token) -> str:
    index = site.before.index(opener)
    ahead = [kind(token) for token in site.before[max(0, index - 2) : index]]
    if kind(opener) == "(" and ahead[-1:] and ahead[-1] in _ENDS_EXPR:
        return "parameters" if ahead[0] in ("block", "network") else "arguments"
    return "items"


def _missing_arrow(site: Site) -> Hit | None:
    if "->" in site.accepted and site.kind in _STARTS_EXPR and site.previous_kind in _ENDS_EXPR:
        return Hit("A111", site.span(site.found))
    return None


def _header_without_brace(site: Site) -> Hit | None:
    """A definition header followed by `:`, by a body without braces, or by nothing."""
    if "{" not in site.accepted:
        return None
    if site.kind == ":":
        return Hit("A125", site.span(site.found))
    if site.kind not in _ENDS:
        return None
    fields = {"name": _definition_name(site.before)}
    first, second = site.following(1), site.following(2)
    if first is not None and str(first) == "{":
        code = "A151"
    elif first is not None and (
        kind(first) in _BODY_WORDS or (kind(first) == "NAME" and str(second) == "=")
    ):
        code = "A127"
    else:
        code = "A128"
    return Hit(code, site.after_previous(), fields)


# In order: the first rule that recognises an error wins.
RULES: tuple[Callable[[Site], Hit | None], ...] = (
    _closing_bracket,
    _unclosed_bracket,
    _unclosed_body,
    _early_close,
    _early_paren,
    _body_statement_outside,
    _dangling_operator,
    _update_in_place,
    _slash_comment,
    _missing_left_operand,
    _missing_right_operand,
    _number_then_name,
    _python_word,
    _misspelt_keyword,
    _misspelt_continuation,
    _python_conditional,
    _missing_then,
    _keyword_as_name,
    _missing_comma,
    _missing_arrow,
    _header_without_brace,
)


def did_you_mean(word: str, candidates: tuple[str, ...] | list[str]) -> str | None:
    """The closest candidate within Elm's distance (1 below 3 characters, else 2), if any."""
    limit = 1 if len(word) < 3 else 2
    scored = [(edit_distance(word, c), i, c) for i, c in enumerate(candidates) if c != word]
    close = [entry for entry in scored if entry[0] <= limit]
    return min(close)[2] if close else None


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance.

    >>> edit_distance("netwrok", "network")
    2
    """
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


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
    if site.kind in _ENDS or _ends_early(site):
        span, label = site.after_previous(), f"expected {expected}"
        found = found if site.kind in _ENDS else _WORDS["_NL"]
    else:
        span, label = site.span(site.found), f"unexpected `{site.found}`"
    diagnostic = Diagnostic("A100", f"expected {expected}, found {found}", span, label=label)
    return Problem(diagnostic, _default_skip(site, span))


def _ends_early(site: Site) -> bool:
    """Whether the error is a new statement after a line the layout joined to it."""
    if site.previous is None or site.statement_ended or not site.found_starts_line():
        return False
    return _reads_as_statement(site.rest)


_WORDS = {
    "NAME": "a name",
    "INT": "a number",
    "FLOAT": "a number",
    "STRING": "a string",
    "_NL": "the end of the line",
    "$END": "the end of the file",
}
_OPERATORS = _NEEDS_OPERAND | {"as", ".", "(", "["}


def describe(token: Token) -> str:
    """A token in words: "the name `x`", "`->`", "the end of the line"."""
    token_kind = kind(token)
    if token_kind in _ENDS:
        return _WORDS[token_kind]
    if token_kind in _LITERALS:
        return f"the {_WORDS[token_kind].split(' ', 1)[1]} `{token}`"
    return f"`{token}`"


def expected_in_words(kinds: set[str]) -> str:
    """What the parser would have taken, in words, with families of tokens grouped."""
    rest = set(kinds)
    words = []
    for family, members, needed in (
        ("a statement", _BODY_WORDS | {"NAME"}, {"in", "out"}),
        ("a definition", {"block", "network", "use", "init", "NAME"}, {"block", "network"}),
        ("an expression", _STARTS_EXPR, {"NAME", "INT", "STRING"}),
        ("an operator", _OPERATORS, {"+", "*", "->"}),
    ):
        if needed <= rest:
            words.append(family)
            rest -= members
    words += sorted(_WORDS.get(k, f"`{k}`") for k in rest if k not in _ENDS)
    words += [_WORDS[k] for k in sorted(rest & _ENDS)]
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
