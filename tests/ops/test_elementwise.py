"""Elementwise math, numbers, comparisons and masks against torch: shapes, element types, values
of the emitted expression against the op's own semantics, and every diagnostic."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from archc import api
from archc.dims import BATCH, Sym, TensorType
from archc.ops.spec import Execution
from tests.ops.harness import (
    BATCH_SIZE,
    check_against_torch,
    diagnose,
    expression,
    forward,
    infer,
)
from tests.oracle import check_values

T = Sym.named("T")
SEQUENCE = TensorType((BATCH, 5, 8))


def mask(*shape: int) -> TensorType:
    return TensorType((BATCH, *shape), "bool")


# --- agreement with torch ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("exp", {}),
        ("abs", {}),
        ("sign", {}),
        ("neg", {}),
        ("pow", {"exponent": 2}),
        ("pow", {"exponent": 3}),
        ("clamp", {"min": -0.5, "max": 0.5}),
        ("clamp", {"max": 0.0}),
        ("clamp", {"min": 0.25}),
        ("cumsum", {"dim": 1}),
        ("cumsum", {"dim": -1}),
        ("tril", {}),
        ("tril", {"diagonal": -1}),
        ("triu", {"diagonal": 2}),
        ("positions", {"dim": 1}),
        ("positions", {"dim": -1}),
    ],
)
def test_one_tensor_ops_match_torch(name: str, arguments: dict) -> None:
    inferred = check_against_torch(name, arguments, [SEQUENCE])
    assert inferred.macs == 0 and inferred.params == {}


@pytest.mark.parametrize("name", ["log", "log2", "sqrt", "rsqrt"])
def test_functions_of_positive_numbers_match_torch(name: str) -> None:
    """Checked on positive inputs, where they are finite: the emitted expression, the op's own
    semantics and torch's function agree."""
    op, args, inferred = infer(name, {}, [SEQUENCE])
    x = torch.rand(BATCH_SIZE, 5, 8, dtype=torch.float64) + 0.1
    emitted = forward(None, expression(op.torch_expr(args, inferred)), [x], training=False)
    (executed,) = op.execute(args, inferred, Execution(torch, (x,)))
    expected = getattr(torch, name)(x)
    assert torch.equal(emitted, expected) and torch.equal(executed, expected)


@pytest.mark.parametrize("op", ["+", "-", "/"])
@pytest.mark.parametrize("number_first", [False, True])
@pytest.mark.parametrize("number", [2, -0.5])
def test_a_tensor_and_a_number_match_torch(op: str, number_first: bool, number: float) -> None:
    arguments = {"op": op, "number": number, "number_first": number_first}
    check_against_torch("scalar", arguments, [SEQUENCE])


@given(
    st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
    st.sampled_from([(5, 8), (1, 8), (5, 1)]),
)
def test_comparisons_broadcast_to_bool_like_torch(op: str, other: tuple[int, int]) -> None:
    inferred = check_against_torch("compare", {"op": op}, [SEQUENCE, TensorType((BATCH, *other))])
    assert inferred.outputs[0].dtype == "bool"


@pytest.mark.parametrize("number", [0, 0.5, -1.25])
def test_comparison_with_a_number_matches_torch(number: float) -> None:
    check_against_torch("compare", {"op": ">=", "number": number}, [SEQUENCE])


def test_where_and_masked_fill_match_torch() -> None:
    check_against_torch("where", {}, [mask(5, 1), SEQUENCE, TensorType((BATCH, 1, 8))])
    for value in (float("-inf"), 0.5, -3.0):
        inferred = check_against_torch("masked_fill", {"value": value}, [SEQUENCE, mask(1, 8)])
        assert inferred.outputs == (SEQUENCE,)


# --- shapes and element types --------------------------------------------------------------------


def test_positions_broadcast_against_their_tensor() -> None:
    scores = TensorType((BATCH, 4, T, T))
    _, _, rows = infer("positions", {"dim": -2}, [scores])
    _, _, columns = infer("positions", {"dim": 3}, [scores])
    assert rows.outputs == (TensorType((1, 1, T, 1), "int64"),)
    assert columns.outputs == (TensorType((1, 1, 1, T), "int64"),)
    _, _, causal = infer("compare", {"op": ">"}, [columns.outputs[0], rows.outputs[0]])
    assert causal.outputs == (TensorType((1, 1, T, T), "bool"),)


@pytest.mark.parametrize(
    ("name", "arguments", "dtypes", "result"),
    [
        ("add", {}, ("int64", "float32"), "float32"),
        ("add", {}, ("int64", "int32"), "int64"),
        ("where", {}, ("bool", "float64", "float64"), "float64"),
        ("concat", {}, ("bool", "bool"), "bool"),
        ("scale", {"factor": 2.0}, ("int64",), "float32"),
        ("scalar", {"op": "+", "number": 1}, ("int64",), "int64"),
        ("scalar", {"op": "/", "number": 2}, ("int64",), "float32"),
        ("cumsum", {"dim": 1}, ("bool",), "int64"),
        ("abs", {}, ("int32",), "int32"),
        ("compare", {"op": "==", "number": 1}, ("int64",), "bool"),
    ],
)
def test_element_types_follow_torch(
    name: str, arguments: dict, dtypes: tuple[str, ...], result: str
) -> None:
    inputs = [TensorType((BATCH, 5, 8), dtype) for dtype in dtypes]
    _, _, inferred = infer(name, arguments, inputs)
    assert inferred.outputs[0].dtype == result
    if name != "scale":  # scale of an integer tensor is refused by torch's own dtype checks
        check_against_torch(name, arguments, inputs)


@pytest.mark.parametrize(
    ("name", "arguments", "dtypes"),
    [
        ("add", {}, ("float32", "float64")),
        ("matmul", {}, ("float64", "float32")),
        ("compare", {"op": "<"}, ("float16", "float32")),
        ("where", {}, ("bool", "float32", "bfloat16")),
        ("concat", {}, ("float32", "float64")),
    ],
)
def test_two_float_types_are_refused(name: str, arguments: dict, dtypes: tuple[str, ...]) -> None:
    inputs = [TensorType((BATCH, 8, 8), dtype) for dtype in dtypes]
    finding = diagnose(name, arguments, inputs)
    floats = sorted(
        {d for d in dtypes if d != "bool"}, key=["float32", "float64", "float16", "bfloat16"].index
    )
    assert finding.code == "A330"
    who = "`<`" if name == "compare" else name  # a comparison is named by its operator
    assert finding.message == f"{who} mixes element types {floats[0]} and {floats[1]}"


@pytest.mark.parametrize(
    ("name", "arguments", "dtypes", "message"),
    [
        (
            "mul",
            {},
            ("float32", "bool"),
            "mul computes with numbers, but (N, 8, 8) holds booleans",
        ),
        ("exp", {}, ("int64",), "exp computes in floating point, but (N, 8, 8) holds int64"),
        ("neg", {}, ("bool",), "neg computes with numbers, but (N, 8, 8) holds booleans"),
        (
            "where",
            {},
            ("float32", "float32", "float32"),
            "where takes a boolean condition, but (N, 8, 8) holds float32",
        ),
        (
            "masked_fill",
            {"value": 0.0},
            ("float32", "int64"),
            "masked_fill takes a boolean mask, but (N, 8, 8) holds int64",
        ),
        (
            "masked_fill",
            {"value": 0.5},
            ("int64", "bool"),
            "masked_fill with 0.5 computes in floating point, but (N, 8, 8) holds int64",
        ),
        (
            "pow",
            {"exponent": -1},
            ("int64",),
            "pow(-1) computes in floating point, but (N, 8, 8) holds int64",
        ),
    ],
)
def test_wrong_element_types_are_refused(
    name: str, arguments: dict, dtypes: tuple[str, ...], message: str
) -> None:
    finding = diagnose(name, arguments, [TensorType((BATCH, 8, 8), d) for d in dtypes])
    assert (finding.code, finding.message) == ("A308", message)


def test_compare_needs_a_number_or_a_second_tensor() -> None:
    finding = diagnose("compare", {"op": "<"}, [SEQUENCE])
    assert finding.code == "A311"
    assert finding.message == "compare with no number takes 2 tensors, got 1"


# --- in a spec: the generated module computes what the interpreter computes ----------------------

CAUSAL = """
network Causal(d_model=16, vocab=32) {
    in tokens: int64[T]
    in padding: bool[T]
    x = tokens -> embedding(vocab, d_model) as wte
    x = x + (positions(tokens, dim=1) -> embedding(64, d_model) as wpe)
    scores = matmul(x, x -> transpose(1, 2)) / sqrt(d_model)
    future = positions(scores, dim=-1) > positions(scores, dim=-2)
    weights = masked_fill(scores, future, -inf) -> softmax(-1)
    gate = 1.0 - (x -> sigmoid)
    y = matmul(weights, x) * gate + x ** 2 - exp(-x) / 2.0
    z = where(x > 0, x, -x) -> clamp(min=-1, max=1) -> pow(3)
    kept = where(padding -> unsqueeze(-1), 0.0 * x, x)
    w = rsqrt(x * x + 1.0) + log(1.0 / (1.0 + exp(x))) + (x -> abs -> sqrt)
    out y + z + w + kept
    out tril(scores, diagonal=1) - triu(scores -> cumsum(1))
}
"""


def test_a_causal_mask_and_elementwise_math_compute_what_the_interpreter_computes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "causal.arch"
    path.write_text(CAUSAL, encoding="utf-8")
    _, diagnostics = api.analyse(str(path))
    assert diagnostics == []
    check_values(path)
