"""Evaluating expressions: exact integer arithmetic, conditionals, names, shape queries, layers.

Expressions are evaluated by walking the AST; nothing is ever handed to Python's `eval`. The
operators mean what a reader expects from the operand kinds: numbers compute, tensors combine
(`y + x` is a skip connection), a layer times a count repeats it, and `->` applies or composes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from archc import dims
from archc.dims import Sym
from archc.errors import Diagnostic, Label, Span
from archc.ops import lookup, names
from archc.ops.spec import Op
from archc.pysource.attributes import refused_attribute
from archc.semantics import patterns, sharing
from archc.semantics import provenance as pv
from archc.semantics.context import Body, Place
from archc.semantics.ir import Alternative, Choice
from archc.semantics.program import UserFunction, did_you_mean
from archc.semantics.routing import mixture_layer
from archc.semantics.scanning import scan_layer
from archc.semantics.speculation import NamesState
from archc.semantics.values import (
    UNKNOWN,
    BlockLayer,
    BoundArg,
    BranchesLayer,
    CombinatorLayer,
    Function,
    Layer,
    OpLayer,
    RepeatLayer,
    ScanLayer,
    SequenceLayer,
    SharedLayer,
    Tensor,
    UserFunctionValue,
    describe,
    shown,
)
from archc.syntax import ast

# The op each operator between tensors stands for.
TENSOR_OPERATORS = {"+": "add", "*": "mul", "-": "sub", "/": "div"}
# The comparison that holds with its operands swapped: `0 < x` is `x > 0`.
SWAPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
# Layer-valued builtins: structure around a body of layers.
COMBINATORS = ("residual", "dense")
BRANCHES = "branches"  # `branches(a, b, c)`: each layer applied to the input, outputs collected
SHARED = "shared"  # `shared(layer)`: one instance, every application calls it (sharing.py)
SCAN = "scan"  # `scan(Cell(), x, state=h0, dim=1)`: a block applied step by step (scanning.py)
# The built-in functions whose arguments are layers, for editors too (highlighting, completion).
LAYER_FUNCTIONS = (*COMBINATORS, BRANCHES, SHARED, SCAN)
MAX_REPEAT = 10_000
# In `layer * n`, the name the layer reads the copy's index by, from 0: `Block(p=0.1 * i) * 4`.
COPY_INDEX = "i"
# the tensor a conditional choice of layers is applied to (Expressions._choose_layer); no spec
# can spell the name
STAGE_INPUT = "$stage"
# Results beyond these are refused: a few doublings of a constant would otherwise fill memory,
# and Python cannot print integers of thousands of digits. 2**1024 is also where floats end.
MAX_INTEGER = 2**1024
MAX_STRING = 65_536
# The name of the one number that is not a literal: `-inf` fills masked attention scores.
INFINITY = "inf"
# Python's spellings of the literals, which a spec writes in lowercase.
PYTHON_LITERALS = {"True": "true", "False": "false", "None": "none"}


def _number(value: Any) -> bool:
    return isinstance(value, int | float | Sym) and not isinstance(value, bool)


def _plain_number(value: Any) -> bool:
    """A number known now (not a symbolic size such as T)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _builtin_sqrt(x: float) -> float:
    if x < 0:
        raise ValueError(f"sqrt of the negative number {x}")
    return math.sqrt(x)


@dataclass(frozen=True)
class Builtin:
    """A function specs call on numbers, and the same function in generated Python."""

    compute: Callable[..., Any]
    python: str  # a `math.` name needs `import math`


BUILTINS: dict[str, Builtin] = {
    "min": Builtin(min, "min"),
    "max": Builtin(max, "max"),
    "abs": Builtin(abs, "abs"),
    "sqrt": Builtin(_builtin_sqrt, "math.sqrt"),
    "floor": Builtin(math.floor, "math.floor"),
    "ceil": Builtin(math.ceil, "math.ceil"),
    "len": Builtin(len, "len"),
    # round halves to even and int truncates toward zero, as Python's do: torchvision's
    # _make_divisible writes `int(v + divisor / 2)`
    "round": Builtin(round, "round"),
    "int": Builtin(int, "int"),
}


class ElabError(Exception):
    """Aborts the current statement with one diagnostic."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


class Dispatch(dict[type, Any]):
    """A class's method for each kind of syntax-tree node (``prefix`` + the kind's name), looked
    up the first time a node of that kind comes, so that each dispatch is one dictionary
    lookup; ``fallback`` for a kind with no method (without one, getattr's AttributeError)."""

    def __init__(self, owner: type, prefix: str, fallback: Any = None) -> None:
        super().__init__()
        self.owner, self.prefix, self.fallback = owner, prefix, fallback

    def __missing__(self, kind: type) -> Any:
        name = f"{self.prefix}{kind.__name__}"
        if self.fallback is None:
            method = getattr(self.owner, name)
        else:
            method = getattr(self.owner, name, self.fallback)
        self[kind] = method
        return method


class Expressions:
    """Expression evaluation; mixed into the Elaborator, which supplies the methods below."""

    _evaluators: Dispatch
    # whether each expression evaluated reads the copy index, walked once per elaboration:
    # by id, the expression kept beside it (syntax-tree nodes compare by value, which hashing
    # would walk the tree for)
    _index_readers: dict[int, tuple[ast.Expr, bool]]
    # the types of the values each `fn` was given and gave, by the id of its definition:
    # one set per parameter, then the result's
    _function_types: dict[int, list[set[type]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._evaluators = Dispatch(cls, "_eval_")

    def error(self, code: str, message: str, span: Span, **details: Any) -> ElabError:
        raise NotImplementedError

    def apply(
        self, layer: Layer, inputs: list[Tensor], body: Body, place: Place, span: Span
    ) -> Any:
        raise NotImplementedError

    def constant(self, name: str, body: Body, span: Span) -> Any:
        raise NotImplementedError

    def origin(self, expr: ast.Expr, body: Body) -> pv.Expr | None:
        raise NotImplementedError

    def size(self) -> tuple[int, int]:
        raise NotImplementedError

    def make_shared(self, layer: Layer, span: Span) -> SharedLayer:
        raise NotImplementedError

    def speculate(
        self, expr: ast.Expr, body: Body, place: Place, names: NamesState
    ) -> Alternative | None:
        raise NotImplementedError

    # --- dispatch --------------------------------------------------------------------------------

    def evaluate(self, expr: ast.Expr, body: Body, place: Place) -> Any:
        return self._evaluators[type(expr)](self, expr, body, place)

    def _reads_index(self, expr: ast.Expr) -> bool:
        """Whether ``expr`` reads the name of the copy index anywhere."""
        known = self._index_readers.get(id(expr))
        if known is not None and known[0] is expr:
            return known[1]
        reads = any(map(_is_index, ast.walk(expr)))
        self._index_readers[id(expr)] = (expr, reads)
        return reads

    def _eval_Int(self, expr: ast.Int, body: Body, place: Place) -> Any:
        return expr.value

    def _eval_Float(self, expr: ast.Float, body: Body, place: Place) -> Any:
        return expr.value

    def _eval_Str(self, expr: ast.Str, body: Body, place: Place) -> Any:
        return expr.value

    def _eval_Bool(self, expr: ast.Bool, body: Body, place: Place) -> Any:
        return expr.value

    def _eval_NoneLit(self, expr: ast.NoneLit, body: Body, place: Place) -> Any:
        return None

    def _eval_TupleExpr(self, expr: ast.TupleExpr, body: Body, place: Place) -> Any:
        return tuple(self.evaluate(item, body, place) for item in expr.items)

    def _eval_ListExpr(self, expr: ast.ListExpr, body: Body, place: Place) -> Any:
        """A list, or `[a -> b]`: one chain of layers that stays one numbered child."""
        items = tuple(self.evaluate(item, body, place) for item in expr.items)
        layers = [i for i, item in enumerate(items) if isinstance(item, Layer)]
        if not layers:
            return items
        if len(items) == 1:
            (layer,) = items
            chain = isinstance(layer, SequenceLayer) and not (layer.name or layer.grouped)
            parts = layer.layers if chain else (layer,)  # type: ignore[union-attr]
            return SequenceLayer(expr.span, None, parts, grouped=True)
        note = "`[a -> b]` makes a chain one numbered child of the chain around it"
        if len(layers) == len(items):
            raise self.error(
                "A248",
                f"brackets around layers hold one chain, but these hold {len(items)} layers",
                expr.items[1].span,
                label="a second layer",
                notes=(note,),
                help="join the layers with `->` into one chain: "
                f"`[{' -> '.join(_written(item) for item in expr.items)}]`",
            )
        raise self.error(
            "A248",
            "a list cannot hold both layers and values",
            expr.items[layers[0]].span,
            label="a layer in a list of values",
            notes=(note,),
            help="write the values and the layers apart",
        )

    def _eval_Name(self, expr: ast.Name, body: Body, place: Place) -> Any:
        name = expr.id
        if name in body.vars:
            body.used.add(name)
            return body.vars[name]
        if name in body.file.constants:
            return self.constant(name, body, expr.span)
        function = body.file.functions.get(name)
        if function is not None:
            return UserFunctionValue(function)
        definition = body.file.definitions.get(name)
        if definition is not None and definition.kind == "block":
            return BlockLayer(expr.span, None, definition)
        if name == INFINITY:
            return math.inf
        op = lookup(name)
        if op is not None:
            return OpLayer(expr.span, None, op)
        if name in BUILTINS or name in LAYER_FUNCTIONS:
            return Function(name)
        if definition is not None:
            raise self.error(
                "A236",
                f"`{name}` is a network; only blocks can be applied as layers",
                expr.span,
                label="a network, not a block",
                notes=(f"`{name}` is defined at {definition.node.name.span}",),
                help=f"turn it into `block {name}`: a block takes its input shapes from "
                "where it is used",
            )
        if name in PYTHON_LITERALS:
            help = f"write `{PYTHON_LITERALS[name]}`: literals are lowercase"
        else:
            candidates = [
                *body.vars,
                *body.file.constants,
                *body.file.functions,
                *body.file.definitions,
                *names(),
                *LAYER_FUNCTIONS,
            ]
            help = did_you_mean(name, candidates)
        raise self.error(
            "A205", f"unknown name `{name}`", expr.span, label="not defined", help=help
        )

    # --- operators -------------------------------------------------------------------------------

    def _eval_Unary(self, expr: ast.Unary, body: Body, place: Place) -> Any:
        value = self.evaluate(expr.operand, body, place)
        if value is UNKNOWN:
            return UNKNOWN
        if expr.op == "not":
            return not self._truth(value, expr.operand.span)
        if isinstance(value, Tensor):
            if expr.op == "+":
                return value
            return self._tensor_op("neg", [value], (), expr.span, body, place)
        if not _number(value):
            raise self.error(
                "A206", f"cannot negate {describe(value)}", expr.span, label="not a number"
            )
        return -value if expr.op == "-" else value

    def _eval_Binary(self, expr: ast.Binary, body: Body, place: Place) -> Any:
        if expr.op == "*" and self._reads_index(expr) and not _index_taken(body):
            return self._indexed_repeat(expr, body, place)
        left = self.evaluate(expr.left, body, place)
        right = self.evaluate(expr.right, body, place)
        if left is UNKNOWN or right is UNKNOWN:
            return UNKNOWN
        if isinstance(left, Tensor) and isinstance(right, Tensor) and expr.op in TENSOR_OPERATORS:
            op = lookup(TENSOR_OPERATORS[expr.op])
            assert op is not None
            return self.apply(OpLayer(expr.span, None, op), [left, right], body, place, expr.span)
        scaled = self._scaled(expr, left, right, body, place)
        if scaled is not None:
            return scaled
        with_number = self._with_number(expr, left, right, body, place)
        if with_number is not None:
            return with_number
        if expr.op == "*" and (isinstance(left, Layer) or isinstance(right, Layer)):
            if isinstance(left, Layer):
                return self._repeat(left, right, expr, expr.right, body)
            return self._repeat(right, left, expr, expr.left, body)
        if _number(left) and _number(right):
            return self._arithmetic(expr, left, right)
        if expr.op == "+" and isinstance(left, str) and isinstance(right, str):
            if len(left) + len(right) > MAX_STRING:
                raise self.error(
                    "A224",
                    f"the joined string would have {len(left) + len(right):,} characters; "
                    f"the limit is {MAX_STRING:,}",
                    expr.span,
                    label="too long",
                )
            return left + right
        tensors = isinstance(left, Tensor) or isinstance(right, Tensor)
        raise self.error(
            "A206",
            f"cannot apply `{expr.op}` to {describe(left)} and {describe(right)}",
            expr.span,
            label=f"{_kind(left)} {expr.op} {_kind(right)}",
            help="tensors combine with tensors and numbers by + - * / (broadcasting), and "
            "`x ** k` raises one to a number's power"
            if tensors
            else None,
        )

    def _scaled(self, expr: ast.Binary, left: Any, right: Any, body: Body, place: Place) -> Any:
        """`x * 8.0`, `8.0 * x` and `x / 8.0`: a tensor scaled by a number (the op `scale`);
        None for anything else."""
        if expr.op == "*" and _plain_number(left) and isinstance(right, Tensor):
            tensor, factor, written = right, left, expr.left
        elif expr.op in ("*", "/") and isinstance(left, Tensor) and _plain_number(right):
            tensor, factor, written = left, right, expr.right
        else:
            return None
        op = lookup("scale")
        assert op is not None
        args: tuple[BoundArg, ...] = (
            BoundArg(
                "factor",
                float(factor),
                written.span,
                expr=written,
                origin=self.origin(written, body),
            ),
        )
        if expr.op == "/":
            args += (BoundArg("divide", True, expr.span, origin=pv.Lit(True)),)
        layer = OpLayer(expr.span, None, op, args, called=True)
        return self.apply(layer, [tensor], body, place, expr.span)

    def _with_number(
        self, expr: ast.Binary, left: Any, right: Any, body: Body, place: Place
    ) -> Any:
        """`x + 1.0`, `1.0 - x`, `1.0 / x` (the op `scalar`) and `x ** 2` (`pow`): a tensor and a
        number; None for anything else (`x * k` and `x / k` are `_scaled`)."""
        if isinstance(left, Tensor) and _plain_number(right):
            tensor, number, written, first = left, right, expr.right, False
        elif _plain_number(left) and isinstance(right, Tensor) and expr.op != "**":
            tensor, number, written, first = right, left, expr.left, True
        else:
            return None
        if expr.op not in ("+", "-", "/", "**"):
            return None
        origin = self.origin(written, body)
        if expr.op == "**":
            exponent = BoundArg("exponent", number, written.span, expr=written, origin=origin)
            return self._tensor_op("pow", [tensor], (exponent,), expr.span, body, place)
        given = BoundArg("number", number, written.span, expr=written, origin=origin)
        args = (BoundArg("op", expr.op, expr.span, origin=pv.Lit(expr.op)), given)
        if first:
            args += (BoundArg("number_first", True, expr.span, origin=pv.Lit(True)),)
        return self._tensor_op("scalar", [tensor], args, expr.span, body, place)

    def _tensor_op(
        self,
        name: str,
        inputs: list[Tensor],
        args: tuple[BoundArg, ...],
        span: Span,
        body: Body,
        place: Place,
    ) -> Any:
        """The op ``name`` applied to ``inputs`` with ``args``: what an operator on tensors
        means."""
        op = lookup(name)
        assert op is not None
        return self.apply(OpLayer(span, None, op, args, called=True), inputs, body, place, span)

    def _stage_repeat(self, expr: ast.Binary, body: Body, place: Place) -> Any:
        """`Block(memory, 8) * 2` as a stage: the layer keeps its tensor arguments unapplied."""
        if self._reads_index(expr) and not _index_taken(body):
            return self._indexed_repeat(expr, body, place)
        count_first = isinstance(expr.left, ast.Int)
        layer_side, count_side = (
            (expr.right, expr.left) if count_first else (expr.left, expr.right)
        )
        layer = self._layer_or_value(layer_side, body, place)
        if not isinstance(layer, Layer):
            return self.evaluate(expr, body, place) if layer is not UNKNOWN else UNKNOWN
        count = self.evaluate(count_side, body, place)
        return UNKNOWN if count is UNKNOWN else self._repeat(layer, count, expr, count_side, body)

    def _indexed_repeat(self, expr: ast.Binary, body: Body, place: Place) -> Any:
        """`Block(p=0.1 * i) * n`: a layer that reads the copy's index `i`, evaluated once per
        copy with `i` bound to 0, 1, ..., n - 1, so that each copy has its own arguments."""
        layer_side, count_side = (
            (expr.left, expr.right) if self._reads_index(expr.left) else (expr.right, expr.left)
        )
        counts_index = self._reads_index(count_side)
        count = UNKNOWN if counts_index else self.evaluate(count_side, body, place)
        if counts_index or isinstance(count, Layer):
            raise self.error(
                "A181",
                f"the count of copies cannot read `{COPY_INDEX}`, the index of a copy",
                layer_side.span if isinstance(count, Layer) else count_side.span,
                label="reads the copy index",
                help=f"the count is known before any copy: compute it without `{COPY_INDEX}`",
            )
        if count is UNKNOWN:
            return UNKNOWN
        self._check_count(count, count_side)
        count = body.recounts.get(expr.span, count)
        copies = [self._copy(layer_side, k, body, place) for k in range(max(count, 1))]
        if any(copy is UNKNOWN for copy in copies):
            return UNKNOWN
        repeat = self._repeat(copies[0], count, expr, count_side, body)
        return replace(repeat, each=tuple(copies[:count]))

    def _copy(self, expr: ast.Expr, index: int, body: Body, place: Place) -> Any:
        """The repeated layer ``expr`` with the copy index bound to ``index``."""
        body.bind(COPY_INDEX, index, expr.span, pv.Lit(index))
        outer, body.copy_index = body.copy_index, index
        try:
            value = self._layer_or_value(expr, body, place)
        finally:
            for held in (body.vars, body.spans, body.origins):
                held.pop(COPY_INDEX, None)
            body.used.discard(COPY_INDEX)
            body.copy_index = outer
        if value is UNKNOWN or isinstance(value, Layer):
            return value
        raise self.error(
            "A181",
            f"`{COPY_INDEX}` is the index of a copy of a repeated layer, and no layer is "
            "repeated here",
            next(node.span for node in ast.walk(expr) if _is_index(node)),
            label="no copy to index",
            help=f"`{COPY_INDEX}` is known inside `layer * n` only, e.g. "
            f"`Block(p=0.1 * {COPY_INDEX}) * 4`",
        )

    def _check_index_free(self, layer: ast.Expr, body: Body) -> None:
        """A repeated layer that reads `i` where `i` already names something else would mean
        either (A180)."""
        if not _index_taken(body) or not self._reads_index(layer):
            return
        if COPY_INDEX in body.params:
            what = "a parameter"
        elif COPY_INDEX in body.vars:
            what = "a name here (a local, or the copy index of an enclosing repeat)"
        else:
            what = "a constant of the file"
        raise self.error(
            "A180",
            f"`{COPY_INDEX}` in a repeated layer is the copy's index, but it is also {what}",
            next(node.span for node in ast.walk(layer) if _is_index(node)),
            label="the copy index, or the other?",
            help=f"rename the other `{COPY_INDEX}`, so that `{COPY_INDEX}` means one thing",
        )

    def _repeat(
        self, layer: Layer, count: Any, expr: ast.Binary, written: ast.Expr, body: Body
    ) -> RepeatLayer:
        """``layer`` repeated ``count`` times, the count ``written`` as an operand of ``expr``."""
        self._check_index_free(expr.right if written is expr.left else expr.left, body)
        self._check_count(count, written)
        body.shaped_by_values = True
        count = body.recounts.get(expr.span, count)
        return RepeatLayer(expr.span, None, layer, count, self.origin(written, body))

    def _check_count(self, count: Any, written: ast.Expr) -> None:
        count_span = written.span
        # `layer * 0` is no layer at all: the input passes through, as in a stage of depth 0
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise self.error(
                "A223",
                f"a layer repeats a whole number of times, 0 or more, not {shown(count)}",
                count_span,
                label="repeat count",
                rule=f"layer * n with n whole and 0 <= n <= {MAX_REPEAT:,}",
                with_=f"n = {shown(count)}",
                help="use `//` for whole-number division"
                if isinstance(count, float)
                else "`layer * 0` passes the input through; a negative count means nothing",
            )
        if count > MAX_REPEAT:
            raise self.error(
                "A223",
                f"repeat count {count:,} exceeds the limit of {MAX_REPEAT:,}",
                count_span,
                label="too many repeats",
                rule=f"layer * n with n whole and 0 <= n <= {MAX_REPEAT:,}",
                with_=f"n = {count:,}",
                help="no real network repeats a block this often",
            )

    def _arithmetic(self, expr: ast.Binary, left: Any, right: Any) -> Any:
        if expr.op in ("/", "//", "%") and isinstance(right, int | float) and right == 0:
            raise self.error(
                "A224",
                "division by zero",
                expr.right.span,
                label="this is zero",
                with_=f"{left} {expr.op} {right}",
            )
        if expr.op == "**" and isinstance(right, int) and abs(right) > 64:
            raise self.error(
                "A224",
                f"exponent {right} is too large",
                expr.right.span,
                label="more than 64",
                with_=f"{left} ** {right}",
            )
        try:
            result = pv.BINARY[expr.op](left, right)
        except (TypeError, ValueError, OverflowError, ZeroDivisionError) as exc:
            raise self.error(
                "A224",
                f"cannot compute `{expr.op}`: {exc}",
                expr.span,
                label="no result",
                with_=f"{left} {expr.op} {right}",
            ) from None
        if _too_large(result):
            raise self.error(
                "A224",
                f"the result of `{expr.op}` is larger than 2**1024",
                expr.span,
                label="overflow",
                help="no size or count comes near this; check the operands",
            )
        return result

    def _eval_Compare(self, expr: ast.Compare, body: Body, place: Place) -> Any:
        left = self.evaluate(expr.left, body, place)
        right = self.evaluate(expr.right, body, place)
        tensors = isinstance(left, Tensor) or isinstance(right, Tensor)
        if tensors and left is not UNKNOWN and right is not UNKNOWN:
            compared = self._compare_tensors(expr, left, right, body, place)
            if compared is not None:
                return compared
        return self.compare(expr, left, right)

    def compare(self, expr: ast.Compare, left: Any, right: Any) -> Any:
        """``expr`` given the values of its two sides (sizes and numbers; an `assert` calls it
        with the sizes it takes as assumptions)."""
        if left is UNKNOWN or right is UNKNOWN:
            return UNKNOWN
        if isinstance(left, Sym) or isinstance(right, Sym):
            verdict = dims.same(left, right) if expr.op in ("==", "!=") else None
            if verdict is None:
                raise self.error(
                    "A225",
                    f"cannot decide `{left} {expr.op} {right}`: it depends on symbolic sizes",
                    expr.span,
                    label="depends on the input size",
                    help="compare fixed sizes, or declare the input with numbers",
                )
            return verdict if expr.op == "==" else not verdict
        comparable = (_number(left) and _number(right)) or type(left) is type(right)
        if not comparable or (
            expr.op not in ("==", "!=") and not _number(left) and not isinstance(left, str)
        ):
            raise self.error(
                "A206",
                f"cannot compare {describe(left)} with {describe(right)}",
                expr.span,
                label=f"{_kind(left)} {expr.op} {_kind(right)}",
            )
        return pv.BINARY[expr.op](left, right)

    def _compare_tensors(
        self, expr: ast.Compare, left: Any, right: Any, body: Body, place: Place
    ) -> Any:
        """`a < b` and `x > 0` (`0 < x` is `x > 0`): a boolean tensor (the op `compare`); None
        when the other operand is neither a tensor nor a number."""
        op = BoundArg("op", expr.op, expr.span, origin=pv.Lit(expr.op))
        if isinstance(left, Tensor) and isinstance(right, Tensor):
            return self._tensor_op("compare", [left, right], (op,), expr.span, body, place)
        if isinstance(left, Tensor) and _plain_number(right):
            tensor, number, written = left, right, expr.right
        elif _plain_number(left) and isinstance(right, Tensor):
            tensor, number, written = right, left, expr.left
            op = BoundArg("op", SWAPPED[expr.op], expr.span, origin=pv.Lit(SWAPPED[expr.op]))
        else:
            return None
        given = BoundArg(
            "number", number, written.span, expr=written, origin=self.origin(written, body)
        )
        return self._tensor_op("compare", [tensor], (op, given), expr.span, body, place)

    def _eval_Logic(self, expr: ast.Logic, body: Body, place: Place) -> Any:
        left = self.evaluate(expr.left, body, place)
        if left is UNKNOWN:
            return UNKNOWN
        truth = self._truth(left, expr.left.span)
        if (expr.op == "and" and not truth) or (expr.op == "or" and truth):
            return truth
        right = self.evaluate(expr.right, body, place)
        return UNKNOWN if right is UNKNOWN else self._truth(right, expr.right.span)

    def _eval_Cond(self, expr: ast.Cond, body: Body, place: Place) -> Any:
        test = self.evaluate(expr.test, body, place)
        if test is UNKNOWN:
            return UNKNOWN
        held = self._truth(test, expr.test.span)
        names, first = NamesState.of(place), self.size()[0]
        value = self.evaluate(expr.body if held else expr.orelse, body, place)
        if isinstance(value, Tensor | Layer | tuple) and not _plain_tuple(value):
            # the test chose layers, not a value: it decides the structure (see Body.guards)
            guard = self.origin(expr.test, body)
            if isinstance(value, Tensor):  # a class holds both alternatives (Body.choices)
                taken = Alternative(first, self.size()[0], value.ref, via=value.via)
                other = self.speculate(expr.orelse if held else expr.body, body, place, names)
                body.choices.append(Choice(guard, held, taken, other))
                if taken.empty:  # what reads it reads the choice, not the tensor it gave
                    value = replace(value, via=len(body.choices) - 1)
            body.guards.append(guard)
        return value

    def _truth(self, value: Any, span: Span) -> bool:
        if isinstance(value, bool):
            return value
        raise self.error(
            "A206",
            f"expected true or false, got {describe(value)}",
            span,
            label="not a condition",
            help="write a comparison, such as `stride != 1`",
        )

    # --- tensors ---------------------------------------------------------------------------------

    def _eval_Attribute(self, expr: ast.Attribute, body: Body, place: Place) -> Any:
        value = self.evaluate(expr.value, body, place)
        if value is UNKNOWN:
            return UNKNOWN
        attr = expr.attr.name
        if not isinstance(value, Tensor):
            tensors = [n for n, v in body.vars.items() if isinstance(v, Tensor)]
            raise self.error(
                "A226",
                f"`.{attr}` asks a tensor about its shape, but this is {describe(value)}",
                expr.attr.span,
                label=f"`{_written(expr.value)}` is not a tensor",
                help=f"ask a tensor instead, e.g. `{tensors[0]}.{attr}`"
                if tensors
                else "only tensors have a shape to ask about",
            )
        if value.type is None:
            return UNKNOWN
        shape = value.type.shape
        queries: dict[str, Callable[[], Any]] = {
            "shape": lambda: shape,
            "rank": lambda: len(shape),
            "channels": lambda: shape[1],
            "features": lambda: shape[-1],
        }
        if attr not in queries:
            raise self.error(
                "A226",
                f"tensors have no attribute `{attr}`",
                expr.attr.span,
                label="unknown attribute",
                help=did_you_mean(attr, list(queries)) or "use shape, rank, channels or features",
            )
        if attr == "channels" and len(shape) < 2:
            raise self.error(
                "A226",
                f"a {len(shape)}-d tensor has no channel axis",
                expr.span,
                label=f"{value.type} has no channels",
                help="ask for `.features` or `.shape` instead",
            )
        return queries[attr]()

    def _eval_Index(self, expr: ast.Index, body: Body, place: Place) -> Any:
        value = self.evaluate(expr.value, body, place)
        index = self.evaluate(expr.index, body, place)
        if value is UNKNOWN or index is UNKNOWN:
            return UNKNOWN
        if isinstance(value, Tensor) and isinstance(index, Tensor):  # `table[index]`
            return self._tensor_op("lookup", [value, index], (), expr.span, body, place)
        if not isinstance(value, tuple):
            raise self.error(
                "A206",
                f"cannot index {describe(value)}",
                expr.span,
                label="not a tuple or shape",
                help="indexing picks an entry of a tuple, such as `x.shape[1]`",
            )
        if not isinstance(index, int) or isinstance(index, bool):
            raise self.error(
                "A206",
                f"an index is a whole number, not {describe(index)}",
                expr.index.span,
                label="not a whole number",
            )
        if not -len(value) <= index < len(value):
            raise self.error(
                "A227",
                f"index {index} is out of range for {len(value)} entries",
                expr.index.span,
                label=f"only {len(value)} entries",
                help=f"valid indices are {-len(value)} to {len(value) - 1}",
            )
        if not _plain_tuple(value):
            body.shaped_by_values = True  # the position picks a tensor or a layer
        return value[index]

    # --- layers ----------------------------------------------------------------------------------

    def _eval_Named(self, expr: ast.Named, body: Body, place: Place) -> Any:
        """`layer as name`; a call given its tensors (`linear(x, 8) as fc`) is applied named."""
        value = self._named(expr, body, place)
        if isinstance(value, OpLayer | BlockLayer) and _leading_tensors(value.args):
            return self.apply(value, [], body, place, expr.span)
        if isinstance(value, ScanLayer) and value.sequences:
            return self.apply(value, [], body, place, expr.span)
        return value

    def _named(self, expr: ast.Named, body: Body, place: Place) -> Any:
        named = False
        if isinstance(expr.value, ast.Call):  # the layer a call makes is made under the name
            value = self._call(expr.value, body, place, apply_now=False, name=expr.name)
            named = isinstance(value, OpLayer | BlockLayer) and value.name is expr.name
        else:
            value = self._layer_or_value(expr.value, body, place)
        if isinstance(value, Layer):
            self._check_attribute(expr.name)
            return value if named else value.named(expr.name)
        if value is UNKNOWN:
            return UNKNOWN
        name = expr.name.name
        fix = f"bind a value to a name with `=`: `{name} = {_written(expr.value)}`"
        if isinstance(value, Tensor) and not isinstance(expr.value, ast.Name):
            fix = (
                f"name the result with `=` (`{name} = ...`), or the layer by writing "
                f"`as {name}` right after it"
            )
        raise self.error(
            "A228",
            f"`as` names a layer, but this is {describe(value)}",
            _as_span(expr),
            label="the value on the left is not a layer",
            help=fix,
        )

    def _eval_NamedCopies(self, expr: ast.NamedCopies, body: Body, place: Place) -> Any:
        """`layer * n as stem{i + 1}`: the repeat, its copies named by the pattern."""
        value = self._layer_or_value(expr.value, body, place)
        if value is UNKNOWN:
            return UNKNOWN
        if not isinstance(value, RepeatLayer) or value.name is not None or value.copy_names:
            what = "a named repeat" if isinstance(value, RepeatLayer) else describe(value)
            raise ElabError(patterns.not_a_repeat(expr, what))
        body.shaped_by_values = True
        try:
            names = patterns.copy_names(expr, value.count)
        except patterns.PatternError as exc:
            raise ElabError(exc.diagnostic) from None
        for name in names:
            self._check_attribute(name)
        return replace(value, copy_names=names, pattern=expr)

    def _check_attribute(self, name: ast.Ident) -> None:
        """A layer's name is its attribute and state_dict key in the generated module, so a
        name that module already uses is refused here, where `archc check` sees it too."""
        if name.quoted:
            self._check_key(name)
        reason = refused_attribute(name.name, name.quoted)
        if reason is None:
            return
        other = name.name.lstrip("_") + "_"
        raise self.error(
            "A401",
            f"`{name.name}` cannot name a layer in generated PyTorch code",
            name.span,
            label=reason,
            notes=(
                "a layer's name is an attribute of a generated nn.Module and a part of its "
                "state_dict keys",
            ),
            help=f"choose another name, such as `as {other}`",
        )

    def _check_key(self, name: ast.Ident) -> None:
        """A quoted name is a state_dict key as written: one part of a key, which torch
        refuses empty or holding a `.`, and which is read by eye (no blank or control
        character)."""
        if not name.name:
            raise self.error(
                "A245",
                "a layer's name cannot be empty",
                name.span,
                label="empty name",
                help='write the name between the quotes, such as `as "0"` or `as "block1-0"`',
            )
        bad = next((c for c in name.name if c == "." or c.isspace() or not c.isprintable()), None)
        if bad is None:
            return
        dot = bad == "."
        parts = [part for part in name.name.split(bad) if part]
        raise self.error(
            "A246",
            f"a layer's name cannot contain {'`.`' if dot else f'the character U+{ord(bad):04X}'}",
            name.span,
            label="`.` would split the state_dict key in two"
            if dot
            else "a blank or control character, invisible in a state_dict key",
            notes=("a layer's name is one part of its state_dict keys, which `.` separates",),
            help=f'name each level with its own `as`, or join the parts: `as "{"_".join(parts)}"`'
            if dot
            else f'join the parts: `as "{"_".join(parts)}"`',
        )

    def _eval_Chain(self, expr: ast.Chain, body: Body, place: Place) -> Any:
        return self._chain(self.evaluate(expr.head, body, place), expr, body, place)

    def _chain(self, current: Any, expr: ast.Chain, body: Body, place: Place) -> Any:
        """The chain ``expr`` from its evaluated head: a layer head composes a sequence, a
        tensor head is fed through the stages."""
        if isinstance(current, Layer):
            layers = [current, *(self.stage(s, body, place) for s in expr.stages)]
            if any(layer is UNKNOWN for layer in layers):
                return UNKNOWN  # a stage that failed, reported where it did
            return SequenceLayer(expr.span, None, tuple(layers))
        for stage in expr.stages:
            if isinstance(current, Tensor) and _chosen_layer(stage):
                current = self._choose_layer(current, stage, body, place)
                continue
            layer = self.stage(stage, body, place)
            if current is UNKNOWN or layer is UNKNOWN:
                current = UNKNOWN
                continue
            inputs = self._tensors(current, expr.head.span)
            current = self.apply(layer, inputs, body, place, stage.span)
        return current

    def _choose_layer(self, current: Tensor, stage: ast.Expr, body: Body, place: Place) -> Any:
        """`x -> (if c then layernorm else identity) as norm`, applied as the conditional of
        tensors `if c then x -> (layernorm as norm) else x -> (identity as norm)`: the way not
        taken is elaborated aside too, and a class can build either (Body.choices)."""
        named = stage if isinstance(stage, ast.Named) else None
        cond = named.value if named is not None else stage
        assert isinstance(cond, ast.Cond)
        given = ast.Name(STAGE_INPUT, stage.span)

        def applied(layer: ast.Expr) -> ast.Expr:
            if named is not None:
                layer = ast.Named(layer, named.name, named.span)
            return ast.Chain(given, (layer,), stage.span)

        body.bind(STAGE_INPUT, current, stage.span)
        try:
            return self.evaluate(
                ast.Cond(cond.test, applied(cond.body), applied(cond.orelse), cond.span),
                body,
                place,
            )
        finally:
            for held in (body.vars, body.spans, body.origins):
                held.pop(STAGE_INPUT, None)
            body.used.discard(STAGE_INPUT)

    def stage(self, expr: ast.Expr, body: Body, place: Place) -> Any:
        """A chain stage: like evaluate, but a call with tensor arguments is not applied yet."""
        value = self._layer_or_value(expr, body, place)
        if isinstance(value, Layer) or value is UNKNOWN:
            return value
        if isinstance(value, tuple) and any(item is UNKNOWN for item in value):
            return UNKNOWN  # `[c -> relu]` where `c` failed earlier: reported there
        raise self.error(
            "A229",
            f"expected a layer after `->`, got {describe(value)}",
            expr.span,
            label="not a layer",
            help=f"`{value.name}` is called with its arguments: `{value.name}(...)`"
            if isinstance(value, Function)
            else "`->` feeds the tensor on its left into the layer on its right",
        )

    def _layer_or_value(self, expr: ast.Expr, body: Body, place: Place) -> Any:
        """The value of a stage, or of what `as` names, which may turn out not to be a layer."""
        if isinstance(expr, ast.Call):
            return self._call(expr, body, place, apply_now=False)
        if isinstance(expr, ast.Binary) and expr.op == "*":
            return self._stage_repeat(expr, body, place)
        if isinstance(expr, ast.Chain):
            return self._chain(self._layer_or_value(expr.head, body, place), expr, body, place)
        if isinstance(expr, ast.Named):
            return self._named(expr, body, place)
        if isinstance(expr, ast.NamedCopies):
            return self._eval_NamedCopies(expr, body, place)
        return self.evaluate(expr, body, place)

    def _tensors(self, value: Any, span: Span) -> list[Tensor]:
        if isinstance(value, Tensor):
            return [value]
        if isinstance(value, tuple) and value and all(isinstance(v, Tensor) for v in value):
            return list(value)
        raise self.error(
            "A229",
            f"`->` needs a tensor on its left, got {describe(value)}",
            span,
            label="not a tensor",
            help="`->` feeds the tensor on its left into the layer on its right",
        )

    def _eval_Call(self, expr: ast.Call, body: Body, place: Place) -> Any:
        value = self._call(expr, body, place, apply_now=True)
        if isinstance(value, ScanLayer) and value.sequences:
            return self.apply(value, [], body, place, expr.span)
        return value

    def _call(
        self,
        expr: ast.Call,
        body: Body,
        place: Place,
        apply_now: bool,
        name: ast.Ident | None = None,
    ) -> Any:
        """What ``expr`` calls, applied to its arguments; an op or a block called is a layer
        named ``name`` (`as`), applied now where ``apply_now`` and its tensors are given."""
        self._check_argument_order(expr)
        func = self._callee(expr.func, body, place)
        # a combinator's argument is a layer: `residual(attention(memory, heads=8) -> dropout)`
        # must not apply attention to `memory` on the spot
        layers = isinstance(func, Function) and func.name in LAYER_FUNCTIONS
        args = tuple(self._argument(a, body, place, layers) for a in expr.args)
        if func is UNKNOWN or any(a.value is UNKNOWN for a in args):
            return UNKNOWN
        if isinstance(func, Function):
            return self._builtin(func.name, args, expr)
        if isinstance(func, UserFunctionValue):
            return self._call_function(func.function, args, expr, body, place)
        if isinstance(func, OpLayer) and func.op.name in BUILTINS and not _leading_tensors(args):
            # `sqrt(d_model)` computes a number; `sqrt(x)` and `x -> sqrt` apply the op
            return self._builtin(func.op.name, args, expr)
        if isinstance(func, OpLayer) and not func.called and _over_layer(func.op, args):
            return mixture_layer(func.op, args, expr, self.error)
        if isinstance(func, OpLayer | BlockLayer) and not func.called:
            layer = type(func)(expr.span, name, *_payload(func), args=args, called=True)
            # an op of no tensors (`arange(8)`) is a constant, made where it is called
            leading = _leading_tensors(args) or (isinstance(func, OpLayer) and not func.op.inputs)
            if apply_now and leading:
                return self.apply(layer, [], body, place, expr.span)
            return layer
        raise self.error(
            "A230",
            f"{describe(func)} cannot be called",
            expr.func.span,
            label="already has its arguments" if isinstance(func, Layer) else "not callable",
            help=self._call_help(func, expr),
        )

    def _call_help(self, func: Any, expr: ast.Call) -> str:
        if not isinstance(func, Layer):
            return "only ops, blocks and the builtin functions can be called"
        inputs = ", ".join(_written(a.value) for a in expr.args)
        inputs = f"({inputs})" if len(expr.args) > 1 else inputs
        return f"apply a layer with `->`: `{inputs} -> {_written(expr.func)}`"

    def _check_argument_order(self, expr: ast.Call) -> None:
        """Positional arguments come first: after a keyword, their slot would be a guess."""
        keyword = None
        for arg in expr.args:
            if arg.name is not None:
                keyword = keyword or arg
            elif keyword is not None:
                assert keyword.name is not None
                raise self.error(
                    "A235",
                    f"positional argument after the keyword argument `{keyword.name.name}=`",
                    arg.span,
                    label="positional argument",
                    secondary=(Label(keyword.span, "keyword arguments start here"),),
                    help="put positional arguments before keyword arguments, or name this one",
                )

    def _callee(self, func: ast.Expr, body: Body, place: Place) -> Any:
        """What a call calls. A value that cannot be called does not hide the op or block of
        the same name: `dropout(dropout)` applies the op with the parameter `dropout`."""
        value = self.evaluate(func, body, place)
        if isinstance(func, ast.Name) and not isinstance(
            value, Layer | Function | UserFunctionValue
        ):
            definition = body.file.definitions.get(func.id)
            if definition is not None and definition.kind == "block":
                return BlockLayer(func.span, None, definition)
            op = lookup(func.id)
            if op is not None:
                return OpLayer(func.span, None, op)
        return value

    def _argument(self, arg: ast.Arg, body: Body, place: Place, layer: bool = False) -> BoundArg:
        expr = arg.value
        origin: pv.Expr | None
        if isinstance(expr, _LITERALS):  # most arguments: the value is its own provenance
            value = expr.value
            origin = pv.Lit(value)
        elif isinstance(expr, ast.Name) and expr.id in body.vars:  # a parameter or a local
            value = self._eval_Name(expr, body, place)
            origin = None if isinstance(value, Tensor | Layer) else body.origins.get(expr.id)
        else:
            value = (self._layer_or_value if layer else self.evaluate)(expr, body, place)
            origin = None if isinstance(value, Tensor | Layer) else self.origin(expr, body)
        shared = None
        if origin is not None and body.copy_index is not None and self._reads_index(expr):
            shared = self._index_origin(expr, body, origin)
        name = arg.name
        if name is None:
            return BoundArg(None, value, expr.span, None, expr, origin, shared)
        return BoundArg(name.name, value, expr.span, name.span, expr, origin, shared)

    def _index_origin(self, expr: ast.Expr, body: Body, origin: pv.Expr) -> pv.Expr | None:
        """The provenance of an argument of a copy of a repeat that reads the copy's index,
        with the index left as provenance.COPY_INDEX (`p_drop * (3 + i) / 17`), so that one
        expression gives every copy's argument; None where, given this copy's index, it does
        not give exactly this copy's provenance."""
        held = body.origins[COPY_INDEX]
        body.origins[COPY_INDEX] = pv.COPY_INDEX
        try:
            shared = self.origin(expr, body)
        finally:
            body.origins[COPY_INDEX] = held
        if shared is None:
            return None
        this = pv.bound(shared, pv.COPY_INDEX.name, held)
        return shared if pv.written_alike(this, origin) else None

    def _builtin(self, name: str, args: tuple[BoundArg, ...], expr: ast.Call) -> Any:
        if name == BRANCHES:
            return self._branches(args, expr)
        if name == SCAN:
            return scan_layer(args, expr, self.error)
        if name == SHARED:
            if len(args) != 1 or args[0].name or not isinstance(args[0].value, Layer):
                raise self.error(
                    sharing.NOT_ONE,
                    "`shared` takes one layer, e.g. `shared(Encoder(128))`",
                    expr.span,
                    label=f"{len(args)} arguments" if len(args) != 1 else "not a layer",
                    help="join the layers into one chain with `->` and name it: "
                    "`shared(a -> b) as encoder`"
                    if len(args) > 1
                    else "write the layer without applying it to a tensor",
                )
            return self.make_shared(args[0].value, expr.span)
        if name in COMBINATORS:
            if len(args) != 1 or args[0].name or not isinstance(args[0].value, Layer):
                raise self.error(
                    "A231",
                    f"`{name}` takes one layer, e.g. `{name}(conv2d(64, 3) -> relu)`",
                    expr.span,
                    label=f"{len(args)} arguments" if len(args) != 1 else "not a layer",
                    help="join the layers into one chain with `->`" if len(args) > 1 else None,
                )
            return CombinatorLayer(expr.span, None, name, args[0].value)
        if any(a.name for a in args) or not all(_number(a.value) for a in args):
            raise self.error(
                "A231", f"`{name}` takes numbers only", expr.span, label="not all numbers"
            )
        try:
            return BUILTINS[name].compute(*(a.value for a in args))
        except (TypeError, ValueError) as exc:
            raise self.error("A231", f"`{name}`: {exc}", expr.span, label="no result") from None

    def _branches(self, args: tuple[BoundArg, ...], expr: ast.Call) -> BranchesLayer:
        stray = next((a for a in args if a.name or not isinstance(a.value, Layer)), None)
        if stray is not None or not args:
            raise self.error(
                "A249",
                "`branches` takes layers, each applied to the input",
                expr.span if stray is None else stray.name_span or stray.span,
                label="no branches"
                if stray is None
                else f"`{stray.name}=` given"
                if stray.name
                else "not a layer",
                notes=("`branches(a, b)` gives a tuple: what `a` and `b` make of one tensor",),
                help="write each branch as a layer or a chain of layers: "
                "`branches(conv2d(64, 1), conv2d(64, 3, padding=1) -> relu)`",
            )
        return BranchesLayer(expr.span, None, tuple(a.value for a in args))

    def _call_function(
        self,
        function: UserFunction,
        args: tuple[BoundArg, ...],
        expr: ast.Call,
        body: Body,
        place: Place,
    ) -> Any:
        """A `fn` evaluated with ``args``: its parameters bound in a scope of their own (a
        default sees the parameters before it), then its body."""
        name = function.name
        calling = body.calls if isinstance(body, FunctionBody) else ()
        if name in calling:
            chain = " -> ".join([*calling[calling.index(name) :], name])
            raise self.error(
                "A255",
                f"the function `{name}` calls itself: {chain}",
                expr.span,
                label="a call back into the function",
                rule="a function is evaluated where it is called, so a call to itself never ends",
                help="compute the result with the built-in functions and `if`, without the "
                "function calling itself",
            )
        given = self._function_arguments(function, args, expr)
        scope = FunctionBody(function.file, calls=(*calling, name))
        for param in function.node.params:
            written = param.name.name
            if written in given:
                value, span = given[written].value, given[written].span
            else:
                assert param.default is not None  # _function_arguments checked it
                value, span = self.evaluate(param.default, scope, place), param.default.span
            if value is UNKNOWN:
                return UNKNOWN
            if not _plain(value):
                raise self.error(
                    "A257",
                    f"`{name}` computes with numbers, but its argument `{written}` is "
                    f"{describe(value)}",
                    span,
                    label=f"{_kind(value)} argument",
                    help="pass a size instead, such as `x.channels` or `x.shape[2]`"
                    if isinstance(value, Tensor)
                    else "functions take and give numbers, strings, booleans and tuples",
                )
            scope.bind(written, value, span)
        result = self.evaluate(function.node.body, scope, place)
        if result is not UNKNOWN and _plain(result):
            values = [*(scope.vars[p.name.name] for p in function.node.params), result]
            kinds = self._function_types.setdefault(id(function.node), [set() for _ in values])
            for seen, value in zip(kinds, values, strict=True):
                seen.add(type(value))
        if result is not UNKNOWN and not _plain(result):
            raise self.error(
                "A257",
                f"the function `{name}` gives {describe(result)}; functions compute numbers",
                expr.span,
                label=f"gives {_kind(result)}",
                notes=(f"`{name}` is defined at {function.node.name.span}",),
                help="define a block for layers and tensors: `block Name(params) { ... }`",
            )
        return result

    def _function_arguments(
        self, function: UserFunction, args: tuple[BoundArg, ...], expr: ast.Call
    ) -> dict[str, BoundArg]:
        """The arguments of a `fn` call by parameter name, checked against its parameters."""
        params = [p.name.name for p in function.node.params]
        signature = f"{function.name}({', '.join(_param_text(p) for p in function.node.params)})"
        defined = (f"`{function.name}` is defined at {function.node.name.span}",)
        given: dict[str, BoundArg] = {}
        positional = [a for a in args if a.name is None]
        if len(positional) > len(params):
            extra = positional[len(params)]
            raise self.error(
                "A256",
                f"`{function.name}` takes {len(params)} argument{'s' * (len(params) != 1)}, "
                f"got {len(positional)}",
                extra.span,
                label="one argument too many"
                if len(positional) == len(params) + 1
                else f"{len(positional) - len(params)} arguments too many",
                notes=defined,
                help=f"call it as `{signature}`",
            )
        given.update(zip(params, positional, strict=False))
        for arg in args:
            if arg.name is None:
                continue
            if arg.name not in params:
                hint = did_you_mean(arg.name, params)
                raise self.error(
                    "A256",
                    f"`{function.name}` has no parameter `{arg.name}`",
                    arg.name_span or arg.span,
                    label="unknown parameter",
                    notes=defined,
                    help=hint or f"call it as `{signature}`",
                )
            if arg.name in given:
                raise self.error(
                    "A256",
                    f"`{function.name}` got its argument `{arg.name}` twice",
                    arg.name_span or arg.span,
                    label="given again",
                    notes=defined,
                    help=f"call it as `{signature}`",
                )
            given[arg.name] = arg
        missing = [p.name.name for p in function.node.params if p.default is None]
        missing = [p for p in missing if p not in given]
        if missing:
            listed = ", ".join(f"`{p}`" for p in missing)
            raise self.error(
                "A256",
                f"`{function.name}` needs its argument{'s' * (len(missing) > 1)} {listed}",
                expr.span,
                label=f"{listed} missing",
                notes=defined,
                help=f"call it as `{signature}`",
            )
        return given


@dataclass
class FunctionBody(Body):
    """The scope a function's body is evaluated in: its parameters, and the functions being
    called (innermost last), so that a call back into one of them is refused."""

    calls: tuple[str, ...] = ()


# The literals that hold their value, which is its own provenance (a Lit, as Origins gives it).
_LITERALS = (ast.Int, ast.Float, ast.Str, ast.Bool)


def _chosen_layer(stage: ast.Expr) -> bool:
    """Whether a chain's stage is a conditional, or a named one: a choice between layers."""
    return isinstance(stage.value if isinstance(stage, ast.Named) else stage, ast.Cond)


def _is_index(node: Any) -> bool:
    return isinstance(node, ast.Name) and node.id == COPY_INDEX


def _index_taken(body: Body) -> bool:
    """Whether `i` already names something where a repeat would bind it."""
    return COPY_INDEX in body.vars or COPY_INDEX in body.file.constants


def _plain(value: Any) -> bool:
    """Plain data a function takes and gives: numbers, strings, booleans, none, tuples."""
    if isinstance(value, tuple):
        return _plain_tuple(value)
    return value is None or isinstance(value, bool | int | float | str | Sym)


def _param_text(param: ast.Param) -> str:
    if param.default is None:
        return param.name.name
    return f"{param.name.name}={_written(param.default)}"


def _too_large(value: Any) -> bool:
    """Whether an integer, or a constant inside a symbolic size, exceeds MAX_INTEGER."""
    if isinstance(value, Sym):
        return any(
            abs(atom.p) > MAX_INTEGER or atom.q > MAX_INTEGER
            for atom in value.expr.atoms()
            if atom.is_Rational
        )
    return isinstance(value, int) and abs(value) > MAX_INTEGER


def _as_span(expr: ast.Named) -> Span:
    """The span of `as name`, from the keyword to the name."""
    source, end = expr.name.span.source, expr.name.span.end
    between = source.text[expr.value.span.end : expr.name.span.start]
    keyword = between.rfind("as")
    if keyword < 0:
        return expr.name.span
    return source.span(expr.value.span.end + keyword, end)


# Kinds of values in one word, for labels; bool comes before the numbers it subclasses.
_KINDS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (Tensor, "tensor"),
    (Layer, "layer"),
    (bool, "boolean"),
    ((int, float, Sym), "number"),
    (str, "string"),
    (tuple, "tuple"),
    ((Function, UserFunctionValue), "function"),
    (type(None), "none"),
)


def _kind(value: Any) -> str:
    return next((word for kind, word in _KINDS if isinstance(value, kind)), "value")


def _written(expr: ast.Expr) -> str:
    """An expression as the spec wrote it."""
    return expr.span.source.text[expr.span.start : expr.span.end]


def _payload(layer: OpLayer | BlockLayer) -> tuple[Any]:
    return (layer.op,) if isinstance(layer, OpLayer) else (layer.block,)


def _leading_tensors(args: tuple[BoundArg, ...]) -> bool:
    return (
        bool(args)
        and args[0].name is None
        and isinstance(args[0].value, Tensor | tuple)
        and (
            isinstance(args[0].value, Tensor)
            or (all(isinstance(v, Tensor) for v in args[0].value) and bool(args[0].value))
        )
    )


def _plain_tuple(value: Any) -> bool:
    """A tuple of plain values only (no tensors or layers inside)."""
    return isinstance(value, tuple) and not any(
        isinstance(v, Tensor | Layer) or (isinstance(v, tuple) and not _plain_tuple(v))
        for v in value
    )


def _over_layer(op: Op, args: tuple[BoundArg, ...]) -> bool:
    """Whether a call of ``op`` is its construct over a block (`moe(Expert(d), ...)`): the op
    has one and the first argument, positional, is a layer."""
    return (
        op.block_parts is not None
        and bool(args)
        and args[0].name is None
        and isinstance(args[0].value, Layer)
    )
