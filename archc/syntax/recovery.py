"""Error recovery: blank out the text around a syntax error, keeping every offset.

The parser is then run again on the blanked text, so one run reports every broken statement.
A statement is found from the text alone: it starts at a line outside any bracket that does not
continue the line before it, and runs on over the lines that continue it. A broken definition
header takes its whole body with it, since the body means nothing without the header. The `}`
that closes the enclosing body is never blanked, so the surrounding definition stays intact.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator

_CONTINUATION_STARTS = ("->", "then", "else")
_CONTINUATION_ENDS = (
    "->", "=", ",", ":", "(", "[", ".", "+", "-", "*", "/", "%", "<", ">", " and", " or", " not",
    " if", " then", " else", " as",
)  # fmt: skip
_DEFINITION = re.compile(r"(block|network)\b")
# A line starting with one of these begins the next definition of the file.
_NEXT_DEFINITION = re.compile(r"^(block|network|use)\b", re.MULTILINE)
# Lines that can only be at the top level, outside any bracket: where a scan may start.
_ANCHOR = re.compile(r"^(\}|block\b|network\b|use\b|init\b)", re.MULTILINE)
# A string (to the end of its line if unterminated), a comment, or a bracket of any kind.
_SCAN = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*|[][(){}]')
_NEWLINE = re.compile("\n")
# The code of a line: what comes before a `#` that is not inside a string.
_CODE = re.compile(r'(?:"(?:[^"\\\n]|\\.)*"?|[^"#\n])*')
# How far from an error recovery looks for the start and end of a statement, so that a huge
# file with many errors stays quick.
_REACH = 50_000


def blank(text: str, start: int, end: int) -> str:
    """``text`` with ``start:end`` replaced by spaces; newlines are kept, so offsets stay valid."""
    piece = "".join("\n" if ch == "\n" else " " for ch in text[start:end])
    return text[:start] + piece + text[end:]


def statement_start(text: str, offset: int) -> int:
    """The offset where the statement holding ``offset`` starts."""
    lines = _Lines(text, offset)
    return lines.starts[lines.first_of_statement(lines.index(offset))]


def statement_range(text: str, offset: int) -> tuple[int, int]:
    """The statement holding ``offset``, or the whole definition if it is in a header."""
    lines = _Lines(text, offset)
    line = lines.index(offset)
    first = lines.first_of_statement(line)
    start = lines.starts[first]
    if lines.is_header(first):
        return start, _definition_end(text, start)
    end = lines.end(lines.last_of_statement(first, line))
    return start, _before_closing_brace(text, start, offset, end)


def line_range(text: str, offset: int) -> tuple[int, int]:
    """From the start of the statement holding ``offset`` to the end of the line holding it.

    Used where the error was noticed on a later line than the mistake (an operator left at the
    end of a line): the next line is a statement of its own and must survive.
    """
    lines = _Lines(text, offset)
    line = lines.index(offset)
    first = lines.first_of_statement(line)
    start = lines.starts[first]
    if lines.is_header(first):
        return start, _definition_end(text, start)
    return start, _before_closing_brace(text, start, offset, lines.end(line))


class _Lines:
    """The lines of a text around an offset, with the bracket depth at the start of each."""

    def __init__(self, text: str, offset: int) -> None:
        self.text = text
        low = scan_start(text, offset)
        high = _anchor_after(text, offset)
        self.starts = [low, *(match.end() for match in _NEWLINE.finditer(text, low, high))]
        self._brackets: list[int] = []
        self._depths: list[int] = []
        depth = 0
        for position, bracket in _brackets(text, low, high):
            if bracket in "([":
                depth += 1
            elif bracket in ")]":
                depth = max(0, depth - 1)
            self._brackets.append(position)
            self._depths.append(depth)

    def index(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset) - 1

    def end(self, index: int) -> int:
        """The offset of the newline ending line ``index`` (or the end of the scanned text)."""
        if index + 1 < len(self.starts):
            return self.starts[index + 1] - 1
        line_end = self.text.find("\n", self.starts[index])
        return len(self.text) if line_end == -1 else line_end

    def depth(self, index: int) -> int:
        """How many `(` and `[` are open at the start of line ``index``."""
        before = bisect.bisect_left(self._brackets, self.starts[index])
        return self._depths[before - 1] if before else 0

    def code(self, index: int) -> str:
        return _code(self.text, self.starts[index], self.end(index)).strip()

    def is_header(self, index: int) -> bool:
        code = self.code(index)
        # Only a header opens a body: a line ending in `{` is one, however mangled.
        return bool(_DEFINITION.match(code)) or code.endswith("{")

    def continues_previous(self, index: int) -> bool:
        if self.is_header(index):
            return False
        if self.depth(index) > 0 or self.code(index).startswith(_CONTINUATION_STARTS):
            return True
        return index > 0 and self.code(index - 1).endswith(_CONTINUATION_ENDS)

    def first_of_statement(self, index: int) -> int:
        while index > 0 and self.continues_previous(index):
            index -= 1
        return index

    def indent(self, index: int) -> int:
        line = self.text[self.starts[index] : self.end(index)]
        return len(line) - len(line.lstrip(" \t"))

    def last_of_statement(self, first: int, index: int) -> int:
        """The last line of the statement starting on line ``first`` and holding line ``index``."""
        while index + 1 < len(self.starts) and self.belongs(first, index + 1):
            index += 1
        return index

    def belongs(self, first: int, index: int) -> bool:
        """Whether line ``index`` goes on with the statement starting on line ``first``.

        A line indented deeper than the first one does, even when it does not read as a
        continuation: it is most likely one that the mistake has mangled.
        """
        if self.continues_previous(index):
            return True
        deeper = self.indent(index) > self.indent(first)
        return deeper and bool(self.code(index)) and not self.is_header(index)


def scan_start(text: str, offset: int) -> int:
    """A line start before ``offset`` that is outside any bracket, not too far back.

    Reading the text around an error can start there instead of at the start of the file.
    """
    low = max(0, offset - _REACH)
    low = text.rfind("\n", 0, low) + 1 if low else 0
    anchors = [match.start() for match in _ANCHOR.finditer(text, low, offset)]
    return anchors[-1] if anchors else low


def _anchor_after(text: str, offset: int) -> int:
    """Where the scan around ``offset`` may stop: the next top-level line, or a bound."""
    line_end = text.find("\n", offset)
    if line_end == -1:
        return len(text)
    found = _ANCHOR.search(text, line_end + 1, line_end + 1 + _REACH)
    return found.start() if found is not None else min(len(text), line_end + 1 + _REACH)


def _code(text: str, start: int, end: int) -> str:
    """``text[start:end]``, a part of one line, without its comment."""
    match = _CODE.match(text, start, end)
    return match.group() if match is not None else ""


def _brackets(text: str, start: int, end: int) -> Iterator[tuple[int, str]]:
    """(offset, bracket) for the brackets and braces of ``text[start:end]``, outside strings
    and comments."""
    for match in _SCAN.finditer(text, start, end):
        if match.group() in ("(", ")", "[", "]", "{", "}"):
            yield match.start(), match.group()


def _before_closing_brace(text: str, start: int, offset: int, end: int) -> int:
    """``end``, or the `}` that ends the statement's last line, if it closes an outer body."""
    line_start = text.rfind("\n", start, end) + 1 or start
    code = _code(text, line_start, end).rstrip()
    brace = line_start + len(code) - 1
    if not code.endswith("}") or brace <= offset:
        return end
    depth = sum(1 if b == "{" else -1 for _, b in _brackets(text, start, brace) if b in "{}")
    return brace if depth <= 0 else end


def _definition_end(text: str, start: int) -> int:
    """The end of the definition whose header starts at ``start``.

    That is just after the `}` closing its body. A header without a `{` takes the lines up to
    the next `}` as its body; either way the body ends before the next definition.
    """
    line_end = text.find("\n", start)
    following = _NEXT_DEFINITION.search(text, line_end + 1) if line_end != -1 else None
    limit = following.start() - 1 if following is not None else len(text)
    depth = 0
    for position, bracket in _brackets(text, start, limit):
        depth += {"{": 1, "}": -1}.get(bracket, 0)
        if bracket == "}" and depth <= 0:
            return position + 1
    return limit
