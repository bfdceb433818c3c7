"""Ops that join tensors: add, sub, mul, div, concat (cat) and matmul, family "merge".

None has parameters. MACs: matmul counts its multiply-accumulates; the elementwise ops count 0,
as fvcore and ptflops do, so that totals match the figures papers and torchvision publish. The
ops that cut one tensor into several are in split.py.

Shapes are full torch shapes, batch first, and broadcasting follows torch: sizes are compared from
the last axis and fit when equal or when one of them is 1. Since every archc tensor carries the
batch axis, operands of different ranks would line up the batch with a data axis, and are
refused. Sizes that depend on symbols and cannot be proved equal give a warning: they must agree
when the network runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

from archc import dims
from archc.dims import Dim, Shape, TensorType
from archc.ops import dtypes
from archc.ops.registry import register
from archc.ops.schema import Args, checks
from archc.ops.shape import Axis, axis_index
from archc.ops.spec import (
    BROADCAST,
    CHANNELS,
    CONCAT,
    INVALID,
    RANK,
    Execution,
    Finding,
    Inferred,
    Op,
    ShapeError,
    Template,
    fail,
)

BROADCAST_RULE = (
    "broadcasting: sizes are compared from the last axis; they fit when equal or when one is 1"
)
# What axis 1 holds, by rank: the features of (N, F); time steps of a sequence (N, T, E) or the
# channels of a signal (N, C, L), which a shape alone cannot tell apart; channels of images and
# volumes.
_AXIS1_ROLES = {2: ("feature", "features"), 3: ("length or channel", "time steps or channels")}
# The layer that projects a skip connection, by rank: a linear layer, or a 1x1 convolution.
_PROJECTIONS = {2: "linear", 3: "conv1d", 4: "conv2d", 5: "conv3d"}


def _undecided(op: str, axis: int, a: Dim, b: Dim, with_: str, code: str) -> Finding:
    return Finding(
        code,
        f"{op} cannot prove that sizes {a} and {b} on axis {axis} agree; "
        "they must be equal when the network runs",
        with_=with_,
        severity="warning",
        label=f"{a} vs {b} on axis {axis}",
        equal=(a, b),
    )


def _fit(a: Dim, b: Dim, axis: int, pair: str, op: str) -> tuple[Dim | None, Finding | None]:
    """The broadcast size of ``a`` and ``b`` on one axis (None when they clash), and a warning
    if it cannot be decided."""
    verdict = dims.same(a, b)
    if verdict or b == 1:
        return a, None
    if a == 1:
        return b, None
    if verdict is None:
        # keep the fixed size where there is one: it is the more informative guess
        kept = b if isinstance(b, int) else a
        return kept, _undecided(op, axis, a, b, f"{pair}: axis {axis} is {a} vs {b}", BROADCAST)
    return None, None


def _clashes(left: Shape, right: Shape) -> list[int]:
    """The axes on which two shapes provably differ and neither size is 1."""
    return [
        axis
        for axis, (a, b) in enumerate(zip(left, right, strict=True))
        if dims.same(a, b) is False and a != 1 and b != 1
    ]


def _axes(axes: list[int]) -> str:
    """`axis 2`, `axes 2 and 3`."""
    if len(axes) == 1:
        return f"axis {axes[0]}"
    return f"axes {', '.join(map(str, axes[:-1]))} and {axes[-1]}"


def _sizes(shape: Shape, axes: list[int]) -> str:
    """The sizes of ``shape`` on ``axes``: `56` or `(56, 56)`."""
    shown = [str(shape[axis]) for axis in axes]
    return shown[0] if len(shown) == 1 else f"({', '.join(shown)})"


def _projection(skip: Shape, target: Shape) -> str | None:
    """The layer that takes the skip to the target's channels and size: a linear layer, or a
    1x1 convolution whose stride comes from the sizes when they divide (never guessed)."""
    kind = _PROJECTIONS.get(len(skip))
    if kind is None:
        return None
    if kind == "linear":
        return f"linear({target[1]})"
    strides = []
    for size, wanted in zip(skip[2:], target[2:], strict=True):
        if dims.same(size, wanted):
            strides.append(1)
        elif isinstance(size, int) and isinstance(wanted, int) and size % wanted == 0:
            strides.append(size // wanted)
        else:
            return None
    # a rank-3 tensor may be a sequence (N, T, E), whose last axis is not a length to stride
    if len(skip) == 3 and strides != [1]:
        return None
    stride = ""
    if any(s != 1 for s in strides):
        stride = f", stride={strides[0] if len(set(strides)) == 1 else tuple(strides)}"
    return f"{kind}({target[1]}, 1{stride})"


def _mismatch(left: Shape, right: Shape, op: str, symbol: str, matrix: bool) -> ShapeError:
    """The error for two shapes that clash on at least one axis, naming every such axis.

    A matrix product's last two axes are left out, and its axis 1 holds a batch of matrices
    (heads), not channels.
    """
    axes = _clashes(left[:-2], right[:-2]) if matrix else _clashes(left, right)
    pair = f"{dims.show_shape(left)} {symbol} {dims.show_shape(right)}"
    differences = f"{_axes(axes)} {'is' if len(axes) == 1 else 'are'} "
    differences += f"{_sizes(left, axes)} vs {_sizes(right, axes)}"
    rule = f"a {symbol} b needs equal shapes, except that a size of 1 broadcasts"
    with_ = f"{pair}: {differences}"
    spatial = [axis for axis in axes if axis >= 2]
    # the operand with the larger spatial size is the skip: a strided projection shrinks it
    larger = any(
        isinstance(a, int) and isinstance(b, int) and a > b
        for a, b in ((left[axis], right[axis]) for axis in spatial)
    )
    skip, target = (left, right) if larger else (right, left)
    projection = None if matrix else _projection(skip, target)
    if not matrix and 1 in axes and len(left) in _PROJECTIONS:
        help = "project the skip to the same shape first"
        if projection is not None:
            help = _project(skip, projection, target)
        role, plural = _AXIS1_ROLES.get(len(left), ("channel", "channels"))
        if len(left) == 3:
            help = f"if axis 1 is channels, {help}; if it is time, give both sequences one length"
        return fail(
            CHANNELS,
            f"{role} mismatch: {op} of {pair} has {left[1]} vs {right[1]} {plural}",
            rule=rule,
            with_=with_,
            help=help,
            label=f"{left[1]} vs {right[1]} {plural}",
        )
    return fail(
        BROADCAST,
        f"cannot broadcast {pair}: {differences}",
        rule=rule,
        with_=with_,
        help=_resize_help(op, left, right, axes, skip, projection, matrix),
        label=f"{_sizes(left, axes)} vs {_sizes(right, axes)} on {_axes(axes)}",
    )


def _resize_help(
    op: str,
    left: Shape,
    right: Shape,
    axes: list[int],
    skip: Shape,
    projection: str | None,
    matrix: bool,
) -> str:
    """A sum is a skip connection, fixed by projecting the skip; a product or quotient is
    usually a gate computed at a lower resolution, fixed by upsampling it."""
    small = right if skip is left else left
    if op == "add" and projection is not None:
        return _project(skip, projection, small)
    factors = {skip[a] // small[a] for a in axes if _divides(small[a], skip[a])}
    # only images and volumes: the last axis of a rank-3 tensor may be features, not a length
    images = not matrix and len(skip) >= 4 and all(axis >= 2 for axis in axes)
    if images and len(factors) == 1 and all(_divides(small[a], skip[a]) for a in axes):
        return (
            f"upsample the {dims.show_shape(small)} operand with "
            f"upsample(scale_factor={factors.pop()}), or give it size 1 on {_axes(axes)}"
        )
    return f"make {_axes(axes)} agree, or give one of the operands size 1 there"


def _project(skip: Shape, projection: str, target: Shape) -> str:
    return (
        f"project the skip {dims.show_shape(skip)} with {projection} to {dims.show_shape(target)}"
    )


def _divides(small: Dim, large: Dim) -> bool:
    return isinstance(small, int) and isinstance(large, int) and large % small == 0


def broadcast(
    inputs: Sequence[TensorType], op: str, symbol: str, matrix: bool = False
) -> tuple[Shape, tuple[Finding, ...]]:
    """torch's broadcast of the inputs' shapes; ``matrix`` leaves out the last two axes."""
    shape = inputs[0].shape
    findings: list[Finding] = []
    for other in inputs[1:]:
        pair = f"{dims.show_shape(shape)} {symbol} {other}"
        if other.rank != len(shape):
            raise fail(
                RANK,
                f"{op} of {pair}: ranks {len(shape)} and {other.rank} differ, so the batch "
                "axis of one would line up with a data axis of the other",
                rule=f"{BROADCAST_RULE}; both operands carry the batch axis, so ranks must match",
                with_=pair,
                help="make the ranks agree with unsqueeze, flatten or a reduction such as mean",
                label=f"{len(shape)}-d {symbol} {other.rank}-d",
            )
        sizes = []
        kept = len(shape) - 2 if matrix else len(shape)
        for axis, (a, b) in enumerate(zip(shape[:kept], other.shape[:kept], strict=True)):
            size, finding = _fit(a, b, axis, pair, op)
            if size is None:
                raise _mismatch(shape, other.shape, op, symbol, matrix)
            sizes.append(size)
            findings += [finding] if finding else []
        shape = (*sizes, *shape[kept:])
    return shape[: len(shape) - 2] if matrix else shape, tuple(findings)


class _Arithmetic(Op):
    family = "merge"
    inputs = ("x", "y")
    min_inputs = 2
    elementwise = True
    positionwise = True
    rule = BROADCAST_RULE
    symbol: ClassVar[str]
    # the torch function that joins two operands; more are joined from the left
    function: ClassVar[str]

    def infer(self, args: Args, inputs: Sequence[TensorType]) -> Inferred:
        dtype = dtypes.combined(inputs, self.name)
        shape, findings = broadcast(inputs, self.name, self.symbol)
        return Inferred(
            outputs=(TensorType(shape, dtype),),
            resolved={"operands": len(inputs)},
            findings=findings,
        )

    def label(self, args: Args, inferred: Inferred) -> str:
        return self.symbol

    def torch_expr(self, args: Args, inferred: Inferred) -> Template:
        operands = range(inferred.resolved["operands"])
        return Template(f" {self.symbol} ".join(f"{{{k}}}" for k in operands))

    def execute(self, args: Args, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        joined, *rest = run.inputs
        for operand in rest:
            joined = getattr(run.torch, self.function)(joined, operand)
        return (joined,)


@register
class Add(_Arithmetic):
    name = "add"
    summary = "elementwise sum of two or more tensors, broadcasting: the residual skip `y + x`"
    variadic = True
    symbol = "+"
    function = "add"


@register
class Mul(_Arithmetic):
    name = "mul"
    summary = "elementwise product of two or more tensors, broadcasting: gates `x * g`"
    variadic = True
    symbol = "*"
    function = "mul"


@register
class Sub(_Arithmetic):
    name = "sub"
    summary = "elementwise difference of two tensors, broadcasting"
    symbol = "-"
    function = "sub"


@register
class Div(_Arithmetic):
    name = "div"
    summary = "elementwise true division of two tensors, broadcasting"
    symbol = "/"
    function = "div"


class ConcatArgs(Args):
    dim: Axis = 1


def _off_axis(first: TensorType, other: TensorType, index: int) -> list[Finding]:
    """Checks that two concat inputs agree on every axis but ``index``."""
    if other.rank != first.rank:
        raise fail(
            RANK,
            f"concat inputs have different ranks: {first} and {other}",
            rule=Concat.rule,
            with_=f"{first.rank}-d {first} and {other.rank}-d {other}",
            help="make the ranks agree first (flatten, unsqueeze or reshape)",
            label=f"{first.rank}-d and {other.rank}-d inputs",
        )
    findings = []
    for axis, (a, b) in enumerate(zip(first.shape, other.shape, strict=True)):
        verdict = dims.same(a, b)
        if axis == index or verdict:
            continue
        with_ = f"{first} and {other}: axis {axis} is {a} vs {b}"
        if verdict is None:
            findings.append(_undecided("concat", axis, a, b, with_, CONCAT))
            continue
        raise fail(
            CONCAT,
            f"concat along dim={index} needs equal sizes on every other axis, "
            f"but axis {axis} is {a} in {first} and {b} in {other}",
            rule=Concat.rule,
            with_=with_,
            help=f"resize the inputs so that axis {axis} agrees (pool, interpolate or crop)",
            label=f"axis {axis} is {a} vs {b}",
        )
    return findings


@register
class Concat(Op):
    name = "concat"
    aliases = ("cat",)
    family = "merge"
    summary = "joins tensors along an axis (default: channels); all other axes must agree"
    Args = ConcatArgs
    positional = ("dim",)
    variadic = True
    rule = "concat along d: inputs equal off d; the output's size on d is the sum of theirs"

    def infer(self, args: ConcatArgs, inputs: Sequence[TensorType]) -> Inferred:
        first = inputs[0]
        dtype = dtypes.combined(inputs, self.name, booleans=True)
        index = axis_index(args.dim, first, self.name)
        findings: list[Finding] = []
        joined = first.shape[index]
        for other in inputs[1:]:
            findings += _off_axis(first, other, index)
            joined = joined + other.shape[index]
        shape = (*first.shape[:index], joined, *first.shape[index + 1 :])
        return Inferred(outputs=(TensorType(shape, dtype),), findings=tuple(findings))

    def label(self, args: ConcatArgs, inferred: Inferred) -> str:
        return "concat" if args.dim == 1 else f"concat dim={args.dim}"

    def torch_expr(self, args: ConcatArgs, inferred: Inferred) -> Template:
        return Template("torch.cat([{inputs}], dim={dim})", (("dim", args.dim),))

    def execute(self, args: ConcatArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        return (run.torch.concatenate(run.inputs, dim=args.dim),)


@register
class Matmul(Op):
    name = "matmul"
    family = "merge"
    summary = "matrix product of the last two axes, broadcasting the others: attention's q @ k^T"
    inputs = ("x", "y")
    min_inputs = 2
    rule = "(N, *, n, k) @ (N, *, k, m) -> (N, *, n, m)"

    def infer(self, args: Args, inputs: Sequence[TensorType]) -> Inferred:
        a, b = inputs
        for operand in inputs:
            if operand.rank < 3:
                raise fail(
                    RANK,
                    f"matmul needs matrices (N, ..., rows, columns), got the {operand.rank}-d "
                    f"{operand}",
                    rule=self.rule,
                    help="unsqueeze a vector into a one-row or one-column matrix",
                    label=f"a {operand.rank}-d operand",
                )
        dtype = dtypes.combined(inputs, self.name)
        lead, findings = broadcast(inputs, self.name, "@", matrix=True)
        inner = self._inner(a, b)
        shape = (*lead, a.shape[-2], b.shape[-1])
        return Inferred(
            outputs=(TensorType(shape, dtype),),
            macs=dims.product(list(shape[1:])) * a.shape[-1],
            findings=findings + inner,
        )

    def _inner(self, a: TensorType, b: TensorType) -> tuple[Finding, ...]:
        """Checks a's columns against b's rows."""
        k, rows = a.shape[-1], b.shape[-2]
        verdict = dims.same(k, rows)
        with_ = f"{a} @ {b}: {k} columns vs {rows} rows"
        if verdict:
            return ()
        if verdict is None:
            return (_undecided(self.name, b.rank - 2, k, rows, with_, CHANNELS),)
        transposed = dims.same(k, b.shape[-1])
        raise fail(
            CHANNELS,
            f"matmul of {a} @ {b}: the first has {k} columns, the second {rows} rows",
            rule=self.rule,
            with_=with_,
            help="transpose the second operand's last two axes: transpose(-2, -1)"
            if transposed
            else f"make the second operand's axis -2 hold {k}",
            label=f"{k} columns vs {rows} rows",
        )

    def label(self, args: Args, inferred: Inferred) -> str:
        return "@"

    def torch_expr(self, args: Args, inferred: Inferred) -> Template:
        return Template("{0} @ {1}")

    def execute(self, args: Args, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        return (run.torch.matmul(*run.inputs),)


class ScaleArgs(Args):
    factor: float
    divide: bool = False

    @checks("factor")
    def _finite(factor: float) -> float:
        if not math.isfinite(factor):
            raise ValueError("a scale factor is a finite number")
        return factor


@register
class Scale(Op):
    name = "scale"
    family = "merge"
    positionwise = True
    summary = (
        "multiplies a tensor by a number, or divides it by one with divide=true: what "
        "`x * 8.0`, `8.0 * x` and `x / 8.0` mean, e.g. the Transformer's embeddings scaled by "
        "sqrt(d_model)"
    )
    Args = ScaleArgs
    positional = ("factor",)
    rule = "output shape = input shape"

    def infer(self, args: ScaleArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        if args.divide and args.factor == 0:
            raise fail(
                INVALID,
                "dividing a tensor by 0",
                rule="factor != 0",
                with_="factor = 0",
                arg="factor",
                help="divide by a non-zero number",
                label="division by zero",
            )
        dtypes.needs_numbers(x, self.name)
        dtype = dtypes.with_number(x.dtype, args.factor, "/" if args.divide else "*")
        return Inferred(outputs=(TensorType(x.shape, dtype),))

    def label(self, args: ScaleArgs, inferred: Inferred) -> str:
        return f"{'÷' if args.divide else '×'} {args.factor:g}"

    def torch_expr(self, args: ScaleArgs, inferred: Inferred) -> Template:
        return Template(
            f"{{0}} {'/' if args.divide else '*'} {{factor}}", (("factor", args.factor),)
        )

    def execute(self, args: ScaleArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        return (run.torch.div(x, args.factor) if args.divide else run.torch.mul(x, args.factor),)
