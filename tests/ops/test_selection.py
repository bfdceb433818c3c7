"""topk, gather, scatter_add and one_hot against torch: shapes, element types, diagnostics."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from archc import api, runtime
from archc.dims import BATCH, Sym, TensorType
from archc.ops.spec import ShapeError
from tests.ops.harness import check_against_torch, infer

T = Sym.named("T")
# make_input draws indices from 0 to 3, so every axis an index points along holds at least 4
LENGTHS = st.integers(4, 7)


@given(st.lists(st.integers(1, 6), min_size=1, max_size=3), st.data())
def test_topk_matches_torch(shape: list[int], data: st.DataObject) -> None:
    axis = data.draw(st.integers(1, len(shape)))
    k = data.draw(st.integers(1, shape[axis - 1]))
    largest = data.draw(st.booleans())
    inferred = check_against_torch(
        "topk", {"k": k, "dim": axis, "largest": largest}, [TensorType((BATCH, *shape))]
    )
    assert [t.dtype for t in inferred.outputs] == ["float32", "int64"]


@given(LENGTHS, st.integers(1, 5), st.integers(1, 4), st.data())
def test_gather_matches_torch(length: int, taken: int, width: int, data: st.DataObject) -> None:
    narrower = data.draw(st.integers(1, width))
    x, index = TensorType((BATCH, length, width)), TensorType((BATCH, taken, narrower), "int64")
    inferred = check_against_torch("gather", {"dim": 1}, [x, index])
    assert inferred.outputs == (TensorType((BATCH, taken, narrower)),)


@given(LENGTHS, st.integers(1, 5), st.integers(1, 4), st.data())
def test_scatter_add_matches_torch(
    length: int, added: int, width: int, data: st.DataObject
) -> None:
    index_width = data.draw(st.integers(1, width))
    src_rows = data.draw(st.integers(added, added + 2))
    inputs = [
        TensorType((BATCH, length, width)),
        TensorType((BATCH, added, index_width), "int64"),
        TensorType((BATCH, src_rows, width)),
    ]
    inferred = check_against_torch("scatter_add", {"dim": 1}, inputs)
    assert inferred.outputs == (inputs[0],)


@given(st.integers(4, 9), st.integers(1, 5))
def test_one_hot_matches_torch(classes: int, length: int) -> None:
    inferred = check_against_torch(
        "one_hot", {"classes": classes}, [TensorType((BATCH, length), "int64")]
    )
    assert inferred.outputs == (TensorType((BATCH, length, classes), "int64"),)


@pytest.mark.parametrize(
    ("name", "arguments", "inputs", "code"),
    [
        ("topk", {"k": 9}, [TensorType((BATCH, T, 8))], "A367"),
        ("topk", {"k": 2, "dim": 0}, [TensorType((BATCH, 8))], "A309"),
        (
            "gather",
            {"dim": 1},
            [TensorType((BATCH, 8, 4)), TensorType((BATCH, 2, 5), "int64")],
            "A368",
        ),
        ("gather", {"dim": 1}, [TensorType((BATCH, 8, 4)), TensorType((BATCH, 2, 4))], "A308"),
        (
            "scatter_add",
            {"dim": 1},
            [TensorType((BATCH, 8)), TensorType((BATCH, 3), "int64"), TensorType((BATCH, 2))],
            "A368",
        ),
        (
            "scatter_add",
            {"dim": 1},
            [TensorType((BATCH, 8, 2)), TensorType((BATCH, 3), "int64"), TensorType((BATCH, 3))],
            "A304",
        ),
        ("one_hot", {"classes": 4}, [TensorType((BATCH, T), "int32")], "A308"),
    ],
)
def test_selections_that_cannot_work_are_refused(
    name: str, arguments: dict[str, Any], inputs: list[TensorType], code: str
) -> None:
    with pytest.raises(ShapeError) as caught:
        infer(name, arguments, inputs)
    assert caught.value.finding.code == code


def test_a_router_written_out_sums_the_chosen_experts(tmp_path: Any) -> None:
    # each token's top 2 of 4 expert scores as softmax weights, summed into a dense matrix
    spec = tmp_path / "router.arch"
    spec.write_text(
        "network Router {\n"
        "    in x: [T, 16]\n"
        "    scores = x -> linear(4, bias=false) as gate -> softmax(-1)\n"
        "    top, chosen = scores -> topk(2)\n"
        "    routed = scatter_add(scores * 0.0, chosen, top, -1)\n"
        "    out routed + (chosen -> one_hot(4) -> sum(2))\n"
        "}\n"
    )
    _, diagnostics = api.analyse(str(spec))
    assert diagnostics == []
    source = api.compile_source(str(spec))
    assert "torch.topk(scores, 2, dim=-1)" in source
    assert "F.one_hot(chosen, 4)" in source
    model = runtime.build(str(spec), seed=0).eval()
    x = torch.randn(3, 5, 16)
    with torch.no_grad():
        probabilities = model.gate(x).softmax(-1)
        top, chosen = probabilities.topk(2, dim=-1)
        expected = torch.zeros_like(probabilities).scatter(-1, chosen, top + 1.0)
        torch.testing.assert_close(model(x), expected)
