"""upsample, resize, pixel_shuffle and pixel_unshuffle against torch, with their diagnostics."""

from __future__ import annotations

import torch
from hypothesis import given
from hypothesis import strategies as st

from archc import runtime
from archc.dims import BATCH, Sym, TensorType
from tests.conftest import ROOT
from tests.ops.harness import check_against_torch, diagnose, expression, infer

MODES = {
    1: ["nearest", "nearest-exact", "linear"],
    2: ["nearest", "nearest-exact", "bilinear", "bicubic"],
    3: ["nearest", "nearest-exact", "trilinear"],
}


@st.composite
def upsample_cases(draw: st.DrawFn) -> tuple[dict, TensorType]:
    spatial = draw(st.integers(1, 3))
    mode = draw(st.sampled_from(MODES[spatial]))
    args: dict = {"mode": mode}
    if draw(st.booleans()):
        args["size"] = draw(st.integers(1, 6) | st.tuples(*[st.integers(1, 6)] * spatial))
    else:
        factor = st.sampled_from([0.5, 1.5, 2.0, 3.0])
        args["scale_factor"] = draw(factor | st.tuples(*[factor] * spatial))
    if not mode.startswith("nearest"):
        args["align_corners"] = draw(st.none() | st.booleans())
    sizes = tuple(draw(st.integers(2, 5)) for _ in range(spatial))
    return args, TensorType((BATCH, draw(st.integers(1, 3)), *sizes))


@given(upsample_cases())
def test_upsample_matches_torch(case: tuple[dict, TensorType]) -> None:
    args, x = case
    check_against_torch("upsample", args, [x])


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4))
def test_pixel_shuffles_match_torch(r: int, channels: int, h: int, w: int) -> None:
    x = TensorType((BATCH, channels * r * r, h, w))
    inferred = check_against_torch("pixel_shuffle", {"upscale_factor": r}, [x])
    assert inferred.outputs[0].shape == (BATCH, channels, h * r, w * r)
    back = check_against_torch("pixel_unshuffle", {"downscale_factor": r}, list(inferred.outputs))
    assert back.outputs[0] == x


def test_upsample_code_and_label_read_like_torch() -> None:
    op, args, inferred = infer(
        "upsample", {"scale_factor": 2, "mode": "bilinear"}, [TensorType((BATCH, 3, 8, 8))]
    )
    assert inferred.outputs[0].shape == (BATCH, 3, 16, 16)
    assert inferred.macs == 3 * 16 * 16 * 4
    assert op.label(args, inferred) == "upsample ×2 bilinear"
    ctor = op.torch_module(args, inferred)
    assert ctor.kwargs == (("scale_factor", 2), ("mode", "bilinear"))
    op, args, inferred = infer("upsample", {"size": (4, 6)}, [TensorType((BATCH, 3, 8, 8))])
    assert op.label(args, inferred) == "upsample → 4×6 nearest"
    assert inferred.macs == 0


def test_scale_factor_floors_as_torch_does() -> None:
    inferred = check_against_torch("upsample", {"scale_factor": 0.3}, [TensorType((BATCH, 1, 10))])
    assert inferred.outputs[0].shape == (BATCH, 1, 3)


def test_upsample_to_nothing_is_an_error() -> None:
    finding = diagnose("upsample", {"scale_factor": 0.3}, [TensorType((BATCH, 1, 3))])
    assert finding.code == "A301" and finding.arg == "scale_factor"
    assert finding.rule == "L' = floor(L * scale_factor)"
    assert finding.with_ == "L=3, scale_factor=0.3  ->  floor(3*0.3) = 0"
    assert finding.help == "use a scale_factor of at least 1/3"


def test_exactly_one_of_size_and_scale_factor() -> None:
    x = TensorType((BATCH, 3, 8, 8))
    assert diagnose("upsample", {}, [x]).code == "A309"
    finding = diagnose("upsample", {"size": 4, "scale_factor": 2.0}, [x])
    assert finding.code == "A309" and finding.arg == "scale_factor"


def test_mode_must_match_the_rank() -> None:
    finding = diagnose(
        "upsample", {"scale_factor": 2, "mode": "bilinear"}, [TensorType((BATCH, 3, 8))]
    )
    assert finding.code == "A304" and finding.arg == "mode"
    assert finding.help == 'for a 3-d input use mode="linear"'
    assert diagnose("upsample", {"scale_factor": 2}, [TensorType((BATCH, 3))]).code == "A304"


def test_align_corners_only_for_interpolating_modes() -> None:
    finding = diagnose(
        "upsample", {"scale_factor": 2, "align_corners": True}, [TensorType((BATCH, 3, 8))]
    )
    assert finding.code == "A309" and finding.arg == "align_corners"


def test_pixel_shuffle_channels_must_divide() -> None:
    finding = diagnose("pixel_shuffle", {"upscale_factor": 2}, [TensorType((BATCH, 10, 4, 4))])
    assert finding.code == "A305" and finding.arg == "upscale_factor"
    assert finding.with_ == "C=10, r=2  ->  10 % 4 = 2"
    assert finding.help == "give it 8 or 12 channels"
    finding = diagnose("pixel_shuffle", {"upscale_factor": 2}, [TensorType((BATCH, 2, 4, 4))])
    assert finding.help == "give it 4 channels"


def test_pixel_unshuffle_sizes_must_divide() -> None:
    finding = diagnose("pixel_unshuffle", {"downscale_factor": 2}, [TensorType((BATCH, 3, 7, 8))])
    assert finding.code == "A305" and finding.arg == "downscale_factor"
    assert finding.with_ == "H=7, r=2  ->  7 % 2 = 1"


def test_pixel_shuffle_needs_fixed_channels_and_rank_4() -> None:
    C = Sym.named("C")
    shuffle = {"upscale_factor": 2}
    assert diagnose("pixel_shuffle", shuffle, [TensorType((BATCH, C, 4, 4))]).code == "A310"
    assert diagnose("pixel_shuffle", shuffle, [TensorType((BATCH, 8, 4))]).code == "A304"


def test_symbolic_dims_stay_symbolic() -> None:
    H, W = Sym.named("H"), Sym.named("W")
    x = TensorType((BATCH, 4, H, W))
    _, _, inferred = infer("upsample", {"scale_factor": 2}, [x])
    assert str(inferred.outputs[0]) == "(N, 4, 2*H, 2*W)"
    _, _, inferred = infer("upsample", {"scale_factor": 1.5, "mode": "bilinear"}, [x])
    assert str(inferred.outputs[0]) == "(N, 4, (3*H)//2, (3*W)//2)"
    _, _, inferred = infer("pixel_shuffle", {"upscale_factor": 2}, [x])
    assert str(inferred.outputs[0]) == "(N, 1, 2*H, 2*W)"
    _, _, inferred = infer("pixel_unshuffle", {"downscale_factor": 2}, [x])
    assert str(inferred.outputs[0]) == "(N, 16, H//2, W//2)"


@given(st.integers(1, 3), st.data())
def test_resize_matches_torch(spatial: int, data: st.DataObject) -> None:
    mode = data.draw(st.sampled_from(MODES[spatial]))
    arguments: dict = {"mode": mode}
    if not mode.startswith("nearest"):
        arguments["align_corners"] = data.draw(st.none() | st.booleans())
    x = TensorType((BATCH, 3, *[data.draw(st.integers(1, 5)) for _ in range(spatial)]))
    like = TensorType((BATCH, 2, *[data.draw(st.integers(1, 7)) for _ in range(spatial)]))
    inferred = check_against_torch("resize", arguments, [x, like])
    assert inferred.outputs[0].shape == (BATCH, 3, *like.shape[2:])


def test_resize_reads_the_size_from_the_other_tensor() -> None:
    H, W = Sym.named("H"), Sym.named("W")
    x, like = (
        TensorType((BATCH, 64, (H - 1) // 2 + 1, (W - 1) // 2 + 1)),
        TensorType((BATCH, 32, H, W)),
    )
    op, args, inferred = infer("resize", {"mode": "bilinear"}, [x, like])
    assert str(inferred.outputs[0]) == "(N, 64, H, W)"
    assert str(inferred.macs) == "256*H*W"
    assert expression(op.torch_expr(args, inferred)) == (
        'F.interpolate({0}, size={1}.shape[2:], mode="bilinear")'
    )
    _, args, inferred = infer("resize", {}, [x, like])
    assert expression(op.torch_expr(args, inferred)) == "F.interpolate({0}, size={1}.shape[2:])"


def test_resize_needs_the_same_layout() -> None:
    finding = diagnose("resize", {}, [TensorType((BATCH, 8, 4, 4)), TensorType((BATCH, 8, 16))])
    assert (finding.code, finding.arg) == ("A304", "like")
    assert finding.with_ == "rank(x) = 4, rank(like) = 3"
    finding = diagnose("resize", {"mode": "trilinear"}, [TensorType((BATCH, 8, 4, 4))] * 2)
    assert finding.help == 'for a 4-d input use mode="bilinear"'


def test_generated_resize_follows_the_input_size() -> None:
    # the decoder's output has the image's size for sizes the spec never saw, odd ones too
    model = runtime.build(str(ROOT / "tests" / "golden" / "resize_like" / "input.arch"))
    for height, width in [(37, 50), (8, 9), (64, 64)]:
        with torch.no_grad():
            output = model(torch.randn(1, 3, height, width))
        assert tuple(output.shape) == (1, 8, height, width)
