"""Go to definition and the outline: where names, blocks and `use` targets are defined."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types as lsp

from archc.errors import Span
from archc.syntax import ast

from .document import Snapshot, binding, path_to, signature, source_text, used_path
from .positions import Lines, uri_of

_KINDS = {
    ast.Input: lsp.SymbolKind.Variable,
    ast.Output: lsp.SymbolKind.Field,
    ast.Assign: lsp.SymbolKind.Variable,
    ast.Tie: lsp.SymbolKind.Property,
    ast.InitRule: lsp.SymbolKind.Property,
    ast.Assert: lsp.SymbolKind.Boolean,
}


def definition(snapshot: Snapshot, offset: int) -> lsp.Location | None:
    """Where the name, block or `use` path under the cursor is defined."""
    module, file = snapshot.module, snapshot.file
    if module is None or file is None:
        return None
    trail = path_to(module, offset)
    if len(trail) > 1 and isinstance(trail[0], ast.Use) and trail[-1] is trail[0].path:
        return _file_start(used_path(snapshot.path, trail[0].path.value))
    if not trail or not isinstance(trail[-1], ast.Name):
        return None
    name = trail[-1].id
    if isinstance(trail[0], ast.Definition):
        bound = binding(trail[0], name, offset)
        if bound is not None:
            return _location(snapshot, _name_span(bound, name))
    if name in file.constants:
        return _location(snapshot, _name_span(file.constants[name], name))
    if name in file.definitions:
        return _location(snapshot, file.definitions[name].node.name.span)
    return None


def _name_span(node: ast.Param | ast.Input | ast.Assign, name: str) -> Span:
    if isinstance(node, ast.Assign):
        return next(t.span for t in node.targets if t.name == name)
    return node.name.span


def _file_start(path: Path) -> lsp.Location:
    start = lsp.Position(0, 0)
    return lsp.Location(path.resolve().as_uri(), lsp.Range(start, start))


def _location(snapshot: Snapshot, span: Span) -> lsp.Location:
    """A span in this document or in a file it uses."""
    if snapshot.in_document(span):
        return lsp.Location(uri_of(snapshot.path), snapshot.lines.range(span))
    lines = Lines(span.source.text, snapshot.lines.encoding)
    return lsp.Location(uri_of(span.file), lines.range(span))


# --- the outline ---------------------------------------------------------------------------------


def symbols(snapshot: Snapshot) -> list[lsp.DocumentSymbol]:
    """Imports, constants, init rules and definitions, each definition with its statements."""
    module = snapshot.module
    if module is None:
        return []
    return [_item(snapshot.lines, item) for item in module.items]


def _item(lines: Lines, item: ast.Item) -> lsp.DocumentSymbol:
    if isinstance(item, ast.Definition):
        kind = lsp.SymbolKind.Module if item.kind == "network" else lsp.SymbolKind.Class
        params = [
            _symbol(lines, p.name.name, lsp.SymbolKind.TypeParameter, p.span, p.name.span)
            for p in item.params
        ]
        body = [_statement(lines, stmt) for stmt in item.body]
        found = _symbol(lines, item.name.name, kind, item.span, item.name.span)
        found.detail = signature(item)
        found.children = params + body
        return found
    if isinstance(item, ast.Use):
        return _symbol(
            lines, source_text(item.span), lsp.SymbolKind.File, item.span, item.path.span
        )
    if isinstance(item, ast.Assign):
        return _assign(lines, item, lsp.SymbolKind.Constant)
    if isinstance(item, ast.Function):
        found = _symbol(lines, item.name.name, lsp.SymbolKind.Function, item.span, item.name.span)
        found.detail = f"fn({', '.join(p.name.name for p in item.params)})"
        return found
    return _statement(lines, item)


def _statement(lines: Lines, stmt: ast.Stmt) -> lsp.DocumentSymbol:
    kind = _KINDS[type(stmt)]
    if isinstance(stmt, ast.Assign):
        return _assign(lines, stmt, kind)
    if isinstance(stmt, ast.Input | ast.Output) and stmt.name is not None:
        word = "in" if isinstance(stmt, ast.Input) else "out"
        found = _symbol(lines, stmt.name.name, kind, stmt.span, stmt.name.span)
        found.detail = word
        return found
    # an unnamed `out`, `tie`, `init` or `assert`: named by its first line
    text = source_text(stmt.span).split("\n", 1)[0]
    return _symbol(lines, text, kind, stmt.span, stmt.span)


def _assign(lines: Lines, stmt: ast.Assign, kind: lsp.SymbolKind) -> lsp.DocumentSymbol:
    name = ", ".join(t.name for t in stmt.targets)
    return _symbol(lines, name, kind, stmt.span, stmt.targets[0].span.to(stmt.targets[-1].span))


def _symbol(
    lines: Lines, name: str, kind: lsp.SymbolKind, span: Span, selection: Span
) -> lsp.DocumentSymbol:
    return lsp.DocumentSymbol(
        name=name, kind=kind, range=lines.range(span), selection_range=lines.range(selection)
    )
