"""The language server: pygls wiring, and when each document is analysed.

Analysis runs on one worker thread, off the event loop, so the server keeps answering while a
large spec is checked. Changes arriving meanwhile are coalesced: when a check finishes, the
next one starts from the newest text, and a text already checked is never checked again.
Requests that read positions wait (briefly) for the check of the text they were made against.

Each open document keeps an :class:`~archc.lsp.analysis.Analyser`, whose caches make a check
after an edit redo only what the edit changed. Everything that reads or fills those caches runs
on the worker thread, hovers included (a hover may elaborate a network an edit moved).
"""

from __future__ import annotations

import asyncio
import contextlib
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from archc import __version__
from archc.errors import ArchError
from archc.syntax.fmt import format_source
from archc.syntax.source import decode_source

from . import memory
from .analysis import Analyser
from .completion import completion
from .diagnostics import to_lsp
from .document import Snapshot, analyse_document
from .hover import hover
from .navigation import definition, symbols
from .positions import Lines

# Keystrokes closer together than this are checked once, after the last of them.
DEBOUNCE_S = 0.03
# How long a request waits for the check of the current text before answering from the last.
FRESH_WAIT_S = 2.0


class ArchServer(LanguageServer):
    """A pygls server that keeps the latest analysis of every open document."""

    def __init__(self) -> None:
        super().__init__(
            "archc", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental
        )
        self.snapshots: dict[str, Snapshot] = {}
        self.parsed: dict[str, Snapshot] = {}  # the latest snapshot with a syntax tree
        self.checks: dict[str, asyncio.Task[None]] = {}
        self.analysers: dict[str, Analyser] = {}  # the caches of each open document
        # archc's parser and elaborator run on this one thread, one document at a time
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archc-check")
        self.quiet = memory.Quiet()
        self.idle_collection: asyncio.TimerHandle | None = None

    @property
    def encoding(self) -> str:
        """How the client counts characters in a line (negotiated at initialisation)."""
        kind = self.workspace.position_encoding or lsp.PositionEncodingKind.Utf16
        return str(getattr(kind, "value", kind))

    def schedule(self, uri: str) -> None:
        task = self.checks.get(uri)
        if task is None or task.done():
            task = self.checks[uri] = asyncio.get_running_loop().create_task(self._check(uri))
            task.add_done_callback(lambda _: self._collect_when_idle())

    def _collect_when_idle(self) -> None:
        """Collect all garbage once no document has changed for memory.IDLE_S."""
        if self.idle_collection is not None:
            self.idle_collection.cancel()
        loop = asyncio.get_running_loop()

        def collect_if_idle() -> None:
            if all(task.done() for task in self.checks.values()):
                loop.run_in_executor(self.worker, memory.collect_all)

        self.idle_collection = loop.call_later(memory.IDLE_S, collect_if_idle)

    def shutdown(self) -> None:
        super().shutdown()
        self.worker.shutdown(wait=False)
        memory.release()

    async def _check(self, uri: str) -> None:
        await asyncio.sleep(DEBOUNCE_S)
        loop = asyncio.get_running_loop()
        while uri in self.workspace.text_documents:
            document = self.workspace.get_text_document(uri)
            text, version = document.source, document.version
            previous = self.snapshots.get(uri)
            if previous is not None and previous.text == text:
                return
            path = to_fs_path(uri) or "untitled.arch"
            analyser = self.analysers.get(uri)
            if analyser is None or analyser.path != path:
                analyser = self.analysers[uri] = Analyser(path)
            with self.quiet:  # no garbage collection until the result is out
                try:
                    snapshot = await loop.run_in_executor(
                        self.worker, analyse_document, path, text, self.encoding, analyser
                    )
                except Exception:  # a bug in archc: say so, and keep serving
                    message = f"archc could not check {path}:\n{traceback.format_exc()}"
                    self.window_log_message(lsp.LogMessageParams(lsp.MessageType.Error, message))
                    return
                if uri not in self.workspace.text_documents:
                    return
                self.snapshots[uri] = snapshot
                if snapshot.module is not None:
                    self.parsed[uri] = snapshot
                params = lsp.PublishDiagnosticsParams(uri, to_lsp(snapshot), version)
                self.text_document_publish_diagnostics(params)

    async def snapshot(self, uri: str) -> Snapshot | None:
        """The analysis of the document's current text, waiting up to FRESH_WAIT_S for a check
        under way; the latest one at once where checks take longer than that anyway."""
        task, latest = self.checks.get(uri), self.snapshots.get(uri)
        quick = latest is None or latest.seconds < FRESH_WAIT_S
        if task is not None and not task.done() and quick:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), FRESH_WAIT_S)
        return self.snapshots.get(uri)

    def forget(self, uri: str) -> None:
        task = self.checks.pop(uri, None)
        if task is not None:
            task.cancel()
        self.snapshots.pop(uri, None)
        self.parsed.pop(uri, None)
        self.analysers.pop(uri, None)
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri, []))


# --- handlers ------------------------------------------------------------------------------------


def _opened(ls: ArchServer, params: lsp.DidOpenTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)


def _changed(ls: ArchServer, params: lsp.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)


def _closed(ls: ArchServer, params: lsp.DidCloseTextDocumentParams) -> None:
    ls.forget(params.text_document.uri)


async def _hover(ls: ArchServer, params: lsp.HoverParams) -> lsp.Hover | None:
    snapshot = await ls.snapshot(params.text_document.uri)
    if snapshot is None:
        return None
    offset = snapshot.lines.offset(params.position)
    # on the worker: the networks under the cursor may need elaborating (see the module)
    return await asyncio.get_running_loop().run_in_executor(ls.worker, hover, snapshot, offset)


async def _definition(ls: ArchServer, params: lsp.DefinitionParams) -> lsp.Location | None:
    snapshot = await ls.snapshot(params.text_document.uri)
    if snapshot is None:
        return None
    return definition(snapshot, snapshot.lines.offset(params.position))


async def _symbols(ls: ArchServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
    snapshot = await ls.snapshot(params.text_document.uri)
    return symbols(snapshot) if snapshot is not None else []


async def _complete(ls: ArchServer, params: lsp.CompletionParams) -> lsp.CompletionList:
    uri = params.text_document.uri
    await ls.snapshot(uri)  # the names of the text being typed, where they are ready in time
    lines = Lines(ls.workspace.get_text_document(uri).source, ls.encoding)
    return completion(lines.text, lines.offset(params.position), ls.parsed.get(uri))


async def _format(
    ls: ArchServer, params: lsp.DocumentFormattingParams
) -> list[lsp.TextEdit] | None:
    uri = params.text_document.uri
    text = ls.workspace.get_text_document(uri).source
    path = to_fs_path(uri) or "untitled.arch"
    loop = asyncio.get_running_loop()
    formatted = await loop.run_in_executor(ls.worker, _formatted, path, text)
    if formatted is None:
        return None  # syntax errors: the diagnostics say where
    if formatted == text:
        return []
    return [lsp.TextEdit(Lines(text, ls.encoding).whole(), formatted)]


def _formatted(path: str, text: str) -> str | None:
    """`archc fmt` of ``text``; None when it does not parse."""
    try:
        return format_source(decode_source(path, text.encode("utf-8", "surrogatepass")))
    except ArchError:
        return None


FEATURES: list[tuple[str, Any, Any]] = [
    (lsp.TEXT_DOCUMENT_DID_OPEN, None, _opened),
    (lsp.TEXT_DOCUMENT_DID_CHANGE, None, _changed),
    (lsp.TEXT_DOCUMENT_DID_CLOSE, None, _closed),
    (lsp.TEXT_DOCUMENT_HOVER, None, _hover),
    (lsp.TEXT_DOCUMENT_DEFINITION, None, _definition),
    (lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL, None, _symbols),
    (
        lsp.TEXT_DOCUMENT_COMPLETION,
        lsp.CompletionOptions(trigger_characters=[".", "(", ","]),
        _complete,
    ),
    (lsp.TEXT_DOCUMENT_FORMATTING, None, _format),
]


def create_server() -> ArchServer:
    server = ArchServer()
    for name, options, handler in FEATURES:
        server.feature(name, options)(handler)
    return server


def serve() -> None:
    """Serve one client on stdin and stdout until it exits."""
    create_server().start_io()
