"""Block instances copied for other argument values (archc/semantics/rerun.py) give exactly
what elaborating them gives, and are elaborated where the recording does not hold for them.

Every spec in the repository is compared with and without replay in tests/test_replay.py,
which covers these copies too; here are the cases made to tell them apart, each also checked
for whether elaboration ran again.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archc import api
from archc.semantics import application, rerun
from archc.semantics import provenance as pv
from archc.semantics.provenance import Apply
from tests.conftest import ROOT
from tests.test_provenance import FOLDED, LITERALS
from tests.test_replay import applied_ops, assert_replay_changes_nothing

# name: (spec, the ops elaboration applies with copies for other values)
CASES: dict[str, tuple[str, dict[str, int]]] = {
    "other widths": (
        """
block Mlp(width) {
    in x
    out x -> linear(width) -> relu -> linear(width * 2) as wide
}
network N {
    in x: [T, 16]
    out x -> Mlp(8) -> Mlp(32) -> Mlp(4) -> Mlp(8)
}
""",
        {"linear": 2, "relu": 1},
    ),
    "other input sizes": (
        """
block Widen {
    in x
    out x -> linear(x.features * 2)
}
network N {
    in x: [3, 16]
    out x -> Widen -> Widen -> Widen
}
""",
        {"linear": 1},
    ),
    "a test that goes the other way": (
        """
block Maybe(width) {
    in x
    y = if width != x.features then x -> linear(width) as proj else x
    out y -> relu
}
network N {
    in x: [16]
    out x -> Maybe(16) -> Maybe(8) -> Maybe(4) -> Maybe(4) -> Maybe(2)
}
""",
        # the first elaborates the projection it does not take, set aside; the second the one
        # it takes
        {"linear": 2, "relu": 2},
    ),
    "a repeat count from a parameter": (
        """
block Stack(n) {
    in x
    out x -> (linear(8) -> relu) * n
}
network N {
    in x: [8]
    out x -> Stack(1) -> Stack(3) -> Stack(2)
}
""",
        {"linear": 6, "relu": 6},
    ),
    "a value that fails for other values": (
        """
block Ratio(width) {
    in x
    groups = 64 // (width - 8)
    out x -> linear(width) -> linear(groups)
}
network N {
    in x: [8]
    out x -> Ratio(16) -> Ratio(24) -> Ratio(8)
}
""",
        # the last reports the division by zero, and applies `linear(width)` before it stops
        {"linear": 3},
    ),
    "an argument the schema refuses": (
        """
block Drop(p) {
    in x
    out x -> dropout(p) -> linear(8)
}
network N {
    in x: [8]
    out x -> Drop(0.1) -> Drop(0.5) -> Drop(1.5) -> Drop(0.2)
}
""",
        {"dropout": 2, "linear": 1},
    ),
    "a shape rule that warns for other values": (
        """
block Down(stride) {
    in x
    out x -> conv2d(8, 3, stride=stride)
}
network N {
    in x: [8, 9, 9]
    out x -> Down(1) -> Down(3) -> Down(1) -> Down(4) -> Down(2)
}
""",
        {"conv2d": 3},
    ),
    "a tensor picked by a parameter": (
        """
block Pick(k) {
    in x
    parts = chunk(x, 2, dim=1)
    out parts[k] -> linear(4)
}
network N {
    in x: [8]
    out x -> Pick(0) -> Pick(1) -> Pick(0)
}
""",
        {"chunk": 3, "linear": 3},
    ),
    "truth values and words are the form": (
        """
block Head(bias, act) {
    in x
    out x -> linear(8, bias=bias) -> gelu(approximate=act)
}
network N {
    in x: [8]
    out x -> Head(true, "none") -> Head(false, "none") -> Head(true, "tanh")
}
""",
        {"linear": 3, "gelu": 3},
    ),
    "a block inside": (
        """
block Inner(width) {
    in x
    out x -> linear(width)
}
block Outer(width) {
    in x
    out x -> Inner(width) -> relu
}
network N {
    in x: [8]
    out x -> Outer(8) -> Outer(16) -> Outer(4)
}
""",
        # Inner's arguments are part of the module tree: each Outer is elaborated, and its
        # Inner copied from the first
        {"linear": 1, "relu": 3},
    ),
    "numbers of other types": (
        """
block Scale(factor) {
    in x
    out x -> dropout(factor) -> linear(8)
}
network N {
    in x: [8]
    out x -> Scale(0.5) -> Scale(0.0) -> Scale(-0.0) -> Scale(0) -> Scale(1)
}
""",
        {"dropout": 2, "linear": 2},
    ),
    "a copy's layer that meets the sizes of the last copy's, computed otherwise": (
        """
block Pool {
    in x
    out x -> maxpool2d(2, stride=2, padding=1, ceil_mode=true) -> relu
}
network N {
    in a: [1, 8, 8]
    in b: [1, 5, 5]
    in c: [1, 4, 4]
    out p = a -> Pool
    out q = b -> Pool
    out r = c -> Pool
}
""",
        # 5 and 4 both pool to 3, but only 5 drops a last window that starts in the padding:
        # the third copy's relu meets the second's sizes, with other provenance
        {"maxpool2d": 1, "relu": 1},
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_copies_for_other_values_are_the_same_as_elaborated(name: str, tmp_path: Path) -> None:
    path = tmp_path / "rerun.arch"
    path.write_text(CASES[name][0], encoding="utf-8")
    assert_replay_changes_nothing(path)


@pytest.mark.parametrize("name", CASES)
def test_copies_for_other_values_elaborate_only_where_they_must(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "rerun.arch"
    path.write_text(CASES[name][0], encoding="utf-8")
    assert applied_ops(path, monkeypatch) == Counter(CASES[name][1])


def counted(monkeypatch: pytest.MonkeyPatch, function: str) -> Counter[str]:
    """How many times each op's shape rule goes through ``function`` of application.py from
    now on: `infer` (every run of a rule) or `run_rule` (the runs on traced values)."""
    calls: Counter[str] = Counter()
    original = getattr(application, function)

    def counting(op: Any, *rest: Any) -> Any:
        calls[op.name] += 1
        return original(op, *rest)

    monkeypatch.setattr(application, function, counting)
    return calls


def test_a_copy_meeting_what_the_last_copy_met_is_that_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # every DenseLayer after the first is a copy for a wider input; from its first convolution
    # on, each meets the tensors the layer before it met, so those shape rules run once
    rules = counted(monkeypatch, "infer")
    (network,), _ = api.analyse(str(ROOT / "specs" / "densenet121.arch"))
    layers = sum(1 for m in network.modules.values() if m.name == "DenseLayer")
    assert layers == 58
    # norm1 and conv1 once per layer; norm2 and conv2 once per dense block, and once more for
    # the first layer, which is elaborated; one in each of the 3 transitions; norm0, conv0, norm5
    once = 4 + 1
    assert rules["batchnorm2d"] == layers + once + 3 + 2
    assert rules["conv2d"] == layers + once + 3 + 1


def test_resnet50_elaborates_two_bottlenecks(monkeypatch: pytest.MonkeyPatch) -> None:
    # layer1.0 takes its downsample; layer1.1 does not, and elaborates it aside. Every other
    # Bottleneck is one of these two with other widths and strides, or a copy of one
    applied = applied_ops(ROOT / "specs" / "resnet50.arch", monkeypatch)
    assert applied["conv2d"] == 1 + 4 + 4


def test_a_copy_whose_recorded_sizes_do_not_hold_traces_its_rule_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # slice's rule works a length out by arithmetic on the size for `s:` with s >= 0, and
    # counts a range for s < 0: the first instance's provenance (`x.shape[1] - s`) gives 19
    # for s = -3 where the slice keeps 3, so the copy traces the rule instead of keeping it
    path = tmp_path / "rerun.arch"
    path.write_text(
        """
block Tail(s) {
    in x
    out x -> slice(1, s) -> linear(4)
}
network N {
    in x: [16]
    out x -> Tail(2) -> linear(16) -> Tail(-3)
}
""",
        encoding="utf-8",
    )
    traced = counted(monkeypatch, "run_rule")
    (network,), _ = api.analyse(str(path))
    assert traced["slice"] == 2  # the copy's slice traced again
    # and the copy's linear too, whose in_features the slice's new provenance gives
    assert traced["linear"] == 3
    assert applied_ops(path, monkeypatch)["slice"] == 1  # the second Tail is a copy
    sliced = [n for n in network.nodes() if n.op == "slice"]
    assert [n.outputs[0].shape[1] for n in sliced] == [14, 3]
    assert_replay_changes_nothing(path)


@settings(max_examples=300)
@given(st.lists(FOLDED, min_size=1, max_size=4), LITERALS, LITERALS, LITERALS)
def test_a_copy_evaluates_shared_provenance_as_evaluate_does(
    parts: list[pv.Expr], a: pv.Lit, b: pv.Lit, c: pv.Lit
) -> None:
    """A copy remembers every arithmetic subexpression it evaluated (rerun._Values), so the
    sizes of later layers reuse those of earlier ones: each expression, built of the ones
    before it, gives what evaluating it afresh gives, and fails where that fails."""
    params = {"a": a.value, "b": b.value, "c": c.value}
    sizes = {("x", 2): 7}
    exprs = [*parts, Apply("+", (parts[0], parts[-1])), Apply("*", (parts[-1], parts[0]))]
    values = rerun._Values(params, sizes)
    for expr in exprs:
        try:
            expected: Any = pv.evaluate(expr, params, sizes)
        except Exception as error:  # which failure it is: compared below
            expected = type(error)
        try:
            got: Any = values.of(expr)
        except Exception as error:  # likewise
            got = type(error)
        if isinstance(expected, type):
            assert got is expected
        else:
            assert pv.written_alike(pv.Lit(got), pv.Lit(expected)), (got, expected)
