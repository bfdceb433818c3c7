"""Shape comments in generated code hold for every argument a class takes: sizes the class's
parameters decide are written as expressions of them, and a line whose shape depends on the
sizes the class is given has no comment."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from archc import api, runtime
from tests.shape_comments import checked_forward, recording_arguments

SPEC = """
block Widen(factor) {
    in x
    out x -> linear(x.shape[2] * factor) as fc -> relu
}

network Net(width=16, factor=3) {
    in x: [T, 8]
    h = x -> linear(width) as proj
    out h -> Widen(factor) as widen -> linear(width // 2) as head
}
"""


def compiled(tmp_path: Path) -> str:
    path = tmp_path / "net.arch"
    path.write_text(SPEC, encoding="utf-8")
    return api.compile_source(str(path))


def test_sizes_are_written_as_the_parameters_that_decide_them(tmp_path: Path) -> None:
    source = compiled(tmp_path)
    assert "h = self.proj(x)  # (N, T, width)" in source
    assert "# (N, T, width // 2)" in source
    # `Widen`'s output follows its input's width: no number that only the spec's 16 makes true
    assert "# (N, T, 48)" not in source and "= self.fc(x)\n" in source


@pytest.mark.parametrize(("width", "factor"), [(16, 3), (10, 2), (7, 5)])
def test_comments_hold_for_other_arguments(tmp_path: Path, width: int, factor: int) -> None:
    source = compiled(tmp_path)
    module = runtime.load_source(source, f"archc_comments_{width}_{factor}")
    with recording_arguments(module):
        model = module.Net(width=width, factor=factor)
    inputs = [torch.randn(2, 5, 8)]
    _, checked = checked_forward(model, inputs, {"N": 2, "T": 5}, str(module.__file__))
    assert checked >= 3


def test_a_comment_the_tensor_contradicts_is_caught(tmp_path: Path) -> None:
    source = compiled(tmp_path)
    wrong = source.replace("# (N, T, width)", "# (N, T, 16)")
    module = runtime.load_source(wrong, "archc_comments_wrong")
    with recording_arguments(module):
        model = module.Net(width=10)
    with pytest.raises(AssertionError, match=r"says \(N, T, 16\)"):
        checked_forward(model, [torch.randn(2, 5, 8)], {"N": 2, "T": 5}, str(module.__file__))
