"""The built-in functions on numbers: Python's results, the same calls in generated code, and
the class built with other parameter values equal to the spec elaborated with them."""

from __future__ import annotations

from pathlib import Path

import pytest

from archc import api, runtime
from tests.oracle import check_values

SPEC = """
network Net(width=1.0, c=37) {
    in x: [3, 8, 8]
    a = x -> conv2d(int(c * width + 8 / 2) // 8 * 8, 1)
    out a -> conv2d(round(c * 0.75), 1) -> conv2d(max(8, int(round(c / 10, 1) * 10)), 1)
}
"""


def widths(network: object) -> list[int]:
    return [node.outputs[0].shape[1] for node in network.nodes() if node.op == "conv2d"]


@pytest.mark.parametrize(("width", "expected"), [(1.0, [40, 28, 37]), (0.5, [16, 28, 37])])
def test_round_and_int_compute_as_python(
    tmp_path: Path, width: float, expected: list[int]
) -> None:
    spec = tmp_path / "spec.arch"
    spec.write_text(SPEC)
    (network,), diagnostics = api.analyse(str(spec), overrides={"width": width})
    assert diagnostics == []
    assert widths(network) == expected
    network.verify()
    check_values(spec, {"width": width})


def test_generated_code_calls_the_same_functions(tmp_path: Path) -> None:
    spec = tmp_path / "spec.arch"
    spec.write_text(SPEC)
    source = api.compile_source(str(spec))
    assert "nn.Conv2d(3, int(c * width + 4.0) // 8 * 8, kernel_size=1)" in source
    assert "round(c * 0.75)" in source
    module = runtime.load_source(source, "archc_builtin_functions")
    # the class built with another width computes its sizes as the spec does with it
    model = module.Net(c=37, width=0.5)
    assert model.conv1.out_channels == 16


@pytest.mark.parametrize(
    ("call", "message"),
    [('int("8")', "`int` takes numbers only"), ("round(1, 2, 3)", "`round`: ")],
)
def test_a_wrong_call_is_a231(tmp_path: Path, call: str, message: str) -> None:
    spec = tmp_path / "spec.arch"
    spec.write_text(f"network N {{\n    in x: [3, 8, 8]\n    n = {call}\n    out x\n}}\n")
    _, diagnostics = api.analyse(str(spec))
    assert [d.code for d in diagnostics if d.is_error] == ["A231"]
    assert diagnostics[0].message.startswith(message)
