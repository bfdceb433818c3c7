"""Building what archc compiled: the PyTorch module must be exactly the static model.

Every network of a spec that checks is compiled and built on the meta device, and its
parameter count and state_dict names and shapes compared with the static model's; a network
small enough is also built on the CPU and run on a batch, every symbolic size at `SIZE`, and
its output shapes compared. Any refusal, exception or difference is a :class:`FuzzFailure`.
"""

from __future__ import annotations

import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

from archc import api, dims, runtime
from archc.runtime import network_class_name
from archc.semantics.ir import Network
from tests.fuzz.harness import FuzzFailure

SIZE = 32  # what a symbolic size is when a network runs
BATCH = 2
RUN_LIMIT = 2_000_000  # parameters: a network with more is built on the meta device only


def check_built(path: Path) -> None:
    """Raise :class:`FuzzFailure` unless every network of the spec at ``path`` builds the
    static model."""
    check_networks(*compile_checked(path))


def compile_checked(path: Path) -> tuple[list[Network], ModuleType]:
    """The networks of the spec at ``path`` and the module they compile to; raises
    :class:`FuzzFailure` where the spec has errors, compile refuses it (ArchError), or the
    generated module fails to load."""
    networks, diagnostics = api.analyse(str(path))
    errors = [d for d in diagnostics if d.is_error]
    if errors:
        raise FuzzFailure(f"the spec has errors: {errors[0].message}")
    try:
        source = api.render_source(str(path), networks, diagnostics)
        return networks, runtime.load_source(source, "archc_fuzzed")
    except Exception:
        raise FuzzFailure(f"compiling: {traceback.format_exc(limit=-4)}") from None


def check_networks(networks: list[Network], module: ModuleType) -> None:
    """Raise :class:`FuzzFailure` unless each of ``networks``, built from its class in
    ``module``, is the static model."""
    for network in networks:
        try:
            problems = _differences(
                getattr(module, network_class_name(module, network.name)), network
            )
        except Exception:  # the generated code failing to build or run
            problems = [traceback.format_exc(limit=-4)]
        if problems:
            raise FuzzFailure(f"network {network.name}: " + "; ".join(problems))


def _differences(cls: Any, network: Network) -> list[str]:
    import torch

    problems = []
    with torch.device("meta"):
        meta = cls()
    built = sum(p.numel() for p in meta.parameters())
    if built != network.param_count:
        problems.append(f"{built} parameters built, {network.param_count} predicted")
    state = {name: tuple(t.shape) for name, t in meta.state_dict().items()}
    expected = {**network.parameters(), **network.buffers()}
    if state != expected:
        extra, missing = sorted(set(state) - set(expected)), sorted(set(expected) - set(state))
        shapes = sorted(k for k in set(state) & set(expected) if state[k] != expected[k])
        problems.append(f"state_dict: extra {extra}, missing {missing}, reshaped {shapes}")
    if problems or network.param_count > RUN_LIMIT:
        return problems
    model = cls().eval()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small networks: threads would only contend
    try:
        with torch.no_grad():
            produced = model(*[_sample(network, ref) for ref in network.inputs.values()])
    finally:
        torch.set_num_threads(threads)
    produced = produced if isinstance(produced, tuple) else (produced,)
    shapes = [tuple(t.shape) for t in produced]
    predicted = [_concrete(network.type_of(ref).shape) for ref in network.outputs.values()]
    if shapes != predicted:
        problems.append(f"outputs {shapes}, predicted {predicted}")
    return problems


def _concrete(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """A static shape with the batch at BATCH and every other symbol at SIZE."""
    sizes = {dims.BATCH_NAME: BATCH}
    for size in shape:
        if isinstance(size, dims.Sym):
            sizes |= {str(s): SIZE for s in size.expr.free_symbols if str(s) != dims.BATCH_NAME}
    return tuple(dims.evaluate(size, sizes) for size in shape)


def _sample(network: Network, ref: Any) -> Any:
    import torch

    tensor = network.type_of(ref)
    shape = _concrete(tensor.shape)
    if tensor.dtype.startswith("int"):
        return torch.randint(0, 2, shape)
    return torch.randn(shape)
