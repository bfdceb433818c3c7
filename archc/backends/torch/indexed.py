"""Copies of a repeat that read their index `i`, written from the expression they share.

Elaboration records, for each op and block call in a copy whose arguments read the index, the
provenance every copy shares with the index left as provenance.COPY_INDEX
(`Node.index_origins`, `Module.index_origins`), and the sizes that follow the index likewise
(semantics/indexed_sizes.py: `Node.index_resolved`, `Module.index_input_dims`). The copies
of one repeat, in order, are one loop or comprehension over the index where that
expression, given each copy's position, gives exactly the copy's own provenance:
`[dropout(0.1 * i) -> relu] * n` registers `nn.Sequential(nn.Dropout(p=0.1 * k), nn.ReLU())`
for each `k`. A copy that is a chain is looked into as its class writes it (its children,
not the bodies of the blocks it calls, whose index is another repeat's).
"""

from __future__ import annotations

from dataclasses import replace

from archc.backends.torch.structure import Item, scope_items
from archc.semantics import provenance as pv
from archc.semantics.ir import Module, Network, Node

# where a copy reads its index: the path of the op or block call in the copy, the argument,
# the expression every copy shares and this copy's own provenance
Read = tuple[str, str, pv.Expr, pv.Expr | None]
Sizes = tuple[pv.Expr | None, ...]


def index_reads(network: Network, item: Item, here: str = "") -> list[Read]:
    """Every argument of the copy ``item`` that reads the copy's index, each under its path
    in the copy (``here``, that of the item)."""
    if item.node is not None:
        node = item.node
        return [
            *((here, k, e, node.arg_origins.get(k)) for k, e in node.index_origins.items()),
            *((here, k, e, node.resolved_origins.get(k)) for k, e in node.index_resolved.items()),
        ]
    module = item.module
    assert module is not None
    if module.kind == "block":
        sizes = [
            (here, f"{position}.{axis}", d, _size(module.input_dims, position, axis))
            for position, dims in enumerate(module.index_input_dims)
            for axis, d in enumerate(dims or ())
            if d is not None
        ]
        arguments = module.index_origins.items()
        return [*((here, k, e, module.arg_origins.get(k)) for k, e in arguments), *sizes]
    return [
        r for child in scope_items(network, module.path) for r in index_reads(network, child, here)
    ]


def indexed(network: Network, items: list[Item], at_least: int = 2) -> bool:
    """Whether ``items`` are the copies of one repeat, in order (``at_least`` of them), whose
    arguments read the copy's index: each copy after the first the same expressions of it,
    which give every copy's own arguments and sizes with its position as the index (the
    first takes the repeat's input: its sizes are its own)."""
    if len(items) < at_least:
        return False
    reads = [index_reads(network, item) for item in items]
    if not reads[0] or any(
        [r[:3] for r in found] != [r[:3] for r in reads[-1]] for found in reads[1:]
    ):
        return False
    return all(
        _gives(expr, position, own)
        for position, found in enumerate(reads)
        for _, _, expr, own in found
    )


def _gives(expr: pv.Expr, position: int, own: pv.Expr | None) -> bool:
    """Whether ``expr`` gives ``own`` with the index at ``position``."""
    if own is None:
        return False
    at = pv.bound(expr, pv.COPY_INDEX.name, pv.Lit(position))
    return pv.written_alike(at, own) or pv.equal_for_all_values(at, own)


def _size(dims: tuple[Sizes | None, ...], position: int, axis: int) -> pv.Expr | None:
    sizes = dims[position] if position < len(dims) else None
    return sizes[axis] if sizes is not None and axis < len(sizes) else None


def as_copy(node: Node) -> Node:
    """The op ``node`` of a copy as every copy has it: an argument, a resolved value and an
    output size that read the index as the expression of it every copy shares."""
    if not node.index_origins and not node.index_resolved:
        return node
    return replace(
        node,
        arg_origins={**node.arg_origins, **node.index_origins},
        resolved_origins={**node.resolved_origins, **node.index_resolved},
        dims=node.index_dims or node.dims,
    )


def input_size(module: Module, position: int, axis: int) -> pv.Expr | None:
    """The provenance of a size of the block call ``module``'s input at ``position``, in a
    copy as every copy has it."""
    return _size(module.index_input_dims or module.input_dims, position, axis)
