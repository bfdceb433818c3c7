"""moe: counts, MACs of the active experts only, routing, both weight layouts, diagnostics."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from archc import torch_helpers
from archc.dims import BATCH, Sym, TensorType
from archc.ops.spec import ShapeError
from tests.ops.harness import check_against_torch, infer

T = Sym.named("T")


@st.composite
def moe_cases(draw: st.DrawFn) -> dict[str, Any]:
    experts = draw(st.integers(1, 6))
    softmax = draw(st.sampled_from(["before", "after"]))
    return {
        "hidden": draw(st.integers(1, 12)),
        "experts": experts,
        "top_k": draw(st.integers(1, experts)),
        "activation": draw(st.sampled_from(["silu", "gelu", "relu"])),
        "gated": draw(st.booleans()),
        "softmax": softmax,
        "norm_topk": softmax == "before" and draw(st.booleans()),
        "layout": draw(st.sampled_from(["fused", "modules"])),
    }


@given(moe_cases(), st.integers(1, 10), st.integers(1, 5))
def test_moe_matches_its_module_and_reference_semantics(
    arguments: dict[str, Any], width: int, tokens: int
) -> None:
    check_against_torch("moe", arguments, [TensorType((BATCH, tokens, width))])


def test_parameters_count_every_expert_and_macs_the_chosen_ones() -> None:
    for layout in ("fused", "modules"):
        args = {"hidden": 32, "experts": 8, "top_k": 2, "layout": layout}
        _, _, inferred = infer("moe", args, [TensorType((BATCH, T, 16))])
        assert (
            sum(torch.Size(s).numel() for s in inferred.params.values())
            == 8 * 16 + 8 * 3 * 32 * 16
        )
        # the router over all 8 experts, then 2 experts' three projections
        assert str(inferred.macs) == f"{16 * 8 + 2 * 3 * 16 * 32}*T"


def test_fused_layout_is_transformers_and_modules_layout_one_module_per_expert() -> None:
    fused = torch_helpers.SparseMoE(6, 10, experts=3, top_k=1)
    assert {k: tuple(v.shape) for k, v in fused.state_dict().items()} == {
        "gate.weight": (3, 6),
        "experts.gate_up_proj": (3, 20, 6),
        "experts.down_proj": (3, 6, 10),
    }
    modules = torch_helpers.SparseMoE(6, 10, experts=2, top_k=1, layout="modules")
    assert sorted(modules.state_dict()) == sorted(
        ["gate.weight"]
        + [f"experts.{i}.{p}_proj.weight" for i in range(2) for p in ("gate", "up", "down")]
    )


def test_ungated_experts_hold_up_and_down_projections_only() -> None:
    fused = torch_helpers.SparseMoE(6, 10, experts=3, top_k=1, gated=False)
    assert {k: tuple(v.shape) for k, v in fused.state_dict().items()} == {
        "gate.weight": (3, 6),
        "experts.up_proj": (3, 10, 6),
        "experts.down_proj": (3, 6, 10),
    }
    modules = torch_helpers.SparseMoE(6, 10, experts=2, top_k=1, gated=False, layout="modules")
    assert sorted(modules.state_dict()) == sorted(
        ["gate.weight"]
        + [f"experts.{i}.{p}_proj.weight" for i in range(2) for p in ("up", "down")]
    )
    _, _, inferred = infer(
        "moe",
        {"hidden": 10, "experts": 3, "top_k": 2, "gated": False},
        [TensorType((BATCH, T, 6))],
    )
    assert str(inferred.macs) == f"{6 * 3 + 2 * 2 * 6 * 10}*T"


def test_only_routed_tokens_reach_an_expert() -> None:
    torch.manual_seed(0)
    moe = torch_helpers.SparseMoE(8, 4, experts=6, top_k=2, layout="modules")
    with torch.no_grad():
        moe.gate.weight[5] = -100.0  # expert 5 is never among a positive token's top 2
    seen: Counter[int] = Counter()
    for i, expert in enumerate(moe.experts):
        expert.register_forward_hook(lambda m, inputs, out, i=i: seen.update({i: len(inputs[0])}))
    x = torch.rand(3, 5, 8)
    chosen, _ = moe.route(x.reshape(-1, 8))
    moe(x)
    assert 5 not in seen
    assert seen == Counter(chosen.flatten().tolist())
    assert sum(seen.values()) == 15 * 2  # each token through exactly top_k experts


def test_softmax_before_and_after_weigh_the_chosen_experts() -> None:
    torch.manual_seed(1)
    tokens = torch.randn(7, 8)
    for softmax, norm_topk in (("before", False), ("before", True), ("after", False)):
        moe = torch_helpers.SparseMoE(
            8, 4, experts=5, top_k=3, softmax=softmax, norm_topk=norm_topk
        )
        scores = moe.gate(tokens)
        chosen, weights = moe.route(tokens)
        assert torch.equal(chosen, scores.topk(3, dim=-1).indices)
        probabilities = scores.softmax(dim=-1).gather(1, chosen)
        if softmax == "after" or norm_topk:
            torch.testing.assert_close(weights.sum(dim=-1), torch.ones(7))
        else:
            torch.testing.assert_close(weights, probabilities)
        if softmax == "after":
            torch.testing.assert_close(weights, scores.gather(1, chosen).softmax(dim=-1))


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        ({"hidden": 4, "experts": 4, "top_k": 5}, "A365", "top_k=5 experts, but there are only 4"),
        (
            {"hidden": 4, "experts": 4, "top_k": 2, "softmax": "after", "norm_topk": True},
            "A366",
            "nothing to normalise",
        ),
    ],
)
def test_routing_that_cannot_work_is_refused(
    arguments: dict[str, Any], code: str, message: str
) -> None:
    with pytest.raises(ShapeError) as caught:
        infer("moe", arguments, [TensorType((BATCH, T, 8))])
    assert caught.value.finding.code == code
    assert message in caught.value.finding.message


@pytest.mark.parametrize(
    ("input_type", "code"),
    [
        (TensorType((BATCH, T), "int64"), "A308"),
        (TensorType((BATCH, 8, T)), "A310"),
    ],
)
def test_inputs_moe_cannot_route(input_type: TensorType, code: str) -> None:
    with pytest.raises(ShapeError) as caught:
        infer("moe", {"hidden": 4, "experts": 4, "top_k": 2}, [input_type])
    assert caught.value.finding.code == code
