"""The Python API behind the command line: each function takes a path and returns results."""

from __future__ import annotations

from typing import Any

from archc.errors import ArchError, Diagnostic, SourceFile, UsageError, sort_diagnostics
from archc.semantics.elaborate import elaborate
from archc.semantics.ir import Network
from archc.semantics.program import load_program
from archc.syntax import ast
from archc.syntax.parse import parse


def analyse(
    path: str,
    network: str | None = None,
    overrides: dict[str, Any] | None = None,
    strict: bool = False,
) -> tuple[list[Network], list[Diagnostic]]:
    """Parse, load imports and elaborate; the networks and every diagnostic, sorted.

    Raises :class:`archc.errors.UsageError` when the file cannot be read.
    """
    try:
        file, diagnostics = load_program(path)
    except ArchError as exc:
        return [], exc.diagnostics
    if not file.module.items:
        empty = Diagnostic(
            "A108",
            "the file defines nothing",
            file.source.span(0, 0),
            label="empty spec",
            severity="warning",
            help="a spec holds `network` and `block` definitions",
        )
        return [], [empty]
    if any(d.is_error for d in diagnostics):
        return [], sort_diagnostics(diagnostics)
    networks, more = elaborate(file, network, overrides, strict)
    return networks, sort_diagnostics(diagnostics + more)


def parse_defines(defines: list[str]) -> dict[str, Any]:
    """`-D name=value` settings: the value is written as in a spec (`10`, `0.1`, `true`, `"a"`).

    >>> parse_defines(["classes=10", 'act="gelu"', "bias=false"])
    {'classes': 10, 'act': 'gelu', 'bias': False}
    """
    values: dict[str, Any] = {}
    for define in defines:
        name, sep, text = define.partition("=")
        if not sep or not name.isidentifier():
            raise UsageError(f"-D takes name=value, got {define!r}")
        values[name] = _literal(text, define)
    return values


def _literal(text: str, define: str) -> Any:
    try:
        module = parse(SourceFile("<-D>", f"value = {text}\n"))
    except ArchError:
        raise UsageError(f"cannot read the value in -D {define}") from None
    item = module.items[0]
    assert isinstance(item, ast.Assign)
    node = item.value
    negative = isinstance(node, ast.Unary) and node.op == "-"
    if negative:
        node = node.operand  # type: ignore[union-attr]
    if isinstance(node, ast.Int | ast.Float):
        return -node.value if negative else node.value
    if isinstance(node, ast.Str | ast.Bool) and not negative:
        return node.value
    if isinstance(node, ast.NoneLit) and not negative:
        return None
    raise UsageError(f"-D {define}: the value must be a number, a string, true, false or none")


def check(path: str, strict: bool = False) -> list[Diagnostic]:
    """Every diagnostic for the spec at ``path`` (errors and warnings), sorted by position."""
    return analyse(path, strict=strict)[1]
