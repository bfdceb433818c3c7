"""Normalisation ops against torch: parameters, state_dict buffers, MACs, diagnostics."""

from __future__ import annotations

import torch
from hypothesis import given
from hypothesis import strategies as st

from archc import torch_helpers
from archc.dims import BATCH, Sym, TensorType
from tests.ops.harness import check_against_torch, diagnose, infer


@st.composite
def channel_cases(draw: st.DrawFn) -> tuple[str, dict, TensorType]:
    kind = draw(st.sampled_from(["batchnorm", "instancenorm"]))
    spatial = draw(st.integers(1, 3))
    # instance statistics need more than one position; batchnorm1d also takes (N, C)
    sizes = tuple(draw(st.integers(2, 4)) for _ in range(spatial))
    if kind == "batchnorm" and spatial == 1 and draw(st.booleans()):
        sizes = ()
    channels = draw(st.integers(1, 6))
    args = {
        "eps": draw(st.sampled_from([1e-5, 1e-3])),
        "momentum": draw(st.none() | st.sampled_from([0.1, 0.01])),
        "affine": draw(st.booleans()),
        "track_running_stats": draw(st.booleans()),
    }
    if draw(st.booleans()):
        args["num_features"] = channels
    return f"{kind}{spatial}d", args, TensorType((BATCH, channels, *sizes))


@given(channel_cases())
def test_batch_and_instance_norm_match_torch(case: tuple[str, dict, TensorType]) -> None:
    name, args, x = case
    check_against_torch(name, args, [x])


@st.composite
def trailing_cases(draw: st.DrawFn) -> tuple[str, dict, TensorType]:
    name = draw(st.sampled_from(["layernorm", "rmsnorm"]))
    shape = tuple(draw(st.integers(1, 5)) for _ in range(draw(st.integers(1, 3))))
    count = draw(st.integers(1, len(shape)))
    args: dict = {"elementwise_affine": draw(st.booleans())}
    how = draw(st.sampled_from(["default", "dims", "shape"]))
    if how == "dims":
        args["dims"] = count
    elif how == "shape":
        given_shape = shape[len(shape) - count :]
        args["normalized_shape"] = given_shape[0] if count == 1 else given_shape
    if name == "layernorm":
        args["bias"] = draw(st.booleans())
    return name, args, TensorType((BATCH, *shape))


@given(trailing_cases())
def test_layer_and_rms_norm_match_torch(case: tuple[str, dict, TensorType]) -> None:
    name, args, x = case
    check_against_torch(name, args, [x])


@given(
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(0, 2),
    st.booleans(),
)
def test_groupnorm_matches_torch(groups: int, per_group: int, spatial: int, affine: bool) -> None:
    x = TensorType((BATCH, groups * per_group, *[3] * spatial))
    check_against_torch("groupnorm", {"num_groups": groups, "affine": affine}, [x])


@given(st.integers(1, 5), st.integers(1, 3), st.floats(1e-5, 1.0), st.floats(0.1, 2.0))
def test_local_response_norm_matches_torch(
    size: int, spatial: int, alpha: float, k: float
) -> None:
    x = TensorType((BATCH, 6, *[3] * spatial))
    check_against_torch("local_response_norm", {"size": size, "alpha": alpha, "k": k}, [x])


def test_batchnorm_state_dict_and_code() -> None:
    op, args, inferred = infer("batchnorm2d", {}, [TensorType((BATCH, 64, 56, 56))])
    assert inferred.params == {"weight": (64,), "bias": (64,)}
    assert inferred.buffers == {
        "running_mean": (64,),
        "running_var": (64,),
        "num_batches_tracked": (),
    }
    # running statistics at inference: one multiply-add per element
    assert inferred.macs == 64 * 56 * 56
    assert op.label(args, inferred) == "bn"
    ctor = op.torch_module(args, inferred)
    assert (ctor.path, ctor.args, ctor.kwargs) == ("nn.BatchNorm2d", (64,), ())


def test_instancenorm_spells_out_only_what_differs_from_torch() -> None:
    op, args, inferred = infer("instancenorm2d", {"affine": True}, [TensorType((BATCH, 8, 4, 4))])
    assert op.torch_module(args, inferred).kwargs == (("affine", True),)
    assert inferred.buffers == {}
    # statistics (2) + normalise (1) + affine (1) per element
    assert inferred.macs == 8 * 16 * 4


def test_layernorm_defaults_to_the_last_axis() -> None:
    op, args, inferred = infer("layernorm", {}, [TensorType((BATCH, 10, 768))])
    assert inferred.params == {"weight": (768,), "bias": (768,)}
    ctor = op.torch_module(args, inferred)
    assert (ctor.path, ctor.args, ctor.kwargs) == ("nn.LayerNorm", (768,), ())


def test_layernorm_dims_takes_the_trailing_axes() -> None:
    op, args, inferred = infer("layernorm", {"dims": 2, "eps": 1e-6}, [TensorType((BATCH, 3, 7))])
    assert inferred.params["weight"] == (3, 7)
    assert op.torch_module(args, inferred).args == ((3, 7),)
    assert op.torch_module(args, inferred).kwargs == (("eps", 1e-6),)


def test_declared_num_features_must_match_the_input() -> None:
    finding = diagnose("batchnorm2d", {"num_features": 32}, [TensorType((BATCH, 64, 8, 8))])
    assert finding.code == "A303" and finding.arg == "num_features"
    assert finding.with_ == "num_features=32, input 64"
    assert finding.help == "use num_features=64, or leave it out: it is taken from the input"


def test_declared_normalized_shape_must_match_the_input() -> None:
    finding = diagnose("layernorm", {"normalized_shape": 512}, [TensorType((BATCH, 10, 768))])
    assert finding.code == "A303" and finding.arg == "normalized_shape"
    assert finding.with_ == "normalized_shape=(512,), input (768,)"


def test_groups_must_divide_channels() -> None:
    finding = diagnose("groupnorm", {"num_groups": 4}, [TensorType((BATCH, 10, 8, 8))])
    assert finding.code == "A305" and finding.arg == "num_groups"
    assert finding.rule == "C % num_groups == 0"
    assert finding.with_ == "10 % 4 = 2"
    assert finding.help == "num_groups must divide 10: 1, 2, 5, 10"


def test_groupnorm_checks_a_declared_channel_count() -> None:
    finding = diagnose(
        "groupnorm", {"num_groups": 2, "num_channels": 6}, [TensorType((BATCH, 8, 3))]
    )
    assert finding.code == "A303" and finding.arg == "num_channels"


def test_wrong_rank_names_the_fitting_op() -> None:
    finding = diagnose("batchnorm2d", {}, [TensorType((BATCH, 8, 5))])
    assert finding.code == "A304"
    assert finding.help == "for a 3-d input (N, C, L) use batchnorm1d"
    assert diagnose("batchnorm1d", {}, [TensorType((BATCH, 8, 5, 5))]).code == "A304"
    assert diagnose("local_response_norm", {"size": 3}, [TensorType((BATCH, 8))]).code == "A304"
    assert diagnose("groupnorm", {"num_groups": 1}, [TensorType((BATCH,))]).code == "A304"


def test_layernorm_over_more_axes_than_the_input_has() -> None:
    finding = diagnose("layernorm", {"dims": 3}, [TensorType((BATCH, 4, 4))])
    assert finding.code == "A304" and finding.arg == "dims"


def test_normalized_shape_and_dims_together_are_refused() -> None:
    finding = diagnose("rmsnorm", {"normalized_shape": 4, "dims": 1}, [TensorType((BATCH, 4))])
    assert finding.code == "A309" and finding.arg == "dims"


def test_instance_statistics_need_several_positions() -> None:
    finding = diagnose("instancenorm2d", {}, [TensorType((BATCH, 8, 1, 1))])
    assert finding.code == "A309"
    assert finding.with_ == "H*W = 1*1 = 1"


def test_symbolic_sizes_that_decide_parameters_are_refused() -> None:
    T, C = Sym.named("T"), Sym.named("C")
    finding = diagnose("batchnorm2d", {}, [TensorType((BATCH, C, 8, 8))])
    assert finding.code == "A310"
    finding = diagnose("layernorm", {"dims": 2}, [TensorType((BATCH, T, 8))])
    assert finding.code == "A310" and finding.arg == "dims"


def test_symbolic_dims_flow_through() -> None:
    H, W, T = Sym.named("H"), Sym.named("W"), Sym.named("T")
    _, _, inferred = infer("batchnorm2d", {}, [TensorType((BATCH, 8, H, W))])
    assert str(inferred.outputs[0]) == "(N, 8, H, W)" and str(inferred.macs) == "8*H*W"
    _, _, inferred = infer("layernorm", {}, [TensorType((BATCH, T, 16))])
    assert str(inferred.outputs[0]) == "(N, T, 16)"
    assert inferred.params == {"weight": (16,), "bias": (16,)}
    _, _, inferred = infer("groupnorm", {"num_groups": 2}, [TensorType((BATCH, 8, T))])
    assert str(inferred.outputs[0]) == "(N, 8, T)"


@given(
    st.lists(st.integers(1, 5), min_size=1, max_size=3),
    st.sampled_from([1.0, 0.5, -2.0]),
    st.sampled_from([None, 1e-6]),
)
def test_rms_norm_with_a_weight_offset_matches_torch(
    shape: list[int], offset: float, eps: float | None
) -> None:
    x = TensorType((BATCH, *shape))
    check_against_torch("rmsnorm", {"weight_offset": offset, "eps": eps}, [x])


def test_rms_norm_with_a_weight_offset_starts_as_a_plain_one() -> None:
    # Gemma's norm: its weight starts at zero, and scales by 1 + weight
    op, args, inferred = infer("rmsnorm", {"weight_offset": 1.0}, [TensorType((BATCH, 3, 8))])
    ctor = op.torch_module(args, inferred)
    assert (ctor.path, ctor.args, ctor.kwargs) == ("OffsetRMSNorm", (8,), (("offset", 1.0),))
    module = torch_helpers.OffsetRMSNorm(*ctor.args, **dict(ctor.kwargs))
    assert torch.equal(module.weight, torch.zeros(8))
    x = torch.randn(2, 3, 8)
    plain = torch.nn.RMSNorm(8)
    torch.testing.assert_close(module(x), plain(x), rtol=0, atol=0)
    assert op.label(args, inferred) == "rmsnorm"


def test_a_weight_offset_needs_a_weight() -> None:
    finding = diagnose(
        "rmsnorm",
        {"weight_offset": 1.0, "elementwise_affine": False},
        [TensorType((BATCH, 4))],
    )
    assert finding.code == "A309" and finding.arg == "weight_offset"
