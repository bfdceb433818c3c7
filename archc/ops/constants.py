"""Build-time constants and the buffers that hold them.

`arange(8)` and `zeros(1, 8)` take no tensor: each is a constant, computed from sizes alone,
with a batch axis of 1 so that every other op (arithmetic, unsqueeze, permute, flatten,
comparisons) works on it as on any tensor and its result broadcasts over the batch.
`buffer(t)` holds such a constant in the module, as torchvision's Swin V2 holds
`relative_position_index`: stored without the batch axis, computed once in `__init__`, saved
with the weights unless `persistent=false`. Whether a buffer's input is a constant (depends on
no input of the network) is checked by elaboration, which sees the graph
(`Op.constant_inputs`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from archc.dims import Dim, TensorType
from archc.ops.registry import register
from archc.ops.schema import Args, checks
from archc.ops.spec import (
    HELD,
    NON_POSITIVE,
    Ctor,
    Execution,
    Inferred,
    Op,
    Template,
    fail,
)


class ArangeArgs(Args):
    bounds: tuple[int, ...]
    dtype: Literal["int64", "float32", "float64"] = "int64"

    @checks("bounds", before=True)
    def _as_tuple(bounds: Any) -> Any:
        return bounds if isinstance(bounds, tuple) else (bounds,)

    @checks("bounds")
    def _stop_or_range(bounds: tuple[int, ...]) -> tuple[int, ...]:
        if not 1 <= len(bounds) <= 3:
            raise ValueError("arange takes stop, or start and stop, or start, stop and step")
        if len(bounds) == 3 and bounds[2] == 0:
            raise ValueError("the step of arange is not 0")
        return bounds


def _range(bounds: tuple[int, ...]) -> tuple[int, int, int]:
    """(start, stop, step) as Python's range reads ``bounds``."""
    if len(bounds) == 1:
        return 0, bounds[0], 1
    if len(bounds) == 2:
        return bounds[0], bounds[1], 1
    return bounds[0], bounds[1], bounds[2]


def _count(start: int, stop: int, step: int) -> Dim:
    """len(range(start, stop, step)), kept as arithmetic on the bounds so that the size says
    where it came from (`window` for arange(window))."""
    if len(range(start, stop, step)) == 0:
        return 0
    if step == 1:
        return stop - start if start != 0 else stop
    if step > 0:
        return (stop - start + step - 1) // step
    return (start - stop - step - 1) // -step


@register
class Arange(Op):
    name = "arange"
    family = "position"
    summary = (
        "the numbers start, start+step, ... below stop (`arange(8)`: 0 to 7), a build-time "
        "constant with a batch axis of 1: `(1, count)`, int64 unless dtype says float32 or "
        "float64. It takes no tensor; `buffer` holds a constant computed from it"
    )
    Args = ArangeArgs
    positional = ("bounds",)
    varargs = True
    inputs = ()
    min_inputs = 0
    rule = "() -> (1, len(range(start, stop, step)))"

    def infer(self, args: ArangeArgs, inputs: Sequence[TensorType]) -> Inferred:
        start, stop, step = _range(args.bounds)
        count = _count(start, stop, step)
        if count == 0:
            raise fail(
                NON_POSITIVE,
                f"arange{args.bounds} holds no number",
                rule="count = ceil((stop - start) / step) >= 1",
                with_=f"start={start}, stop={stop}, step={step}",
                arg="bounds",
                help="give a stop above start (or below it, with a negative step)",
                label="empty",
            )
        return Inferred(outputs=(TensorType((1, count), args.dtype),))

    def label(self, args: ArangeArgs, inferred: Inferred) -> str:
        return f"arange{args.bounds}"

    def torch_expr(self, args: ArangeArgs, inferred: Inferred) -> Template:
        count = len(args.bounds)
        names = ("start", "stop", "step")[:count] if count > 1 else ("stop",)
        written = ", ".join(f"{{{name}}}" for name in names)
        dtype = "" if args.dtype == "int64" else f", dtype=torch.{args.dtype}"
        values = tuple(zip(names, args.bounds, strict=True))
        return Template(f"torch.arange({written}{dtype}).unsqueeze(0)", values)

    def execute(self, args: ArangeArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        dtype = getattr(run.torch, args.dtype)
        return (run.torch.arange(*_range(args.bounds), dtype=dtype).unsqueeze(0),)


class ZerosArgs(Args):
    shape: tuple[int, ...]
    dtype: Literal["float32", "float64", "int64"] = "float32"

    @checks("shape", before=True)
    def _as_tuple(shape: Any) -> Any:
        return shape if isinstance(shape, tuple) else (shape,)


@register
class Zeros(Op):
    name = "zeros"
    family = "embedding"
    summary = (
        "a build-time constant of zeros of the given shape with a batch axis of 1, "
        "`(1, *shape)`, float32 unless dtype says float64 or int64: what `buffer` holds for a "
        "table that starts at zero and is loaded from a checkpoint, as BART's "
        "`final_logits_bias`"
    )
    Args = ZerosArgs
    positional = ("shape",)
    varargs = True
    inputs = ()
    min_inputs = 0
    rule = "() -> (1, *shape)"

    def infer(self, args: ZerosArgs, inputs: Sequence[TensorType]) -> Inferred:
        for size in args.shape:
            if size < 1:
                raise fail(
                    NON_POSITIVE,
                    f"zeros{args.shape} has a size of {size}",
                    rule="every size >= 1",
                    with_=f"shape={args.shape}",
                    arg="shape",
                    help="give each axis at least one element",
                    label="empty",
                )
        return Inferred(outputs=(TensorType((1, *args.shape), args.dtype),))

    def label(self, args: ZerosArgs, inferred: Inferred) -> str:
        return f"zeros{args.shape}"

    def torch_expr(self, args: ZerosArgs, inferred: Inferred) -> Template:
        names = tuple(f"size{axis}" for axis in range(len(args.shape)))
        written = ", ".join(f"{{{name}}}" for name in names)
        dtype = "" if args.dtype == "float32" else f", dtype=torch.{args.dtype}"
        values = tuple(zip(names, args.shape, strict=True))
        return Template(f"torch.zeros(1, {written}{dtype})", values)

    def execute(self, args: ZerosArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        return (run.torch.zeros(1, *args.shape, dtype=getattr(run.torch, args.dtype)),)


class BufferArgs(Args):
    persistent: bool = True


@register
class Buffer(Op):
    name = "buffer"
    family = "embedding"
    summary = (
        "holds a build-time constant (made from `arange` or `zeros` and the ops on tensors, "
        "never from an input of the network) in the module as a buffer under the layer's "
        "name, stored without its batch axis of 1 and computed once in __init__; "
        "persistent=false keeps it out of the state_dict, as a table that is cheap to compute "
        "again"
    )
    Args = BufferArgs
    constant_inputs = True
    rule = "(1, *shape) -> (1, *shape), held as shape"
    params_rule = "buffer ∏shape"

    def infer(self, args: BufferArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        return Inferred(
            outputs=(x,),
            buffers={HELD: tuple(x.shape[1:])},  # type: ignore[arg-type]
            resolved={} if args.persistent else {"transient": (HELD,)},
        )

    def label(self, args: BufferArgs, inferred: Inferred) -> str:
        shape = inferred.buffers[HELD]
        kept = "" if args.persistent else " (not saved)"
        return "buffer " + "×".join(str(size) for size in shape) + kept

    def torch_module(self, args: BufferArgs, inferred: Inferred) -> Ctor:
        return Ctor(
            "buffer", kwargs=args.changed("persistent"), call="{m}.unsqueeze(0)", held=True
        )

    def execute(self, args: BufferArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        # what the module holds, in the type it was built or loaded in; a buffer the state_dict
        # leaves out, as computed from its expression
        if HELD in run.state:
            return (run.state[HELD].unsqueeze(0),)
        return run.inputs
