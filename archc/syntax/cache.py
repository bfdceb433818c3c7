"""A cache of parsed spec files on disk, as Python keeps `.pyc` files.

A spec's syntax tree is stored under a key made of the spec's text, the grammar, the source of
the modules that define and build the tree, and the Python version, so an entry is only ever
found for the very text and parser that made it. Entries are pickles written atomically (to a
temporary name, then renamed); reading one admits only the syntax tree's own classes, and an
entry that is corrupt, foreign or unreadable is ignored and parsed again, never trusted.

The tree's spans point at the `SourceFile` being read, not at a stored copy, so diagnostics
show the file as it is now. The last trees used are also kept in memory, by path and text, for
the next analysis in the same process (the language server, a notebook, a benchmark): such a
tree's spans point at the `SourceFile` it was first read from, which holds the same path and
text, so diagnostics are the same. The cache lives in `$ARCHC_CACHE_DIR`, else
`$XDG_CACHE_HOME/archc`, else `~/.cache/archc`; `ARCHC_NO_CACHE=1` turns both off. Other
facts worked out from files (what the code generator reads from its helper modules) are kept
beside the trees, under keys of their own, with :func:`read_entry` and :func:`write_entry`.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import pickle
import sys
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

from archc import collector
from archc.errors import NO_SPAN, SourceFile, Span
from archc.syntax import ast
from archc.syntax.grammar import grammar_text

# how a stored tree refers to the file it was parsed from, and to the span of no place
_SOURCE, _NO_SPAN = "source", "no span"
_MODULES = {"archc.syntax.ast", "archc.errors"}

# The trees used last in this process, by path and text, most recent last; unpickling a tree
# costs more than elaborating many a network.
_recent: OrderedDict[tuple[str, str], ast.Module] = OrderedDict()
RECENT_TREES = 16


def parse_cached(source: SourceFile) -> ast.Module:
    """:func:`archc.syntax.parse.parse` of ``source``, kept in memory or read from the cache
    when its text was parsed before (syntax errors are not kept: they are parsed again)."""
    if not _enabled():
        return _parsed(source)
    key = (source.path, source.text)
    module = _recent.pop(key, None) or _parsed(source)
    _recent[key] = module
    while len(_recent) > RECENT_TREES:
        _recent.popitem(last=False)
    return module


def _parsed(source: SourceFile) -> ast.Module:
    module = load(source)
    if module is None:
        from archc.syntax.parse import parse  # imported on a miss only: it loads the parser

        module = parse(source)
        store(source, module)
    return module


def _enabled() -> bool:
    return os.environ.get("ARCHC_NO_CACHE", "") in ("", "0")


def cache_folder() -> Path | None:
    """Where entries are kept, or None when caching is off."""
    if not _enabled():
        return None
    explicit = os.environ.get("ARCHC_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "archc"


@functools.cache
def _parser_digest() -> bytes:
    """What the tree depends on besides the text: the grammar, the parser's options, the
    tree's classes and their builder (so a changed archc never reads an old tree), and the
    Python version."""
    digest = hashlib.sha256(grammar_text().encode())
    for module in ("ast.py", "grammar.py", "parse.py"):
        digest.update((Path(__file__).parent / module).read_bytes())
    digest.update(sys.version.encode())
    return digest.digest()


def key(text: str) -> str:
    return hashlib.sha256(_parser_digest() + text.encode("utf-8", "surrogatepass")).hexdigest()


def load(source: SourceFile) -> ast.Module | None:
    """The stored tree of ``source``'s text, its spans in ``source``; None if there is none
    usable."""
    name = key(source.text)
    data = read_entry(f"{name}.pickle")
    if data is None:
        return None
    try:
        with collector.paused():  # a tree is many small objects and no garbage
            stored_key, module = _Unpickler(io.BytesIO(data), source).load()
    except Exception:  # corrupt or foreign: parse instead
        return None
    return module if stored_key == name and isinstance(module, ast.Module) else None


def store(source: SourceFile, module: ast.Module) -> None:
    """Keep ``module``, the tree of ``source``, for the next run; a cache that cannot be
    written is no error."""
    if cache_folder() is None:
        return
    name = key(source.text)
    buffer = io.BytesIO()
    _Pickler(buffer, source).dump((name, module))
    write_entry(f"{name}.pickle", buffer.getvalue())


def read_entry(name: str) -> bytes | None:
    """The entry called ``name``, or None when caching is off or there is none to read."""
    folder = cache_folder()
    if folder is None:
        return None
    try:
        return (folder / name).read_bytes()
    except OSError:
        return None


def write_entry(name: str, data: bytes) -> None:
    """Keep ``data`` as the entry called ``name``, written whole or not at all (a reader never
    sees half an entry); a cache that is off or cannot be written is no error."""
    folder = cache_folder()
    if folder is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, suffix=".tmp", delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, folder / name)
    except OSError:
        return


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, source: SourceFile) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.source = source

    def persistent_id(self, obj: Any) -> str | None:
        if obj is self.source:
            return _SOURCE
        return _NO_SPAN if obj is NO_SPAN else None


class _Unpickler(pickle.Unpickler):
    """Reads back only what a tree is made of: the AST's classes, spans and plain data."""

    def __init__(self, file: io.BytesIO, source: SourceFile) -> None:
        super().__init__(file)
        self.source = source

    def persistent_load(self, pid: Any) -> SourceFile | Span:
        if pid == _SOURCE:
            return self.source
        if pid == _NO_SPAN:
            return NO_SPAN
        raise pickle.UnpicklingError(f"unknown reference {pid!r}")

    def find_class(self, module: str, name: str) -> Any:
        if module in _MODULES:
            found = getattr(sys.modules[module], name, None)
            if isinstance(found, type) and (found is Span or found.__module__ == ast.__name__):
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a syntax tree")
