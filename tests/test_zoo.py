"""The architecture zoo (specs/) against the numbers of the reference implementations.

Everything here is static: specs are elaborated, never built (tests/test_codegen.py builds every
zoo spec and runs it). Counts, buffers and shapes come from tests/reference/reference.json and
state_dict keys from tests/reference/torchvision_state_dicts/, both measured with real torch and
torchvision; where no reference measured a model, the expected count is derived here from the
paper's layer sizes, term by term.
"""

from __future__ import annotations

import json
import math
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from archc import api, dims
from archc.cli import main
from archc.semantics.ir import Network
from tests.conftest import REFERENCE, ROOT

SPECS = ROOT / "specs"
ZOO = sorted(SPECS.glob("*.arch"))
LIBRARY = sorted((SPECS / "blocks").glob("*.arch"))

# torchvision model -> its spec's network; every one has reference numbers and a state_dict file.
TORCHVISION = {
    "alexnet": "AlexNet",
    "vgg16": "VGG16",
    "googlenet": "GoogLeNet",
    "resnet18": "ResNet18",
    "resnet50": "ResNet50",
    "densenet121": "DenseNet121",
    "vit_b_16": "ViTB16",
}


@cache
def reference() -> dict[str, Any]:
    path = REFERENCE / "reference.json"
    models: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))["models"]
    return models


def torchvision_state_dict(model: str, path: Path | None = None) -> dict[str, tuple[int, ...]]:
    path = path or REFERENCE / "torchvision_state_dicts" / f"{model}.txt"
    keys = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, shape = line.split(" ", 1)
        keys[key] = tuple(int(d) for d in shape.strip("[]").split(",") if d.strip())
    return keys


def networks(spec: str, **overrides: Any) -> dict[str, Network]:
    found, diagnostics = api.analyse(str(SPECS / spec), overrides=overrides or None)
    assert not [d for d in diagnostics if d.is_error], diagnostics
    return {network.name: network for network in found}


def network(spec: str, name: str, **overrides: Any) -> Network:
    return networks(spec, **overrides)[name]


def state(net: Network) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v) for k, v in {**net.parameters(), **net.buffers()}.items()}


def params_under(net: Network, prefix: str) -> int:
    """Parameters whose state_dict key starts with `prefix`, tied copies included."""
    return sum(math.prod(s) for k, s in net.parameters().items() if k.startswith(prefix))


def output_shape(net: Network, output: str, **sizes: int) -> list[int]:
    """The output's shape with the batch and symbolic sizes given (the batch is 1 unless N is)."""
    values = {dims.BATCH_NAME: sizes.pop("N", 1), **sizes}
    return [dims.evaluate(d, values) for d in net.type_of(net.outputs[output]).shape]


def linear(fan_in: int, fan_out: int, bias: bool = True) -> int:
    return fan_in * fan_out + (fan_out if bias else 0)


def conv(c_in: int, c_out: int, kernel: int, bias: bool = True) -> int:
    return c_in * c_out * kernel * kernel + (c_out if bias else 0)


# --- every spec ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ZOO + LIBRARY, ids=lambda p: str(p.relative_to(SPECS)))
def test_spec_checks_without_diagnostics(path: Path) -> None:
    found, diagnostics = api.analyse(str(path))
    assert diagnostics == [], [d.message for d in diagnostics]
    for net in found:
        net.verify()
    assert found or path in LIBRARY, "a zoo spec defines at least one network"


@pytest.mark.parametrize("path", ZOO + LIBRARY, ids=lambda p: str(p.relative_to(SPECS)))
def test_spec_is_formatted(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fmt", "--check", str(path)]) == 0, capsys.readouterr().err


@pytest.mark.parametrize("path", ZOO, ids=lambda p: p.name)
def test_spec_cites_its_paper(path: Path) -> None:
    header = path.read_text(encoding="utf-8").split("\n\n", 1)[0]
    assert header.startswith("# ") and '"' in header, "the header comment names the paper"


# --- torchvision -----------------------------------------------------------------------------


@pytest.mark.parametrize("model", TORCHVISION)
def test_torchvision_counts_and_output(model: str) -> None:
    expected = reference()[model]
    net = network(f"{model}.arch", TORCHVISION[model])
    assert net.param_count == expected["params"]
    assert net.buffer_count == expected["buffers"]
    assert len(net.parameters()) == expected["param_tensors"]
    assert [1, *net.type_of(net.inputs["image"]).shape[1:]] == expected["input_shape"]
    assert output_shape(net, "logits") == expected["output_shape"]


@pytest.mark.parametrize("model", TORCHVISION)
def test_torchvision_state_dict_key_for_key(model: str) -> None:
    assert state(network(f"{model}.arch", TORCHVISION[model])) == torchvision_state_dict(model)


# torchvision models measured beside these tests (tests/torchvision_reference/) -> (spec, network,
# output); tests/reference/ stays a copy of the shared reference data
MEASURED = {
    "mobilenet_v3_large": ("mobilenet_v3_large.arch", "MobileNetV3Large", "logits"),
    "lraspp_mobilenet_v3_large": (
        "lraspp_mobilenet_v3_large.arch",
        "LRASPPMobileNetV3Large",
        "masks",
    ),
    "efficientnet_v2_s": ("efficientnet_v2_s.arch", "EfficientNetV2S", "logits"),
    "convnext_tiny": ("convnext_tiny.arch", "ConvNeXtTiny", "logits"),
    "shufflenet_v2_x1_0": ("shufflenet_v2_x1_0.arch", "ShuffleNetV2X1_0", "logits"),
    "regnet_y_400mf": ("regnet_y_400mf.arch", "RegNetY400MF", "logits"),
    "squeezenet1_1": ("squeezenet1_1.arch", "SqueezeNet1_1", "logits"),
    "mnasnet1_0": ("mnasnet1_0.arch", "MNASNet1_0", "logits"),
    "resnext50_32x4d": ("resnext50_32x4d.arch", "ResNeXt50_32x4d", "logits"),
    "wide_resnet50_2": ("wide_resnet50_2.arch", "WideResNet50_2", "logits"),
}
MEASURED_REFERENCE = ROOT / "tests" / "torchvision_reference"


@pytest.mark.parametrize("model", MEASURED)
def test_measured_torchvision_networks_match_key_for_key(model: str) -> None:
    spec, name, output = MEASURED[model]
    path = MEASURED_REFERENCE / "reference.json"
    expected = json.loads(path.read_text(encoding="utf-8"))[model]
    _, _, *size = expected["input_shape"]
    net = network(spec, name)
    assert net.param_count == expected["params"]
    assert net.buffer_count == expected["buffers"]
    assert len(net.parameters()) == expected["param_tensors"]
    sizes = dict(zip(("H", "W"), size, strict=True))
    assert output_shape(net, output, **sizes) == expected["output_shape"]
    keys = torchvision_state_dict(model, MEASURED_REFERENCE / f"{model}.txt")
    assert state(net) == keys


def test_lraspp_scores_every_pixel_of_any_image() -> None:
    net = network("lraspp_mobilenet_v3_large.arch", "LRASPPMobileNetV3Large")
    assert [str(d) for d in net.type_of(net.inputs["image"]).shape[2:]] == ["H", "W"]
    for height, width in ((520, 520), (224, 224), (97, 130)):
        assert output_shape(net, "masks", H=height, W=width) == [1, 21, height, width]


# torchvision's swin_v2_t, measured beside the mobile networks (tests/torchvision_reference/)
SWIN = ROOT / "tests" / "torchvision_reference"


def test_swin_v2_t_matches_torchvision_key_for_key() -> None:
    measured = json.loads((SWIN / "swin_v2_t_reference.json").read_text(encoding="utf-8"))
    expected = measured["swin_v2_t"]
    net = network("swin_v2_t.arch", "SwinV2T")
    assert net.param_count == net.trainable_count == expected["params"]
    assert len(net.parameters()) == expected["param_tensors"]
    # the saved buffers are torchvision's; the attention masks are kept out of the state_dict
    assert sum(math.prod(shape) for shape in net.buffers().values()) == expected["buffers"]
    assert net.buffer_count > expected["buffers"]
    assert output_shape(net, "logits") == expected["output_shape"]
    keys = {}
    for line in (SWIN / "swin_v2_t_state_dict.txt").read_text(encoding="utf-8").splitlines():
        key, shape = line.split(" ", 1)
        keys[key] = tuple(int(d) for d in shape.strip("[]").split(",") if d.strip())
    assert state(net) == keys
    smaller = network("swin_v2_t.arch", "SwinV2T", image_size=224)
    assert output_shape(smaller, "logits") == expected["output_shape_224"]
    assert smaller.param_count == expected["params"]


def test_resnets_use_the_block_library() -> None:
    for spec in ("resnet18.arch", "resnet50.arch"):
        text = (SPECS / spec).read_text(encoding="utf-8")
        assert 'use "blocks/resnet.arch"' in text and "block " not in text


# --- language models -------------------------------------------------------------------------


def test_gpt2_small_matches_the_reference() -> None:
    net = network("gpt2.arch", "GPT2")
    assert net.param_count == reference()["gpt2_small_plain_tied"]["params"]
    # without the tie, lm_head would hold a second copy of the embedding
    untied = net.param_count + math.prod(net.parameters()["lm_head.weight"])
    assert untied == reference()["gpt2_small_plain_untied"]["params"]
    assert net.buffer_count == reference()["gpt2_small_plain_tied"]["buffers"]
    assert (
        output_shape(net, "logits", T=1024) == reference()["gpt2_small_plain_tied"]["output_shape"]
    )
    assert net.parameters()["wpe.weight"] == (1024, 768)


@pytest.mark.parametrize(
    ("layers", "d_model", "heads"),
    [(12, 768, 12), (24, 1024, 16), (36, 1280, 20), (48, 1600, 25)],
    ids=["small", "medium", "large", "xl"],
)
def test_gpt2_sizes_follow_the_layer_formula(layers: int, d_model: int, heads: int) -> None:
    net = network("gpt2.arch", "GPT2", layers=layers, d_model=d_model, heads=heads)
    vocab, context, d = 50257, 1024, d_model
    block = (
        2 * d  # ln_1
        + linear(d, 3 * d)  # attention's fused q, k, v
        + linear(d, d)  # attention's output projection
        + 2 * d  # ln_2
        + linear(d, 4 * d)
        + linear(4 * d, d)
    )
    assert net.param_count == vocab * d + context * d + layers * block + 2 * d


# Figures measured with transformers 5.25 (Qwen2ForCausalLM and OlmoeForCausalLM on the meta
# device): Qwen2-0.5B (tied lm_head), Qwen2-7B (untied) and OLMoE-1B-7B, their configs, and
# Qwen2-0.5B's and OLMoE-1B-7B's state_dict keys in transformers' order, one `key [shape]` line
# each (the tied lm_head.weight is a key of its own).
HF = ROOT / "tests" / "hf"


@cache
def hf_reference(family: str = "qwen2") -> dict[str, Any]:
    path = HF / f"{family}_reference.json"
    models: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return models


def hf_state_dict(model: str) -> dict[str, tuple[int, ...]]:
    path = HF / f"{model}_state_dict.txt"
    keys = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        key, shape = line.split(" ", 1)
        keys[key] = tuple(int(d) for d in shape.strip("[]").split(","))
    return keys


def test_qwen2_matches_hugging_face_key_for_key() -> None:
    net = network("qwen2.arch", "Qwen2")
    measured = hf_reference()["qwen2_0_5b"]
    assert net.param_count == measured["params"]
    assert output_shape(net, "logits", T=16) == measured["output_shape"]
    # the tied lm_head.weight is a state_dict key of its own, as in Hugging Face's module
    assert state(net) == hf_state_dict("qwen2_0_5b")
    assert len(net.parameters()) == measured["state_dict_keys"]


def test_qwen2_untied_7b_matches_hugging_face() -> None:
    measured = hf_reference()["qwen2_7b"]
    config = measured["config"]
    net = network(
        "qwen2.arch",
        "Qwen2Untied",
        vocab=config["vocab_size"],
        d_model=config["hidden_size"],
        layers=config["num_hidden_layers"],
        heads=config["num_attention_heads"],
        kv_heads=config["num_key_value_heads"],
        ffn=config["intermediate_size"],
    )
    assert net.param_count == measured["params"]
    assert len(net.parameters()) == measured["state_dict_keys"]
    assert output_shape(net, "logits", T=16) == measured["output_shape"]


def test_olmoe_matches_hugging_face_key_for_key() -> None:
    net = network("olmoe.arch", "Olmoe")
    measured = hf_reference("olmoe")["olmoe_1b_7b"]
    assert net.param_count == measured["params"]
    assert output_shape(net, "logits", T=16) == measured["output_shape"]
    assert state(net) == hf_state_dict("olmoe_1b_7b")


# Measured the same way: each network at its config's default sizes, against the spec's
# defaults (family -> spec's network, model, output).
HF_DEFAULTS = {
    "llama": ("Llama", "llama_2_7b", "logits"),
    "gpt_neox": ("GPTNeoX", "gpt_neox_20b", "logits"),
    "distilbert": ("DistilBert", "distilbert_base", "last_hidden_state"),
    "opt": ("OPT", "opt_125m", "logits"),
    "gemma": ("Gemma", "gemma_7b", "logits"),
}


@pytest.mark.parametrize("family", HF_DEFAULTS)
def test_hugging_face_defaults_match_key_for_key(family: str) -> None:
    name, model, output = HF_DEFAULTS[family]
    net = network(f"{family}.arch", name)
    measured = hf_reference(family)[model]
    assert net.param_count == measured["params"]
    # a tied lm_head.weight is a state_dict key of its own, as in Hugging Face's module
    assert len(net.parameters()) == measured["state_dict_keys"]
    assert state(net) == hf_state_dict(model)
    _, length = measured["input_shape"]
    assert output_shape(net, output, T=length) == measured["output_shape"]


def test_olmoe_macs_count_the_chosen_experts_only() -> None:
    # per token: attention, the router, 8 of the 64 experts' gated MLPs, and the RMSNorms
    # (3 MACs per feature: square, scale, weight)
    net = network("olmoe.arch", "Olmoe")
    d, ffn, layers, vocab, t = 2048, 1024, 16, 50304, 16
    attention = 4 * d * d + 2 * t * d  # projections, then QK^T and AV over t keys
    mixture = d * 64 + 8 * 3 * d * ffn
    norms = 4 * 3 * d  # input_layernorm, q_norm, k_norm, post_attention_layernorm
    per_token = layers * (attention + mixture + norms) + 3 * d + d * vocab
    assert dims.evaluate(net.macs, {"T": t}) == t * per_token
    # every expert's weights count as parameters, 8 times what a token runs through
    experts = params_under(net, "model.layers.0.mlp.experts.")
    assert experts == 64 * 3 * d * ffn


def test_bloom_560m_matches_hugging_face() -> None:
    # transformers 5.25's BloomModel for BLOOM-560M on the meta device: 559,214,592 parameters
    # in 293 state_dict keys; BloomForCausalLM ties its lm_head to word_embeddings
    vocab, width, layers = 250880, 1024, 24
    norm = 2 * width
    layer = 2 * norm + linear(width, 3 * width) + linear(width, width)
    layer += linear(width, 4 * width) + linear(4 * width, width)
    expected = vocab * width + norm + layers * layer + norm
    assert expected == 559_214_592
    bloom = networks("bloom.arch")
    model, causal_lm = bloom["Bloom"], bloom["BloomForCausalLM"]
    assert model.param_count == causal_lm.param_count == expected
    assert len(model.parameters()) == 293
    assert "h.23.self_attention.query_key_value.weight" in model.parameters()
    assert {f"transformer.{key}" for key in model.parameters()} | {"lm_head.weight"} == set(
        causal_lm.parameters()
    )
    assert output_shape(causal_lm, "logits", T=16) == [1, 16, vocab]


def test_bert_base_matches_the_reference() -> None:
    net = network("bert_base.arch", "BertBase")
    with_pooler, without = reference()["bert_base_plain"], reference()["bert_base_plain_no_pooler"]
    assert net.param_count == with_pooler["params"]
    assert net.param_count - params_under(net, "pooler.") == without["params"]
    # Hugging Face also registers the position_ids and token_type_ids index tensors as
    # buffers (2 x 512); the spec has no such buffers.
    assert net.buffer_count == 0
    n, t = with_pooler["input_shape"]
    assert (
        output_shape(net, "last_hidden_state", N=n) == with_pooler["outputs"]["last_hidden_state"]
    )
    assert output_shape(net, "pooler_output", N=n) == with_pooler["outputs"]["pooler_output"]
    assert net.type_of(net.inputs["input_ids"]).shape[1] == t


def test_roberta_base_matches_hugging_face() -> None:
    # transformers 5.25's RobertaModel for roberta-base on the meta device: 124,645,632
    # parameters in 199 state_dict keys (its position_ids and token_type_ids buffers are not
    # persistent)
    vocab, width, layers, positions = 50265, 768, 12, 514
    norm = 2 * width
    layer = 3 * linear(width, width) + linear(width, width) + norm
    layer += linear(width, 4 * width) + linear(4 * width, width) + norm
    embeddings = (vocab + 1 + positions) * width + norm
    expected = embeddings + layers * layer + linear(width, width)
    assert expected == 124_645_632
    net = network("roberta_base.arch", "RobertaBase")
    assert net.param_count == expected
    assert len(net.parameters()) == 199 and net.buffer_count == 0
    assert net.parameters()["encoder.layer.11.attention.self.query.weight"] == (width, width)
    assert net.parameters()["encoder.layer.11.attention.output.dense.weight"] == (width, width)
    assert output_shape(net, "last_hidden_state", N=2, T=7) == [2, 7, width]
    assert output_shape(net, "pooler_output", N=2, T=7) == [2, width]


def test_transformer_stacks_match_torch() -> None:
    torch = pytest.importorskip("torch")
    net = network("transformer.arch", "Transformer", final_norm=True)
    stacks = {k: s for k, s in state(net).items() if k.startswith(("encoder.", "decoder."))}
    expected = reference()["transformer_512_8_6_6_2048"]
    assert sum(math.prod(s) for s in stacks.values()) == expected["params"]
    assert len(stacks) == expected["param_tensors"]
    model = torch.nn.Transformer(512, 8, 6, 6, 2048, batch_first=True, device="meta")
    assert stacks == {k: tuple(v.shape) for k, v in model.state_dict().items()}


def test_transformer_layers_match_the_reference() -> None:
    net = network("transformer.arch", "Transformer")
    layer = reference()["transformer_encoder_layer_512_8_2048"]["params"]
    assert params_under(net, "encoder.layers.0.") == layer
    attention = reference()["multihead_attention_512_8"]["params"]
    assert params_under(net, "encoder.layers.0.self_attn.") == attention
    assert params_under(net, "decoder.layers.0.multihead_attn.") == attention


def test_transformer_base_counts_one_shared_embedding() -> None:
    net = network("transformer.arch", "Transformer")
    stacks = reference()["transformer_512_8_6_6_2048"]["params"]
    final_norms = 2 * 2 * 512  # nn.Transformer's, which the paper's model has not
    assert net.param_count == 37000 * 512 + stacks - final_norms
    assert network("transformer.arch", "Transformer", final_norm=True).param_count == (
        37000 * 512 + stacks
    )
    assert set(net.tied_targets()) == {"tgt_embed.weight", "generator.weight"}


def test_lstm_tagger_recurrent_layer_matches_the_reference() -> None:
    net = network("lstm_tagger.arch", "LSTMTagger")
    expected = reference()["lstm_i100_h256_l2_bi"]
    assert params_under(net, "lstm.") == expected["params"]
    batch, steps, _ = expected["input_shape"]
    assert output_shape(net, "tag_scores", N=batch, T=steps) == [*expected["output_shape"][:2], 17]


def test_gru_tagger_recurrent_layer_matches_the_reference() -> None:
    net = network("gru_tagger.arch", "GRUTagger")
    assert params_under(net, "gru.") == reference()["gru_i128_h64_l1"]["params"]
    two_way = network("gru_tagger.arch", "GRUTagger", bidirectional=True, layers=2)
    hidden = 64
    second = 2 * (3 * hidden * (2 * hidden + hidden) + 6 * hidden)
    assert params_under(two_way, "gru.") == 2 * reference()["gru_i128_h64_l1"]["params"] + second


def lstm_params(inputs: int, hidden: int, layers: int) -> int:
    """nn.LSTM's count: per layer, four gates' input and hidden weights and two biases."""
    widths = [inputs] + [hidden] * (layers - 1)
    return sum(4 * hidden * (width + hidden) + 2 * 4 * hidden for width in widths)


def test_word_lm_counts_encoder_lstm_and_decoder() -> None:
    untied, tied = networks("word_lm.arch").values()
    words = 33278
    assert untied.param_count == (
        words * 200 + lstm_params(200, 200, 2) + linear(200, words)
    )  # 13,987,678
    assert tied.param_count == words * 650 + lstm_params(650, 650, 2) + words  # the bias
    assert set(tied.tied_targets()) == {"decoder.weight"}
    for net in (untied, tied):
        width = net.parameters()["decoder.weight"][1]
        assert output_shape(net, "log_probs", N=4, T=35) == [4, 35, words]
        assert output_shape(net, "h", N=4) == output_shape(net, "c", N=4) == [4, 2, width]
        assert [net.type_of(net.inputs[name]).shape[1:] for name in ("h0", "c0")] == [
            (2, width),
            (2, width),
        ]


def test_word2vec_models_hold_two_vocab_by_dim_matrices() -> None:
    for net in networks("word2vec.arch").values():
        assert net.param_count == 2 * 30000 * 300
        assert set(net.parameters()) == {"in_vectors.weight", "out_vectors.weight"}


# --- generative models and autoencoders ------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "model"), [("Generator", "gan_generator"), ("Discriminator", "gan_discriminator")]
)
def test_mlp_gan_matches_the_reference(name: str, model: str) -> None:
    expected = reference()[model]
    net = network("gan_mlp.arch", name)
    assert net.param_count == expected["params"]
    assert len(net.parameters()) == expected["param_tensors"]
    (output,) = net.outputs
    assert output_shape(net, output, N=expected["input_shape"][0]) == expected["output_shape"]


def test_dcgan_pair() -> None:
    pair = networks("dcgan.arch")
    generator, discriminator = pair["Generator"], pair["Discriminator"]
    # 4x4 kernels without bias, each followed by a batch norm's scale and shift
    blocks = [100, 512, 256, 128, 64]
    expected = sum(conv(a, b, 4, bias=False) + 2 * b for a, b in pairwise(blocks))
    assert generator.param_count == expected + conv(64, 3, 4, bias=False)
    blocks = [64, 128, 256, 512]
    expected = sum(conv(a, b, 4, bias=False) + 2 * b for a, b in pairwise(blocks))
    first, last = conv(3, 64, 4, bias=False), conv(512, 1, 4, bias=False)
    assert discriminator.param_count == first + expected + last
    assert output_shape(generator, "image") == [1, 3, 64, 64]
    assert output_shape(discriminator, "p_real") == [1, 1]


def test_stacked_autoencoder_pairs_are_addressable() -> None:
    net = network("autoencoder.arch", "StackedAutoencoder")
    sizes = [784, 1000, 500, 250, 30]
    for k in range(1, len(sizes)):
        below, above = sizes[k - 1], sizes[k]
        assert net.parameters()[f"encoder.layer{k}.fc.weight"] == (above, below)
        assert net.parameters()[f"decoder.layer{k}.fc.weight"] == (below, above)
    assert net.param_count == sum(linear(a, b) + linear(b, a) for a, b in pairwise(sizes))
    assert output_shape(net, "code") == [1, 30]
    assert output_shape(net, "reconstruction") == [1, 784]


# --- vision models without a torchvision reference -------------------------------------------


def test_nin_cifar10() -> None:
    net = network("nin.arch", "NiN")
    mlpconvs = [(3, 192, 160, 96, 5), (96, 192, 192, 192, 5), (192, 192, 192, 10, 3)]
    expected = sum(
        conv(c_in, a, k) + conv(a, b, 1) + conv(b, c, 1) for c_in, a, b, c, k in mlpconvs
    )
    assert net.param_count == expected
    assert output_shape(net, "logits") == [1, 10]


@pytest.mark.parametrize(("height", "width"), [(224, 224), (512, 384)])
def test_fcn8s_scores_every_pixel(height: int, width: int) -> None:
    net = network("fcn8s.arch", "FCN8s", height=height, width=width)
    assert output_shape(net, "scores") == [1, 21, height, width]
    vgg16_convs = reference()["vgg16"]["params"] - params_under(
        network("vgg16.arch", "VGG16"), "classifier."
    )
    classes = 21
    head = (
        conv(512, 4096, 7)  # fc6
        + conv(4096, 4096, 1)  # fc7
        + conv(4096, classes, 1)  # score_fr
        + conv(512, classes, 1)  # score_pool4
        + conv(256, classes, 1)  # score_pool3
        + 2 * conv(classes, classes, 4, bias=False)  # upscore2, upscore_pool4
        + conv(classes, classes, 16, bias=False)  # upscore8
    )
    assert net.param_count == vgg16_convs + head


def test_fcn8s_refuses_sizes_it_cannot_align() -> None:
    _, diagnostics = api.analyse(str(SPECS / "fcn8s.arch"), overrides={"height": 200})
    assert any("divisible by 32" in d.message for d in diagnostics if d.is_error)


def test_albert_base_shares_one_layer_across_the_stack() -> None:
    net = network("albert_base.arch", "AlbertBase")
    vocab, embedding, hidden, ffn = 30000, 128, 768, 3072
    embeddings = (vocab + 2 + 512) * embedding + 2 * embedding  # words, segments, positions, norm
    layer = 4 * linear(hidden, hidden) + linear(hidden, ffn) + linear(ffn, hidden) + 4 * hidden
    expected = embeddings + linear(embedding, hidden) + layer + linear(hidden, hidden)
    assert net.param_count == expected == 11_683_584  # albert-base-v2
    group = "encoder.albert_layer_groups.0.albert_layers.0."
    assert params_under(net, group) == layer
    assert all("@" not in key for key in state(net))
    # more layers apply the one layer more often: no parameter more, their MACs more
    deeper = network("albert_base.arch", "AlbertBase", layers=24)
    assert deeper.param_count == net.param_count
    shared = "encoder.albert_layer_groups"
    once = dims.evaluate(dims.total(n.macs for n in net.within(shared)), {"T": 128})
    last = dims.evaluate(dims.total(n.macs for n in net.within(f"{shared}@12")), {"T": 128})
    assert last == once > 0
    more = dims.evaluate(deeper.macs, {"T": 128}) - dims.evaluate(net.macs, {"T": 128})
    assert more == 12 * once
    assert output_shape(net, "last_hidden_state", T=16) == [1, 16, hidden]
    assert output_shape(net, "pooler_output") == [1, hidden]


def test_simclr_holds_one_encoder_and_one_head_and_runs_both_views() -> None:
    net = network("simclr.arch", "SimCLR")
    resnet = reference()["resnet18"]
    head = linear(512, 512) + linear(512, 128)
    assert net.param_count == resnet["params"] - linear(512, 1000) + head
    assert net.buffer_count == resnet["buffers"]
    trunk = {
        k: s for k, s in torchvision_state_dict("resnet18").items() if not k.startswith("fc.")
    }
    assert {k: s for k, s in state(net).items() if k.startswith("encoder.")} == {
        f"encoder.{k}": s for k, s in trunk.items()
    }
    resnet18 = network("resnet18.arch", "ResNet18")
    assert net.macs == 2 * (resnet18.macs - 512 * 1000) + 2 * (512 * 512 + 512 * 128)
    assert output_shape(net, "z1") == output_shape(net, "z2") == [1, 128]


def test_t5_encoder_matches_hugging_face() -> None:
    # transformers 5.25's T5EncoderModel for t5-small on the meta device: 35,330,816
    # parameters in 52 state_dict keys, shared.weight and encoder.embed_tokens.weight one tensor
    vocab, width, layers, heads, ffn, buckets = 32128, 512, 6, 8, 2048, 32
    layer = 4 * linear(width, width, bias=False) + 2 * linear(width, ffn, bias=False) + 2 * width
    expected = vocab * width + layers * layer + buckets * heads + width
    assert expected == 35_330_816
    net = network("t5_encoder.arch", "T5Encoder")
    assert net.param_count == expected
    keys = net.parameters()
    assert len(keys) == 52 and net.buffer_count == 0
    assert keys["encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight"] == (
        buckets,
        heads,
    )
    assert not any(k.startswith("encoder.block.1.layer.0.SelfAttention.rel") for k in keys)
    assert keys["encoder.block.5.layer.1.DenseReluDense.wo.weight"] == (width, ffn)
    assert output_shape(net, "last_hidden_state", N=2, T=7) == [2, 7, width]


def test_t5_matches_hugging_face_key_for_key() -> None:
    # T5ForConditionalGeneration for t5-small: the shared embedding is both stacks' embed_tokens
    # and the LM head, each a state_dict key of its own; the decoder's first layer holds its
    # own relative position bias, its cross-attention none
    measured = hf_reference("t5")["t5_small"]
    net = network("t5.arch", "T5ForConditionalGeneration")
    assert net.param_count == measured["params"]
    assert state(net) == hf_state_dict("t5_small")
    sources, targets = (measured["input_shapes"][k][1] for k in ("input_ids", "decoder_input_ids"))
    assert output_shape(net, "logits", S=sources, T=targets) == measured["output_shape"]
    untied = network("t5.arch", "T5ForConditionalGeneration", tie_word_embeddings=False)
    assert untied.param_count == measured["params"] + math.prod(net.parameters()["lm_head.weight"])


def test_bart_base_matches_hugging_face_key_for_key() -> None:
    # BartForConditionalGeneration for bart-base: the shared embedding is both stacks'
    # embed_tokens and the LM head, each position table has two rows more than positions, and
    # final_logits_bias is a buffer over the vocabulary
    measured = hf_reference("bart")["bart_base"]
    net = network("bart_base.arch", "BartForConditionalGeneration")
    assert net.param_count == measured["params"]
    assert net.buffer_count == measured["buffers"]
    assert state(net) == hf_state_dict("bart_base")
    assert net.parameters()["model.encoder.embed_positions.weight"] == (1024 + 2, 768)
    sources, targets = (measured["input_shapes"][k][1] for k in ("input_ids", "decoder_input_ids"))
    assert output_shape(net, "logits", S=sources, T=targets) == measured["output_shape"]


def test_clip_vision_matches_hugging_face_key_for_key() -> None:
    # CLIPVisionModel for ViT-B/32: the class embedding held as (768,), a position for each of
    # the 49 patches and the class token
    measured = hf_reference("clip")["clip_vit_b_32"]
    net = network("clip_vit_b_32.arch", "CLIPVisionModel")
    assert net.param_count == measured["params"]
    assert state(net) == hf_state_dict("clip_vit_b_32")
    assert output_shape(net, "last_hidden_state") == measured["output_shape"]
    assert output_shape(net, "pooler_output") == [1, measured["config"]["hidden_size"]]


def test_deit_distilled_matches_hugging_face_key_for_key() -> None:
    # DeiTForImageClassificationWithTeacher for DeiT-B distilled: two tokens before the 196
    # patches, each with a classifier, and positions for all 198
    measured = hf_reference("deit")["deit_base_distilled"]
    net = network("deit_base_distilled.arch", "DeiTForImageClassificationWithTeacher")
    assert net.param_count == measured["params"]
    assert state(net) == hf_state_dict("deit_base_distilled")
    assert net.parameters()["deit.embeddings.position_embeddings"] == (1, 196 + 2, 768)
    for output in ("logits", "cls_logits", "distillation_logits"):
        assert output_shape(net, output) == measured["output_shape"]


def test_whisper_encoder_matches_hugging_face_key_for_key() -> None:
    # WhisperModel's encoder for whisper-tiny: 3000 mel frames halved by conv2 to the 1500
    # positions of its sinusoid table, a parameter that is never trained
    measured = hf_reference("whisper")["whisper_tiny_encoder"]
    net = network("whisper_encoder.arch", "WhisperEncoder")
    assert net.param_count == measured["params"]
    assert net.trainable_count == measured["params"] - 1500 * 384
    assert state(net) == hf_state_dict("whisper_tiny_encoder")
    assert "layers.0.self_attn.k_proj.bias" not in state(net)
    assert output_shape(net, "last_hidden_state") == measured["output_shape"]
