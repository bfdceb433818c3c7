"""`archc import` on Hugging Face's GPT-2, BERT and OPT, built from small configurations with random
weights: the spec checks, compiles, takes the model's state_dict strictly and unchanged, and
computes the model's first output (`last_hidden_state`, or GPT-2's logits) in float64, at the
traced sequence length and at shorter and longer ones up to the position table's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import archc
from archc import api, runtime
from archc.importer import import_module

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

VOCAB = 100
SEQUENCE = 8
POSITIONS = 16  # the position table's length
# the lengths the rebuilt model is compared at: the traced one, shorter, longer, the longest
LENGTHS = (SEQUENCE, 1, 3, 13, POSITIONS)


def _ids(batch: int = 2, length: int = SEQUENCE) -> torch.Tensor:
    return torch.randint(0, VOCAB, (batch, length), generator=torch.Generator().manual_seed(0))


def _round_trip(model: Any, folder: Path, least: int = 1, too_long: str = "") -> str:
    """Import ``model`` on token ids, compile the spec, load the model's state_dict strictly
    and compare the first output in float64, eval mode, at each of ``LENGTHS`` from ``least``
    on, and the parameter counts. A shorter length, at which the model's Python may branch
    the other way, the checker refuses (A277). A sequence longer than the position table the
    checker refuses too (A309, saying ``too_long``)."""
    model = model.double().eval()
    # traced on one sample, as `archc import` traces, and compared on two
    imported = import_module(model, (_ids(1),))
    assert imported.diagnostics == [], [d.message for d in imported.diagnostics]
    assert imported.text is not None
    path = folder / "imported.arch"
    path.write_text(imported.text)
    rebuilt = runtime.build(str(path), dtype=torch.float64, max_params=None)
    rebuilt.load_state_dict(model.state_dict(), strict=True)
    rebuilt.eval()
    for length in LENGTHS:
        if length < least:
            _, diagnostics = api.analyse(str(path), overrides={"T": length})
            assert [d.code for d in diagnostics] == ["A277"], length
            continue
        ids = _ids(length=length)
        with torch.no_grad():
            expected, got = model(ids)[0], rebuilt(ids)
        assert got.shape == expected.shape
        assert torch.allclose(got, expected, rtol=1e-5, atol=1e-5), (got - expected).abs().max()
    assert archc.load(path).params == sum(p.numel() for p in model.parameters())
    # a sequence longer than the position table is refused by the checker where the table is,
    # and fails in the model as in the one a hand-written spec with such a table makes
    _, diagnostics = api.analyse(str(path), overrides={"T": POSITIONS + 1})
    assert [d.code for d in diagnostics] == ["A309"]
    too_long = too_long or f"holds {POSITIONS} positions, but the sequence has {POSITIONS + 1}"
    assert too_long in diagnostics[0].message
    with pytest.raises(IndexError):
        rebuilt(_ids(length=POSITIONS + 1))
    return imported.text


def _gpt2_config(**changes: Any) -> Any:
    settings = {
        "n_layer": 2,
        "n_embd": 32,
        "n_head": 4,
        "vocab_size": VOCAB,
        "n_positions": POSITIONS,
    }
    return transformers.GPT2Config(**settings, use_cache=False, **changes)


def test_gpt2_round_trips(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = transformers.GPT2Model(_gpt2_config())
    text = _round_trip(model, tmp_path, least=2)
    # the traces at other lengths leave nothing behind: importing again writes the same text
    assert import_module(model, (_ids(1),)).text == text
    assert "# The output is the model's `last_hidden_state`." in text
    # transformers' attention branches on one token or more: the spec takes the branch of
    # more, and says from which length on every length takes it
    assert "# The forward branches on T at " in text
    assert "    in input_ids: int64[T]\n    assert T >= 2\n" in text
    # Conv1D's transposed weights, the fused q, k, v split in three and named as attention
    # reads them, one block repeated
    assert "linear(96, transposed=true) as c_attn" in text
    split = "query, key, value = x -> linear(96, transposed=true) as c_attn -> split(32, dim=2)"
    assert split in text
    assert "scaled_dot_product_attention(query, key, value," in text
    assert "is_causal=true" in text
    # the length is symbolic; the head size (8, as long as the traced sequence) stays a number
    assert "in input_ids: int64[T]" in text
    assert "key = key -> reshape(-1, 4, 8) -> transpose(1, 2)" in text
    assert "-> transpose(1, 2)\n        -> reshape(-1, 32)" in text
    assert "input_ids -> embedding(100, 32) as wte -> learned_positions(16) as wpe" in text
    assert text.count("block GPT2Block") == 1


def _bert_config() -> Any:
    return transformers.BertConfig(
        num_hidden_layers=2,
        hidden_size=32,
        num_attention_heads=4,
        intermediate_size=64,
        vocab_size=VOCAB,
        max_position_embeddings=16,
    )


def test_bert_round_trips(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = transformers.BertModel(_bert_config(), add_pooling_layer=False)
    text = _round_trip(model, tmp_path, least=2)
    # positions and the one sentence's segment ids, which BERT keeps in buffers the
    # state_dict leaves out, are computed; q, k and v are BERT's own three linear layers
    assert "in input_ids: int64[T]" in text
    assert "-> learned_positions(16) as position_embeddings" in text
    zeros = "positions(x, dim=1) - positions(x, dim=1)"
    assert f"{zeros} -> embedding(2, 32) as token_type_embeddings" in text
    assert "query = x -> linear(32) as query -> reshape(-1, 4, 8)" in text
    assert "BertLayer * 2 as layer" in text
    body = text.split("\n\n", 1)[1]  # the header quotes the lines that branch on T
    assert "layernorm(eps=1e-12)" in body and "is_causal" not in body


def test_layers_only_a_dropped_output_reads_are_named_in_the_header() -> None:
    torch.manual_seed(0)
    model = transformers.BertModel(_bert_config()).eval()
    imported = import_module(model, (_ids(1),))
    assert imported.diagnostics == [] and imported.text is not None
    assert "# The output is the model's `last_hidden_state`; pooler_output left out." in (
        imported.text
    )
    assert "# their state_dict keys: pooler.dense." in imported.text
    assert "pooler" not in imported.text.split("# their state_dict keys")[1].split("\n", 1)[1]


def test_gpt2_with_its_language_model_head_ties_it_to_the_token_embedding(
    tmp_path: Path,
) -> None:
    torch.manual_seed(0)
    text = _round_trip(transformers.GPT2LMHeadModel(_gpt2_config()), tmp_path, least=2)
    assert "# The output is the model's `logits`." in text
    assert "linear(100, bias=false) as lm_head" in text
    assert "tie lm_head.weight = transformer.wte.weight" in text


def test_bert_given_a_padding_mask_reports_each_part_it_cannot_write_where_it_is() -> None:
    torch.manual_seed(0)
    model = transformers.BertModel(_bert_config(), add_pooling_layer=False).eval()
    ids = _ids(1)
    imported = import_module(model, (ids, torch.ones_like(ids)))
    assert imported.text is not None and "TODO_" in imported.text
    assert imported.diagnostics
    for diagnostic in imported.diagnostics:
        assert diagnostic.code in ("A503", "A505")
        assert diagnostic.span is not None and diagnostic.span.file.endswith(".py")
    # the mask reaches each encoder layer, which says so by its path
    assert any("`encoder.layer.0`" in d.message for d in imported.diagnostics)


def _opt_config(**changes: Any) -> Any:
    settings = {
        "num_hidden_layers": 2,
        "hidden_size": 32,
        "word_embed_proj_dim": 32,
        "ffn_dim": 64,
        "num_attention_heads": 4,
        "vocab_size": VOCAB,
        "max_position_embeddings": POSITIONS,
    }
    return transformers.OPTConfig(**settings, use_cache=False, **changes)


# OPT's table holds two rows before its positions
OPT_TOO_LONG = f"holds {POSITIONS + 2} rows, the first at row 2, but the sequence has 17 positions"


def test_opt_round_trips(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = transformers.OPTModel(_opt_config())
    text = _round_trip(model, tmp_path, least=2, too_long=OPT_TOO_LONG)
    # the causal mask transformers builds is sdpa's own, as GPT-2's is
    assert "scaled_dot_product_attention(query, key, value, scale=1.0, is_causal=true)" in text
    # OPT's positions are an nn.Embedding of its own class, looked up two rows on
    assert "-> learned_positions(18, offset=2) as embed_positions" in text
    # its four projections with their biases, pre-LN layers, and the feed-forward that runs
    # on the tokens flattened into rows of (N*T, E) and viewed back, written on (N, T, E)
    for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
        assert f"linear(32) as {name}" in text
    layer = text.split("block OPTDecoderLayer {")[1].split("}")[0]
    assert "x -> layernorm as self_attn_layer_norm -> OPTAttention as self_attn" in layer
    assert "-> layernorm as final_layer_norm\n        -> linear(64) as fc1" in layer
    assert "reshape" not in layer
    assert "OPTDecoderLayer * 2 as layers" in text


def test_opt_post_ln_with_its_language_model_head_round_trips(tmp_path: Path) -> None:
    torch.manual_seed(0)
    config = _opt_config(do_layer_norm_before=False, activation_function="gelu")
    model = transformers.OPTForCausalLM(config)
    text = _round_trip(model, tmp_path, least=2, too_long=OPT_TOO_LONG)
    assert "# The output is the model's `logits`." in text
    assert "tie lm_head.weight = model.decoder.embed_tokens.weight" in text
    # the norms come after the residual sums
    layer = text.split("block OPTDecoderLayer {")[1].split("}")[0]
    assert "-> layernorm as self_attn_layer_norm" in layer.split("OPTAttention")[1]
