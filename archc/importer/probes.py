"""The model traced again at other lengths of its symbolic axes, and matched node by node with
the trace on the example inputs.

Each symbol's axes are taken two shorter (longer where the example is shorter than 3), the
inputs cut or repeated so that their values stay ones the model was given. A symbol whose
traces fail or take other steps keeps the example's length; the values of the traces also say
at which lengths a line that branches on the symbol goes the example's way
(:mod:`archc.importer.branches`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import fx, nn

from archc.importer.folds import unfold_batch
from archc.importer.sizes import Axis, probe_lengths, resized
from archc.importer.tracer import Tracer, refusing_autograd_functions
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
        unfold_batch(other, model)
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
