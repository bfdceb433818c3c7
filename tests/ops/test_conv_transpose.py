"""conv_transpose1d/2d/3d against torch: shapes, parameter counts, MACs, diagnostics."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from archc import ops
from archc.dims import BATCH, Sym, TensorType
from tests.ops.harness import check_against_torch, diagnose, infer


@st.composite
def transposed_cases(draw: st.DrawFn) -> tuple[str, dict, TensorType]:
    spatial = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, 2]))
    kernel = draw(st.integers(1, 4))
    stride = draw(st.integers(1, 3))
    dilation = draw(st.integers(1, 2))
    output_padding = draw(st.integers(0, max(stride, dilation) - 1))
    sizes = tuple(draw(st.integers(1, 5)) for _ in range(spatial))
    # the output must keep at least one position: 2P <= (H-1)*S + D*(F-1) + output_padding
    room = (min(sizes) - 1) * stride + dilation * (kernel - 1) + output_padding
    args = {
        "out_channels": groups * draw(st.integers(1, 3)),
        "kernel_size": kernel,
        "stride": stride,
        "padding": draw(st.integers(0, min(2, room // 2))),
        "output_padding": output_padding,
        "groups": groups,
        "bias": draw(st.booleans()),
        "dilation": dilation,
    }
    x = TensorType((BATCH, groups * draw(st.integers(1, 3)), *sizes))
    return f"conv_transpose{spatial}d", args, x


@given(transposed_cases())
def test_conv_transpose_matches_torch(case: tuple[str, dict, TensorType]) -> None:
    name, args, x = case
    check_against_torch(name, args, [x])


def test_dcgan_upsampling_layer() -> None:
    args = {"out_channels": 256, "kernel_size": 4, "stride": 2, "padding": 1}
    op, parsed, inferred = infer("conv_transpose2d", args, [TensorType((BATCH, 512, 7, 7))])
    assert inferred.outputs[0].shape == (BATCH, 256, 14, 14)
    assert inferred.params == {"weight": (512, 256, 4, 4), "bias": (256,)}
    # every input element is multiplied into a 256 x 4 x 4 block
    assert inferred.macs == 512 * 7 * 7 * 256 * 4 * 4
    assert op.label(parsed, inferred) == "convT 4×4, 256, ×2"
    ctor = op.torch_module(parsed, inferred)
    assert ctor.path == "nn.ConvTranspose2d" and ctor.args == (512, 256)
    assert ctor.kwargs == (("kernel_size", 4), ("stride", 2), ("padding", 1))


def test_positional_order_is_torchs() -> None:
    op = ops.lookup("conv_transpose2d")
    assert op is not None
    assert op.positional[:5] == (
        "out_channels",
        "kernel_size",
        "stride",
        "padding",
        "output_padding",
    )


def test_output_padding_picks_the_larger_size() -> None:
    args = {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1}
    inferred = check_against_torch("conv_transpose2d", args, [TensorType((BATCH, 2, 5, 5))])
    assert inferred.outputs[0].shape == (BATCH, 4, 10, 10)


def test_padding_that_crops_everything_is_an_error() -> None:
    finding = diagnose(
        "conv_transpose2d",
        {"out_channels": 4, "kernel_size": 1, "padding": 1},
        [TensorType((BATCH, 2, 1, 1))],
    )
    assert finding.code == "A301" and finding.arg == "padding"
    assert finding.rule == "H' = (H-1)*S - 2P + D*(F-1) + output_padding + 1"
    assert finding.with_ == (
        "H=1, F=1, S=1, P=1, D=1, output_padding=0  ->  (1 - 1)*1 - 2*1 + 1*(1 - 1) + 0 + 1 = -1"
    )
    assert finding.help == "use padding <= 0"


def test_output_padding_must_be_below_stride_or_dilation() -> None:
    finding = diagnose(
        "conv_transpose1d",
        {"out_channels": 4, "kernel_size": 3, "stride": 2, "output_padding": 2},
        [TensorType((BATCH, 2, 8))],
    )
    assert finding.code == "A309" and finding.arg == "output_padding"
    assert finding.with_ == "output_padding=2, stride=2, dilation=1"
    assert finding.help is not None and finding.help.endswith("use 0 to 1")


def test_groups_must_divide_both_channel_counts() -> None:
    finding = diagnose(
        "conv_transpose2d",
        {"out_channels": 6, "kernel_size": 3, "groups": 4},
        [TensorType((BATCH, 8, 5, 5))],
    )
    assert finding.code == "A305" and finding.arg == "groups"
    assert finding.with_ == "6 % 4 = 2"


def test_wrong_rank_names_the_fitting_op() -> None:
    finding = diagnose(
        "conv_transpose2d", {"out_channels": 4, "kernel_size": 3}, [TensorType((BATCH, 2, 9))]
    )
    assert finding.code == "A304"
    assert finding.help == "for a 3-d input (N, C, L) use conv_transpose1d"


def test_symbolic_channels_are_refused() -> None:
    finding = diagnose(
        "conv_transpose1d",
        {"out_channels": 4, "kernel_size": 3},
        [TensorType((BATCH, Sym.named("C"), 9))],
    )
    assert finding.code == "A310"


def test_tuple_with_the_wrong_length_is_an_error() -> None:
    finding = diagnose(
        "conv_transpose2d",
        {"out_channels": 4, "kernel_size": (3, 3, 3)},
        [TensorType((BATCH, 2, 9, 9))],
    )
    assert finding.code == "A309" and finding.arg == "kernel_size"


def test_symbolic_spatial_dims_stay_symbolic() -> None:
    H, W = Sym.named("H"), Sym.named("W")
    _, _, inferred = infer(
        "conv_transpose2d",
        {"out_channels": 8, "kernel_size": 4, "stride": 2, "padding": 1},
        [TensorType((BATCH, 3, H, W))],
    )
    assert str(inferred.outputs[0]) == "(N, 8, 2*H, 2*W)"
    assert inferred.params["weight"] == (3, 8, 4, 4)
    assert str(inferred.macs) == "384*H*W"
