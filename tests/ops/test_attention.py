"""attention against nn.MultiheadAttention and a hand-written SDPA module with the same layout."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.nn import functional as F

from archc import api, dims, runtime, torch_helpers
from archc.dims import BATCH, Sym, TensorType
from archc.ops.attention import HELPERS, RESERVED
from archc.ops.schema import ArgumentError
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
    """The module generated code builds for this attention: archc's own MultiheadAttention,
    Attention for the linears layout, FusedAttention for the fused one."""
    ctor = op.torch_module(args, inferred)
    assert ctor.path == HELPERS[args.layout]
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
        ([TensorType((BATCH, T, 8)), TensorType((BATCH, 4, S, 2, 8))], "A350", "mask"),
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
        {"heads": 8, "window": 0},
        {"heads": 8, "layout": "packed"},
        {"heads": 8, "bias": (True, False)},
        {"heads": 8, "scale": 0.0},
        {"heads": 8, "rotary": True, "rotary_fraction": 0.0},
    ],
)
def test_invalid_arguments_are_rejected_before_inference(arguments: dict[str, Any]) -> None:
    with pytest.raises(ArgumentError):
        infer("attention", arguments, [TensorType((BATCH, T, 64))])


# --- the options the model zoos use ----------------------------------------------------------

PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj")


@st.composite
def zoo_attention_cases(draw: st.DrawFn) -> tuple[dict[str, Any], list[TensorType]]:
    """Every option at once: layouts, per-projection biases, scales, masks, windows, qk-norm and
    rotary variants, over self- and cross-attention."""
    heads = draw(st.integers(1, 4))
    kv_heads = draw(st.sampled_from([d for d in range(1, heads + 1) if heads % d == 0]))
    head_dim = 2 * draw(st.integers(1, 3))
    layout = draw(st.sampled_from(["torch", "linears", "fused"]))
    q, k, v, o = (draw(st.booleans()) for _ in range(4))
    if layout == "fused":
        kv_heads = heads
    args: dict[str, Any] = {
        "heads": heads,
        "kv_heads": kv_heads,
        "head_dim": head_dim,
        "layout": layout,
        "bias": (q, k, v, o) if layout == "linears" else (q, q, q, o),
        "causal": draw(st.booleans()),
        "qk_norm": draw(st.booleans()),
    }
    if layout != "torch" and draw(st.booleans()):  # no output projection
        names = {"linears": ("q", "k", "v"), "fused": ("qkv",)}
        args["names"] = names[layout]
    if draw(st.booleans()):
        args["scale"] = draw(st.sampled_from([1.0, 0.3]))
    if draw(st.booleans()):
        args |= {"rotary": True, "rotary_base": draw(st.sampled_from([10000.0, 50.0]))}
        args["rotary_interleaved"] = draw(st.booleans())
        args["rotary_offset"] = draw(st.integers(0, 3))
        if head_dim % 4 == 0 and draw(st.booleans()):
            args["rotary_fraction"] = 0.5
    length = draw(st.integers(1, 5))
    inputs = [TensorType((BATCH, length, draw(st.integers(1, 9))))]
    keys = length
    if layout != "fused" and draw(st.booleans()):
        keys = draw(st.integers(1, 5))
        inputs.append(TensorType((BATCH, keys, draw(st.integers(1, 9)))))
    mask = draw(st.sampled_from([None, "padding", "bias", "heads"]))
    if mask == "padding":
        inputs.append(TensorType((BATCH, keys), draw(st.sampled_from(["bool", "float32"]))))
    elif mask == "bias":
        inputs.append(TensorType((BATCH, 1, length, keys)))
    elif mask == "heads":
        inputs.append(TensorType((BATCH, heads, 1, keys), "bool"))
    elif args["causal"] and draw(st.booleans()):
        args["window"] = draw(st.integers(1, 3))  # with a mask a row could lose every key
    if args["causal"]:
        args["alibi"] = draw(st.booleans())
    return args, inputs


@given(zoo_attention_cases())
def test_every_option_matches_its_reference_semantics(
    case: tuple[dict[str, Any], list[TensorType]],
) -> None:
    # archc's module, as generated, against the interpreter's execute in float64, eval and
    # training mode, and torch's shapes and parameters against the static ones
    arguments, inputs = case
    inferred = check_against_torch("attention", arguments, inputs)
    head_dim = arguments["head_dim"]
    inner, kv_inner = arguments["heads"] * head_dim, arguments["kv_heads"] * head_dim
    width = inputs[0].shape[2]
    kv_width = inputs[1].shape[2] if len(inputs) > 1 and inputs[1].rank == 3 else width
    q, k, v, o = arguments["bias"]
    projects_out = arguments.get("names") not in (("q", "k", "v"), ("qkv",))
    expected = (
        inner * width + kv_inner * kv_width * 2 + (width * inner + o * width) * projects_out
        + q * inner + k * kv_inner + v * kv_inner
        + 2 * head_dim * arguments["qk_norm"]
    )  # fmt: skip
    assert sum(math.prod(shape) for shape in inferred.params.values()) == expected
    assert inferred.outputs[0].shape[2] == (width if projects_out else inner)


class HuggingFaceStyleAttention(nn.Module):
    """Attention as Hugging Face's decoders write it (LlamaAttention's eager path): four
    nn.Linear projections, repeat_kv for grouped heads, softmax of scaled scores plus mask."""

    def __init__(
        self, width: int, heads: int, kv_heads: int, head_dim: int, bias: tuple[bool, ...]
    ) -> None:
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, head_dim
        self.q_proj = nn.Linear(width, heads * head_dim, bias=bias[0])
        self.k_proj = nn.Linear(width, kv_heads * head_dim, bias=bias[1])
        self.v_proj = nn.Linear(width, kv_heads * head_dim, bias=bias[2])
        self.o_proj = nn.Linear(heads * head_dim, width, bias=bias[3])

    def forward(self, x: torch.Tensor, additive: torch.Tensor) -> torch.Tensor:
        n, t, _ = x.shape
        q = self.q_proj(x).view(n, t, -1, self.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(n, t, -1, self.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(n, t, -1, self.head_dim).transpose(1, 2)
        groups = self.heads // self.kv_heads
        k = k[:, :, None].expand(n, self.kv_heads, groups, t, self.head_dim).flatten(1, 2)
        v = v[:, :, None].expand(n, self.kv_heads, groups, t, self.head_dim).flatten(1, 2)
        scores = q @ k.transpose(2, 3) / math.sqrt(self.head_dim) + additive
        out = scores.softmax(-1) @ v
        return self.o_proj(out.transpose(1, 2).reshape(n, t, -1))


def test_linears_layout_loads_hugging_face_attention_unchanged() -> None:
    # Qwen2's projections: grouped heads, q, k and v biased, o not; a causal padding mask
    arguments = {
        "heads": 4,
        "kv_heads": 2,
        "bias": (True, True, True, False),
        "layout": "linears",
        "causal": True,
    }
    inputs = [TensorType((BATCH, 6, 16)), TensorType((BATCH, 6), "int64")]
    op, args, inferred = infer("attention", arguments, inputs)
    module, ctor = build_generated(op, args, inferred)
    assert ctor.call == "{m}({0}, mask={1})"
    reference = HuggingFaceStyleAttention(16, 4, 2, 4, args.biases()).double()
    module.double().load_state_dict(reference.state_dict(), strict=True)
    assert list(module.state_dict()) == list(reference.state_dict()) == list(inferred.params)
    x = torch.randn(2, 6, 16, dtype=torch.float64)
    padding = torch.tensor([[1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1]])  # left padding, as HF
    causal = torch.ones(6, 6, dtype=torch.bool).tril()
    keep = causal & padding[:, None, None, :].bool()
    additive = torch.zeros(2, 1, 6, 6, dtype=torch.float64).masked_fill(~keep, -math.inf)
    additive[1, :, :2] = 0.0  # HF's padded queries see every key: their outputs are discarded
    with torch.no_grad():
        expected, actual = reference(x, additive), module(x, mask=padding)
    torch.testing.assert_close(actual[0], expected[0], rtol=0, atol=1e-12)
    torch.testing.assert_close(actual[1, 2:], expected[1, 2:], rtol=0, atol=1e-12)


class BloomStyleAttention(nn.Module):
    """Self-attention as BLOOM writes it: one query_key_value projection whose output is viewed
    as (N, T, heads, 3, head_dim), ALiBi added to the scaled scores, a causal mask, dense."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, width // heads
        self.query_key_value = nn.Linear(width, 3 * width)
        self.dense = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, _ = x.shape
        fused = self.query_key_value(x).view(n, t, self.heads, 3, self.head_dim)
        q, k, v = (fused[..., part, :].transpose(1, 2) for part in range(3))
        slopes = torch_helpers.alibi_slopes(self.heads).to(x.dtype)[:, None, None]
        scores = q @ k.transpose(2, 3) / math.sqrt(self.head_dim) + slopes * torch.arange(t)
        hidden = torch.ones(t, t, dtype=torch.bool).triu(1)
        out = scores.masked_fill(hidden, -math.inf).softmax(-1) @ v
        return self.dense(out.transpose(1, 2).reshape(n, t, -1))


def test_fused_layout_loads_blooms_query_key_value() -> None:
    arguments = {"heads": 4, "layout": "fused", "causal": True, "alibi": True}
    op, args, inferred = infer("attention", arguments, [TensorType((BATCH, 5, 16))])
    module, ctor = build_generated(op, args, inferred)
    assert ctor.path == "FusedAttention"
    reference = BloomStyleAttention(16, 4).double()
    module.double().load_state_dict(reference.state_dict(), strict=True)
    assert list(module.state_dict()) == list(reference.state_dict()) == list(inferred.params)
    x = torch.randn(2, 5, 16, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(module(x), reference(x), rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["padding", "bias"])
def test_masks_mean_what_nn_multihead_attention_means(kind: str) -> None:
    # torch's key_padding_mask marks the keys to ignore, archc's padding mask those to keep;
    # an additive bias per head is torch's (N * heads, T, S) attn_mask
    torch.manual_seed(0)
    x, memory = torch.randn(2, 3, 8), torch.randn(2, 5, 6)
    if kind == "padding":
        mask = torch.tensor([[True, True, False, True, False], [True] * 5])
        inputs = [
            TensorType((BATCH, 3, 8)),
            TensorType((BATCH, 5, 6)),
            TensorType((BATCH, 5), "bool"),
        ]
        torch_kwargs: dict[str, Any] = {"key_padding_mask": ~mask}
    else:
        mask = torch.randn(2, 2, 3, 5)
        inputs = [
            TensorType((BATCH, 3, 8)),
            TensorType((BATCH, 5, 6)),
            TensorType((BATCH, 2, 3, 5)),
        ]
        torch_kwargs = {"attn_mask": mask.flatten(0, 1)}
    op, args, inferred = infer("attention", {"heads": 2}, inputs)
    module, _ = build_generated(op, args, inferred)
    expected = nn.MultiheadAttention(8, 2, kdim=6, vdim=6, batch_first=True).eval()
    module.load_state_dict(expected.state_dict(), strict=True)
    with torch.no_grad():
        reference, _ = expected(x, memory, memory, need_weights=False, **torch_kwargs)
        torch.testing.assert_close(module(x, memory, mask=mask), reference)


def test_scale_multiplies_the_scores() -> None:
    # scale s on q·k is the default 1/sqrt(d) with the query projection scaled by s·sqrt(d)
    inputs = [TensorType((BATCH, 4, 8))]
    op, args, inferred = infer("attention", {"heads": 2, "scale": 1.0}, inputs)
    scaled, ctor = build_generated(op, args, inferred)
    assert ("scale", 1.0) in ctor.kwargs
    op, args, inferred = infer("attention", {"heads": 2}, inputs)
    plain, _ = build_generated(op, args, inferred)
    state = scaled.state_dict()
    plain_state = {name: tensor.clone() for name, tensor in state.items()}
    plain_state["in_proj_weight"][:8] *= math.sqrt(4)
    plain_state["in_proj_bias"][:8] *= math.sqrt(4)
    plain.load_state_dict(plain_state)
    x = torch.randn(2, 4, 8)
    with torch.no_grad():
        torch.testing.assert_close(scaled(x), plain(x))


def test_window_is_a_banded_causal_mask() -> None:
    inputs = [TensorType((BATCH, 6, 8))]
    op, args, inferred = infer("attention", {"heads": 2, "causal": True, "window": 2}, inputs)
    windowed, _ = build_generated(op, args, inferred)
    band = torch.ones(6, 6, dtype=torch.bool).tril() & ~torch.ones(6, 6, dtype=torch.bool).tril(-2)
    masked_inputs = [*inputs, TensorType((BATCH, 1, 6, 6), "bool")]
    op, args, inferred = infer("attention", {"heads": 2}, masked_inputs)
    masked, _ = build_generated(op, args, inferred)
    masked.load_state_dict(windowed.state_dict())
    x = torch.randn(2, 6, 8)
    with torch.no_grad():
        torch.testing.assert_close(windowed(x), masked(x, mask=band.expand(2, 1, 6, 6)))


def test_qk_norm_is_hugging_faces_rmsnorm_per_head() -> None:
    # Qwen3's q_norm and k_norm: nn.RMSNorm(head_dim) on each head before the rotation
    inputs = [TensorType((BATCH, 5, 16))]
    arguments = {"heads": 4, "layout": "linears", "qk_norm": True, "qk_norm_eps": 1e-5}
    op, args, inferred = infer("attention", arguments, inputs)
    module, _ = build_generated(op, args, inferred)
    assert list(inferred.params)[-2:] == ["q_norm.weight", "k_norm.weight"]
    assert inferred.params["q_norm.weight"] == (4,)
    norm = module.q_norm
    assert isinstance(norm, nn.RMSNorm) and norm.eps == 1e-5


def test_helper_attributes_are_reserved() -> None:
    # a projection named like an attribute of the module would replace it
    module = torch_helpers.Attention(8, 2, qk_norm_eps=1e-6, rotary_base=10000.0)
    own = set(vars(module)) | set(module._modules) | set(vars(torch_helpers.Attention))
    own |= set(vars(torch_helpers.AttentionHeads))
    own -= set(dir(nn.Module()))
    own -= set(PROJECTIONS)
    assert {name for name in own if not name.startswith("_")} <= RESERVED


@pytest.mark.parametrize(
    ("arguments", "inputs", "code", "arg", "with_", "help_"),
    [
        (
            {"heads": 2, "bias": (True, False, True, True)},
            [],
            "A345",
            "bias",
            None,
            'use `layout="linears"`, which gives each projection an nn.Linear of its own',
        ),
        (
            {"heads": 2, "layout": "linears", "names": ("q", "k", "v", "class")},
            [],
            "A346",
            "names",
            None,
            'name them as the checkpoint does, e.g. ("q_proj", "k_proj", "v_proj", "o_proj") '
            'or ("q", "k", "v", "o")',
        ),
        (
            {"heads": 2, "layout": "linears", "names": ("q", "k", "q", "o")},
            [],
            "A346",
            "names",
            None,
            "give each projection a name of its own",
        ),
        (
            {"heads": 2, "layout": "linears", "names": ("q", "k", "v", "scale")},
            [],
            "A346",
            "names",
            None,
            None,
        ),
        (
            {"heads": 2, "layout": "fused", "names": ("qkv", "k", "out")},
            [],
            "A351",
            "names",
            "len(names) = 3",
            'name them as the checkpoint does, e.g. ("query_key_value", "dense")',
        ),
        (
            {"heads": 2, "layout": "linears", "names": ("q", "k")},
            [],
            "A351",
            "names",
            "len(names) = 2",
            None,
        ),
        (
            {"heads": 2, "layout": "fused"},
            [TensorType((BATCH, 3, 8))],
            "A352",
            "layout",
            None,
            'use `layout="linears"` for cross-attention',
        ),
        (
            {"heads": 4, "kv_heads": 2, "layout": "fused"},
            [],
            "A352",
            "kv_heads",
            "kv_heads = 2, heads = 4",
            'use `layout="linears"` for grouped-query heads',
        ),
        (
            {"heads": 2, "layout": "fused", "bias": (True, False, True, True)},
            [],
            "A345",
            "bias",
            None,
            None,
        ),
        (
            {"heads": 2, "window": 4},
            [],
            "A347",
            "window",
            None,
            "add `causal=true`, as Mistral and Qwen2 have it",
        ),
        (
            {"heads": 2, "alibi": True},
            [],
            "A347",
            "alibi",
            None,
            "add `causal=true`, as BLOOM and MPT have it",
        ),
        (
            {"heads": 2, "rotary_base": 500.0},
            [],
            "A348",
            "rotary_base",
            None,
            "add `rotary=true`, or leave `rotary_base` out",
        ),
        (
            {"heads": 2, "names": ("q", "k", "v", "o")},
            [],
            "A348",
            "names",
            None,
            'add `layout="linears"`, or leave `names` out',
        ),
        (
            {"heads": 2, "rotary": True, "rotary_fraction": 0.2},
            [],
            "A349",
            "rotary_fraction",
            "int(4 * 0.2) = 0",
            "use a fraction of at least 0.5",
        ),
        (
            {"heads": 2},
            [TensorType((BATCH, 7), "bool")],
            "A350",
            "mask",
            "S = 5, the mask has 7",
            "build the mask for 5 keys",
        ),
        (
            {"heads": 2},
            [TensorType((BATCH, 3, 5, 5))],
            "A350",
            "mask",
            "heads = 2, the mask has 3",
            "build the mask for 2 heads",
        ),
        (
            {"heads": 2},
            [TensorType((BATCH, 5, 8)), TensorType((BATCH, 5, 8))],
            "A311",
            None,
            None,
            None,
        ),
    ],
)
def test_option_mistakes_are_explained(
    arguments: dict[str, Any],
    inputs: list[TensorType],
    code: str,
    arg: str | None,
    with_: str | None,
    help_: str | None,
) -> None:
    with pytest.raises(ShapeError) as caught:
        infer("attention", arguments, [TensorType((BATCH, 5, 8)), *inputs])
    finding = caught.value.finding
    assert (finding.code, finding.arg) == (code, arg)
    assert with_ is None or finding.with_ == with_
    assert help_ is None or finding.help == help_


def test_mask_broadcasts_over_ones() -> None:
    _, _, inferred = infer(
        "attention",
        {"heads": 2},
        [TensorType((BATCH, T, 8)), TensorType((BATCH, 1, 1, T), "bool")],
    )
    assert inferred.resolved["mask"] == 1 and inferred.resolved["memory"] is None


MASKED_SPEC = """\
network Masked(heads=4) {
    in x: [T, 32]
    in memory: [S, 24]
    in keep: bool[S]
    in own: [1, T, T]
    y = x -> attention(heads, causal=true, layout="linears", qk_norm=true, mask=own) as self_attn
    out y -> attention(memory, heads=heads, kv_heads=2, scale=0.5, mask=keep) as cross_attn
}
"""


def test_masks_pass_through_a_spec_to_the_generated_call(tmp_path: Any) -> None:
    # a mask given by name without a memory, and one after a memory: the generated calls pass
    # each where it belongs, and the module computes what the interpreter computes
    path = tmp_path / "masked.arch"
    path.write_text(MASKED_SPEC, encoding="utf-8")
    source = api.compile_source(str(path))
    assert "y = self.self_attn(x, mask=own)" in source
    assert "self.cross_attn(y, memory, mask=keep)" in source
    verdicts = runtime.selftest(str(path))
    assert verdicts and all(passed for passed, _ in verdicts), verdicts


def test_alibi_slopes_are_the_papers() -> None:
    # Press et al.: 8 heads get 1/2, 1/4, ..., 1/256; 6 heads the 4-head sequence, then the
    # 8-head one's odd steps
    eighths = torch.tensor([2.0**-k for k in range(1, 9)], dtype=torch.float64)
    assert torch.equal(torch_helpers.alibi_slopes(8), eighths)
    six = [2.0**-2, 2.0**-4, 2.0**-6, 2.0**-8, 2.0**-1, 2.0**-3]
    assert torch.equal(torch_helpers.alibi_slopes(6), torch.tensor(six, dtype=torch.float64))


def test_alibi_adds_a_linear_bias_per_head() -> None:
    # ALiBi is a causal mask plus the float bias slope_h * (j - i) given as a mask
    inputs = [TensorType((BATCH, 5, 12))]
    op, args, inferred = infer("attention", {"heads": 3, "causal": True, "alibi": True}, inputs)
    with_alibi, ctor = build_generated(op, args, inferred)
    assert ("alibi", True) in ctor.kwargs
    assert op.label(args, inferred) == "attention 3 heads, causal, alibi"
    distance = torch.arange(5)[None, :] - torch.arange(5)[:, None]
    bias = torch_helpers.alibi_slopes(3).float()[:, None, None] * distance
    bias = bias.masked_fill(distance > 0, -math.inf)
    op, args, inferred = infer("attention", {"heads": 3}, [*inputs, TensorType((BATCH, 3, 5, 5))])
    masked, _ = build_generated(op, args, inferred)
    masked.load_state_dict(with_alibi.state_dict())
    x = torch.randn(2, 5, 12)
    with torch.no_grad():
        torch.testing.assert_close(with_alibi(x), masked(x, mask=bias.expand(2, 3, 5, 5)))


@given(
    heads=st.integers(1, 3),
    length=st.integers(1, 5),
    keys=st.integers(1, 5),
    width=st.integers(1, 6),
    value_width=st.integers(1, 6),
    mask=st.sampled_from([None, "bool", "float32"]),
    scale=st.sampled_from([None, 0.5]),
)
def test_scaled_dot_product_attention_matches_torch(
    heads: int,
    length: int,
    keys: int,
    width: int,
    value_width: int,
    mask: str | None,
    scale: float | None,
) -> None:
    inputs = [
        TensorType((BATCH, heads, length, width)),
        TensorType((BATCH, heads, keys, width)),
        TensorType((BATCH, heads, keys, value_width)),
    ]
    if mask is not None:
        inputs.append(TensorType((BATCH, 1, length, keys), mask))
    causal = mask is None and length == keys
    inferred = check_against_torch(
        "scaled_dot_product_attention", {"is_causal": causal, "scale": scale}, inputs
    )
    assert inferred.outputs[0].shape == (BATCH, heads, length, value_width)


def test_scaled_dot_product_attention_refuses_a_mask_with_is_causal() -> None:
    inputs = [TensorType((BATCH, 2, 4, 8))] * 3 + [TensorType((BATCH, 1, 4, 4), "bool")]
    with pytest.raises(ShapeError, match="a mask or is_causal=true, not both"):
        infer("scaled_dot_product_attention", {"is_causal": True}, inputs)
