"""Ops that choose elements by value or by index: `topk`, `gather`, `scatter_add`, `one_hot`.

They are what a router is made of when it is written out rather than taken whole from `moe`:
`scores, chosen = logits -> topk(8)` picks each token's experts, `gather` reads the entries an
index tensor names, `scatter_add` sums values into the places it names and `one_hot` turns
indices into a mask. Indices are int64, as torch wants them; none holds parameters or counts
MACs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archc import dims
from archc.dims import Dim, TensorType
from archc.ops.registry import register
from archc.ops.schema import Args
from archc.ops.shape import Axis, axis_index
from archc.ops.spec import (
    DTYPE,
    RANK,
    Execution,
    Inferred,
    Op,
    PositiveInt,
    Template,
    fail,
)

# Diagnostic codes of this module.
MORE_THAN_THE_AXIS = "A367"  # topk's k above the length of its axis
INDEX_TOO_LARGE = "A368"  # an index tensor larger than the tensor it indexes on some axis

INDEX_DTYPE = "int64"


def _indices(index: TensorType, op: str, arg: str) -> None:
    if index.dtype != INDEX_DTYPE:
        raise fail(
            DTYPE,
            f"{op} takes int64 indices, but `{arg}` {dims.show_shape(index.shape)} holds "
            f"{index.dtype}",
            rule=f"{arg} dtype = int64",
            help="indices come from `topk`, `positions` or an int64 input",
            label=f"{index.dtype} indices",
        )


def _same_rank(x: TensorType, other: TensorType, op: str, arg: str) -> None:
    if x.rank != other.rank:
        raise fail(
            RANK,
            f"{op} needs `{arg}` with as many axes as its input: {other} against {x}",
            rule=f"rank of {arg} = rank of x",
            with_=f"{other.rank} axes against {x.rank}",
            label=f"a {other.rank}-d {arg}",
        )


def _within(index: TensorType, x: TensorType, op: str, what: str, skip: int | None) -> None:
    """Every axis of ``index`` (but ``skip``) is at most as long as ``x``'s, as torch requires;
    a symbolic size must be the very same size."""
    for axis, (small, large) in enumerate(zip(index.shape, x.shape, strict=True)):
        if axis == skip or small == large:
            continue
        if isinstance(small, int) and isinstance(large, int) and small <= large:
            continue
        raise fail(
            INDEX_TOO_LARGE,
            f"{op}'s index {dims.show_shape(index.shape)} is longer than {what} "
            f"{dims.show_shape(x.shape)} on axis {axis}",
            rule=f"index.size(d) <= {what}.size(d) on every axis d"
            + ("" if skip is None else " but dim"),
            with_=f"axis {axis}: {_shown(small)} against {_shown(large)}",
            help="index a tensor at least as long on every axis, or slice the index first",
            label=f"axis {axis} longer than {what}'s",
        )


def _shown(size: Dim) -> str:
    return dims.show_shape((size,))[1:-1]


class TopkArgs(Args):
    k: PositiveInt
    dim: Axis = -1
    largest: bool = True


@register
class Topk(Op):
    name = "topk"
    family = "shape"
    summary = (
        "the k largest values along dim (the smallest with largest=false), sorted, and their "
        "int64 indices, as two outputs: `values, indices = x -> topk(8)`"
    )
    Args = TopkArgs
    positional = ("k", "dim")
    rule = "(N, ..., d, ...) -> values and int64 indices (N, ..., k, ...); k <= d"

    def infer(self, args: TopkArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        axis = axis_index(args.dim, x, self.name)
        length = x.shape[axis]
        if isinstance(length, int) and args.k > length:
            raise fail(
                MORE_THAN_THE_AXIS,
                f"topk takes k={args.k} values along axis {axis}, which holds only {length}",
                rule="k <= the length of axis dim",
                with_=f"k = {args.k}, axis {axis} of {dims.show_shape(x.shape)} = {length}",
                help=f"take at most {length}, or choose the axis with dim",
                arg="k",
                label=f"k={args.k}, the axis holds {length}",
            )
        shape = (*x.shape[:axis], args.k, *x.shape[axis + 1 :])
        return Inferred(outputs=(TensorType(shape, x.dtype), TensorType(shape, INDEX_DTYPE)))

    def label(self, args: TopkArgs, inferred: Inferred) -> str:
        return f"top {args.k}" if args.largest else f"bottom {args.k}"

    def torch_expr(self, args: TopkArgs, inferred: Inferred) -> Template:
        if args.largest:
            return Template("torch.topk({0}, {k}, dim={dim})", (("k", args.k), ("dim", args.dim)))
        values = (("k", args.k), ("dim", args.dim))
        return Template("torch.topk({0}, {k}, dim={dim}, largest=False)", values)

    def execute(self, args: TopkArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        # a stable sort, then the first k: the order torch.topk gives
        (x,) = run.inputs
        order = run.torch.sort(x, dim=args.dim, descending=args.largest, stable=True).indices
        indices = order.narrow(args.dim, 0, args.k)
        return (x.gather(args.dim, indices), indices)


class GatherArgs(Args):
    dim: Axis


@register
class Gather(Op):
    name = "gather"
    family = "merge"
    summary = (
        "the entries of x that int64 `index` names along dim, at every other position as "
        "they are: out[n][i][j] = x[n][index[n][i][j]][j] for dim=1"
    )
    Args = GatherArgs
    positional = ("dim",)
    inputs = ("x", "index")
    min_inputs = 2
    rule = "x (N, ..., d, ...), index (N, ..., k, ...) -> index's shape, no longer than x off dim"

    def infer(self, args: GatherArgs, inputs: Sequence[TensorType]) -> Inferred:
        x, index = inputs
        axis = axis_index(args.dim, x, self.name)
        _indices(index, self.name, "index")
        _same_rank(x, index, self.name, "index")
        _within(index, x, self.name, "x", skip=axis)
        return Inferred(outputs=(TensorType(index.shape, x.dtype),))

    def label(self, args: GatherArgs, inferred: Inferred) -> str:
        return f"gather dim={args.dim}"

    def torch_expr(self, args: GatherArgs, inferred: Inferred) -> Template:
        return Template("torch.gather({0}, {dim}, {1})", (("dim", args.dim),))

    def execute(self, args: GatherArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        # each entry read through advanced indexing: index along dim, arange on the others
        x, index = run.inputs
        torch = run.torch
        axis = args.dim % x.dim()
        positions = [
            index
            if a == axis
            else torch.arange(size).reshape([-1 if b == a else 1 for b in range(x.dim())])
            for a, size in enumerate(index.shape)
        ]
        return (x[tuple(positions)],)


class ScatterAddArgs(Args):
    dim: Axis


@register
class ScatterAdd(Op):
    name = "scatter_add"
    family = "merge"
    summary = (
        "x with each entry of `src` added at the place int64 `index` names along dim: "
        "out[n][index[n][i][j]][j] += src[n][i][j] for dim=1; what a mixture of experts' "
        "outputs are summed with"
    )
    Args = ScatterAddArgs
    positional = ("dim",)
    inputs = ("x", "index", "src")
    min_inputs = 3
    rule = "x, index, src of one rank -> x's shape; index no longer than src, nor than x off dim"

    def infer(self, args: ScatterAddArgs, inputs: Sequence[TensorType]) -> Inferred:
        x, index, src = inputs
        axis = axis_index(args.dim, x, self.name)
        _indices(index, self.name, "index")
        _same_rank(x, index, self.name, "index")
        _same_rank(x, src, self.name, "src")
        if src.dtype != x.dtype:
            raise fail(
                DTYPE,
                f"scatter_add adds {src.dtype} values into {x.dtype} x",
                rule="src dtype = x dtype",
                help="make both the same type where they are made",
                label=f"{src.dtype} src",
            )
        _within(index, src, self.name, "src", skip=None)
        _within(index, x, self.name, "x", skip=axis)
        return Inferred(outputs=(x,))

    def label(self, args: ScatterAddArgs, inferred: Inferred) -> str:
        return f"scatter_add dim={args.dim}"

    def torch_expr(self, args: ScatterAddArgs, inferred: Inferred) -> Template:
        return Template("torch.scatter_add({0}, {dim}, {1}, {2})", (("dim", args.dim),))

    def execute(self, args: ScatterAddArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        # an explicit one-hot sum: out = x + sum_i src_i * (index_i == position)
        x, index, src = run.inputs
        axis = args.dim % x.dim()
        length = x.shape[axis]
        src = src.narrow(axis, 0, index.shape[axis])
        for a in range(x.dim()):
            if a != axis:
                src = src.narrow(a, 0, index.shape[a])
        hits = run.F.one_hot(index, length).to(src.dtype)  # (..., i on axis, ..., length)
        added = (hits * src.unsqueeze(-1)).sum(dim=axis).movedim(-1, axis)
        pad = [0, 0] * x.dim()
        for a in range(x.dim()):
            if a != axis:
                pad[2 * (x.dim() - 1 - a) + 1] = x.shape[a] - added.shape[a]
        return (x + run.F.pad(added, pad),)


class OneHotArgs(Args):
    classes: PositiveInt


@register
class OneHot(Op):
    name = "one_hot"
    family = "embedding"
    summary = "int64 class indices as int64 one-hot vectors along a new last axis of `classes`"
    Args = OneHotArgs
    positional = ("classes",)
    rule = "int64 (N, *) -> int64 (N, *, classes); each index < classes when it runs"

    def infer(self, args: OneHotArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        _indices(x, self.name, "x")
        return Inferred(outputs=(TensorType((*x.shape, args.classes), INDEX_DTYPE),))

    def label(self, args: OneHotArgs, inferred: Inferred) -> str:
        return f"one_hot {args.classes}"

    def torch_expr(self, args: OneHotArgs, inferred: Inferred) -> Template:
        return Template("F.one_hot({0}, {classes})", (("classes", args.classes),))

    def execute(self, args: OneHotArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        classes = run.torch.arange(args.classes, device=x.device)
        return ((x.unsqueeze(-1) == classes).to(run.torch.int64),)
