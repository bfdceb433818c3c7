"""Moving a syntax tree parsed on its own text to where that text sits in the document.

The language server parses each top-level piece of a document alone (:mod:`archc.lsp.pieces`),
so that a piece whose text is unchanged need not be parsed again; its spans then count from the
start of the piece. Placing it in the document adds the piece's offset and line to every span
(a piece always starts a line, so columns stay) and points the spans at the document's source.
The result is a new tree, equal to the one a parse of the whole document builds, spans included.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, TypeVar

from archc import collector
from archc.errors import SourceFile, Span

T = TypeVar("T")
# Leaves of the syntax tree: values that hold no span and are shared as they are.
_LEAVES = frozenset({str, int, float, bool, type(None)})


def relocate(tree: T, source: SourceFile, offset: int, lines: int) -> T:
    """A copy of ``tree`` whose spans are ``offset`` characters and ``lines`` lines further on,
    in ``source``."""
    new, assign = object.__new__, object.__setattr__

    def span(old: Span) -> Span:
        # Spans and nodes are frozen dataclasses: object.__setattr__ fills them as their own
        # __init__ would, minus the calls through it. (Filling __dict__ instead would be no
        # faster, and would give every object a dict of its own for the collector to walk.)
        moved: Span = new(Span)
        assign(moved, "source", source)
        assign(moved, "start", old.start + offset)
        assign(moved, "end", old.end + offset)
        assign(moved, "line", old.line + lines)
        assign(moved, "col", old.col)
        assign(moved, "end_line", old.end_line + lines)
        assign(moved, "end_col", old.end_col)
        return moved

    def copy(node: Any) -> Any:
        kind = type(node)
        if kind in _LEAVES:
            return node
        if kind is tuple:
            return tuple([copy(item) for item in node])
        if kind is Span:
            return span(node)
        moved = new(kind)
        for name in _fields(kind):
            value = getattr(node, name)
            assign(moved, name, value if type(value) in _LEAVES else copy(value))
        return moved

    with collector.paused():
        return copy(tree)  # type: ignore[no-any-return]


@functools.cache
def _fields(kind: type) -> tuple[str, ...]:
    return tuple(field.name for field in dataclasses.fields(kind))
