"""Block instances elaborated once and replayed.

What a block instance adds to the IR depends only on the block, its argument values, the types
of its input tensors (and which of them are the same tensor) and the blocks it sits in (the
nesting checks). So an instance that reported nothing, declared no ties or init rules and
touched nothing outside itself but the names of its inputs is recorded, and a later instance
with the same key is a copy of it: the same nodes and modules under its own path, with fresh
ids, its own inputs and its own call site. A transformer's layers and a ResNet stage's blocks
are elaborated once per distinct configuration.

Values that are not plain data (layers, tensors given as arguments, unknowns) make an instance
ineligible rather than risk a key that does not determine the result.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from archc.dims import Sym, TensorType
from archc.errors import Span
from archc.semantics.ir import Alternative, Choice, Looped, Module, Node, Ref
from archc.semantics.values import Tensor


class NotPlain(Exception):
    """A value that cannot be part of a replay key."""


def plain(value: Any) -> Any:
    """``value`` tagged with its type, so that 1, 1.0 and true are different keys."""
    if value is None or isinstance(value, bool | int | str):
        return (type(value), value)
    if isinstance(value, float):
        return (float, repr(value))  # -0.0 and 0.0 are written differently
    if isinstance(value, Sym):
        return (Sym, value)  # a symbol equals only itself
    if isinstance(value, tuple):
        return (tuple, tuple(plain(item) for item in value))
    raise NotPlain


_enabled: ContextVar[bool] = ContextVar("replay_enabled", default=True)


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """Elaborate every block instance afresh: what replay is compared with, in the tests and
    the benchmarks."""
    token = _enabled.set(False)
    try:
        yield
    finally:
        _enabled.reset(token)


def key_of(
    definition: Any, args: dict[str, Any], inputs: list[Tensor], blocks: tuple[str, ...]
) -> tuple[Any, ...] | None:
    """What determines an instance's subgraph, or None when an instance cannot be replayed."""
    if not _enabled.get() or any(t.type is None for t in inputs):
        return None
    try:
        values = tuple((name, plain(value)) for name, value in args.items())
    except NotPlain:
        return None
    refs = [t.ref for t in inputs]
    aliasing = tuple(refs.index(ref) for ref in refs)  # `Block(x, x)` is not `Block(x, y)`
    return (id(definition), values, tuple(t.type for t in inputs), aliasing, blocks)


@dataclass
class Mark:
    """The elaborator's state before an instance's body ran, to see what the body added."""

    diagnostics: int
    last_id: int
    modules: int
    ties: int
    rules: int
    input_names: dict[int, frozenset[tuple[str, int]]]


class Worked(NamedTuple):
    """The fields of a recorded node that a copy for other values works out again
    (rerun.py); a replay for the same values keeps the recorded ones."""

    args: Any
    outputs: tuple[Any, ...]
    params: dict[str, tuple[int, ...]]
    buffers: dict[str, tuple[int, ...]]
    macs: Any
    resolved: dict[str, Any]
    resolved_origins: dict[str, Any]
    dims: tuple[tuple[Any, ...], ...]
    equal: tuple[tuple[Any, Any], ...]


def worked(node: Node) -> Worked:
    """What ``node`` itself has of the fields a copy for other values works out again."""
    return Worked(
        node.args,
        node.outputs,
        node.params,
        node.buffers,
        node.macs,
        node.resolved,
        node.resolved_origins,
        node.dims,
        node.equal,
    )


@dataclass(frozen=True, slots=True)
class _Placed:
    """What every copy of a recorded node shares, worked out once per recording: where its
    inputs come from, and its paths, call sites and value names relative to the instance."""

    node: Node
    own: Worked
    # each input: (k, port) for output ``port`` of the instance's k-th node; (~i, 0) for the
    # instance's input i
    sources: tuple[tuple[int, int], ...]
    path: str  # the node's path after the instance's
    scope: str
    sites: tuple[Span, ...]  # its call sites after the instance's own
    # its value names: (the path of the scope after the instance's, port, name)
    names: tuple[tuple[str, int, str], ...]

    def copy(
        self,
        node_id: int,
        inputs: tuple[Ref, ...],
        path: str,
        call_sites: tuple[Span, ...],
        again: Worked,
    ) -> Node:
        """The node in an instance at ``path`` called from ``call_sites``, with the fields
        ``again`` gives (the recorded ones, or those worked out for other values)."""
        node = self.node
        args, outputs, params, buffers, macs, resolved, resolved_origins, dims, equal = again
        return Node(  # positionally, in the order of Node's fields: keywords cost 4 times more
            node_id,
            node.kind,
            node.op,
            args,
            inputs,
            outputs,
            path + self.path,
            path + self.scope,
            node.span,
            call_sites + self.sites,
            dict(params),
            dict(buffers),
            macs,
            dict(resolved),
            node.named,
            {(path + scope, port): name for scope, port, name in self.names},
            node.arg_origins,
            resolved_origins,
            dims,
            equal,
            node.via,
            node.given,
            node.given_origins,
            node.passed,
            node.flags,
            node.index_origins,
            node.index_resolved,
            node.index_dims,
        )


@dataclass
class Recording:
    """One instance's nodes and modules, relative to where it was elaborated."""

    path: str  # the instance's module path
    depth: int  # how many call sites lead to the instance (its own excluded)
    first_id: int  # the ids the instance made are first_id + 1, first_id + 2, ...
    inputs: tuple[Ref, ...]
    nodes: list[Node]
    # the names of the nodes that give the instance's values, as the instance left them: the
    # instances they are fed to add names of their own (no other node is reachable from outside)
    value_names: dict[int, dict[tuple[str, int], str]]
    modules: list[Module]
    input_names: list[tuple[int, str, str]]  # names given to inputs: (input index, scope, name)
    values: list[Any]  # what the instance gave back
    guards: tuple[Any, ...] = ()  # the tests that chose its structure (Module.guards)
    choices: tuple[Choice, ...] = ()  # those that chose between tensors (Module.choices)
    looped: tuple[Looped, ...] = ()  # its unnamed repeats counted by values (Module.looped)
    locals: tuple[tuple[str, Any], ...] = ()  # the numbers its body names (Module.locals)
    input_types: tuple[TensorType | None, ...] = ()  # of its inputs, in order
    _replayable: bool | None = None
    _placed: list[_Placed] | None = None
    _set_aside: dict[int, _Placed] = field(default_factory=dict)

    def _ref(self, ref: Ref, ids: list[int], inputs: list[Tensor]) -> Ref:
        if ref.node > self.first_id:
            return Ref(ids[ref.node - self.first_id - 1], ref.port)
        return inputs[self.inputs.index(ref)].ref

    def replayable(self) -> bool:
        """Whether the instance kept to itself: it used only its own nodes and its inputs, and
        put everything under its own path. Checked when first replayed, not for every record."""
        if self._replayable is None:
            made = {node.id for node in self.nodes}
            refs = [r for node in self.nodes for r in node.inputs]
            refs += [r for m in self.modules for r in (*m.inputs, *m.outputs)]
            refs += [t.ref for value in self.values for t in _tensors(value)]
            paths = [n.path for n in self.nodes] + [n.scope for n in self.nodes]
            paths += [scope for n in self.nodes for scope, _ in self._names(n)]
            paths += [m.path for m in self.modules] + [scope for _, scope, _ in self.input_names]
            self._replayable = all(r.node in made or r in self.inputs for r in refs) and all(
                p == self.path or p.startswith(self.path + ".") for p in paths
            )
        return self._replayable

    def _names(self, node: Node) -> dict[tuple[str, int], str]:
        return self.value_names.get(node.id, node.value_names)

    def placed(self) -> list[_Placed]:
        """Each recorded node as every copy has it (the instance must be replayable)."""
        if self._placed is None:
            self._placed = [
                self._place(
                    node,
                    tuple(
                        (r.node - self.first_id - 1, r.port)
                        if r.node > self.first_id
                        else (~self.inputs.index(r), 0)
                        for r in node.inputs
                    ),
                    self._names(node),
                )
                for node in self.nodes
            ]
        return self._placed

    def _aside(self, node: Node) -> _Placed:
        """A node an alternative not taken set aside, as every copy has it (its inputs are
        moved by the caller)."""
        if node.id not in self._set_aside:
            self._set_aside[node.id] = self._place(node, (), node.value_names)
        return self._set_aside[node.id]

    def _place(
        self,
        node: Node,
        sources: tuple[tuple[int, int], ...],
        names: dict[tuple[str, int], str],
    ) -> _Placed:
        start = len(self.path)
        return _Placed(
            node,
            worked(node),
            sources,
            node.path[start:],
            node.scope[start:],
            node.call_sites[self.depth + 1 :],
            tuple((scope[start:], port, name) for (scope, port), name in names.items()),
        )

    def replay(
        self,
        add_node: Callable[[Node], Node],
        new_id: Callable[[], int],
        add_module: Callable[[Module], None],
        network_node: Callable[[int], Node],
        inputs: list[Tensor],
        path: str,
        call_sites: tuple[Span, ...],
        last_id: int,
        fresh: dict[int, Worked] | None = None,
    ) -> tuple[list[Any], tuple[Choice, ...]]:
        """Add the recorded instance again at ``path``, fed ``inputs``, after the node
        ``last_id``; its values and choices. ``fresh`` holds, by recorded id, the fields of
        nodes worked out again for other values (rerun.py), which replace the recorded ones."""
        move = _Mover(self.path, path, self.depth, call_sites)
        shift = last_id - self.first_id  # the ids it makes are consecutive
        ids: list[int] = []  # the id of each node made, in the order of self.nodes
        given = [t.ref for t in inputs]
        for placed in self.placed():
            node_id = new_id()
            refs = tuple(Ref(ids[k], port) if k >= 0 else given[~k] for k, port in placed.sources)
            ids.append(node_id)
            again = placed.own if fresh is None else fresh[placed.node.id]
            add_node(placed.copy(node_id, refs, path, call_sites, again))
        for module in self.modules:
            moved = _moved(
                module,
                move,
                tuple(self._ref(r, ids, inputs) for r in module.inputs),
                tuple(self._ref(r, ids, inputs) for r in module.outputs),
            )
            moved.choices = tuple(
                self._choice(c, ids, inputs, move, shift, fresh) for c in module.choices
            )
            add_module(moved)
        for index, scope, name in self.input_names:
            ref = inputs[index].ref
            network_node(ref.node).value_names.setdefault((move.path(scope), ref.port), name)

        def tensor(t: Tensor) -> Tensor:
            if t.ref.node > self.first_id:
                ref = Ref(ids[t.ref.node - self.first_id - 1], t.ref.port)
                if fresh is None:
                    return Tensor(ref, t.type, t.span, t.dims, t.via)
                again = fresh[t.ref.node]  # whose sizes the value carries (rerun.py)
                return Tensor(ref, again.outputs[ref.port], t.span, again.dims[ref.port], t.via)
            # an input given back: its sizes as the block sees them, moved out by the caller
            return replace(inputs[self.inputs.index(t.ref)], dims=t.dims, via=t.via)

        values = [
            tuple(tensor(t) for t in value) if isinstance(value, tuple) else tensor(value)
            for value in self.values
        ]
        choices = tuple(self._choice(c, ids, inputs, move, shift, fresh) for c in self.choices)
        return values, choices

    def _choice(
        self,
        choice: Choice,
        ids: list[int],
        inputs: list[Tensor],
        move: _Mover,
        shift: int,
        fresh: dict[int, Worked] | None,
    ) -> Choice:
        other = choice.other
        return Choice(
            choice.guard,
            choice.held,
            self._alternative(choice.taken, ids, inputs, move, shift, fresh),
            None if other is None else self._alternative(other, ids, inputs, move, shift, fresh),
        )

    def _alternative(
        self,
        alternative: Alternative,
        ids: list[int],
        inputs: list[Tensor],
        move: _Mover,
        shift: int,
        fresh: dict[int, Worked] | None,
    ) -> Alternative:
        """An alternative moved to the replayed instance: the ids it made shifted as the
        instance's were (they are consecutive), those set aside (ir.SPECULATIVE) too."""

        def ref(r: Ref) -> Ref:
            return Ref(r.node + shift, r.port) if r.node < 0 else self._ref(r, ids, inputs)

        return Alternative(
            alternative.first + shift,
            alternative.last + shift,
            ref(alternative.value),
            tuple(
                self._aside(n).copy(
                    n.id + shift,
                    tuple(ref(r) for r in n.inputs),
                    move.new,
                    move.call_sites,
                    self._aside(n).own if fresh is None else fresh[n.id],
                )
                for n in alternative.nodes
            ),
            tuple(
                _moved(m, move, tuple(ref(r) for r in m.inputs), tuple(ref(r) for r in m.outputs))
                for m in alternative.modules
            ),
            alternative.via,
        )


def _moved(
    module: Module, move: _Mover, inputs: tuple[Ref, ...], outputs: tuple[Ref, ...]
) -> Module:
    """A recorded module in a replayed instance: a shallow copy, as dataclasses.replace
    makes, without matching each of its many fields by keyword."""
    moved = copy.copy(module)
    moved.path = move.path(module.path)
    moved.call_sites = move.sites(module.call_sites)
    moved.inputs, moved.outputs = inputs, outputs
    return moved


def record(
    mark: Mark,
    *,
    path: str,
    depth: int,
    inputs: list[Tensor],
    nodes: list[Node],
    modules: list[Module],
    network_node: Callable[[int], Node],
    values: list[Any],
    guards: tuple[Any, ...],
    choices: tuple[Choice, ...],
    looped: tuple[Looped, ...],
    locals: tuple[tuple[str, Any], ...],
) -> Recording | None:
    """The instance the body just elaborated, or None when it cannot be replayed."""
    refs = [t.ref for t in inputs]
    input_names = []
    for node, before in mark.input_names.items():
        for (scope, port), name in network_node(node).value_names.items():
            if (scope, port) not in before:
                if Ref(node, port) not in refs:
                    return None
                input_names.append((refs.index(Ref(node, port)), scope, name))
    names = {
        t.ref.node: dict(network_node(t.ref.node).value_names)
        for value in values
        for t in _tensors(value)
        if t.ref.node > mark.last_id
    }
    return Recording(
        path,
        depth,
        mark.last_id,
        tuple(refs),
        nodes,
        names,
        modules,
        input_names,
        values,
        guards,
        choices,
        looped,
        locals,
        tuple(t.type for t in inputs),
    )


def _tensors(value: Any) -> tuple[Tensor, ...]:
    return value if isinstance(value, tuple) else (value,)


class _Mover:
    """Rewrites a recorded instance's paths and call sites for another instance."""

    def __init__(self, old: str, new: str, depth: int, call_sites: tuple[Span, ...]) -> None:
        self.old, self.new, self.depth, self.call_sites = old, new, depth, call_sites

    def path(self, path: str) -> str:
        return self.new + path[len(self.old) :]

    def sites(self, sites: tuple[Span, ...]) -> tuple[Span, ...]:
        return self.call_sites + sites[self.depth + 1 :]
