"""Summaries of a network: a fixed-width table for people and a JSON document for tools.

The table lists every layer (indented by its place in the module tree), its op, output shape,
parameters, MACs and, for skip, concat and dense edges, what it is connected to; `depth`
collapses deeper levels of the module tree into one row per module with its totals.

What is counted, exactly: parameters are the elements of every parameter tensor, a tied tensor
once (at its source); buffers (BatchNorm running statistics, fixed position tables) are counted
apart; MACs follow `conventions.MAC_CONVENTION`. Memory is an estimate for a batch and an
element type, with its assumptions printed beside it (``memory``).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from html import escape
from typing import Any

from archc import dims
from archc.backends.conventions import DTYPES
from archc.backends.receptive import receptive_field
from archc.dims import Dim, TensorType
from archc.errors import UsageError
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
    calls = shared_calls(network)
    previous: Node | None = None
    for node in network.nodes():
        if node.kind == "input":
            previous = node
            continue
        if node.kind == "scan":  # its cell's row stands for the loop; it gives the stacked output
            if node.op == "scan.stack":
                for path in [*_ancestors(network, node.path), node.path]:
                    if path in headers:
                        headers[path].output = node.outputs[0]
            previous = node
            continue
        connected = _connections(network, node, previous)
        previous = node
        output = node.outputs[0] if node.outputs else None
        params = _own_params(network, node)
        # a shared layer's later application is one row: its layers are the instance's
        application = network.application_of(node.path)
        shown = depth if application is None else min(depth or 99, application.count(".") + 1)
        for module_path in _ancestors(network, node.path):
            level = module_path.count(".")
            if shown is not None and level >= shown:
                break
            header = headers.get(module_path)
            if header is None:
                module = network.modules[module_path]
                reads = module.scan.inputs if module.scan is not None else module.inputs
                if len(reads) > 1 or module.scan is not None:  # a block reading several names all
                    connected = tuple(network.node(ref.node).path for ref in reads)
                label = shared_label(network, module_path, _module_label(module), calls)
                header = headers[module_path] = _Header(module_path, label, connected, level)
                result.append(header)
                connected = ()
            header.output = output
            header.params += params
            header.macs.append(node.macs)
        else:
            if shown is None or node.path.count(".") < shown:
                level = node.path.count(".")
                # a tensor held out of training says so where its parameters are counted
                op = f"{node.op} (frozen)" if node.resolved.get("frozen") else node.op
                label = shared_label(network, node.path, op, calls)
                result.append(Row(node.path, label, output, params, node.macs, connected, level))
    return [item.row() if isinstance(item, _Header) else item for item in result]


def shared_calls(network: Network) -> dict[str, int]:
    """How many times each shared layer's instance is called, by its path."""
    calls: dict[str, int] = {}
    for instance in network.applications.values():
        calls[instance] = calls.get(instance, 1) + 1
    return calls


def shared_label(network: Network, path: str, label: str, calls: dict[str, int]) -> str:
    """A layer's op or block, and for a shared layer which call this is: `Enc (shared, 2
    calls)` at the instance, which holds the weights, `Enc (call 2)` at a later call."""
    if path in calls:
        return f"{label} (shared, {calls[path]} calls)"
    if path in network.applications:
        return f"{label} (call {path.rpartition('@')[2]})"
    return label


def _module_label(module: Module) -> str:
    if module.scan is not None:
        return f"{module.name} (scan, {dims.show(module.scan.steps)} steps)"
    if module.kind == "block":
        return module.name
    if module.parallel:
        return f"branches ×{len(module.outputs)}"
    return "sequence" if module.repeat is None else f"repeat ×{module.repeat}"


def _ancestors(network: Network, path: str) -> list[str]:
    """The module paths enclosing ``path``, outermost first."""
    parts = path.split(".")
    prefixes = (".".join(parts[:cut]) for cut in range(1, len(parts)))
    return [p for p in prefixes if p in network.modules]


def _own_params(network: Network, node: Node) -> int:
    if network.application_of(node.path) is not None:
        return 0  # the instance holds them
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
    """Elements of every op output for one sample (the activations a training step keeps); a
    scan's body keeps each step's."""
    # a symbolic product costs a sympy multiplication; most layers share a few shapes
    sizes = functools.cache(dims.product)
    steps = network.steps if network.scans() else lambda node: 1
    return dims.total(
        sizes(output.shape[1:]) * steps(node)
        for node in network.nodes()
        if node.kind == "op"
        for output in node.outputs
        if output is not None
    )


def totals(network: Network) -> dict[str, Any]:
    params = network.param_count
    return {
        "params": params,
        "trainable_params": params - network.frozen_count,
        "buffers": network.buffer_count,
        "macs": network.macs,
        "activations": activation_elements(network),
    }


@dataclass(frozen=True)
class Memory:
    """Estimated bytes of a training step for ``batch`` samples in ``dtype``.

    The forward pass keeps every layer's output for the backward pass, which makes a gradient of
    the same size for each output and each parameter; optimizer state, workspace, allocator
    overhead and the savings of in-place ops and activation checkpointing are left out.
    """

    batch: int
    dtype: str
    params: int
    buffers: int
    forward: Dim
    backward: Dim

    @property
    def total(self) -> Dim:
        return dims.total([self.params, self.buffers, self.forward, self.backward])


def memory(network: Network, batch: int = 1, dtype: str = "float32") -> Memory:
    """The memory estimate of ``network`` (see :class:`Memory`)."""
    if batch < 1:
        raise UsageError(f"batch must be 1 or more, got {batch}")
    if dtype not in DTYPES:
        raise UsageError(f"unknown dtype `{dtype}`; dtypes: {', '.join(DTYPES)}")
    size = DTYPES[dtype]
    outputs = activation_elements(network) * batch * size
    params = network.param_count * size
    return Memory(
        batch, dtype, params, network.buffer_count * size, outputs, dims.total([outputs, params])
    )


# --- text ----------------------------------------------------------------------------------------

_HEADERS = ("Layer", "Op", "Output shape", "Params", "MACs", "Connected to")
_NUMERIC = (3, 4)
# Columns that give up width, in order, when the table is wider than the terminal (shapes
# last); none goes below its header, _NARROWEST characters or its longest whole number.
_SHRINKING = (5, 4, 1, 0, 2)
_NARROWEST = 8


def _count(value: Dim) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _megabytes(value: Dim) -> str:
    """``44.76 MB`` (MB = 10**6 bytes); a size with symbols as a formula with four significant
    digits, ``0.01245*T + 0.6892 MB``."""
    if isinstance(value, int):
        return f"{value / 10**6:,.2f} MB"
    return f"{(value.expr / 10**6).evalf(4)} MB"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _fit(table: list[tuple[str, ...]], limit: int | None) -> list[int]:
    """Column widths that fit ``limit`` characters (two between columns) where they can; a
    number is never cut, a symbolic count or a shape loses its end to an ellipsis."""
    widths = [max([len(h), *(len(r[i]) for r in table)]) for i, h in enumerate(_HEADERS)]
    excess = sum(widths) + 2 * (len(widths) - 1) - (limit or 0)
    for column in _SHRINKING:
        if limit is None or excess <= 0:
            break
        numbers = [len(r[column]) for r in table if r[column].replace(",", "").isdigit()]
        floor = max(len(_HEADERS[column]), _NARROWEST, *numbers)
        give = max(0, min(excess, widths[column] - floor))
        widths[column] -= give
        excess -= give
    return widths


def _signature(network: Network) -> str:
    """``ResNet18: image (N, 3, 224, 224) -> logits (N, 1000)``."""
    inputs = ", ".join(f"{name} {network.type_of(ref)}" for name, ref in network.inputs.items())
    outputs = ", ".join(f"{name} {network.type_of(ref)}" for name, ref in network.outputs.items())
    return f"{network.name}: {inputs} -> {outputs}"


def _size_rules(network: Network) -> list[str]:
    """`Input sizes: H and W must be multiples of 16, at least 16`, when the network has rules."""
    if not network.size_rules:
        return []
    return ["Input sizes: " + "; ".join(map(str, network.size_rules))]


def one_line(network: Network) -> str:
    """The totals of a network on one line: what `archc summary --depth 0` prints."""
    total = totals(network)
    return (
        f"{_signature(network)}; {_count(total['params'])} params, "
        f"{_count(total['buffers'])} buffers, {_count(total['macs'])} MACs per sample"
        + "".join(f"; {rule}" for rule in network.size_rules)
        + "\n"
    )


def _cells(row: Row) -> tuple[str, ...]:
    return (
        row.path,
        row.op,
        str(row.output) if row.output is not None else "?",
        _count(row.params) if row.params else "-",
        _count(row.macs) if row.macs else "-",
        ", ".join(row.connected_to),
    )


def _indented(cells: tuple[str, ...], level: int) -> tuple[str, ...]:
    """A row's cells with its name indented by its place in the module tree."""
    name = "  " * level + cells[0].rsplit(".", 1)[-1] if level else cells[0]
    return (name, *cells[1:])


def _totals_lines(network: Network, batch: int, dtype: str) -> list[str]:
    """The lines under the table: totals, receptive field, ties and the memory estimate."""
    total = totals(network)
    lines = [
        f"Parameters:         {_count(total['params'])}",
        f"Trainable:          {_count(total['trainable_params'])}",
        f"Buffers:            {_count(total['buffers'])}",
        f"MACs (per sample):  {_count(total['macs'])}  (1 MAC = 2 FLOPs; see --help)",
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
    estimate = memory(network, batch, dtype)
    samples = f"{batch} sample{'s' if batch != 1 else ''}"
    sizes = [
        ("parameters", estimate.params, ""),
        ("buffers", estimate.buffers, ""),
        ("forward pass", estimate.forward, "every layer's output, kept for the backward pass"),
        ("backward pass", estimate.backward, "a gradient for each output and each parameter"),
        ("total", estimate.total, "no optimizer state, workspace or allocator overhead"),
    ]
    shown = [_megabytes(size) for _, size, _ in sizes]
    right = max(map(len, shown))
    lines.append(f"Memory, estimated for {samples} in {estimate.dtype} (MB = 10^6 bytes):")
    lines += [
        f"  {name:<16}{text:>{right}}  {note}".rstrip()
        for (name, _, note), text in zip(sizes, shown, strict=True)
    ]
    return lines


def render_table(
    network: Network,
    depth: int | None = None,
    width: int | None = None,
    batch: int = 1,
    dtype: str = "float32",
) -> str:
    """The summary table of one network, plain text; ``width`` fits it to a terminal that
    many characters wide (None: as wide as it needs). ``depth`` 0 is the one line of totals."""
    if depth == 0:
        return one_line(network)
    below = _totals_lines(network, batch, dtype)  # checks batch and dtype first
    table = [_indented(_cells(row), row.level) for row in rows(network, depth)]
    widths = _fit(table, width)

    def line(cells: tuple[str, ...]) -> str:
        shown = [
            _cut(c, w).rjust(w) if i in _NUMERIC else _cut(c, w).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(shown).rstrip()

    rule = "-" * len(line(tuple("-" * w for w in widths)))
    lines = [
        _signature(network),
        *_size_rules(network),
        rule,
        line(_HEADERS),
        rule,
        *map(line, table),
        rule,
        *below,
    ]
    return "\n".join(lines) + "\n"


# --- HTML ----------------------------------------------------------------------------------------


def render_html(
    network: Network, depth: int | None = None, batch: int = 1, dtype: str = "float32"
) -> str:
    """The summary as HTML, for a notebook: the rows as a table (each name indented by its
    depth in the module tree), then the lines of totals as preformatted text."""
    if depth == 0:
        return f"<pre>{escape(one_line(network))}</pre>"
    below = _totals_lines(network, batch, dtype)
    align = ["right" if i in _NUMERIC else "left" for i in range(len(_HEADERS))]
    head = "".join(
        f'<th style="text-align:{a}">{escape(h)}</th>'
        for h, a in zip(_HEADERS, align, strict=True)
    )
    body = []
    for row in rows(network, depth):
        cells = _cells(row)
        first = f"padding-left:{0.5 + 1.5 * row.level}em;" if row.level else ""
        body.append(
            "<tr>"
            + "".join(
                f'<td style="{first if i == 0 else ""}text-align:{a}">{escape(c)}</td>'
                for i, (c, a) in enumerate(zip(cells, align, strict=True))
            )
            + "</tr>"
        )
    return (
        f'<div class="archc-summary"><p><b>{escape(_signature(network))}</b></p>'
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        f"<pre>{escape(chr(10).join(below))}</pre></div>"
    )


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


def to_json(
    network: Network, depth: int | None = None, batch: int = 1, dtype: str = "float32"
) -> dict[str, Any]:
    """The summary as the documented JSON contract (see docs/architecture.md)."""
    total = totals(network)
    estimate = memory(network, batch, dtype)
    return {
        "name": network.name,
        "params": total["params"],
        "trainable_params": total["trainable_params"],
        "buffers": total["buffers"],
        "macs": dims.to_json(total["macs"]),
        "activations": dims.to_json(total["activations"]),
        "receptive_field": _field_json(network),
        "memory": {
            "batch": estimate.batch,
            "dtype": estimate.dtype,
            "params_bytes": estimate.params,
            "buffers_bytes": estimate.buffers,
            "forward_bytes": dims.to_json(estimate.forward),
            "backward_bytes": dims.to_json(estimate.backward),
            "total_bytes": dims.to_json(estimate.total),
        },
        "inputs": {n: shape_json(network.type_of(r)) for n, r in network.inputs.items()},
        "input_size_rules": [rule.to_json() for rule in network.size_rules],
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
