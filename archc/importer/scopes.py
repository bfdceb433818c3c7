"""The traced graph as a tree of scopes: one per submodule whose forward ran, holding, in the
order they ran, the steps it took directly and the scopes of its children.

The module stack fx records on each node says whose forward made it; a module's later calls
are scopes of their own. Values computed from shapes alone are the arguments of the steps that
read them, not steps, and steps the output does not depend on are left out. Each scope reads
the values made outside it and gives the one read outside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx, nn

from archc.dims import TensorType
from archc.importer.branches import Branch
from archc.importer.sizes import Axis
from archc.importer.tracer import reads
from archc.importer.values import shape_of, type_of


@dataclass
class Step:
    """One fx node: a layer call, a function, a method or a read attribute."""

    node: fx.Node
    path: str  # the module's path for a layer call, else ""
    inputs: list[str]  # names of the fx nodes it reads, in argument order
    shape: tuple[int, ...] | None
    input_shapes: list[tuple[int, ...] | None] = field(default_factory=list)
    # the input tensors' types, None for other values
    input_types: list[TensorType | None] = field(default_factory=list)
    # the node's arguments, each value computed from shapes in its place; tensors stay nodes
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    call: int = 0  # how many times the forward called the layer before this call


@dataclass
class Scope:
    """A module whose forward was traced through (or the whole model, path "")."""

    path: str
    module: nn.Module
    entries: list[Step | Scope] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    output: str = ""
    shape: tuple[int, ...] | None = None
    call: int = 0  # how many times the forward called the module before this call
    # the model's: the name of the output kept of those it returns by name, then the others
    kept: tuple[str, ...] = ()
    # the model's: the symbolic input axes, and why each of the others keeps its length
    axes: tuple[Axis, ...] = ()
    fixed: dict[str, str] = field(default_factory=dict)
    # the model's: the places its forward branches on a value that follows a symbol
    branches: list[Branch] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]


def scope_tree(model: nn.Module, graph: fx.Graph, static: dict[str, Any]) -> Scope:
    root = Scope("", model)
    scopes = {"": root}
    produced_in: dict[str, Scope] = {}
    modules = dict(model.named_modules())
    live = _live(graph)
    for node in graph.nodes:
        if node.name in static or node.name not in live:
            continue
        if node.op == "placeholder":
            root.inputs.append(node.name)
            continue
        if node.op == "output":
            (result,) = reads(node)
            root.output = result.name
            root.shape = shape_of(result)
            continue
        # fx keys a module's later calls `path@1`, `path@2`: each call is a scope of its own
        stack = _stack(node)
        call = 0
        if node.op == "call_module" and stack and stack[-1][1] == node.target:
            call = _call_number(stack.pop()[0])
        parent = root
        for key, path in stack:
            if key not in scopes:
                scopes[key] = Scope(path, modules[path], call=_call_number(key))
                parent.entries.append(scopes[key])
            parent = scopes[key]
        leaf = str(node.target) if node.op == "call_module" else ""
        read = [n for n in reads(node) if n.name not in static]

        def known(n: fx.Node) -> Any:
            return static.get(n.name, n)

        step = Step(
            node,
            leaf,
            [n.name for n in read],
            shape_of(node),
            [shape_of(n) for n in read],
            [type_of(n) for n in read],
            fx.node.map_arg(node.args, known),
            fx.node.map_arg(node.kwargs, known),
            call,
        )
        parent.entries.append(step)
        produced_in[node.name] = parent
    _hoist_concatenations(root, produced_in)
    _wire(root, scopes)
    return root


def _live(graph: fx.Graph) -> set[str]:
    """The nodes whose values the output depends on."""
    live: set[str] = set()
    for node in reversed(graph.nodes):
        if node.op == "output" or node.name in live:
            live.add(node.name)
            live.update(n.name for n in reads(node))
    return live


def _stack(node: fx.Node) -> list[tuple[str, str]]:
    """The modules whose forwards were running when ``node`` was made, outermost first, as
    (call key, path). A constant tensor fx adds where a layer is given one belongs to the
    layer's caller, not to the layer."""
    if node.op == "get_attr" and node.users:
        user = next(iter(node.users))
        stack = _stack(user)
        if user.op == "call_module" and stack and stack[-1][1] == user.target:
            stack.pop()
        return stack
    calls = node.meta.get("nn_module_stack") or {}
    return [(key, path) for key, (path, _) in calls.items()]


def _call_number(key: str) -> int:
    _, at, number = key.rpartition("@")
    return int(number) if at and number.isdigit() else 0


def _hoist_concatenations(scope: Scope, produced_in: dict[str, Scope]) -> None:
    """A submodule that starts by concatenating the tensors it was given (a dense layer reads
    a list) takes their concatenation instead: the concatenation moves to the caller, so the
    submodule takes one tensor, as a spec's layers do. One that reads those tensors again (a
    dense block that keeps the list and concatenates it after each layer) keeps it."""
    index = 0
    while index < len(scope.entries):
        entry = scope.entries[index]
        if isinstance(entry, Scope):
            first = entry.entries[0] if entry.entries else None
            if (
                isinstance(first, Step)
                and first.node.op == "call_function"
                and first.node.target in (torch.cat, torch.concat)
                and all(produced_in.get(v) is not entry for v in first.inputs)
                and not any(v in first.inputs for step in _steps(entry)[1:] for v in step.inputs)
            ):
                entry.entries.pop(0)
                scope.entries.insert(index, first)
                produced_in[first.node.name] = scope
                index += 1
            _hoist_concatenations(entry, produced_in)
        index += 1


def _steps(scope: Scope) -> list[Step]:
    """The steps of ``scope`` and of the scopes inside it, in the order they ran."""
    found: list[Step] = []
    for entry in scope.entries:
        found += _steps(entry) if isinstance(entry, Scope) else [entry]
    return found


def _wire(root: Scope, scopes: dict[str, Scope]) -> None:
    """Each scope's inputs (values it reads that were made outside it, in first-use order) and
    output (the value made inside that is read outside)."""
    every = _steps(root)
    shapes = {s.node.name: s.shape for s in every}
    for scope in scopes.values():
        if scope is root:
            continue
        own = {s.node.name for s in _steps(scope)}
        for step in _steps(scope):
            for value in step.inputs:
                if value not in own and value not in scope.inputs:
                    scope.inputs.append(value)
        read_outside = [
            value
            for step in every
            if step.node.name not in own
            for value in step.inputs
            if value in own
        ]
        if root.output in own:
            read_outside.append(root.output)
        scope.output = read_outside[0] if read_outside else ""
        scope.shape = shapes.get(scope.output)
        if len(set(read_outside)) > 1:
            scope.output = ",".join(dict.fromkeys(read_outside))


def unread_layers(model: nn.Module, root: Scope) -> list[str]:
    """The paths of the modules holding parameters that nothing the output depends on reads
    (a pooler beside the hidden states kept): the spec has no layer for them."""
    read = {step.path for step in _steps(root) if step.path}
    read |= {
        str(step.node.target).rpartition(".")[0]
        for step in _steps(root)
        if step.node.op == "get_attr"
    }
    return [
        path
        for path, module in model.named_modules()
        if path
        and any(True for _ in module.parameters(recurse=False))
        and path not in read
        and not any(path.startswith(f"{used}.") for used in read)
    ]
