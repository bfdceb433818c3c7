"""The model traced again at other lengths of its symbolic axes, and matched node by node with
the trace on the example inputs.

Each symbol's axes are taken two shorter (longer where the example is shorter than 3), the
inputs cut or repeated so that their values stay ones the model was given. A symbol whose
traces fail or take other steps keeps the example's length, and the lines of the model's source
that branch on a value that changes with a symbol are kept to name in the header.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import fx, nn

from archc.importer.failures import node_frame
from archc.importer.sizes import Axis, probe_lengths, resized
from archc.importer.tracer import Tracer, reads, refusing_autograd_functions
from archc.importer.values import Probes, Recorder


def probe_axes(
    model: nn.Module,
    opaque: set[str],
    inputs: tuple[torch.Tensor, ...],
    axes: tuple[Axis, ...],
    graph: fx.Graph,
) -> tuple[Probes, dict[str, str]]:
    """The model traced again with each symbol's axes at two other lengths, and the symbols
    that keep their length, with the reason: the model fails there, or takes other steps."""
    probes: Probes = {}
    fixed: dict[str, str] = {}
    for axis in axes:
        if axis.symbol in probes or axis.symbol in fixed:
            continue
        base = int(inputs[axis.input].shape[axis.dim])
        if base < 1:  # an empty axis repeats into no other length
            fixed[axis.symbol] = "an empty example says nothing of other lengths"
            continue
        traces = []
        for length in probe_lengths(base):
            found = _probe(model, opaque, resized(inputs, axes, axis.symbol, length), graph)
            if isinstance(found, str):
                fixed[axis.symbol] = f"{found} at {length}"
                break
            traces.append((base, length, found))
        else:
            probes[axis.symbol] = traces
    return probes, fixed


def _probe(
    model: nn.Module, opaque: set[str], inputs: tuple[torch.Tensor, ...], graph: fx.Graph
) -> dict[str, Any] | str:
    """The value of each node of ``graph`` in the model traced on ``inputs``, or why there is
    none. Constants fx adds to the model for this trace are taken off it again."""
    before = set(vars(model))
    try:
        with refusing_autograd_functions():
            other = Tracer(model, opaque, inputs).trace(model)
        values = Recorder(fx.GraphModule(model, other)).values(*inputs)
    except Exception:  # whatever the model raises on inputs of that length
        return "the model fails"
    finally:
        for added in set(vars(model)) - before:
            delattr(model, added)
    if _outline(graph) != _outline(other):
        return "the model takes other steps"
    return {a.name: values[b.name] for a, b in zip(graph.nodes, other.nodes, strict=True)}


def _outline(graph: fx.Graph) -> list[tuple[Any, ...]]:
    """What each node calls and with what, the nodes it reads by their places: two traces
    with the same outline take the same steps (fx names the constants it adds to the model
    after those it added before, so a constant's name is left out)."""
    places = {node: index for index, node in enumerate(graph.nodes)}

    def place(node: fx.Node) -> Any:
        return ("node", places[node])

    return [
        (
            node.op,
            None if node.op == "get_attr" else node.target,
            fx.node.map_arg(node.args, place),
            fx.node.map_arg(node.kwargs, place),
        )
        for node in graph.nodes
    ]


def symbol_branches(
    decided: list[fx.Node], values: dict[str, Any], probes: Probes
) -> dict[str, list[tuple[str, int]]]:
    """By symbol, the lines of the model's source that branch on values that change with it:
    the spec takes the branch the example takes at every length."""
    found: dict[str, list[tuple[str, int]]] = {}
    for node in dict.fromkeys(decided):
        where = node_frame(node.stack_trace)
        if where is None or node.name not in values:
            continue
        # the values compared: where they are the same at every length, so is the branch
        read = {node.name, *(used.name for used in reads(node))}
        for symbol, traces in probes.items():
            if any(
                not _equal(values[name], probed[name])
                for *_, probed in traces
                for name in read
                if name in values
            ):
                found.setdefault(symbol, [])
                if where not in found[symbol]:
                    found[symbol].append(where)
    return found


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (
            isinstance(a, torch.Tensor)
            and isinstance(b, torch.Tensor)
            and a.shape == b.shape
            and torch.equal(a, b)
        )
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)
