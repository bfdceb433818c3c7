"""How fast the language server re-checks a large spec after a keystroke, next to a full check.

Generates a spec of about ``--lines`` lines (the rounds of ResNet, GPT, DenseNet, GAN and LSTM
tagger definitions that ``parse_speed`` writes: many blocks and networks, comments, multi-line
chains), opens it in an `archc lsp` server running in this process, and applies one-character
edits at places spread over the file, each followed by its revert:

* a digit of a layer argument replaced (`linear(512)` to `linear(513)`): nothing moves;
* a digit typed into a layer argument (`linear(512)` to `linear(5120)`): everything after it
  moves by one character;
* a letter of a comment replaced, and a letter typed into a comment.

Each time is from the `textDocument/didChange` notification to the `publishDiagnostics` for
that version (the server's debounce included), the median and the slowest of every edit of its
kind; the re-check alone (the analysis on the server's worker thread) is shown beside it. Edits
come at a typist's pace, and one kind also back to back (see ``TYPING_INTERVAL_S``). Before the
first edit the benchmark waits as long as a server needs to see the user idle (see
archc/lsp/memory.py), as a person reads a file they have just opened. For context:
opening the file (nothing cached yet), a full `archc check` of the same text in process
(``archc.api.analyse_text``), and a hover on a layer right after a typed character moved it.

Run from the repository root (``python -m benchmarks`` runs it with the other benchmarks)::

    python -m benchmarks.lsp_speed                    # 2,000 lines, 5 places per edit kind
    python -m benchmarks.lsp_speed --lines 5000 --places 9
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archc import api
from benchmarks.common import Mode, Options, Section, Table, Target, secs, timed
from benchmarks.parse_speed import ARCH_ROUND, generate

# The goal: a 2,000-line spec re-checks in under this after a keystroke.
GOAL_S = 0.2
GOAL_LINES = 2_000
GOAL = f"a {GOAL_LINES:,}-line spec re-checks in < {GOAL_S * 1000:.0f} ms after a keystroke"
# How long to wait for one published result before calling the server stuck.
TIMEOUT_S = 120
# Seconds from one published result to the next keystroke: a brisk typist's pace (60 words a
# minute is five characters a second). One kind of edit is also timed back to back, each sent
# the moment the last result is published, which leaves the server no idle moment at all.
TYPING_INTERVAL_S = 0.2


# --- an LSP client inside the server's process ---------------------------------------------------


class InProcessClient:
    """Drives :class:`archc.lsp.server.ArchServer` through pygls' protocol, without pipes.

    Messages go in as the JSON an editor sends; what the server writes comes back through
    :meth:`write`, where each reply and each publication is stamped with the time it arrived.
    Every method must be called inside the event loop the server runs on.
    """

    def __init__(self) -> None:
        from archc.lsp import memory, server  # pygls: the optional `lsp` extra

        self.server = server.create_server()
        self.idle_s = memory.IDLE_S
        self.server.protocol.set_writer(self, include_headers=False)
        self.next_id = 0
        self.replies: dict[int, asyncio.Future[Any]] = {}
        self.published: dict[tuple[str, int | None], asyncio.Future[tuple[float, Any]]] = {}

    # pygls' writer interface
    def write(self, data: bytes) -> None:
        message = json.loads(data)
        if "id" in message and "method" not in message:
            self.replies.pop(message["id"]).set_result(message.get("result"))
        elif message.get("method") == "textDocument/publishDiagnostics":
            params = message["params"]
            future = self._publication(params["uri"], params.get("version"))
            if not future.done():
                future.set_result((time.perf_counter(), params["diagnostics"]))

    def close(self) -> None:
        pass

    def _publication(self, uri: str, version: int | None) -> asyncio.Future[tuple[float, Any]]:
        key = (uri, version)
        if key not in self.published:
            self.published[key] = asyncio.get_running_loop().create_future()
        return self.published[key]

    def _send(self, payload: dict[str, Any]) -> None:
        protocol = self.server.protocol
        protocol.handle_message(protocol.structure_message({"jsonrpc": "2.0", **payload}))

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self._send({"method": method, "params": params})

    async def request(self, method: str, params: dict[str, Any]) -> Any:
        self.next_id += 1
        reply = self.replies[self.next_id] = asyncio.get_running_loop().create_future()
        self._send({"id": self.next_id, "method": method, "params": params})
        return await asyncio.wait_for(reply, TIMEOUT_S)

    async def initialize(self, root: Path) -> None:
        capabilities = {"general": {"positionEncodings": ["utf-16"]}}
        params = {"processId": None, "rootUri": root.as_uri(), "capabilities": capabilities}
        await self.request("initialize", params)
        self.notify("initialized", {})

    async def diagnostics(self, uri: str, version: int) -> tuple[float, list[Any]]:
        """When the diagnostics of ``version`` were published, and what they were."""
        return await asyncio.wait_for(self._publication(uri, version), TIMEOUT_S)

    def check_seconds(self, uri: str) -> float:
        """How long the server's latest analysis of ``uri`` took (on its worker thread)."""
        return float(self.server.snapshots[uri].seconds)

    def shutdown(self) -> None:
        self.server.worker.shutdown(wait=True)
        self.server.shutdown()


def position(text: str, offset: int) -> dict[str, int]:
    """The LSP position of ``offset`` (the generated text is ASCII: one unit per character)."""
    line = text.count("\n", 0, offset)
    return {"line": line, "character": offset - (text.rfind("\n", 0, offset) + 1)}


# --- the edits -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EditKind:
    """A one-character edit: in round ``n``, the first ``before`` becomes ``after``."""

    label: str
    before: str  # with `{n}` for the round's number
    after: str

    def site(self, text: str, n: int) -> tuple[int, str, str]:
        """Where the edit goes in ``text``, the text there, and its replacement."""
        anchor = text.index(f"network Generator{n}(")
        before = self.before.format(n=n)
        if before.startswith("#"):  # the comment just above the network
            anchor = text.rindex("\n#", 0, anchor) + 1
        return text.index(before, anchor), before, self.after.format(n=n)


KINDS = (
    EditKind("layer argument, digit replaced", "linear(512)", "linear(513)"),
    EditKind("layer argument, digit typed", "linear(512)", "linear(5120)"),
    EditKind("comment, letter replaced", "# Adversarial pair {n}", "# Adversarial paiR {n}"),
    EditKind("comment, letter typed", "# Adversarial pair {n}", "# Adversarial pairs {n}"),
)


@dataclass
class Timing:
    published: list[float]  # didChange to publishDiagnostics
    checked: list[float]  # the analysis alone


@dataclass(frozen=True)
class Settings:
    lines: int
    places: int  # edit sites per kind, spread over the file; each edit is also reverted
    repeat: int  # runs of the full check
    pause: float = TYPING_INTERVAL_S  # between keystrokes


SIZES: dict[Mode, Settings] = {
    "smoke": Settings(200, 1, 1, pause=0.01),  # the plumbing only: no target at this size
    "quick": Settings(GOAL_LINES, 5, 3),
    "full": Settings(GOAL_LINES, 9, 5),
}


@dataclass
class Measured:
    lines: int
    networks: int
    opened: float
    full_check: float
    timings: dict[str, Timing]
    hover: float


class Session:
    """One document open in an in-process server, edited one version at a time."""

    def __init__(self, client: InProcessClient, uri: str, text: str) -> None:
        self.client, self.uri, self.text, self.version = client, uri, text, 1

    async def open(self) -> float:
        start = time.perf_counter()
        document = {"uri": self.uri, "languageId": "arch", "version": 1, "text": self.text}
        self.client.notify("textDocument/didOpen", {"textDocument": document})
        published, _ = await self.client.diagnostics(self.uri, 1)
        return published - start

    async def replace(self, offset: int, old: str, new: str) -> tuple[float, list[Any]]:
        """Replace ``old`` at ``offset`` by ``new``; seconds until the result is published.

        The change sent is the smallest one, as an editor sends a keystroke: `2` typed after
        `51`, not `linear(512)` replaced by `linear(5120)`.
        """
        assert self.text[offset : offset + len(old)] == old
        while old and new and old[0] == new[0]:
            old, new, offset = old[1:], new[1:], offset + 1
        while old and new and old[-1] == new[-1]:
            old, new = old[:-1], new[:-1]
        edit = {
            "range": {
                "start": position(self.text, offset),
                "end": position(self.text, offset + len(old)),
            },
            "text": new,
        }
        self.text = self.text[:offset] + new + self.text[offset + len(old) :]
        self.version += 1
        document = {"uri": self.uri, "version": self.version}
        start = time.perf_counter()
        self.client.notify(
            "textDocument/didChange", {"textDocument": document, "contentChanges": [edit]}
        )
        published, diagnostics = await self.client.diagnostics(self.uri, self.version)
        return published - start, diagnostics


async def _edit_all(session: Session, rounds: list[int], kind: EditKind, pause: float) -> Timing:
    """Each edit of ``kind`` (and its revert) in each of ``rounds``, ``pause`` seconds after
    the previous one's diagnostics were published."""
    timing = Timing([], [])
    for n in rounds:
        offset, before, after = kind.site(session.text, n)
        for old, new in ((before, after), (after, before)):  # the edit, then its revert
            await asyncio.sleep(pause)
            seconds, diagnostics = await session.replace(offset, old, new)
            assert diagnostics == [], diagnostics  # every edit keeps the spec valid
            timing.published.append(seconds)
            timing.checked.append(session.client.check_seconds(session.uri))
    return timing


async def _hover_after_typing(session: Session, n: int, pause: float) -> float:
    """A hover on a layer of round ``n`` right after a character typed above it moved it."""
    offset, before, after = KINDS[3].site(session.text, max(0, n - 1))
    await session.replace(offset, before, after)
    await asyncio.sleep(pause)
    layer = session.text.index("linear(512)", session.text.index(f"network Generator{n}("))
    target = layer + 1  # inside the name, as a mouse would be
    params = {"textDocument": {"uri": session.uri}, "position": position(session.text, target)}
    start = time.perf_counter()
    hover = await session.client.request("textDocument/hover", params)
    took = time.perf_counter() - start
    assert hover is not None and "**linear**" in hover["contents"]["value"], hover
    await session.replace(offset, after, before)
    return took


async def _session(
    path: Path, text: str, rounds: list[int], settings: Settings
) -> tuple[float, dict[str, Timing], float]:
    client = InProcessClient()
    try:
        await client.initialize(path.parent)
        session = Session(client, path.resolve().as_uri(), text)
        opened = await session.open()
        # a person reads a file they open before typing: the server collects garbage then
        await asyncio.sleep(client.idle_s + 0.5)
        timings = {
            kind.label: await _edit_all(session, rounds, kind, settings.pause) for kind in KINDS
        }
        typed = KINDS[1]
        timings[f"{typed.label}, back to back"] = await _edit_all(session, rounds, typed, 0)
        hover = await _hover_after_typing(session, rounds[len(rounds) // 2], settings.pause)
        return opened, timings, hover
    finally:
        client.shutdown()


def spread(rounds: int, places: int) -> list[int]:
    """``places`` round numbers spread evenly from the start of the file to its end."""
    if places <= 1 or rounds <= 1:
        return [rounds // 2]
    return sorted({round(i * (rounds - 1) / (places - 1)) for i in range(places)})


def measure(settings: Settings) -> Measured:
    text, rounds = generate("", ARCH_ROUND, settings.lines)
    with tempfile.TemporaryDirectory(prefix="archc-lsp-") as folder:
        path = Path(folder) / "generated.arch"  # the server checks the editor's text; the
        path.write_text(text, encoding="utf-8")  # file exists so that `archc check` agrees
        networks, diagnostics = api.analyse_text(str(path), text)
        assert diagnostics == [], diagnostics  # the edits are timed on a valid spec
        full = timed(lambda: api.analyse_text(str(path), text), settings.repeat)
        opened, timings, hover = asyncio.run(
            _session(path, text, spread(rounds, settings.places), settings)
        )
    return Measured(text.count("\n"), len(networks), opened, full, timings, hover)


# --- the section ---------------------------------------------------------------------------------


def table(m: Measured) -> Table:
    def row(label: str, timing: Timing) -> tuple[str, ...]:
        published = statistics.median(timing.published)
        return (
            label,
            str(len(timing.published)),
            secs(published),
            secs(max(timing.published)),
            secs(statistics.median(timing.checked)),
            f"{m.full_check / published:,.1f}x",
        )

    rows = [row(label, timing) for label, timing in m.timings.items()]
    rows += [
        ("open (first check, nothing cached)", "1", secs(m.opened), "-", "-", "-"),
        ("hover on a layer a typed character moved", "1", secs(m.hover), "-", "-", "-"),
        ("full check in process (api.analyse_text)", "-", secs(m.full_check), "-", "-", "1.0x"),
    ]
    headers = (
        "after",
        "edits",
        "published s",
        "slowest s",
        "re-check s",
        "full check / this",
    )
    title = f"Language server on a {m.lines:,}-line spec of {m.networks} networks (medians)"
    return Table(title, headers, rows)


def target(m: Measured) -> Target:
    slowest_label, slowest = max(
        ((label, statistics.median(t.published)) for label, t in m.timings.items()),
        key=lambda pair: pair[1],
    )
    measured = f"{slowest * 1000:.0f} ms ({slowest_label}, the slowest kind)"
    if m.lines < GOAL_LINES:
        return Target(GOAL, measured, None, f"this mode's spec has only {m.lines:,} lines")
    why = (
        f"didChange to publishDiagnostics, debounce included; a full check of the same text "
        f"takes {secs(m.full_check)} s"
    )
    return Target(GOAL, measured, slowest < GOAL_S, why)


ABOUT = (
    "`archc lsp` in process on a generated spec: one-character edits (each also reverted) at "
    "places spread over the file, timed from the didChange notification to the published "
    "diagnostics, next to a full check of the same text."
)


def run(options: Options) -> Section:
    if importlib.util.find_spec("pygls") is None:
        missing = "pygls is not installed (`pip install -e .` installs it)"
        return Section("Language server", ABOUT, targets=[Target(GOAL, "not run", None, missing)])
    m = measure(SIZES[options.mode])
    return Section("Language server", ABOUT, [table(m)], [target(m)])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=GOAL_LINES, help="size of the spec")
    parser.add_argument("--places", type=int, default=5, help="edit sites per kind")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the full check")
    args = parser.parse_args(argv)
    if min(args.lines, args.places, args.repeat) < 1:
        parser.error("--lines, --places and --repeat must be positive")
    m = measure(Settings(args.lines, args.places, args.repeat))
    print(table(m).text())
    t = target(m)
    print(f"\n[{t.verdict}] {t.goal}: {t.measured}. {t.reason}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
