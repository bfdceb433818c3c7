"""The zoo's Hugging Face networks start out as Hugging Face initialises them.

Each model is built fresh, by transformers from a small configuration and by archc from the
spec with the same sizes, and every tensor the two name alike is compared as a sample of its
distribution: a tensor Hugging Face fills with one value must hold that value, and any other
must have its mean, standard deviation and shape of distribution (a normal's tails are not a
uniform's) within what sampling allows. The counts are small enough that a wrong scheme
(PyTorch's Kaiming-uniform default where Hugging Face draws N(0, 0.02)) is many times outside.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
import torch

from archc import api, runtime
from tests import test_hf_models as hf
from tests import test_hf_t5 as t5
from tests.conftest import ROOT

transformers = pytest.importorskip("transformers")

# Tensors with fewer values are compared only where Hugging Face fills them with one value.
SAMPLED = 256
# Excess kurtosis is compared from this many values: a normal's is 0, a uniform's -1.2.
SHAPED = 2000


def _kurtosis(values: torch.Tensor) -> float:
    centred = values - values.mean()
    return (centred**4).mean().item() / (centred**2).mean().item() ** 2 - 3.0


def _differences(expected: torch.Tensor, got: torch.Tensor) -> str | None:
    """How ``got`` is not drawn as ``expected`` was, or None."""
    expected, got = expected.double().flatten(), got.double().flatten()
    if torch.all(expected == expected[0]):
        return None if torch.all(got == expected[0]) else f"not all {expected[0].item():g}"
    if expected.numel() < SAMPLED:
        return None
    std, got_std = expected.std().item(), got.std().item()
    if not 0.85 < got_std / std < 1.15:
        return f"std {got_std:.4g}, expected {std:.4g}"
    error = std / expected.numel() ** 0.5
    if abs(got.mean().item() - expected.mean().item()) > 6 * error:
        return f"mean {got.mean().item():.4g}, expected {expected.mean().item():.4g}"
    if expected.numel() >= SHAPED and abs(_kurtosis(got) - _kurtosis(expected)) > 0.6:
        return f"excess kurtosis {_kurtosis(got):.2f}, expected {_kurtosis(expected):.2f}"
    return None


MODELS: dict[str, tuple[Callable[[], Any], str, str, dict[str, Any]]] = {
    "qwen2": (
        lambda: transformers.Qwen2ForCausalLM(hf.qwen2_config(True)),
        "qwen2.arch",
        "Qwen2",
        hf.SIZES,
    ),
    "olmoe": (
        lambda: transformers.OlmoeForCausalLM(hf.olmoe_config()),
        "olmoe.arch",
        "Olmoe",
        hf.OLMOE_SIZES,
    ),
    "albert": (
        lambda: transformers.AlbertModel(hf.albert_config()),
        "albert_base.arch",
        "AlbertBase",
        hf.ALBERT,
    ),
    "bloom": (
        lambda: transformers.BloomForCausalLM(hf.bloom_config()),
        "bloom.arch",
        "BloomForCausalLM",
        hf.BLOOM,
    ),
    "roberta": (
        lambda: transformers.RobertaModel(hf.roberta_config()),
        "roberta_base.arch",
        "RobertaBase",
        hf.ROBERTA,
    ),
    "bart": (
        lambda: transformers.BartForConditionalGeneration(hf.bart_config()),
        "bart_base.arch",
        "BartForConditionalGeneration",
        hf.BART,
    ),
    "clip": (
        lambda: transformers.CLIPVisionModel(hf.clip_config()),
        "clip_vit_b_32.arch",
        "CLIPVisionModel",
        hf.CLIP,
    ),
    "deit": (
        lambda: transformers.DeiTForImageClassificationWithTeacher(hf.deit_config()),
        "deit_base_distilled.arch",
        "DeiTForImageClassificationWithTeacher",
        hf.DEIT,
    ),
    "whisper_encoder": (
        hf.whisper_encoder,
        "whisper_encoder.arch",
        "WhisperEncoder",
        hf.WHISPER,
    ),
    "t5_encoder": (t5.t5_encoder, "t5_encoder.arch", "T5Encoder", t5.SIZES),
    "t5": (
        lambda: t5.t5(tied=True),
        "t5.arch",
        "T5ForConditionalGeneration",
        {**t5.SIZES, "decoder_layers": t5.DECODER_LAYERS},
    ),
    "distilbert": (
        lambda: transformers.DistilBertModel(hf.distilbert_config()),
        "distilbert.arch",
        "DistilBert",
        hf.DISTILBERT,
    ),
    **{
        spec: (partial(hf.decoder_model, spec), f"{spec}.arch", network, sizes)
        for spec, (network, sizes, _, _) in hf.DECODERS.items()
    },
}


@pytest.mark.parametrize("model", sorted(MODELS))
def test_the_zoo_starts_as_hugging_face_initialises(model: str) -> None:
    make, spec, network, sizes = MODELS[model]
    torch.manual_seed(0)
    reference = make().state_dict()
    built = runtime.build(str(ROOT / "specs" / spec), network, seed=0, **sizes).state_dict()
    assert sorted(built) == sorted(reference)
    found = {key: _differences(reference[key], built[key]) for key in reference}
    assert not {key: why for key, why in found.items() if why}


@pytest.mark.parametrize("model", sorted(MODELS))
def test_padding_rows_start_at_zero_on_both_sides(model: str) -> None:
    """Hugging Face zeroes the padding row of each embedding that has one after drawing the
    others (RoBERTa's words and positions, ALBERT's and OLMoE's words); the static model
    says the same rows stay zero, and both built models hold exactly zero there."""
    make, spec, network, sizes = MODELS[model]
    torch.manual_seed(0)
    reference = make()
    padded = {
        f"{path}.weight": module.padding_idx
        for path, module in reference.named_modules()
        if isinstance(module, torch.nn.Embedding) and module.padding_idx is not None
    }
    (static,), _ = api.analyse(str(ROOT / "specs" / spec), network, sizes)
    kept = {
        f"{static.weights_path(a.node.path)}.{a.parameter}": zero[a.parameter][1]
        for a in static.inits
        if a.parameter in (zero := a.node.resolved.get("zero_rows", {}))
    }
    assert kept == padded
    built = runtime.build(str(ROOT / "specs" / spec), network, seed=0, **sizes).state_dict()
    for state in (reference.state_dict(), built):
        assert all(torch.all(state[key][row] == 0) for key, row in padded.items())


def test_the_comparison_tells_schemes_apart() -> None:
    torch.manual_seed(0)
    normal = torch.empty(64, 64).normal_(0.0, 0.02)
    assert _differences(normal, torch.empty(64, 64).normal_(0.0, 0.02)) is None
    assert "std" in str(_differences(normal, torch.empty(64, 64).normal_(0.0, 0.03)))
    assert "mean" in str(_differences(normal, torch.empty(64, 64).normal_(0.005, 0.02)))
    uniform = torch.empty(64, 64).uniform_(-(0.02 * 3**0.5), 0.02 * 3**0.5)  # std 0.02
    assert "kurtosis" in str(_differences(normal, uniform))
    assert "not all 0" in str(_differences(torch.zeros(8), torch.full((8,), 1e-3)))
