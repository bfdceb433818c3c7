"""Copies of a repeat that read their index `i`, written from the expression they share.

Elaboration records, for each op and block call in a copy whose arguments read the index, the
provenance every copy shares with the index left as provenance.COPY_INDEX
(`Node.index_origins`, `Module.index_origins`). The copies of one repeat, in order, are one
loop or comprehension over the index where that expression, given each copy's position,
gives exactly the copy's own provenance: `[dropout(0.1 * i) -> relu] * n` registers
`nn.Sequential(nn.Dropout(p=0.1 * k), nn.ReLU())` for each `k`. A copy that is a chain is
looked into as its class writes it (its children, not the bodies of the blocks it calls,
whose index is another repeat's).
"""

from __future__ import annotations

from dataclasses import replace

from archc.backends.torch.structure import Item, scope_items
from archc.semantics import provenance as pv
from archc.semantics.ir import Network, Node

# where a copy reads its index: the path of the op or block call in the copy, the argument,
# the expression every copy shares and this copy's own provenance
Read = tuple[str, str, pv.Expr, pv.Expr | None]


def index_reads(network: Network, item: Item, here: str = "") -> list[Read]:
    """Every argument of the copy ``item`` that reads the copy's index, each under its path
    in the copy (``here``, that of the item)."""
    if item.node is not None:
        node = item.node
        return [(here, k, e, node.arg_origins.get(k)) for k, e in node.index_origins.items()]
    module = item.module
    assert module is not None
    if module.kind == "block":
        return [(here, k, e, module.arg_origins.get(k)) for k, e in module.index_origins.items()]
    return [
        r for child in scope_items(network, module.path) for r in index_reads(network, child, here)
    ]


def indexed(network: Network, items: list[Item], at_least: int = 2) -> bool:
    """Whether ``items`` are the copies of one repeat, in order (``at_least`` of them), whose
    arguments read the copy's index: each copy the same expression of it, which gives the
    copy's own argument with its position as the index."""
    if len(items) < at_least:
        return False
    reads = [index_reads(network, item) for item in items]
    shared = [read[:3] for read in reads[0]]
    if not shared:
        return False
    return all(
        [read[:3] for read in found] == shared
        and all(
            pv.written_alike(pv.bound(expr, pv.COPY_INDEX.name, pv.Lit(position)), own)
            for _, _, expr, own in found
        )
        for position, found in enumerate(reads)
    )


def as_copy(node: Node) -> Node:
    """The op ``node`` of a copy as every copy has it: an argument that reads the index as
    the expression of it every copy shares."""
    if not node.index_origins:
        return node
    return replace(node, arg_origins={**node.arg_origins, **node.index_origins})
