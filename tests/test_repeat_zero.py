"""`layer * 0` is no layer: the input passes through, named or not, and the module built from the generated source computes what the interpreter computes."""

from __future__ import annotations

from pathlib import Path

from archc import api
from tests.oracle import check_values

SPEC = """
block Res(c) {
    in x
    out x + (x -> conv2d(c, 3, padding=1) -> relu)
}

network Net(depth=0) {
    in image: [3, 8, 8]
    x = image -> conv2d(4, 1) -> Res(4) * depth -> relu
    y = x -> (Res(4) * 0) as stage
    out first = y -> (relu -> relu) * 0
    out second = x
}
"""


def test_a_repeat_of_zero_passes_its_input_through(tmp_path: Path) -> None:
    spec = tmp_path / "spec.arch"
    spec.write_text(SPEC)
    (network,), diagnostics = api.analyse(str(spec))
    assert [d.code for d in diagnostics] == []
    assert [node.op for node in network.nodes()] == ["input", "conv2d", "relu"]
    relu = list(network.nodes())[-1].id
    assert [ref.node for ref in network.outputs.values()] == [relu, relu]
    network.verify()
    check_values(spec)
    (deeper,), _ = api.analyse(str(spec), overrides={"depth": 2})
    assert len(list(deeper.nodes())) == 3 + 2 * 3  # conv, relu and add per block
    check_values(spec, {"depth": 2})


def test_a_negative_count_is_refused(tmp_path: Path) -> None:
    spec = tmp_path / "spec.arch"
    spec.write_text("network N(depth=-1) {\n    in x: [8]\n    out x -> linear(8) * depth\n}\n")
    _, diagnostics = api.analyse(str(spec))
    (diagnostic,) = diagnostics
    assert (diagnostic.code, diagnostic.with_) == ("A223", "n = -1")
    assert diagnostic.rule == "layer * n with n whole and 0 <= n <= 10,000"
    assert (
        diagnostic.help == "`layer * 0` passes the input through; a negative count means nothing"
    )
