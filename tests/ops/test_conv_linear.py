"""conv1d/2d/3d and linear against torch: shapes, parameter counts, diagnostics."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from archc.dims import BATCH, Sym, TensorType
from archc.ops.spec import ShapeError
from tests.ops.harness import check_against_reference, check_against_torch, infer


@st.composite
def conv_cases(draw: st.DrawFn) -> tuple[str, dict, TensorType]:
    spatial = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 2, 4]))
    in_channels = groups * draw(st.integers(1, 3))
    out_channels = groups * draw(st.integers(1, 3))
    kernel = draw(st.integers(1, 4))
    dilation = draw(st.integers(1, 2))
    stride = draw(st.integers(1, 3))
    padding = draw(st.integers(0, 2))
    span = dilation * (kernel - 1) + 1
    sizes = tuple(draw(st.integers(max(1, span - 2 * padding), 12)) for _ in range(spatial))
    args = {
        "out_channels": out_channels,
        "kernel_size": kernel,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "groups": groups,
        "bias": draw(st.booleans()),
        "padding_mode": draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
        if padding and padding < min(sizes)
        else "zeros",
    }
    return f"conv{spatial}d", args, TensorType((BATCH, in_channels, *sizes))


@given(conv_cases())
def test_conv_matches_torch(case: tuple[str, dict, TensorType]) -> None:
    name, args, x = case
    check_against_torch(name, args, [x])


@pytest.mark.parametrize("kernel", [1, 3, 4, 5])
def test_conv_same_padding_keeps_size(kernel: int) -> None:
    inferred = check_against_torch(
        "conv2d",
        {"out_channels": 4, "kernel_size": kernel, "padding": "same"},
        [TensorType((BATCH, 3, 9, 10))],
    )
    assert inferred.outputs[0].shape[2:] == (9, 10)


def test_conv_tuple_kernel_and_stride() -> None:
    args = {"out_channels": 8, "kernel_size": (3, 5), "stride": (1, 2), "padding": (1, 2)}
    inferred = check_against_torch("conv2d", args, [TensorType((BATCH, 3, 16, 16))])
    assert inferred.outputs[0].shape == (BATCH, 8, 16, 8)


def test_uneven_tiling_is_a_warning_with_numbers() -> None:
    _, _, inferred = infer(
        "conv2d",
        {"out_channels": 64, "kernel_size": 11, "stride": 4, "padding": 2},
        [TensorType((BATCH, 3, 224, 224))],
    )
    assert inferred.outputs[0].shape == (BATCH, 64, 55, 55)
    (finding, _) = inferred.findings
    # only padding falls off the end: reported under --strict alone
    assert finding.code == "A302" and finding.severity == "strict"
    assert finding.with_ == "H=224, F=11, P=2, S=4  ->  (224 - 11 + 2*2)/4 + 1 = 55.25"


def test_uneven_tiling_that_loses_input_is_a_warning() -> None:
    _, _, inferred = infer(
        "conv2d",
        {"out_channels": 8, "kernel_size": 5, "stride": 2},
        [TensorType((BATCH, 3, 16, 16))],
    )
    (finding, _) = inferred.findings
    assert finding.severity == "warning"
    assert (
        finding.message
        == "conv2d window does not tile the input H evenly; the last 1 of 16 input positions are never seen"
    )
    assert finding.help == "kernel_size=6 gives 6, kernel_size=4 gives 7, stride=1 gives 12"


def test_subsampling_window_is_not_uneven_tiling() -> None:
    _, _, inferred = infer(
        "conv2d",
        {"out_channels": 8, "kernel_size": 1, "stride": 2},
        [TensorType((BATCH, 3, 56, 56))],
    )
    assert all(f.severity == "strict" for f in inferred.findings)


def test_kernel_larger_than_input_is_an_error() -> None:
    with pytest.raises(ShapeError) as caught:
        infer(
            "conv2d",
            {"out_channels": 8, "kernel_size": 11, "stride": 4},
            [TensorType((BATCH, 3, 7, 7))],
        )
    finding = caught.value.finding
    assert finding.code == "A301"
    assert finding.with_ == "H=7, F=11, P=0, S=4  ->  (7 - 11 + 2*0)/4 + 1 = 0"


def test_groups_must_divide_channels() -> None:
    with pytest.raises(ShapeError) as caught:
        infer(
            "conv2d",
            {"out_channels": 8, "kernel_size": 3, "groups": 4},
            [TensorType((BATCH, 6, 8, 8))],
        )
    assert caught.value.finding.code == "A305" and caught.value.finding.arg == "groups"


def test_symbolic_spatial_dims_stay_symbolic() -> None:
    H, W = Sym.named("H"), Sym.named("W")
    _, _, inferred = infer(
        "conv2d",
        {"out_channels": 8, "kernel_size": 3, "stride": 2},
        [TensorType((BATCH, 3, H, W))],
    )
    assert str(inferred.outputs[0]) == "(N, 8, (H - 3)//2 + 1, (W - 3)//2 + 1)"
    assert inferred.params["weight"] == (8, 3, 3, 3)


@given(
    st.integers(1, 64), st.integers(1, 64), st.booleans(), st.lists(st.integers(1, 3), max_size=3)
)
def test_linear_matches_torch(features: int, out: int, bias: bool, positions: list[int]) -> None:
    shape = (BATCH, *positions, features)
    inferred = check_against_torch(
        "linear", {"out_features": out, "bias": bias}, [TensorType(shape)]
    )
    assert inferred.macs == math.prod(positions) * features * out


def test_linear_acts_on_the_last_axis_of_any_rank() -> None:
    # a channels-last feature map, as a patch-merging layer or a ConvNeXt block holds it
    H, W = Sym.named("H"), Sym.named("W")
    _, _, inferred = infer("linear", {"out_features": 192}, [TensorType((BATCH, H, W, 384))])
    assert str(inferred.outputs[0]) == "(N, H, W, 192)"
    assert inferred.params == {"weight": (192, 384), "bias": (192,)}
    assert str(inferred.macs) == "73728*H*W"


class _Conv1D(nn.Module):
    """Hugging Face's Conv1D as GPT-2 has it: the weight (in, out), one addmm over the rows."""

    def __init__(self, in_features: int, out_features: int, bias: bool) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_features, out_features))
        self.bias = nn.Parameter(torch.randn(out_features)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.reshape(-1, x.shape[-1])
        y = rows @ self.weight if self.bias is None else torch.addmm(self.bias, rows, self.weight)
        return y.reshape(*x.shape[:-1], self.weight.shape[1])


@given(
    st.integers(1, 32), st.integers(1, 32), st.booleans(), st.lists(st.integers(1, 3), max_size=2)
)
def test_a_transposed_linear_is_hugging_face_s_conv1d(
    features: int, out: int, bias: bool, positions: list[int]
) -> None:
    inferred = check_against_reference(
        "linear",
        {"out_features": out, "bias": bias, "transposed": True},
        [TensorType((BATCH, *positions, features))],
        lambda args, inferred: _Conv1D(features, out, bias),
    )
    assert inferred.params["weight"] == (features, out)
