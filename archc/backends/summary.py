"""Summaries of a network: a fixed-width table for people and a JSON document for tools.

The table lists every layer (indented by its place in the module tree), its op, output shape,
parameters, MACs and, for skip, concat and dense edges, what it is connected to; `depth`
collapses deeper levels of the module tree into one row per module with its totals.

What is counted, exactly: parameters are the elements of every parameter tensor, a tied tensor
once (at its source); buffers (BatchNorm running statistics, fixed position tables) are counted
apart; MACs are multiply-accumulates of one sample's forward pass at the declared input size,
attention's QK^T and AV products included.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from archc import dims
from archc.backends.receptive import receptive_field
from archc.dims import Dim, TensorType
from archc.semantics.ir import Module, Network, Node, tensor_key


@dataclass(frozen=True)
class Row:
    path: str
    op: str
    output: TensorType | None
    params: int
    macs: Dim
    connected_to: tuple[str, ...]
    level: int


@dataclass
class _Header:
    """A module's header row while the layers under it are added up."""

    path: str
    op: str
    connected_to: tuple[str, ...]
    level: int
    output: TensorType | None = None
    params: int = 0
    macs: list[Dim] = field(default_factory=list)  # summed once, at the end (dims.total)

    def row(self) -> Row:
        total = dims.total(self.macs)
        return Row(
            self.path, self.op, self.output, self.params, total, self.connected_to, self.level
        )


def rows(network: Network, depth: int | None = None) -> list[Row]:
    """Rows in forward order: a header row for each module (block instance, named sequence)
    with its totals, then its layers indented beneath it; below ``depth`` only the header."""
    result: list[Row | _Header] = []
    headers: dict[str, _Header] = {}  # by module path
    previous: Node | None = None
    for node in network.nodes():
        if node.kind == "input":
            previous = node
            continue
        connected = _connections(network, node, previous)
        previous = node
        output = node.outputs[0] if node.outputs else None
        params = _own_params(network, node)
        for module_path in _ancestors(network, node.path):
            level = module_path.count(".")
            if depth is not None and level >= depth:
                break
            header = headers.get(module_path)
            if header is None:
                label = _module_label(network.modules[module_path])
                header = headers[module_path] = _Header(module_path, label, connected, level)
                result.append(header)
                connected = ()
            header.output = output
            header.params += params
            header.macs.append(node.macs)
        else:
            if depth is None or node.path.count(".") < depth:
                level = node.path.count(".")
                result.append(Row(node.path, node.op, output, params, node.macs, connected, level))
    return [item.row() if isinstance(item, _Header) else item for item in result]


def _module_label(module: Module) -> str:
    if module.kind == "block":
        return module.name
    return "sequence" if module.repeat is None else f"repeat ×{module.repeat}"


def _ancestors(network: Network, path: str) -> list[str]:
    """The module paths enclosing ``path``, outermost first."""
    parts = path.split(".")
    prefixes = (".".join(parts[:cut]) for cut in range(1, len(parts)))
    return [p for p in prefixes if p in network.modules]


def _own_params(network: Network, node: Node) -> int:
    tied = network.tied_targets()
    return sum(
        dims.numel(shape)
        for name, shape in node.params.items()
        if tensor_key(node.path, name) not in tied
    )


def _connections(network: Network, node: Node, previous: Node | None) -> tuple[str, ...]:
    producers = [network.node(ref.node) for ref in node.inputs]
    if len(producers) == 1 and previous is not None and producers[0].id == previous.id:
        return ()
    return tuple(p.path for p in producers)


# --- totals --------------------------------------------------------------------------------------


def activation_elements(network: Network) -> Dim:
    """Elements of every op output for one sample (the activations a training step keeps)."""
    # a symbolic product costs a sympy multiplication; most layers share a few shapes
    sizes = functools.cache(dims.product)
    return dims.total(
        sizes(output.shape[1:])
        for node in network.nodes()
        if node.kind != "input"
        for output in node.outputs
        if output is not None
    )


def totals(network: Network) -> dict[str, Any]:
    return {
        "params": network.param_count,
        "trainable_params": network.param_count,
        "buffers": network.buffer_count,
        "macs": network.macs,
        "activations": activation_elements(network),
    }


# --- text ----------------------------------------------------------------------------------------

_HEADERS = ("Layer", "Op", "Output shape", "Params", "MACs", "Connected to")


def _count(value: Dim) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def render_table(network: Network, depth: int | None = None) -> str:
    """The summary table of one network, plain text, identical in a terminal and a pipe."""
    table = [
        (
            "  " * row.level + row.path.rsplit(".", 1)[-1] if row.level else row.path,
            row.op,
            str(row.output) if row.output is not None else "?",
            _count(row.params) if row.params else "-",
            _count(row.macs) if row.macs else "-",
            ", ".join(row.connected_to),
        )
        for row in rows(network, depth)
    ]
    widths = [
        max(len(h), *(len(r[i]) for r in table)) if table else len(h)
        for i, h in enumerate(_HEADERS)
    ]
    numeric = {3, 4}

    def line(cells: tuple[str, ...]) -> str:
        shown = [
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(shown).rstrip()

    rule = "-" * len(line(tuple("-" * w for w in widths)))
    inputs = ", ".join(f"{name} {network.type_of(ref)}" for name, ref in network.inputs.items())
    outputs = ", ".join(f"{name} {network.type_of(ref)}" for name, ref in network.outputs.items())
    total = totals(network)
    lines = [f"{network.name}: {inputs} -> {outputs}", rule, line(_HEADERS), rule]
    lines += [line(r) for r in table]
    lines += [
        rule,
        f"Parameters:         {_count(total['params'])}",
        f"Trainable:          {_count(total['trainable_params'])}",
        f"Buffers:            {_count(total['buffers'])}",
        f"MACs (per sample):  {_count(total['macs'])}",
        f"Activations:        {_count(total['activations'])} elements per sample",
    ]
    field = receptive_field(network)
    if field is not None:
        lines.append(
            f"Receptive field:    {'×'.join(map(str, field.size))}, effective stride "
            f"{'×'.join(map(str, field.stride))} (at {field.layer})"
        )
    if network.ties:
        lines.append(
            f"Tied parameters:    {', '.join(t.target for t in network.ties)}"
            " (counted once, at their source)"
        )
    return "\n".join(lines) + "\n"


# --- JSON ----------------------------------------------------------------------------------------


def _field_json(network: Network) -> dict[str, Any] | None:
    field = receptive_field(network)
    if field is None:
        return None
    return {"size": list(field.size), "stride": list(field.stride), "layer": field.layer}


def shape_json(tensor: TensorType | None) -> list[int | str] | None:
    if tensor is None:
        return None
    return ["N", *(dims.to_json(d) for d in tensor.shape[1:])]


def to_json(network: Network, depth: int | None = None) -> dict[str, Any]:
    """The summary as the documented JSON contract (see docs/architecture.md)."""
    total = totals(network)
    return {
        "name": network.name,
        "params": total["params"],
        "trainable_params": total["trainable_params"],
        "buffers": total["buffers"],
        "macs": dims.to_json(total["macs"]),
        "activations": dims.to_json(total["activations"]),
        "receptive_field": _field_json(network),
        "inputs": {n: shape_json(network.type_of(r)) for n, r in network.inputs.items()},
        "outputs": {n: shape_json(network.type_of(r)) for n, r in network.outputs.items()},
        "layers": [
            {
                "path": row.path,
                "op": row.op,
                "output_shape": shape_json(row.output),
                "params": row.params,
                "macs": dims.to_json(row.macs),
                "connected_to": list(row.connected_to),
            }
            for row in rows(network, depth)
        ],
    }
