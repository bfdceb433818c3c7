"""Rules that recognise a syntax mistake from the tokens around the error.

They catch what the parser state alone cannot tell apart (a missing `)` looks like any other
unexpected token after an argument) and put the caret where the mistake is, which may be a line
before where the parser noticed it. Each rule looks at a :class:`Site` and returns a
:class:`Hit` (a code from the catalogue in mistakes.py, a span and the words for its template)
or None; :data:`RULES` lists them in order, and the first that recognises an error wins.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from lark import Token

from archc.errors import Span
from archc.syntax.error_site import (
    BINARY_ONLY,
    BODY_WORDS,
    CLOSERS,
    DANGLING,
    ENDS,
    ENDS_EXPR,
    OPENERS,
    STARTS_EXPR,
    STATEMENT_WORDS,
    Site,
    kind,
    reads_as_statement,
)
from archc.syntax.grammar import keywords
from archc.syntax.mistakes import PYTHON_WORDS
from archc.syntax.recovery import line_range, statement_start


@dataclass(frozen=True)
class Hit:
    """A recognised mistake: its code, where the caret goes, and the words for the template."""

    code: str
    span: Span
    fields: Mapping[str, object] = field(default_factory=dict)
    other: Span | None = None
    skip: tuple[int, int] | None = None


def _closing_bracket(site: Site) -> Hit | None:
    """A `)`, `]` or `}` that closes nothing, the wrong bracket, or skips an unclosed one."""
    opener_text = CLOSERS.get(kind(site.in_text))
    if opener_text is None:
        return None
    innermost = kind(site.open[-1]) if site.open else ""
    if innermost == opener_text:
        return None  # it closes the right bracket; the mistake is elsewhere
    if any(kind(token) == opener_text for token in site.open):
        return _missing_closer(site, site.open[-1])
    if innermost in ("(", "["):
        opener = site.open[-1]
        fields = {"opener": innermost, "closer": OPENERS[innermost], "line": opener.line}
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
    return reads_as_statement(site.rest)


def _dangling_operator(site: Site) -> Hit | None:
    """An operator ending a line whose next line is a statement of its own (`y = 1 +`)."""
    if site.kind in ENDS:
        return None
    first = len(site.before)
    while first > 0 and site.before[first - 1].line == site.found.line:
        first -= 1
    if first in (0, len(site.before)):
        return None  # the error is at the start of its line: see _missing_right_operand
    operator = site.before[first - 1]
    if kind(operator) in DANGLING and reads_as_statement((*site.before[first:], site.found)):
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
    if site.kind not in BODY_WORDS - {"init"} or site.open or not site.found_starts_line():
        return None
    return Hit("A142", site.span(site.found), {"word": site.kind})


def _early_close(site: Site) -> Hit | None:
    """A body statement just after a `}`: that `}` ended the body too soon."""
    previous = site.previous
    if site.open or site.kind not in BODY_WORDS - {"init"} or site.previous_kind != "}":
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
    if site.kind not in BINARY_ONLY or site.previous_kind in ENDS_EXPR:
        return None
    if site.kind == "->":
        return Hit("A131", site.span(site.found))
    return Hit("A134", site.span(site.found), {"op": site.kind})


def _missing_right_operand(site: Site) -> Hit | None:
    """An operator, `->` or `=` with nothing usable after it, often at the end of a line."""
    if site.previous is None or site.previous_kind not in DANGLING:
        return None
    return None if site.kind in STARTS_EXPR else _operand_missing(site, site.previous)


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
        suggestion = did_you_mean(str(previous), STATEMENT_WORDS)
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
    if site.kind == "if" and site.previous_kind in ENDS_EXPR and not site.found_starts_line():
        return Hit("A137", site.span(site.found))
    return None


def _missing_then(site: Site) -> Hit | None:
    if "then" in site.accepted and site.kind != "then":
        return Hit("A136", site.at_found())
    return None


def _keyword_after_as(site: Site) -> Hit | None:
    """`as block`: a keyword as a layer's name, which quotes make a name (`as "block"`)."""
    if site.previous_kind == "as" and site.kind in keywords():
        return Hit("A160", site.span(site.found), {"word": site.kind})
    return None


def _keyword_as_name(site: Site) -> Hit | None:
    previous = site.previous
    if site.kind == "=" and previous is not None and site.previous_kind in keywords():
        return Hit("A144", site.span(previous), {"word": site.previous_kind})
    if (
        site.kind in keywords() - STARTS_EXPR
        and "NAME" in site.accepted
        and not site.found_starts_line()
    ):
        return Hit("A144", site.span(site.found), {"word": site.kind})
    return None


def _missing_comma(site: Site) -> Hit | None:
    if not site.open or kind(site.open[-1]) not in ("(", "[") or "," not in site.accepted:
        return None
    if site.kind not in STARTS_EXPR or site.previous_kind not in ENDS_EXPR:
        return None
    return Hit("A145", site.span(site.found), {"items": _items(site, site.open[-1])})


def _items(site: Site, opener: Token) -> str:
    index = site.before.index(opener)
    ahead = [kind(token) for token in site.before[max(0, index - 2) : index]]
    if kind(opener) == "(" and ahead[-1:] and ahead[-1] in ENDS_EXPR:
        return "parameters" if ahead[0] in ("block", "network") else "arguments"
    return "items"


def _missing_arrow(site: Site) -> Hit | None:
    if "->" in site.accepted and site.kind in STARTS_EXPR and site.previous_kind in ENDS_EXPR:
        return Hit("A111", site.span(site.found))
    return None


def _header_without_brace(site: Site) -> Hit | None:
    """A definition header followed by `:`, by a body without braces, or by nothing."""
    if "{" not in site.accepted:
        return None
    if site.kind == ":":
        return Hit("A125", site.span(site.found))
    if site.kind not in ENDS:
        return None
    fields = {"name": _definition_name(site.before)}
    first, second = site.following(1), site.following(2)
    if first is not None and str(first) == "{":
        code = "A151"
    elif first is not None and (
        kind(first) in BODY_WORDS or (kind(first) == "NAME" and str(second) == "=")
    ):
        code = "A127"
    else:
        code = "A128"
    return Hit(code, site.after_previous(), fields)


# In order: the first rule that recognises an error wins.
RULES: tuple[Callable[[Site], Hit | None], ...] = (
    _closing_bracket,
    _unclosed_bracket,
    _keyword_after_as,
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
