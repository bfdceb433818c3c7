"""Shared layers: one instance applied at several call sites, with one set of weights.

`encoder = shared(Encoder(128))` makes a layer whose applications (`a -> encoder`, `b ->
encoder`, `x -> encoder * 12`) all run one module. The first application is elaborated as any
layer is, at the instance's path (`encoder`); each later one is elaborated again, at
`encoder@2`, `encoder@3`, ..., so that the graph keeps one node per op it runs (its shapes, its
MACs, its box in a diagram), and `Network.applications` maps those paths to the instance's.
Counts, state_dict keys, the generated module and the interpreter read weights at the
instance's path only.

An application must find weights of the shapes it needs: the parameters and buffers it makes
(and the ops that hold them) are compared with the first application's, and a difference is
A314, with both input shapes and both places. Every application is in the body, and outside any
named chain, where the first one was (A315): the generated class holds the module once, and
each call in its forward must reach it. A shared layer is one module (A316): an op, a block, or
a chain named with `as` or grouped with `[...]`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from archc.dims import TensorType
from archc.errors import Label, Span
from archc.semantics.context import Body, Place
from archc.semantics.ir import Module, Network, Node
from archc.semantics.values import (
    UNKNOWN,
    BlockLayer,
    Layer,
    OpLayer,
    SequenceLayer,
    SharedLayer,
    Tensor,
)
from archc.syntax import ast

MISMATCH = "A314"  # an application whose inputs need other weights than the first one's
ELSEWHERE = "A315"  # an application in another body or container than the first one
NOT_ONE = "A316"  # `shared` of several layers, or of something that is no layer


@dataclass(frozen=True)
class FirstUse:
    """What the first application of a shared layer made, for the later ones."""

    path: str  # the instance's path
    place: str  # the path of the body or container it was applied in
    span: Span
    inputs: tuple[TensorType | None, ...]
    state: dict[str, tuple[str, tuple[int, ...]]]  # tensor key below the instance -> op, shape
    calls: int = 1  # applications so far, this one included


def state_below(nodes: list[Node], path: str) -> dict[str, tuple[str, tuple[int, ...]]]:
    """The parameters and buffers that ``nodes`` hold below ``path``, keyed relative to it."""
    found: dict[str, tuple[str, tuple[int, ...]]] = {}
    for node in nodes:
        below = node.path[len(path) :]
        for name, shape in [*node.params.items(), *node.buffers.items()]:
            found[f"{below}.{name}"] = (node.op, tuple(shape))
    return found


def shown_types(types: tuple[TensorType | None, ...]) -> str:
    return ", ".join(str(t) if t is not None else "?" for t in types)


class Sharing:
    """Application of shared layers; mixed into the Elaborator."""

    network: Network | None
    shared_uses: dict[int, FirstUse]
    shared_made: int  # instances `shared(...)` made in this elaboration
    _next_id: int
    _modules_made: list[Module]

    if TYPE_CHECKING:  # the Elaborator's, which comes after this class in its bases

        def apply(
            self, layer: Layer, inputs: list[Tensor], body: Body, place: Place, span: Span
        ) -> Any: ...

        def error(self, code: str, message: str, span: Span, **details: Any) -> Exception: ...

        def _check_attribute(self, name: ast.Ident) -> None: ...

    def make_shared(self, layer: Layer, span: Span) -> SharedLayer:
        """The value of `shared(layer)`: a new instance, numbered within this elaboration, so
        that elaborating the same spec again numbers its instances alike."""
        self.shared_made += 1
        return SharedLayer(span, None, layer, self.shared_made)

    def name_shared(self, value: Any, target: ast.Ident) -> Any:
        """`encoder = shared(Encoder())`: an instance named by nothing else is named after the
        variable, so that its module is `encoder`."""
        if not isinstance(value, SharedLayer) or value.layer is None or value.layer.name:
            return value
        self._check_attribute(target)
        return value.named(target)

    def apply_shared(
        self, layer: SharedLayer, inputs: list[Tensor], body: Body, place: Place, span: Span
    ) -> Any:
        assert layer.layer is not None and self.network is not None
        inner = layer.layer
        if not _one_module(inner):
            raise self.error(
                NOT_ONE,
                "`shared` makes one module, but this is a chain of several layers",
                layer.span,
                label="several layers",
                help="name the chain with `as` (`shared(a -> b) as encoder`) or group it with "
                "`[a -> b]`",
            )
        first = self.shared_uses.get(layer.token)
        if place.indexed or (first is not None and first.place != place.path):
            raise self.error(
                ELSEWHERE,
                f"a shared layer is applied inside `{place.path}`, whose layers are "
                "numbered children of a container"
                if first is None
                else f"`{first.path}` is applied in {_where(place.path)}, but its module is "
                f"in {_where(first.place)}",
                span,
                label="applied here",
                secondary=(Label(first.span, "its module is made here"),)
                if first is not None
                else (),
                notes=(
                    "the generated class holds a shared module once, in the body that "
                    "applies it first, and only that body's forward can call it",
                ),
                help="apply a shared layer only in one body, outside named chains: "
                "`h1 = a -> encoder` and `h2 = b -> encoder` side by side",
            )
        types = tuple(t.type for t in inputs)
        before, modules_before = self._next_id, len(self._modules_made)
        if first is not None:
            first = self.shared_uses[layer.token] = replace(first, calls=first.calls + 1)
            name = f"{first.path.rpartition('.')[2]}@{first.calls}"
            inner = replace(inner, name=ast.Ident(name, inner.name.span if inner.name else span))
        value = self.apply(inner, inputs, body, place, span)
        if value is UNKNOWN:
            return UNKNOWN
        made = [
            self.network.node(i)
            for i in range(before + 1, self._next_id + 1)
            if self.network.has_node(i)
        ]
        modules = self._modules_made[modules_before:]
        path = modules[0].path if modules else made[0].path if made else None
        if path is None:
            return value
        if first is None:
            self.shared_uses[layer.token] = FirstUse(
                path, place.path, span, types, state_below(made, path)
            )
            return value
        self.network.applications[path] = first.path
        self._check_weights(first, state_below(made, path), types, span)
        return value

    def _check_weights(
        self,
        first: FirstUse,
        state: dict[str, tuple[str, tuple[int, ...]]],
        types: tuple[TensorType | None, ...],
        span: Span,
    ) -> None:
        if state == first.state:
            return
        key = next(k for k in sorted({*state, *first.state}) if state.get(k) != first.state.get(k))
        here, there = state.get(key), first.state.get(key)
        key = f"{first.path}{key}"
        raise self.error(
            MISMATCH,
            f"`{first.path}` is applied to {shown_types(types)} here, but its weights were "
            f"made for {shown_types(first.inputs)}",
            span,
            label=f"applied to {shown_types(types)}",
            secondary=(Label(first.span, f"first applied to {shown_types(first.inputs)}"),),
            rule="every application of a shared layer uses the weights of the first",
            with_=f"`{key}`: {_shape(here)} here, {_shape(there)} at the first application",
            help="give this application inputs of the first one's shape, or make a layer of "
            "its own for it, without `shared`",
        )


def _where(path: str) -> str:
    return f"`{path}`" if path else "the network"


def _shape(entry: tuple[str, tuple[int, ...]] | None) -> str:
    if entry is None:
        return "none"
    return "(" + ", ".join(str(d) for d in entry[1]) + ")"


def _one_module(layer: Layer) -> bool:
    if isinstance(layer, OpLayer | BlockLayer) or layer.name is not None:
        return True
    return isinstance(layer, SequenceLayer) and layer.grouped
