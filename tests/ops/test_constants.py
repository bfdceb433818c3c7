"""Build-time constants (`arange`, `zeros`), the buffers that hold them and `lookup`: shapes, the
PyTorch a class computes them with, the values the interpreter agrees on, and the refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from archc import api, runtime
from archc.dims import BATCH, TensorType
from tests.ops.harness import check_against_reference, check_against_torch, diagnose, infer

# Swin V2's relative-position index for a window of w x w tokens, from arange and arithmetic
SPEC = """
block Window(window) {
    in x
    steps = arange(0, window * (2 * window - 1), 2 * window - 1)
    rows = (steps -> unsqueeze(2)) + (arange(window) -> unsqueeze(1)) -> flatten(1)
    cols = arange(window) -> unsqueeze(2) -> flatten(1)
    index = (rows -> unsqueeze(2)) - (rows -> unsqueeze(1)) + (window - 1) * (2 * window)
    _coords = arange(-(window - 1), window, dtype="float32") -> buffer(persistent=false) as coords
    table = x -> parameter((2 * window - 1) ** 2, 3, exact=true) as table
    bias = table[index -> flatten(1) -> buffer as relative_position_index]
    out x + (bias -> sum(2) -> sum(1) -> unsqueeze(1)) + (cols -> sum(1) -> unsqueeze(1))
}
network Net(window=3) {
    in x: [5]
    out x -> Window(window) as attn
}
"""


def expected_index(window: int) -> torch.Tensor:
    coords = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij"))
    flat = torch.flatten(coords, 1)
    relative = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0).contiguous()
    relative[:, :, 0] += window - 1
    relative[:, :, 1] += window - 1
    relative[:, :, 0] *= 2 * window - 1
    return relative.sum(-1).flatten()


@pytest.fixture
def spec(tmp_path: Path) -> str:
    path = tmp_path / "window.arch"
    path.write_text(SPEC)
    return str(path)


@given(st.integers(1, 6), st.integers(-4, 4), st.integers(1, 3))
def test_arange_matches_torch(stop: int, start: int, step: int) -> None:
    if len(range(start, stop, step)) == 0:
        return
    inferred = check_against_torch("arange", {"bounds": (start, stop, step)}, [])
    assert inferred.outputs[0] == TensorType((1, len(range(start, stop, step))), "int64")


def test_an_empty_arange_is_refused() -> None:
    finding = diagnose("arange", {"bounds": (4, 4)}, [])
    assert finding.code == "A301" and finding.with_ == "start=4, stop=4, step=1"


def test_lookup_picks_rows_of_a_shared_table() -> None:
    table, index = TensorType((1, 7, 3)), TensorType((BATCH, 4, 2), "int64")
    _, _, inferred = infer("lookup", {}, [table, index])
    assert inferred.outputs[0] == TensorType((BATCH, 4, 2, 3))
    inferred = check_against_torch("lookup", {"positions": (0, -1, 3)}, [table])
    assert inferred.outputs[0] == TensorType((1, 3, 3))


def test_lookup_refuses_a_per_sample_table_and_a_float_index() -> None:
    per_sample = diagnose(
        "lookup", {}, [TensorType((BATCH, 7, 3)), TensorType((BATCH, 2), "int64")]
    )
    assert per_sample.code == "A304"
    floats = diagnose("lookup", {}, [TensorType((1, 7, 3)), TensorType((BATCH, 2))])
    assert floats.code == "A308"
    out_of_range = diagnose("lookup", {"positions": (7,)}, [TensorType((1, 7, 3))])
    assert out_of_range.code == "A260" and out_of_range.with_ == "V=7, position=7"


def test_buffers_are_computed_in_init_as_torchvision_computes_them(spec: str) -> None:
    for window in (2, 3, 8):
        model = runtime.build(spec, window=window)
        assert torch.equal(model.attn.relative_position_index, expected_index(window))
    state = runtime.build(spec).state_dict()
    assert list(state) == ["attn.table", "attn.relative_position_index"]  # coords: not saved
    source = api.compile_source(spec)
    assert 'self.register_buffer("coords", arange[0], persistent=False)' in source
    assert "self.relative_position_index.unsqueeze(0)" in source
    assert "torch.arange(window)" in source
    (network,), _ = api.analyse(spec)
    assert network.buffers() == {"attn.relative_position_index": (81,)}  # coords: not saved
    assert network.buffer_count == 5 + 81


def test_the_interpreter_agrees_with_the_generated_module(spec: str) -> None:
    verdicts = runtime.selftest(spec)
    assert verdicts and all(ok for ok, _ in verdicts), verdicts


def test_lookup_with_an_index_tensor_matches_indexing() -> None:
    def reference(args: object, inferred: object) -> torch.nn.Module:
        class Lookup(torch.nn.Module):
            def forward(self, table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
                return table[0][index]

        return Lookup()

    table, index = TensorType((1, 5, 3)), TensorType((BATCH, 4), "int64")
    inferred = check_against_reference("lookup", {}, [table, index], reference)
    assert inferred.macs == 0


@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), st.sampled_from(["float32", "int64"]))
def test_zeros_matches_torch(shape: list[int], dtype: str) -> None:
    inferred = check_against_torch("zeros", {"shape": tuple(shape), "dtype": dtype}, [])
    assert inferred.outputs[0] == TensorType((1, *shape), dtype)


def test_zeros_of_an_empty_shape_is_refused() -> None:
    finding = diagnose("zeros", {"shape": (3, 0)}, [])
    assert finding.code == "A301" and finding.with_ == "shape=(3, 0)"


# A bias over the vocabulary that starts at zero and is loaded with the weights (BART's)
BIAS = """
network Head(vocab=7) {
    in x: [T, 4]
    out (x -> linear(vocab, bias=false) as lm_head) + (zeros(1, vocab) -> buffer as logits_bias)
}
"""


def test_a_buffer_of_zeros_is_held_with_its_shape_and_loaded(tmp_path: Path) -> None:
    path = tmp_path / "head.arch"
    path.write_text(BIAS)
    (network,), _ = api.analyse(str(path))
    assert network.buffers() == {"logits_bias": (1, 7)} and network.param_count == 28
    source = api.compile_source(str(path))
    assert "torch.zeros(1, 1, vocab)" in source  # the batch axis first, then (1, vocab)
    model = runtime.build(str(path), vocab=5)
    assert torch.equal(model.logits_bias, torch.zeros(1, 5))
    state = {"lm_head.weight": torch.randn(5, 4), "logits_bias": torch.randn(1, 5)}
    model.load_state_dict(state, strict=True)
    x = torch.randn(2, 3, 4)
    expected = x @ state["lm_head.weight"].T + state["logits_bias"]
    assert torch.allclose(model(x), expected)
    verdicts = runtime.selftest(str(path))
    assert verdicts and all(ok for ok, _ in verdicts), verdicts
