"""The module tree of an elaborated network, seen class by class.

Code generation emits one class per block definition (and one for the network). This module
answers the structural questions that needs: which statements make up a class's `forward`
(its :class:`Item`s), which block instances share a class (same structure), and which layers a
sequence container holds.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field, replace
from typing import Any

from archc.ops import lookup
from archc.ops.spec import Inferred
from archc.semantics import provenance as pv
from archc.semantics.ir import Module, Network, Node, Ref


@dataclass
class Item:
    """One statement of a class's forward: an op node, or a call of a child module."""

    attr: str  # the first path component below the class: the attribute that holds it
    node: Node | None = None
    module: Module | None = None
    inputs: tuple[Ref, ...] = ()
    outputs: tuple[Ref, ...] = ()


@dataclass
class Scope:
    """A class's body in one instance: its path, inputs, outputs and forward items."""

    path: str
    module: Module
    inputs: tuple[Ref, ...]
    outputs: tuple[Ref, ...]
    items: list[Item] = field(default_factory=list)


def inferred_of(node: Node) -> Inferred:
    return Inferred(node.outputs, node.params, node.buffers, node.macs, node.resolved)  # type: ignore[arg-type]


def traced_inputs(node: Node) -> tuple[Any, Inferred]:
    """An op instance's arguments and inferred values as its emission sees them: those the
    spec computes from parameters or sizes carry their provenance (provenance.Traced), so
    the constructor or expression it writes says where each of its values came from."""
    symbolic = {k: o for k, o in node.arg_origins.items() if not pv.is_number(o)}
    updates = {k: pv.traced(getattr(node.args, k), o, every=True) for k, o in symbolic.items()}
    args = node.args.with_symbolic(updates, symbolic) if symbolic else node.args
    resolved = {
        k: pv.traced(v, node.resolved_origins.get(k), every=True) for k, v in node.resolved.items()
    }
    outputs = tuple(
        replace(t, shape=tuple(pv.traced(d, o) for d, o in zip(t.shape, dims, strict=True)))
        if t is not None and dims
        else t
        for t, dims in zip(node.outputs, node.dims or [()] * len(node.outputs), strict=True)
    )
    return args, Inferred(outputs, node.params, node.buffers, node.macs, resolved)  # type: ignore[arg-type]


def relative(path: str, scope: str) -> str:
    return path[len(scope) + 1 :] if scope else path


# scope_items is asked the same question many times while one module is written; with each
# network, the block instances that made no layer, by the scope that holds them
_ITEMS: dict[int, tuple[weakref.ref[Network], dict[str, list[Item]], dict[str, list[Module]]]] = {}


def scope_items(network: Network, scope: str) -> list[Item]:
    """The forward statements of the class instance at ``scope`` ("" for the network)."""
    entry = _ITEMS.get(id(network))
    if entry is None or entry[0]() is not network:
        key = id(network)
        entry = (weakref.ref(network, lambda _: _ITEMS.pop(key, None)), {}, _empty(network))
        _ITEMS[key] = entry
    if scope not in entry[1]:
        items = _scope_items(network, scope)
        for module in entry[2].get(scope, []):
            attr = module.path.rpartition(".")[2]
            item = Item(attr, module=module, inputs=module.inputs, outputs=module.outputs)
            items.insert(empty_position([i.outputs for i in items], module), item)
        entry[1][scope] = items
    return entry[1][scope]


def empty_blocks(network: Network, scope: str) -> list[Module]:
    """The block instances directly in ``scope`` that made no layer (their repeats made no
    copy, or their choice gave an input back), in the order they were made: each is an item
    of the scope all the same, whose call gives back what it takes."""
    scope_items(network, scope)
    return _ITEMS[id(network)][2].get(scope, [])


def empty_position(outputs: list[tuple[Ref, ...]], module: Module) -> int:
    """Where the empty block instance ``module`` goes among statements that give
    ``outputs``: right after the last that gives what it takes, else first."""
    given = [k for k, refs in enumerate(outputs) if set(refs) & set(module.inputs)]
    return given[-1] + 1 if given else 0


def _empty(network: Network) -> dict[str, list[Module]]:
    """The block instances that made no layer (their repeats made no copy, their choice
    gave an input back), by the scope that holds them, in the order they were made."""
    found: dict[str, list[Module]] = {}
    for path, module in network.modules.items():
        if module.kind == "block" and not network.within(path):
            found.setdefault(path.rpartition(".")[0], []).append(module)
    return found


def _scope_items(network: Network, scope: str) -> list[Item]:
    items: list[Item] = []
    seen: set[str] = set()
    for node in network.within(scope):
        if node.kind == "input":
            continue
        attr = relative(node.path, scope).split(".", 1)[0]
        key = f"{scope}.{attr}" if scope else attr
        module = network.modules.get(key)
        if module is None:
            items.append(
                Item(
                    attr,
                    node=node,
                    inputs=node.inputs,
                    outputs=tuple(Ref(node.id, i) for i in range(len(node.outputs))),
                )
            )
        elif key not in seen:
            seen.add(key)
            # a scan reads its sequences and states and gives its results, around the cell
            outer = module.scan or module
            items.append(Item(attr, module=module, inputs=outer.inputs, outputs=outer.outputs))
    return items


def first_id(network: Network, item: Item) -> int:
    """The id of an item's first node: where the body made it."""
    if item.node is not None:
        return item.node.id
    assert item.module is not None
    made = network.within(item.module.path)
    if not made:  # an instance that made none: after what it reads
        return max((ref.node for ref in item.inputs), default=0)
    return min(n.id for n in made)


def members(network: Network, module_path: str) -> list[Node]:
    """Every op node under ``module_path``, in order."""
    return [n for n in network.within(module_path) if n.kind == "op"]


def is_chain(network: Network, module: Module) -> bool:
    """Whether a sequence container is a plain chain (emitted as one ``nn.Sequential`` call):
    each child takes exactly the previous child's single output and is callable: a module (an
    op written as an expression, `torch.permute(x, ...)`, has no place in an nn.Sequential), a
    block, a dense block (see is_dense_loop), or a plain chain itself (nn.Sequential can only
    pass one tensor along)."""
    if module.kind != "sequence" or len(module.inputs) != 1 or len(module.outputs) != 1:
        return False
    if module.combinator in ("dense", "moe"):
        return False
    expected = module.inputs
    for item in scope_items(network, module.path):
        if item.inputs != expected or len(item.outputs) != 1:
            return False
        if item.node is not None and not is_module(item.node):
            return False
        if item.module is not None and not is_callable(network, item.module):
            return False
        expected = item.outputs
    return expected == module.outputs


def is_callable(network: Network, module: Module) -> bool:
    """Whether the generated module for ``module`` computes it when called: a block, a plain
    chain, a dense block that loops over its layers or a `moe` over a block, which loops over
    its experts."""
    if module.kind != "sequence" or module.combinator == "moe":
        return True
    return is_chain(network, module) or is_dense_loop(network, module)


def is_dense_loop(network: Network, module: Module) -> bool:
    """Whether a named dense block is emitted as a module whose forward loops over its parts
    (torchvision's _DenseBlock): each part is one callable module, and the joins are what
    `dense` makes, the concatenation of the input and every earlier part's output."""
    if module.combinator != "dense" or len(module.inputs) != 1 or len(module.outputs) != 1:
        return False
    seen = list(module.inputs)
    for item in dense_parts(network, module):
        if len(item.inputs) != 1 or len(item.outputs) != 1:
            return False
        if item.node is not None and not is_module(item.node):
            return False
        if item.module is not None and not is_callable(network, item.module):
            return False
        joined = (
            item.inputs[0] == seen[0] if len(seen) == 1 else _joins(network, item.inputs[0], seen)
        )
        if not joined:
            return False
        seen.append(item.outputs[0])
    return len(seen) > 1 and _joins(network, module.outputs[0], seen)


def dense_parts(network: Network, module: Module) -> list[Item]:
    """The parts of a named dense block: its items other than the joins."""
    return [i for i in scope_items(network, module.path) if i.node is None or is_module(i.node)]


def _joins(network: Network, ref: Ref, refs: list[Ref]) -> bool:
    """Whether ``ref`` is the concatenation of ``refs`` along the channels."""
    node = network.node(ref.node)
    return node.op == "concat" and list(node.inputs) == refs and node.args.dim == 1


def holder(network: Network, path: str) -> str:
    """How a container that is not called whole holds its modules: an nn.ModuleList ("list")
    where they are indexed 0, 1, ... in order, else an nn.ModuleDict ("dict") under their
    names. Ops written as expressions are computed in forward and hold no place."""
    attrs = [i.attr for i in scope_items(network, path) if i.node is None or is_module(i.node)]
    return "list" if attrs == [str(n) for n in range(len(attrs))] else "dict"


def is_module(node: Node) -> bool:
    op = lookup(node.op)
    return op is not None and op.torch_module(node.args, inferred_of(node)) is not None
