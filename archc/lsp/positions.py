"""Between archc's positions (1-based lines, columns counting code points) and LSP's.

LSP counts lines from 0 and characters in the code units the client and server agreed on,
UTF-16 unless the client offered another encoding. archc reads `\\r\\n` and a lone `\\r` as one
line break, as LSP does, so line numbers agree once the text is normalised the same way.
"""

from __future__ import annotations

import bisect
from pathlib import Path

from lsprotocol import types as lsp

from archc.errors import Span, line_starts


def normalise(text: str) -> str:
    """Line breaks as archc reads them (see archc.syntax.source)."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8", "surrogatepass"))
    if encoding == "utf-32":
        return len(text)
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


class Lines:
    """A normalised text with its line starts, converting offsets and positions both ways."""

    def __init__(self, text: str, encoding: str = "utf-16") -> None:
        self.text = normalise(text)
        self.encoding = encoding
        self.starts = line_starts(self.text)

    def line(self, index: int) -> str:
        """Line ``index`` (0-based) without its line break; empty past the end."""
        if index >= len(self.starts):
            return ""
        end = self.text.find("\n", self.starts[index])
        return (
            self.text[self.starts[index] :] if end == -1 else self.text[self.starts[index] : end]
        )

    def position(self, line: int, col: int) -> lsp.Position:
        """The LSP position of archc's ``line``:``col`` (both 1-based, code points)."""
        text = self.line(line - 1)
        return lsp.Position(line - 1, _units(text[: col - 1], self.encoding))

    def position_at(self, offset: int) -> lsp.Position:
        index = bisect.bisect_right(self.starts, offset) - 1
        return self.position(index + 1, offset - self.starts[index] + 1)

    def range(self, span: Span) -> lsp.Range:
        return lsp.Range(
            self.position(span.line, span.col), self.position(span.end_line, span.end_col)
        )

    def offset(self, position: lsp.Position) -> int:
        """The code-point offset of an LSP position, clamped to the text."""
        if position.line >= len(self.starts):
            return len(self.text)
        text = self.line(position.line)
        units = 0
        for index, ch in enumerate(text):
            if units >= position.character:
                return self.starts[position.line] + index
            units += _units(ch, self.encoding)
        return self.starts[position.line] + len(text)

    def whole(self) -> lsp.Range:
        """The range of the whole text, for edits that replace all of it."""
        last = len(self.starts) - 1
        return lsp.Range(lsp.Position(0, 0), self.position(last + 1, len(self.line(last)) + 1))


def same_file(a: str, b: str) -> bool:
    return a == b or Path(a).resolve() == Path(b).resolve()


def uri_of(path: str) -> str:
    return Path(path).resolve().as_uri()
