"""The batch folded into the rows of a matrix and unfolded again, taken out of a trace.

Some forwards flatten a sequence of tokens into rows, `(N, T, E) -> (N*T, E)`, run layers that
treat each row alone (a feed-forward, a norm), then view the result back as `(N, T, E)` (OPT's
decoder layer). A spec keeps the batch as the first axis, and those layers give the same rows
on the unflattened tensor, so the fold and the view back are left out. Whether each step in
between treats rows alone is not assumed from its name: it is run again on the unflattened
example values, and must give the same rows.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import fx, nn

from archc.importer.tracer import VALUE

# tensor methods and functions that regroup axes: a fold, or the view that undoes it
REGROUPINGS = ("reshape", "view", "flatten")


def unfold_batch(graph: fx.Graph, root: nn.Module) -> None:
    """Leave out of ``graph`` each fold of the batch into rows that is viewed back to its
    shape, where every step in between treats rows alone."""
    for node in list(graph.nodes):  # a view back that is left out is never a fold
        if _folds(node):
            _unfold(graph, root, node)


def _regroups(node: fx.Node) -> bool:
    name = node.target if node.op == "call_method" else getattr(node.target, "__name__", "")
    return node.op in ("call_method", "call_function") and name in REGROUPINGS


def _shape(value: Any) -> tuple[int, ...] | None:
    return tuple(value.shape) if isinstance(value, torch.Tensor) else None


def _folds(node: fx.Node) -> bool:
    """`(N, T, ..., E) -> (N*T*..., E)`: the leading axes, the batch's among them, as rows."""
    if not _regroups(node) or not node.args or not isinstance(node.args[0], fx.Node):
        return False
    before, after = _shape(node.args[0].meta.get(VALUE)), _shape(node.meta.get(VALUE))
    return (
        before is not None
        and after is not None
        and len(before) >= 3
        and len(after) == 2
        and after == (math.prod(before[:-1]), before[-1])
    )


def _unfold(graph: fx.Graph, root: nn.Module, fold: fx.Node) -> None:
    source = fold.args[0]
    assert isinstance(source, fx.Node)
    leading = _shape(source.meta[VALUE])[:-1]  # type: ignore[index]
    rows = math.prod(leading)
    order = {node: index for index, node in enumerate(graph.nodes)}
    between: list[fx.Node] = []
    restores: list[fx.Node] = []
    pending = list(fold.users)
    while pending:
        node = pending.pop()
        if node in between or node in restores:
            continue
        shape = _shape(node.meta.get(VALUE))
        if shape is None or not shape or shape[0] != rows or node.op == "output":
            if _regroups(node) and shape is not None and shape[:-1] == leading:
                restores.append(node)
                continue
            return  # the rows reach a value that is not rows of the fold, or the output
        between.append(node)
        pending += node.users
    if not restores:
        return
    between.sort(key=order.__getitem__)
    unfolded = {fold: source.meta[VALUE]}
    for node in between:
        value = _run(root, node, unfolded)
        if value is None or value.reshape(node.meta[VALUE].shape).ne(node.meta[VALUE]).any():
            return  # the step mixes rows, or reads other rows than the fold's
        unfolded[node] = value
    for node in restores:
        (reading,) = [n for n in node.all_input_nodes if n in unfolded]
        if _shape(unfolded[reading]) != _shape(node.meta[VALUE]):
            return
    for node in between:
        node.meta[VALUE] = unfolded[node]
    for node in restores:
        node.replace_all_uses_with(node.args[0])  # type: ignore[arg-type]
        graph.erase_node(node)
    fold.replace_all_uses_with(source)
    graph.erase_node(fold)


def _run(root: nn.Module, node: fx.Node, unfolded: dict[fx.Node, Any]) -> torch.Tensor | None:
    """``node``'s value computed from the unfolded values of the steps it reads, the example's
    values of the others; None where it reads a tensor of rows from outside the fold, or fails
    on the unfolded values."""
    rows = _shape(node.meta[VALUE])[0]  # type: ignore[index]
    outside = [
        n
        for n in node.all_input_nodes
        if n not in unfolded and (_shape(n.meta.get(VALUE)) or (0,))[0] == rows
    ]
    if outside or node.op not in ("call_module", "call_function", "call_method"):
        return None

    def value(n: fx.Node) -> Any:
        return unfolded[n] if n in unfolded else n.meta.get(VALUE)

    args = fx.node.map_arg(node.args, value)
    kwargs = fx.node.map_arg(node.kwargs, value)
    with torch.no_grad():
        try:
            if node.op == "call_module":
                found = root.get_submodule(str(node.target))(*args, **kwargs)
            elif node.op == "call_function":
                found = node.target(*args, **kwargs)  # type: ignore[operator]
            else:
                found = getattr(args[0], str(node.target))(*args[1:], **kwargs)
        except Exception:  # whatever the step raises on the unfolded values
            return None
    same = isinstance(found, torch.Tensor) and found.numel() == node.meta[VALUE].numel()
    return found if same else None
