"""Replayed block instances (archc/semantics/replay.py) give exactly what elaborating them gives.

Every spec in the repository, generated valid specs and damaged real specs are analysed twice,
with replay and with every instance elaborated, and the results compared field by field: each
node and module, the names, ties, init assignments and every diagnostic.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from archc import api
from archc.semantics import application
from tests.conftest import ROOT
from tests.fuzz.cases import Case, cases
from tests.fuzz.choices import FUZZ
from tests.fuzz.harness import workspace
from tests.fuzz.replayed import replay_difference

SPECS = sorted(p for d in ("specs", "examples", "tests") for p in (ROOT / d).rglob("*.arch"))


def assert_replay_changes_nothing(path: Path) -> None:
    difference = replay_difference(path)
    assert difference is None, difference


@pytest.mark.parametrize("path", SPECS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_spec_is_the_same_with_replay(path: Path) -> None:
    assert_replay_changes_nothing(path)


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("replay")


def _written(case: Case, directory: Path) -> Path:
    target = workspace(directory) / case.folder / "replayed.arch"
    target.write_bytes(case.data)
    return target


@settings(FUZZ, max_examples=150)
@given(cases("valid"))
def test_generated_specs_are_the_same_with_replay(directory: Path, case: Case) -> None:
    """A fixed sample; `python -m tests.fuzz --kind replay --minutes N` draws fresh ones."""
    assert_replay_changes_nothing(_written(case, directory))


@settings(FUZZ, max_examples=300)
@given(cases("mutated"))
def test_damaged_specs_are_the_same_with_replay(directory: Path, case: Case) -> None:
    """A fixed sample; `python -m tests.fuzz --kind replay --minutes N` draws fresh ones."""
    assert_replay_changes_nothing(_written(case, directory))


def applied_ops(path: Path, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """The ops elaboration applied (replayed nodes are not applied again)."""
    applied: Counter[str] = Counter()
    apply_op = application.Application._apply_op

    def counting(self: Any, layer: Any, inputs: Any, place: Any, **options: Any) -> Any:
        applied[layer.op.name] += 1
        return apply_op(self, layer, inputs, place, **options)

    with monkeypatch.context() as patch:
        patch.setattr(application.Application, "_apply_op", counting)
        api.analyse(str(path))
    return applied


def test_a_transformer_elaborates_one_layer_and_replays_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gpt2 = ROOT / "specs" / "gpt2.arch"
    (network,), _ = api.analyse(str(gpt2))
    layers = network.args["layers"]
    attention = sum(1 for n in network.nodes() if n.op == "attention")
    assert attention == layers == 12
    assert applied_ops(gpt2, monkeypatch)["attention"] == 1


# Instances whose keys match, or nearly match, in ways that must not be confused.
TRICKY = {
    "same tensor twice": """
block Mix {
    in a
    in b
    out a + b -> linear(8) as fc
}
network N {
    in x: [8]
    in y: [8]
    a = x -> Mix(x)
    b = x -> Mix(y)
    c = y -> Mix(y)
    out a + b + c
}
""",
    "passthrough and names": """
block Maybe(project=false) {
    in x
    skip = x
    y = if project then skip -> linear(x.features) else skip
    out y
}
network N {
    in x: [T, 16]
    out x -> Maybe -> Maybe -> Maybe(true) -> Maybe(true) -> Maybe
}
""",
    "nested and repeated": """
block Inner(width) {
    in x
    h = x -> linear(width) -> relu
    out h
}
block Outer(width, depth=2) {
    in x
    out x -> Inner(width) * depth as inner -> Inner(x.features)
}
network N {
    in x: [T, 16]
    out x -> Outer(16) * 3 as stack -> Outer(32, 1) -> Outer(32, 1)
}
""",
    "warnings inside": """
block Loose(width) {
    in x
    unused = x -> linear(width)
    out x -> linear(width)
}
network N {
    in x: [16]
    out x -> Loose(16) -> Loose(16) -> Loose(16)
}
""",
    "rules and ties inside": """
block Head(classes) {
    in x
    init linear.weight: zeros
    out x -> linear(classes) as a -> linear(classes) as b
}
block Tied(width) {
    in x
    tie b.weight = a.weight
    out x -> linear(width) as a -> linear(width) as b
}
network N {
    in x: [16]
    out x -> Head(16) -> Head(16) -> Tied(16) -> Tied(16)
}
""",
    "an error in a later instance": """
block Down(stride) {
    in x
    out x -> conv2d(8, 3, stride=stride)
}
network N {
    in x: [8, 9, 9]
    out x -> Down(1) -> Down(1) -> Down(4) -> Down(4) -> Down(4)
}
""",
    "numbers of other types": """
block Scale(factor) {
    in x
    out x -> dropout(factor) -> linear(8)
}
network N {
    in x: [8]
    out x -> Scale(0) -> Scale(0.0) -> Scale(-0.0) -> Scale(false) -> Scale(0)
}
""",
    "layers as arguments": """
block Wrap(body) {
    in x
    out x -> body -> relu
}
network N {
    in x: [8]
    out x -> Wrap(linear(8)) -> Wrap(linear(8)) -> Wrap(linear(4))
}
""",
}


@pytest.mark.parametrize("name", TRICKY)
def test_tricky_instances_are_the_same_with_replay(name: str, tmp_path: Path) -> None:
    path = tmp_path / "tricky.arch"
    path.write_text(TRICKY[name], encoding="utf-8")
    assert_replay_changes_nothing(path)
