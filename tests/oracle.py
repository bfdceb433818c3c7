"""Generated modules against the reference interpreter (archc/backends/interpret.py).

`check_values` builds a spec's generated module in float64, gives its batch norms running
statistics other than torch's initial zeros and ones, and runs it and the interpreter on the
module's own state_dict and the same random inputs: in eval mode, and in training mode with
every dropout rate set to 0 in the module (`dropout=False` in the interpreter, which then
drops nothing either), so that both runs are deterministic. Every output must agree within
`TOLERANCE`, relative to the largest value of the interpreter's output.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from archc import api, dims, runtime
from archc.backends.interpret import interpret
from archc.semantics.ir import Network

TOLERANCE = 1e-6
BATCH = 2
SIZE = 8  # what a symbolic size (T, H, W) is in these runs, unless a test says otherwise


def sizes_of(network: Network, size: int = SIZE) -> dict[str, int]:
    """The batch at BATCH and every symbol of the network's inputs at ``size``."""
    found = {
        str(s)
        for ref in network.inputs.values()
        for d in network.type_of(ref).shape[1:]
        if isinstance(d, dims.Sym)
        for s in d.expr.free_symbols
    }
    return dict.fromkeys(found, size) | {dims.BATCH_NAME: BATCH}


def random_inputs(network: Network, sizes: dict[str, int], seed: int = 0) -> dict[str, Any]:
    """Inputs by name: float64 normals, ids below 2 (every vocabulary has two entries), or
    masks of random booleans."""
    generator = torch.Generator().manual_seed(seed)
    inputs = {}
    for name, ref in network.inputs.items():
        tensor = network.type_of(ref)
        shape = [dims.evaluate(d, sizes) for d in tensor.shape]
        if tensor.dtype == "bool":  # a mask: the first key kept, so no attention row is empty
            inputs[name] = torch.rand(shape, generator=generator) < 0.5
            inputs[name][..., 0] = True
        elif tensor.dtype.startswith("int"):
            inputs[name] = torch.randint(0, 2, shape, generator=generator)
        elif tensor.dtype == "bool":
            inputs[name] = torch.rand(shape, generator=generator) < 0.5
        else:
            inputs[name] = torch.randn(shape, generator=generator, dtype=torch.float64)
    return inputs


def vary_running_statistics(model: torch.nn.Module, seed: int = 0) -> None:
    """Running means from N(0, 1) and variances from [0.5, 1.5): torch's zeros and ones would
    let a norm that ignores them pass."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for key, tensor in model.state_dict().items():
            if key.endswith("running_mean"):
                tensor.copy_(torch.randn(tensor.shape, generator=generator))
            elif key.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)


def silence_dropout(model: torch.nn.Module) -> None:
    """Every dropout rate of the module at 0: dropout modules' `p`, stochastic depth's (a copy
    of archc's helper class, so known by its name), and the `dropout` of recurrent layers and
    attention."""
    for module in model.modules():
        dropping = isinstance(module, torch.nn.modules.dropout._DropoutNd)
        if dropping or type(module).__name__ == "StochasticDepth":
            module.p = 0.0
        elif isinstance(getattr(module, "dropout", None), float):
            module.dropout = 0.0


def compare(
    network: Network,
    model: torch.nn.Module,
    inputs: Mapping[str, Any],
    training: bool,
) -> list[str]:
    """The outputs on which the module and the interpreter disagree, each with its largest
    difference; the module's state is read before it runs, so training updates do not count."""
    state = {key: tensor.clone() for key, tensor in model.state_dict().items()}
    model.train(training)
    with torch.no_grad():
        produced = model(*inputs.values())
        expected = interpret(network, state, inputs, training=training, dropout=False)
    produced = produced if isinstance(produced, tuple) else (produced,)
    problems = []
    for (name, reference), actual in zip(expected.items(), produced, strict=True):
        if tuple(actual.shape) != tuple(reference.shape):
            problems.append(f"{name}: shape {tuple(actual.shape)} vs {tuple(reference.shape)}")
            continue
        difference = runtime.difference(actual, reference)
        if not difference <= TOLERANCE:
            problems.append(f"{name}: differs by {difference:.3g} (relative)")
    return problems


def compile_spec(
    path: str | Path, overrides: Mapping[str, Any] | None = None, root: str | None = None
) -> tuple[list[Network], ModuleType]:
    """The networks of the spec at ``path`` and the module they compile to, once for all of
    them, as `archc compile` writes it and runtime.build runs it."""
    networks, diagnostics = api.analyse(str(path), overrides=dict(overrides or {}), root=root)
    assert not [d for d in diagnostics if d.is_error], diagnostics
    source = api.render_source(str(path), networks, diagnostics)
    return networks, runtime.load_source(source, f"archc_oracle_{Path(path).stem}")


def check_values(
    path: str | Path,
    overrides: Mapping[str, Any] | None = None,
    size: int = SIZE,
    root: str | None = None,
) -> None:
    """Every network of the spec at ``path``, built, agrees with the interpreter."""
    networks, module = compile_spec(path, overrides, root)
    check_compiled(networks, module, size, str(path))


def check_compiled(
    networks: list[Network], module: ModuleType, size: int = SIZE, label: str = "spec"
) -> None:
    """Every one of ``networks``, built from its class in ``module``, agrees with the
    interpreter; a failure names them by ``label``."""
    problems = []
    for network in networks:
        cls = getattr(module, runtime.network_class_name(module, network.name))
        torch.manual_seed(0)
        model = cls().to(torch.float64)
        vary_running_statistics(model)
        silence_dropout(model)
        inputs = random_inputs(network, sizes_of(network, size))
        for training in (False, True):
            mode = "train" if training else "eval"
            problems += [
                f"{network.name} ({mode}) {p}" for p in compare(network, model, inputs, training)
            ]
    assert not problems, f"{label}: " + "; ".join(problems)
