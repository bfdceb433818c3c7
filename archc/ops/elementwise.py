"""Elementwise math, comparisons and masks: what sequence models compute between their layers.

- unary math (`exp`, `log`, `log2`, `sign`, `sqrt`, `rsqrt`, `abs`, `neg`, `pow`, `clamp`),
  family "activation": `x -> exp`, `exp(x)`, `-x`, `x ** 2`;
- a tensor and a number (`scalar`): `x + 1.0`, `x - 0.5`, `1.0 - x`, `1.0 / x` (`x * k` and
  `x / k` are `scale`, in merge.py);
- comparisons giving boolean tensors (`compare`): `a < b`, `x > 0`;
- masks: `where(c, a, b)`, `masked_fill(x, mask, -inf)`, `tril` and `triu`;
- `cumsum` along an axis, and `positions(x, dim)`: the indices 0, 1, ... along an axis of x,
  shaped to broadcast against it, for position ids and causal masks.

None holds parameters; all count 0 MACs, as the other elementwise ops do. Element types follow
archc/ops/dtypes.py. Each emits the PyTorch a person writes (`torch.exp(x)`, `x > 0`,
`x.masked_fill(mask, value)`), and executes with torch's functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from archc.dims import TensorType
from archc.ops import dtypes
from archc.ops.merge import broadcast
from archc.ops.registry import register
from archc.ops.schema import Args, checks
from archc.ops.shape import Axis, axis_index
from archc.ops.spec import (
    INPUTS,
    RANK,
    Execution,
    Inferred,
    NoArgs,
    Op,
    Template,
    fail,
)

# --- unary math ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnaryRow:
    """One unary function: its name (torch's function of that name computes it), summary, and
    whether it needs floating-point input (`exp` of an integer tensor is a mistake in a spec,
    even where torch would convert)."""

    name: str
    summary: str
    floats_only: bool = True


UNARY = (
    UnaryRow("exp", "e to the power x, elementwise"),
    UnaryRow("log", "natural logarithm, elementwise (-inf at 0, nan below)"),
    UnaryRow("log2", "base-2 logarithm, elementwise: Swin V2's log-spaced relative coordinates"),
    UnaryRow("sign", "-1, 0 or 1 as x is negative, zero or positive, elementwise", False),
    UnaryRow("sqrt", "square root, elementwise (nan below 0)"),
    UnaryRow("rsqrt", "reciprocal square root 1 / sqrt(x), elementwise: RMSNorm's scale"),
    UnaryRow("abs", "absolute value |x|, elementwise", floats_only=False),
)


class _Unary(Op):
    family = "activation"
    positionwise = True
    floats_only: ClassVar[bool] = True

    def infer(self, args: Any, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        if self.floats_only:
            dtypes.needs_float(x, self.name)
        else:
            dtypes.needs_numbers(x, self.name)
        return Inferred(outputs=(x,))

    def torch_expr(self, args: Any, inferred: Inferred) -> Template:
        return Template(f"torch.{self.name}({{0}})")

    def execute(self, args: Any, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        return (getattr(run.torch, self.name)(*run.inputs),)


def _define(row: UnaryRow) -> type[_Unary]:
    attributes = {
        "name": row.name,
        "summary": row.summary,
        "floats_only": row.floats_only,
        "__doc__": row.summary,
    }
    return type(row.name.capitalize(), (_Unary,), attributes)


for _row in UNARY:
    register(_define(_row))


@register
class Neg(_Unary):
    name = "neg"
    summary = "the negation -x, elementwise: what `-x` means for a tensor"
    floats_only = False

    def label(self, args: Any, inferred: Inferred) -> str:
        return "−x"

    def torch_expr(self, args: Any, inferred: Inferred) -> Template:
        return Template("-{0}")


class PowArgs(Args):
    exponent: int | float

    @checks("exponent")
    def _finite(exponent: float) -> float:
        if not math.isfinite(exponent):
            raise ValueError("an exponent is a finite number")
        return exponent


@register
class Pow(_Unary):
    name = "pow"
    summary = "x to a fixed power, elementwise: what `x ** 2` means for a tensor"
    Args = PowArgs
    positional = ("exponent",)
    floats_only = False

    def infer(self, args: PowArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        if isinstance(args.exponent, float) or args.exponent < 0:
            # torch refuses integers to negative integer powers; a fraction needs floats too
            dtypes.needs_float(x, f"pow({args.exponent})")
        dtypes.needs_numbers(x, self.name)
        return Inferred(outputs=(x,))

    def label(self, args: PowArgs, inferred: Inferred) -> str:
        return f"x^{args.exponent:g}"

    def torch_expr(self, args: PowArgs, inferred: Inferred) -> Template:
        return Template("{0}**{exponent}", (("exponent", args.exponent),))

    def execute(self, args: PowArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        return (run.torch.pow(x, args.exponent),)


class ClampArgs(Args):
    min: float | None = None
    max: float | None = None

    @checks()
    def _bounded(self) -> None:
        if self.min is None and self.max is None:
            raise ValueError("clamp needs min=, max= or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min={self.min} must not exceed max={self.max}")


@register
class Clamp(_Unary):
    name = "clamp"
    summary = "x limited to [min, max], elementwise; either bound may be left out"
    Args = ClampArgs
    positional = ("min", "max")

    def label(self, args: ClampArgs, inferred: Inferred) -> str:
        low = "" if args.min is None else f"{args.min:g}"
        high = "" if args.max is None else f"{args.max:g}"
        return f"clamp [{low}, {high}]"

    def torch_expr(self, args: ClampArgs, inferred: Inferred) -> Template:
        bounds = [(name, getattr(args, name)) for name in ("min", "max")]
        given = [(name, value) for name, value in bounds if value is not None]
        written = ", ".join(f"{name}={{{name}}}" for name, _ in given)
        return Template(f"torch.clamp({{0}}, {written})", tuple(given))

    def execute(self, args: ClampArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        return (run.torch.clamp(x, min=args.min, max=args.max),)


# --- a tensor and a number -----------------------------------------------------------------------


class ScalarArgs(Args):
    op: Literal["+", "-", "/"]
    number: int | float
    number_first: bool = False

    @checks("number")
    def _finite(number: float) -> float:
        if not math.isfinite(number):
            raise ValueError("a number added to a tensor or divided by one is finite")
        return number


@register
class Scalar(Op):
    name = "scalar"
    family = "merge"
    positionwise = True
    summary = (
        "a tensor and a number combined by +, - or /, on either side: what `x + 1.0`, "
        "`x - 0.5`, `1.0 - x` and `1.0 / x` mean (`x * k` and `x / k` are `scale`)"
    )
    Args = ScalarArgs
    positional = ("op", "number")
    rule = "output shape = input shape"

    def infer(self, args: ScalarArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        dtypes.needs_numbers(x, f"`{self._written('x', args)}`")
        dtype = dtypes.with_number(x.dtype, args.number, args.op)
        return Inferred(outputs=(TensorType(x.shape, dtype),))

    def _written(self, tensor: str, args: ScalarArgs) -> str:
        number = "{number}" if tensor == "{0}" else f"{args.number:g}"
        operands = (number, tensor) if args.number_first else (tensor, number)
        return f" {args.op} ".join(operands)

    def label(self, args: ScalarArgs, inferred: Inferred) -> str:
        return self._written("x", args)

    def torch_expr(self, args: ScalarArgs, inferred: Inferred) -> Template:
        return Template(self._written("{0}", args), (("number", args.number),))

    def execute(self, args: ScalarArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        function = {"+": run.torch.add, "-": run.torch.sub, "/": run.torch.div}[args.op]
        number = run.torch.tensor(args.number)
        return (function(number, x) if args.number_first else function(x, number),)


# --- comparisons ---------------------------------------------------------------------------------


class CompareArgs(Args):
    op: Literal["==", "!=", "<", "<=", ">", ">="]
    number: int | float | None = None


@register
class Compare(Op):
    name = "compare"
    family = "merge"
    summary = (
        "elementwise comparison of two tensors, or of a tensor with a number, giving a bool "
        "tensor: what `a < b` and `x > 0` mean; broadcasting"
    )
    Args = CompareArgs
    positional = ("op", "number")
    inputs = ("x", "y")
    min_inputs = 1
    elementwise = True
    rule = "broadcast shape of the operands, dtype bool"

    def infer(self, args: CompareArgs, inputs: Sequence[TensorType]) -> Inferred:
        wanted = 1 if args.number is not None else 2
        if len(inputs) != wanted:
            raise fail(
                INPUTS,
                f"compare with {'a number' if wanted == 1 else 'no number'} takes {wanted} "
                f"tensor{'s' if wanted == 2 else ''}, got {len(inputs)}",
                rule="compare(op, number) -> one tensor; compare(op) -> two tensors",
                arg="number",
                help="write the comparison as an expression: `a < b`, `x > 0`",
            )
        shape, findings = inputs[0].shape, ()
        if wanted == 2:
            shape, findings = broadcast(inputs, self.name, args.op)
        ordered = args.op not in ("==", "!=")
        dtypes.combined(inputs, f"`{args.op}`", booleans=not ordered)
        return Inferred(outputs=(TensorType(shape, dtypes.BOOL),), findings=findings)

    def label(self, args: CompareArgs, inferred: Inferred) -> str:
        return args.op if args.number is None else f"{args.op} {args.number:g}"

    def torch_expr(self, args: CompareArgs, inferred: Inferred) -> Template:
        if args.number is None:
            return Template(f"{{0}} {args.op} {{1}}")
        return Template(f"{{0}} {args.op} {{number}}", (("number", args.number),))

    def execute(self, args: CompareArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        functions = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
        function = getattr(run.torch, functions[args.op])
        operands = run.inputs if args.number is None else (*run.inputs, args.number)
        return (function(*operands),)


# --- masks ---------------------------------------------------------------------------------------


@register
class Where(Op):
    name = "where"
    family = "merge"
    summary = "x where the boolean condition holds, y elsewhere, broadcasting all three"
    inputs = ("condition", "x", "y")
    min_inputs = 3
    elementwise = True
    rule = "broadcast shape of condition, x and y; the dtype of x and y"

    def infer(self, args: NoArgs, inputs: Sequence[TensorType]) -> Inferred:
        condition, x, y = inputs
        dtypes.needs_bool(condition, self.name, "condition")
        dtype = dtypes.combined((x, y), self.name, booleans=True)
        shape, findings = broadcast(inputs, self.name, "with")
        return Inferred(outputs=(TensorType(shape, dtype),), findings=findings)

    def torch_expr(self, args: NoArgs, inferred: Inferred) -> Template:
        return Template("torch.where({0}, {1}, {2})")

    def execute(self, args: NoArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        condition, x, y = run.inputs
        return (run.torch.where(condition, x, y),)


class MaskedFillArgs(Args):
    # -inf is the value attention masks fill with; nan is refused, it would spread everywhere
    value: float

    @checks("value")
    def _number(value: float) -> float:
        if math.isnan(value):
            raise ValueError("nan is not a fill value")
        return value


@register
class MaskedFill(Op):
    name = "masked_fill"
    family = "merge"
    summary = (
        "x with value (-inf for attention scores) where the boolean mask holds; the mask "
        "broadcasts to x's shape"
    )
    Args = MaskedFillArgs
    positional = ("value",)
    inputs = ("x", "mask")
    min_inputs = 2
    rule = "output shape = x's shape; the mask broadcasts to it"

    def infer(self, args: MaskedFillArgs, inputs: Sequence[TensorType]) -> Inferred:
        x, mask = inputs
        dtypes.needs_bool(mask, self.name, "mask")
        dtypes.needs_numbers(x, self.name)
        if not dtypes.is_float(x.dtype) and not float(args.value).is_integer():
            dtypes.needs_float(x, f"masked_fill with {args.value:g}")
        shape, findings = broadcast(inputs, self.name, "with")
        if shape != x.shape:
            raise fail(
                RANK,
                f"masked_fill keeps the shape of x {x}, but the mask {mask} would "
                f"broadcast it to {TensorType(shape)}",
                rule=self.rule,
                with_=f"x {x}, mask {mask}",
                help="give the mask size 1, or x's size, on every axis",
                label="the mask is larger than x",
            )
        return Inferred(outputs=(x,), findings=findings)

    def label(self, args: MaskedFillArgs, inferred: Inferred) -> str:
        return f"masked_fill {args.value:g}"

    def torch_expr(self, args: MaskedFillArgs, inferred: Inferred) -> Template:
        return Template("{0}.masked_fill({1}, {value})", (("value", args.value),))

    def execute(self, args: MaskedFillArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        x, mask = run.inputs
        return (run.torch.where(mask, run.torch.tensor(args.value, dtype=x.dtype), x),)


class DiagonalArgs(Args):
    diagonal: int = 0


class _Triangle(Op):
    family = "merge"
    Args = DiagonalArgs
    positional = ("diagonal",)
    rule = "output shape = input shape; (N, ..., rows, columns)"

    def infer(self, args: DiagonalArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        if x.rank < 3:
            raise fail(
                RANK,
                f"{self.name} keeps a triangle of matrices (N, ..., rows, columns), but {x} is "
                f"{x.rank}-d",
                rule=self.rule,
                with_=f"{x}: {x.rank} axes, batch included",
                help="apply it to scores (N, heads, T, T) or a mask (1, T, T)",
                label=f"a {x.rank}-d input",
            )
        return Inferred(outputs=(x,))

    def label(self, args: DiagonalArgs, inferred: Inferred) -> str:
        return self.name if args.diagonal == 0 else f"{self.name} {args.diagonal:+d}"

    def torch_expr(self, args: DiagonalArgs, inferred: Inferred) -> Template:
        if args.diagonal == 0:
            return Template(f"torch.{self.name}({{0}})")
        return Template(
            f"torch.{self.name}({{0}}, diagonal={{diagonal}})", (("diagonal", args.diagonal),)
        )

    def execute(self, args: DiagonalArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        # the triangle as a mask of positions, computed apart from torch.tril and torch.triu
        rows, columns = x.shape[-2:]
        above = run.torch.arange(columns)[None, :] - run.torch.arange(rows)[:, None]
        kept = above <= args.diagonal if self.name == "tril" else above >= args.diagonal
        return (run.torch.where(kept, x, run.torch.zeros((), dtype=x.dtype)),)


@register
class Tril(_Triangle):
    name = "tril"
    summary = (
        "the lower triangle of the last two axes, zero above diagonal (0: the main one; 1 "
        "keeps one more): a causal mask"
    )


@register
class Triu(_Triangle):
    name = "triu"
    summary = "the upper triangle of the last two axes, zero below diagonal (0: the main one)"


# --- along an axis -------------------------------------------------------------------------------


class CumsumArgs(Args):
    dim: Axis


@register
class Cumsum(Op):
    name = "cumsum"
    family = "shape"
    summary = "running sum along dim; integers and booleans sum to int64, as in torch"
    Args = CumsumArgs
    positional = ("dim",)
    rule = "output shape = input shape"

    def infer(self, args: CumsumArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        axis_index(args.dim, x, self.name)
        dtype = x.dtype if dtypes.is_float(x.dtype) else "int64"
        return Inferred(outputs=(TensorType(x.shape, dtype),))

    def label(self, args: CumsumArgs, inferred: Inferred) -> str:
        return f"cumsum dim={args.dim}"

    def torch_expr(self, args: CumsumArgs, inferred: Inferred) -> Template:
        return Template("torch.cumsum({0}, dim={dim})", (("dim", args.dim),))

    def execute(self, args: CumsumArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        return (x.cumsum(args.dim),)


class PositionsArgs(Args):
    dim: Axis = 1


@register
class Positions(Op):
    name = "positions"
    family = "position"
    summary = (
        "the indices 0, 1, ... of x's axis dim, int64, with size 1 on every other axis so they "
        "broadcast against x: position ids, and with a comparison a causal mask"
    )
    Args = PositionsArgs
    positional = ("dim",)
    rule = "(N, ..., S_dim, ...) -> (1, ..., S_dim, ...) with 1 on every axis but dim, int64"

    def infer(self, args: PositionsArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        index = axis_index(args.dim, x, self.name)
        shape = tuple(size if axis == index else 1 for axis, size in enumerate(x.shape))
        return Inferred(outputs=(TensorType(shape, "int64"),), resolved={"axis": index})

    def label(self, args: PositionsArgs, inferred: Inferred) -> str:
        return f"positions dim={args.dim}"

    def torch_expr(self, args: PositionsArgs, inferred: Inferred) -> Template:
        index, rank = inferred.resolved["axis"], len(inferred.outputs[0].shape)
        view = ", ".join("-1" if axis == index else "1" for axis in range(rank))
        return Template(
            f"torch.arange({{0}}.size({{dim}}), device={{0}}.device).view({view})",
            (("dim", args.dim),),
        )

    def execute(self, args: PositionsArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        index = inferred.resolved["axis"]
        shape = [1] * x.dim()
        shape[index] = x.shape[index]
        return (run.torch.arange(x.shape[index]).reshape(shape),)
