"""Padding and cropping: `pad` adds positions at the ends of the last axes, as torch's `F.pad`.

The pad tuple is torch's: (left, right) for the last axis, then (top, bottom) for the one
before it, then (front, back). A negative amount crops. Constant padding works on any axis
but the batch; reflect, replicate and circular padding need (N, C, *spatial) and pad exactly
the spatial axes, as torch's kernels do. No parameters, 0 MACs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from archc import dims
from archc.dims import Dim, TensorType
from archc.ops.registry import register
from archc.ops.schema import Args, checks
from archc.ops.shape import Sizes
from archc.ops.spec import (
    INVALID,
    NON_POSITIVE,
    RANK,
    Execution,
    Inferred,
    Op,
    Template,
    fail,
)
from archc.ops.window import AXES, layout

PadMode = Literal["constant", "reflect", "replicate", "circular"]
# the names of the sides each pair of amounts pads, the last axis first
_SIDES = (("left", "right"), ("top", "bottom"), ("front", "back"))


class PadArgs(Args):
    pad: Sizes
    mode: PadMode = "constant"
    value: float = 0.0

    @checks("pad")
    def _pairs(pad: tuple[int, ...]) -> tuple[int, ...]:
        if not pad or len(pad) % 2:
            raise ValueError(
                "give an amount for both ends of each padded axis: (left, right, ...)"
            )
        return pad


def _side(pair: int, end: int) -> str:
    return _SIDES[pair][end] if pair < len(_SIDES) else ("before", "after")[end]


@register
class Pad(Op):
    name = "pad"
    family = "shape"
    summary = (
        "adds positions at both ends of the last axes, (left, right, top, bottom, ...) as "
        "torch's F.pad takes them; a negative amount crops"
    )
    Args = PadArgs
    positional = ("pad",)
    varargs = True
    rule = "W' = left + W + right, H' = top + H + bottom, ...; reflect: left, right < W"

    def infer(self, args: PadArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        axes = len(args.pad) // 2
        self._check(args, x, axes)
        shape = list(x.shape)
        for pair in range(axes):
            index = x.rank - 1 - pair
            before, after = args.pad[2 * pair], args.pad[2 * pair + 1]
            shape[index] = self._padded(args, x, index, pair, before, after)
        return Inferred(outputs=(TensorType(tuple(shape), x.dtype),))

    def _check(self, args: PadArgs, x: TensorType, axes: int) -> None:
        if args.mode == "constant":
            if axes > x.rank - 1:
                raise fail(
                    RANK,
                    f"pad gives amounts for {axes} axes, but {x} has only {x.rank - 1} "
                    "besides the batch",
                    rule="len(pad) / 2 <= rank - 1 (the batch is never padded)",
                    with_=f"len(pad) = {len(args.pad)}, {axes} axes",
                    arg="pad",
                    help=f"give at most {2 * (x.rank - 1)} amounts",
                    label=f"{axes} axes padded",
                )
            return
        if args.value != 0.0:
            raise fail(
                INVALID,
                f'pad value={args.value:g} has no meaning for mode="{args.mode}"',
                help='value fills the new positions of mode="constant" only; leave it out',
                arg="value",
                label=f"ignored by {args.mode} padding",
            )
        if axes not in AXES or x.rank != axes + 2:
            spatial = x.rank - 2
            hint = (
                f"give {2 * spatial} amounts, two per spatial axis"
                if spatial in AXES
                else 'reshape to (N, C, *spatial) first, or use mode="constant"'
            )
            raise fail(
                RANK,
                f'pad mode="{args.mode}" pads the spatial axes of (N, C, *spatial), but it '
                f"gives {len(args.pad)} amounts for the {x.rank}-d input {x}",
                rule=f"{x.rank}-d input = {layout(axes) if axes in AXES else '(N, C, *spatial)'}"
                f"; len(pad) = 2 * spatial axes",
                with_=f"len(pad) = {len(args.pad)}, {x.rank - 2} spatial axes",
                arg="pad",
                help=hint,
                label=f"{len(args.pad)} amounts for a {x.rank}-d input",
            )
        if any(amount < 0 for amount in args.pad):
            raise fail(
                INVALID,
                f'pad mode="{args.mode}" cannot crop, but pad={args.pad} has a negative amount',
                rule="amounts >= 0 unless mode is constant",
                arg="pad",
                help='crop with mode="constant" (the default), or with slice',
                label="a negative amount",
            )

    def _padded(
        self, args: PadArgs, x: TensorType, index: int, pair: int, before: int, after: int
    ) -> Dim:
        size = x.shape[index]
        out = size + before + after
        names = f"{_side(pair, 0)}={before}, {_side(pair, 1)}={after}"
        # reflect mirrors without repeating the edge, so it needs more than `amount` positions;
        # circular wraps around once
        limit = {"reflect": size - 1, "circular": size}.get(args.mode)
        if limit is not None and isinstance(size, int):
            largest = max(before, after)
            if largest > limit:
                relation = "<" if args.mode == "reflect" else "<="
                raise fail(
                    INVALID,
                    f'pad mode="{args.mode}" needs each amount {relation} the size it pads, but '
                    f"axis {index} of {x} has {size} positions and {names}",
                    rule=f"{_side(pair, 0)}, {_side(pair, 1)} {relation} size",
                    with_=f"size = {size}, max({before}, {after}) = {largest}",
                    arg="pad",
                    help=f'pad at most {limit} here, or use mode="replicate"',
                    label=f"{largest} > {limit}",
                )
        if dims.positive(out) is False:
            raise fail(
                NON_POSITIVE,
                f"pad leaves axis {index} of {x} with {out} positions",
                rule=f"{_side(pair, 0)} + size + {_side(pair, 1)} >= 1",
                with_=f"{before} + {size} + {after} = {out}",
                arg="pad",
                help=f"crop at most {dims.show(size - 1)} positions from axis {index}",
                label=f"{out} positions left",
            )
        return out

    def label(self, args: PadArgs, inferred: Inferred) -> str:
        shown = ",".join(str(amount) for amount in args.pad)
        return f"pad {shown}" + ("" if args.mode == "constant" else f" {args.mode}")

    def torch_expr(self, args: PadArgs, inferred: Inferred) -> Template:
        text = "F.pad({0}, {pad}"
        values: tuple[tuple[str, Any], ...] = (("pad", args.pad),)
        if args.mode != "constant":
            text += f', mode="{args.mode}"'
        if args.value != 0.0:
            text += ", value={value}"
            values += (("value", args.value),)
        return Template(text + ")", values)

    def execute(self, args: PadArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        torch = run.torch
        for pair in range(len(args.pad) // 2):
            axis = x.dim() - 1 - pair
            before, after = args.pad[2 * pair], args.pad[2 * pair + 1]
            size = x.shape[axis]
            # the source position of every output position, before the edges are applied
            wanted = torch.arange(-before, size + after)
            if args.mode == "reflect":
                wanted = (size - 1) - ((size - 1) - wanted.abs()).abs()
            elif args.mode == "replicate":
                wanted = wanted.clamp(0, size - 1)
            elif args.mode == "circular":
                wanted = wanted % size
            inside = (wanted >= 0) & (wanted < size)
            taken = x.index_select(axis, wanted.clamp(0, size - 1))
            shape = [1] * x.dim()
            shape[axis] = len(wanted)
            x = torch.where(inside.reshape(shape), taken, args.value)
        return (x,)
