"""The reference interpreter: runs a network's IR on tensors with each op's reference semantics.

It is the oracle generated code is tested against. Where the PyTorch emitter decides classes,
constructor arguments, containers and forward statements, the interpreter walks the flat graph
node by node and asks each op to execute itself (:meth:`archc.ops.spec.Op.execute`, written
with torch's functions apart from the op's emission), reading parameters and buffers from a
state_dict by their keys. It reads only the IR, and shares no code with `backends/torch/`.
Torch is imported when it runs, never when archc is imported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from archc.ops import lookup
from archc.ops.spec import Execution, Inferred
from archc.semantics.ir import Network, Node, Ref, tensor_key


class InterpretError(Exception):
    """The state, the inputs or an op's result do not fit the network."""


def interpret(
    network: Network,
    state: Mapping[str, Any],
    inputs: Mapping[str, Any],
    training: bool = False,
    dropout: bool = True,
) -> dict[str, Any]:
    """The network's outputs by name, computed from ``inputs`` (tensors by input name) and
    ``state`` (parameters and buffers by state_dict key, as ``module.state_dict()`` gives them).

    ``training`` selects training behaviour (batch statistics, dropout); ``dropout=False``
    keeps dropout off while training, so that the run is deterministic. A tied parameter is
    read from its source's key. Nothing in ``state`` is modified.
    """
    import torch

    missing = sorted(set(network.inputs) - set(inputs))
    if missing:
        raise InterpretError(f"no tensor for the input {', '.join(missing)}")
    sources = {tie.target: tie.source for tie in network.ties}
    uses = _uses(network)
    values: dict[Ref, Any] = {ref: inputs[name] for name, ref in network.inputs.items()}
    for node in network.nodes():
        if node.kind == "input":
            continue
        op = lookup(node.op)
        if op is None or not node.ok:
            raise InterpretError(f"`{node.path}` is not a layer that can run ({node.op})")
        run = Execution(
            torch,
            tuple(values[ref] for ref in node.inputs),
            _own_state(node, network.weights_path(node.path), state, sources),
            training,
            dropout,
        )
        outputs = op.execute(node.args, _inferred(node), run)
        if len(outputs) != len(node.outputs):
            raise InterpretError(
                f"`{node.path}` gave {len(outputs)} outputs, not {len(node.outputs)}"
            )
        for ref in node.inputs:
            uses[ref] -= 1
            if uses[ref] == 0:  # dead: let a large network's activations go
                del values[ref]
        for port, tensor in enumerate(outputs):
            values[Ref(node.id, port)] = tensor
    return {name: values[ref] for name, ref in network.outputs.items()}


def _own_state(
    node: Node, path: str, state: Mapping[str, Any], sources: dict[str, str]
) -> dict[str, Any]:
    """The node's parameters and buffers, held at ``path``, under their op's names
    (``weight``, ``""`` for a tensor it holds itself)."""
    own = {}
    transient = node.resolved.get("transient", ())  # buffers a state_dict leaves out
    for name in [*node.params, *(b for b in node.buffers if b not in transient)]:
        key = tensor_key(path, name)
        key = sources.get(key, key)
        if key not in state:
            raise InterpretError(f"the state has no tensor `{key}`")
        own[name] = state[key]
    return own


def _inferred(node: Node) -> Inferred:
    """The op's static answer for the node, as elaboration recorded it."""
    outputs = tuple(t for t in node.outputs if t is not None)
    return Inferred(outputs, node.params, node.buffers, node.macs, node.resolved)


def _uses(network: Network) -> dict[Ref, int]:
    """How many times each tensor is read, the network's outputs counting once more each."""
    uses: dict[Ref, int] = {}
    for node in network.nodes():
        for ref in node.inputs:
            uses[ref] = uses.get(ref, 0) + 1
    for ref in network.outputs.values():
        uses[ref] = uses.get(ref, 0) + 1
    return uses
