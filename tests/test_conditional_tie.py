"""`tie target = source if condition`: a tie that holds only where its condition does, such as
an output projection tied to the embedding as an option of the network."""

from __future__ import annotations

from pathlib import Path

from archc import api
from archc.errors import SourceFile
from archc.syntax import ast
from archc.syntax.fmt import format_source
from archc.syntax.parse import parse

SPEC = """
network LM(vocab=100, width=16, tied=true) {
    in tokens: int64[T]
    x = tokens -> embedding(vocab, width) as wte
    out logits = x -> linear(vocab, bias=false) as lm_head
    tie lm_head.weight = wte.weight if tied
}
"""


def test_the_condition_is_part_of_the_tie() -> None:
    (network,) = parse(SourceFile("lm.arch", SPEC)).items
    assert isinstance(network, ast.Definition)
    tie = network.body[-1]
    assert tie == ast.Tie(
        ast.Path(("lm_head", "weight")), ast.Path(("wte", "weight")), ast.Name("tied")
    )
    assert tie.span.end_col == len("    tie lm_head.weight = wte.weight if tied") + 1
    assert format_source(SourceFile("lm.arch", SPEC.lstrip())) == SPEC.lstrip()


def test_the_tie_holds_only_where_its_condition_does(tmp_path: Path) -> None:
    spec = tmp_path / "lm.arch"
    spec.write_text(SPEC, encoding="utf-8")
    counts = {}
    for tied in (True, False):
        (network,), diagnostics = api.analyse(str(spec), overrides={"tied": tied})
        assert diagnostics == []
        counts[tied] = network.param_count
        assert [t.target for t in network.ties] == (["lm_head.weight"] if tied else [])
    assert counts == {True: 1600, False: 3200}


def test_a_condition_that_is_not_true_or_false_is_refused(tmp_path: Path) -> None:
    spec = tmp_path / "lm.arch"
    spec.write_text(SPEC.replace("if tied", "if vocab"), encoding="utf-8")
    diagnostics = api.check(str(spec))
    assert [(d.code, d.span.line, d.span.col) for d in diagnostics] == [("A206", 6, 40)]
