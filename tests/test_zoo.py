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


def torchvision_state_dict(model: str) -> dict[str, tuple[int, ...]]:
    path = REFERENCE / "torchvision_state_dicts" / f"{model}.txt"
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


# torchvision's swin_v2_t, measured apart from tests/reference/ (tests/torchvision/README.md)
SWIN = ROOT / "tests" / "torchvision"


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


# Figures measured with transformers 5.25 (Qwen2ForCausalLM on the meta device): Qwen2-0.5B
# (tied lm_head) and Qwen2-7B (untied), their configs, and Qwen2-0.5B's state_dict keys in
# transformers' order, one `key [shape]` line each (the tied lm_head.weight is a key of its own).
HF = ROOT / "tests" / "hf"


@cache
def hf_reference() -> dict[str, Any]:
    models: dict[str, Any] = json.loads((HF / "qwen2_reference.json").read_text(encoding="utf-8"))
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
