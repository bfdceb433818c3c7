"""The Python API behind the command line: each function takes a path and returns results."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from archc import zoo
from archc.errors import ArchError, Diagnostic, SourceFile, UsageError, sort_diagnostics
from archc.semantics import acknowledge
from archc.semantics.elaborate import check_constants, elaborate
from archc.semantics.ir import Network
from archc.semantics.program import FileScope, Loader, load_program
from archc.syntax import ast
from archc.syntax.source import decode_source, read_source


def analyse(
    path: str,
    network: str | None = None,
    overrides: dict[str, Any] | None = None,
    strict: bool = False,
    root: str | None = None,
) -> tuple[list[Network], list[Diagnostic]]:
    """Parse, load imports and elaborate; the networks and every diagnostic, sorted.

    `use` reads files below the folder of ``path`` and in the zoo; ``root`` names a wider folder
    it may read below too. Raises :class:`archc.errors.UsageError` when the file cannot be read.
    """
    unknown = zoo.unknown(path)
    if unknown is not None:
        raise UsageError(unknown)
    try:
        file, diagnostics = load_program(path, root)
    except ArchError as exc:
        return [], exc.diagnostics
    return _elaborate_loaded(file, diagnostics, network, overrides, strict)


def analyse_text(
    path: str,
    text: str,
    network: str | None = None,
    overrides: dict[str, Any] | None = None,
    strict: bool = False,
    root: str | None = None,
) -> tuple[list[Network], list[Diagnostic]]:
    """:func:`analyse` on ``text`` as if it were the contents of the file at ``path``.

    An editor's unsaved buffer is checked this way; `use` paths still resolve relative to
    ``path``, whose file need not exist.
    """
    loader = Loader(root)
    try:
        file = loader.load(decode_source(path, text.encode("utf-8", "surrogatepass")))
    except ArchError as exc:
        return [], exc.diagnostics
    return _elaborate_loaded(file, loader.diagnostics, network, overrides, strict)


# What elaborates a loaded file: `elaborate`, or the language server's cache around it.
Elaborate = Callable[
    [FileScope, str | None, dict[str, Any] | None, bool], tuple[list[Network], list[Diagnostic]]
]


def analyse_loaded(
    file: FileScope, diagnostics: list[Diagnostic], elaborate_file: Elaborate = elaborate
) -> tuple[list[Network], list[Diagnostic]]:
    """The rest of :func:`analyse_text` for a file that a :class:`Loader` has loaded, with its
    ``diagnostics``: the language server loads and elaborates only what an edit changed."""
    return _elaborate_loaded(file, diagnostics, None, None, False, elaborate_file)


def _elaborate_loaded(
    file: FileScope,
    diagnostics: list[Diagnostic],
    network: str | None,
    overrides: dict[str, Any] | None,
    strict: bool,
    elaborate_file: Elaborate = elaborate,
) -> tuple[list[Network], list[Diagnostic]]:
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
    networks, more = elaborate_file(file, network, overrides, strict)
    found = diagnostics + more + check_constants(file)
    # an acknowledgement that silences nothing is reported only where every network was built
    # as written: with one network or other values, its warning may be missing for that reason
    complete = network is None and not overrides
    return networks, sort_diagnostics(acknowledge.applied(file.module, found, complete))


def parse_defines(defines: list[str]) -> dict[str, Any]:
    """`-D name=value` settings: the value is written as in a spec. A literal (`10`, `0.1`,
    `true`, `"a"`, `(64, 128)`) is its value; any other expression (`gelu`,
    `leaky_relu(0.1)`, `2 * width`) is evaluated where the parameter's default would be
    (settings.Written).

    >>> parse_defines(["classes=10", 'act="gelu"', "bias=false", "widths=(8, -16)"])
    {'classes': 10, 'act': 'gelu', 'bias': False, 'widths': (8, -16)}
    """
    values: dict[str, Any] = {}
    for define in defines:
        name, sep, text = define.partition("=")
        if not sep or not name.isidentifier():
            raise UsageError(f"-D takes name=value, got {define!r}")
        values[name] = _value_of(name, text, define)
    return values


def _value_of(name: str, text: str, define: str) -> Any:
    from archc.semantics.settings import Written
    from archc.syntax.parse import parse  # only here: a check whose trees are cached skips it

    try:  # a line of its own, which a diagnostic about the value shows
        module = parse(SourceFile("<-D>", f"{name} = {text}\n"))
    except ArchError:
        raise UsageError(f"cannot read the value in -D {define}") from None
    item = module.items[0]
    assert isinstance(item, ast.Assign) and len(item.targets) == 1
    try:
        return _value(item.value)
    except _NotLiteral:
        return Written(item.value)


class _NotLiteral(Exception):
    """An expression that is not a literal value."""


def _value(node: ast.Expr) -> Any:
    """A literal written as in a spec: `-2`, `0.1`, `"a"`, `true`, `none`, `(8, 16)`."""
    if (
        isinstance(node, ast.Unary)
        and node.op == "-"
        and isinstance(node.operand, ast.Int | ast.Float)
    ):
        return -node.operand.value
    if isinstance(node, ast.Int | ast.Float | ast.Str | ast.Bool):
        return node.value
    if isinstance(node, ast.NoneLit):
        return None
    if isinstance(node, ast.TupleExpr | ast.ListExpr):
        return tuple(_value(item) for item in node.items)
    raise _NotLiteral


def check(path: str, strict: bool = False) -> list[Diagnostic]:
    """Every diagnostic for the spec at ``path`` (errors and warnings), sorted by position."""
    return analyse(path, strict=strict)[1]


def format_file(path: str) -> tuple[str, str]:
    """The spec at ``path`` as stored, and in canonical layout (`archc fmt`).

    Raises :class:`archc.errors.ArchError` for a spec with syntax errors and
    :class:`archc.errors.UsageError` when the file cannot be read.
    """
    source = read_source(path)
    # Read again as stored: CRLF line ends and a byte order mark are layout to fix, and the
    # source above has already dropped them.
    stored = Path(path).read_bytes().decode("utf-8", errors="replace")
    from archc.syntax.fmt import format_source  # here: checking never formats

    return stored, format_source(source)


def compile_source(
    path: str,
    network: str | None = None,
    strict: bool = False,
    root: str | None = None,
    **overrides: Any,
) -> str:
    """The PyTorch source that `archc compile` writes for the spec at ``path``.

    Raises :class:`archc.errors.ArchError` when the spec has errors. ``root`` widens where
    `use` may read, as in :func:`analyse`.
    """
    networks, diagnostics = analyse(path, network, overrides, strict, root)
    return render_source(path, networks, diagnostics, network)


def render_source(
    path: str,
    networks: list[Network],
    diagnostics: list[Diagnostic],
    network: str | None = None,
) -> str:
    """The generated module for analysed ``networks``; raises ArchError if there were errors.

    ``path`` is the file the networks were analysed from. A network's class takes the
    parameters it computes values with, but not those the spec chooses structure with
    (archc/backends/torch/faithful.py).
    """
    require_networks(path, networks, diagnostics, network, "compile")
    # Imported here so that the static path (check, summary) never loads the code generator.
    from archc.backends.torch.emit import emit

    text = networks[0].modules[""].definition.file.source.text
    return emit(networks, path, text)


def require_networks(
    path: str,
    networks: list[Network],
    diagnostics: list[Diagnostic],
    network: str | None,
    purpose: str,
) -> None:
    """Raise ArchError for a spec with errors, and UsageError when there is no network (or not
    the one named) to ``purpose`` (compile, export)."""
    errors = [d for d in diagnostics if d.is_error]
    if errors:
        raise ArchError(errors)
    if network is not None and not networks:
        raise UsageError(f"{path} has no network `{network}`")
    if not networks:
        raise UsageError(f"{path} defines no network to {purpose}")
