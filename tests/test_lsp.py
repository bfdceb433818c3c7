"""`archc lsp`, driven the way an editor drives it: JSON-RPC over the pipes of a subprocess.

One server serves every test (starting one takes seconds); each test opens its own documents.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from archc import api
from archc.lsp.diagnostics import message
from tests.conftest import ROOT

pytest.importorskip("pygls")

RESNET = ROOT / "specs" / "resnet18.arch"
TIMEOUT_S = 30


class Client:
    """A minimal LSP client: requests wait for their response, notifications are queued."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process
        self.inbox: queue.Queue[dict[str, Any]] = queue.Queue()
        self.notifications: list[dict[str, Any]] = []
        self.next_id = 0
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            header = stream.readline()
            if not header:
                return
            length = (
                int(header.split(b":")[1]) if header.lower().startswith(b"content-length") else 0
            )
            while stream.readline().strip():
                pass
            self.inbox.put(json.loads(stream.read(length)))

    def send(self, payload: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **payload}).encode()
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.process.stdin.flush()

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params: dict[str, Any]) -> Any:
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        reply = self._wait(lambda m: m.get("id") == self.next_id and "method" not in m)
        assert "error" not in reply, reply
        return reply["result"]

    def diagnostics(self, uri: str, version: int) -> list[dict[str, Any]]:
        """The diagnostics published for ``version`` of ``uri`` (other messages stay queued)."""

        def wanted(m: dict[str, Any]) -> bool:
            params = m.get("params", {})
            return (
                m.get("method") == "textDocument/publishDiagnostics"
                and params.get("uri") == uri
                and params.get("version") == version
            )

        return self._wait(wanted)["params"]["diagnostics"]  # type: ignore[no-any-return]

    def _wait(self, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        for index, seen in enumerate(self.notifications):
            if match(seen):
                return self.notifications.pop(index)
        while True:
            received = self.inbox.get(timeout=TIMEOUT_S)
            if match(received):
                return received
            self.notifications.append(received)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    log = (tmp_path_factory.mktemp("lsp") / "stderr.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "archc", "lsp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        cwd=ROOT,
    )
    client = Client(process)
    capabilities = {"general": {"positionEncodings": ["utf-16"]}}
    result = client.request(
        "initialize", {"processId": None, "rootUri": ROOT.as_uri(), "capabilities": capabilities}
    )
    assert result["capabilities"]["hoverProvider"]
    client.notify("initialized", {})
    yield client
    client.request("shutdown", {})
    client.notify("exit", {})
    process.wait(timeout=TIMEOUT_S)
    log.close()


def open_document(client: Client, path: Path, text: str | None = None) -> str:
    uri = path.resolve().as_uri()
    text = path.read_text(encoding="utf-8") if text is None else text
    document = {"uri": uri, "languageId": "arch", "version": 1, "text": text}
    client.notify("textDocument/didOpen", {"textDocument": document})
    return uri


def position(text: str, needle: str, shift: int = 0) -> dict[str, int]:
    """The LSP position of the first ``needle`` in ``text``, plus ``shift`` characters."""
    before = text[: text.index(needle) + shift]
    return {"line": before.count("\n"), "character": len(before) - before.rfind("\n") - 1}


def at(uri: str, text: str, needle: str, shift: int = 1) -> dict[str, Any]:
    return {"textDocument": {"uri": uri}, "position": position(text, needle, shift)}


# --- diagnostics ---------------------------------------------------------------------------------

CASES = [
    "tests/diagnostics/semantic/block_input_shape.arch",
    "tests/diagnostics/semantic/uneven_tiling.arch",
    "tests/diagnostics/semantic/error_inside_nested_block.arch",
    "tests/diagnostics/syntax/arrow_at_start.arch",
    "specs/resnet50.arch",
]


@pytest.mark.parametrize("case", CASES)
def test_diagnostics_are_those_of_archc_check(client: Client, case: str) -> None:
    uri = open_document(client, ROOT / case)
    published = client.diagnostics(uri, 1)
    expected = api.check(str((ROOT / case).resolve()))  # the path the URI names
    assert [d["code"] for d in published] == [d.code for d in expected]
    for got, want in zip(published, expected, strict=True):
        assert want.span is not None
        start = {"line": want.span.line - 1, "character": want.span.col - 1}
        end = {"line": want.span.end_line - 1, "character": want.span.end_col - 1}
        assert got["range"] == {"start": start, "end": end}
        assert got["severity"] == (1 if want.is_error else 2)
        assert got["message"] == message(want) and got["source"] == "archc"


def test_an_edit_introduces_an_error_and_its_fix_clears_it(client: Client, tmp_path: Path) -> None:
    # the file does not exist: the server checks the editor's text, not the disk
    text = "network Net {\n    in x: [3, 32, 32]\n    out x -> conv2d(8, 3) -> relu\n}\n"
    uri = open_document(client, tmp_path / "unsaved.arch", text)
    assert client.diagnostics(uri, 1) == []
    # the same text again is not checked again; the hover waits for that decision
    same = {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": text}]}
    client.notify("textDocument/didChange", same)
    client.request("textDocument/hover", at(uri, text, "conv2d"))
    assert not [m for m in client.notifications if m["params"].get("uri") == uri]
    edit = {
        "range": {"start": position(text, "8, 3"), "end": position(text, "8, 3", 4)},
        "text": "8, 40",
    }
    change = {"textDocument": {"uri": uri, "version": 3}, "contentChanges": [edit]}
    client.notify("textDocument/didChange", change)
    (problem,) = client.diagnostics(uri, 3)
    assert problem["code"] == "A301" and problem["severity"] == 1
    assert problem["range"]["start"] == position(text.replace("8, 3", "8, 40"), "40")
    whole = {"textDocument": {"uri": uri, "version": 4}, "contentChanges": [{"text": text}]}
    client.notify("textDocument/didChange", whole)
    assert client.diagnostics(uri, 4) == []


# --- features ------------------------------------------------------------------------------------


def test_hover_shows_shapes_params_and_macs(client: Client) -> None:
    text = RESNET.read_text(encoding="utf-8")
    uri = open_document(client, RESNET)
    hover = client.request("textDocument/hover", at(uri, text, "conv2d(64"))
    value = hover["contents"]["value"]
    assert "**conv2d**" in value and "(N, 3, 224, 224) → (N, 64, 112, 112)" in value
    assert "9,408 params" in value and "118,013,952 MACs" in value
    block = client.request("textDocument/hover", at(uri, text, "BasicBlock(128, stride=2)"))
    assert "block BasicBlock(planes, stride=1)" in block["contents"]["value"]
    assert "(N, 64, 56, 56) → (N, 128, 28, 28)" in block["contents"]["value"]
    name = client.request("textDocument/hover", at(uri, text, "x -> adaptive_avgpool2d", 0))
    assert "(N, 512, 7, 7)" in name["contents"]["value"]


def test_hover_on_a_naming_pattern_shows_every_copy(client: Client, tmp_path: Path) -> None:
    text = (
        "block Layer(width) {\n    in x\n    out x -> linear(width) as fc\n}\n\n"
        "network Stack {\n    in x: [8]\n    out x -> Layer(8) * 3 as layer{i + 1}_out\n}\n"
    )
    uri = open_document(client, tmp_path / "stack.arch", text)
    assert client.diagnostics(uri, 1) == []
    for word in ("layer{", "_out"):
        value = client.request("textDocument/hover", at(uri, text, word))["contents"]["value"]
        assert "block Layer(width)" in value
        assert all(f"`layer{n}_out` (width=8)" in value for n in (1, 2, 3)), value


def test_hover_on_a_quoted_name_shows_the_layer_it_names(client: Client) -> None:
    spec = ROOT / "tests" / "golden" / "quoted_names" / "input.arch"
    text = spec.read_text(encoding="utf-8")
    uri = open_document(client, spec)
    hover = client.request("textDocument/hover", at(uri, text, '"block1-0"', 2))
    value = hover["contents"]["value"]
    assert "**conv2d**" in value and "(N, 16, 16, 16) → (N, 8, 16, 16)" in value
    assert hover["range"]["start"] == position(text, "conv2d(8, 1)")


def test_completion_offers_keyword_arguments_names_and_ops(client: Client) -> None:
    text = RESNET.read_text(encoding="utf-8")
    uri = open_document(client, RESNET)
    inside_call = at(uri, text, "stride=2, padding=3", 0)
    labels = [
        item["label"] for item in client.request("textDocument/completion", inside_call)["items"]
    ]
    assert {"stride=", "padding=", "bias=", "image", "classes", "BasicBlock", "linear"} <= set(
        labels
    )
    assert {"residual", "shared"} <= set(labels)
    assert labels.index("stride=") < labels.index("linear")  # the call's arguments first
    after_arrow = at(uri, text, "-> conv2d(64, 7", 3)
    after_dot = client.request("textDocument/completion", after_arrow)
    assert "maxpool2d" in [item["label"] for item in after_dot["items"]]


def test_completion_offers_the_tensor_inputs_given_by_name(client: Client) -> None:
    spec = ROOT / "specs" / "word_lm.arch"
    text = spec.read_text(encoding="utf-8")
    uri = open_document(client, spec)
    inside_call = at(uri, text, "h0=h0, c0=c0", 0)
    items = client.request("textDocument/completion", inside_call)["items"]
    details = {item["label"]: item.get("detail") for item in items}
    assert details["h0="] == details["c0="] == "tensor input, optional"
    assert "return_state=" in details and "mask=" not in details


def test_completion_offers_every_function_of_layers() -> None:
    from archc.lsp.completion import LAYER_FUNCTIONS
    from archc.semantics.expressions import LAYER_FUNCTIONS as ELABORATED

    assert tuple(LAYER_FUNCTIONS) == ELABORATED


def test_definition_of_blocks_names_and_use_targets(client: Client) -> None:
    text = RESNET.read_text(encoding="utf-8")
    uri = open_document(client, RESNET)
    blocks = (ROOT / "specs" / "blocks" / "resnet.arch").resolve()
    block = client.request("textDocument/definition", at(uri, text, "BasicBlock(64)"))
    assert block["uri"] == blocks.as_uri()
    assert block["range"]["start"] == position(blocks.read_text(encoding="utf-8"), "BasicBlock")
    name = client.request("textDocument/definition", at(uri, text, "x -> adaptive"))
    assert name["uri"] == uri
    assert name["range"]["start"] == position(text, "x = x -> (BasicBlock(512")
    used = client.request("textDocument/definition", at(uri, text, "blocks/resnet"))
    assert used["uri"] == blocks.as_uri()


def test_document_symbols_outline_definitions_and_statements(client: Client) -> None:
    uri = open_document(client, RESNET)
    symbols = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    names = [s["name"] for s in symbols]
    assert names[0] == 'use "blocks/resnet.arch"' and "ResNet18" in names
    network = symbols[names.index("ResNet18")]
    children = [c["name"] for c in network["children"]]
    assert children[:3] == ["classes", "image", "x"] and children[-1] == "logits"


def test_functions_are_outlined_and_hovered(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "functions.arch"
    text = (
        "fn widen(c, factor=2) = c * factor\n\n"
        "network N {\n    in x: [3]\n    out x -> linear(widen(4))\n}\n"
    )
    uri = open_document(client, path, text)
    symbols = client.request("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
    function = symbols[0]
    assert (function["name"], function["detail"], function["kind"]) == (
        "widen",
        "fn(c, factor)",
        12,
    )
    # hovering inside a function's body or at its call answers without failing
    client.request("textDocument/hover", at(uri, text, "c * factor"))
    client.request("textDocument/hover", at(uri, text, "widen(4)"))


def test_formatting_matches_archc_fmt(client: Client, tmp_path: Path) -> None:
    messy = "network   Net {\n  in x: [3,32,32]\n      out x->relu\n}\n"
    uri = open_document(client, tmp_path / "messy.arch", messy)
    options = {"tabSize": 4, "insertSpaces": True}
    edits = client.request(
        "textDocument/formatting", {"textDocument": {"uri": uri}, "options": options}
    )
    (edit,) = edits
    assert edit["range"]["start"] == {"line": 0, "character": 0}
    path = tmp_path / "messy.arch"
    path.write_text(messy, encoding="utf-8")
    assert edit["newText"] == api.format_file(str(path))[1]


def test_analyse_text_checks_a_buffer_as_the_file_at_its_path(tmp_path: Path) -> None:
    # `use` resolves next to the path given, which need not exist
    text = 'use "blocks/resnet.arch"\nnetwork N {\n    in x: [64, 8, 8]\n    out x -> BasicBlock(64)\n}\n'
    networks, diagnostics = api.analyse_text(str(ROOT / "specs" / "unsaved.arch"), text)
    assert diagnostics == [] and networks[0].param_count == 73_984
    _, problems = api.analyse_text(str(tmp_path / "unsaved.arch"), text)
    assert [d.code for d in problems] == ["A203"]


# --- checks after edits --------------------------------------------------------------------------


def change(client: Client, uri: str, version: int, text: str, old: str, new: str) -> str:
    """Replace the first ``old`` in ``text`` by ``new``, as an editor does; the new text."""
    where = {"start": position(text, old), "end": position(text, old, len(old))}
    document = {"uri": uri, "version": version}
    changes = [{"range": where, "text": new}]
    client.notify("textDocument/didChange", {"textDocument": document, "contentChanges": changes})
    return text.replace(old, new, 1)


def expected(path: Path, text: str) -> list[tuple[str, dict[str, Any], str]]:
    """The code, range and message of each diagnostic `archc check` gives for ``text``."""
    found = []
    for want in api.analyse_text(str(path.resolve()), text)[1]:
        assert want.span is not None
        start = {"line": want.span.line - 1, "character": want.span.col - 1}
        end = {"line": want.span.end_line - 1, "character": want.span.end_col - 1}
        found.append((want.code, {"start": start, "end": end}, message(want)))
    return found


def test_edits_in_sequence_publish_what_a_full_check_gives(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "edited.arch"
    text = RESNET.read_text(encoding="utf-8").replace("blocks/resnet.arch", "resnet_blocks.arch")
    (tmp_path / "resnet_blocks.arch").write_text(
        (ROOT / "specs" / "blocks" / "resnet.arch").read_text(encoding="utf-8"), encoding="utf-8"
    )
    uri = open_document(client, path, text)
    edits = [
        ("conv2d(64, 7", "conv2d(65, 7"),  # nothing moves; still fine
        ("BasicBlock(128, stride=2)", "BasicBlock(128, stride=2"),  # a syntax error
        ("BasicBlock(128, stride=2", "BasicBlock(128, stride=2)"),  # fixed
        ("# ResNet-18", "\n\n# ResNet-18"),  # everything moves down
        ("linear(classes)", "conv2d(classes)"),  # a shape error, below the moved lines
        ("\n\n# ResNet-18", "# ResNet-18"),  # and it moves up
    ]
    for version, (old, new) in enumerate(edits, 2):
        text = change(client, uri, version, text, old, new)
        published = client.diagnostics(uri, version)
        got = [(d["code"], d["range"], d["message"]) for d in published]
        assert got == expected(path, text), (old, new)


def test_hover_after_an_edit_above_the_layer(client: Client, tmp_path: Path) -> None:
    text = RESNET.read_text(encoding="utf-8")
    path = ROOT / "specs" / "unsaved_resnet18.arch"  # `use` resolves next to it; never written
    uri = open_document(client, path, text)
    assert client.diagnostics(uri, 1) == []
    text = change(client, uri, 2, text, "# ResNet-18", "# moved\n\n# ResNet-18")
    assert client.diagnostics(uri, 2) == []
    hover = client.request("textDocument/hover", at(uri, text, "conv2d(64"))
    assert "(N, 3, 224, 224) → (N, 64, 112, 112)" in hover["contents"]["value"]
    block = client.request("textDocument/hover", at(uri, text, "BasicBlock(128, stride=2)"))
    assert "(N, 64, 56, 56) → (N, 128, 28, 28)" in block["contents"]["value"]


def test_hover_on_a_scanned_cell_shows_the_loop(client: Client) -> None:
    path = ROOT / "specs" / "gru_scan.arch"
    text = path.read_text(encoding="utf-8")
    uri = open_document(client, path)
    assert client.diagnostics(uri, 1) == []
    value = client.request("textDocument/hover", at(uri, text, "GRUCell(hidden), x"))
    value = value["contents"]["value"]
    assert "block GRUCell(hidden)" in value
    assert "`gru` (hidden=64) scanned over T steps" in value
    assert "(N, T, 32), (N, 64) → (N, T, 64), (N, 64)" in value
    assert "18,816 params · 18432*T MACs" in value
    inner = client.request("textDocument/hover", at(uri, text, "linear(hidden) as input_reset"))
    assert (
        "`gru.input_reset`: (N, 32) → (N, 64) · 2,112 params · 2048*T MACs"
        in (inner["contents"]["value"])
    )
    labels = {
        item["label"]
        for item in client.request("textDocument/completion", at(uri, text, "GRUCell(h", 0))[
            "items"
        ]
    }
    assert {"scan", "GRUCell"} <= labels
