"""Moving a syntax tree parsed on its own text to where that text sits in the document.

The language server parses each top-level piece of a document alone (:mod:`archc.lsp.pieces`),
so that a piece whose text is unchanged need not be parsed again; its spans then count from the
start of the piece. Placing it in the document adds the piece's offset to every span and points
the spans at the document's source, which gives their lines and columns. The result is a new
tree, equal to the one a parse of the whole document builds, spans included.
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


def relocate(tree: T, source: SourceFile, offset: int) -> T:
    """A copy of ``tree`` whose spans are ``offset`` characters further on, in ``source``."""
    new, assign = object.__new__, object.__setattr__

    def span(old: Span) -> Span:
        return Span(source, old.start + offset, old.end + offset)

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
