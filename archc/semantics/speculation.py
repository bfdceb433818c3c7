"""Elaborating the alternative of a conditional that a network did not take, and undoing it.

A block's generated class must be right for every argument, so where a conditional chose
between tensors (`if stride != 1 then x -> (...) as downsample else x`) the class holds both
alternatives. The one taken is in the graph; the other is elaborated with the same values and
then taken out again, every trace of it: its nodes, modules, diagnostics, the names it claimed
and the names it gave to tensors it read. What it made is kept aside (ir.Alternative), with its
node ids moved out of the graph's range (ir.SPECULATIVE).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from archc.semantics.context import Body, Names, Place
from archc.semantics.ir import SPECULATIVE, Alternative, Module, Network, Node, Ref
from archc.semantics.values import Tensor


@dataclass
class NamesState:
    """What a scope's name allocation had given out, to give the same names again."""

    taken: set[str]
    counters: dict[str, int]
    next_index: int
    named: set[str]

    @staticmethod
    def of(place: Place) -> NamesState:
        names = place.names
        return NamesState(
            set(names.taken), dict(names._counters), place.next_index[0], set(place.named)
        )

    def restore(self, place: Place) -> None:
        names: Names = place.names
        names.taken = set(self.taken)
        names._counters = dict(self.counters)
        place.next_index[0] = self.next_index
        place.named.clear()
        place.named.update(self.named)


@dataclass
class Snapshot:
    """The elaboration state an alternative not taken may change."""

    next_id: int
    connections: int
    modules_made: int
    diagnostics: int
    ties: int
    rules: int
    guards: int
    choices: int
    modules: dict[str, Module]
    body: tuple[dict[str, Any], dict[str, Any], dict[str, Any], set[str]]
    value_names: dict[int, dict[tuple[str, int], str]]
    shared: tuple[dict[int, Any], dict[str, str]]  # first uses of shared layers, applications
    calls: dict[str, Any]  # the block calls made (recount.Call), by path


def take(elaborator: Any, body: Body) -> Snapshot:
    network: Network = elaborator.network
    tensors = [t for v in body.vars.values() for t in (v if isinstance(v, tuple) else (v,))]
    read = {t.ref.node for t in tensors if isinstance(t, Tensor)}
    return Snapshot(
        elaborator._next_id,
        elaborator._connections,
        len(elaborator._modules_made),
        len(elaborator.diagnostics),
        len(network.ties),
        len(elaborator.rules),
        len(body.guards),
        len(body.choices),
        dict(network.modules),
        (dict(body.vars), dict(body.spans), dict(body.origins), set(body.used)),
        {i: dict(network.node(i).value_names) for i in read if network.has_node(i)},
        (dict(elaborator.shared_uses), dict(network.applications)),
        dict(elaborator._calls),
    )


def undo(elaborator: Any, body: Body, saved: Snapshot) -> tuple[list[Node], list[Module]]:
    """Restore ``saved``; the nodes and modules made since, as they were made."""
    network: Network = elaborator.network
    nodes = [network.node(i) for i in range(saved.next_id + 1, elaborator._next_id + 1)]
    modules = elaborator._modules_made[saved.modules_made :]
    network.drop([n.id for n in nodes])
    network.modules.clear()
    network.modules.update(saved.modules)
    elaborator._next_id = saved.next_id
    elaborator._connections = saved.connections
    del elaborator._modules_made[saved.modules_made :]
    del elaborator.diagnostics[saved.diagnostics :]
    del network.ties[saved.ties :]
    del elaborator.rules[saved.rules :]
    del body.guards[saved.guards :]
    del body.choices[saved.choices :]
    body.vars, body.spans, body.origins, body.used = (
        saved.body[0],
        saved.body[1],
        saved.body[2],
        saved.body[3],
    )
    for node_id, names in saved.value_names.items():
        network.node(node_id).value_names = names
    elaborator.shared_uses = saved.shared[0]
    network.applications = saved.shared[1]
    elaborator._calls = saved.calls
    return nodes, modules


def set_aside(value: Tensor, first: int, nodes: list[Node], modules: list[Module]) -> Alternative:
    """An alternative not taken, its node ids moved out of the graph's range."""

    def ref(r: Ref) -> Ref:
        return Ref(r.node + SPECULATIVE, r.port) if r.node > first else r

    moved = tuple(
        dataclasses.replace(n, id=n.id + SPECULATIVE, inputs=tuple(ref(r) for r in n.inputs))
        for n in nodes
    )
    kept = tuple(
        dataclasses.replace(
            m,
            inputs=tuple(ref(r) for r in m.inputs),
            outputs=tuple(ref(r) for r in m.outputs),
        )
        for m in modules
    )
    last = first + len(nodes)
    return Alternative(
        first + SPECULATIVE, last + SPECULATIVE, ref(value.ref), moved, kept, value.via
    )
