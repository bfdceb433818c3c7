"""Source files, spans and diagnostics: the one error vocabulary of archc.

Every mistake a user can make ends up as a :class:`Diagnostic`, a plain dataclass that tests can
inspect field by field; :func:`render` turns it into the compiler-style text people read::

    error[A101]: missing `)` after layer arguments
      --> net.arch:3:22
       |
     3 |     x = x -> conv2d(64, 3
       |                      ^ the call opened here is never closed

This module imports nothing else from archc.
"""

from __future__ import annotations

import bisect
import functools
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]

# Diagnostics beyond this many are summarised as "... and N more".
MAX_REPORTED = 20
# A source line longer than this is shown as a window around the caret.
MAX_SHOWN_LINE = 160
TAB_WIDTH = 4
# A name in backticks (no spaces) longer than this is shown by its ends in a message.
MAX_SHOWN_NAME = 60
_NEWLINE = re.compile("\n")
# The names control characters have in the Unicode standard but not in `unicodedata`.
_CONTROL_NAMES = {
    "\t": "CHARACTER TABULATION",
    "\x0b": "LINE TABULATION",
    "\x0c": "FORM FEED",
    "\r": "CARRIAGE RETURN",
    "\x1b": "ESCAPE",
    "\x7f": "DELETE",
    "\x85": "NEXT LINE",
}
_LONG_NAME = re.compile(f"`([^`\\s]{{{MAX_SHOWN_NAME + 1},}})`")


def invisible(char: str) -> bool:
    """Whether ``char`` shows as nothing, as blank space other than a plain space, or moves
    the text around it: a control, format, separator or unassigned character."""
    return char != " " and unicodedata.category(char)[0] in "CZ"


def code_point(char: str) -> str:
    """``char`` as its code point and name: `U+00A0 NO-BREAK SPACE`.

    >>> code_point("\u200b"), code_point("\x0b")
    ('U+200B ZERO WIDTH SPACE', 'U+000B LINE TABULATION')
    """
    name = unicodedata.name(char, "") or _CONTROL_NAMES.get(char, "")
    return f"U+{ord(char):04X} {name}".rstrip()


def readable(text: str) -> str:
    """Message text safe to print: invisible characters as `<U+200B>`, names longer than
    MAX_SHOWN_NAME shortened to their ends.

    >>> readable("unknown name `a\u200bb`")
    'unknown name `a<U+200B>b`'
    """
    if any(invisible(char) for char in text if char != "\n"):
        text = "".join(char if char == "\n" else _visible(char) for char in text)
    return _LONG_NAME.sub(_shorten, text)


def _shorten(match: re.Match[str]) -> str:
    name = match[1]
    keep = MAX_SHOWN_NAME // 2 - 2
    return f"`{name[:keep]}...{name[-keep:]}` ({len(name):,} characters)"


def line_starts(text: str) -> list[int]:
    """The offset of the first character of each line of ``text``.

    >>> line_starts("ab\\ncd\\n")
    [0, 3, 6]
    """
    # one step per line rather than per character: the language server computes this for the
    # whole document after every keystroke
    return [0, *(match.end() for match in _NEWLINE.finditer(text))]


class SourceFile:
    """The text of one spec, with the path as the user typed it.

    Offsets are character offsets into ``text``; lines and columns count from 1.

    >>> src = SourceFile("a.arch", "ab\\ncd")
    >>> src.line_col(4)
    (2, 2)
    """

    def __init__(self, path: str, text: str) -> None:
        self.path = path
        self.text = text

    @functools.cached_property
    def _line_starts(self) -> list[int]:
        # worked out on first use: most files are read, found in the parse cache and checked
        # without a line or column ever being shown
        return line_starts(self.text)

    def __repr__(self) -> str:
        return f"SourceFile({self.path!r})"

    def line_col(self, offset: int) -> tuple[int, int]:
        index = bisect.bisect_right(self._line_starts, offset) - 1
        return index + 1, offset - self._line_starts[index] + 1

    def line_text(self, line: int) -> str:
        start = self._line_starts[line - 1]
        end = self.text.find("\n", start)
        return self.text[start:] if end == -1 else self.text[start:end]

    @property
    def line_count(self) -> int:
        return len(self._line_starts)

    def span(self, start: int, end: int) -> Span:
        """The span covering characters ``start`` up to (not including) ``end``."""
        return Span(self, start, end)


class Span:
    """A region of a source file; ``end_col`` is exclusive, like ``end``. Never changed once
    made.

    The parser makes one for every node, and few are ever shown, so lines and columns are
    worked out when first asked for (a plain class with slots: a dataclass's frozen
    ``__init__`` took a tenth of a parse).

    >>> span = SourceFile("a.arch", "ab\\ncd").span(3, 5)
    >>> span, str(span)
    (Span(start=3, end=5, line=2, col=1, end_line=2, end_col=3), 'a.arch:2:1')
    """

    __slots__ = ("_position", "end", "source", "start")

    def __init__(self, source: SourceFile, start: int, end: int) -> None:
        self.source = source
        self.start = start
        self.end = end
        self._position: tuple[int, int, int, int] | None = None

    def position(self) -> tuple[int, int, int, int]:
        """(line, col, end_line, end_col)."""
        if self._position is None:
            line, col = self.source.line_col(self.start)
            end_line, end_col = self.source.line_col(max(self.end, self.start))
            self._position = (line, col, end_line, end_col)
        return self._position

    @property
    def line(self) -> int:
        return self.position()[0]

    @property
    def col(self) -> int:
        return self.position()[1]

    @property
    def end_line(self) -> int:
        return self.position()[2]

    @property
    def end_col(self) -> int:
        return self.position()[3]

    def __eq__(self, other: object) -> bool:
        # as a dataclass compared them: offsets and positions, not which file object
        if not isinstance(other, Span):
            return NotImplemented
        return (self.start, self.end, self.position()) == (
            other.start,
            other.end,
            other.position(),
        )

    def __hash__(self) -> int:
        return hash((self.start, self.end))

    def __repr__(self) -> str:
        line, col, end_line, end_col = self.position()
        return (
            f"Span(start={self.start}, end={self.end}, line={line}, col={col}, "
            f"end_line={end_line}, end_col={end_col})"
        )

    @property
    def file(self) -> str:
        return self.source.path

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"

    def to(self, other: Span) -> Span:
        """The span from the start of this one to the end of ``other``."""
        return self.source.span(self.start, other.end)


# The span of nodes that were not parsed from any file (built by hand, in tests).
NO_SPAN = SourceFile("<none>", "").span(0, 0)


@dataclass(frozen=True)
class Label:
    """A secondary span with a short message, drawn with `-` under the source."""

    span: Span
    message: str = ""


@dataclass(frozen=True)
class Diagnostic:
    """One message for the user. ``rule`` and ``with_`` carry the formula and its numbers."""

    code: str
    message: str
    span: Span | None = None
    label: str = ""
    severity: Severity = "error"
    secondary: tuple[Label, ...] = ()
    rule: str | None = None
    with_: str | None = None
    notes: tuple[str, ...] = ()
    help: str | None = None

    def __post_init__(self) -> None:
        # what a spec writes reaches the terminal: never raw control characters, never pages
        for name in ("message", "label", "rule", "with_", "help"):
            value = getattr(self, name)
            if value and value != readable(value):
                object.__setattr__(self, name, readable(value))
        if any(note != readable(note) for note in self.notes):
            object.__setattr__(self, "notes", tuple(readable(note) for note in self.notes))

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def to_json(self) -> dict[str, object]:
        span = self.span
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "file": span.file if span else None,
            "line": span.line if span else None,
            "col": span.col if span else None,
            "end_line": span.end_line if span else None,
            "end_col": span.end_col if span else None,
            "rule": self.rule,
            "with": self.with_,
            "notes": list(self.notes),
            "help": self.help,
        }


class ArchError(Exception):
    """Raised by any stage that found errors in a spec; carries all of them."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = sort_diagnostics(diagnostics)
        first = self.diagnostics[0] if self.diagnostics else None
        super().__init__(f"{first.code}: {first.message}" if first else "spec has errors")


class UsageError(Exception):
    """A mistake on the command line or with a file (missing, unreadable): exit code 2."""


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Sorted by position, without duplicates (the same code at the same place)."""
    seen: set[tuple[object, ...]] = set()
    unique = []
    for diag in diagnostics:
        key = (diag.code, diag.message, _position(diag))
        if key not in seen:
            seen.add(key)
            unique.append(diag)
    return sorted(unique, key=_position)


def _position(diag: Diagnostic) -> tuple[str, int, int]:
    span = diag.span
    return (span.file, span.start, span.end) if span else ("", -1, -1)


# --- rendering -----------------------------------------------------------------------------------

_COLOURS = {
    "error": "\x1b[1;31m",
    "warning": "\x1b[1;33m",
    "note": "\x1b[1;34m",
    "bold": "\x1b[1m",
}
_RESET = "\x1b[0m"


def render(diag: Diagnostic, color: bool = False) -> str:
    """The diagnostic as compiler-style text (see the module docstring)."""

    def paint(text: str, style: str) -> str:
        return f"{_COLOURS[style]}{text}{_RESET}" if color else text

    title = paint(f"{diag.severity}[{diag.code}]", diag.severity)
    lines = [title + paint(f": {diag.message}", "bold")]
    span = diag.span
    shown_lines = [span.line, *(s.span.line for s in diag.secondary)] if span else [0]
    gutter_width = len(str(max(shown_lines))) if span else 0
    pad = " " * gutter_width
    if span is not None:
        lines.append(f"{pad}{paint('-->', 'note')} {span}")
        lines.extend(_snippet(diag, gutter_width, paint))
    for key, value in (("rule", diag.rule), ("with", diag.with_)):
        if value:
            lines.append(f"{pad} = {paint(key, 'bold')}: {value}")
    for note in diag.notes:
        lines.append(f"{pad} = {paint('note', 'bold')}: {note}")
    if diag.help:
        lines.append(f"{pad} = {paint('help', 'bold')}: {diag.help}")
    return "\n".join(lines) + "\n"


def _snippet(diag: Diagnostic, width: int, paint) -> list[str]:  # type: ignore[no-untyped-def]
    assert diag.span is not None
    marks: dict[int, list[tuple[Span, str, str]]] = {}
    marks.setdefault(diag.span.line, []).append((diag.span, "^", diag.label))
    for extra in diag.secondary:
        if extra.span.file == diag.span.file:
            marks.setdefault(extra.span.line, []).append((extra.span, "-", extra.message))
    bar = paint("|", "note")
    out = [f"{' ' * width} {bar}"]
    previous = None
    for line in sorted(marks):
        if previous is not None and line > previous + 1:
            out.append(paint("...", "note"))
        previous = line
        shown, shift = _visible_line(diag.span.source.line_text(line), marks[line])
        out.append(f"{paint(str(line).rjust(width), 'note')} {bar} {shown}".rstrip())
        for span, char, message in marks[line]:
            start, stop = (min(column, len(shown)) for column in _columns(span, line, shift))
            marker = " " * start + char * max(1, stop - start)
            style = diag.severity if char == "^" else "note"
            out.append(f"{' ' * width} {bar} {paint(marker, style)} {message}".rstrip())
    out.append(f"{' ' * width} {bar}")
    return out


def _visible_line(text: str, marks: list[tuple[Span, str, str]]) -> tuple[str, list[int]]:
    """Expand tabs, spell out invisible characters and cut long lines; return the text and a
    map from column to display column."""
    display: list[int] = []
    pieces: list[str] = []
    position = 0
    for ch in text:
        display.append(position)
        # an invisible character is shown as its code point: it could also reorder the line
        piece = " " * TAB_WIDTH if ch == "\t" else _visible(ch)
        pieces.append(piece)
        position += len(piece)
    display.append(position)
    shown = "".join(pieces)
    if len(shown) <= MAX_SHOWN_LINE:
        return shown, display
    first_col = min(span.col for span, _, _ in marks) - 1
    window_start = max(0, display[min(first_col, len(text))] - MAX_SHOWN_LINE // 3)
    window_end = window_start + MAX_SHOWN_LINE
    prefix = "..." if window_start else ""
    suffix = "..." if window_end < len(shown) else ""
    cut = prefix + shown[window_start:window_end] + suffix
    offset = len(prefix) - window_start
    return cut, [max(0, d + offset) for d in display]


def _visible(char: str) -> str:
    return f"<U+{ord(char):04X}>" if invisible(char) else char


def _columns(span: Span, line: int, display: list[int]) -> tuple[int, int]:
    length = len(display) - 1
    start = min(span.col - 1, length) if span.line == line else 0
    stop = min(span.end_col - 1, length) if span.end_line == line else length
    start_col = display[start]
    stop_col = display[stop] if stop > start else start_col + 1
    return start_col, stop_col


def render_all(diagnostics: Sequence[Diagnostic], color: bool = False) -> str:
    """All diagnostics, capped at MAX_REPORTED, with a closing count of errors and warnings."""
    shown = diagnostics[:MAX_REPORTED]
    parts = [render(d, color) for d in shown]
    hidden = len(diagnostics) - len(shown)
    if hidden:
        parts.append(f"... and {hidden} more\n")
    errors = sum(d.is_error for d in diagnostics)
    warnings = len(diagnostics) - errors
    summary = []
    if errors:
        summary.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        summary.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    if summary:
        parts.append(f"{' and '.join(summary)} reported\n")
    return "\n".join(parts)


def to_json(diagnostics: Sequence[Diagnostic]) -> str:
    return json.dumps([d.to_json() for d in diagnostics], indent=2)
