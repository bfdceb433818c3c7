"""Hugging Face checkpoints load into the compiled zoo networks and compute the same logits.

`transformers.Qwen2ForCausalLM`, built from a small `Qwen2Config` with random weights (seeded; no
download), hands its state_dict to the module compiled from specs/qwen2.arch with the same sizes:
`load_state_dict(strict=True)`, no key converted. Both run the same tokens in float64 in eval
mode, and the logits must agree within 1e-5 (Hugging Face's RMSNorm computes in float32 even in
float64, so the two are not bit for bit); its greedy `generate` gives transformers' tokens. BLOOM
(`BloomModel`, `BloomForCausalLM`) and RoBERTa (`RobertaModel`, on a padded batch) load and
agree the same way, and so do Llama, GPT-NeoX, OPT and Gemma, logits and greedy tokens, and
DistilBERT on a padded batch. transformers is not a dependency of archc, so this module skips
where it is not installed (README, "The zoo", says where it ran).
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from archc import runtime, torch_helpers
from tests.conftest import ROOT

transformers = pytest.importorskip("transformers")

# A small Qwen2: grouped-query heads (4 query heads share each of 2 key/value heads), head_dim
# 16, two layers, the 0.5B model's rotary base and norm epsilon.
SIZES = {
    "vocab": 128,
    "d_model": 64,
    "layers": 2,
    "heads": 4,
    "kv_heads": 2,
    "ffn": 96,
    "theta": 1000000.0,
    "eps": 1e-6,
}


def qwen2_config(tied: bool, attention: str = "eager") -> Any:
    return transformers.Qwen2Config(
        vocab_size=SIZES["vocab"],
        hidden_size=SIZES["d_model"],
        num_hidden_layers=SIZES["layers"],
        num_attention_heads=SIZES["heads"],
        num_key_value_heads=SIZES["kv_heads"],
        intermediate_size=SIZES["ffn"],
        rope_theta=SIZES["theta"],
        rms_norm_eps=SIZES["eps"],
        max_position_embeddings=64,
        tie_word_embeddings=tied,
        attn_implementation=attention,
    )


@pytest.mark.slow
@pytest.mark.parametrize(("network", "tied"), [("Qwen2", True), ("Qwen2Untied", False)])
def test_qwen2_weights_give_the_same_logits(network: str, tied: bool) -> None:
    torch.manual_seed(0)
    reference = transformers.Qwen2ForCausalLM(qwen2_config(tied)).double().eval()
    # biases away from their initial zeros, so that loading them is tested too
    with torch.no_grad():
        for name, parameter in reference.named_parameters():
            if name.endswith(".bias") or name.endswith("norm.weight"):
                parameter.uniform_(-0.5, 0.5 if name.endswith(".bias") else 1.5)
    built = runtime.build(str(ROOT / "specs" / "qwen2.arch"), network, **SIZES).double().eval()
    built.load_state_dict(reference.state_dict(), strict=True)
    assert sorted(built.state_dict()) == sorted(reference.state_dict())
    assert (built.lm_head.weight is built.model.embed_tokens.weight) == tied
    tokens = torch.randint(0, SIZES["vocab"], (2, 12))
    with torch.no_grad():
        expected = reference(input_ids=tokens).logits
        got = built(tokens)
    assert got.shape == expected.shape == (2, 12, SIZES["vocab"])
    assert torch.allclose(got, expected, rtol=0, atol=1e-5), (got - expected).abs().max()


@pytest.mark.slow
def test_qwen2_padding_mask_is_hugging_faces_attention_mask() -> None:
    # a left-padded batch: archc's attention takes HF's (N, S) attention_mask as its mask, and
    # the positions that are not padding get the same logits (HF's eager attention gives NaN
    # for a padded sample in float64, its SDPA attention does not)
    torch.manual_seed(1)
    reference = transformers.Qwen2ForCausalLM(qwen2_config(True, "sdpa")).double().eval()
    spec = ROOT / "tests" / "hf" / "qwen2_masked.arch"
    built = runtime.build(str(spec), "Qwen2Masked", **SIZES).double().eval()
    built.load_state_dict(reference.state_dict(), strict=True)
    tokens = torch.randint(0, SIZES["vocab"], (2, 8))
    keep = torch.ones(2, 8, dtype=torch.int64)
    keep[1, :3] = 0
    with torch.no_grad():
        expected = reference(input_ids=tokens, attention_mask=keep).logits
        got = built(tokens, keep)
    assert torch.allclose(got[0], expected[0], rtol=0, atol=1e-5)
    assert torch.allclose(got[1, 3:], expected[1, 3:], rtol=0, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("attention", ["eager", "sdpa"])
def test_qwen2_generates_hugging_faces_greedy_tokens(attention: str) -> None:
    # the compiled module's generate, with its KV cache, against transformers' own greedy
    # search with its cache: the same prompt, the same 12 new tokens
    torch.manual_seed(4)
    reference = transformers.Qwen2ForCausalLM(qwen2_config(True, attention)).double().eval()
    with torch.no_grad():  # weights large enough that the greedy choices are not near ties
        for parameter in reference.parameters():
            parameter.normal_(0.0, 0.3)
    built = runtime.build(str(ROOT / "specs" / "qwen2.arch"), "Qwen2", **SIZES).double().eval()
    built.load_state_dict(reference.state_dict(), strict=True)
    prompt = torch.randint(0, SIZES["vocab"], (2, 6))
    expected = reference.generate(
        prompt,
        attention_mask=torch.ones_like(prompt),
        max_new_tokens=12,
        min_new_tokens=12,
        do_sample=False,
        pad_token_id=0,
    )
    got = built.generate(prompt, max_new_tokens=12)
    assert torch.equal(got, expected), (got, expected)


def test_alibi_slopes_are_blooms() -> None:
    from transformers.models.bloom.modeling_bloom import build_alibi_tensor

    for heads in (1, 6, 8, 12, 16, 20):
        keys = torch.ones(1, 3)  # BLOOM's bias for keys 0, 1, 2: slope * key position
        bloom = build_alibi_tensor(keys, heads, torch.float32).view(heads, 3)[:, 1]
        slopes = torch_helpers.alibi_slopes(heads).float()
        torch.testing.assert_close(slopes, bloom, rtol=1e-6, atol=0)  # BLOOM rounds in float32


# A small OLMoE: 6 experts of width 24, 2 per token, as OLMoE's routing (softmax over all
# experts, the chosen probabilities not renormalised), two layers, head_dim 16.
OLMOE_SIZES = {
    "vocab": 128,
    "d_model": 64,
    "layers": 2,
    "heads": 4,
    "ffn": 24,
    "experts": 6,
    "top_k": 2,
    "theta": 10000.0,
    "eps": 1e-5,
}


def olmoe_config() -> Any:
    return transformers.OlmoeConfig(
        vocab_size=OLMOE_SIZES["vocab"],
        hidden_size=OLMOE_SIZES["d_model"],
        num_hidden_layers=OLMOE_SIZES["layers"],
        num_attention_heads=OLMOE_SIZES["heads"],
        intermediate_size=OLMOE_SIZES["ffn"],
        num_experts=OLMOE_SIZES["experts"],
        num_experts_per_tok=OLMOE_SIZES["top_k"],
        rope_theta=OLMOE_SIZES["theta"],
        rms_norm_eps=OLMOE_SIZES["eps"],
        max_position_embeddings=64,
        eos_token_id=None,
        attn_implementation="eager",
        # its loop over experts and index_add, as SparseMoE computes; torch's grouped matrix
        # products, the default, take no float64
        experts_implementation="eager",
    )


@pytest.mark.slow
def test_olmoe_weights_give_the_same_logits() -> None:
    torch.manual_seed(2)
    reference = transformers.OlmoeForCausalLM(olmoe_config()).double().eval()
    # norms and the router away from their initial ones and zeros, so that loading them and
    # routing tokens to different experts are tested too
    with torch.no_grad():
        for name, parameter in reference.named_parameters():
            if name.endswith("norm.weight"):
                parameter.uniform_(0.5, 1.5)
            elif name.endswith("mlp.gate.weight"):
                parameter.normal_(0.0, 1.0)
    built = runtime.build(str(ROOT / "specs" / "olmoe.arch"), "Olmoe", **OLMOE_SIZES)
    built = built.double().eval()
    built.load_state_dict(reference.state_dict(), strict=True)
    assert sorted(built.state_dict()) == sorted(reference.state_dict())
    tokens = torch.randint(0, OLMOE_SIZES["vocab"], (2, 12))
    with torch.no_grad():
        expected = reference(input_ids=tokens).logits
        got = built(tokens)
    assert got.shape == expected.shape == (2, 12, OLMOE_SIZES["vocab"])
    assert torch.allclose(got, expected, rtol=0, atol=1e-5), (got - expected).abs().max()


# A small ALBERT: 32-wide embeddings lifted to 64, four heads, one shared layer applied three
# times, the base model's activation and norm epsilon.
ALBERT = {
    "vocab": 96,
    "embedding": 32,
    "hidden": 64,
    "layers": 3,
    "heads": 4,
    "intermediate": 96,
    "max_positions": 40,
}


def albert_config() -> Any:
    return transformers.AlbertConfig(
        vocab_size=ALBERT["vocab"],
        embedding_size=ALBERT["embedding"],
        hidden_size=ALBERT["hidden"],
        num_hidden_layers=ALBERT["layers"],
        num_attention_heads=ALBERT["heads"],
        intermediate_size=ALBERT["intermediate"],
        max_position_embeddings=ALBERT["max_positions"],
        attn_implementation="eager",
    )


@pytest.mark.slow
def test_albert_weights_give_the_same_hidden_states() -> None:
    torch.manual_seed(2)
    reference = transformers.AlbertModel(albert_config()).double().eval()
    with torch.no_grad():  # biases and norms away from their initial values, so loading counts
        for name, parameter in reference.named_parameters():
            if name.endswith(".bias") or name.endswith("LayerNorm.weight"):
                parameter.uniform_(-0.5, 0.5 if name.endswith(".bias") else 1.5)
    spec = str(ROOT / "specs" / "albert_base.arch")
    built = runtime.build(spec, "AlbertBase", **ALBERT).double().eval()
    built.load_state_dict(reference.state_dict(), strict=True)
    assert sorted(built.state_dict()) == sorted(reference.state_dict())
    tokens = torch.randint(1, ALBERT["vocab"], (2, 10))
    segments = torch.randint(0, 2, (2, 10))
    keep = torch.ones(2, 10, dtype=torch.int64)
    keep[1, 7:] = 0  # the second sample is padded at the end
    with torch.no_grad():
        expected = reference(input_ids=tokens, attention_mask=keep, token_type_ids=segments)
        hidden, pooled = built(tokens, keep, segments)
    assert hidden.shape == expected.last_hidden_state.shape == (2, 10, ALBERT["hidden"])
    assert torch.allclose(hidden, expected.last_hidden_state, rtol=0, atol=1e-5)
    assert torch.allclose(pooled, expected.pooler_output, rtol=0, atol=1e-5)


# A small BLOOM: 4 heads of 16, two layers; ALiBi is its only position information.
BLOOM = {"vocab": 128, "d_model": 64, "layers": 2, "heads": 4}


def bloom_config() -> Any:
    return transformers.BloomConfig(
        vocab_size=BLOOM["vocab"],
        hidden_size=BLOOM["d_model"],
        n_layer=BLOOM["layers"],
        n_head=BLOOM["heads"],
        attn_implementation="eager",
    )


def bloom_model(causal_lm: bool) -> Any:
    kind = transformers.BloomForCausalLM if causal_lm else transformers.BloomModel
    reference = kind(bloom_config()).double().eval()
    with torch.no_grad():  # biases and norms away from their initial zeros and ones
        for name, parameter in reference.named_parameters():
            if name.endswith(".bias") or "layernorm" in name or "ln_f" in name:
                parameter.uniform_(-0.5, 1.5)
    return reference


@pytest.mark.slow
@pytest.mark.parametrize(("network", "causal_lm"), [("Bloom", False), ("BloomForCausalLM", True)])
def test_bloom_weights_give_the_same_outputs(network: str, causal_lm: bool) -> None:
    # BLOOM's query_key_value holds each head's query, key and value rows together: loaded
    # as it is into layout="fused", the outputs agree (HF's softmax runs in float32)
    torch.manual_seed(2)
    reference = bloom_model(causal_lm)
    built = runtime.build(str(ROOT / "specs" / "bloom.arch"), network, **BLOOM).double().eval()
    built.load_state_dict(reference.state_dict(), strict=True)
    assert list(built.state_dict()) == list(reference.state_dict())
    tokens = torch.randint(0, BLOOM["vocab"], (2, 10))
    with torch.no_grad():
        output = reference(input_ids=tokens)
        expected = output.logits if causal_lm else output.last_hidden_state
        got = built(tokens)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, rtol=0, atol=1e-5), (got - expected).abs().max()


# A small RoBERTa: 4 heads of 8, two layers, roberta-base's one segment type, <pad> = 1 and
# its norm epsilon; positions for 30 tokens after the two RoBERTa reserves.
ROBERTA = {"vocab": 100, "layers": 2, "d_model": 32, "heads": 4, "p_drop": 0.1}


def roberta_config() -> Any:
    return transformers.RobertaConfig(
        vocab_size=ROBERTA["vocab"],
        hidden_size=ROBERTA["d_model"],
        num_hidden_layers=ROBERTA["layers"],
        num_attention_heads=ROBERTA["heads"],
        intermediate_size=4 * ROBERTA["d_model"],
        max_position_embeddings=514,
        type_vocab_size=1,
        layer_norm_eps=1e-5,
        attn_implementation="eager",
    )


@pytest.mark.slow
def test_roberta_padded_batch_gives_the_same_hidden_states() -> None:
    # RoBERTa counts positions from padding_idx + 1 over the tokens that are not padding: a
    # padded sample's tokens get the positions they would have alone, on either side, and the
    # outputs agree at every position that is not padding, the pooler's too
    torch.manual_seed(3)
    reference = transformers.RobertaModel(roberta_config()).double().eval()
    with torch.no_grad():  # biases and norms away from their initial zeros and ones
        for name, parameter in reference.named_parameters():
            if name.endswith(".bias") or "LayerNorm" in name:
                parameter.uniform_(-0.5, 1.5)
    spec = str(ROOT / "specs" / "roberta_base.arch")
    built = runtime.build(spec, "RobertaBase", **ROBERTA).double().eval()
    built.load_state_dict(reference.state_dict(), strict=True)
    assert sorted(built.state_dict()) == sorted(reference.state_dict())
    tokens = torch.randint(3, ROBERTA["vocab"], (3, 9))
    keep = torch.ones(3, 9, dtype=torch.int64)
    keep[1, 6:] = 0  # right padding, as RoBERTa's tokenizer pads
    keep[2, :3] = 0  # and left padding
    tokens[keep == 0] = 1  # <pad>
    with torch.no_grad():
        expected = reference(input_ids=tokens, attention_mask=keep)
        hidden, pooled = built(tokens, keep)
    real = keep.bool()
    assert torch.allclose(hidden[real], expected.last_hidden_state[real], rtol=0, atol=1e-5)
    assert torch.allclose(pooled[:2], expected.pooler_output[:2], rtol=0, atol=1e-5)
    with torch.no_grad():  # the left-padded sample's tokens read as the same tokens alone
        alone, _ = built(tokens[2:, 3:], keep[2:, 3:])
    assert torch.allclose(alone[0], hidden[2, 3:], rtol=0, atol=1e-10)


# A small BART: 4 heads of 8, two encoder and three decoder layers, positions for 40 tokens.
BART = {
    "vocab": 96,
    "d_model": 32,
    "encoder_layers": 2,
    "decoder_layers": 3,
    "heads": 4,
    "ffn": 48,
    "max_positions": 40,
}


def bart_config() -> Any:
    return transformers.BartConfig(
        vocab_size=BART["vocab"],
        d_model=BART["d_model"],
        encoder_layers=BART["encoder_layers"],
        decoder_layers=BART["decoder_layers"],
        encoder_attention_heads=BART["heads"],
        decoder_attention_heads=BART["heads"],
        encoder_ffn_dim=BART["ffn"],
        decoder_ffn_dim=BART["ffn"],
        max_position_embeddings=BART["max_positions"],
        attn_implementation="eager",
    )


@pytest.mark.slow
def test_bart_padded_batch_gives_the_same_logits() -> None:
    # the shared embedding tied to the LM head, positions from row 2 of each table, and
    # final_logits_bias loaded into its buffer; the padded positions of either side left out
    torch.manual_seed(5)
    reference = transformers.BartForConditionalGeneration(bart_config()).double().eval()
    with torch.no_grad():  # biases, norms and the logits' bias away from their initial values
        for name, parameter in reference.named_parameters():
            if name.endswith(".bias") or "layer_norm" in name or "layernorm" in name:
                parameter.uniform_(-0.5, 1.5)
        reference.final_logits_bias.uniform_(-1.0, 1.0)
    spec = str(ROOT / "specs" / "bart_base.arch")
    built = runtime.build(spec, "BartForConditionalGeneration", **BART).double().eval()
    built.load_state_dict(reference.state_dict(), strict=True)
    assert sorted(built.state_dict()) == sorted(reference.state_dict())
    assert built.lm_head.weight is built.model.shared.weight
    assert torch.equal(built.final_logits_bias, reference.final_logits_bias)
    tokens = torch.randint(3, BART["vocab"], (2, 12))
    keep = torch.ones(2, 12, dtype=torch.int64)
    keep[1, 9:] = 0  # the second source is 9 tokens long
    tokens[keep == 0] = 1  # <pad>
    targets = torch.randint(3, BART["vocab"], (2, 7))
    target_keep = torch.ones(2, 7, dtype=torch.int64)
    target_keep[1, 5:] = 0  # and its target 5
    with torch.no_grad():
        expected = reference(
            input_ids=tokens,
            attention_mask=keep,
            decoder_input_ids=targets,
            decoder_attention_mask=target_keep,
        ).logits
        got = built(tokens, keep, targets, target_keep)
    assert got.shape == expected.shape == (2, 7, BART["vocab"])
    assert torch.allclose(got[0], expected[0], rtol=0, atol=1e-10), (got - expected).abs().max()
    assert torch.allclose(got[1, :5], expected[1, :5], rtol=0, atol=1e-10)


# A small CLIP vision tower: 4 heads of 8, two layers, 8x8 patches of a 32x32 image.
CLIP = {"hidden": 32, "intermediate": 48, "layers": 2, "heads": 4, "image_size": 32, "patch": 8}


def clip_config() -> Any:
    return transformers.CLIPVisionConfig(
        hidden_size=CLIP["hidden"],
        intermediate_size=CLIP["intermediate"],
        num_hidden_layers=CLIP["layers"],
        num_attention_heads=CLIP["heads"],
        image_size=CLIP["image_size"],
        patch_size=CLIP["patch"],
        # CLIP's eager attention takes its softmax in float32 even in float64
        attn_implementation="sdpa",
    )


@pytest.mark.slow
def test_clip_vision_weights_give_the_same_hidden_states() -> None:
    torch.manual_seed(6)
    reference = transformers.CLIPVisionModel(clip_config()).double().eval()
    with torch.no_grad():  # biases and norms away from their initial zeros and ones
        for name, parameter in reference.named_parameters():
            if name.endswith(".bias") or "norm" in name:
                parameter.uniform_(-0.5, 1.5)
    spec = str(ROOT / "specs" / "clip_vit_b_32.arch")
    built = runtime.build(spec, "CLIPVisionModel", **CLIP).double().eval()
    built.load_state_dict(reference.state_dict(), strict=True)
    assert sorted(built.state_dict()) == sorted(reference.state_dict())
    images = torch.randn(2, 3, CLIP["image_size"], CLIP["image_size"], dtype=torch.float64)
    with torch.no_grad():
        expected = reference(pixel_values=images)
        hidden, pooled = built(images)
    assert hidden.shape == expected.last_hidden_state.shape == (2, 17, CLIP["hidden"])
    assert torch.allclose(hidden, expected.last_hidden_state, rtol=0, atol=1e-10)
    assert torch.allclose(pooled, expected.pooler_output, rtol=0, atol=1e-10)


# A small DeiT: 4 heads of 8, two layers, 8x8 patches of a 32x32 image, 5 classes.
DEIT = {
    "classes": 5,
    "hidden": 32,
    "intermediate": 48,
    "layers": 2,
    "heads": 4,
    "image_size": 32,
    "patch": 8,
}


def deit_config() -> Any:
    return transformers.DeiTConfig(
        hidden_size=DEIT["hidden"],
        intermediate_size=DEIT["intermediate"],
        num_hidden_layers=DEIT["layers"],
        num_attention_heads=DEIT["heads"],
        image_size=DEIT["image_size"],
        patch_size=DEIT["patch"],
        num_labels=DEIT["classes"],
        # DeiT's eager attention takes its softmax in float32 even in float64
        attn_implementation="sdpa",
    )


@pytest.mark.slow
def test_deit_distilled_weights_give_the_same_logits() -> None:
    # the class and distillation tokens' classifiers, and their average
    torch.manual_seed(7)
    reference = transformers.DeiTForImageClassificationWithTeacher(deit_config())
    reference = reference.double().eval()
    with torch.no_grad():  # the tokens, positions, biases and norms away from their zeros and ones
        for name, parameter in reference.named_parameters():
            if not name.endswith(".weight") or "norm" in name:
                parameter.uniform_(-0.5, 1.5)
    spec = str(ROOT / "specs" / "deit_base_distilled.arch")
    built = runtime.build(spec, "DeiTForImageClassificationWithTeacher", **DEIT).double().eval()
    built.load_state_dict(reference.state_dict(), strict=True)
    assert sorted(built.state_dict()) == sorted(reference.state_dict())
    images = torch.randn(2, 3, DEIT["image_size"], DEIT["image_size"], dtype=torch.float64)
    with torch.no_grad():
        expected = reference(pixel_values=images)
        got = built(images)
    wanted = (expected.logits, expected.cls_logits, expected.distillation_logits)
    for value, reference_value in zip(got, wanted, strict=True):
        assert value.shape == reference_value.shape == (2, DEIT["classes"])
        assert torch.allclose(value, reference_value, rtol=0, atol=1e-10)


# A small Whisper encoder: 16 mel bins over 48 frames, so 24 positions, 4 heads of 8, two layers.
WHISPER = {
    "mel_bins": 16,
    "d_model": 32,
    "layers": 2,
    "heads": 4,
    "ffn": 48,
    "max_source_positions": 24,
}


def whisper_config() -> Any:
    return transformers.WhisperConfig(
        num_mel_bins=WHISPER["mel_bins"],
        d_model=WHISPER["d_model"],
        encoder_layers=WHISPER["layers"],
        encoder_attention_heads=WHISPER["heads"],
        encoder_ffn_dim=WHISPER["ffn"],
        max_source_positions=WHISPER["max_source_positions"],
        # the decoder WhisperModel builds beside the encoder, small
        decoder_layers=1,
        decoder_attention_heads=WHISPER["heads"],
        decoder_ffn_dim=WHISPER["ffn"],
        vocab_size=64,
        max_target_positions=16,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        decoder_start_token_id=1,
        # Whisper's eager attention takes its softmax in float32 even in float64
        attn_implementation="sdpa",
    )


def whisper_encoder() -> Any:
    return transformers.WhisperModel(whisper_config()).encoder


@pytest.mark.slow
def test_whisper_encoder_weights_give_the_same_hidden_states() -> None:
    # WhisperModel's encoder: its frozen sinusoids load into the frozen table, and a fresh
    # module starts with the same sinusoids
    torch.manual_seed(8)
    reference = whisper_encoder().double().eval()
    with torch.no_grad():  # biases and norms away from their initial zeros and ones
        for name, parameter in reference.named_parameters():
            if name.endswith(".bias") or "norm" in name:
                parameter.uniform_(-0.5, 1.5)
    spec = str(ROOT / "specs" / "whisper_encoder.arch")
    built = runtime.build(spec, "WhisperEncoder", seed=0, **WHISPER).double().eval()
    sinusoids = reference.embed_positions.weight
    assert torch.allclose(built.embed_positions.weight, sinusoids, rtol=0, atol=1e-5)
    built.load_state_dict(reference.state_dict(), strict=True)
    assert sorted(built.state_dict()) == sorted(reference.state_dict())
    assert not built.embed_positions.weight.requires_grad
    frames = 2 * WHISPER["max_source_positions"]
    features = torch.randn(2, WHISPER["mel_bins"], frames, dtype=torch.float64)
    with torch.no_grad():
        expected = reference(input_features=features).last_hidden_state
        got = built(features)
    assert got.shape == expected.shape == (2, WHISPER["max_source_positions"], WHISPER["d_model"])
    assert torch.allclose(got, expected, rtol=0, atol=1e-10), (got - expected).abs().max()


# Small configurations of the other causal language models: two layers, heads 16 wide, each
# with what sets it apart from Qwen2 (spec -> its network, the spec's sizes, the config).
def llama_config(sizes: dict[str, Any]) -> Any:
    # grouped-query heads and Llama-3's rotary base
    return transformers.LlamaConfig(
        vocab_size=sizes["vocab"],
        hidden_size=sizes["d_model"],
        num_hidden_layers=sizes["layers"],
        num_attention_heads=sizes["heads"],
        num_key_value_heads=sizes["kv_heads"],
        intermediate_size=sizes["ffn"],
        rope_theta=sizes["theta"],
        rms_norm_eps=sizes["eps"],
        max_position_embeddings=64,
        eos_token_id=None,
        attn_implementation="eager",
    )


def gpt_neox_config(sizes: dict[str, Any]) -> Any:
    # a quarter of each head's features rotated, attention and MLP side by side
    rope = {"rope_type": "default", "rope_theta": sizes["theta"]}
    return transformers.GPTNeoXConfig(
        vocab_size=sizes["vocab"],
        hidden_size=sizes["d_model"],
        num_hidden_layers=sizes["layers"],
        num_attention_heads=sizes["heads"],
        intermediate_size=sizes["ffn"],
        rope_parameters={**rope, "partial_rotary_factor": sizes["rotary_pct"]},
        layer_norm_eps=sizes["eps"],
        max_position_embeddings=64,
        eos_token_id=None,
        attn_implementation="eager",
    )


def opt_config(sizes: dict[str, Any], attention: str = "eager") -> Any:
    # positions from row 2 of a table of max_positions + 2 rows, lm_head tied
    return transformers.OPTConfig(
        vocab_size=sizes["vocab"],
        hidden_size=sizes["d_model"],
        word_embed_proj_dim=sizes["d_model"],
        num_hidden_layers=sizes["layers"],
        num_attention_heads=sizes["heads"],
        ffn_dim=sizes["ffn"],
        max_position_embeddings=sizes["max_positions"],
        eos_token_id=None,
        attn_implementation=attention,
    )


def gemma_config(sizes: dict[str, Any]) -> Any:
    # heads 24 wide on a 64-wide model, norms scaling by 1 + weight, lm_head tied
    return transformers.GemmaConfig(
        vocab_size=sizes["vocab"],
        hidden_size=sizes["d_model"],
        num_hidden_layers=sizes["layers"],
        num_attention_heads=sizes["heads"],
        num_key_value_heads=sizes["kv_heads"],
        head_dim=sizes["head_dim"],
        intermediate_size=sizes["ffn"],
        rope_theta=sizes["theta"],
        rms_norm_eps=sizes["eps"],
        max_position_embeddings=64,
        eos_token_id=None,
        attn_implementation="eager",
    )


SMALL = {"vocab": 128, "d_model": 64, "layers": 2, "heads": 4}
DECODERS: dict[str, tuple[str, dict[str, Any], Any, Any]] = {
    "llama": (
        "Llama",
        {**SMALL, "kv_heads": 2, "ffn": 96, "theta": 500000.0, "eps": 1e-5},
        llama_config,
        transformers.LlamaForCausalLM,
    ),
    "gpt_neox": (
        "GPTNeoX",
        {**SMALL, "ffn": 96, "rotary_pct": 0.25, "theta": 10000.0, "eps": 1e-5},
        gpt_neox_config,
        transformers.GPTNeoXForCausalLM,
    ),
    "opt": (
        "OPT",
        {**SMALL, "ffn": 96, "max_positions": 40},
        opt_config,
        transformers.OPTForCausalLM,
    ),
    "gemma": (
        "Gemma",
        {**SMALL, "kv_heads": 2, "head_dim": 24, "ffn": 96, "theta": 10000.0, "eps": 1e-6},
        gemma_config,
        transformers.GemmaForCausalLM,
    ),
}


def decoder_model(spec: str) -> Any:
    """transformers' model of the spec's small configuration, freshly initialised."""
    _, sizes, config, model = DECODERS[spec]
    return model(config(sizes))


def decoder_pair(spec: str) -> tuple[Any, Any, dict[str, Any]]:
    """transformers' model of a small configuration in float64, eval mode, and the module
    compiled from the spec with the same sizes."""
    network, sizes, _, _ = DECODERS[spec]
    built = runtime.build(str(ROOT / "specs" / f"{spec}.arch"), network, **sizes)
    return decoder_model(spec).double().eval(), built.double().eval(), sizes


@pytest.mark.slow
@pytest.mark.parametrize("spec", sorted(DECODERS))
def test_causal_language_models_give_the_same_logits(spec: str) -> None:
    torch.manual_seed(5)
    reference, built, sizes = decoder_pair(spec)
    with torch.no_grad():  # biases and norms away from their initial values, so loading counts
        for name, parameter in reference.named_parameters():
            if name.endswith(".bias") or "norm" in name:
                parameter.uniform_(-0.5, 1.5)
    built.load_state_dict(reference.state_dict(), strict=True)
    assert sorted(built.state_dict()) == sorted(reference.state_dict())
    tokens = torch.randint(0, sizes["vocab"], (2, 12))
    with torch.no_grad():
        expected = reference(input_ids=tokens).logits
        got = built(tokens)
    assert got.shape == expected.shape == (2, 12, sizes["vocab"])
    # Llama's and Gemma's RMSNorms compute in float32 even in float64
    assert torch.allclose(got, expected, rtol=0, atol=1e-5), (got - expected).abs().max()


@pytest.mark.slow
@pytest.mark.parametrize("spec", sorted(DECODERS))
def test_causal_language_models_generate_hugging_faces_greedy_tokens(spec: str) -> None:
    torch.manual_seed(6)
    reference, built, sizes = decoder_pair(spec)
    with torch.no_grad():  # weights large enough that the greedy choices are not near ties
        for parameter in reference.parameters():
            parameter.normal_(0.0, 0.3)
    built.load_state_dict(reference.state_dict(), strict=True)
    prompt = torch.randint(0, sizes["vocab"], (2, 6))
    expected = reference.generate(
        prompt,
        attention_mask=torch.ones_like(prompt),
        max_new_tokens=12,
        do_sample=False,
        pad_token_id=0,
    )
    assert torch.equal(built.generate(prompt, max_new_tokens=12), expected)


# A small DistilBERT: 4 heads of 8, two layers, positions for 40 tokens.
DISTILBERT = {"vocab": 96, "d_model": 32, "layers": 2, "heads": 4, "ffn": 64, "max_positions": 40}


def distilbert_config() -> Any:
    return transformers.DistilBertConfig(
        vocab_size=DISTILBERT["vocab"],
        dim=DISTILBERT["d_model"],
        n_layers=DISTILBERT["layers"],
        n_heads=DISTILBERT["heads"],
        hidden_dim=DISTILBERT["ffn"],
        max_position_embeddings=DISTILBERT["max_positions"],
        attn_implementation="eager",
    )


@pytest.mark.slow
def test_distilbert_padded_batch_gives_the_same_hidden_states() -> None:
    torch.manual_seed(7)
    reference = transformers.DistilBertModel(distilbert_config()).double().eval()
    with torch.no_grad():  # biases and norms away from their initial zeros and ones
        for name, parameter in reference.named_parameters():
            if name.endswith(".bias") or "norm" in name.lower():
                parameter.uniform_(-0.5, 1.5)
    spec = str(ROOT / "specs" / "distilbert.arch")
    built = runtime.build(spec, "DistilBert", **DISTILBERT).double().eval()
    built.load_state_dict(reference.state_dict(), strict=True)
    assert sorted(built.state_dict()) == sorted(reference.state_dict())
    tokens = torch.randint(1, DISTILBERT["vocab"], (3, 10))
    keep = torch.ones(3, 10, dtype=torch.int64)
    keep[1, 7:] = 0  # padded at the end
    keep[2, :4] = 0  # and at the start
    tokens[keep == 0] = 0  # [PAD]
    with torch.no_grad():
        expected = reference(input_ids=tokens, attention_mask=keep).last_hidden_state
        got = built(tokens, keep)
    assert got.shape == expected.shape == (3, 10, DISTILBERT["d_model"])
    # every position, padding too: both attend from it to the same keys
    assert torch.allclose(got, expected, rtol=0, atol=1e-5), (got - expected).abs().max()


@pytest.mark.slow
def test_opt_padding_mask_numbers_positions_as_hugging_face() -> None:
    # a padded batch: archc's attention takes HF's (N, S) attention_mask as its mask, and the
    # positions count the tokens that are not padding from row 2 of the table, as OPT's
    # learned positions do, so a left-padded sample's tokens read as they do alone (HF's eager
    # attention gives NaN for a left-padded sample in float64, its SDPA attention does not)
    torch.manual_seed(8)
    reference = transformers.OPTForCausalLM(opt_config(DECODERS["opt"][1], "sdpa"))
    reference = reference.double().eval()
    with torch.no_grad():  # the table's rows apart, so a position one off shows
        reference.model.decoder.embed_positions.weight.normal_(0.0, 1.0)
    spec = ROOT / "tests" / "hf" / "opt_masked.arch"
    sizes = DECODERS["opt"][1]
    built = runtime.build(str(spec), "OPTMasked", **sizes).double().eval()
    built.load_state_dict(reference.state_dict(), strict=True)
    tokens = torch.randint(2, sizes["vocab"], (3, 9))
    keep = torch.ones(3, 9, dtype=torch.int64)
    keep[1, 6:] = 0  # padded at the end
    keep[2, :3] = 0  # and at the start
    tokens[keep == 0] = 1  # <pad>
    with torch.no_grad():
        expected = reference(input_ids=tokens, attention_mask=keep).logits
        got = built(tokens, keep)
        alone = built(tokens[2:, 3:], keep[2:, 3:])
    real = keep.bool()
    assert torch.allclose(got[real], expected[real], rtol=0, atol=1e-5)
    assert torch.allclose(alone[0], got[2, 3:], rtol=0, atol=1e-10)
