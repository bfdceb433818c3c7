"""attention against nn.MultiheadAttention and a hand-written SDPA module with the same layout."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from torch import nn
from torch.nn import functional as F

from archc import dims, torch_helpers
from archc.dims import BATCH, Sym, TensorType
from archc.ops.spec import Inferred, ShapeError
from tests.ops.harness import (
    check_against_reference,
    check_against_torch,
    infer,
    make_input,
    one_thread,
    run_torch,
)
from tests.ops.test_position import count, reference_models, rotate

T, S = Sym.named("T"), Sym.named("S")


class AttentionReference(nn.Module):
    """Multi-head attention over F.scaled_dot_product_attention, holding its parameters under
    nn.MultiheadAttention's names: the module a code generator would write for any config."""

    def __init__(self, args: Any, inferred: Inferred) -> None:
        super().__init__()
        r = inferred.resolved
        self.heads, self.kv_heads, self.head_dim = args.heads, r["kv_heads"], r["head_dim"]
        self.causal, self.rotary, self.base = args.causal, args.rotary, args.rotary_base
        inner, kv_inner = args.heads * r["head_dim"], r["kv_heads"] * r["head_dim"]
        self.split = [inner, kv_inner, kv_inner]
        if r["kv_dim"] == r["embed_dim"] and r["kv_heads"] == args.heads:
            self.in_proj_weight = nn.Parameter(torch.randn(3 * inner, r["embed_dim"]) * 0.1)
        else:
            self.q_proj_weight = nn.Parameter(torch.randn(inner, r["embed_dim"]) * 0.1)
            self.k_proj_weight = nn.Parameter(torch.randn(kv_inner, r["kv_dim"]) * 0.1)
            self.v_proj_weight = nn.Parameter(torch.randn(kv_inner, r["kv_dim"]) * 0.1)
        self.in_proj_bias = nn.Parameter(torch.randn(sum(self.split))) if args.bias else None
        self.out_proj = nn.Linear(inner, r["embed_dim"], bias=args.bias)

    def _heads(self, x: torch.Tensor, weight: torch.Tensor, bias: Any, heads: int) -> torch.Tensor:
        y = F.linear(x, weight, bias)
        y = y.view(x.size(0), x.size(1), heads, self.head_dim).transpose(1, 2)
        return rotate(y, self.base) if self.rotary else y

    def forward(self, x: torch.Tensor, memory: torch.Tensor | None = None) -> torch.Tensor:
        source = x if memory is None else memory
        if hasattr(self, "in_proj_weight"):
            weights = self.in_proj_weight.split(self.split)
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        biases = (
            self.in_proj_bias.split(self.split) if self.in_proj_bias is not None else [None] * 3
        )
        q = self._heads(x, weights[0], biases[0], self.heads)
        k = self._heads(source, weights[1], biases[1], self.kv_heads)
        v = F.linear(source, weights[2], biases[2])
        v = v.view(v.size(0), v.size(1), self.kv_heads, self.head_dim).transpose(1, 2)
        y = F.scaled_dot_product_attention(
            q, k, v, is_causal=self.causal, enable_gqa=self.kv_heads != self.heads
        )
        return self.out_proj(y.transpose(1, 2).flatten(2))


def build_generated(op: Any, args: Any, inferred: Inferred) -> tuple[nn.Module, Any]:
    """The module generated code builds for this attention: archc's own MultiheadAttention."""
    ctor = op.torch_module(args, inferred)
    assert ctor.path == "MultiheadAttention"
    module = getattr(torch_helpers, ctor.path)(*ctor.args, **dict(ctor.kwargs)).eval()
    return module, ctor


@st.composite
def attention_cases(draw: st.DrawFn) -> tuple[dict[str, Any], list[TensorType]]:
    heads = draw(st.integers(1, 4))
    rotary = draw(st.booleans())
    head_dim = draw(st.integers(1, 3)) * (2 if rotary else draw(st.integers(1, 2)))
    embed_dim = heads * head_dim
    args: dict[str, Any] = {
        "heads": heads,
        "causal": draw(st.booleans()),
        "bias": draw(st.booleans()),
    }
    args["dropout"] = draw(st.sampled_from([0.0, 0.1]))
    if draw(st.booleans()):  # a head width other than embed_dim / heads
        embed_dim = draw(st.integers(1, 9))
        args["head_dim"] = head_dim
    if draw(st.booleans()):
        args["kv_heads"] = draw(
            st.sampled_from([d for d in range(1, heads + 1) if heads % d == 0])
        )
    if rotary:
        args["rotary"] = True
    inputs = [TensorType((BATCH, draw(st.integers(1, 5)), embed_dim))]
    if draw(st.booleans()):
        inputs.append(TensorType((BATCH, draw(st.integers(1, 5)), draw(st.integers(1, 9)))))
    return args, inputs


@given(attention_cases())
def test_attention_matches_torch_or_reference(
    case: tuple[dict[str, Any], list[TensorType]],
) -> None:
    arguments, inputs = case
    op, args, inferred = infer("attention", arguments, inputs)
    resolved = inferred.resolved
    check_against_torch("attention", arguments, inputs)  # archc's SDPA module, as generated
    check_against_reference("attention", arguments, inputs, AttentionReference)
    generated, _ = build_generated(op, args, inferred)
    reference = AttentionReference(args, inferred).eval()
    generated.load_state_dict(reference.state_dict())
    tensors = [make_input(t) for t in inputs]
    with torch.no_grad(), one_thread():
        torch.testing.assert_close(generated(*tensors), reference(*tensors))
    queries, keys = inputs[0].shape[1], inputs[-1].shape[1]
    inner = args.heads * resolved["head_dim"]
    kv_inner = resolved["kv_heads"] * resolved["head_dim"]
    projections = (
        2 * queries * resolved["embed_dim"] * inner + 2 * keys * resolved["kv_dim"] * kv_inner
    )
    assert inferred.macs == projections + 2 * queries * keys * inner


@pytest.mark.parametrize(
    ("arguments", "kv_width"),
    [
        ({"heads": 4}, None),
        ({"heads": 2, "causal": True}, None),
        ({"heads": 4, "causal": True}, 6),
        ({"heads": 2, "bias": False}, 8),
    ],
)
def test_reference_computes_what_torch_computes(
    arguments: dict[str, Any], kv_width: int | None
) -> None:
    # the same weights give the same outputs: names, packing order and masks all agree
    inputs = [TensorType((BATCH, 5, 8))] + ([TensorType((BATCH, 7, kv_width))] if kv_width else [])
    op, args, inferred = infer("attention", arguments, inputs)
    tensors = [make_input(t) for t in inputs]
    expected, module = run_torch(op, args, inferred, tensors)
    reference = AttentionReference(args, inferred).eval()
    reference.load_state_dict(module.state_dict())
    with torch.no_grad(), one_thread():
        torch.testing.assert_close(reference(*tensors), expected)
    assert list(reference.state_dict()) == list(inferred.params)


def test_multihead_attention_reference_count() -> None:
    entry = reference_models()["multihead_attention_512_8"]
    _, _, inferred = infer("multihead_attention", {"heads": 8}, [TensorType((BATCH, 10, 512))])
    assert sum(math.prod(s) for s in inferred.params.values()) == entry["params"]
    assert len(inferred.params) == entry["param_tensors"]
    assert inferred.outputs[0].shape[-1] == entry["output_shape"][-1]


def test_gpt2_attention_count() -> None:
    formula = reference_models()["gpt2_small_plain_tied"]["formula"]
    parts = re.search(r"c_attn ([\d,]+) \+ c_proj ([\d,]+)", formula)
    assert parts
    _, _, inferred = infer(
        "attention", {"heads": 12, "causal": True}, [TensorType((BATCH, T, 768))]
    )
    assert sum(math.prod(s) for s in inferred.params.values()) == count(parts[1]) + count(parts[2])


def test_symbolic_lengths_reach_outputs_and_macs() -> None:
    _, _, inferred = infer("attention", {"heads": 8}, [TensorType((BATCH, T, 64))])
    assert str(inferred.outputs[0]) == "(N, T, 64)"
    assert dims.same(inferred.macs, 4 * 64 * 64 * T + 2 * 64 * T * T)
    _, _, inferred = infer(
        "attention",
        {"heads": 8, "kv_heads": 2},
        [TensorType((BATCH, T, 64)), TensorType((BATCH, S, 32))],
    )
    assert str(inferred.outputs[0]) == "(N, T, 64)"
    assert dims.same(inferred.macs, 2 * 64 * 64 * T + 2 * 32 * 16 * S + 2 * 64 * T * S)
    assert inferred.params["k_proj_weight"] == (16, 32)


def test_grouped_query_layout() -> None:
    _, _, inferred = infer("attention", {"heads": 8, "kv_heads": 2}, [TensorType((BATCH, T, 64))])
    assert list(inferred.params.items()) == [
        ("q_proj_weight", (64, 64)),
        ("k_proj_weight", (16, 64)),
        ("v_proj_weight", (16, 64)),
        ("in_proj_bias", (96,)),
        ("out_proj.weight", (64, 64)),
        ("out_proj.bias", (64,)),
    ]


@pytest.mark.parametrize(
    ("arguments", "label"),
    [
        ({"heads": 12, "causal": True}, "attention 12 heads, causal"),
        (
            {"heads": 8, "kv_heads": 2, "head_dim": 32, "rotary": True},
            "attention 8 heads, 2 kv heads, head_dim 32, rotary",
        ),
    ],
)
def test_labels(arguments: dict[str, Any], label: str) -> None:
    op, args, inferred = infer("attention", arguments, [TensorType((BATCH, T, 768))])
    assert op.label(args, inferred) == label


def test_heads_must_divide_the_width() -> None:
    with pytest.raises(ShapeError) as caught:
        infer("attention", {"heads": 10}, [TensorType((BATCH, T, 768))])
    finding = caught.value.finding
    assert (finding.code, finding.arg) == ("A305", "heads")
    assert (finding.rule, finding.with_) == ("embed_dim % heads == 0", "768 % 10 = 8")
    assert (
        finding.help
        == "head counts dividing 768 near 10: 6, 8, 12, 16; or give `head_dim` explicitly"
    )
    _, _, inferred = infer(
        "attention", {"heads": 10, "head_dim": 64}, [TensorType((BATCH, T, 768))]
    )
    assert inferred.params["in_proj_weight"] == (3 * 640, 768)
    assert inferred.params["out_proj.weight"] == (768, 640)


def test_kv_heads_must_divide_heads() -> None:
    with pytest.raises(ShapeError) as caught:
        infer("attention", {"heads": 12, "kv_heads": 5}, [TensorType((BATCH, T, 768))])
    finding = caught.value.finding
    assert (finding.code, finding.arg, finding.rule) == (
        "A305",
        "kv_heads",
        "heads % kv_heads == 0",
    )
    assert finding.with_ == "12 % 5 = 2"
    assert finding.help == "kv_heads dividing 12: 1, 2, 3, 4, 6, 12"


def test_rotary_needs_an_even_head_dim() -> None:
    with pytest.raises(ShapeError) as caught:
        infer("attention", {"heads": 4, "rotary": True}, [TensorType((BATCH, T, 12))])
    finding = caught.value.finding
    assert (finding.code, finding.arg, finding.rule) == ("A305", "rotary", "head_dim % 2 == 0")
    assert finding.with_ == "3 % 2 = 1"


@pytest.mark.parametrize(
    ("inputs", "code", "role"),
    [
        ([TensorType((BATCH, 3, 8, 8))], "A304", "`x`"),
        ([TensorType((BATCH, T, 8)), TensorType((BATCH, 8))], "A304", "`memory`"),
        ([TensorType((BATCH, T, Sym.named("E")))], "A310", "`x`"),
        ([TensorType((BATCH, T, 8)), TensorType((BATCH, S, Sym.named("E")))], "A310", "`memory`"),
    ],
)
def test_inputs_must_be_fixed_width_sequences(
    inputs: list[TensorType], code: str, role: str
) -> None:
    with pytest.raises(ShapeError) as caught:
        infer("attention", {"heads": 2}, inputs)
    assert caught.value.finding.code == code and role in str(caught.value)


@pytest.mark.parametrize(
    "arguments",
    [
        {"heads": 0},
        {"heads": "8"},
        {"heads": 8, "dropout": 1.5},
        {"heads": 8, "kv_heads": 0},
        {"heads": 8, "window": 4},
    ],
)
def test_invalid_arguments_are_rejected_before_inference(arguments: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        infer("attention", arguments, [TensorType((BATCH, T, 64))])
