"""Positions taken or moved along one axis: `slice` (Python's start:stop:step) and `roll`.

`slice(dim=2, start=0, step=2)` is `x[:, :, 0::2]`, the strided sampling of a patch-merging
layer; `roll` shifts positions cyclically, as a shifted-window transformer does. Neither
touches the batch axis, holds parameters or counts MACs.
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
    INVALID,
    NON_POSITIVE,
    SYMBOLIC,
    Execution,
    Inferred,
    Op,
    Template,
    fail,
)


class SliceArgs(Args):
    dim: Axis
    start: int = 0
    stop: int | None = None
    step: int = 1


def written(args: SliceArgs) -> str:
    """`start:stop:step` as Python writes it, the defaults left out."""
    start = "" if args.start == 0 else str(args.start)
    stop = "" if args.stop is None else str(args.stop)
    return f"{start}:{stop}" + ("" if args.step == 1 else f":{args.step}")


def _length(args: SliceArgs, size: Dim) -> Dim | None:
    """How many positions ``start:stop:step`` keeps of ``size``; None where that depends on
    symbols in a way no expression over them says."""
    if args.start >= 0 and (args.stop is None or args.stop < 0):
        # every position from start on, to the end or to a fixed distance before it (`[:-1]`);
        # positive only if the axis is long enough. Worked out by arithmetic on a number too,
        # so that its provenance follows the axis's size
        end = size if args.stop is None else size + args.stop
        return (end - args.start + args.step - 1) // args.step
    if isinstance(size, int):
        return len(range(*slice(args.start, args.stop, args.step).indices(size)))
    return None


@register
class Slice(Op):
    name = "slice"
    family = "shape"
    summary = (
        "keeps the positions start, start+step, ... before stop along one axis, as "
        "`x[:, :, start:stop:step]`; negative start and stop count from the end"
    )
    Args = SliceArgs
    positional = ("dim", "start", "stop", "step")
    rule = "d -> len(range(start, stop, step)) of d, at least 1; step >= 1"

    def infer(self, args: SliceArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        index = axis_index(args.dim, x, self.name)
        if args.step < 1:
            raise fail(
                INVALID,
                f"slice step={args.step} must be at least 1",
                rule="step >= 1",
                with_=f"step = {args.step}",
                arg="step",
                help="a step of 0 never moves; to reverse an axis, permute or index it instead"
                if args.step == 0
                else "torch slices forwards only: slice with a positive step",
                label="a step of 0" if args.step == 0 else "a negative step",
            )
        size = x.shape[index]
        length = _length(args, size)
        if length is None:
            raise fail(
                SYMBOLIC,
                f"slice [{written(args)}] of axis {index} of {x} depends on the size {size}",
                rule="on a symbolic axis: start >= 0, and no stop or a negative one",
                arg="start" if args.start < 0 else "stop",
                help="slice from a fixed start to the end or to a fixed distance before it, "
                "or fix the size of the axis",
                label=f"depends on {size}",
            )
        if dims.positive(length) is False:
            raise fail(
                NON_POSITIVE,
                f"slice [{written(args)}] of axis {index} of {x} keeps no position",
                rule="len(range(start, stop, step)) >= 1",
                with_=f"size = {size}, start = {args.start}, stop = {args.stop}, "
                f"step = {args.step}",
                arg="start",
                help=f"positions run from 0 to {dims.show(size - 1)} (or -{size} to -1)",
                label="an empty slice",
            )
        shape = (*x.shape[:index], length, *x.shape[index + 1 :])
        return Inferred(outputs=(TensorType(shape, x.dtype),))

    def label(self, args: SliceArgs, inferred: Inferred) -> str:
        return f"slice [{written(args)}] dim {args.dim}"

    def torch_expr(self, args: SliceArgs, inferred: Inferred) -> Template:
        # the axes before dim (or after it, for a negative dim) are taken whole
        if args.dim < 0:
            subscript = ", ".join(["...", "{part}", *[":"] * (-args.dim - 1)])
        else:
            subscript = ", ".join([*[":"] * args.dim, "{part}"])
        text = f"{{0}}[{subscript}]"
        values: list[tuple[str, Any]] = []
        parts = []
        for name, default in (("start", 0), ("stop", None)):
            value = getattr(args, name)
            parts.append("" if value == default else f"{{{name}}}")
            if value != default:
                values.append((name, value))
        if args.step != 1:
            parts.append("{step}")
            values.append(("step", args.step))
        return Template(text.replace("{part}", ":".join(parts)), tuple(values))

    def execute(self, args: SliceArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        kept = range(*slice(args.start, args.stop, args.step).indices(x.shape[args.dim]))
        return (x.index_select(args.dim, run.torch.tensor(list(kept), dtype=run.torch.long)),)


class RollArgs(Args):
    shifts: int | tuple[int, ...]
    # required: torch's default rolls the flattened tensor, the batch included
    dims: int | tuple[int, ...]


@register
class Roll(Op):
    name = "roll"
    family = "shape"
    summary = (
        "shifts positions cyclically along the given axes: what leaves one end comes back "
        "at the other (a shifted window's `torch.roll`)"
    )
    Args = RollArgs
    positional = ("shifts", "dims")
    rule = "output shape = input shape; one shift per axis in dims"

    def infer(self, args: RollArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        shifts = args.shifts if isinstance(args.shifts, tuple) else (args.shifts,)
        axes = args.dims if isinstance(args.dims, tuple) else (args.dims,)
        if len(shifts) != len(axes):
            raise fail(
                INVALID,
                f"roll got {len(shifts)} shifts for {len(axes)} axes",
                rule="len(shifts) == len(dims)",
                with_=f"shifts = {args.shifts}, dims = {args.dims}",
                arg="shifts",
                help=f"give one shift for each of the {len(axes)} axes",
                label=f"{len(shifts)} shifts",
            )
        for axis in axes:
            axis_index(axis, x, self.name, "dims")
        return Inferred(outputs=(x,))

    def label(self, args: RollArgs, inferred: Inferred) -> str:
        return f"roll {args.shifts} dims {args.dims}"

    def torch_expr(self, args: RollArgs, inferred: Inferred) -> Template:
        values = (("shifts", args.shifts), ("dims", args.dims))
        return Template("torch.roll({0}, shifts={shifts}, dims={dims})", values)

    def execute(self, args: RollArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        shifts = args.shifts if isinstance(args.shifts, tuple) else (args.shifts,)
        axes = args.dims if isinstance(args.dims, tuple) else (args.dims,)
        for shift, axis in zip(shifts, axes, strict=True):
            size = x.shape[axis]
            # output position i holds input position i - shift
            source = (run.torch.arange(size) - shift) % size
            x = x.index_select(axis, source)
        return (x,)
