"""`fn` definitions: torchvision's _make_divisible written as spec functions computes what
torchvision's Python computes, provenance through a call stays exact, generated code defines
the function and builds the same sizes for other parameter values, and the function itself is
checked."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archc import api, runtime
from archc.syntax import fmt
from archc.syntax.source import read_source
from tests.oracle import check_values

FUNCTIONS = """
fn round_to(v, divisor, least) = max(least, int(v + divisor / 2) // divisor * divisor)

# the multiple of divisor nearest v, never more than 10% below it
fn make_divisible(v, divisor=8, least=divisor) = if round_to(v, divisor, least) < 0.9 * v
    then round_to(v, divisor, least) + divisor
    else round_to(v, divisor, least)
"""

SPEC = (
    FUNCTIONS
    + """
network Stem(width_mult=1.0, divisor=8) {
    in x: [3, 8, 8]
    y = x -> conv2d(make_divisible(32 * width_mult, divisor), 1) as stem
    out y -> conv2d(make_divisible(v=y.channels * 3, least=4, divisor=4), 1) as expand
}
"""
)


def torchvision_make_divisible(v: float, divisor: int, min_value: int | None = None) -> int:
    """torchvision.models._utils._make_divisible, as torchvision writes it."""
    if min_value is None:
        min_value = divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "stem.arch"
    path.write_text(SPEC)
    return path


def widths(path: Path, **overrides: object) -> list[int]:
    (network,), diagnostics = api.analyse(str(path), overrides=overrides)
    assert [d.code for d in diagnostics] == []
    network.verify()  # every provenance, through the calls, gives its value
    return [n.outputs[0].shape[1] for n in network.nodes() if n.op == "conv2d"]


@given(st.sampled_from([0.25, 0.35, 0.5, 0.75, 1.0, 1.3, 1.4, 2.0]), st.sampled_from([4, 8, 16]))
def test_make_divisible_computes_what_torchvision_does(
    tmp_path_factory: pytest.TempPathFactory, width_mult: float, divisor: int
) -> None:
    path = tmp_path_factory.mktemp("fn") / "stem.arch"
    path.write_text(SPEC)
    stem, expand = widths(path, width_mult=width_mult, divisor=divisor)
    assert stem == torchvision_make_divisible(32 * width_mult, divisor)
    assert expand == torchvision_make_divisible(stem * 3, 4, 4)


def test_generated_class_computes_the_sizes_for_other_values(spec: Path) -> None:
    source = api.compile_source(str(spec))
    # defined once and called; `least=divisor` reads a parameter, so each call passes it
    assert "def make_divisible(v: float, divisor: int, least: int) -> int:" in source
    assert "nn.Conv2d(3, make_divisible(32 * width_mult, divisor, divisor)" in source
    module = runtime.load_source(source, "archc_functions")
    for width_mult in (0.35, 0.75, 1.4):
        model = module.Stem(width_mult=width_mult)
        assert model.stem.out_channels == torchvision_make_divisible(32 * width_mult, 8)
    check_values(spec)
    check_values(spec, {"width_mult": 0.35})


def test_a_call_with_constants_is_written_as_the_spec_wrote_it(tmp_path: Path) -> None:
    path = tmp_path / "fixed.arch"
    path.write_text(
        FUNCTIONS + "network N {\n    in x: [3]\n    out x -> linear(make_divisible(37))\n}\n"
    )
    source = api.compile_source(str(path))
    assert "nn.Linear(3, make_divisible(37, 8, 8))" in source
    assert runtime.load_source(source, "archc_functions_fixed").N().linear1.out_features == 40


def test_functions_format_and_parse_back(spec: Path) -> None:
    text = fmt.format_source(read_source(str(spec)))
    assert text == SPEC.lstrip("\n")


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ("fn f(v) = f(v)", "A255", "the function `f` calls itself: f -> f"),
        ("fn f(v, d=2) = v * d", "A256", "`f` takes 2 arguments, got 3"),
        ("fn f(v) = v\nfn f(w) = w", "A204", "`f` is defined twice"),
        ("fn f(v) = (v, v)\nblock f {\n    in x\n    out x\n}", "A204", "`f` is defined twice"),
    ],
)
def test_function_mistakes(tmp_path: Path, body: str, code: str, message: str) -> None:
    path = tmp_path / "spec.arch"
    call = "f(1, 2, 3)" if code == "A256" else "f(4)"
    path.write_text(f"{body}\n\nnetwork N {{\n    in x: [3]\n    out x -> linear({call})\n}}\n")
    _, diagnostics = api.analyse(str(path))
    assert (diagnostics[0].code, diagnostics[0].message) == (code, message)
