"""The Python API behind the command line: each function takes a path and returns results."""

from __future__ import annotations

from archc.errors import ArchError, Diagnostic
from archc.syntax.parse import parse
from archc.syntax.source import read_source


def check(path: str) -> list[Diagnostic]:
    """Every diagnostic for the spec at ``path`` (errors and warnings), sorted by position.

    Raises :class:`archc.errors.UsageError` when the file cannot be read.
    """
    try:
        source = read_source(path)
        module = parse(source)
    except ArchError as exc:
        return exc.diagnostics
    if not module.items:
        return [
            Diagnostic(
                "A108",
                "the file defines nothing",
                source.span(0, 0),
                label="empty spec",
                severity="warning",
                help="a spec holds `network` and `block` definitions",
            )
        ]
    return []
