"""archc's diagnostics as LSP diagnostics: the same codes, spans, severities and text.

What the terminal shows under the snippet (`= rule:`, `= with:`, notes, help) follows the
message on lines of its own; secondary labels become related information. A problem in a file
this one `use`s is shown at that `use`, with its real place as related information.
"""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types as lsp

from archc.errors import Diagnostic, Span
from archc.syntax import ast

from .document import Snapshot, used_path
from .positions import Lines, same_file, uri_of

_SEVERITY = {"error": lsp.DiagnosticSeverity.Error, "warning": lsp.DiagnosticSeverity.Warning}
_START = lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))


def to_lsp(snapshot: Snapshot) -> list[lsp.Diagnostic]:
    return [_convert(snapshot, diagnostic) for diagnostic in snapshot.diagnostics]


def message(diagnostic: Diagnostic) -> str:
    """The message and what the terminal prints after the snippet, one item a line."""
    lines = [diagnostic.message]
    lines += [
        f"{key}: {value}"
        for key, value in (("rule", diagnostic.rule), ("with", diagnostic.with_))
        if value
    ]
    lines += [f"note: {note}" for note in diagnostic.notes]
    if diagnostic.help:
        lines.append(f"help: {diagnostic.help}")
    return "\n".join(lines)


def _convert(snapshot: Snapshot, diagnostic: Diagnostic) -> lsp.Diagnostic:
    span = diagnostic.span
    text = message(diagnostic)
    related = []
    if span is None:
        where = _START
    elif same_file(span.file, snapshot.path):
        where = snapshot.lines.range(span)
        if diagnostic.label:
            related.append(_related(snapshot, span, diagnostic.label))
    else:
        where = _use_range(snapshot, span.file)
        text = f"{span}: {text}"
        related.append(_related(snapshot, span, diagnostic.label or diagnostic.message))
    related += [_related(snapshot, label.span, label.message) for label in diagnostic.secondary]
    return lsp.Diagnostic(
        range=where,
        message=text,
        severity=_SEVERITY[diagnostic.severity],
        code=diagnostic.code,
        source="archc",
        related_information=related or None,
    )


def _related(snapshot: Snapshot, span: Span, text: str) -> lsp.DiagnosticRelatedInformation:
    here = same_file(span.file, snapshot.path)
    lines = snapshot.lines if here else Lines(span.source.text, snapshot.lines.encoding)
    location = lsp.Location(uri_of(snapshot.path if here else span.file), lines.range(span))
    return lsp.DiagnosticRelatedInformation(location, text)


def _use_range(snapshot: Snapshot, file: str) -> lsp.Range:
    """The `use` that brings in ``file`` (or the first `use`, for a file used indirectly)."""
    module = snapshot.module
    uses = [item for item in module.items if isinstance(item, ast.Use)] if module else []
    target = Path(file).resolve()
    for use in uses:
        if used_path(snapshot.path, use.path.value).resolve() == target:
            return snapshot.lines.range(use.span)
    return snapshot.lines.range(uses[0].span) if uses else _START
