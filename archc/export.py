"""Exporting a compiled spec through torch's own exporters: ONNX, TorchScript, ExportedProgram.

The model is the one :func:`archc.runtime.build` makes (the generated source, seeded), or that
module with trained weights loaded (a state_dict file, read with ``torch.load(weights_only=True)``
and loaded strictly); the example inputs take their shapes from the static analysis. A dimension
the spec leaves symbolic (the batch `N`, a sequence length `T`, an image size `H`) stays dynamic
in the export: a named axis in ONNX, a `torch.export.Dim` in an ExportedProgram; TorchScript's
scripted code takes any size. torch is imported inside the functions only, like everywhere in
archc."""

from __future__ import annotations

import importlib.util
import logging
import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from archc import api, dims, runtime
from archc.errors import UsageError
from archc.semantics.ir import Network

FORMATS = ("onnx", "torchscript", "exported-program")


@dataclass(frozen=True)
class Example:
    """The inputs a network is exported with, and which of their axes are dynamic."""

    names: tuple[str, ...]
    tensors: tuple[Any, ...]
    axes: dict[str, dict[int, str]]  # input name -> {axis: the spec's symbol}
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class Exported:
    """What an export wrote: every file, and how it was made."""

    files: tuple[str, ...]
    description: str  # `ResNet18 as onnx (torch.onnx.export with dynamo)`


def export(
    path: str,
    format: str,
    output: str,
    network: str | None = None,
    strict: bool = False,
    root: str | None = None,
    weights: str | None = None,
    **overrides: Any,
) -> Exported:
    """Write the network of the spec at ``path`` to ``output``, with the state_dict saved at
    ``weights`` when given (else seeded weights).

    Raises :class:`ArchError` when the spec has errors, :class:`UsageError` for an unknown
    format or network, or weights that cannot be read or do not fit the network.
    """
    if format not in FORMATS:
        raise UsageError(f"unknown export format {format!r}; choose from {', '.join(FORMATS)}")
    runtime.require_torch()
    static = _network(path, network, overrides, strict, root)
    model = runtime.build(path, static.name, seed=0, root=root, **overrides).eval()
    if weights is not None:
        load_weights(model, weights, static.name)
    example = example_inputs(static)
    before = _stamps(output)
    how = EXPORTERS[format](model, example, output)
    after = _stamps(output)
    changed = sorted(name for name, stamp in after.items() if before.get(name) != stamp)
    written = tuple(changed) or (output,)  # a clock too coarse to tell still names the file
    source = f", weights from {weights}" if weights is not None else ""
    return Exported(written, f"{static.name} as {format} ({how}{source})")


def _stamps(output: str) -> dict[str, int]:
    """The files beside ``output`` with their modification times: an exporter may write more
    than the file named (ONNX's external weights), and the user hears of every one."""
    folder = Path(output).parent
    if not folder.is_dir():
        return {}
    return {
        os.path.join(os.path.dirname(output), entry.name): entry.stat().st_mtime_ns
        for entry in os.scandir(folder)
        if entry.is_file()
    }


def load_weights(model: Any, path: str, network: str) -> None:
    """Load the state_dict saved at ``path`` into ``model``, every key and shape matching.

    ``torch.load(weights_only=True)`` reads tensors and plain containers only, so a checkpoint
    never runs code. Raises :class:`UsageError` saying what does not fit.
    """
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as exc:
        raise UsageError(f"cannot read weights {path}: {exc.strerror or exc}") from None
    except Exception as exc:  # any other failure of a weights-only read: not a checkpoint
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(
            f"{path} is not a state_dict that torch.load(weights_only=True) reads: {reason}"
        ) from None
    if not isinstance(state, Mapping) or not all(
        isinstance(value, torch.Tensor) for value in state.values()
    ):
        held = f"a dict of {_listed(list(state))}" if isinstance(state, Mapping) else "no dict"
        raise UsageError(
            f"{path} holds {held}, not a state_dict (names to tensors); "
            "save `model.state_dict()` itself"
        )
    expected = model.state_dict()
    problems = []
    if missing := [key for key in expected if key not in state]:
        problems.append(f"missing {_listed(missing)}")
    if unexpected := [key for key in state if key not in expected]:
        problems.append(f"unexpected {_listed(unexpected)}")
    resized = [
        f"{key} is {tuple(state[key].shape)}, the network's {tuple(expected[key].shape)}"
        for key in expected
        if key in state and state[key].shape != expected[key].shape
    ]
    if resized:
        problems.append(_listed(resized, quote=False))
    if problems:
        raise UsageError(f"the weights in {path} do not fit `{network}`: {'; '.join(problems)}")
    model.load_state_dict(state, strict=True)


def _listed(items: list[str], quote: bool = True, shown: int = 4) -> str:
    words = [f"`{item}`" if quote else item for item in items[:shown]]
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return ", ".join(words) + more


def _network(
    path: str, network: str | None, overrides: dict[str, Any], strict: bool, root: str | None
) -> Network:
    networks, diagnostics = api.analyse(path, network, overrides, strict, root)
    api.require_networks(path, networks, diagnostics, network, "export")
    if len(networks) > 1:
        names = ", ".join(n.name for n in networks)
        raise UsageError(f"{path} defines several networks ({names}); pick one with --network")
    return networks[0]


def example_inputs(network: Network) -> Example:
    """Random inputs of the static shapes, symbols at the sizes the self-test gives them."""
    import torch

    types = {name: network.type_of(ref) for name, ref in network.inputs.items()}
    symbols = {
        str(symbol)
        for kind in types.values()
        for dim in (kind.shape if kind is not None else ())
        if isinstance(dim, dims.Sym)
        for symbol in dim.expr.free_symbols
    }
    sizes = dict.fromkeys(symbols, runtime.SELFTEST_SIZE) | {
        dims.BATCH_NAME: runtime.SELFTEST_BATCH
    }
    tensors, axes = [], {}
    for name, kind in types.items():
        assert kind is not None  # a network without errors knows its input types
        shape = [dims.evaluate(dim, sizes) for dim in kind.shape]
        dtype = getattr(torch, kind.dtype)
        # token ids and labels: small valid indices; masks: true and false
        if kind.dtype.startswith("int") or kind.dtype == "bool":
            tensors.append(torch.randint(0, 2, shape, dtype=dtype))
        else:
            tensors.append(torch.randn(shape, dtype=dtype))
        axes[name] = {
            axis: dim.name
            for axis, dim in enumerate(kind.shape)
            if isinstance(dim, dims.Sym) and dim.name is not None
        }
    return Example(tuple(types), tuple(tensors), axes, tuple(network.outputs))


def _onnx(model: Any, example: Example, output: str) -> str:
    import torch

    missing = [name for name in ("onnx", "onnxscript") if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(f"ONNX export needs {' and '.join(missing)}: pip install 'archc[onnx]'")
    # the exporter warns about torchvision ops it cannot register and about its own use of
    # deprecated torch internals: nothing a spec's author can act on
    onnx_log = logging.getLogger("torch.onnx")
    level = onnx_log.level
    onnx_log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            program = torch.onnx.export(
                model,
                example.tensors,
                input_names=list(example.names),
                output_names=list(example.outputs),
                # the spec's symbols name the ONNX axes, so `N`, `T` and `H` read as written
                dynamic_shapes={name: dict(axes) for name, axes in example.axes.items()},
                dynamo=True,
                verbose=False,
            )
    finally:
        onnx_log.setLevel(level)
    # one self-contained file; torch still moves the weights to a file beside it past the 2 GB
    # a protobuf can hold
    program.save(output, external_data=False)
    return "torch.onnx.export with dynamo"


def _torchscript(model: Any, example: Example, output: str) -> str:
    import torch

    try:
        compiled, how = torch.jit.script(model), "torch.jit.script"
    except Exception:  # code TorchScript cannot compile still traces: the graph is static
        compiled, how = torch.jit.trace(model, example.tensors), "torch.jit.trace"
    compiled.save(output)
    return how


def _exported_program(model: Any, example: Example, output: str) -> str:
    import torch
    from torch.export import Dim

    # AUTO, not a named Dim: a stride-2 stack makes torch require `H // 2 != 1` and similar;
    # AUTO records such constraints where a named Dim would refuse the export
    shapes = {name: {axis: Dim.AUTO for axis in axes} for name, axes in example.axes.items()}
    program = torch.export.export(model, example.tensors, dynamic_shapes=shapes)
    torch.export.save(program, output)
    return "torch.export.export"


EXPORTERS: dict[str, Callable[[Any, Example, str], str]] = {
    "onnx": _onnx,
    "torchscript": _torchscript,
    "exported-program": _exported_program,
}
