"""What the traced graph computes, read off runs of it: each node's value, each tensor's shape
and element type (in node.meta, for the steps built from the graph), and the values that are
not tensors and are computed from shapes alone.

Such a value is compared with its run on a batch twice as large, where the sizes that doubled
are ``BATCH`` and other values that changed cannot be written (``VARIES``), and with the traces
at other lengths of the symbolic axes (`Probes`), where what changed follows the axis as a
`Size` (:mod:`archc.importer.sizes`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import fx

from archc.dims import TensorType
from archc.importer.layers import BATCH, VARIES
from archc.importer.sizes import followed
from archc.importer.tracer import SHAPE_ATTRIBUTES, SHAPE_METHODS, reads

# the node.meta key of the shape of a node's tensor (None for other values)
SHAPE = "archc_shape"
# the node.meta key of that shape with the sizes that follow symbolic input axes as `Size`s
SIZES = "archc_sizes"
# the node.meta key of a constant tensor's values in the traces at other lengths
PROBED = "archc_probed"
# the node.meta key of the element type of a node's tensor, as a spec writes it
DTYPE = "archc_dtype"


class Recorder(fx.Interpreter):
    """Runs the graph, keeping every node's value and, in node.meta, each tensor's shape."""

    running: fx.Node | None = None

    def values(self, *inputs: torch.Tensor) -> dict[str, Any]:
        self.found: dict[str, Any] = {}
        self.run(*inputs)
        return self.found

    def run_node(self, n: fx.Node) -> Any:
        self.running = n
        result = super().run_node(n)
        self.found[n.name] = result
        n.meta[SHAPE] = tuple(result.shape) if isinstance(result, torch.Tensor) else None
        n.meta[DTYPE] = _dtype(result)
        return result


def _dtype(value: Any) -> str | None:
    """A tensor's element type as a spec writes it: floats are the type the network is built
    in, float32 unless `build` is given another; ids and masks keep theirs."""
    if not isinstance(value, torch.Tensor):
        return None
    return "float32" if value.is_floating_point() else str(value.dtype).removeprefix("torch.")


def shape_of(node: fx.Node) -> tuple[Any, ...] | None:
    """The shape of ``node``'s tensor, its sizes that follow symbolic axes as `Size`s."""
    shape: tuple[Any, ...] | None = node.meta.get(SIZES, node.meta.get(SHAPE))
    return shape


def type_of(node: fx.Node) -> TensorType | None:
    """The tensor's type on the example inputs, which layers are matched on."""
    shape = node.meta.get(SHAPE)
    return None if shape is None else TensorType(shape, node.meta[DTYPE])


# the values of the main trace's nodes in a trace at another length: symbol -> (example
# length, length, values by node name) per trace
Probes = dict[str, list[tuple[int, int, dict[str, Any]]]]


def _at(probes: Probes, name: str, part: Any = None) -> dict[str, list[tuple[int, int, Any]]]:
    """Each probe's value of node ``name`` (or of ``part`` of it)."""
    return {
        symbol: [
            (base, length, values[name] if part is None else part(values[name]))
            for base, length, values in traces
        ]
        for symbol, traces in probes.items()
    }


def follow_shapes(graph: fx.Graph, values: dict[str, Any], probes: Probes) -> None:
    """Each tensor's shape with the sizes that follow symbolic axes as `Size`s; a constant's
    values in the other traces, which say whether it follows them too."""

    def shape(value: Any) -> Any:
        return tuple(value.shape) if isinstance(value, torch.Tensor) else None

    for node in graph.nodes:
        value = values.get(node.name)
        if not probes or not isinstance(value, torch.Tensor):
            continue
        node.meta[SIZES] = followed(tuple(value.shape), _at(probes, node.name, shape))
        if node.op == "get_attr":
            node.meta[PROBED] = [
                found for traces in _at(probes, node.name).values() for *_, found in traces
            ]


def shape_values(
    graph: fx.Graph,
    values: dict[str, Any],
    doubled: dict[str, Any],
    batch: int,
    probes: Probes,
) -> dict[str, Any]:
    """The values computed from shapes alone, by node name: queries of a tensor's shape and
    what is computed from them, with the batch size as ``BATCH`` and those that follow a
    symbolic axis as `Size`s."""
    static: dict[str, Any] = {}
    for node in graph.nodes:
        if node.op not in ("call_function", "call_method") or _holds_tensor(values[node.name]):
            continue
        queried = (node.op == "call_method" and node.target in SHAPE_METHODS) or (
            node.target is getattr and node.args[1] in SHAPE_ATTRIBUTES
        )
        if queried or all(n.name in static for n in reads(node)):
            value = _batched(values[node.name], doubled[node.name], batch)
            if probes:
                value = _joined(value, followed(values[node.name], _at(probes, node.name)))
            static[node.name] = value
    return static


def _holds_tensor(value: Any) -> bool:
    if isinstance(value, tuple | list):
        return any(_holds_tensor(v) for v in value)
    return isinstance(value, torch.Tensor)


def _batched(value: Any, doubled: Any, batch: int) -> Any:
    """``value`` with the sizes that doubled with the batch as ``BATCH``, and other values
    that changed with it as ``VARIES``."""
    if isinstance(value, tuple | list) and isinstance(doubled, tuple | list):
        if len(value) == len(doubled):
            return tuple(_batched(v, d, batch) for v, d in zip(value, doubled, strict=True))
        return VARIES
    if type(value) is int and value == batch and doubled == 2 * batch:
        return BATCH
    return value if value == doubled else VARIES


def _joined(batched: Any, followed: Any) -> Any:
    """A value's sizes that follow the batch as ``batched`` says, the others as ``followed``."""
    if isinstance(batched, tuple) and isinstance(followed, tuple | list):
        return tuple(_joined(b, f) for b, f in zip(batched, followed, strict=True))
    return batched if batched is BATCH or batched is VARIES else followed
