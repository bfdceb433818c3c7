"""One open document analysed again after each edit, reusing what the edit left unchanged.

The result is what ``archc.api.analyse_text`` gives for the same text (the tests compare the
two over sequences of edits), computed from three caches:

* the document's pieces, each parsed once per text (:mod:`archc.lsp.pieces`);
* the files it `use`s, read from disk on every check (as `archc check` reads them) and parsed
  once per text;
* each network's elaboration, kept with what it read (:mod:`archc.lsp.networks`).

Loading (`use`, definitions and constants) runs in full every time: it takes a few milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

from archc import api
from archc.errors import ArchError, Diagnostic, SourceFile
from archc.semantics.program import FileScope, Loader
from archc.syntax import ast
from archc.syntax.parse import parse
from archc.syntax.source import decode_source

from .networks import Elaborations, Networks
from .pieces import Pieces

# Parsed versions of used files that are kept beyond those the latest check read.
SPARE_USED = 64


@dataclass(frozen=True)
class Analysis:
    file: FileScope | None  # None while the text does not parse
    diagnostics: list[Diagnostic]
    networks: Networks


class UsedTrees:
    """The trees of `use`d files by path and text, and the syntax errors of those that fail."""

    def __init__(self) -> None:
        self._trees: dict[tuple[str, str], ast.Module | ArchError] = {}  # most recent last
        self._read: set[tuple[str, str]] = set()  # by the current check

    def parse(self, source: SourceFile) -> ast.Module:
        key = (source.path, source.text)
        found = self._trees.pop(key, None)
        if found is None:
            try:
                found = parse(source)
            except ArchError as exc:
                found = exc
        self._trees[key] = found
        self._read.add(key)
        if isinstance(found, ArchError):
            raise found
        return found

    def forget_spare(self) -> None:
        """Keep the trees the check just finished read, and a few others."""
        spare = [key for key in self._trees if key not in self._read]
        for key in spare[: max(0, len(spare) - SPARE_USED)]:
            del self._trees[key]
        self._read = set()


class _Loader(Loader):
    def __init__(self, trees: UsedTrees) -> None:
        super().__init__()
        self._trees = trees

    def parse(self, source: SourceFile) -> ast.Module:
        return self._trees.parse(source)


class Analyser:
    """The caches of one open document, at ``path``; call :meth:`analyse` with each text."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.pieces = Pieces(path)
        self.used = UsedTrees()
        self.elaborations = Elaborations()

    def analyse(self, text: str) -> Analysis:
        """What `archc check` reports for ``text`` as the contents of the file at ``path``."""
        self.elaborations.slots = []  # stays empty where errors stop the check before elaboration
        try:
            source = decode_source(self.path, text.encode("utf-8", "surrogatepass"))
            module = self.pieces.parse(source)
        except ArchError as exc:
            return Analysis(None, exc.diagnostics, Networks([]))
        loader = _Loader(self.used)
        file = loader.load_parsed(source, module)
        self.used.forget_spare()
        _, diagnostics = api.analyse_loaded(file, loader.diagnostics, self.elaborations)
        return Analysis(file, diagnostics, Networks(self.elaborations.slots))
