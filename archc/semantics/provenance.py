"""Where a value came from: small expressions over a definition's parameters and input sizes.

Elaboration computes concrete values (every shape check needs numbers), and records beside each
value its provenance: how the definition that holds it computed it, in terms of that
definition's parameters (:class:`Param`) and the sizes of its input tensors (:class:`Size`).
For ``conv2d(planes * expansion, 1)`` inside ``Bottleneck(planes, stride)`` the conv's
``out_channels`` is ``planes * 4`` (the constant ``expansion`` is known), and the
``in_channels`` it infers from its input is ``Size("x", 1)`` or, further down the body, the
``out_channels`` of the layer before it. A backend that writes one class for every instance of a
block reads these expressions; it never has to work a value back from the numbers.

The expressions are in the namespace of one definition. At a block call they are carried into
the caller's namespace by :func:`substitute`: the callee's parameters by the caller's argument
expressions, its input sizes by the caller's tensor sizes.

Sizes that shape rules compute (a convolution's output width, a flattened feature count) get
their provenance by running the rule on :class:`Traced` integers, which record the arithmetic
done with them, as torch's symbolic integers do.

>>> planes = Traced(64, Param("planes"))
>>> show(origin_of_int(planes * 4 // 2))
'planes * 4 // 2'
>>> evaluate(Apply("*", (Param("planes"), Lit(4))), {"planes": 16}, {})
64
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from archc.syntax.fmt_expr import quote


@dataclass(frozen=True, slots=True)
class Lit:
    """A value known in the definition itself: a literal, a top-level constant's value.

    A constant's value remembers the constant (``constant``), and a `fn` call's value the
    call (``call``), so that generated code can name them as the spec does; neither takes
    part in equality: the value is what the expression computes."""

    value: Any
    constant: Constant | None = field(default=None, compare=False, repr=False)
    call: Call | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Constant:
    """A top-level constant of a spec file: its name, and how the file computes it
    (``definition``: literals, built-in functions and other constants, as written, not
    folded), which evaluates to exactly the constant's value."""

    file: str
    name: str
    definition: Expr

    @property
    def key(self) -> tuple[str, str]:
        """The same for the constant wherever its value is read: its file and name."""
        return (self.file, self.name)


@dataclass(frozen=True, slots=True)
class Param:
    """A parameter of the definition (a block's or a network's)."""

    name: str


@dataclass(frozen=True, slots=True)
class Size:
    """The size of the definition's input tensor ``input`` on ``axis`` (0 is the batch)."""

    input: str
    axis: int


@dataclass(frozen=True, slots=True)
class Apply:
    """An operator or a built-in function applied to expressions: ``fn`` is one of
    :data:`OPERATORS`, :data:`FUNCTIONS`, or "if" (test, then, else), "tuple" (its items) and
    "index" (a tuple and a position). Where a `fn` call computes it, it remembers the call
    (``call``, as :class:`Lit` does), which takes no part in equality."""

    fn: str
    args: tuple[Expr, ...]
    call: Call | None = field(default=None, compare=False, repr=False)


Expr: TypeAlias = Lit | Param | Size | Apply


@dataclass(frozen=True, slots=True)
class Function:
    """A spec's `fn`, so that generated code can define it once and call it: its parameters,
    each default's provenance (None where it has none; it may read earlier parameters) and
    its body's, over its parameters (``Param``)."""

    file: str
    name: str
    params: tuple[str, ...]
    defaults: tuple[Expr | None, ...]
    body: Expr

    @property
    def key(self) -> tuple[str, str]:
        return (self.file, self.name)


@dataclass(frozen=True, slots=True)
class Call:
    """A call of a `fn` that a value's provenance remembers, as ``Lit.constant`` remembers a
    constant: the provenance of every parameter's argument in the caller's terms (a default's
    too), and which of them the call wrote. The expression holding it is what the call
    computes, inlined; the call takes no part in equality or evaluation."""

    function: Function
    args: tuple[Expr, ...]
    given: tuple[bool, ...]


def calling(expr: Expr, call: Call | None) -> Expr:
    """``expr`` remembering that ``call`` computes it (a parameter or a size cannot), or,
    with None, remembering no call."""
    if getattr(expr, "call", None) is call:
        return expr
    if type(expr) is Lit:
        return Lit(expr.value, expr.constant, call)  # type: ignore[union-attr]
    if type(expr) is Apply:
        return Apply(expr.fn, expr.args, call)  # type: ignore[union-attr]
    return expr


def moved_call(call: Call | None, move: Callable[[Expr], Expr | None]) -> Call | None:
    """``call`` with each argument moved by ``move``; None where one has no expression."""
    if call is None:
        return None
    args = [move(arg) for arg in call.args]
    if any(arg is None for arg in args):
        return None
    return Call(call.function, tuple(args), call.given)  # type: ignore[arg-type]


# The index of a copy of a repeat (`i` in `Block(p=0.1 * i) * n`), as the parameter a copy's
# arguments read in the provenance all copies share; no spec name can spell it.
COPY_INDEX = Param("$copy")

BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
UNARY: dict[str, Callable[[Any], Any]] = {"neg": operator.neg, "not": operator.not_}
# The spec's built-in functions on numbers (archc.semantics.expressions.BUILTINS computes them).
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "min": min,
    "max": max,
    "abs": abs,
    "sqrt": math.sqrt,
    "floor": math.floor,
    "ceil": math.ceil,
    "len": len,
    "round": round,
    "int": int,
}
OPERATORS = (*BINARY, *UNARY, "and", "or")
# How tightly each operator binds, for showing expressions with only the parentheses needed.
_PRECEDENCE = {"or": 1, "and": 2, "not": 3, "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4}
_PRECEDENCE |= {"+": 5, "-": 5, "*": 6, "/": 6, "//": 6, "%": 6, "neg": 7, "**": 8}


def is_number(expr: Expr) -> bool:
    """Whether ``expr`` is a literal that is nothing but its value (not a constant's, nor a
    function call's, which generated code names)."""
    return type(expr) is Lit and expr.constant is None and expr.call is None


def lit(value: Any) -> Lit:
    return Lit(value)


def apply(fn: str, *args: Expr, integers: bool = False) -> Expr:
    """``fn`` applied to ``args``; folded to a literal when every argument is one and the
    result is a plain number, so that substituted constants read as numbers (a function the
    spec wrote out, `max(8, int(28.0) // 8 * 8)`, as the number it gives). A tuple's item
    picked by a literal index is that item; and when the operands are known to be
    ``integers``, the identities `x + 0`, `x * 1`, `x // 1` hold and are applied.

    >>> show(apply("//", apply("+", Param("w"), Lit(0), integers=True), Lit(1), integers=True))
    'w'
    >>> show(apply("if", apply("<", Lit(24), Lit(21.6)), Lit(32), apply("max", Lit(8), Lit(24))))
    '24'
    >>> show(apply("if", Lit(True), Param("w"), Lit(None)))
    'w'
    """
    simpler = _identity(fn, args, integers)
    if simpler is not None:
        return simpler
    if all(type(a) is Lit for a in args) and fn not in ("tuple", "and", "or"):
        try:
            if fn == "index" or fn in BINARY or fn in UNARY:  # the common case, kept cheap
                value = _fold(fn, tuple(a.value for a in args))  # type: ignore[union-attr]
            else:
                value = evaluate(Apply(fn, args), {}, {})
        except (ArithmeticError, TypeError, ValueError, IndexError):
            return Apply(fn, args)
        if isinstance(value, bool | int | float | str):
            return Lit(value)
    return Apply(fn, args)


def _fold(fn: str, values: tuple[Any, ...]) -> Any:
    """``fn`` (an operator or "index") applied to known values, as :func:`evaluate` would."""
    if fn == "index":
        return values[0][values[1]]
    return BINARY[fn](*values) if fn in BINARY else UNARY[fn](*values)


def _identity(fn: str, args: tuple[Expr, ...], integers: bool) -> Expr | None:
    """The one argument ``fn`` leaves unchanged, the tuple item an index picks, or the
    alternative a conditional with a known test picks (`if i == 0 then w else none` in a
    repeat's first copy is `w`)."""
    if fn == "if" and isinstance(args[0], Lit) and type(args[0].value) is bool:
        return args[1] if args[0].value else args[2]
    if fn == "index":
        items, index = args
        if isinstance(items, Apply) and items.fn == "tuple" and isinstance(index, Lit):
            position = index.value
            if isinstance(position, int) and -len(items.args) <= position < len(items.args):
                return items.args[position]
        return None
    if len(args) != 2 or not integers:
        return None
    left, right = args
    if (_is(right, 0) and fn in ("+", "-")) or (_is(right, 1) and fn in ("*", "//")):
        return left
    if (_is(left, 0) and fn == "+") or (_is(left, 1) and fn == "*"):
        return right
    return None


def _is(expr: Expr, number: int) -> bool:
    return isinstance(expr, Lit) and type(expr.value) is int and expr.value == number


def evaluate(expr: Expr, params: Mapping[str, Any], sizes: Mapping[tuple[str, int], Any]) -> Any:
    """The value of ``expr`` given the definition's parameter values and input sizes."""
    kind = type(expr)
    if kind is Lit:
        return expr.value  # type: ignore[union-attr]
    if kind is Param:
        return params[expr.name]  # type: ignore[union-attr]
    if kind is Size:
        return sizes[(expr.input, expr.axis)]  # type: ignore[union-attr]
    fn, args = expr.fn, expr.args  # type: ignore[union-attr]
    binary = BINARY.get(fn)
    if binary is not None:  # most of a size's arithmetic: spelt out, without a tuple
        left, right = args
        return binary(evaluate(left, params, sizes), evaluate(right, params, sizes))
    if fn == "if":
        test, then, orelse = args
        return evaluate(then if evaluate(test, params, sizes) else orelse, params, sizes)
    if fn in ("and", "or"):
        left = evaluate(args[0], params, sizes)
        if (fn == "and") != bool(left):
            return left
        return evaluate(args[1], params, sizes)
    values = tuple(evaluate(a, params, sizes) for a in args)
    if fn == "tuple":
        return values
    if fn == "index" or fn in BINARY or fn in UNARY:
        return _fold(fn, values)
    return FUNCTIONS[fn](*values)


def same(a: Any, b: Any) -> bool:
    """Whether two values a provenance may give are equal: numbers by value (`4 == 4.0`, as
    an argument validated as a float), sizes symbolically, tuples item by item."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(a, "expr") or hasattr(b, "expr"):  # a symbolic size (archc.dims.Sym)
        from archc import dims

        return dims.same(a, b) is True
    return bool(a == b)


def written_alike(a: Expr | None, b: Expr | None) -> bool:
    """Whether two provenances are the same expression, literals of the same types: equal
    expressions may differ in how they are shown (`Lit(1)` and `Lit(True)`, `4` and `4.0`)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if type(a) is Apply:
        return (
            a.fn == b.fn  # type: ignore[union-attr]
            and len(a.args) == len(b.args)  # type: ignore[union-attr]
            and all(map(written_alike, a.args, b.args))  # type: ignore[union-attr]
        )
    if type(a) is Lit:
        return type(a.value) is type(b.value) and repr(a.value) == repr(b.value)  # type: ignore[union-attr]
    return a == b


def substitute(
    expr: Expr, params: Mapping[str, Expr], sizes: Callable[[str, int], Expr | None]
) -> Expr | None:
    """``expr`` moved from a callee's namespace into its caller's: each parameter replaced by
    the caller's expression for the argument, each input size by the caller's size of the tensor
    it was given. None when something it reads has no expression in the caller."""
    kind = type(expr)
    if kind is Lit:
        if expr.call is None:  # type: ignore[union-attr]
            return expr
        return _call_moved(expr, expr, lambda arg: substitute(arg, params, sizes))
    if kind is Param:
        return params.get(expr.name)  # type: ignore[union-attr]
    if kind is Size:
        return sizes(expr.input, expr.axis)  # type: ignore[union-attr]
    if expr.call is not None:  # type: ignore[union-attr]
        moved = substitute(calling(expr, None), params, sizes)
        if moved is None:
            return None
        return _call_moved(expr, moved, lambda arg: substitute(arg, params, sizes))
    fn = expr.fn  # type: ignore[union-attr]
    args = []
    literals = True
    for arg in expr.args:  # type: ignore[union-attr]
        moved = substitute(arg, params, sizes)
        if moved is None:
            return None
        literals = literals and type(moved) is Lit
        args.append(moved)
    if literals and (fn in BINARY or fn in UNARY):
        # what `apply` does with literal operands, without its detours: most of what a block
        # gives its caller is arithmetic on sizes that are numbers there
        try:
            value = _fold(fn, tuple(a.value for a in args))  # type: ignore[union-attr]
        except (ArithmeticError, TypeError, ValueError, IndexError):
            value = None
        if isinstance(value, bool | int | float | str):
            return Lit(value)
        return Apply(fn, tuple(args))
    return apply(fn, *args)


def bound(expr: Expr, name: str, value: Expr) -> Expr:
    """``expr`` with the parameter ``name`` replaced by ``value``, folded as :func:`apply`
    folds."""
    if type(expr) is Param:
        return value if expr.name == name else expr  # type: ignore[union-attr]
    if type(expr) is Apply:
        result = apply(expr.fn, *(bound(a, name, value) for a in expr.args))  # type: ignore[union-attr]
        return _call_moved(expr, result, lambda arg: bound(arg, name, value))
    if type(expr) is Lit:
        return _call_moved(expr, expr, lambda arg: bound(arg, name, value))
    return expr


def _call_moved(expr: Expr, result: Expr, move: Callable[[Expr], Expr | None]) -> Expr:
    """``result``, which ``expr`` became, remembering ``expr``'s call with its arguments moved
    alike (and remembering none where one of them has no expression)."""
    call = getattr(expr, "call", None)
    return result if call is None else calling(result, moved_call(call, move))


class _NotArithmetic(Exception):
    """An expression :func:`folded` leaves to :func:`substitute`."""


_FOLDED_TYPES = (bool, int, float, str)


def folded(
    expr: Expr, params: Mapping[str, Any], sizes: Mapping[tuple[str, int], Any]
) -> Lit | None:
    """What :func:`substitute` gives for ``expr`` where the caller has a literal for every
    parameter and size it reads (``params`` and ``sizes`` hold those literals' values): the
    literal its arithmetic folds to, computed without building the expression again. None
    where it reads something that is no literal there, or is more than arithmetic on plain
    values, or fails (substitute keeps a division by zero written out)."""
    if type(expr) is not Apply:
        return None  # a leaf: substitute gives the caller's expression itself
    try:
        return Lit(_arithmetic_value(expr, params, sizes))
    except (_NotArithmetic, KeyError, ArithmeticError, TypeError, ValueError):
        return None


def _arithmetic_value(
    expr: Expr, params: Mapping[str, Any], sizes: Mapping[tuple[str, int], Any]
) -> Any:
    kind = type(expr)
    if kind is Lit:
        value = expr.value  # type: ignore[union-attr]
    elif kind is Param:
        value = params[expr.name]  # type: ignore[union-attr]
    elif kind is Size:
        value = sizes[(expr.input, expr.axis)]  # type: ignore[union-attr]
    else:
        fn, args = expr.fn, expr.args  # type: ignore[union-attr]
        binary = BINARY.get(fn)
        if binary is not None:
            left, right = args
            value = binary(
                _arithmetic_value(left, params, sizes), _arithmetic_value(right, params, sizes)
            )
        elif fn in UNARY:
            (arg,) = args
            value = UNARY[fn](_arithmetic_value(arg, params, sizes))
        else:
            raise _NotArithmetic
    if not isinstance(value, _FOLDED_TYPES):
        raise _NotArithmetic  # substitute keeps an operation on other values written out
    return value


def reads(expr: Expr) -> set[str]:
    """The parameters ``expr`` reads."""
    if isinstance(expr, Param):
        return {expr.name}
    if isinstance(expr, Apply):
        return set().union(*(reads(a) for a in expr.args)) if expr.args else set()
    return set()


def reads_sizes(expr: Expr) -> bool:
    """Whether ``expr`` reads an input's size."""
    if isinstance(expr, Size):
        return True
    return isinstance(expr, Apply) and any(reads_sizes(a) for a in expr.args)


def show(expr: Expr | None) -> str:
    """``expr`` in the spec's own notation: ``planes * 4``, ``x.shape[1]``, ``sqrt(d)``."""
    return "?" if expr is None else _show(expr, 0)


def _show(expr: Expr, outer: int) -> str:
    if isinstance(expr, Lit):
        value = expr.value
        if isinstance(value, bool):
            return "true" if value else "false"
        if value is None:
            return "none"
        if isinstance(value, str):
            return quote(value)
        if isinstance(value, tuple):
            return _show(Apply("tuple", tuple(Lit(v) for v in value)), 0)
        return str(value)
    if isinstance(expr, Param):
        return expr.name
    if isinstance(expr, Size):
        return f"{expr.input}.shape[{expr.axis}]"
    fn, args = expr.fn, expr.args
    if fn == "tuple":
        return "(" + ", ".join(_show(a, 0) for a in args) + ("," if len(args) == 1 else "") + ")"
    if fn == "index":
        return f"{_show(args[0], 9)}[{_show(args[1], 0)}]"
    if fn == "if":
        text = f"if {_show(args[0], 0)} then {_show(args[1], 0)} else {_show(args[2], 0)}"
        return f"({text})" if outer else text
    if fn in FUNCTIONS:
        return f"{fn}({', '.join(_show(a, 0) for a in args)})"
    precedence = _PRECEDENCE[fn]
    if fn in UNARY:
        sign = "-" if fn == "neg" else "not "
        text = sign + _show(args[0], precedence)
    else:
        # left-associative: the right operand of `a - (b - c)` keeps its parentheses
        right = precedence + (0 if fn == "**" else 1)
        left = precedence + (1 if fn == "**" else 0)
        text = f"{_show(args[0], left)} {fn} {_show(args[1], right)}"
    return f"({text})" if precedence < outer else text


# --- sizes computed by shape rules -----------------------------------------------------------


def _arithmetic(fn: str, swapped: bool) -> Callable[[Traced, Any], Any]:
    """The method of :class:`Traced` for the operator ``fn`` (``swapped``: its reflection):
    int's own arithmetic, and a record of the operands. Spelt out per operator, since shape
    rules run it for every size they compute."""
    compute = _INTEGER[fn]
    new = int.__new__

    def method(self: Traced, other: Any) -> Any:
        kind = type(other)
        if kind is not int and kind is not Traced and (kind is bool or not isinstance(other, int)):
            return NotImplemented
        traced = new(Traced, compute(self, other))
        traced._operands = (fn, self, other)  # its origin is built when first read
        return traced

    def reflected(self: Traced, other: Any) -> Any:
        kind = type(other)
        if kind is not int and kind is not Traced and (kind is bool or not isinstance(other, int)):
            return NotImplemented
        traced = new(Traced, compute(other, self))
        traced._operands = (fn, other, self)
        return traced

    return reflected if swapped else method


# int's operators on any two integers, traced or not; each gives a plain int
_INTEGER: dict[str, Callable[[int, int], int]] = {
    "+": int.__add__,
    "-": int.__sub__,
    "*": int.__mul__,
    "//": int.__floordiv__,
    "%": int.__mod__,
}


def _arithmetic_of(fn: str, left: Expr, right: Expr) -> Expr:
    """``apply(fn, left, right, integers=True)`` for an operator of :data:`_INTEGER` and
    operands that are not both literals, as a traced integer records it, once per size a rule
    computes: `x + 0`, `x - 0`, `x * 1`, `x // 1`, `0 + x` and `1 * x` are `x`."""
    if type(right) is Lit and type(right.value) is int and right.value == _UNIT.get(fn):
        return left
    if type(left) is Lit and type(left.value) is int and left.value == _LEFT_UNIT.get(fn):
        return right
    return Apply(fn, (left, right))


# the number an operand of each operator may be without changing the other
_UNIT = {"+": 0, "-": 0, "*": 1, "//": 1}
_LEFT_UNIT = {"+": 0, "*": 1}


class Traced(int):
    """An integer that records how it was computed: shape rules run on these unchanged, and a
    size they compute from traced arguments and input sizes comes out traced.

    The record of a computed integer is built when it is first read: a rule computes many
    sizes that never reach an output (a weight's shape, a MAC count, a remainder it tests),
    and building theirs would be most of the rule's time."""

    # an instance sets one of the two; the other stays the class's None
    _origin: Expr | None = None
    _operands: tuple[str, int, int] | None = None  # (fn, left, right) until the origin is built

    def __new__(cls, value: int, origin: Expr) -> Traced:
        traced = int.__new__(cls, value)
        traced._origin = origin
        return traced

    @property
    def origin(self) -> Expr:
        if self._origin is None:
            assert self._operands is not None
            fn, left, right = self._operands
            left_origin, right_origin = origin_of_int(left), origin_of_int(right)
            if type(left_origin) is Lit and type(right_origin) is Lit:
                self._origin = Lit(int(self))  # the common case, folded without a detour
            else:
                self._origin = _arithmetic_of(fn, left_origin, right_origin)
            self._operands = None  # the operands' records are no longer needed
        return self._origin

    __add__ = _arithmetic("+", False)
    __radd__ = _arithmetic("+", True)
    __sub__ = _arithmetic("-", False)
    __rsub__ = _arithmetic("-", True)
    __mul__ = _arithmetic("*", False)
    __rmul__ = _arithmetic("*", True)
    __floordiv__ = _arithmetic("//", False)
    __rfloordiv__ = _arithmetic("//", True)
    __mod__ = _arithmetic("%", False)
    __rmod__ = _arithmetic("%", True)

    def __neg__(self) -> Any:
        return Traced(-int(self), apply("neg", self.origin))

    def __pos__(self) -> Any:
        return self

    def __reduce__(self) -> Any:  # a traced size never outlives the rule it ran in
        return (int, (int(self),))


class TracedFloat(float):
    """A number or a string that carries its provenance where an op writes it into generated
    code unchanged (a dropout's `p`, a padding mode); arithmetic on it gives a plain value."""

    origin: Expr

    def __new__(cls, value: float, origin: Expr) -> TracedFloat:
        traced = super().__new__(cls, value)
        traced.origin = origin
        return traced

    def __reduce__(self) -> Any:
        return (float, (float(self),))


class TracedStr(str):
    __doc__ = TracedFloat.__doc__
    origin: Expr

    def __new__(cls, value: str, origin: Expr) -> TracedStr:
        traced = super().__new__(cls, value)
        traced.origin = origin
        return traced

    def __reduce__(self) -> Any:
        return (str, (str(self),))


def origin_of_int(value: int) -> Expr:
    """The provenance of an integer a shape rule handled: recorded, or a literal."""
    if type(value) is Traced:
        return value.origin
    return Lit(value if type(value) is int else int(value))


def traced(value: Any, origin: Expr | None, every: bool = False) -> Any:
    """``value`` made traced with ``origin`` where it is an integer (or a tuple of them), and
    with ``every``, a float or a string as well."""
    if origin is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return Traced(value, origin)
    if every and isinstance(value, float):
        return TracedFloat(value, origin)
    if every and isinstance(value, str):
        return TracedStr(value, origin)
    if isinstance(value, tuple):
        return tuple(
            traced(item, apply("index", origin, Lit(index)), every)
            for index, item in enumerate(value)
        )
    return value


def traced_sizes(sizes: tuple[Any, ...], origins: tuple[Expr | None, ...]) -> tuple[Any, ...]:
    """A shape's sizes traced with their provenance (:func:`traced` on each, spelt out: once
    per input of every shape rule). A size whose provenance is its own literal stays plain:
    whatever a rule computes from it records the same."""
    return tuple(
        [
            Traced(size, origin)
            if type(size) is int
            and origin is not None
            and not (type(origin) is Lit and type(origin.value) is int and origin.value == size)
            else size
            for size, origin in zip(sizes, origins, strict=True)
        ]
    )


def size_origins(sizes: tuple[Any, ...]) -> tuple[Expr | None, ...]:
    """:func:`origin_of` of each size of a shape a rule gave."""
    return tuple(
        [
            size.origin
            if type(size) is Traced
            else Lit(size)
            if type(size) is int
            else origin_of(size)
            for size in sizes
        ]
    )


_PLAIN = frozenset({int, float, str, bool, type(None)})


def untraced(value: Any) -> Any:
    """``value`` with every traced integer in it made plain again."""
    kind = type(value)
    if kind in _PLAIN:  # most sizes a rule gives are plain already
        return value
    if kind is Traced:
        return int(value)
    if kind is tuple:  # a shape: its sizes made plain here, without a call for each
        if _PLAIN.issuperset(map(type, value)):
            return value
        return tuple(
            [
                int(item)
                if type(item) is Traced
                else item
                if type(item) in _PLAIN
                else untraced(item)
                for item in value
            ]
        )
    if kind is dict:
        return {key: untraced(item) for key, item in value.items()}
    if isinstance(value, TracedFloat):
        return float(value)
    if isinstance(value, TracedStr):
        return str(value)
    if isinstance(value, tuple):
        return tuple(untraced(item) for item in value)
    if isinstance(value, dict):
        return {key: untraced(item) for key, item in value.items()}
    return value


def origin_of(value: Any) -> Expr | None:
    """The provenance a shape rule's result carries: for a traced integer its record, for a
    plain one a literal, for a tuple of them a tuple; None for anything else."""
    kind = type(value)
    if kind is Traced:
        return value.origin
    if kind is int or kind is bool:
        return Lit(value)
    if isinstance(value, int):
        return origin_of_int(value)
    if isinstance(value, TracedFloat | TracedStr):
        return value.origin
    if isinstance(value, tuple):
        items = [origin_of(item) for item in value]
        if any(item is None for item in items):
            return None
        if all(isinstance(item, Lit) for item in items):
            return Lit(tuple(item.value for item in items))  # type: ignore[union-attr]
        return Apply("tuple", tuple(items))  # type: ignore[arg-type]
    if isinstance(value, float | str) or value is None:
        return Lit(value)
    return None


# --- simplification ------------------------------------------------------------------------------

_INTEGER_OPERATORS = ("+", "-", "*", "//", "neg")


def simplify(expr: Expr) -> Expr:
    """``expr`` with its integer arithmetic collected, where that makes it shorter:
    `2 * g + g + g` is `4 * g`, `2 * w // 2` is `w`; anything else is left as written.

    >>> g = Param("g")
    >>> show(simplify(Apply("+", (Apply("+", (Apply("*", (Lit(2), g)), g)), g))))
    '4 * g'
    >>> show(simplify(Apply("*", (Param("planes"), Param("expansion")))))
    'planes * expansion'
    """
    if isinstance(expr, Apply) and (expr.fn not in _INTEGER_OPERATORS or _calls(expr)):
        # a function's call is written as the call: collecting would lose it
        return Apply(expr.fn, tuple(simplify(a) for a in expr.args), expr.call)
    if not isinstance(expr, Apply) or not _integer_arithmetic(expr) or not _collectable(expr):
        return expr
    import sympy

    leaves: dict[Any, Expr] = {}
    collected = _from_sympy(sympy.simplify(_to_sympy(expr, leaves)), leaves)
    if collected is None or _weight(collected) >= _weight(expr):
        return expr
    return collected


def equal_for_all_values(a: Expr, b: Expr) -> bool:
    """Whether two expressions are equal whatever their parameters and sizes are: written
    alike, or integer arithmetic whose difference sympy reduces to 0 (`(h - 1) // 1 + 1` is
    `h`). False where that is not proven, so a caller that builds on equality never guesses.

    >>> h = Size("x", 2)
    >>> below = Apply("-", (h, Lit(1)))
    >>> equal_for_all_values(Apply("+", (Apply("//", (below, Lit(1))), Lit(1))), h)
    True
    >>> equal_for_all_values(Apply("+", (Apply("//", (below, Lit(2))), Lit(1))), h)
    False
    """
    if a == b:
        return True
    if not (_integer_arithmetic(a) and _integer_arithmetic(b)):
        return False
    import sympy

    leaves: dict[Any, Expr] = {}
    return bool(sympy.simplify(_to_sympy(a, leaves) - _to_sympy(b, leaves)) == 0)


def needs_collecting(expr: Expr) -> bool:
    """Whether :func:`simplify` would hand ``expr``, or a part of it, to sympy."""
    if not isinstance(expr, Apply):
        return False
    if expr.fn not in _INTEGER_OPERATORS or _calls(expr):
        return any(needs_collecting(a) for a in expr.args)
    return _integer_arithmetic(expr) and _collectable(expr)


def _calls(expr: Expr) -> bool:
    """Whether ``expr`` or a part of it remembers a function's call."""
    if getattr(expr, "call", None) is not None:
        return True
    return isinstance(expr, Apply) and any(_calls(a) for a in expr.args)


def _collectable(expr: Expr) -> bool:
    """Whether collecting could shorten ``expr`` (so sympy, slow to import, is worth it): it
    names a parameter or size twice, or divides a product."""
    leaves: list[Expr] = []
    divides = False

    def walk(part: Expr) -> None:
        nonlocal divides
        if isinstance(part, Param | Size):
            leaves.append(part)
        elif isinstance(part, Apply):
            divides |= part.fn == "//" and isinstance(part.args[0], Apply)
            for arg in part.args:
                walk(arg)

    walk(expr)
    return divides or len(set(leaves)) < len(leaves)


def _integer_arithmetic(expr: Expr) -> bool:
    if isinstance(expr, Lit):
        return type(expr.value) is int
    if isinstance(expr, Param | Size):
        return True
    return expr.fn in _INTEGER_OPERATORS and all(_integer_arithmetic(a) for a in expr.args)


def _weight(expr: Expr) -> tuple[int, int]:
    """How many times ``expr`` names a parameter or size, then how many parts it has."""
    if isinstance(expr, Apply):
        parts = [_weight(a) for a in expr.args]
        return sum(p[0] for p in parts), 1 + sum(p[1] for p in parts)
    return (0 if isinstance(expr, Lit) else 1), 1


def _to_sympy(expr: Expr, leaves: dict[Any, Expr]) -> Any:
    import sympy

    if isinstance(expr, Lit):
        return sympy.Integer(expr.value)
    if isinstance(expr, Param | Size):
        # parameters are whole numbers of either sign; sizes are positive
        name = expr.name if isinstance(expr, Param) else f"{expr.input}.shape[{expr.axis}]"
        symbol = sympy.Symbol(name, integer=True, positive=isinstance(expr, Size) or None)
        leaves[symbol] = expr
        return symbol
    assert isinstance(expr, Apply)
    args = [_to_sympy(a, leaves) for a in expr.args]
    if expr.fn == "neg":
        return -args[0]
    left, right = args
    if expr.fn == "//":
        return sympy.floor(left / right)
    return {"+": left + right, "-": left - right, "*": left * right}[expr.fn]


def _subtracted(term: Expr) -> bool:
    return (isinstance(term, Lit) and term.value < 0) or (
        isinstance(term, Apply) and term.fn == "neg"
    )


def _from_sympy(value: Any, leaves: dict[Any, Expr]) -> Expr | None:
    """A sympy expression back as provenance: sums, products by integers or leaves, and
    floor divisions by an integer; None for any other form."""
    import sympy

    if value.is_Integer:
        return Lit(int(value))
    if value in leaves:
        return leaves[value]
    if isinstance(value, sympy.Add):
        found = [_from_sympy(t, leaves) for t in value.as_ordered_terms()]
        if any(t is None for t in found):
            return None
        # what is added comes before what is subtracted: `x + 6 - d`, not `-d + x + 6`
        terms = sorted(found, key=_subtracted)  # type: ignore[arg-type]
        result = terms[0]
        for term in terms[1:]:
            if isinstance(term, Lit) and term.value < 0:
                result = Apply("-", (result, Lit(-term.value)))  # type: ignore[arg-type]
            elif isinstance(term, Apply) and term.fn == "neg":
                result = Apply("-", (result, term.args[0]))  # type: ignore[arg-type]
            else:
                result = Apply("+", (result, term))  # type: ignore[arg-type]
        return result
    if isinstance(value, sympy.Mul):
        coefficient, rest = value.as_coeff_Mul()
        if not coefficient.is_Integer:
            return None
        factors = [_from_sympy(f, leaves) for f in rest.as_ordered_factors()]
        if any(f is None for f in factors):
            return None
        product = factors[0]
        for factor in factors[1:]:
            product = Apply("*", (product, factor))  # type: ignore[arg-type]
        if coefficient == -1:
            return Apply("neg", (product,))  # type: ignore[arg-type]
        if coefficient == 1:
            return product
        return Apply("*", (Lit(int(coefficient)), product))  # type: ignore[arg-type]
    if isinstance(value, sympy.floor):
        numerator, denominator = sympy.fraction(sympy.together(value.args[0]))
        top, bottom = _from_sympy(numerator, leaves), _from_sympy(denominator, leaves)
        if top is None or bottom is None:
            return None
        return Apply("//", (top, bottom))
    return None
