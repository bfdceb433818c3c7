"""layernorm2d and stochastic_depth, the two layers a ConvNeXt block adds to a residual:
against torch's own modules, in value and in state_dict, and the drop statistics of both
implementations of stochastic depth."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from archc import ops, torch_helpers
from archc.dims import BATCH, Sym, TensorType
from archc.ops.schema import ArgumentError
from archc.ops.spec import Execution
from tests.ops.harness import check_against_torch, diagnose, infer


@given(st.integers(1, 6), st.integers(1, 4), st.booleans(), st.booleans(), st.booleans())
def test_layernorm2d_matches_torch(
    channels: int, size: int, affine: bool, bias: bool, declared: bool
) -> None:
    arguments: dict = {"eps": 1e-6, "elementwise_affine": affine, "bias": bias}
    if declared:
        arguments["num_channels"] = channels
    inferred = check_against_torch(
        "layernorm2d", arguments, [TensorType((BATCH, channels, size, 3))]
    )
    assert len(inferred.params) == affine * (1 + bias)


def test_layernorm2d_is_a_layernorm_over_the_channels_at_each_position() -> None:
    norm = torch_helpers.LayerNorm2d(8, eps=1e-6)
    plain = nn.LayerNorm(8, eps=1e-6)
    with torch.no_grad():
        norm.weight.normal_(), norm.bias.normal_()
    plain.load_state_dict(norm.state_dict(), strict=True)
    x = torch.randn(2, 8, 5, 3)
    expected = plain(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    torch.testing.assert_close(norm(x), expected)


def test_layernorm2d_counts_and_checks_the_channels() -> None:
    op, args, inferred = infer("layernorm2d", {"eps": 1e-6}, [TensorType((BATCH, 96, 56, 56))])
    assert inferred.params == {"weight": (96,), "bias": (96,)}
    assert inferred.macs == 96 * 56 * 56 * 4
    ctor = op.torch_module(args, inferred)
    assert (ctor.path, ctor.args, ctor.kwargs) == ("LayerNorm2d", (96,), (("eps", 1e-6),))
    finding = diagnose("layernorm2d", {"num_channels": 64}, [TensorType((BATCH, 96, 8, 8))])
    assert finding.code == "A303"
    assert diagnose("layernorm2d", {}, [TensorType((BATCH, 96, 8))]).code == "A304"
    H = Sym.named("H")
    _, _, inferred = infer("layernorm2d", {}, [TensorType((BATCH, 96, H, H))])
    assert str(inferred.outputs[0]) == "(N, 96, H, H)"


@given(st.floats(0.0, 1.0), st.sampled_from(["row", "batch"]), st.integers(2, 4))
def test_stochastic_depth_matches_torch(p: float, mode: str, rank: int) -> None:
    x = TensorType((BATCH, *[3] * (rank - 1)))
    inferred = check_against_torch("stochastic_depth", {"p": p, "mode": mode}, [x])
    assert inferred.params == {} and inferred.buffers == {} and inferred.macs == 0


def _drops(implementation: str, mode: str, p: float, training: bool) -> torch.Tensor:
    """Each sample's factor, 0 or 1/(1-p), from 4000 samples of ones."""
    torch.manual_seed(0)
    x = torch.ones(4000, 3, 2, dtype=torch.float64)
    if implementation == "module":
        module = torch_helpers.StochasticDepth(p, mode).train(training)
        y = module(x)
    else:
        op = ops.lookup("stochastic_depth")
        args = op.Args(p=p, mode=mode)
        (y,) = op.execute(
            args,
            op.infer(args, [TensorType((BATCH, 3, 2))]),
            Execution(torch, (x,), training=training),
        )
    # a whole sample is dropped or kept: one factor per sample
    assert torch.equal(y, y[:, :1, :1].expand_as(y))
    return y[:, 0, 0]


@pytest.mark.parametrize("implementation", ["module", "execute"])
def test_stochastic_depth_drops_whole_rows_and_scales_the_rest(implementation: str) -> None:
    factors = _drops(implementation, "row", 0.25, training=True)
    assert set(factors.unique().tolist()) == {0.0, 1 / 0.75}
    assert abs((factors == 0).double().mean().item() - 0.25) < 0.03
    batch = _drops(implementation, "batch", 0.5, training=True)
    assert len(batch.unique()) == 1
    assert torch.equal(
        _drops(implementation, "row", 0.9, training=False), torch.ones(4000, dtype=torch.float64)
    )


def test_stochastic_depth_holds_no_state() -> None:
    assert torch_helpers.StochasticDepth(0.1).state_dict() == {}
    with pytest.raises(ArgumentError):
        infer("stochastic_depth", {"p": 1.5}, [TensorType((BATCH, 4))])
    op, args, inferred = infer(
        "stochastic_depth", {"p": 0.1, "mode": "batch"}, [TensorType((BATCH, 4))]
    )
    ctor = op.torch_module(args, inferred)
    assert (ctor.path, ctor.args, ctor.kwargs) == ("StochasticDepth", (0.1,), (("mode", "batch"),))


@pytest.mark.parametrize(("mode", "p"), [("row", 0.3), ("batch", 0.3), ("row", 1.0)])
def test_the_helpers_are_torchvisions_layers(mode: str, p: float) -> None:
    """Where torchvision is installed: the same state_dict gives the same values, and the same
    seed drops the same rows."""
    convnext = pytest.importorskip("torchvision.models.convnext")
    tv_ops = pytest.importorskip("torchvision.ops")
    theirs = convnext.LayerNorm2d(16, eps=1e-6)
    with torch.no_grad():
        theirs.weight.normal_(), theirs.bias.normal_()
    ours = torch_helpers.LayerNorm2d(16, eps=1e-6)
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 16, 5, 7)
    torch.testing.assert_close(ours(x), theirs(x))
    dropping = tv_ops.StochasticDepth(p, mode).train()
    x = torch.randn(64, 3, 4)
    torch.manual_seed(1)
    expected = dropping(x)
    torch.manual_seed(1)
    assert torch.equal(torch_helpers.StochasticDepth(p, mode).train()(x), expected)
