"""Named chains, dense blocks and combinators in generated modules: each named container is a
callable module that computes what the interpreter computes at its output, and no container
holds a placeholder for a join or an op written as an expression."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from archc import api, runtime
from archc.backends.interpret import interpret
from archc.semantics.ir import Network
from tests.conftest import ROOT
from tests.oracle import random_inputs, sizes_of, vary_running_statistics

DENSENET = str(ROOT / "specs" / "densenet121.arch")


def _network(path: str) -> Network:
    (network, *_), diagnostics = api.analyse(path)
    assert not [d for d in diagnostics if d.is_error], diagnostics
    return network


def _interpreted_at(network: Network, path: str, state: dict, inputs: dict) -> torch.Tensor:
    """What the interpreter computes at the output of the module at ``path``."""
    (ref,) = network.modules[path].outputs
    probe = dataclasses.replace(network, outputs={"probe": ref})
    return interpret(probe, state, inputs)["probe"]


def test_densenet_features_is_callable_and_computes_the_first_part_of_the_network() -> None:
    network = _network(DENSENET)
    model = runtime.build(DENSENET, seed=0, dtype=torch.float64).eval()
    vary_running_statistics(model)
    inputs = random_inputs(network, sizes_of(network) | {"N": 1})
    with torch.no_grad():
        features = model.features(inputs["image"])
        expected = _interpreted_at(network, "features", model.state_dict(), inputs)
    assert isinstance(model.features, torch.nn.Sequential)
    assert features.shape == (1, 1024, 7, 7)
    torch.testing.assert_close(features, expected, rtol=0, atol=1e-9)


def test_densenet_holds_no_placeholder_modules() -> None:
    source = api.compile_source(DENSENET)
    assert "nn.Identity" not in source
    model = runtime.build(DENSENET, device="meta")
    assert not [n for n, m in model.named_modules() if isinstance(m, torch.nn.Identity)]
    assert "features.denseblock1.denselayer1.norm1.weight" in model.state_dict()


def _build(tmp_path: Path, text: str) -> tuple[Network, torch.nn.Module]:
    path = tmp_path / "spec.arch"
    path.write_text(text, encoding="utf-8")
    return _network(str(path)), runtime.build(str(path), seed=0, dtype=torch.float64).eval()


def test_a_residual_in_a_named_chain_shifts_no_index(tmp_path: Path) -> None:
    network, model = _build(
        tmp_path,
        "network N {\n    in x: [8]\n"
        "    out y = x -> (linear(8) -> residual(linear(8) -> relu) -> linear(4)) as chain\n}\n",
    )
    keys = sorted(model.state_dict())
    assert keys == [f"chain.{i}.{p}" for i in (0, 1, 3) for p in ("bias", "weight")]
    assert not [m for m in model.modules() if isinstance(m, torch.nn.Identity)]
    inputs = random_inputs(network, sizes_of(network))
    with torch.no_grad():
        torch.testing.assert_close(
            model(inputs["x"]), interpret(network, model.state_dict(), inputs)["y"]
        )


def test_a_named_layer_named_again_keeps_both_names(tmp_path: Path) -> None:
    network, model = _build(
        tmp_path,
        "block B(w) {\n    in x\n    out x -> linear(w) as fc\n}\n"
        "network N {\n    in x: [8]\n    out y = x -> (B(4) as inner) as outer\n}\n",
    )
    assert sorted(model.state_dict()) == ["outer.inner.fc.bias", "outer.inner.fc.weight"]
    assert "outer.inner" in network.modules
    inputs = random_inputs(network, sizes_of(network))
    with torch.no_grad():
        torch.testing.assert_close(
            model.outer(inputs["x"]), interpret(network, model.state_dict(), inputs)["y"]
        )


def test_an_expression_in_a_named_chain_leaves_its_number_unused(tmp_path: Path) -> None:
    network, model = _build(
        tmp_path,
        "network N {\n    in x: [8]\n"
        "    out y = x -> (linear(8) -> unsqueeze(1) -> linear(4)) as head\n}\n",
    )
    assert isinstance(model.head, torch.nn.ModuleDict) and list(model.head) == ["0", "2"]
    assert not [m for m in model.modules() if isinstance(m, torch.nn.Identity)]
    inputs = random_inputs(network, sizes_of(network))
    with torch.no_grad():
        torch.testing.assert_close(
            model(inputs["x"]), interpret(network, model.state_dict(), inputs)["y"]
        )
