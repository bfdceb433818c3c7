"""`init` rules: which parameters they reach, the code they become, and the weights it gives."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from archc import api, runtime
from archc.errors import Diagnostic
from archc.semantics.ir import Network

SPEC = """
init linear.weight: xavier_uniform
init linear.bias: zeros
network MLP(layers=4) {
    in x: [256]
    init "fc*.weight": normal(std=0.02 / sqrt(2 * layers))
    init head: variance_scaling(2.0, mode="fan_avg", distribution="uniform")
    h = x -> linear(512) as fc1 -> gelu -> linear(512) as fc2 -> gelu
    out h -> Head(128) as head_block -> linear(10) as head
}

block Head(width) {
    in x
    init linear: weight=1, bias=0.5
    out x -> linear(width) as proj
}
"""


def analyse(tmp_path: Path, text: str) -> tuple[list[Network], list[Diagnostic]]:
    spec = tmp_path / "spec.arch"
    spec.write_text(text)
    return api.analyse(str(spec))


def test_rules_reach_their_layers_in_order(tmp_path: Path) -> None:
    (network,), diagnostics = analyse(tmp_path, SPEC)
    assert not diagnostics
    applied = [(a.node.path, a.parameter, a.scheme.scheme.name) for a in network.inits]
    assert applied == [
        ("fc1", "weight", "xavier_uniform"), ("fc2", "weight", "xavier_uniform"),
        ("head_block.proj", "weight", "xavier_uniform"), ("head", "weight", "xavier_uniform"),
        ("fc1", "bias", "zeros"), ("fc2", "bias", "zeros"),
        ("head_block.proj", "bias", "zeros"), ("head", "bias", "zeros"),
        ("fc1", "weight", "normal"), ("fc2", "weight", "normal"),
        ("head", "weight", "variance_scaling"),
        ("head_block.proj", "weight", "constant"), ("head_block.proj", "bias", "constant"),
    ]  # fmt: skip
    std = [a.scheme.args.std for a in network.inits if a.scheme.scheme.name == "normal"]
    assert std == [pytest.approx(0.02 / (2 * 4) ** 0.5)] * 2


def test_built_weights_follow_the_rules(tmp_path: Path) -> None:
    spec = tmp_path / "spec.arch"
    spec.write_text(SPEC)
    torch.manual_seed(0)
    model = runtime.build(str(spec))
    assert torch.all(model.head_block.proj.weight == 1) and torch.all(
        model.head_block.proj.bias == 0.5
    )
    assert torch.all(model.fc1.bias == 0) and torch.all(model.head.bias == 0)
    assert model.fc1.weight.std().item() == pytest.approx(0.02 / 8**0.5, rel=0.05)
    fan_avg = (128 + 10) / 2
    bound = (3 * 2.0 / fan_avg) ** 0.5
    assert model.head.weight.abs().max().item() <= bound
    assert model.head.weight.std().item() == pytest.approx(bound / 3**0.5, rel=0.25)
    reseeded = runtime.build(str(spec), seed=3)
    assert torch.all(reseeded.head_block.proj.weight == 1)  # the rules apply under a seed too
    again = runtime.build(str(spec), seed=3)
    assert torch.equal(reseeded.fc2.weight, again.fc2.weight)


def test_generated_code_reads_like_torchvision(tmp_path: Path) -> None:
    spec = tmp_path / "spec.arch"
    spec.write_text(SPEC)
    source = api.compile_source(str(spec))
    assert (
        "        if isinstance(module, nn.Linear):\n            nn.init.xavier_uniform_(module.weight)\n            nn.init.zeros_(module.bias)\n"
        in source
    )
    # a glob stays a glob, and a scheme's argument an expression of the network's parameters
    assert (
        '        if fnmatch.fnmatchcase(name, "fc*"):\n'
        "            nn.init.normal_(module.weight, std=0.02 / math.sqrt(2 * self.layers))\n"
        in source
    )
    assert "        self.layers = layers\n" in source
    assert "def variance_scaling_(" in source
    assert source.count("self.reset_parameters()") == 1


@pytest.mark.parametrize(
    ("rule", "code"),
    [
        ("init conv2d.weight: kaiming_norml", "A250"),
        ('init linear.weight: kaiming_normal(mode="fan_ot")', "A250"),
        ("init linear.weights: zeros", "A251"),
        ("init linear.bias: orthogonal", "A252"),
        ("init conv2d.weight: zeros", "A253"),
        ("init fc9.weight: zeros", "A253"),
        ("init linear.weight: xavier_uniform", "A254"),
    ],
)
def test_rule_problems(tmp_path: Path, rule: str, code: str) -> None:
    text = f"{rule}\nnetwork N {{\n in x: [8]\n out x -> linear(4) as fc -> relu\n}}\n"
    _, diagnostics = analyse(tmp_path, text)
    assert [d.code for d in diagnostics] == [code], diagnostics
    assert diagnostics[0].span is not None and diagnostics[0].span.line == 1


def test_no_rules_no_init_methods(tmp_path: Path) -> None:
    spec = tmp_path / "spec.arch"
    spec.write_text("network N {\n in x: [8]\n out x -> linear(4)\n}\n")
    assert "reset_parameters" not in api.compile_source(str(spec))


@pytest.mark.parametrize(
    "layer",
    [
        "moe(6, experts=2, top_k=1)",  # its router, `gate`, is an nn.Linear without a bias
        'attention(2, bias=false, layout="linears")',
    ],
)
def test_a_kind_rule_passes_over_the_modules_inside_other_layers(
    tmp_path: Path, layer: str
) -> None:
    """`init linear.bias` sets the linear layers' biases, not those of an nn.Linear that
    another layer holds inside itself (which may have none)."""
    spec = tmp_path / "spec.arch"
    spec.write_text(
        "init linear.bias: constant(0.5)\n"
        f"network N {{\n in x: [T, 8]\n out x -> {layer} as inner -> linear(4) as fc\n}}\n"
    )
    model = runtime.build(str(spec))
    assert torch.all(model.fc.bias == 0.5)
    inner = [m.bias for m in model.inner.modules() if isinstance(m, torch.nn.Linear)]
    assert inner and all(bias is None or not torch.all(bias == 0.5) for bias in inner)


PADDED = """
network Tokens(pad=2) {{
    in ids: int64[T]
    words = ids -> embedding(10, 4, padding_idx=pad) as words
    last = ids -> embedding(12, 4, padding_idx=-1) as last
    plain = ids -> embedding(6, 4) as plain
    init embedding.weight: {scheme}
    out words + last + plain
}}
"""


@pytest.mark.parametrize(
    "scheme", ["normal(std=0.02)", "uniform(-1, 1)", "ones", "constant(3.0)", "xavier_normal"]
)
def test_a_rule_on_an_embedding_keeps_its_padding_row_zero(tmp_path: Path, scheme: str) -> None:
    """PyTorch zeroes an embedding's padding row after drawing the others, and so does a rule
    that draws them again, whatever its scheme: in `reset_parameters`, under a seed, and for
    the padding row the class is given; an embedding without one keeps every row drawn."""
    spec = tmp_path / "spec.arch"
    spec.write_text(PADDED.format(scheme=scheme))
    (network,), diagnostics = api.analyse(str(spec))
    assert not diagnostics
    kept = {a.node.path: a.node.resolved.get("zero_rows") for a in network.inits}
    assert kept == {"words": {"weight": ("padding_idx", 2)}, "last": {"weight": ("padding_idx", 11)}, "plain": None}  # fmt: skip
    module = runtime.load_source(api.compile_source(str(spec)), "archc_padded_tokens")
    tokens = getattr(module, runtime.network_class_name(module, "Tokens"))
    reseeded = tokens()
    runtime.reseed(reseeded, 3)
    for pad, model in ((2, runtime.build(str(spec))), (2, reseeded), (7, tokens(pad=7))):
        for layer, row in (("words", pad), ("last", 11), ("plain", None)):
            weight = getattr(model, layer).weight.detach()
            drawn = [r for r in range(len(weight)) if r != row]
            assert torch.all(weight[drawn] != 0), (layer, scheme)
            assert row is None or torch.all(weight[row] == 0), (layer, scheme)
