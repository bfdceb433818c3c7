"""One analysed version of an open document, and the questions features ask of its syntax tree.

A :class:`Snapshot` is immutable once built: the server builds it off the event loop and swaps
it in whole, so a request always sees one consistent text, tree and set of networks.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, fields, is_dataclass
from pathlib import Path
from typing import Any

from archc import api, zoo
from archc.errors import ArchError, Diagnostic, Span, UsageError
from archc.semantics.ir import Network
from archc.semantics.program import FileScope, Loader
from archc.syntax import ast
from archc.syntax.source import decode_source

from .positions import Lines, same_file

Binding = ast.Param | ast.Input | ast.Assign


@dataclass(frozen=True)
class Snapshot:
    """The analysis of one text of a document."""

    path: str
    text: str
    lines: Lines
    networks: list[Network]
    diagnostics: list[Diagnostic]
    file: FileScope | None  # None while the text does not parse
    seconds: float  # how long the analysis took

    @property
    def module(self) -> ast.Module | None:
        return self.file.module if self.file is not None else None

    def in_document(self, span: Span) -> bool:
        return self.file is not None and span.source is self.file.source


def analyse_document(path: str, text: str, encoding: str = "utf-16") -> Snapshot:
    """Check ``text`` as the file at ``path`` exactly as `archc check` would."""
    start = time.perf_counter()
    networks, diagnostics = api.analyse_text(path, text)
    file = _file_scope(path, text, networks, diagnostics)
    lines = Lines(text, encoding)
    return Snapshot(path, text, lines, networks, diagnostics, file, time.perf_counter() - start)


def _file_scope(
    path: str, text: str, networks: list[Network], diagnostics: list[Diagnostic]
) -> FileScope | None:
    """The loaded file: the one elaboration used, or (a file of blocks only) loaded again."""
    if networks:
        return networks[0].modules[""].definition.file  # type: ignore[no-any-return]
    if any(_syntax_error_in(path, d) for d in diagnostics):
        return None  # loading again would only fail again
    try:
        return Loader().load(decode_source(path, text.encode("utf-8", "surrogatepass")))
    except (ArchError, UsageError):
        return None


def _syntax_error_in(path: str, diagnostic: Diagnostic) -> bool:
    span = diagnostic.span
    return diagnostic.code.startswith("A1") and span is not None and same_file(span.file, path)


def used_path(importer: str, written: str) -> Path:
    """The file a `use` in ``importer`` names."""
    if written.startswith(zoo.PREFIX):
        return Path(zoo.resolve(written))
    return Path(importer).parent / written


# --- the syntax tree -----------------------------------------------------------------------------


def children(node: Any) -> Iterator[Any]:
    """The syntax-tree nodes directly inside ``node``."""
    for item in fields(node):
        value = getattr(node, item.name)
        for child in value if isinstance(value, tuple) else (value,):
            if is_dataclass(child) and not isinstance(child, Span):
                yield child


def walk(node: Any) -> Iterator[Any]:
    """``node`` and everything inside it, outermost first."""
    yield node
    for child in children(node):
        yield from walk(child)


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
        candidates = list(children(node))
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
