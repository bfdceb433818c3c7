"""The reference interpreter: runs a network's IR on tensors with each op's reference semantics.

It is the oracle generated code is tested against. Where the PyTorch emitter decides classes,
constructor arguments, containers and forward statements, the interpreter walks the flat graph
node by node and asks each op to execute itself (:meth:`archc.ops.spec.Op.execute`, written
with torch's functions apart from the op's emission), reading parameters and buffers from a
state_dict by their keys. It reads only the IR, and shares no code with `backends/torch/`.
Torch is imported when it runs, never when archc is imported.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

from archc.ops import lookup
from archc.ops.spec import Execution, Inferred
from archc.semantics.ir import Network, Node, Ref, ScanArgs, tensor_key


class InterpretError(Exception):
    """The state, the inputs or an op's result do not fit the network."""


def interpret(
    network: Network,
    state: Mapping[str, Any],
    inputs: Mapping[str, Any],
    training: bool = False,
    dropout: bool = True,
    rounding: Callable[[Any], Any] | None = None,
) -> dict[str, Any]:
    """The network's outputs by name, computed from ``inputs`` (tensors by input name) and
    ``state`` (parameters and buffers by state_dict key, as ``module.state_dict()`` gives them).

    ``training`` selects training behaviour (batch statistics, dropout); ``dropout=False``
    keeps dropout off while training, so that the run is deterministic. A tied parameter is
    read from its source's key. Nothing in ``state`` is modified. ``rounding``, where given,
    is applied to every value an op gives before anything reads it: the oracle's tests pass
    one that moves each value by up to a unit in the last place, to measure how far rounding
    alone can move the outputs.
    """
    import torch

    missing = sorted(set(network.inputs) - set(inputs))
    if missing:
        raise InterpretError(f"no tensor for the input {', '.join(missing)}")
    run = _Run(network, state, torch, training, dropout, rounding)
    values: dict[Ref, Any] = {ref: inputs[name] for name, ref in network.inputs.items()}
    run.steps([n for n in network.nodes() if n.kind != "input"], values, _uses(network))
    return {name: values[ref] for name, ref in network.outputs.items()}


class _Run:
    """One run of a network: its nodes executed in order, a scan's body once per step."""

    def __init__(
        self,
        network: Network,
        state: Mapping[str, Any],
        torch: Any,
        training: bool,
        dropout: bool,
        rounding: Callable[[Any], Any] | None,
    ) -> None:
        self.network, self.state, self.torch = network, state, torch
        self.training, self.dropout, self.rounding = training, dropout, rounding
        self.sources = {tie.target: tie.source for tie in network.ties}

    def steps(
        self, nodes: list[Node], values: MutableMapping[Ref, Any], uses: dict[Ref, int] | None
    ) -> None:
        """Runs ``nodes``, writing their outputs into ``values``; with ``uses``, a tensor is
        let go once its last reader has run."""
        position = 0
        while position < len(nodes):
            node = nodes[position]
            if node.kind == "scan":
                end = _stack_of(nodes, position)
                outputs = self.scan(node, nodes[position + 1 : end], nodes[end], values)
                reads, node = node.inputs, nodes[end]
                position = end + 1
            else:
                outputs = self.execute(node, values)
                reads = node.inputs
                position += 1
            if len(outputs) != len(node.outputs):
                raise InterpretError(
                    f"`{node.path}` gave {len(outputs)} outputs, not {len(node.outputs)}"
                )
            for ref in reads if uses is not None else ():
                uses[ref] -= 1
                if uses[ref] == 0:  # dead: let a large network's activations go
                    del values[ref]
            for port, tensor in enumerate(outputs):
                values[Ref(node.id, port)] = tensor

    def execute(self, node: Node, values: Mapping[Ref, Any]) -> tuple[Any, ...]:
        op = lookup(node.op)
        if op is None or not node.ok:
            raise InterpretError(f"`{node.path}` is not a layer that can run ({node.op})")
        run = Execution(
            self.torch,
            tuple(values[ref] for ref in node.inputs),
            _own_state(node, self.network.weights_path(node.path), self.state, self.sources),
            self.training,
            self.dropout,
        )
        outputs = op.execute(node.args, _inferred(node), run)
        return outputs if self.rounding is None else tuple(map(self.rounding, outputs))

    def scan(
        self, step: Node, body: list[Node], stack: Node, values: Mapping[Ref, Any]
    ) -> tuple[Any, ...]:
        """The body run on each step of the sequences in turn, each run given the states the
        one before gave back; the outputs stacked along the axis, then the last states."""
        args: ScanArgs = step.args
        sequences = [values[ref] for ref in step.inputs[: args.sequences]]
        states = [values[ref] for ref in step.inputs[args.sequences :]]
        length = sequences[0].shape[args.dim]
        order = range(length - 1, -1, -1) if args.reverse else range(length)
        produced = len(stack.inputs) - args.states
        collected: list[list[Any]] = [[] for _ in range(produced)]
        for index in order:
            given = [s.select(args.dim, index) for s in sequences] + states
            local = ChainMap({Ref(step.id, port): t for port, t in enumerate(given)}, values)
            self.steps(body, local, None)
            results = [local[ref] for ref in stack.inputs]
            for kept, tensor in zip(collected, results[:produced], strict=True):
                kept.append(tensor)
            states = results[produced:]
        if args.reverse:  # each output at its step's position
            collected = [kept[::-1] for kept in collected]
        return (*(self.torch.stack(kept, args.dim) for kept in collected), *states)


def _stack_of(nodes: list[Node], position: int) -> int:
    """The position of the ``scan.stack`` that closes the scan opened at ``position``."""
    depth = 0
    for index in range(position, len(nodes)):
        if nodes[index].kind == "scan":
            depth += 1 if nodes[index].op == "scan.step" else -1
            if depth == 0:
                return index
    raise InterpretError(f"the scan `{nodes[position].path}` is not closed")


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
    """How many times each tensor outside a scan's body is read (a scan reads its sequences
    and initial states), the network's outputs counting once more each."""
    uses: dict[Ref, int] = {}
    depth = 0
    for node in network.nodes():
        opens = node.op == "scan.step"
        if depth == 0 and (node.kind != "scan" or opens):
            for ref in node.inputs:
                uses[ref] = uses.get(ref, 0) + 1
        if node.kind == "scan":
            depth += 1 if opens else -1
    for ref in network.outputs.values():
        uses[ref] = uses.get(ref, 0) + 1
    return uses
