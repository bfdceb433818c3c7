"""Generated valid specs, built: the PyTorch module must be exactly the static model.

For specs written by `tests/fuzz/valid.py`, every network is compiled and built, and the module
must have the static parameter count, state_dict names and shapes, output shapes and, layer by
layer through forward hooks, the shapes elaboration inferred, with every symbolic size at
`SIZE`. Formatting each spec must keep its syntax tree, and formatting again must change
nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import given, settings

from archc import api, dims, runtime
from archc.semantics.ir import Network
from tests.fuzz.cases import Case, cases
from tests.fuzz.choices import FUZZ
from tests.fuzz.valid import SIZE
from tests.test_codegen import called_plainly
from tests.test_fmt import assert_canonical

BATCH = 2


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("differential")


def concrete(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """A static shape with the batch at BATCH and every symbol at SIZE."""
    sizes = {dims.BATCH_NAME: BATCH}
    for size in shape:
        if isinstance(size, dims.Sym):
            sizes |= {str(s): SIZE for s in size.expr.free_symbols if str(s) != dims.BATCH_NAME}
    return tuple(dims.evaluate(size, sizes) for size in shape)


def inputs_of(network: Network) -> list[torch.Tensor]:
    tensors = []
    for ref in network.inputs.values():
        tensor = network.type_of(ref)
        shape = concrete(tensor.shape)
        if tensor.dtype.startswith("int"):
            tensors.append(torch.randint(0, 2, shape))
        else:
            tensors.append(torch.randn(shape))
    return tensors


def check_built(path: Path, network: Network) -> None:
    model = runtime.build(str(path), network.name, seed=0).eval()
    assert sum(p.numel() for p in model.parameters()) == network.param_count
    state = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    assert state == {**network.parameters(), **network.buffers()}
    seen: dict[str, Any] = {}
    hooks = [
        module.register_forward_hook(lambda m, i, o, p=name: seen.__setitem__(p, o))
        for name, module in model.named_modules()
        if name
    ]
    with torch.no_grad():
        produced = model(*inputs_of(network))
    for hook in hooks:
        hook.remove()
    produced = produced if isinstance(produced, tuple) else (produced,)
    expected = [concrete(network.type_of(ref).shape) for ref in network.outputs.values()]
    assert [tuple(t.shape) for t in produced] == expected
    for node in network.nodes():
        output = seen.get(node.path)
        if isinstance(output, torch.Tensor) and called_plainly(node):
            assert tuple(output.shape) == concrete(node.outputs[0].shape), node.path


@settings(FUZZ, max_examples=30)
@given(cases("valid"))
def test_generated_specs_build_their_static_model(directory: Path, case: Case) -> None:
    text = case.data.decode()
    path = directory / "spec.arch"
    path.write_text(text, encoding="utf-8")
    networks, diagnostics = api.analyse(str(path))
    assert [d for d in diagnostics if d.is_error] == []
    for network in networks:
        check_built(path, network)
    formatted = assert_canonical(text)  # same tree, and formatting twice changes nothing
    path.write_text(formatted, encoding="utf-8")
    again, _ = api.analyse(str(path))
    assert [n.param_count for n in again] == [n.param_count for n in networks]


# Specs the differential test once failed on, kept as they were written.
REGRESSIONS = {
    # `batch_first=True` was written as a parameter that happens to be 1 (True == 1 in Python)
    "true_is_not_one": """
network Net(classes=4) {
    in x: [T, 8]
    out x -> linear(classes // 4) -> lstm(16, output="last") -> linear(classes)
}
""",
}


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_regression(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.arch"
    path.write_text(REGRESSIONS[name], encoding="utf-8")
    networks, diagnostics = api.analyse(str(path))
    assert [d for d in diagnostics if d.is_error] == []
    for network in networks:
        check_built(path, network)
