"""A document's syntax tree, built from top-level pieces that are each parsed once per text.

The text is cut before every line that starts a top-level item (a line beginning with a name or
keyword, outside brackets): a piece is an item with the comments and blank lines after it (the
comments a file starts with are a piece of their own). A piece is parsed alone and kept by its
text, so an edit re-parses only the piece it falls in. A piece that has not moved keeps its very
tree, node for node, so what was elaborated from it stays valid (:mod:`archc.lsp.networks`); one
that moved (an edit above it changed the length of the text) is a copy of its tree, relocated.

Joining the pieces' trees gives the tree a parse of the whole text gives: the grammar is a
sequence of items, and a line break between two pieces can only join them (the layout rules of
archc/syntax/layout.py) when one of the two does not parse alone. So when any piece fails to
parse, the whole text is parsed instead, as `archc check` parses it, and its syntax errors are
the ones reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from archc.errors import ArchError, SourceFile
from archc.syntax import ast
from archc.syntax.parse import parse

from .relocate import relocate

# Strings and comments (whose brackets do not count), brackets, and a line break before a line
# that starts with a name or keyword.
_SCAN = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*|[(\[{]|[)\]}]|\n(?=[A-Za-z_])')
_OPENING = frozenset("([{")
_CLOSING = frozenset(")]}")
# Words that continue the line before rather than start an item (archc/syntax/layout.py).
_CONTINUES = re.compile(r"(?:then|else|as)\b")
# A piece that does not parse alone is tried joined to this many pieces after it (a line that
# ends in `=` continues on the next, even when that one starts at the margin).
MAX_JOINED = 2
# Trees of texts no longer in the document that are kept, for an edit that is undone.
SPARE_TREES = 256


class _Unparsed(Exception):
    """A piece that does not parse, even joined to the ones after it."""


def starts(text: str) -> list[int]:
    """The offsets where pieces of ``text`` start: 0, then every line that could start a
    top-level item."""
    found = [0]
    depth = 0
    for match in _SCAN.finditer(text):
        token = match.group()
        if token == "\n":
            if depth == 0 and not _CONTINUES.match(text, match.end()):
                found.append(match.end())
        elif token in _OPENING:
            depth += 1
        elif token in _CLOSING:
            depth = max(0, depth - 1)  # as the layout rules count
    return found


@dataclass(frozen=True)
class Piece:
    """A piece's tree placed in the document, and where: ``line`` lines precede ``start``."""

    text: str
    start: int
    line: int
    tree: ast.Module


class Pieces:
    """The trees of the pieces of one document's latest text, and of texts seen recently."""

    def __init__(self, path: str) -> None:
        self.path = path
        # piece text -> its tree with spans counted from the start of the piece; most recently
        # used last
        self._parsed: dict[str, ast.Module | None] = {}  # None: does not parse alone
        # (text, start, line) -> the tree placed there, for the pieces of the latest text
        self._placed: dict[tuple[str, int, int], ast.Module] = {}

    def parse(self, source: SourceFile) -> ast.Module:
        """The tree of the whole document; raises ArchError as ``parse(source)`` does."""
        try:
            pieces = self._pieces(source)
        except _Unparsed:
            return parse(source)  # the syntax errors exactly as a full parse reports them
        self._placed = {(p.text, p.start, p.line): p.tree for p in pieces}
        self._forget_spare({p.text for p in pieces})
        items = tuple(item for p in pieces for item in p.tree.items)
        comments = tuple(comment for p in pieces for comment in p.tree.comments)
        span = source.span(items[0].span.start, items[-1].span.end) if items else None
        return ast.Module(items, comments, span or source.span(0, 0))

    def _pieces(self, source: SourceFile) -> list[Piece]:
        bounds = [*starts(source.text), len(source.text)]
        pieces: list[Piece] = []
        line, first = 0, 0
        while first < len(bounds) - 1:
            piece = None
            last = first + 1
            while piece is None and last < min(first + 2 + MAX_JOINED, len(bounds)):
                piece = self._piece(source, bounds[first], bounds[last], line)
                last += 1
            if piece is None:
                raise _Unparsed
            pieces.append(piece)
            line += piece.text.count("\n")
            first = last - 1
        return pieces

    def _piece(self, source: SourceFile, start: int, end: int, line: int) -> Piece | None:
        """The piece of ``source`` from ``start`` to ``end``, or None if it does not parse."""
        chunk = source.text[start:end]
        tree = self._placed.get((chunk, start, line))
        if tree is None:
            parsed = self._tree(chunk)
            if parsed is None:
                return None
            tree = relocate(parsed, source, start)
        return Piece(chunk, start, line, tree)

    def _tree(self, chunk: str) -> ast.Module | None:
        """The tree of ``chunk`` parsed alone, or None when it does not parse."""
        if chunk in self._parsed:
            tree = self._parsed.pop(chunk)
        else:
            try:
                tree = parse(SourceFile(self.path, chunk))
            except ArchError:
                tree = None
        self._parsed[chunk] = tree  # the most recently used last
        return tree

    def _forget_spare(self, current: set[str]) -> None:
        spare = [chunk for chunk in self._parsed if chunk not in current]
        for chunk in spare[: max(0, len(spare) - SPARE_TREES)]:  # the least recently used
            del self._parsed[chunk]
