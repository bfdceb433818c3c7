"""T5: Hugging Face's checkpoints load into the compiled zoo networks unchanged and compute the
same hidden states and logits.

`transformers.T5EncoderModel`, built from a small `T5Config` with random weights (seeded; no
download), hands its state_dict to the module compiled from specs/t5_encoder.arch with the same
sizes: `load_state_dict(strict=True)`, no key converted. Both run a padded batch with its
attention mask in float64 in eval mode, and the hidden states of the tokens that are not padding
must agree within 1e-5 (T5's norm computes in float32 even in float64). So must the logits of
`T5ForConditionalGeneration` and specs/t5.arch on padded sources and targets. transformers is not a
dependency of archc, so this module skips where it is not installed.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from archc import runtime
from tests.conftest import ROOT

transformers = pytest.importorskip("transformers")

# A small T5: 4 heads of width 8 over a 32-wide model (d_kv given, as T5 gives it), three
# layers, 8 buckets reaching 20 positions, so that a 12-token sequence reaches the log-spaced
# buckets and the last one.
SIZES = {
    "vocab": 64,
    "d_model": 32,
    "layers": 3,
    "heads": 4,
    "d_kv": 8,
    "d_ff": 48,
    "buckets": 8,
    "max_distance": 20,
}


def t5_encoder() -> Any:
    config = transformers.T5Config(
        vocab_size=SIZES["vocab"],
        d_model=SIZES["d_model"],
        d_kv=SIZES["d_kv"],
        d_ff=SIZES["d_ff"],
        num_layers=SIZES["layers"],
        num_heads=SIZES["heads"],
        relative_attention_num_buckets=SIZES["buckets"],
        relative_attention_max_distance=SIZES["max_distance"],
        attn_implementation="eager",
    )
    return transformers.T5EncoderModel(config).double().eval()


@pytest.mark.slow
def test_t5_encoder_weights_give_the_same_hidden_states() -> None:
    torch.manual_seed(0)
    reference = t5_encoder()
    with torch.no_grad():  # norms away from their initial ones, so that loading them counts
        for name, parameter in reference.named_parameters():
            if name.endswith("layer_norm.weight"):
                parameter.uniform_(0.5, 1.5)
    spec = str(ROOT / "specs" / "t5_encoder.arch")
    built = runtime.build(spec, "T5Encoder", **SIZES).double().eval()
    built.load_state_dict(reference.state_dict(), strict=True)
    assert sorted(built.state_dict()) == sorted(reference.state_dict())
    assert built.encoder.embed_tokens.weight is built.shared.weight
    tokens = torch.randint(0, SIZES["vocab"], (2, 12))
    keep = torch.ones(2, 12, dtype=torch.int64)
    keep[1, 9:] = 0  # the second sample is 9 tokens long
    with torch.no_grad():
        expected = reference(input_ids=tokens, attention_mask=keep).last_hidden_state
        got = built(tokens, keep)
    assert got.shape == expected.shape == (2, 12, SIZES["d_model"])
    assert torch.allclose(got[0], expected[0], rtol=0, atol=1e-5), (got - expected).abs().max()
    assert torch.allclose(got[1, :9], expected[1, :9], rtol=0, atol=1e-5)


# fewer decoder layers than encoder layers, so that each stack's count is its own
DECODER_LAYERS = 2


def t5(tied: bool) -> Any:
    config = transformers.T5Config(
        vocab_size=SIZES["vocab"],
        d_model=SIZES["d_model"],
        d_kv=SIZES["d_kv"],
        d_ff=SIZES["d_ff"],
        num_layers=SIZES["layers"],
        num_decoder_layers=DECODER_LAYERS,
        num_heads=SIZES["heads"],
        relative_attention_num_buckets=SIZES["buckets"],
        relative_attention_max_distance=SIZES["max_distance"],
        tie_word_embeddings=tied,
        attn_implementation="eager",
    )
    return transformers.T5ForConditionalGeneration(config).double().eval()


@pytest.mark.slow
@pytest.mark.parametrize("tied", [True, False], ids=["tied", "untied"])
def test_t5_weights_give_the_same_logits(tied: bool) -> None:
    # T5 1.0 ties its LM head to the shared embedding and scales the decoder's output by
    # d_model ** -0.5; T5 1.1 (tie_word_embeddings=False) does neither. transformers 5 ties the
    # two tensors either way, so the untied module is given one value under both keys here.
    torch.manual_seed(1)
    reference = t5(tied)
    with torch.no_grad():  # norms away from their initial ones, so that loading them counts
        for name, parameter in reference.named_parameters():
            if name.endswith("layer_norm.weight"):
                parameter.uniform_(0.5, 1.5)
    spec = str(ROOT / "specs" / "t5.arch")
    sizes = {**SIZES, "decoder_layers": DECODER_LAYERS, "tie_word_embeddings": tied}
    built = runtime.build(spec, "T5ForConditionalGeneration", **sizes).double().eval()
    built.load_state_dict(reference.state_dict(), strict=True)
    assert sorted(built.state_dict()) == sorted(reference.state_dict())
    assert (built.lm_head.weight is built.shared.weight) == tied
    assert built.decoder.embed_tokens.weight is built.shared.weight
    tokens = torch.randint(0, SIZES["vocab"], (2, 12))
    keep = torch.ones(2, 12, dtype=torch.int64)
    keep[1, 9:] = 0  # the second source is 9 tokens long
    targets = torch.randint(0, SIZES["vocab"], (2, 7))
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
    assert got.shape == expected.shape == (2, 7, SIZES["vocab"])
    assert torch.allclose(got[0], expected[0], rtol=0, atol=1e-5), (got - expected).abs().max()
    assert torch.allclose(got[1, :5], expected[1, :5], rtol=0, atol=1e-5)
