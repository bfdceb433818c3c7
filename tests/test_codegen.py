"""Generated PyTorch source: golden files, and proof that it builds exactly the static model.

The generated source of every golden case (`tests/golden/<case>/model.py`) and of every zoo
spec (`tests/golden/zoo/<spec>.py`) is kept, and must pass `ruff format` and `ruff check`;
ruff is a dev extra, so those tests fail without it.

For every golden case and every zoo spec, the module built from the generated source must
have the static parameter count, the static state_dict names and shapes, and every submodule
must produce, in a real forward pass, exactly the output shape elaboration inferred for it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from archc import api, dims, ops, runtime
from archc.backends.torch.structure import inferred_of
from archc.errors import ArchError
from archc.semantics.ir import Network, Node
from archc.semantics.provenance import Apply, Lit, Param
from tests.conftest import (
    ROOT,
    assert_ruff_clean,
    assert_ruff_formatted,
    check_golden,
    needs_ruff,
)
from tests.meta_device import random_fills_skipped_on_meta
from tests.test_oracle import shallow
from tests.unread import unread_assignments

GOLDEN = ROOT / "tests" / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "input.arch").exists())
SPECS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "specs").glob("*.arch"))
ZOO_GOLDEN = GOLDEN / "zoo"  # the generated source of every zoo spec, as <spec>.py
# -D values for zoo specs too large to build as written (OLMoE-1B-7B is 28 GB in float32)
# Zoo networks built at small sizes (every network of the file takes them): the check is the same
# at any size, and the defaults of the larger language models take a minute each to build.
BUILT_SMALL: dict[str, dict[str, Any]] = {
    "bart_base": {
        "vocab": 64,
        "d_model": 32,
        "encoder_layers": 2,
        "decoder_layers": 2,
        "heads": 4,
    },
    "bert_base": {"vocab": 64, "layers": 2, "d_model": 32, "heads": 4},
    "bloom": {"vocab": 64, "d_model": 32, "layers": 2, "heads": 4},
    "clip_vit_b_32": {"hidden": 32, "intermediate": 48, "layers": 2, "heads": 4, "image_size": 64},
    "deit_base_distilled": {
        "classes": 10,
        "hidden": 32,
        "intermediate": 48,
        "layers": 2,
        "heads": 4,
        "image_size": 64,
    },
    "distilbert": {"vocab": 64, "d_model": 32, "layers": 2, "heads": 4, "ffn": 48},
    "gemma": {
        "vocab": 64,
        "d_model": 32,
        "layers": 2,
        "heads": 4,
        "kv_heads": 2,
        "head_dim": 12,
        "ffn": 48,
    },
    "convnext_tiny": {"image_size": 32, "widths": (8, 16, 32, 64)},
    "gpt2": {"vocab": 64, "context": 64, "layers": 2, "d_model": 32, "heads": 4},
    "gpt_neox": {"vocab": 64, "d_model": 32, "layers": 2, "heads": 4, "ffn": 48},
    "llama": {"vocab": 64, "d_model": 32, "layers": 2, "heads": 4, "kv_heads": 2, "ffn": 48},
    "opt": {"vocab": 64, "d_model": 32, "layers": 2, "heads": 4, "ffn": 48, "max_positions": 64},
    "qwen2": {"vocab": 64, "d_model": 32, "layers": 2, "heads": 4, "kv_heads": 2, "ffn": 48},
    "resnext50_32x4d": {"image_size": 32, "groups": 4},
    "roberta_base": {"vocab": 64, "layers": 2, "d_model": 32, "heads": 4},
    "t5": {"vocab": 64, "d_model": 32, "layers": 2, "decoder_layers": 2, "heads": 4, "d_kv": 8},
    "transformer": {"vocab": 64, "d_model": 32, "heads": 4, "ffn": 64},
    "whisper_encoder": {"mel_bins": 16, "d_model": 32, "heads": 4, "max_source_positions": 24},
    "vit_b_16": {"classes": 10, "image_size": 64, "width": 64, "heads": 4, "mlp_dim": 128},
    "wide_resnet50_2": {"image_size": 32, "width_per_group": 16},
    "olmoe": {
        "vocab": 64,
        "d_model": 32,
        "layers": 2,
        "heads": 4,
        "ffn": 16,
        "experts": 6,
        "top_k": 2,
    },
}
SIZE = 32  # what a symbolic dimension becomes in a test run


def spec_of(case: str) -> str:
    return str((GOLDEN / case / "input.arch").relative_to(ROOT))


@pytest.fixture(autouse=True)
def _in_repository_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # golden sources name their spec by its path from the root


@pytest.mark.parametrize("case", CASES)
def test_generated_source_matches_golden(case: str, bless: bool) -> None:
    source = api.compile_source(spec_of(case))
    check_golden(GOLDEN / case / "model.py", source, bless)


@pytest.mark.parametrize("spec", SPECS)
def test_zoo_source_matches_golden(spec: str, bless: bool) -> None:
    source = api.compile_source(spec)
    check_golden(ZOO_GOLDEN / f"{Path(spec).stem}.py", source, bless)


def test_every_zoo_golden_has_its_spec() -> None:
    assert sorted(p.stem for p in ZOO_GOLDEN.glob("*.py")) == sorted(Path(s).stem for s in SPECS)


def static_networks(spec: str, overrides: dict[str, Any] | None = None) -> list[Network]:
    networks, diagnostics = api.analyse(spec, overrides=overrides)
    assert not [d for d in diagnostics if d.is_error], diagnostics
    return networks


def symbols(network: Network) -> set[str]:
    """The names of the symbolic sizes in the network's inputs (T, H, W, ...)."""
    return {
        str(s)
        for ref in network.inputs.values()
        for d in network.type_of(ref).shape[1:]
        if isinstance(d, dims.Sym)
        for s in d.expr.free_symbols
    }


def sample_inputs(network: Network) -> list[torch.Tensor]:
    sizes = dict.fromkeys(symbols(network), SIZE) | {dims.BATCH_NAME: 2}
    tensors = []
    for ref in network.inputs.values():
        tensor = network.type_of(ref)
        shape = [dims.evaluate(d, sizes) for d in tensor.shape]
        if tensor.dtype.startswith("int") or tensor.dtype == "bool":
            tensors.append(torch.randint(0, 2, shape).to(getattr(torch, tensor.dtype)))
        else:
            tensors.append(torch.randn(shape))
    return tensors


def check_against_static(spec: str) -> None:
    overrides = BUILT_SMALL.get(Path(spec).stem, {})
    for network in static_networks(spec, overrides or None):
        model = runtime.build(spec, network.name, seed=0, **overrides).eval()
        assert sum(p.numel() for p in model.parameters()) == network.param_count
        state = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        assert state == {**network.parameters(), **network.buffers()}
        seen: dict[str, Any] = {}
        hooks = [
            module.register_forward_hook(lambda m, i, o, p=path, s=seen: s.__setitem__(p, o))
            for path, module in model.named_modules()
            if path
        ]
        with torch.no_grad():
            model(*sample_inputs(network))
        for hook in hooks:
            hook.remove()
        sizes = {"N": 2} | dict.fromkeys(symbols(network), SIZE)
        checked = 0
        for node in network.nodes():
            if isinstance(seen.get(node.path), torch.Tensor) and called_plainly(node):
                expected = tuple(dims.evaluate(d, sizes) for d in node.outputs[0].shape)  # type: ignore[union-attr]
                output = tuple(seen[node.path].shape)
                if routed(network, node):  # an expert sees the tokens routed to it, any number
                    output, expected = output[1:], expected[1:]
                assert output == expected, f"{spec}: {node.path}"
                checked += 1
        assert checked, f"{spec}: no layer was checked"


def routed(network: Network, node: Node) -> bool:
    """Whether ``node`` is inside an expert of a `moe` over a block."""
    parts = node.path.split(".")
    paths = (".".join(parts[:cut]) for cut in range(1, len(parts)))
    return any(getattr(network.modules.get(p), "combinator", None) == "moe" for p in paths)


def called_plainly(node: Node) -> bool:
    """Whether forward uses the module's own output as the layer's value (an LSTM returning
    its last state, or a position table added to its input, post-process it)."""
    op = ops.lookup(node.op)
    ctor = op.torch_module(node.args, inferred_of(node)) if op else None
    return ctor is not None and ctor.call == "{m}({inputs})" and len(node.outputs) == 1


@pytest.mark.parametrize("case", CASES)
def test_golden_case_builds_the_static_model(case: str) -> None:
    check_against_static(spec_of(case))


@pytest.mark.parametrize("spec", SPECS)
def test_zoo_spec_builds_the_static_model(spec: str) -> None:
    check_against_static(spec)


@pytest.mark.parametrize("case", ["transformer_encoder", "densenet_tiny", "mixer_chunk"])
def test_compiles_without_graph_breaks(case: str) -> None:
    spec = spec_of(case)
    (network, *_) = static_networks(spec)
    model = runtime.build(spec, network.name, seed=0).eval()
    compiled = torch.compile(model, fullgraph=True, backend="eager")
    inputs = sample_inputs(network)
    with torch.no_grad():
        expected, actual = model(*inputs), compiled(*inputs)
    for a, b in zip(
        expected if isinstance(expected, tuple) else (expected,),
        actual if isinstance(actual, tuple) else (actual,),
        strict=True,
    ):
        torch.testing.assert_close(a, b)


def _golden_source(path: Path) -> object:
    return pytest.param(path, id=f"{path.parent.name}/{path.stem}")


GOLDEN_SOURCES = [
    *(_golden_source(GOLDEN / case / "model.py") for case in CASES),
    *(_golden_source(ZOO_GOLDEN / f"{Path(spec).stem}.py") for spec in SPECS),
]


@needs_ruff
@pytest.mark.parametrize("path", GOLDEN_SOURCES)
def test_generated_source_is_ruff_formatted_and_clean(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    assert_ruff_formatted(source)
    assert_ruff_clean(source)


@pytest.mark.parametrize("path", GOLDEN_SOURCES)
def test_generated_source_assigns_no_value_it_never_reads(path: Path) -> None:
    assert unread_assignments(path.read_text(encoding="utf-8")) == []


def test_unread_assignments_are_found_across_branches_and_loops() -> None:
    source = """
def forward(x, mask, layers, flag):
    y = x + 1
    y = x * 2
    a, b = y.chunk(2)
    for layer in layers:
        x, mask = layer(x, mask)
    if flag:
        a = a + 1
    else:
        c = a
    for layer in layers:
        x = x + 1
    return x, a
"""
    assert unread_assignments(source) == [
        ("forward", 3, "y"),
        ("forward", 5, "b"),
        ("forward", 11, "c"),
        ("forward", 12, "layer"),
    ]


UNREAD = """
block Side(width) {
    in x
    _side = x -> linear(width) as probe -> relu
    kept, _dropped = x -> linear(2 * width) as both -> chunk(2, dim=-1)
    out kept -> linear(width) as head
}

network Unread(width=8) {
    in x: [T, 4]
    _table = x -> linear(width) as table
    _stats = x -> transpose(1, 2) -> batchnorm1d as bn
    out x -> Side(width) * 2 as sides
}
"""


def test_values_nothing_reads_are_built_but_never_computed(tmp_path: Path) -> None:
    """A value bound and never read keeps its layers (their parameters are the model's), but
    forward leaves out the steps that lead only to it, and an unread output of a step that
    gives several is `_`."""
    spec = tmp_path / "unread.arch"
    spec.write_text(UNREAD, encoding="utf-8")
    source = api.compile_source(str(spec))
    assert unread_assignments(source) == []
    assert "self.probe(" not in source and "self.table(" not in source
    assert "kept, _ = torch.chunk(" in source
    check_against_static(str(spec))
    assert all(passed for passed, _ in runtime.selftest(str(spec)))
    # a batch norm is called all the same: training updates its running statistics
    assert "_ = self.bn(" in source
    model = runtime.build(str(spec), seed=0).train()
    model(torch.randn(3, 5, 4) * 4 + 2)
    assert float(model.bn.running_mean.abs().min()) > 0


def test_same_seed_same_weights_and_layers_keep_their_weights() -> None:
    spec = spec_of("gan_pair")
    first = runtime.build(spec, "Generator", seed=7).state_dict()
    again = runtime.build(spec, "Generator", seed=7).state_dict()
    other = runtime.build(spec, "Generator", seed=8).state_dict()
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not torch.equal(first["dense1.fc.weight"], other["dense1.fc.weight"])
    wider = runtime.build(spec, "Generator", seed=7, latent=64).state_dict()
    # the input layer changed shape; every later layer keeps its weights
    assert torch.equal(first["dense2.fc.weight"], wider["dense2.fc.weight"])


def test_meta_device_allocates_nothing() -> None:
    model = runtime.build("specs/resnet50.arch", device="meta")
    assert all(p.is_meta for p in model.parameters())


HOSTILE = """
block print(lambda) {
    in self
    out self -> linear(lambda) as torch
}

network nn(class=3) {
    in F: [4]
    super = F -> print(class) as nn_
    out OrderedDict = super -> print(2) as Module
}
"""


def test_hostile_names_give_valid_code_that_only_builds_modules(tmp_path: Path) -> None:
    spec = tmp_path / 'odd "name"\nimport os.arch'
    spec.write_text(HOSTILE)
    source = api.compile_source(str(spec))
    compile(source, "generated", "exec")
    assert "\nimport os" not in source
    namespace: dict[str, Any] = {}
    before = set(sys.modules)
    exec(source, namespace)
    assert set(sys.modules) - before == set()  # importing the output imports nothing new
    model = namespace[namespace["__all__"][-1]]()
    assert model(torch.randn(2, 4)).shape == (2, 2)
    assert sorted(model.state_dict()) == [
        "Module.torch.bias",
        "Module.torch.weight",
        "nn_.torch.bias",
        "nn_.torch.weight",
    ]


@pytest.mark.parametrize("name", ["forward", "training", "__dict__", "class", "lambda"])
def test_names_python_cannot_hold_are_refused(tmp_path: Path, name: str) -> None:
    spec = tmp_path / "spec.arch"
    spec.write_text(f"network N {{\n in x: [4]\n out x -> linear(2) as {name}\n}}\n")
    with pytest.raises(ArchError) as caught:
        api.compile_source(str(spec))
    assert caught.value.diagnostics[0].code == "A401"


def test_a_learned_tensor_inside_a_named_chain_is_refused(tmp_path: Path) -> None:
    spec = tmp_path / "spec.arch"
    spec.write_text(
        "network N {\n in x: [16, 64]\n out x -> (layernorm -> parameter(16, 64) as t) as body\n}\n"
    )
    with pytest.raises(ArchError) as caught:
        api.compile_source(str(spec))
    (diagnostic,) = caught.value.diagnostics
    assert (diagnostic.code, diagnostic.span.line, diagnostic.span.col) == ("A402", 3, 25)


def test_held_tensors_are_reseeded_and_tied_like_any_parameter() -> None:
    small = BUILT_SMALL["vit_b_16"]  # 64x64 images of 16 patches, at width 64
    first = runtime.build("specs/vit_b_16.arch", seed=3, device="cpu", **small)
    second = runtime.build("specs/vit_b_16.arch", seed=3, device="cpu", **small)
    position = first.encoder.pos_embedding
    assert isinstance(position, torch.nn.Parameter) and position.shape == (1, 17, 64)
    assert torch.equal(position, second.encoder.pos_embedding)
    assert 0.015 < float(position.detach().std()) < 0.025  # normal(std=0.02), not zeros
    assert torch.count_nonzero(first.class_token) == 0


def test_cli_compile_writes_the_file_and_selftests(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from archc.cli import main

    out = tmp_path / "model.py"
    assert main(["compile", spec_of("lstm_tagger"), "-o", str(out), "--selftest"]) == 0
    assert out.read_text() == api.compile_source(spec_of("lstm_tagger"))
    assert "selftest Tagger: ok" in capsys.readouterr().err


def _other_value(value: Any) -> Any:
    """A different value for a constructor argument: what a user might pass instead."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value * 2
    if isinstance(value, float):
        return value / 2 if value else 0.25
    return None


def _shapes(module: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


def _dropout_rates(module: torch.nn.Module) -> list[float]:
    return [m.p for m in module.modules() if isinstance(m, torch.nn.Dropout)]


@pytest.mark.slow
@pytest.mark.parametrize("spec", [*SPECS, *(spec_of(case) for case in CASES)])
def test_network_classes_take_only_faithful_parameters(spec: str) -> None:
    """`Net(p=v)` from the generated module builds what compiling with `-D p=v` builds: the
    same state_dict names and shapes and the same dropout rates, for every parameter the
    network's class takes. A zoo network whose depth is a parameter is built at
    tests/test_oracle.py's SMALL depth throughout (`shallow` says why)."""
    import inspect

    module = runtime.load_source(api.compile_source(spec), "archc_faithful")
    zoo = spec in SPECS
    for network in static_networks(spec):
        cls = getattr(module, runtime.network_class_name(module, network.name))
        parameters = inspect.signature(cls).parameters
        depths = shallow(Path(spec).stem, parameters, network.args) if zoo else {}
        for name, parameter in parameters.items():
            other = _other_value(depths.get(name, parameter.default))
            if other is None:
                continue
            overrides = {**depths, name: other}
            try:
                with random_fills_skipped_on_meta():
                    expected = runtime.build(spec, network.name, device="meta", **overrides)
            except ArchError:
                continue  # the spec rejects the value (`heads` must divide `d_model`)
            with torch.device("meta"), random_fills_skipped_on_meta():
                built = cls(**overrides)
            assert _shapes(built) == _shapes(expected), f"{network.name}({overrides})"
            assert _dropout_rates(built) == _dropout_rates(expected), name


def test_shape_queries_in_arguments_become_expressions() -> None:
    """`MLP(4 * x.features)` is written over the class's own input size, so the network keeps
    `d_model` as a parameter that it honours (checked in general above)."""
    source = api.compile_source("specs/gpt2.arch")
    assert (
        "self.mlp = MLP(\n"
        '            in_features, 4 * in_features, partial(nn.GELU, approximate="tanh"), '
        "p_drop=p_drop\n"
        "        )"
    ) in source
    assert "        d_model: int = 768,\n" in source


def test_values_computed_with_functions_follow_the_class_arguments() -> None:
    """`scale(sqrt(d))` is `math.sqrt(d)` in the class, so one class serves both instances and
    the network's class takes `width`, honouring it in `max(width, 32)` and `sqrt(width)`."""
    import math

    source = api.compile_source(spec_of("builtin_functions"))
    assert source.count("class Scaled") == 1
    module = runtime.load_source(source, "archc_functions")
    net = module.Scaling(width=128)
    assert [net.scaled1.factor, net.scaled2.factor] == [2.0, 3.0]
    assert net.proj.out_features == 128
    x = torch.randn(2, 16)
    torch.testing.assert_close(net(x), net.proj(6.0 * x) / math.sqrt(128))


NAMED_VALUES = """
block Bottleneck(planes, groups=1, base_width=64) {
    in x
    width = int(planes * (base_width / 64)) * groups
    squeezed = max(8, width // 4)
    y = x -> conv2d(width, 1) as conv1 -> conv2d(width, 3, padding=1, groups=groups) as conv2
    gate = y -> conv2d(squeezed, 1) as fc1 -> conv2d(width, 1) as fc2 -> sigmoid
    out gate * y -> conv2d(x.channels, 1) as conv3
}
network Net(groups=4, base_width=8) {
    in image: [16, 8, 8]
    out image -> Bottleneck(16, groups, base_width) as a -> Bottleneck(32, 2) as b
}
"""


def test_values_a_body_names_are_computed_once_under_their_names(tmp_path: Path) -> None:
    """`width = ...` in a block is one statement of `__init__`, which the layers read by name
    (and `squeezed`, which reads it, after it), as torchvision's Bottleneck computes `width`;
    built with other arguments, the class is the network the spec elaborates with them."""
    path = tmp_path / "named.arch"
    path.write_text(NAMED_VALUES, encoding="utf-8")
    source = api.compile_source(str(path))
    assert (
        "        width = int(planes * (base_width / 64)) * groups\n"
        "        squeezed = max(8, width // 4)\n"
        "        self.conv1 = nn.Conv2d(in_channels, width, kernel_size=1)\n"
    ) in source
    assert source.count("int(planes") == 1
    module = runtime.load_source(source, "archc_named_values")
    for groups, base_width in ((4, 8), (2, 32), (1, 64)):
        (network,), _ = api.analyse(
            str(path), overrides={"groups": groups, "base_width": base_width}
        )
        model = module.Net(groups=groups, base_width=base_width)
        state = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        assert state == network.parameters()
        assert model(torch.randn(2, 16, 8, 8)).shape == (2, 16, 8, 8)


def test_copies_built_alike_are_a_comprehension_over_the_count() -> None:
    """`GPT2Block(...) * layers as h` is one constructor call in a comprehension over the
    count, which the class takes: `BertBase(layers=2)` has two layers, and GPT-2's init rules,
    written from `layers` too, keep `layers` a parameter of its class."""
    gpt2 = api.compile_source("specs/gpt2.arch")
    built = "self.h = nn.Sequential(*[GPT2Block(d_model, heads, p_drop=p_drop) for _ in range(layers)])"
    assert built in gpt2
    module = runtime.load_source(api.compile_source("specs/bert_base.arch"), "archc_bert")
    with torch.device("meta"):
        bert = module.BertBase(layers=2)
    assert len(bert.encoder.layer) == 2
    assert "encoder.layer.1.attention.self.in_proj_weight" in bert.state_dict()
    assert not any(key.startswith("encoder.layer.2.") for key in bert.state_dict())


REPEATS = """
block Unit(width) {
    in x
    out x -> linear(width) -> relu
}
block Stage(n, width=16) {
    in x
    out x -> Unit(width) * n as units
}
network Repeats(depth=3) {
    in x: [16]
    y = x -> (Unit(16) * 3) * 4 as nested
    y = y -> (linear(16) -> relu) * 3 as pairs
    y = y -> Unit(16) * depth as counted
    out y -> Stage(2) as a -> Stage(depth) as b -> Stage(5) as c
}
"""


def test_repeats_of_several_children_per_copy_build_every_child(tmp_path: Path) -> None:
    """A comprehension holds one child per copy: `(Unit * 3) * 4 as nested` has twelve and
    `(linear -> relu) * 3 as pairs` six, so those are listed; the others are counted."""
    spec = tmp_path / "repeats.arch"
    spec.write_text(REPEATS, encoding="utf-8")
    check_against_static(str(spec))
    source = api.compile_source(str(spec))
    assert "self.counted = nn.Sequential(*[Unit(16, 16) for _ in range(depth)])" in source
    # the first copy takes the stage's input, the others the copy before
    assert (
        "self.units = nn.Sequential(\n"
        "            Unit(in_features, width), *[Unit(width, width) for _ in range(n - 1)]\n"
        "        )" in source
    )
    assert "range(4)" not in source and "range(3)" not in source


def test_gpt2_class_builds_every_size_from_its_parameters() -> None:
    """The generated GPT2 takes every parameter of the spec, its init rules included:
    GPT2(layers=24, d_model=1024, heads=16) is GPT-2 medium, as `-D` compiles it."""
    source = api.compile_source("specs/gpt2.arch")
    assert "std=0.02 / math.sqrt(2 * self.layers)" in source
    module = runtime.load_source(source, "archc_gpt2_sizes")
    with torch.device("meta"):
        medium = module.GPT2(layers=24, d_model=1024, heads=16)
    assert sum(p.numel() for p in medium.parameters()) == 354_823_168
    (network,), _ = api.analyse(
        "specs/gpt2.arch", overrides={"layers": 24, "d_model": 1024, "heads": 16}
    )
    assert network.param_count == 354_823_168
    assert {k: tuple(v.shape) for k, v in medium.state_dict().items()} == {
        **network.parameters(),
        **network.buffers(),
    }


CHOSEN = """
block Head(width) {
    in x
    y = if width > 16 then x -> linear(width) -> relu else x -> linear(width)
    out y
}
network Net(width=32, bi=false, hidden=8) {
    in x: [T, 4]
    h = x -> gru(hidden, bidirectional=bi) -> Head(width)
    out h
}
"""


def test_parameters_that_choose_structure_are_written_as_values(tmp_path: Path) -> None:
    """A parameter a test chooses layers with (`width > 16`) cannot follow the class's
    argument; a truth value an op branches on (`bidirectional`) can, where the sizes it decides
    follow it (semantics/flags.py) and the op is written alike either way."""
    spec = tmp_path / "chosen.arch"
    spec.write_text(CHOSEN, encoding="utf-8")
    source = api.compile_source(str(spec))
    assert "    def __init__(self, bi: bool = False, hidden: int = 8) -> None:\n" in source
    assert "nn.GRU(4, hidden, batch_first=True, bidirectional=bi)" in source
    assert "Head(2 * hidden if bi else hidden, 32)" in source
    (network,), _ = api.analyse(str(spec))
    assert network.modules["head1"].guards == (Apply(">", (Param("width"), Lit(16))),)


def test_resnet50_has_one_bottleneck_class_with_an_optional_downsample() -> None:
    """Blocks with and without the projection shortcut are one class, as in torchvision:
    `downsample` is built under the spec's test, else None, and both kinds of instance
    compute what the reference interpreter computes."""
    source = api.compile_source("specs/resnet50.arch")
    assert source.count("class Bottleneck") == 1
    assert "        if stride != 1 or in_channels != planes * expansion:\n" in source
    assert "skip = self.downsample(x) if self.downsample is not None else x" in source
    with torch.device("meta"):
        model = runtime.build("specs/resnet50.arch", device="meta")
    assert model.layer2[0].downsample is not None and model.layer2[1].downsample is None
    ((passed, verdict),) = runtime.selftest("specs/resnet50.arch")
    assert passed, verdict


OPTIONAL = (GOLDEN / "optional_submodule" / "input.arch").read_text(encoding="utf-8")


@pytest.mark.parametrize("arguments", [{"stride": 2}, {"width": 16}])
def test_an_alternative_no_instance_takes_is_built_for_arguments_that_need_it(
    tmp_path: Path, arguments: dict[str, int]
) -> None:
    """Every `Res` of the spec takes `else x`; its class, given arguments that take the
    projection, builds what the spec compiled with those arguments (`-D`) builds: the same
    state_dict and, with the same weights, the same outputs."""
    spec = tmp_path / "optional.arch"
    spec.write_text(OPTIONAL, encoding="utf-8")
    (network,), _ = api.analyse(str(spec))
    assert not any("downsample" in node.path for node in network.nodes())  # set aside
    module = runtime.load_source(api.compile_source(str(spec)), "archc_optional")
    expected = runtime.build(str(spec), "Net", seed=0, **arguments).res1.eval()
    assert expected.downsample is not None
    width = arguments.get("width", 8)
    built = module.Res(8, width, stride=arguments.get("stride", 1)).eval()
    assert _shapes(built) == _shapes(expected)
    built.load_state_dict(expected.state_dict())
    x = torch.randn(2, 8, 16, 16)
    with torch.no_grad():
        assert torch.equal(built(x), expected(x))
    with torch.device("meta"):  # and the network's class follows those arguments too
        assert _shapes(module.Net(**arguments)) == _shapes(
            runtime.build(str(spec), "Net", device="meta", **arguments)
        )


UNBUILDABLE = """
block Conv(width, grouped=false) {
    in x
    y = if grouped then x -> conv2d(width, 3, padding=1, groups=3) else x -> conv2d(width, 3, padding=1)
    out y
}
network Net {
    in x: [8, 16, 16]
    out x -> Conv(8)
}
"""


def test_an_alternative_these_values_cannot_build_is_refused_where_it_is_needed(
    tmp_path: Path,
) -> None:
    """`groups=3` does not divide 8 channels, so the spec cannot say what `grouped=true`
    builds here: the class raises ValueError for it rather than build the other layers."""
    spec = tmp_path / "unbuildable.arch"
    spec.write_text(UNBUILDABLE, encoding="utf-8")
    source = api.compile_source(str(spec))
    assert "        if grouped:\n            raise ValueError(" in source
    module = runtime.load_source(source, "archc_unbuildable")
    assert module.Conv(8, 8).conv1.groups == 1
    with pytest.raises(ValueError, match="Conv: no layers known for these arguments"):
        module.Conv(8, 8, grouped=True)


def test_instances_repeating_a_different_number_of_times_share_a_class() -> None:
    """`Unit(width) * n as units` with n = 2, 3 and 1: one Stage class, the count its
    parameter, each instance built with its own."""
    spec = spec_of("repeat_counts")
    source = api.compile_source(spec)
    assert source.count("class Stage") == 1
    assert "self.units = nn.Sequential(*[Unit(width, width) for _ in range(n)])" in source
    model = runtime.build(spec, device="meta")
    assert [len(stage.units) for stage in model.children()] == [2, 3, 1]
