"""Generated PyTorch against the reference interpreter: the same weights give the same values.

Every zoo spec, example spec and golden case, and a fixed-seed sample of generated valid
specs, is built in float64 and run beside the interpreter on the module's own state_dict
(`tests/oracle.py`), in eval mode and in training mode with dropout off. Zoo networks whose
spec takes size parameters are shrunk with them (the values checked do not depend on the
width, the depth or the image's size, as long as every layer still meets real data); the ones
with fixed 224-pixel inputs and tens of millions of weights are marked slow.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import given, settings

from archc import api, ops, runtime
from archc.backends.interpret import interpret
from archc.ops.spec import Op
from tests.conftest import MIX, ROOT
from tests.fuzz.cases import Case, cases
from tests.fuzz.choices import FUZZ
from tests.fuzz.valid import SIZE
from tests.oracle import check_values, random_inputs, sizes_of

GOLDEN = sorted((ROOT / "tests" / "golden").glob("*/input.arch"))
EXAMPLES = sorted((ROOT / "examples" / "specs").glob("*.arch"))
# -D values that keep a zoo network small; every other zoo spec is run as written
SMALL: dict[str, dict[str, Any]] = {
    "albert_base": {
        "vocab": 50,
        "embedding": 16,
        "hidden": 32,
        "layers": 2,
        "heads": 4,
        "intermediate": 48,
        "max_positions": 16,
    },
    "bart_base": {
        "vocab": 50,
        "d_model": 32,
        "encoder_layers": 2,
        "decoder_layers": 2,
        "heads": 4,
        "ffn": 48,
    },
    "bert_base": {"vocab": 50, "layers": 2, "d_model": 32, "heads": 4, "seq_len": 8},
    "bloom": {"vocab": 50, "d_model": 32, "layers": 2, "heads": 4},
    "clip_vit_b_32": {"hidden": 32, "intermediate": 48, "layers": 2, "heads": 4, "image_size": 64},
    "convnext_tiny": {"image_size": 32, "widths": (8, 16, 32, 64)},
    "dcgan": {"latent": 16, "ngf": 8, "ndf": 8},
    "deit_base_distilled": {
        "classes": 10,
        "hidden": 32,
        "intermediate": 48,
        "layers": 2,
        "heads": 4,
        "image_size": 64,
    },
    "distilbert": {"vocab": 50, "d_model": 32, "layers": 2, "heads": 4, "ffn": 48},
    # pool5's map 2x2, the smallest on which fc6's 7x7 kernel reads taps on both sides of its
    # centre (at 32 pixels only the centre tap meets the 1x1 map)
    "fcn8s": {"height": 64, "width": 64},
    "gan_mlp": {"latent": 8, "pixels": 64},
    "gemma": {
        "vocab": 50,
        "d_model": 32,
        "layers": 2,
        "heads": 4,
        "kv_heads": 2,
        "head_dim": 12,
        "ffn": 48,
    },
    "gpt2": {"vocab": 50, "context": 16, "layers": 2, "d_model": 32, "heads": 4},
    "gpt_neox": {"vocab": 50, "d_model": 32, "layers": 2, "heads": 4, "ffn": 48},
    "gru_tagger": {"vocab": 50, "layers": 2, "bidirectional": True},
    "llama": {"vocab": 50, "d_model": 32, "layers": 2, "heads": 4, "kv_heads": 2, "ffn": 48},
    "lstm_tagger": {"vocab": 50, "embed": 8, "hidden": 16},
    "mnasnet1_0": {"image_size": 32},
    "olmoe": {
        "vocab": 50,
        "d_model": 32,
        "layers": 2,
        "heads": 4,
        "ffn": 16,
        "experts": 6,
        "top_k": 2,
    },
    "opt": {"vocab": 50, "d_model": 32, "layers": 2, "heads": 4, "ffn": 48, "max_positions": 40},
    "qwen2": {"vocab": 50, "d_model": 32, "layers": 2, "heads": 4, "kv_heads": 2, "ffn": 48},
    "regnet_y_400mf": {"image_size": 32},
    "resnext50_32x4d": {"image_size": 32, "groups": 4},
    "roberta_base": {"vocab": 50, "layers": 2, "d_model": 32, "heads": 4},
    "shufflenet_v2_x1_0": {"image_size": 32},
    "swin_v2_t": {"image_size": 64, "embed": 24},
    "t5": {
        "vocab": 50,
        "d_model": 32,
        "layers": 2,
        "decoder_layers": 2,
        "heads": 4,
        "d_kv": 8,
        "d_ff": 48,
    },
    "t5_encoder": {"vocab": 50, "d_model": 32, "layers": 3, "heads": 4, "d_kv": 8, "d_ff": 48},
    "transformer": {"vocab": 50, "d_model": 32, "heads": 4, "ffn": 64, "final_norm": True},
    "vit_b_16": {"image_size": 32, "patch": 8, "width": 32, "heads": 4, "mlp_dim": 64},
    "whisper_encoder": {"mel_bins": 16, "d_model": 32, "heads": 4, "max_source_positions": 24},
    "wide_resnet50_2": {"image_size": 32, "width_per_group": 16},
    "word2vec": {"vocab": 50, "dim": 8},
    "word_lm": {"ntoken": 50, "nhid": 16},
}
# The parameters that count a stack's layers. A test that changes a zoo network's other
# parameters one at a time builds it at SMALL's depth: a build and a forward on the meta device
# cost by the layer, and two layers go through every layer kind, block and branch of 32.
DEPTHS = ("layers", "encoder_layers", "decoder_layers")


def shallow(spec: str, taken: Collection[str], args: Mapping[str, Any]) -> dict[str, int]:
    """SMALL's depths of the zoo spec named ``spec``, for those its network and class take."""
    small = SMALL.get(spec, {})
    return {
        name: small[name] for name in DEPTHS if name in small and name in taken and name in args
    }


# fixed 224-pixel inputs and 6 to 140 million parameters, or FCN-8s's 134 million at any input
# size: seconds each
LARGE = {"alexnet", "densenet121", "fcn8s", "googlenet", "resnet18", "resnet50", "vgg16"}


def zoo_cases() -> list[Any]:
    found = []
    for path in sorted((ROOT / "specs").glob("*.arch")):
        marks = [pytest.mark.slow] if path.stem in LARGE else []
        found.append(pytest.param(path, id=path.stem, marks=marks))
    return found


def test_every_op_has_reference_semantics() -> None:
    lacking = [op.name for op in ops.all_ops() if type(op).execute is Op.execute]
    assert lacking == []


@pytest.mark.parametrize("path", zoo_cases())
def test_zoo_spec_computes_what_the_interpreter_computes(path: Path) -> None:
    check_values(path, SMALL.get(path.stem))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_spec_computes_what_the_interpreter_computes(path: Path) -> None:
    check_values(path)


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.parent.name)
def test_golden_case_computes_what_the_interpreter_computes(path: Path) -> None:
    check_values(path)


@settings(FUZZ, max_examples=6)
@given(cases("valid"))
def test_generated_specs_compute_what_the_interpreter_computes(
    tmp_path_factory: pytest.TempPathFactory, case: Case
) -> None:
    path = tmp_path_factory.mktemp("oracle") / "spec.arch"
    path.write_bytes(case.data)
    check_values(path, size=SIZE)  # the size the writer tracked its symbols at


def test_interpreter_reads_a_tied_parameter_from_its_source(tmp_path: Path) -> None:
    path = tmp_path / "tied.arch"
    path.write_text(
        """
network Tied {
    in tokens: int64[T]
    tie head.weight = embed.weight
    out tokens -> embedding(10, 4) as embed -> linear(10, bias=false) as head
}
""",
        encoding="utf-8",
    )
    check_values(path)
    (network,), _ = api.analyse(str(path))
    model = runtime.build(str(path), dtype=torch.float64)
    state = {k: v for k, v in model.state_dict().items() if k != "head.weight"}
    inputs = random_inputs(network, sizes_of(network))
    with torch.no_grad():
        (output,) = interpret(network, state, inputs).values()
        assert runtime.difference(model(*inputs.values()), output) <= 1e-12


def test_shape_ops_inside_a_named_chain_are_applied(tmp_path: Path) -> None:
    """permute, transpose and reshape inside a named chain were once emitted as nn.Identity:
    the shapes still worked out, the values did not."""
    path = tmp_path / "inside.arch"
    path.write_text(
        """
network Inside {
    in x: [4, 6, 8]
    out x -> (conv2d(4, 1) -> permute(0, 2, 3, 1) -> transpose(1, 2) -> reshape(48, 4)
              -> flatten -> linear(3)) as body
}
""",
        encoding="utf-8",
    )
    check_values(path)


def test_block_class_built_with_other_arguments_computes_their_network(tmp_path: Path) -> None:
    """d_conv and dt_rank are both 4 in the spec: the class must still tell them apart, in its
    layers (dt_proj's input is dt_rank wide) and in forward (the split sizes)."""
    path = tmp_path / "mix.arch"
    path.write_text(MIX, encoding="utf-8")
    other = {"d_inner": 32, "dt_rank": 8, "d_conv": 4}
    (network,), _ = api.analyse(str(path), overrides=other)
    module = runtime.load_source(api.compile_source(str(path)), "archc_oracle_mix")
    torch.manual_seed(0)
    block = module.Mix(16, **other).double()  # its input's 16 features first, as generated
    # the network's state_dict keys are the block's under `mix.`
    state = {f"mix.{key}": tensor for key, tensor in block.state_dict().items()}
    assert {k: tuple(v.shape) for k, v in state.items()} == network.parameters()
    inputs = random_inputs(network, sizes_of(network))
    with torch.no_grad():
        (expected,) = interpret(network, state, inputs).values()
        assert runtime.difference(block(*inputs.values()), expected) <= 1e-12


def test_selftest_compares_values_with_the_interpreter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "net.arch"
    path.write_text(
        "network Net {\n    in x: [6]\n    out y = x -> linear(4) -> tanh\n}\n", encoding="utf-8"
    )
    [(passed, verdict)] = runtime.selftest(str(path))
    assert passed, verdict
    assert verdict.endswith("match the static model (meta and cpu) and the reference interpreter")

    def off_by_a_little(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return {name: value + 0.01 for name, value in interpret(*args, **kwargs).items()}

    monkeypatch.setattr("archc.backends.interpret.interpret", off_by_a_little)
    [(passed, verdict)] = runtime.selftest(str(path))
    assert not passed
    assert "FAILED: output `y` differs from the reference interpreter by up to 0.0" in verdict


def test_prelu_with_one_slope_per_channel_builds_its_count(tmp_path: Path) -> None:
    """`prelu("channels")` was once passed to nn.PReLU as num_parameters="channels"."""
    path = tmp_path / "prelu.arch"
    path.write_text(
        'network P {\n    in x: [8, 4, 4]\n    out x -> (conv2d(8, 1) -> prelu("channels")) as body\n}\n',
        encoding="utf-8",
    )
    check_values(path)


def test_outputs_zero_up_to_rounding_are_compared_absolutely(tmp_path: Path) -> None:
    """A group norm's channel means, pooled, are 0 up to rounding (1e-17): the module and the
    interpreter round differently there, which is no difference, while a real one still is."""
    path = tmp_path / "zero.arch"
    path.write_text(
        "init linear.bias: zeros\n"
        "network Net {\n    in x: [4, 7, 15]\n"
        "    out y = x -> groupnorm(4) -> adaptive_avgpool2d(1) -> flatten -> linear(8)\n}\n",
        encoding="utf-8",
    )
    check_values(path)
    tiny = torch.full((2, 8), 1e-17, dtype=torch.float64)
    assert runtime.difference(tiny * 3, tiny) < 1e-6
    assert runtime.difference(tiny + 1e-11, tiny) > 1e-6


SYMBOLIC_CUTS = """
block Halves(p) {
    in x
    a, b = split(x, (p, x.shape[1] - p), dim=1)
    out a2 = a -> linear(8) as fa
    out b2 = b -> linear(8) as fb
}
network Net(heads=4, p=2) {
    in x: [T, 64]
    u = x -> unflatten(2, (heads, 64 // heads)) -> flatten(2) -> reshape(-1)
    a, b = x -> Halves(p) as halves
    out u2 = u -> unflatten(1, (T, 64))
    out a3 = a
    out b3 = b
}
"""


def test_symbolic_split_and_unflatten_work_out_their_rest(tmp_path: Path) -> None:
    """A section or size that depends on T is what the others leave of the axis, computed
    when the module runs: `x.size(1) - p`, and -1."""
    path = tmp_path / "cuts.arch"
    path.write_text(SYMBOLIC_CUTS, encoding="utf-8")
    source = api.compile_source(str(path))
    assert "torch.split(x, [self.p, x.size(1) - self.p], dim=1)" in source
    assert "nn.Unflatten(1, (-1, 64))" in source
    check_values(path)
