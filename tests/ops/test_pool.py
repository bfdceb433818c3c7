"""Pooling ops against torch: window, adaptive and global pools; MACs and diagnostics."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archc.dims import BATCH, Sym, TensorType
from archc.ops.pool import adaptive_reads
from tests.ops.harness import check_against_torch, diagnose, expression, infer


@st.composite
def window_cases(draw: st.DrawFn) -> tuple[str, dict, TensorType]:
    kind = draw(st.sampled_from(["max", "avg"]))
    spatial = draw(st.integers(1, 3))
    kernel = draw(st.integers(1, 4))
    dilation = draw(st.integers(1, 2)) if kind == "max" else 1
    padding = draw(st.integers(0, kernel // 2))
    args: dict = {
        "kernel_size": kernel,
        "stride": draw(st.none() | st.integers(1, 3)),
        "padding": padding,
        "ceil_mode": draw(st.booleans()),
    }
    if kind == "max":
        args["dilation"] = dilation
    else:
        args["count_include_pad"] = draw(st.booleans())
    span = dilation * (kernel - 1) + 1
    sizes = tuple(draw(st.integers(max(1, span - 2 * padding), 7)) for _ in range(spatial))
    return f"{kind}pool{spatial}d", args, TensorType((BATCH, draw(st.integers(1, 3)), *sizes))


@given(window_cases())
def test_window_pools_match_torch(case: tuple[str, dict, TensorType]) -> None:
    name, args, x = case
    check_against_torch(name, args, [x])


@st.composite
def adaptive_cases(draw: st.DrawFn) -> tuple[str, dict, TensorType]:
    spatial = draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["avg", "max"]))
    # torch's 1-d adaptive pools take no `none`
    entry = st.integers(1, 6) if spatial == 1 else st.none() | st.integers(1, 6)
    output_size = draw(st.integers(1, 6) | st.tuples(*[entry] * spatial))
    sizes = tuple(draw(st.integers(1, 7)) for _ in range(spatial))
    x = TensorType((BATCH, draw(st.integers(1, 3)), *sizes))
    return f"adaptive_{kind}pool{spatial}d", {"output_size": output_size}, x


@given(adaptive_cases())
def test_adaptive_pools_match_torch(case: tuple[str, dict, TensorType]) -> None:
    name, args, x = case
    check_against_torch(name, args, [x])


@pytest.mark.parametrize("spatial", [1, 2, 3])
def test_global_avgpool_matches_torch(spatial: int) -> None:
    x = TensorType((BATCH, 5, *[3] * spatial))
    inferred = check_against_torch("global_avgpool", {}, [x])
    assert inferred.outputs[0].shape == (BATCH, 5)
    assert inferred.macs == 5 * 3**spatial


def test_global_avgpool_expression_reads_like_torch() -> None:
    op, args, inferred = infer("global_avg_pool", {}, [TensorType((BATCH, 5, 7, 7))])
    assert expression(op.torch_expr(args, inferred)) == "{0}.mean(dim=(2, 3))"
    _, args, inferred = infer("global_avgpool", {}, [TensorType((BATCH, 5, 7))])
    assert expression(op.torch_expr(args, inferred)) == "{0}.mean(dim=2)"


def test_resnet_stem_pool() -> None:
    args = {"kernel_size": 3, "stride": 2, "padding": 1}
    op, parsed, inferred = infer("maxpool2d", args, [TensorType((BATCH, 64, 112, 112))])
    assert inferred.outputs[0].shape == (BATCH, 64, 56, 56)
    assert inferred.macs == 64 * 56 * 56 * 9
    assert op.label(parsed, inferred) == "maxpool 3×3, /2"
    ctor = op.torch_module(parsed, inferred)
    assert ctor.path == "nn.MaxPool2d"
    assert ctor.kwargs == (("kernel_size", 3), ("stride", 2), ("padding", 1))


def test_stride_defaults_to_the_kernel_size() -> None:
    op, args, inferred = infer("avgpool2d", {"kernel_size": 2}, [TensorType((BATCH, 8, 6, 6))])
    assert inferred.outputs[0].shape == (BATCH, 8, 3, 3)
    assert op.label(args, inferred) == "avgpool 2×2, /2"
    assert op.torch_module(args, inferred).kwargs == (("kernel_size", 2),)


def test_uneven_tiling_is_a_warning_with_numbers() -> None:
    _, _, inferred = infer(
        "maxpool2d", {"kernel_size": 3, "stride": 2}, [TensorType((BATCH, 4, 8, 7))]
    )
    assert inferred.outputs[0].shape == (BATCH, 4, 3, 3)
    (warning,) = inferred.findings
    assert warning.code == "A302" and warning.severity == "warning"
    assert warning.with_ == "H=8, F=3, P=0, S=2  ->  (8 - 3 + 2*0)/2 + 1 = 3.5"


def test_ceil_mode_keeps_the_partial_window_and_does_not_warn() -> None:
    args = {"kernel_size": 3, "stride": 2, "ceil_mode": True}
    inferred = check_against_torch("maxpool2d", args, [TensorType((BATCH, 4, 8, 8))])
    assert inferred.outputs[0].shape == (BATCH, 4, 4, 4) and inferred.findings == ()


def test_window_larger_than_input_is_an_error() -> None:
    finding = diagnose(
        "maxpool2d", {"kernel_size": 3, "stride": 2}, [TensorType((BATCH, 4, 2, 2))]
    )
    assert finding.code == "A301" and finding.arg == "kernel_size"
    assert finding.with_ == "H=2, F=3, P=0, S=2  ->  (2 - 3 + 2*0)/2 + 1 = 0"


def test_padding_over_half_the_kernel_is_an_error() -> None:
    finding = diagnose("avgpool1d", {"kernel_size": 3, "padding": 2}, [TensorType((BATCH, 4, 9))])
    assert finding.code == "A309" and finding.arg == "padding"
    assert finding.rule == "padding <= kernel_size // 2"
    assert finding.with_ == "padding=2, kernel_size=3  ->  2 > 3//2 = 1"
    assert finding.help == "use padding <= 1, or a kernel_size of at least 4"


def test_wrong_rank_names_the_fitting_op() -> None:
    finding = diagnose("maxpool2d", {"kernel_size": 2}, [TensorType((BATCH, 4, 9))])
    assert finding.code == "A304"
    assert finding.rule == "input shape = (N, C, H, W)"
    assert finding.help == "for a 3-d input (N, C, L) use maxpool1d"


def test_adaptive_output_size_with_the_wrong_length() -> None:
    finding = diagnose(
        "adaptive_avgpool2d", {"output_size": (1, 1, 1)}, [TensorType((BATCH, 4, 9, 9))]
    )
    assert finding.code == "A309" and finding.arg == "output_size"


def test_global_avgpool_needs_a_spatial_axis() -> None:
    finding = diagnose("global_avgpool", {}, [TensorType((BATCH, 4))])
    assert finding.code == "A304"


def test_adaptive_reads_sum_the_overlapping_windows() -> None:
    # 5 -> 3: windows [0, 2), [1, 4), [3, 5)
    assert adaptive_reads(5, 3) == 7
    assert adaptive_reads(6, 3) == 6
    assert adaptive_reads(5, None) == 5
    _, _, inferred = infer(
        "adaptive_avgpool2d", {"output_size": 3}, [TensorType((BATCH, 2, 5, 6))]
    )
    assert inferred.macs == 2 * 7 * 6


def test_adaptive_label_shows_the_output_size() -> None:
    op, args, inferred = infer(
        "adaptive_avgpool2d", {"output_size": (7, None)}, [TensorType((BATCH, 2, 9, 9))]
    )
    assert op.label(args, inferred) == "adaptive avgpool → 7×9"
    assert op.torch_module(args, inferred).args == ((7, None),)


def test_symbolic_spatial_dims_stay_symbolic() -> None:
    H, W = Sym.named("H"), Sym.named("W")
    x = TensorType((BATCH, 8, H, W))
    _, _, inferred = infer("maxpool2d", {"kernel_size": 2}, [x])
    assert str(inferred.outputs[0]) == "(N, 8, H//2, W//2)"
    # ceil((H - 3)/2) + 1 simplifies to H//2
    _, _, inferred = infer("avgpool2d", {"kernel_size": 3, "stride": 2, "ceil_mode": True}, [x])
    assert str(inferred.outputs[0]) == "(N, 8, H//2, W//2)"
    _, _, inferred = infer("maxpool2d", {"kernel_size": 3, "stride": 2}, [x])
    assert str(inferred.outputs[0]) == "(N, 8, (H - 3)//2 + 1, (W - 3)//2 + 1)"
    _, _, inferred = infer("adaptive_maxpool2d", {"output_size": (1, None)}, [x])
    assert str(inferred.outputs[0]) == "(N, 8, 1, W)"
    _, _, inferred = infer("global_avgpool", {}, [x])
    assert str(inferred.outputs[0]) == "(N, 8)" and str(inferred.macs) == "8*H*W"
