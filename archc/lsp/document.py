"""One analysed version of an open document, and the questions features ask of its syntax tree.

A :class:`Snapshot` is immutable once built: the server builds it off the event loop and swaps
it in whole, so a request always sees one consistent text, tree and set of networks. (The
graphs of networks that an edit only moved are elaborated when a feature first asks for them,
on the server's worker thread; see :mod:`archc.lsp.networks`.)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archc import collector, zoo
from archc.errors import Diagnostic, Span
from archc.semantics.ir import Network
from archc.semantics.program import FileScope
from archc.syntax import ast

from .analysis import Analyser
from .networks import Networks
from .positions import Lines

Binding = ast.Param | ast.Input | ast.Assign


@dataclass(frozen=True)
class Snapshot:
    """The analysis of one text of a document."""

    path: str
    text: str
    lines: Lines
    elaborated: Networks
    diagnostics: list[Diagnostic]
    file: FileScope | None  # None while the text does not parse
    seconds: float  # how long the analysis took

    @property
    def module(self) -> ast.Module | None:
        return self.file.module if self.file is not None else None

    def networks_at(self, offset: int) -> list[Network]:
        """The networks that elaborate the top-level item at ``offset`` (a layer there is in
        these and no others); on the checking thread only."""
        module = self.module
        items = [i for i in module.items if contains(i.span, offset)] if module else []
        return self.elaborated.using(items) if items else []

    def in_document(self, span: Span) -> bool:
        # by path: trees of pieces that an edit did not touch keep the source they were read from
        return self.file is not None and span.file == self.path


def analyse_document(
    path: str, text: str, encoding: str = "utf-16", analyser: Analyser | None = None
) -> Snapshot:
    """Check ``text`` as the file at ``path`` exactly as `archc check` would, reusing what
    ``analyser`` kept from the document's earlier texts."""
    start = time.perf_counter()
    with collector.paused():  # the server collects after publishing the result
        analysis = (analyser or Analyser(path)).analyse(text)
        lines = Lines(text, encoding)
    seconds = time.perf_counter() - start
    return Snapshot(
        path, text, lines, analysis.networks, analysis.diagnostics, analysis.file, seconds
    )


def used_path(importer: str, written: str) -> Path:
    """The file a `use` in ``importer`` names."""
    if written.startswith(zoo.PREFIX):
        return Path(zoo.resolve(written))
    return Path(importer).parent / written


# --- the syntax tree -----------------------------------------------------------------------------


def contains(span: Span, offset: int) -> bool:
    """Whether the cursor at ``offset`` touches ``span`` (its end included, as editors do)."""
    return span.start <= offset <= span.end


def path_to(module: ast.Module, offset: int) -> list[Any]:
    """The nodes that contain ``offset``, from the top-level item down to the innermost."""
    found: list[Any] = []
    candidates = list(module.items)
    while candidates:
        inner = [c for c in candidates if contains(c.span, offset)]
        if not inner:
            break
        # of two touching nodes (`x|,` between an argument and the next), the later one
        # starts at the cursor; the earlier one is what was just typed
        node = inner[0]
        found.append(node)
        candidates = list(ast.children(node))
    return found


def definition_at(module: ast.Module, offset: int) -> ast.Definition | None:
    for item in module.items:
        if isinstance(item, ast.Definition) and contains(item.span, offset):
            return item
    return None


def binding(definition: ast.Definition, name: str, offset: int) -> Binding | None:
    """The parameter, input or assignment that ``name`` refers to at ``offset``."""
    return bound_names(definition, offset).get(name)


def bound_names(definition: ast.Definition, offset: int) -> dict[str, Binding]:
    """Every name a body can read at ``offset``, with what binds it."""
    names: dict[str, Binding] = {p.name.name: p for p in definition.params}
    for stmt in definition.body:
        if stmt.span.end >= offset:  # a statement reads the bindings made before it
            break
        if isinstance(stmt, ast.Input):
            names[stmt.name.name] = stmt
        elif isinstance(stmt, ast.Assign):
            names.update((t.name, stmt) for t in stmt.targets)
    return names


def source_text(span: Span) -> str:
    """The text a node was parsed from."""
    return span.source.text[span.start : span.end]


def signature(node: ast.Definition) -> str:
    """`block Name(a, b=1)` as written."""
    params = ", ".join(
        p.name.name + (f"={source_text(p.default.span)}" if p.default is not None else "")
        for p in node.params
    )
    return f"{node.kind} {node.name.name}" + (f"({params})" if node.params else "")
