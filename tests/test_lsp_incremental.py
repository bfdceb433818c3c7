"""The language server's incremental analysis gives exactly what a full `archc check` gives.

Each test analyses a sequence of texts with one :class:`Analyser`, as the server does after each
edit, and compares every result with ``archc.api.analyse_text`` on the same text: diagnostics
(codes, spans, messages, everything), the syntax tree with its spans, and the graphs of the
networks, including those elaborated only when asked for.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archc import api
from archc.errors import SourceFile, Span
from archc.lsp.analysis import Analyser, Analysis
from archc.lsp.pieces import starts
from archc.lsp.relocate import relocate
from archc.semantics.ir import Network
from archc.syntax.parse import parse
from tests.conftest import ROOT

# --- comparing with a full check -----------------------------------------------------------------


def tree(node: Any) -> Any:
    """A syntax tree as plain data, spans included (the tree's own equality leaves them out)."""
    if isinstance(node, Span):
        return ("span", node.start, node.end, node.line, node.col, node.end_line, node.end_col)
    if isinstance(node, tuple):
        return tuple(tree(item) for item in node)
    if dataclasses.is_dataclass(node):
        fields = [(f.name, tree(getattr(node, f.name))) for f in dataclasses.fields(node)]
        return (type(node).__name__, *fields)
    return node


def where(span: Span) -> tuple[str, int, int, int, int]:
    return (span.file, span.start, span.end, span.line, span.col)


def graph(network: Network) -> list[Any]:
    """A network's layers and modules with where each was written (types as text: a symbolic
    size is a new object in each elaboration)."""
    nodes = [
        (
            node.id,
            node.op,
            node.path,
            str(node.outputs),
            where(node.span),
            *tuple(map(where, node.call_sites)),
        )
        for node in network.nodes()
    ]
    modules = [
        (path, module.kind, module.name, where(module.span), module.inputs, module.outputs)
        for path, module in network.modules.items()
    ]
    return [network.name, *nodes, *modules]


def check_same(analysis: Analysis, path: Path, text: str, graphs: bool = True) -> None:
    """``analysis`` is what a full check of ``text`` at ``path`` gives."""
    networks, diagnostics = api.analyse_text(str(path), text)
    assert analysis.diagnostics == diagnostics
    # equal diagnostics compare spans but not the file they point into
    assert [d.span.file if d.span else None for d in analysis.diagnostics] == [
        d.span.file if d.span else None for d in diagnostics
    ]
    if analysis.file is None:
        return
    try:
        whole = parse(SourceFile(str(path), text.replace("\r\n", "\n").replace("\r", "\n")))
    except Exception:  # a syntax error in the file itself would have left no file
        pytest.fail("the incremental analysis parsed a text that does not parse")
    assert tree(analysis.file.module) == tree(whole)  # comments and spans included
    if graphs:
        assert [graph(n) for n in analysis.networks.all()] == [graph(n) for n in networks]


def analyse_in_turn(path: Path, texts: list[str], graphs: bool = True) -> Analyser:
    analyser = Analyser(str(path))
    for text in texts:
        check_same(analyser.analyse(text), path, text, graphs)
    return analyser


def edited(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# --- edits in sequence ---------------------------------------------------------------------------

SPEC = """\
# A small spec: a block used twice, a constant, a file-wide init rule.
width = 16

init conv2d.weight: kaiming_normal(nonlinearity="relu")

block ConvBN(channels, kernel=3) {
    in x
    out x -> conv2d(channels, kernel, padding=kernel // 2, bias=false) -> batchnorm2d -> relu
}

network Small(classes=10) {
    in image: [3, 32, 32]
    x = image -> ConvBN(width) -> ConvBN(2 * width)
          -> maxpool2d(2)
    out logits = x -> adaptive_avgpool2d(1) -> flatten -> linear(classes)
}

# A second network that does not use the block.
network Mlp {
    in v: [64]
    out v -> linear(128) -> relu -> linear(10)
}
"""


def test_the_first_analysis_is_the_full_one(tmp_path: Path) -> None:
    analyse_in_turn(tmp_path / "spec.arch", [SPEC])


def test_edits_inside_a_layer_argument_and_a_comment(tmp_path: Path) -> None:
    texts = [
        SPEC,
        edited(SPEC, "linear(128)", "linear(129)"),  # nothing moves
        edited(SPEC, "linear(128)", "linear(1280)"),  # what follows moves by one
        edited(SPEC, "A second network", "A second, network"),
        edited(SPEC, "maxpool2d(2)", "maxpool2d(3)"),  # warnings: 16 does not tile by 3
        edited(edited(SPEC, "maxpool2d(2)", "maxpool2d(3)"), "# A small", "\n\n# A small"),
        SPEC,
    ]
    analyse_in_turn(tmp_path / "spec.arch", texts)


def test_syntax_broken_then_fixed(tmp_path: Path) -> None:
    broken = edited(SPEC, "linear(128)", "linear(128")
    texts = [
        SPEC,
        broken,
        edited(broken, "-> relu -> linear(10)", "-> relu -> linear(10)\n    out"),  # two errors
        SPEC,
        edited(SPEC, "network Mlp {", "network Mlp {{"),
        edited(SPEC, "block ConvBN", "blok ConvBN"),
        SPEC,
    ]
    analyse_in_turn(tmp_path / "spec.arch", texts)


def test_renaming_a_block_used_elsewhere(tmp_path: Path) -> None:
    renamed = edited(SPEC, "block ConvBN", "block ConvBNx")
    texts = [
        SPEC,
        edited(SPEC, "block ConvBN", "block ConvB"),  # every use is now unknown: A205
        renamed,  # did you mean `ConvBNx`?
        renamed.replace("ConvBN(", "ConvBNx("),  # the uses follow
        SPEC,
        edited(SPEC, "network Mlp", "network ConvBN"),  # defined twice: A204
        SPEC,
        edited(SPEC, "width = 16", "width = 16\nrelu = 3"),  # a constant shadows an op
        SPEC,
    ]
    analyse_in_turn(tmp_path / "spec.arch", texts)


def test_a_new_name_below_changes_what_an_unknown_name_suggests(tmp_path: Path) -> None:
    typo = edited(SPEC, "ConvBN(width)", "ConvBM(width)")  # A205: did you mean `ConvBN`?
    near = "\nblock ConvBQ {\n    in x\n    out x\n}\n"  # after the network: it does not move
    texts = [typo, typo + near, typo, typo + near.replace("ConvBQ", "Other")]
    analyse_in_turn(tmp_path / "spec.arch", texts)


def test_errors_move_with_an_edit_above_them(tmp_path: Path) -> None:
    wrong = edited(SPEC, "in v: [64]", "in v: [64, 8]")  # linear on a rank-3 input is fine
    wrong = edited(wrong, "-> linear(10)", "-> linear(10) -> conv2d(3, 5)")  # A3xx in Mlp
    texts = [
        wrong,
        "\n" + wrong,
        "# one more line\n\n" + wrong,
        edited(wrong, "width = 16", "width = 160"),
        wrong.replace("\n", "\r\n"),
    ]
    analyse_in_turn(tmp_path / "spec.arch", texts)


def test_edits_in_a_used_file(tmp_path: Path) -> None:
    used = tmp_path / "blocks.arch"
    block = "block Head(classes) {\n    in x\n    out x -> flatten -> linear(classes)\n}\n"
    used.write_text(block, encoding="utf-8")
    text = 'use "blocks.arch"\n\n' + edited(
        SPEC, "-> flatten -> linear(classes)", "-> Head(classes)"
    )
    path = tmp_path / "spec.arch"
    analyser = analyse_in_turn(path, [text])
    for changed in [
        block.replace("flatten ->", "flatten -> linear(7) ->"),
        block.replace("flatten", "conv2d(4, 9)"),  # a shape error inside the used block
        block.replace("{", "{{"),  # a syntax error in the used file
        "",  # no Head any more
        block,
    ]:
        used.write_text(changed, encoding="utf-8")
        check_same(analyser.analyse(text), path, text)
        check_same(analyser.analyse("\n" + text), path, "\n" + text)  # and moved
    used.unlink()
    check_same(analyser.analyse(text), path, text)  # A203


def test_top_level_items_that_span_lines(tmp_path: Path) -> None:
    # a piece cut before `second` does not parse alone: it is joined to the one before
    texts = [
        "first =\nsecond\nsecond = 3\n" + SPEC,
        "total = 1 +\n2\n" + SPEC,
        "choice = if true\nthen 1\nelse 2\n" + SPEC,
        "x = (1,\ny)\ny = 2\n" + SPEC,
    ]
    analyse_in_turn(tmp_path / "spec.arch", texts)


def test_empty_and_comment_only_documents(tmp_path: Path) -> None:
    texts = ["", "# nothing yet\n", "\n\n", "network", SPEC, "", SPEC]
    analyse_in_turn(tmp_path / "spec.arch", texts)


CASES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests" / "diagnostics").rglob("*.arch"))


@pytest.mark.parametrize(
    "case", [*CASES, "specs/resnet50.arch", "specs/gpt2.arch", "specs/googlenet.arch"]
)
def test_every_diagnostic_case_before_and_after_lines_are_added(case: str) -> None:
    path = ROOT / case
    text = path.read_text(encoding="utf-8")
    # a spec's own `use`s resolve next to it; the added lines move everything below them
    middle = text.find("\nnetwork")
    moved = (
        text[: middle + 1] + "# an added comment\n\n" + text[middle + 1 :] if middle >= 0 else text
    )
    analyse_in_turn(path, [text, "\n" + text, moved, text])


# --- edits at random -----------------------------------------------------------------------------

# What edits insert: the characters a spec is made of, more often those that keep it valid.
ALPHABET = "0123456789" * 3 + "abcxyz_ ,()[]{}=-><#.\n" + "\n    "


@st.composite
def edits(draw: st.DrawFn, text: str) -> list[tuple[int, int, str]]:
    """A sequence of (start, end, replacement) edits, each within the text as edited so far."""
    found = []
    length = len(text)
    for _ in range(draw(st.integers(1, 6))):
        start = draw(st.integers(0, length))
        end = draw(st.integers(start, min(length, start + 3)))
        new = draw(st.text(ALPHABET, max_size=3))
        found.append((start, end, new))
        length += len(new) - (end - start)
    return found


@settings(max_examples=60)
@given(data=st.data())
def test_random_edit_sequences_give_what_a_full_check_gives(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    path = tmp_path_factory.mktemp("random") / "spec.arch"
    analyser = Analyser(str(path))
    text = SPEC
    check_same(analyser.analyse(text), path, text)
    for start, end, new in data.draw(edits(SPEC)):
        text = text[:start] + new + text[end:]
        check_same(analyser.analyse(text), path, text)


@settings(max_examples=40)
@given(data=st.data())
def test_random_digit_edits_keep_graphs_right(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    # digits replaced, typed and deleted: the spec keeps parsing, so elaboration is exercised,
    # and graphs are asked for only now and then (as hovers do)
    path = tmp_path_factory.mktemp("digits") / "spec.arch"
    analyser = Analyser(str(path))
    text = SPEC
    for _ in range(data.draw(st.integers(1, 8))):
        digits = [m.start() for m in re.finditer(r"\d", text)]
        at = data.draw(st.sampled_from(digits))
        new = data.draw(st.sampled_from(["", "1", "2", "7", "12"]))
        keep = data.draw(st.booleans())  # type after the digit rather than over it
        text = text[: at + keep] + new + text[at + 1 :]
        check_same(analyser.analyse(text), path, text, graphs=data.draw(st.booleans()))


# --- the pieces ----------------------------------------------------------------------------------


def test_pieces_start_at_items_outside_brackets_and_strings() -> None:
    text = 'a = 1\n# note\nb = (2,\nc)\nnetwork N {\nx = "{"\n}\nthen = 1\n'
    assert starts(text) == [0, text.index("b ="), text.index("network")]


def test_relocate_gives_the_tree_a_whole_parse_gives() -> None:
    head = "\n\n   \n"
    body = "network N {\n    in x: [3]\n    out x -> relu  # r\n}\n"
    alone = parse(SourceFile("t.arch", body))
    source = SourceFile("t.arch", head + body)
    placed = relocate(alone, source, len(head))
    assert tree(placed) == tree(parse(source))
    assert placed.items[0].span.source is source
