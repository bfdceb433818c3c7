"""Small specs written out, compiled and loaded, and a class they generate compared with the
reference interpreter on the spec elaborated with the same arguments."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import torch

from archc import api, runtime
from archc.semantics.ir import Network
from tests.oracle import compare, random_inputs, sizes_of


def compiled(tmp_path: Path, text: str, name: str) -> tuple[Path, ModuleType]:
    """The spec ``text`` written as ``name``.arch, and its generated module, loaded."""
    spec = tmp_path / f"{name}.arch"
    spec.write_text(text, encoding="utf-8")
    return spec, runtime.load_source(api.compile_source(str(spec)), f"archc_spec_{name}")


def elaborated(spec: Path, overrides: dict[str, object]) -> Network:
    """The last network of ``spec`` under ``overrides``, which the spec accepts."""
    networks, diagnostics = api.analyse(str(spec), None, overrides)
    assert [d for d in diagnostics if d.is_error] == []
    return networks[-1]


def assert_computes_as_spec(network: Network, model: torch.nn.Module) -> None:
    """``model`` holds the network's tensors and, in float64, computes its outputs in eval
    and in train mode."""
    assert sorted(model.state_dict()) == sorted({**network.parameters(), **network.buffers()})
    assert sum(p.numel() for p in model.parameters()) == network.param_count
    inputs = random_inputs(network, sizes_of(network))
    for training in (False, True):
        assert compare(network, model.double(), inputs, training) == [], training
