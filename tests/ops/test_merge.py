"""add, sub, mul, div, concat, matmul, split and chunk against torch: broadcasting, several inputs,
several outputs, every diagnostic, and symbolic sizes."""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from archc import dims, ops
from archc.dims import BATCH, Sym, TensorType
from archc.ops.spec import ShapeError
from tests.ops.harness import check_against_torch, diagnose, expression, infer

H, W, T = Sym.named("H"), Sym.named("W"), Sym.named("T")

sizes = st.lists(st.integers(1, 5), min_size=1, max_size=4)


def refused(name: str, arguments: dict, inputs: list[TensorType]) -> ShapeError:
    with pytest.raises(ShapeError) as caught:
        infer(name, arguments, inputs)
    return caught.value


@st.composite
def broadcastable(draw: st.DrawFn, count: int) -> list[TensorType]:
    """``count`` shapes of one rank that broadcast: each axis is either the full size or 1."""
    full = draw(sizes)
    shapes = []
    for _ in range(count):
        ones = draw(st.lists(st.booleans(), min_size=len(full), max_size=len(full)))
        shapes.append(
            TensorType((BATCH, *(1 if one else d for d, one in zip(full, ones, strict=True))))
        )
    return shapes


# --- agreement with torch -------------------------------------------------------------------------


@given(st.sampled_from(["add", "mul"]), st.integers(2, 4).flatmap(broadcastable))
def test_variadic_arithmetic_broadcasts_like_torch(name: str, inputs: list[TensorType]) -> None:
    inferred = check_against_torch(name, {}, inputs)
    assert inferred.macs == 0 and inferred.findings == ()


@given(st.sampled_from(["sub", "div"]), broadcastable(2))
def test_binary_arithmetic_broadcasts_like_torch(name: str, inputs: list[TensorType]) -> None:
    check_against_torch(name, {}, inputs)


@given(st.data(), sizes, st.integers(1, 4))
def test_concat_matches_torch(data: st.DataObject, shape: list[int], count: int) -> None:
    axis = data.draw(st.integers(1, len(shape)))
    inputs = []
    for _ in range(count):
        own = list(shape)
        own[axis - 1] = data.draw(st.integers(1, 5))
        inputs.append(TensorType((BATCH, *own)))
    dim = data.draw(st.sampled_from([axis, axis - len(shape) - 1]))
    inferred = check_against_torch("concat", {"dim": dim}, inputs)
    assert inferred.outputs[0].shape[axis] == sum(x.shape[axis] for x in inputs)


@given(st.data(), sizes)
def test_split_matches_torch(data: st.DataObject, shape: list[int]) -> None:
    axis = data.draw(st.integers(1, len(shape)))
    x = TensorType((BATCH, *shape))
    if data.draw(st.booleans()):
        how: int | tuple[int, ...] = data.draw(st.integers(1, 6))
    else:
        size = shape[axis - 1]
        cuts = data.draw(st.sets(st.integers(1, size - 1)) if size > 1 else st.just(set()))
        how = tuple(b - a for a, b in itertools.pairwise([0, *sorted(cuts), size]))
    inferred = check_against_torch("split", {"split_size_or_sections": how, "dim": axis}, [x])
    assert sum(y.shape[axis] for y in inferred.outputs) == shape[axis - 1]


@given(st.data(), sizes, st.integers(1, 6))
def test_chunk_matches_torch_or_refuses_a_short_count(
    data: st.DataObject, shape: list[int], chunks: int
) -> None:
    axis = data.draw(st.integers(1, len(shape)))
    x = TensorType((BATCH, *shape))
    pieces = len(torch.chunk(torch.zeros(shape[axis - 1]), chunks))
    if pieces == chunks:
        check_against_torch("chunk", {"chunks": chunks, "dim": axis}, [x])
    else:
        finding = refused("chunk", {"chunks": chunks, "dim": axis}, [x]).finding
        assert (finding.code, finding.arg) == ("A309", "chunks")


@given(st.data(), broadcastable(2), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4))
def test_matmul_matches_torch(
    data: st.DataObject, lead: list[TensorType], n: int, k: int, m: int
) -> None:
    a, b = (TensorType((*x.shape, n, k)) for x in lead)
    b = TensorType((*b.shape[:-2], k, m))
    inferred = check_against_torch("matmul", {}, [a, b])
    assert inferred.macs == dims.product(list(inferred.outputs[0].shape[1:])) * k


# --- code and labels ------------------------------------------------------------------------------


def test_expressions_generalise_to_several_inputs() -> None:
    x = TensorType((BATCH, 4, 5))
    op, args, inferred = infer("add", {}, [x, x, x])
    assert expression(op.torch_expr(args, inferred)) == "{0} + {1} + {2}"
    assert op.label(args, inferred) == "+" and op.variadic and op.min_inputs == 2
    op, args, inferred = infer("sub", {}, [x, x])
    assert expression(op.torch_expr(args, inferred)) == "{0} - {1}" and not op.variadic
    op, args, inferred = infer("cat", {"axis": -1}, [x, x])
    assert op is ops.lookup("concat")
    assert expression(op.torch_expr(args, inferred)) == "torch.cat([{inputs}], dim=-1)"
    assert op.label(args, inferred) == "concat dim=-1"
    op, args, inferred = infer("chunk", {"chunks": 2, "dim": -1}, [TensorType((BATCH, 4, 6))])
    assert expression(op.torch_expr(args, inferred)) == "torch.chunk({0}, 2, dim=-1)"
    op, args, inferred = infer("split", {"split_size_or_sections": (1, 3)}, [x])
    assert expression(op.torch_expr(args, inferred)) == "torch.split({0}, (1, 3), dim=1)"
    op, args, inferred = infer("matmul", {}, [x, TensorType((BATCH, 5, 2))])
    assert expression(op.torch_expr(args, inferred)) == "{0} @ {1}"


def test_families() -> None:
    families = {name: ops.lookup(name).family for name in ("add", "concat", "matmul", "chunk")}
    assert families == {"add": "merge", "concat": "merge", "matmul": "merge", "chunk": "shape"}


# --- broadcasting diagnostics ---------------------------------------------------------------------


def test_channel_mismatch_on_a_skip_connection() -> None:
    y, skip = TensorType((BATCH, 256, 56, 56)), TensorType((BATCH, 64, 56, 56))
    finding = refused("add", {}, [y, skip]).finding
    assert finding.code == "A303"
    assert (
        finding.message
        == "channel mismatch: add of (N, 256, 56, 56) + (N, 64, 56, 56) has 256 vs 64 channels"
    )
    assert finding.rule == "a + b needs equal shapes, except that a size of 1 broadcasts"
    assert finding.with_ == "(N, 256, 56, 56) + (N, 64, 56, 56): axis 1 is 256 vs 64"
    assert finding.help == (
        "project the skip (N, 64, 56, 56) with conv2d(256, 1) to (N, 256, 56, 56)"
    )
    assert finding.label == "256 vs 64 channels"


@pytest.mark.parametrize(
    ("shapes", "message", "label"),
    [
        (
            ((16,), (8,)),
            "feature mismatch: add of (N, 16) + (N, 8) has 16 vs 8 features",
            "16 vs 8 features",
        ),
        (
            ((16, 32), (8, 32)),
            "length or channel mismatch: add of (N, 16, 32) + (N, 8, 32) has 16 vs 8 time "
            "steps or channels",
            "16 vs 8 time steps or channels",
        ),
    ],
)
def test_axis_one_mismatch_is_named_by_its_role(
    shapes: tuple[tuple[int, ...], ...], message: str, label: str
) -> None:
    """Axis 1 holds features in (N, F) and, in (N, T, E), time steps rather than channels."""
    finding = refused("add", {}, [TensorType((BATCH, *s)) for s in shapes]).finding
    assert (finding.code, finding.message, finding.label) == ("A303", message, label)


def test_channel_and_stride_mismatch_proposes_a_strided_projection() -> None:
    y, skip = TensorType((BATCH, 128, 28, 28)), TensorType((BATCH, 64, 56, 56))
    finding = refused("add", {}, [y, skip]).finding
    assert finding.code == "A303"
    assert finding.with_ == (
        "(N, 128, 28, 28) + (N, 64, 56, 56): axes 1, 2 and 3 are (128, 28, 28) vs (64, 56, 56)"
    )
    assert finding.help == (
        "project the skip (N, 64, 56, 56) with conv2d(128, 1, stride=2) to (N, 128, 28, 28)"
    )


@pytest.mark.parametrize(
    ("rank", "projection"), [(2, "linear(8)"), (3, "conv1d(8, 1)"), (5, "conv3d(8, 1)")]
)
def test_channel_mismatch_help_fits_the_rank(rank: int, projection: str) -> None:
    a = TensorType((BATCH, 8, *[3] * (rank - 2)))
    b = TensorType((BATCH, 4, *[3] * (rank - 2)))
    assert (
        f"project the skip {b} with {projection} to {a}" in refused("mul", {}, [a, b]).finding.help
    )


def test_spatial_mismatch_is_a_broadcast_error() -> None:
    a, b = TensorType((BATCH, 64, 56, 56)), TensorType((BATCH, 64, 28, 28))
    finding = refused("add", {}, [a, b]).finding
    assert finding.code == "A307"
    differences = "axes 2 and 3 are (56, 56) vs (28, 28)"
    assert finding.message == f"cannot broadcast (N, 64, 56, 56) + (N, 64, 28, 28): {differences}"
    assert finding.with_ == f"(N, 64, 56, 56) + (N, 64, 28, 28): {differences}"
    assert finding.help == (
        "project the skip (N, 64, 56, 56) with conv2d(64, 1, stride=2) to (N, 64, 28, 28)"
    )


def test_spatial_mismatch_of_a_gate_proposes_upsampling() -> None:
    x, gate = TensorType((BATCH, 64, 56, 56)), TensorType((BATCH, 1, 28, 28))
    assert refused("mul", {}, [x, gate]).finding.help == (
        "upsample the (N, 1, 28, 28) operand with upsample(scale_factor=2), "
        "or give it size 1 on axes 2 and 3"
    )


def test_third_operand_is_checked_against_the_broadcast_of_the_first_two() -> None:
    a, b, c = (TensorType((BATCH, 8, s)) for s in (1, 5, 4))
    finding = refused("mul", {}, [a, b, c]).finding
    assert (finding.code, finding.with_) == ("A307", "(N, 8, 5) * (N, 8, 4): axis 2 is 5 vs 4")


def test_different_ranks_are_refused() -> None:
    finding = refused("add", {}, [TensorType((BATCH, 64, 7, 7)), TensorType((BATCH, 64))]).finding
    assert (finding.code, finding.with_) == ("A304", "(N, 64, 7, 7) + (N, 64)")


def test_symbolic_broadcasting() -> None:
    _, _, inferred = infer(
        "add", {}, [TensorType((BATCH, 64, H, W)), TensorType((BATCH, 64, 1, 1))]
    )
    assert str(inferred.outputs[0]) == "(N, 64, H, W)" and inferred.findings == ()
    _, _, inferred = infer("add", {}, [TensorType((BATCH, 8, H)), TensorType((BATCH, 8, W))])
    (warning,) = inferred.findings
    assert (warning.code, warning.severity) == ("A307", "warning")
    assert warning.with_ == "(N, 8, H) + (N, 8, W): axis 2 is H vs W"
    # a conv's output size written two ways is still recognised as the same
    _, _, inferred = infer(
        "add",
        {},
        [TensorType((BATCH, 8, (H - 1) // 2 + 1)), TensorType((BATCH, 8, (H + 2 - 3) // 2 + 1))],
    )
    assert inferred.findings == ()


# --- concat diagnostics ---------------------------------------------------------------------------


def test_concat_mismatch_off_the_axis() -> None:
    a, b = TensorType((BATCH, 64, 56, 56)), TensorType((BATCH, 32, 28, 28))
    finding = refused("concat", {}, [a, b]).finding
    assert finding.code == "A306"
    assert finding.with_ == "(N, 64, 56, 56) and (N, 32, 28, 28): axis 2 is 56 vs 28"
    assert finding.help == "resize the inputs so that axis 2 agrees (pool, interpolate or crop)"


def test_concat_ranks_and_batch() -> None:
    a, b = TensorType((BATCH, 64, 7, 7)), TensorType((BATCH, 64))
    assert refused("concat", {}, [a, b]).finding.code == "A304"
    batch = refused("concat", {"dim": 0}, [a, a]).finding
    assert (batch.code, batch.arg) == ("A309", "dim")


def test_concat_with_symbolic_sizes() -> None:
    _, _, inferred = infer(
        "concat", {"dim": 1}, [TensorType((BATCH, 64, H, W)), TensorType((BATCH, 32, H, W))]
    )
    assert str(inferred.outputs[0]) == "(N, 96, H, W)" and inferred.findings == ()
    _, _, inferred = infer(
        "concat", {"dim": 1}, [TensorType((BATCH, T, 8)), TensorType((BATCH, T, 8))]
    )
    assert str(inferred.outputs[0]) == "(N, 2*T, 8)"
    _, _, inferred = infer("concat", {}, [TensorType((BATCH, 4, H)), TensorType((BATCH, 4, W))])
    assert [(f.code, f.severity) for f in inferred.findings] == [("A306", "warning")]


# --- split and chunk diagnostics ------------------------------------------------------------------


def test_split_sections_must_add_up() -> None:
    finding = refused(
        "split", {"split_size_or_sections": (16, 16, 32)}, [TensorType((BATCH, 48, 4))]
    ).finding
    assert (finding.code, finding.arg) == ("A309", "split_size_or_sections")
    assert finding.with_ == "16 + 16 + 32 = 64, but size = 48"


def test_uneven_pieces_are_a_warning() -> None:
    _, _, inferred = infer("split", {"split_size_or_sections": 4}, [TensorType((BATCH, 10))])
    (warning,) = inferred.findings
    assert (warning.code, warning.severity, warning.with_) == ("A302", "warning", "10 = 4 + 4 + 2")


def test_chunk_that_torch_would_cut_short() -> None:
    finding = refused("chunk", {"chunks": 4}, [TensorType((BATCH, 5))]).finding
    assert finding.with_ == "ceil(5 / 4) = 2: (2, 2, 1)"
    assert finding.message == "chunk(4) of an axis of 5 gives 3 pieces, not 4"


def test_symbolic_split_and_chunk() -> None:
    _, _, inferred = infer("chunk", {"chunks": 2, "dim": -1}, [TensorType((BATCH, T, 2 * T))])
    assert [str(y) for y in inferred.outputs] == ["(N, T, T)", "(N, T, T)"]
    assert refused("chunk", {"chunks": 2}, [TensorType((BATCH, T))]).finding.code == "A310"
    assert (
        refused("split", {"split_size_or_sections": 2}, [TensorType((BATCH, T))]).finding.code
        == "A310"
    )
    sections = refused("split", {"split_size_or_sections": (2, 2)}, [TensorType((BATCH, T))])
    assert sections.finding.code == "A310"


def test_qkv_chunk_of_a_sequence() -> None:
    (q, k, v) = infer("chunk", {"chunks": 3, "axis": -1}, [TensorType((BATCH, T, 3 * 768))])[
        2
    ].outputs
    assert q.shape == k.shape == v.shape and q.shape[-1] == 768


# --- matmul diagnostics ---------------------------------------------------------------------------


def test_matmul_inner_mismatch_suggests_the_transpose() -> None:
    q = TensorType((BATCH, 12, 5, 64))
    finding = refused("matmul", {}, [q, q]).finding
    assert finding.code == "A303"
    assert finding.with_ == "(N, 12, 5, 64) @ (N, 12, 5, 64): 64 columns vs 5 rows"
    assert finding.help == "transpose the second operand's last two axes: transpose(-2, -1)"
    other = refused("matmul", {}, [TensorType((BATCH, 4, 3, 8)), TensorType((BATCH, 4, 5, 6))])
    assert other.finding.help == "make the second operand's axis -2 hold 8"


def test_matmul_inner_sizes_that_depend_on_symbols_are_a_warning() -> None:
    q = TensorType((BATCH, 12, T, 64))
    _, _, inferred = infer("matmul", {}, [q, q])
    (warning,) = inferred.findings
    assert (warning.code, warning.severity) == ("A303", "warning")
    assert warning.with_ == "(N, 12, T, 64) @ (N, 12, T, 64): 64 columns vs T rows"


def test_matmul_needs_matrices() -> None:
    finding = refused("matmul", {}, [TensorType((BATCH, 8)), TensorType((BATCH, 8))]).finding
    assert finding.code == "A304"


def test_matmul_heads_mismatch_is_not_called_channels() -> None:
    a, b = TensorType((BATCH, 12, 4, 8)), TensorType((BATCH, 6, 8, 4))
    finding = refused("matmul", {}, [a, b]).finding
    assert (finding.code, finding.with_) == (
        "A307",
        "(N, 12, 4, 8) @ (N, 6, 8, 4): axis 1 is 12 vs 6",
    )


def test_attention_scores_by_hand_are_symbolic() -> None:
    q, k_t = TensorType((BATCH, 12, T, 64)), TensorType((BATCH, 12, 64, T))
    _, _, inferred = infer("matmul", {}, [q, k_t])
    assert str(inferred.outputs[0]) == "(N, 12, T, T)"
    assert dims.same(inferred.macs, 12 * 64 * T * T)


@given(
    st.lists(st.integers(1, 5), min_size=1, max_size=3),
    st.floats(-4, 4, allow_nan=False).filter(lambda f: f != 0),
    st.booleans(),
)
def test_scale_matches_torch(shape: list[int], factor: float, divide: bool) -> None:
    x = TensorType((BATCH, *shape))
    inferred = check_against_torch("scale", {"factor": factor, "divide": divide}, [x])
    assert inferred.outputs == (x,) and inferred.macs == 0


def test_scale_refuses_division_by_zero() -> None:
    finding = diagnose("scale", {"factor": 0.0, "divide": True}, [TensorType((BATCH, 4))])
    assert finding.arg == "factor" and "by 0" in finding.message
