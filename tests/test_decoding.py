"""Incremental decoding: a causal language model's generated module takes a KV cache, and its
greedy `generate` gives exactly the tokens of decoding without one.

Each zoo decoder is built small with random weights in float64; the logits of a prompt run
whole and of the same prompt fed in pieces through a cache agree, and `generate` agrees with
the plain greedy loop that runs the whole sequence again for every token.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest
import torch

from archc import api, runtime
from tests.conftest import ROOT

SPECS = ROOT / "specs"
# learned positions (GPT-2), rotary positions and grouped-query heads (Qwen2), ALiBi (BLOOM)
DECODERS = [
    ("gpt2.arch", "GPT2", {"vocab": 97, "context": 64, "layers": 2, "d_model": 32, "heads": 4}),
    (
        "qwen2.arch",
        "Qwen2",
        {"vocab": 97, "d_model": 32, "layers": 2, "heads": 4, "kv_heads": 2, "ffn": 48},
    ),
    ("bloom.arch", "BloomForCausalLM", {"vocab": 97, "d_model": 32, "layers": 2, "heads": 4}),
    (
        "llama.arch",
        "Llama",
        {"vocab": 97, "d_model": 32, "layers": 2, "heads": 4, "kv_heads": 2, "ffn": 48},
    ),
    # partial rotary and a parallel residual
    ("gpt_neox.arch", "GPTNeoX", {"vocab": 97, "d_model": 32, "layers": 2, "heads": 4, "ffn": 48}),
    # learned positions from row 2 of the table
    (
        "opt.arch",
        "OPT",
        {"vocab": 97, "d_model": 32, "layers": 2, "heads": 4, "ffn": 48, "max_positions": 40},
    ),
    # heads wider than d_model / heads, the embeddings scaled, norms scaling by 1 + weight
    (
        "gemma.arch",
        "Gemma",
        {
            "vocab": 97,
            "d_model": 32,
            "layers": 2,
            "heads": 4,
            "kv_heads": 2,
            "head_dim": 12,
            "ffn": 48,
        },
    ),
]


def built(spec: str, network: str, sizes: dict[str, Any]) -> Any:
    torch.manual_seed(0)
    model = runtime.build(str(SPECS / spec), network, **sizes).double().eval()
    with torch.no_grad():  # weights large enough that the greedy choices are not ties
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.3)
    return model


def _cache_class(model: Any) -> Any:
    """The KVCache class of the module the network's class was generated into."""
    return sys.modules[type(model).__module__].KVCache


def greedy_without_cache(model: Any, tokens: torch.Tensor, steps: int) -> torch.Tensor:
    for _ in range(steps):
        with torch.no_grad():
            new = model(tokens)[:, -1].argmax(dim=-1, keepdim=True)
        tokens = torch.cat([tokens, new], dim=1)
    return tokens


@pytest.mark.parametrize(("spec", "network", "sizes"), DECODERS, ids=[d[1] for d in DECODERS])
def test_logits_through_a_cache_are_the_whole_sequences(
    spec: str, network: str, sizes: dict[str, Any]
) -> None:
    model = built(spec, network, sizes)
    tokens = torch.randint(0, sizes["vocab"], (2, 9))
    with torch.no_grad():
        whole = model(tokens)
        cache = _cache_class(model)()
        pieces = [model(tokens[:, :4], cache=cache)]
        pieces += [model(tokens[:, i : i + 1], cache=cache) for i in range(4, 9)]
    assert len(cache.layers) == sizes["layers"]
    assert cache.length() == 9
    torch.testing.assert_close(torch.cat(pieces, dim=1), whole, rtol=0, atol=1e-10)


@pytest.mark.parametrize(("spec", "network", "sizes"), DECODERS, ids=[d[1] for d in DECODERS])
def test_generate_gives_the_tokens_of_decoding_without_a_cache(
    spec: str, network: str, sizes: dict[str, Any]
) -> None:
    model = built(spec, network, sizes)
    prompt = torch.randint(0, sizes["vocab"], (3, 5))
    generated = model.generate(prompt, max_new_tokens=12)
    assert generated.shape == (3, 17)
    assert torch.equal(generated[:, :5], prompt)
    assert torch.equal(generated, greedy_without_cache(model, prompt, 12))


@pytest.mark.parametrize("spec", ["bert_base.arch", "transformer.arch", "roberta_base.arch"])
def test_networks_that_are_not_causal_language_models_take_no_cache(spec: str) -> None:
    text = api.compile_source(str(SPECS / spec))
    assert "cache=cache" not in text and "def generate" not in text
    # nor do the attention modules copied into it: no KVCache, no line that reads one
    assert "class MultiheadAttention" in text or "class Attention" in text
    assert "KVCache" not in text and "cache" not in text


def test_a_decoding_network_holds_the_cache_and_the_lines_that_read_it() -> None:
    text = api.compile_source(str(SPECS / "gpt2.arch"))
    assert "class KVCache" in text and "start = cache.length(self)" in text
    assert "k, v = cache.extend(self, k, v)" in text and "# decoding" not in text


DECODER = """
network Tiny(vocab=50, width=16) {{
    in tokens: int64[T]
    {inputs}
    x = tokens -> embedding(vocab, width) as wte
    {before}
    x = x + (x -> layernorm as ln -> attention(4, causal={causal}{mask}) as attn)
    {after}
    out logits = x -> linear(vocab) as head
}}
"""
PLAIN = {"inputs": "", "before": "", "after": "", "causal": "true", "mask": ""}


@pytest.mark.parametrize(
    ("change", "decodes"),
    [
        ({}, True),
        ({"before": "x = x -> learned_positions(64) as wpe"}, True),
        ({"before": "x = x -> sinusoidal_positions(64)"}, True),
        ({"causal": "false"}, False),  # every position sees the later ones
        ({"inputs": "in keep: bool[T]", "mask": ", mask=keep"}, False),  # a second input
        ({"after": "x = x -> learned_positions(64) as wpe"}, False),  # counted after keys
        ({"after": "x = x -> cumsum(1)"}, False),  # sums along the sequence
        ({"after": "x = x -> softmax(1)"}, False),  # mixes along the sequence
    ],
)
def test_which_networks_decode(tmp_path: Any, change: dict[str, str], decodes: bool) -> None:
    spec = tmp_path / "tiny.arch"
    spec.write_text(DECODER.format(**(PLAIN | change)), encoding="utf-8")
    text = api.compile_source(str(spec))
    assert ("def generate" in text) == decodes
    forward = "def forward(self, tokens: torch.Tensor, cache: KVCache | None = None)"
    assert (forward in text) == decodes
    if decodes:
        model = runtime.build(str(spec)).double().eval()
        prompt = torch.randint(0, 50, (2, 3))
        generated = model.generate(prompt, max_new_tokens=6)
        assert torch.equal(generated, greedy_without_cache(model, prompt, 6))


# Values named as the cache and the helper that reads its length: renamed in the generated
# forward, so they hide neither.
SHADOWING = """
block Layer(heads) {
    in x
    cache = x -> layernorm -> attention(heads, causal=true, rotary=true) as attn
    out x + cache
}
network Tiny(vocab=50, d=16, heads=2, layers=2) {
    in tokens: int64[T]
    cached_length = tokens -> embedding(vocab, d) as wte -> learned_positions(32) as wpe
    cache = cached_length -> Layer(heads) * layers as h
    out logits = cache -> layernorm as ln_f -> linear(vocab, bias=false) as head
}
"""


def test_values_named_like_the_cache_do_not_hide_it(tmp_path: Any) -> None:
    spec = tmp_path / "shadowing.arch"
    spec.write_text(SHADOWING, encoding="utf-8")
    model = built(str(spec), "Tiny", {"vocab": 50})
    prompt = torch.randint(0, 50, (2, 4))
    assert torch.equal(model.generate(prompt, 6), greedy_without_cache(model, prompt, 6))
