"""Tensors a module holds itself (`parameter`): held with exactly the shape written, frozen out
of training, and set by `init` rules that name them."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from archc import api, runtime
from archc.backends import summary

SPEC = """
block Attention(heads) {
    in x
    scale = x -> parameter(heads, 1, 1, exact=true) as logit_scale
    out x * (scale -> exp -> flatten(1) -> sum(1) -> unsqueeze(1) -> unsqueeze(2))
}
network Net(heads=3) {
    in x: [4, 8]
    table = x -> parameter(4, 8, std=0.02, frozen=true) as table
    out (x + table) -> Attention(heads) as attn1 -> Attention(heads) as attn2
    init "*.logit_scale": constant(2.5)
}
"""


def spec(tmp_path: Path) -> str:
    path = tmp_path / "net.arch"
    path.write_text(SPEC)
    return str(path)


def test_an_exact_parameter_is_held_as_written_and_broadcasts(tmp_path: Path) -> None:
    (network,), diagnostics = api.analyse(spec(tmp_path))
    assert not diagnostics
    assert network.parameters()["attn1.logit_scale"] == (3, 1, 1)
    assert network.parameters()["table"] == (1, 4, 8)
    model = runtime.build(spec(tmp_path), seed=0)
    assert model.attn1.logit_scale.shape == (3, 1, 1)
    out = model(torch.zeros(2, 4, 8))
    assert out.shape == (2, 4, 8)


def test_init_rules_reach_held_tensors_in_every_instance(tmp_path: Path) -> None:
    (network,), _ = api.analyse(spec(tmp_path))
    applied = [(a.node.path, a.parameter, a.scheme.scheme.name) for a in network.inits]
    assert applied == [
        ("attn1.logit_scale", "", "constant"),
        ("attn2.logit_scale", "", "constant"),
    ]
    model = runtime.build(spec(tmp_path), seed=0)
    for attention in (model.attn1, model.attn2):
        assert torch.all(attention.logit_scale == 2.5)
    # the table keeps its own normal draw: no rule names it
    assert 0.0 < model.table.std().item() < 0.1
    source = api.compile_source(spec(tmp_path))
    assert 'if name in ("attn1", "attn2"):' in source
    assert "nn.init.constant_(module.logit_scale, 2.5)" in source


def test_a_frozen_parameter_is_loaded_but_not_trained(tmp_path: Path) -> None:
    model = runtime.build(spec(tmp_path), seed=0)
    assert not model.table.requires_grad
    assert model.attn1.logit_scale.requires_grad
    assert "table" in model.state_dict()
    (network,), _ = api.analyse(spec(tmp_path))
    assert network.param_count == 32 + 3 + 3
    assert network.trainable_count == 3 + 3
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert summary.totals(network)["trainable_params"] == trainable
    table = summary.render_table(network)
    assert "Trainable:          6" in table
    rows = {line.split()[0]: line for line in table.splitlines() if line.strip()}
    assert "parameter (frozen)" in rows["table"]
    assert "frozen" not in rows["attn1"]
    assert math.isclose(model.attn1.logit_scale.sum().item(), 7.5)


FILLED = """
block Scaled(start=0.5) {
    in x
    gamma = x -> parameter(x.channels, 1, 1, exact=true, fill=start) as layer_scale
    out gamma * x
}
network Net(start=1e-06) {
    in x: [4, 3, 3]
    bias = x -> parameter(7, fill=start * 2) as bias
    out x -> Scaled(start) as a -> Scaled as b -> Scaled(-start) as c
}
"""


def test_a_filled_parameter_starts_at_its_value_for_every_argument(tmp_path: Path) -> None:
    path = tmp_path / "net.arch"
    path.write_text(FILLED)
    source = api.compile_source(str(path))
    # the class takes the value and holds it from its constructor, as ConvNeXt's block does
    assert "nn.Parameter(torch.full((in_channels, 1, 1), start))" in source
    assert "nn.Parameter(torch.full((1, 7), start * 2))" in source
    model = runtime.build(str(path), seed=0)
    assert torch.all(model.a.layer_scale == 1e-06) and model.a.layer_scale.shape == (4, 1, 1)
    assert torch.all(model.b.layer_scale == 0.5)
    assert torch.all(model.c.layer_scale == -1e-06)
    assert torch.all(model.bias == 2e-06)
    other = runtime.build(str(path), seed=0, start=0.25)
    assert torch.all(other.a.layer_scale == 0.25) and torch.all(other.c.layer_scale == -0.25)
    namespace: dict = {}
    exec(compile(source, "net.py", "exec"), namespace)
    assert torch.all(namespace["Scaled"](5, start=3.0).layer_scale == 3.0)


def test_a_parameter_starts_filled_or_drawn_not_both(tmp_path: Path) -> None:
    path = tmp_path / "net.arch"
    path.write_text(
        "network Net {\n    in x: [4]\n    out x -> parameter(4, std=0.1, fill=1.0)\n}"
    )
    _, diagnostics = api.analyse(str(path))
    (error,) = [d for d in diagnostics if d.is_error]
    assert error.code == "A309" and error.span.line == 3
    assert "starts filled (fill=1.0) or drawn (std=0.1), not both" in error.message
