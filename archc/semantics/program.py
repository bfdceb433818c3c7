"""Loading a spec with everything it `use`s: files, their definitions and constants.

`use "path.arch"` is resolved relative to the importing file and makes the definitions of that
file (and of what it uses) visible. Cycles and missing files are diagnostics at the `use`.

A spec is data that may come from anyone, so `use` reads only `.arch` files below the project
root (the folder of the file being checked, unless the caller names a wider one) and in the
zoo; a path or a symbolic link that leads elsewhere is a diagnostic, never a read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from archc import zoo
from archc.errors import ArchError, Diagnostic, SourceFile, Span, UsageError
from archc.ops.registry import lookup, suggest
from archc.syntax import ast
from archc.syntax.cache import parse_cached
from archc.syntax.source import bidi_warnings, not_regular, read_source

# `use` chains deeper than this are refused (they are almost certainly a generated mistake).
MAX_IMPORT_DEPTH = 32


@dataclass(frozen=True)
class Definition:
    """A block or network definition together with the file it was written in."""

    node: ast.Definition
    file: FileScope

    @property
    def name(self) -> str:
        return self.node.name.name

    @property
    def kind(self) -> str:
        return self.node.kind


@dataclass(frozen=True)
class UserFunction:
    """A `fn` definition together with the file it was written in (whose constants and
    functions its body sees)."""

    node: ast.Function
    file: FileScope

    @property
    def name(self) -> str:
        return self.node.name.name


@dataclass(eq=False)
class FileScope:
    """One loaded file: its AST, its constants and the definitions and functions visible in
    it."""

    source: SourceFile
    module: ast.Module
    definitions: dict[str, Definition] = field(default_factory=dict)
    functions: dict[str, UserFunction] = field(default_factory=dict)
    constants: dict[str, ast.Assign] = field(default_factory=dict)
    inits: list[ast.InitRule] = field(default_factory=list)

    def own_networks(self) -> list[Definition]:
        return [d for d in self.definitions.values() if d.kind == "network" and d.file is self]


class Loader:
    """Loads a file and, recursively, the files it uses; collects diagnostics."""

    def __init__(self, root: str | None = None) -> None:
        self.files: dict[Path, FileScope] = {}
        self.diagnostics: list[Diagnostic] = []
        self._loading: list[Path] = []
        # `use` reads below the root (by default, the checked file's folder) and in the zoo
        self.root = Path(root).resolve() if root else None
        self._readable = [zoo.real_root()]

    def load(self, source: SourceFile, key: Path | None = None) -> FileScope:
        """``source`` loaded; ``key`` is its resolved path, where the caller has it."""
        return self.load_parsed(source, self.parse(source), key)

    def parse(self, source: SourceFile) -> ast.Module:
        """The syntax tree of a file; raises ArchError on syntax errors. (A subclass may reuse
        the trees of files that have not changed, as the language server does.)"""
        return parse_cached(source)

    def load_parsed(
        self, source: SourceFile, module: ast.Module, key: Path | None = None
    ) -> FileScope:
        """:meth:`load` for a file already parsed into ``module``."""
        key = key or Path(source.path).resolve()
        if not self._loading:  # the file being checked: its own folder is always readable
            folder = Path(source.path).parent.resolve()
            self.root = self.root or folder
            self._readable += [folder, self.root]
        scope = FileScope(source, module)
        self.files[key] = scope
        self.diagnostics += bidi_warnings(source)
        self._loading.append(key)
        try:
            for item in module.items:
                if isinstance(item, ast.Use):
                    self._use(scope, item)
            for item in module.items:
                self._declare(scope, item)
        finally:
            self._loading.pop()
        return scope

    def _use(self, scope: FileScope, use: ast.Use) -> None:
        written = use.path.value
        if written.startswith(zoo.PREFIX):
            target = Path(zoo.resolve(written)).resolve()
        else:
            target = (Path(scope.source.path).parent / written).resolve()
        shown = use.path.value
        if not any(target.is_relative_to(folder) for folder in self._readable):
            self._error(
                "A237",
                f'`use "{shown}"` leads to {target}, outside the project root {self.root}',
                use.path.span,
                "outside the project root",
                help="`use` reads only below the checked file's folder; to allow a wider one, "
                "pass `--root DIR` (`root=` in archc.api)",
            )
            return
        if target in self._loading:
            chain = " -> ".join(
                p.name for p in [*self._loading[self._loading.index(target) :], target]
            )
            self._error(
                "A201",
                f"import cycle: {chain}",
                use.path.span,
                "this `use` closes the cycle",
                help="move what both files need into a third file that both `use`",
            )
            return
        if len(self._loading) >= MAX_IMPORT_DEPTH:
            self._error(
                "A202",
                f"`use` chain deeper than {MAX_IMPORT_DEPTH} files",
                use.path.span,
                "one file too many",
                help="import the files from one place instead of each importing the next",
            )
            return
        kind = not_regular(target) if target.exists() else None
        if kind is not None:
            self._error(
                "A203",
                f'`use "{shown}"` names {kind}, not a spec file',
                use.path.span,
                kind,
                help="`use` imports .arch files, which are regular files",
            )
            return
        if target.suffix != ".arch":
            self._error(
                "A203",
                f'`use` only imports .arch files, not "{shown}"',
                use.path.span,
                "not a spec",
                help="write the blocks it holds as `block` definitions in an .arch file",
            )
            return
        used = self.files.get(target)
        if used is None:
            # the file is named as the user would type it: the importing file's path joined
            # with the `use` path, unless a symbolic link makes that another file
            path = os.path.normpath(os.path.join(Path(scope.source.path).parent, shown))
            if Path(path).resolve() != target:
                path = str(target)
            try:
                used = self.load(read_source(path), target)
            except UsageError as exc:
                self._error(
                    "A203",
                    f'cannot find "{shown}"' if not target.exists() else str(exc),
                    use.path.span,
                    "no such file" if not target.exists() else "unreadable",
                    help=f"the path is relative to {scope.source.path}",
                )
                return
            except ArchError as exc:  # the file's own diagnostics: not UTF-8, syntax errors
                self.diagnostics += exc.diagnostics
                return
        for name, definition in used.definitions.items():
            self._define(scope, name, definition, use.span)
        for function in used.functions.values():
            self._define_function(scope, function, use.span)

    def _declare(self, scope: FileScope, item: ast.Item) -> None:
        if isinstance(item, ast.Definition):
            self._define(scope, item.name.name, Definition(item, scope), item.name.span)
            self._check_ports(item)
        elif isinstance(item, ast.Assign):
            for target in item.targets:
                self._check_shadowing(target)
                if target.name in scope.constants:
                    first = scope.constants[target.name].span
                    self._error(
                        "A204",
                        f"`{target.name}` is defined twice",
                        target.span,
                        "defined again here",
                        notes=(f"first defined at {first}",),
                    )
                scope.constants[target.name] = item
        elif isinstance(item, ast.InitRule):
            scope.inits.append(item)
        elif isinstance(item, ast.Function):
            self._define_function(scope, UserFunction(item, scope), item.name.span)

    def _check_ports(self, definition: ast.Definition) -> None:
        """Each `in` and each `out` name once: a second would silently replace the first."""
        seen: dict[tuple[str, str], Span] = {}
        for stmt in definition.body:
            port = _port(stmt)
            if port is None:
                continue
            kind, name = port
            first = seen.setdefault((kind, name.name), name.span)
            if first is not name.span:
                what = "input" if kind == "in" else "output"
                self._error(
                    "A214",
                    f"{definition.kind} `{definition.name.name}` declares the {what} "
                    f"`{name.name}` twice",
                    name.span,
                    f"a second `{kind} {name.name}`",
                    help=f"give each {what} its own name; the second would replace the first",
                    notes=(f"first declared at {first}",),
                )

    def _check_shadowing(self, target: ast.Ident) -> None:
        if lookup(target.name) is None:
            return
        self.diagnostics.append(
            Diagnostic(
                "A240",
                f"the constant `{target.name}` has the name of a layer",
                target.span,
                "shadows the layer",
                severity="warning",
                help=f"`{target.name}` alone now means this constant while "
                f"`{target.name}(...)` still means the layer; rename the constant",
            )
        )

    def _define(self, scope: FileScope, name: str, definition: Definition, span: Span) -> None:
        existing = scope.definitions.get(name) or scope.functions.get(name)
        if existing is not None and existing.node is not definition.node:
            where = existing.node.name.span
            self._error(
                "A204",
                f"`{name}` is defined twice",
                span,
                "defined again here",
                notes=(f"first defined at {where}",),
            )
            return
        scope.definitions[name] = definition

    def _define_function(self, scope: FileScope, function: UserFunction, span: Span) -> None:
        """A function's name names nothing else: a call must not depend on which is found
        first."""
        name = function.name
        existing = scope.functions.get(name)
        if existing is not None and existing.node is function.node:
            return
        first = existing.node.name.span if existing else None
        if first is None and name in scope.definitions:
            first = scope.definitions[name].node.name.span
        if first is not None:
            self._error(
                "A204",
                f"`{name}` is defined twice",
                span,
                "defined again here",
                notes=(f"first defined at {first}",),
            )
            return
        scope.functions[name] = function

    def _error(
        self,
        code: str,
        message: str,
        span: Span,
        label: str = "",
        help: str | None = None,
        notes: tuple[str, ...] = (),
    ) -> None:
        self.diagnostics.append(Diagnostic(code, message, span, label, notes=notes, help=help))


def load_program(path: str, root: str | None = None) -> tuple[FileScope, list[Diagnostic]]:
    """Read, parse and resolve imports; raises ArchError for syntax errors in the main file.

    `use` may read below ``root`` as well as below the main file's folder and in the zoo.
    """
    loader = Loader(root)
    scope = loader.load(read_source(zoo.resolve(path)))
    return scope, loader.diagnostics


def _port(stmt: ast.Stmt) -> tuple[str, ast.Ident] | None:
    """("in", name) or ("out", name) for a statement that declares a named port."""
    if isinstance(stmt, ast.Input):
        return "in", stmt.name
    if isinstance(stmt, ast.Output):
        if stmt.name is not None:
            return "out", stmt.name
        if isinstance(stmt.value, ast.Name):
            return "out", ast.Ident(stmt.value.id, stmt.value.span)
    return None


def did_you_mean(name: str, candidates: list[str]) -> str | None:
    close = suggest(name, candidates)
    if not close:
        return None
    return "did you mean " + " or ".join(f"`{c}`" for c in close[:3]) + "?"
