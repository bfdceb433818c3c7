"""Ops that join tensors or cut them apart: add, sub, mul, div, concat (cat), matmul, split and
chunk.

The joining ops are family "merge"; split and chunk, which take one tensor and only cut it, are
family "shape". None has parameters. MACs: matmul counts its multiply-accumulates; the
elementwise ops count 0, as fvcore and ptflops do, so that totals match the figures papers and
torchvision publish.

Shapes are full torch shapes, batch first, and broadcasting follows torch: sizes are compared from
the last axis and fit when equal or when one of them is 1. Since every archc tensor carries the
batch axis, operands of different ranks would line up the batch with a data axis, and are
refused. Sizes that depend on symbols and cannot be proved equal give a warning: they must agree
when the network runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from archc import dims
from archc.dims import Dim, Shape, TensorType
from archc.ops.registry import register
from archc.ops.shape import Axis, axis_index, exact_quotient
from archc.ops.spec import (
    BROADCAST,
    CHANNELS,
    CONCAT,
    INVALID,
    RANK,
    SYMBOLIC,
    UNEVEN,
    Args,
    Finding,
    Inferred,
    Op,
    PositiveInt,
    fail,
)

BROADCAST_RULE = (
    "broadcasting: sizes are compared from the last axis; they fit when equal or when one is 1"
)
_PROJECTIONS = {2: "linear({c})", 3: "conv1d({c}, 1)", 4: "conv2d({c}, 1)", 5: "conv3d({c}, 1)"}


def _undecided(op: str, axis: int, a: Dim, b: Dim, with_: str, code: str) -> Finding:
    return Finding(
        code,
        f"{op} cannot prove that sizes {a} and {b} on axis {axis} agree; "
        "they must be equal when the network runs",
        with_=with_,
        severity="warning",
    )


def _fit(a: Dim, b: Dim, axis: int, pair: str, op: str, rank: int) -> tuple[Dim, Finding | None]:
    """The broadcast size of ``a`` and ``b`` on one axis, a warning if it cannot be decided."""
    verdict = dims.same(a, b)
    if verdict or b == 1:
        return a, None
    if a == 1:
        return b, None
    with_ = f"{pair}: axis {axis} is {a} vs {b}"
    if verdict is None:
        # keep the fixed size where there is one: it is the more informative guess
        kept = b if isinstance(b, int) else a
        return kept, _undecided(op, axis, a, b, with_, BROADCAST)
    if axis == 1 and rank in _PROJECTIONS:
        projection = _PROJECTIONS[rank].format(c=a)
        raise fail(
            CHANNELS,
            f"channel mismatch: {op} of {pair} has {a} vs {b} channels",
            rule=BROADCAST_RULE,
            with_=with_,
            help=f"project the skip with {projection} to {a} channels",
        )
    raise fail(
        BROADCAST,
        f"cannot broadcast {pair}: axis {axis} is {a} vs {b}",
        rule=BROADCAST_RULE,
        with_=with_,
        help=f"make axis {axis} agree (resize one operand), or give one of them size 1 there",
    )


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
            )
        sizes = []
        kept = len(shape) - 2 if matrix else len(shape)
        for axis, (a, b) in enumerate(zip(shape[:kept], other.shape[:kept], strict=True)):
            # a matrix product's axis 1 is a batch of matrices (heads), not channels
            size, finding = _fit(a, b, axis, pair, op, 0 if matrix else len(shape))
            sizes.append(size)
            findings += [finding] if finding else []
        shape = (*sizes, *shape[kept:])
    return shape[: len(shape) - 2] if matrix else shape, tuple(findings)


class _Arithmetic(Op):
    family = "merge"
    inputs = ("x", "y")
    min_inputs = 2
    rule = BROADCAST_RULE
    symbol: ClassVar[str]

    def infer(self, args: Args, inputs: Sequence[TensorType]) -> Inferred:
        shape, findings = broadcast(inputs, self.name, self.symbol)
        return Inferred(
            outputs=(TensorType(shape, inputs[0].dtype),),
            resolved={"operands": len(inputs)},
            findings=findings,
        )

    def label(self, args: Args, inferred: Inferred) -> str:
        return self.symbol

    def torch_expr(self, args: Args, inferred: Inferred) -> str:
        operands = range(inferred.resolved["operands"])
        return f" {self.symbol} ".join(f"{{{k}}}" for k in operands)


@register
class Add(_Arithmetic):
    name = "add"
    summary = "elementwise sum of two or more tensors, broadcasting: the residual skip `y + x`"
    variadic = True
    symbol = "+"


@register
class Mul(_Arithmetic):
    name = "mul"
    summary = "elementwise product of two or more tensors, broadcasting: gates `x * g`"
    variadic = True
    symbol = "*"


@register
class Sub(_Arithmetic):
    name = "sub"
    summary = "elementwise difference of two tensors, broadcasting"
    symbol = "-"


@register
class Div(_Arithmetic):
    name = "div"
    summary = "elementwise true division of two tensors, broadcasting"
    symbol = "/"


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
        )
    findings = []
    for axis, (a, b) in enumerate(zip(first.shape, other.shape, strict=True)):
        verdict = dims.same(a, b)
        with_ = f"{first} and {other}: axis {axis} is {a} vs {b}"
        if axis == index or verdict:
            continue
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
        index = axis_index(args.dim, first, self.name)
        findings: list[Finding] = []
        joined = first.shape[index]
        for other in inputs[1:]:
            findings += _off_axis(first, other, index)
            joined = joined + other.shape[index]
        shape = (*first.shape[:index], joined, *first.shape[index + 1 :])
        return Inferred(outputs=(TensorType(shape, first.dtype),), findings=tuple(findings))

    def label(self, args: ConcatArgs, inferred: Inferred) -> str:
        return "concat" if args.dim == 1 else f"concat dim={args.dim}"

    def torch_expr(self, args: ConcatArgs, inferred: Inferred) -> str:
        return f"torch.cat([{{inputs}}], dim={args.dim})"


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
                )
        lead, findings = broadcast(inputs, self.name, "@", matrix=True)
        inner = self._inner(a, b)
        shape = (*lead, a.shape[-2], b.shape[-1])
        return Inferred(
            outputs=(TensorType(shape, a.dtype),),
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
        )

    def label(self, args: Args, inferred: Inferred) -> str:
        return "@"

    def torch_expr(self, args: Args, inferred: Inferred) -> str:
        return "{0} @ {1}"


class SplitArgs(Args):
    split_size_or_sections: PositiveInt | tuple[PositiveInt, ...]
    # dim=1 where torch defaults to 0: archc never cuts the batch
    dim: Axis = 1


class ChunkArgs(Args):
    chunks: PositiveInt
    dim: Axis = 1


def _fixed(size: Dim, op: str, x: TensorType) -> int:
    if not isinstance(size, int):
        raise fail(
            SYMBOLIC,
            f"{op} cannot tell how many pieces an axis of {size} in {x} gives",
            arg="dim",
            help="split a fixed-size axis, or chunk an axis whose size divides evenly",
        )
    return size


def _pieces(op: str, size: int, step: int) -> tuple[list[int], tuple[Finding, ...]]:
    """torch's cut of ``size`` into pieces of ``step``, the last one holding the rest."""
    pieces = [step] * (size // step) + ([size % step] if size % step else [])
    if len(set(pieces)) == 1:
        return pieces, ()
    uneven = Finding(
        UNEVEN,
        f"{op} of an axis of {size} gives unequal pieces: {tuple(pieces)}",
        rule="pieces of equal size, the last one holding the rest",
        with_=f"{size} = {' + '.join(map(str, pieces))}",
        severity="warning",
    )
    return pieces, (uneven,)


def _cut(
    x: TensorType, index: int, pieces: Sequence[Dim], findings: tuple[Finding, ...] = ()
) -> Inferred:
    shapes = [(*x.shape[:index], p, *x.shape[index + 1 :]) for p in pieces]
    return Inferred(outputs=tuple(TensorType(s, x.dtype) for s in shapes), findings=findings)


@register
class Split(Op):
    name = "split"
    family = "shape"
    summary = "cuts an axis into pieces of one size, or of the listed sizes: one output per piece"
    Args = SplitArgs
    positional = ("split_size_or_sections", "dim")
    rule = "d -> pieces of split_size, the last holding the rest; or sections summing to d"

    def infer(self, args: SplitArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        index = axis_index(args.dim, x, self.name)
        size = x.shape[index]
        sections = args.split_size_or_sections
        if isinstance(sections, int):
            pieces, findings = _pieces(self.name, _fixed(size, self.name, x), sections)
            return _cut(x, index, pieces, findings)
        verdict = dims.same(sum(sections), size)
        if not verdict:
            raise fail(
                INVALID if verdict is False else SYMBOLIC,
                f"split sections {sections} do not add up to axis {index} of {x}",
                rule="sum(sections) == size(dim)",
                with_=f"{' + '.join(map(str, sections))} = {sum(sections)}, but size = {size}",
                arg="split_size_or_sections",
                help=f"list sizes that add up to {size}",
            )
        return _cut(x, index, sections)

    def label(self, args: SplitArgs, inferred: Inferred) -> str:
        return f"split {args.split_size_or_sections}"

    def torch_expr(self, args: SplitArgs, inferred: Inferred) -> str:
        return f"torch.split({{0}}, {args.split_size_or_sections}, dim={args.dim})"


@register
class Chunk(Op):
    name = "chunk"
    family = "shape"
    summary = "cuts an axis into a number of pieces of equal size: one output per piece"
    Args = ChunkArgs
    positional = ("chunks", "dim")
    rule = "d -> chunks pieces of ceil(d / chunks), the last one holding the rest"

    def infer(self, args: ChunkArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        index = axis_index(args.dim, x, self.name)
        size = x.shape[index]
        exact = exact_quotient(size, args.chunks)
        if exact is not None:
            return _cut(x, index, [exact] * args.chunks)
        fixed = _fixed(size, self.name, x)
        step = -(-fixed // args.chunks)
        pieces, findings = _pieces(self.name, fixed, step)
        if len(pieces) != args.chunks:
            # torch returns fewer pieces than asked for, which no unpacking expects
            raise fail(
                INVALID,
                f"chunk({args.chunks}) of an axis of {size} gives {len(pieces)} pieces, "
                f"not {args.chunks}",
                rule=self.rule,
                with_=f"ceil({size} / {args.chunks}) = {step}: {tuple(pieces)}",
                arg="chunks",
                help=f"use a number of chunks that divides {size}",
            )
        return _cut(x, index, pieces, findings)

    def label(self, args: ChunkArgs, inferred: Inferred) -> str:
        return f"chunk {args.chunks}"

    def torch_expr(self, args: ChunkArgs, inferred: Inferred) -> str:
        return f"torch.chunk({{0}}, {args.chunks}, dim={args.dim})"
