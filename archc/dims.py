"""Tensor dimensions: exact integers, or symbols (`T`, `H`) that stay symbolic through shape rules.

A :data:`Dim` is an ``int`` or a :class:`Sym`. Shape rules are written once with ordinary
operators and work on both: ``(w + 2 * p - k) // s + 1`` gives an ``int`` for ``w=32`` and the
expression ``floor((H - 1)/2) + 1`` for ``w=Sym("H")``. Sums and products of symbols, which is
all a transformer's `T` ever meets, are kept as polynomials with integer coefficients; sympy does
the rest of the algebra (floors, quotients) and is imported only when it is needed, so specs
without symbols, and most with them, never load it.

>>> (Sym.named("H") + 2 - 3) // 2 + 1
(H - 1)//2 + 1
>>> (Sym.named("T") - Sym.named("T")) + 4
4
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypeAlias

# The batch dimension: the first entry of every shape, never part of a spec.
BATCH_NAME = "N"


def _sympy() -> Any:
    import sympy

    return sympy


# A polynomial over symbols: each monomial, a sorted tuple of (symbol, power), to its integer
# coefficient; the constant term is the empty monomial. Zero coefficients are never stored.
Monomial: TypeAlias = tuple[tuple[str, int], ...]
Poly: TypeAlias = dict[Monomial, int]


class Sym:
    """A symbolic dimension: a positive-integer symbol or an expression over such symbols.

    It holds a polynomial (``_poly``) while its arithmetic stays within sums and products, and a
    sympy expression (``_expr``) once a floor or a quotient needs one, made from the polynomial
    on first use.
    """

    __slots__ = ("_expr", "_hash", "_name", "_poly")

    def __init__(
        self, expr: Any = None, name: str | None = None, poly: Poly | None = None
    ) -> None:
        self._expr = expr
        self._name = name
        self._poly = {((name, 1),): 1} if name is not None else poly
        self._hash: int | None = None

    @classmethod
    def named(cls, name: str) -> Sym:
        return cls(name=name)

    @property
    def expr(self) -> Any:
        if self._expr is None:
            self._expr = _sympy_of(self._poly or {})
        return self._expr

    @property
    def name(self) -> str | None:
        """The symbol's name when this is a bare symbol, else None."""
        return self._name

    def __repr__(self) -> str:
        return str(self)

    def __str__(self) -> str:
        if self._name is not None:
            return self._name
        shown = _show_monomial(self._poly) if self._poly is not None else None
        return shown if shown is not None else _display(self.expr)

    def __hash__(self) -> int:
        # kept: the batch size is in every shape, and shapes key the elaborator's tables
        if self._hash is None:
            key = str(self) if self._poly is None else tuple(sorted(self._poly.items()))
            self._hash = hash(key)
        return self._hash

    # arithmetic: results collapse back to int whenever the symbols cancel
    def __add__(self, other: Dim) -> Dim:
        return _arith(self, other, _plus, lambda: self.expr + _expr(other))

    def __radd__(self, other: Dim) -> Dim:
        return _arith(other, self, _plus, lambda: _expr(other) + self.expr)

    def __sub__(self, other: Dim) -> Dim:
        return _arith(self, other, _minus, lambda: self.expr - _expr(other))

    def __rsub__(self, other: Dim) -> Dim:
        return _arith(other, self, _minus, lambda: _expr(other) - self.expr)

    def __mul__(self, other: Dim) -> Dim:
        return _arith(self, other, _times, lambda: self.expr * _expr(other))

    def __rmul__(self, other: Dim) -> Dim:
        return _arith(other, self, _times, lambda: _expr(other) * self.expr)

    def __floordiv__(self, other: Dim) -> Dim:
        exact = _divided(self, other)
        return exact if exact is not None else _wrap(_sympy().floor(self.expr / _expr(other)))

    def __rfloordiv__(self, other: Dim) -> Dim:
        return _wrap(_sympy().floor(_expr(other) / self.expr))

    def __truediv__(self, other: Dim) -> Dim:
        exact = _divided(self, other)
        return exact if exact is not None else _wrap(self.expr / _expr(other))

    def __mod__(self, other: Dim) -> Dim:
        if _divided(self, other) is not None:
            return 0
        return _wrap(_sympy().Mod(self.expr, _expr(other)))

    def __neg__(self) -> Dim:
        return _arith(0, self, _minus, lambda: -self.expr)


def _poly_of(value: Dim) -> Poly | None:
    if isinstance(value, Sym):
        return value._poly
    if isinstance(value, int) and not isinstance(value, bool):
        return {(): int(value)} if value else {}
    return None


def _from_poly(poly: Poly) -> Dim:
    """The dimension a polynomial is: an int when no symbol is left, a bare symbol by name."""
    if not poly or list(poly) == [()]:
        return poly.get((), 0)
    if len(poly) == 1:
        ((monomial, coefficient),) = poly.items()
        if coefficient == 1 and len(monomial) == 1 and monomial[0][1] == 1:
            return Sym.named(monomial[0][0])
    return Sym(poly=poly)


def _plus(a: Poly, b: Poly, sign: int = 1) -> Poly:
    total = dict(a)
    for monomial, coefficient in b.items():
        total[monomial] = total.get(monomial, 0) + sign * coefficient
    return {m: c for m, c in total.items() if c}


def _minus(a: Poly, b: Poly) -> Poly:
    return _plus(a, b, -1)


def _times(a: Poly, b: Poly) -> Poly:
    product: Poly = {}
    for left, x in a.items():
        for right, y in b.items():
            powers = dict(left)
            for symbol, power in right:
                powers[symbol] = powers.get(symbol, 0) + power
            monomial = tuple(sorted(powers.items()))
            product[monomial] = product.get(monomial, 0) + x * y
    return {m: c for m, c in product.items() if c}


def _arith(
    a: Dim, b: Dim, combine: Callable[[Poly, Poly], Poly], symbolic: Callable[[], Any]
) -> Dim:
    """``combine`` of two dimensions as polynomials when both are, else sympy's ``symbolic``."""
    left, right = _poly_of(a), _poly_of(b)
    if left is not None and right is not None:
        return _from_poly(combine(left, right))
    return _wrap(symbolic())


def _divided(value: Sym, divisor: Dim) -> Dim | None:
    """``value / divisor`` when the divisor is a positive int dividing every coefficient: then
    the quotient is a polynomial, and floor division and remainder are exact."""
    poly = value._poly
    if poly is None or not isinstance(divisor, int) or isinstance(divisor, bool) or divisor < 1:
        return None
    if any(coefficient % divisor for coefficient in poly.values()):
        return None
    return _from_poly({m: c // divisor for m, c in poly.items()})


def _show_monomial(poly: Poly | None) -> str | None:
    """A single term as sympy prints it (`768*T`, `-H*W`, `T**2`), else None."""
    if poly is None or len(poly) != 1:
        return None
    ((monomial, coefficient),) = poly.items()
    if not monomial:
        return str(coefficient)
    factors = [name if power == 1 else f"{name}**{power}" for name, power in monomial]
    if abs(coefficient) != 1:
        factors.insert(0, str(abs(coefficient)))
    return ("-" if coefficient < 0 else "") + "*".join(factors)


def _sympy_of(poly: Poly) -> Any:
    sympy = _sympy()
    terms = []
    for monomial, coefficient in poly.items():
        term = sympy.Integer(coefficient)
        for name, power in monomial:
            term *= sympy.Symbol(name, integer=True, positive=True) ** power
        terms.append(term)
    return sympy.Add(*terms)


Dim: TypeAlias = int | Sym
Shape: TypeAlias = tuple[Dim, ...]
BATCH = Sym.named(BATCH_NAME)


_PRINTER: Any = None


def _printer() -> Any:
    """A sympy printer writing `floor(a/b)` the way shape rules are written: `a//b`."""
    global _PRINTER
    if _PRINTER is None:
        sympy = _sympy()
        from sympy.printing.str import StrPrinter

        class DimPrinter(StrPrinter):  # type: ignore[misc]
            def _print_floor(self, expr: Any) -> str:
                numerator, denominator = sympy.fraction(sympy.together(expr.args[0]))
                top = self._print(numerator)
                top = top if numerator.is_Atom else f"({top})"
                return f"{top}//{self._print(denominator)}"

            def _print_Mod(self, expr: Any) -> str:
                # the spec's own spelling, not sympy's `Mod(H, 16)`
                value, modulus = (self._print(arg) for arg in expr.args)
                value = value if expr.args[0].is_Atom else f"({value})"
                return f"{value} % {modulus}"

            def _print_Mul(self, expr: Any) -> str:
                # `a*(b//c)` needs its parentheses: `//` binds like `*` in the printed form
                factors = expr.as_ordered_factors()
                if not any(isinstance(f, sympy.floor) for f in factors):
                    return str(super()._print_Mul(expr))
                shown = [
                    f"({self._print(f)})"
                    if isinstance(f, sympy.floor) or f.is_Add
                    else self._print(f)
                    for f in factors
                ]
                return "*".join(shown)

        _PRINTER = DimPrinter()
    return _PRINTER


@functools.lru_cache(maxsize=4096)
def _display(expr: Any) -> str:
    """The expression as printed, or factored when that is shorter.

    Only the text changes, never the value: sums that shape rules build term by term read
    better with their common factor taken out. (sympy.simplify was tried too: on shape rules it
    found nothing shorter than factor and took ten times as long.)

    >>> 64 * ((Sym.named("H") - 3) // 2 + 1)
    64*((H - 3)//2 + 1)
    """
    expr = _merge_floors(expr)
    shown = str(_printer().doprint(expr))
    factored = str(_printer().doprint(_sympy().factor(expr)))
    return factored if len(factored) < len(shown) else shown


def _merge_floors(expr: Any) -> Any:
    """``expr`` with each floor of a floor written as one: ``((H//2)//2)//2`` is ``H//8``.

    For a positive integer n and an integer k, floor((floor(x) + k) / n) = floor((x + k) / n),
    so the merged expression has the same value; shape rules nest one floor per layer, and a
    U-Net's bottleneck would otherwise read ``(((H//2)//2)//2)//2``.

    >>> ((Sym.named("H") // 4 - 1) // 2 + 1) // 2
    (H + 4)//16
    """
    sympy = _sympy()
    if not expr.args:
        return expr
    if not isinstance(expr, sympy.floor):
        return expr.func(*(_merge_floors(arg) for arg in expr.args))
    top, bottom = sympy.fraction(sympy.together(_merge_floors(expr.args[0])))
    inner = [term for term in sympy.Add.make_args(top) if isinstance(term, sympy.floor)]
    rest = top - inner[0] if len(inner) == 1 else None
    if bottom.is_Integer and bottom > 0 and rest is not None and rest.is_Integer:
        return sympy.floor((inner[0].args[0] + rest) / bottom)
    return sympy.floor(top / bottom)


def _expr(value: Dim) -> Any:
    return value.expr if isinstance(value, Sym) else value


def _wrap(expr: Any) -> Dim:
    if getattr(expr, "is_Integer", False) or isinstance(expr, int):
        return int(expr)
    if getattr(expr, "is_Symbol", False):
        return Sym.named(str(expr))
    return Sym(expr)


def is_symbolic(value: Dim) -> bool:
    return isinstance(value, Sym)


def same(a: Dim, b: Dim) -> bool | None:
    """True or False when it can be decided, None when it depends on the symbols' values."""
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    if isinstance(a, Sym) and isinstance(b, Sym) and a.name is not None and a.name == b.name:
        return True
    difference = a - b
    if isinstance(difference, int):
        return difference == 0
    return None


def positive(value: Dim) -> bool | None:
    """Whether the dimension is >= 1; None when that depends on the symbols."""
    if isinstance(value, int):
        return value >= 1
    poly = value._poly
    if poly is not None and all(c > 0 for c in poly.values()):
        return True  # every monomial is at least 1, as every symbol is
    verdict = value.expr.is_positive
    return None if verdict is None else bool(verdict)


# Sizes beyond these are refused (A312, A313). No tensor axis holds more than 2**40 elements,
# and sympy's work grows steeply with the nesting of floor divisions in a symbolic size (each
# stride-2 layer adds one), while no real network halves an axis this often.
MAX_SIZE = 2**40
MAX_FLOOR_DEPTH = 32


def too_large(value: Dim) -> bool:
    """Whether a size exceeds MAX_SIZE: a number above it, or a symbolic size holding a
    constant above it (`H * 2**50` is that large for every H).

    >>> too_large(2**40), too_large(2**40 + 1), too_large(Sym.named("H") * 2**50)
    (False, True, True)
    """
    if isinstance(value, int):
        return value > MAX_SIZE
    if value._poly is not None:
        return any(abs(coefficient) > MAX_SIZE for coefficient in value._poly.values())
    atoms = value.expr.atoms()
    return any(abs(a.p) > MAX_SIZE or a.q > MAX_SIZE for a in atoms if a.is_Rational)


def floor_depth(value: Dim) -> int:
    """How deeply floor divisions nest in a symbolic size; 0 for a number or a bare symbol.

    >>> floor_depth(((Sym.named("H") - 1) // 2 + 1) // 2)
    2
    """
    if isinstance(value, int) or value._poly is not None:
        return 0
    sympy = _sympy()
    nesting = (sympy.floor, sympy.ceiling, sympy.Mod)

    @functools.cache
    def depth(expr: Any) -> int:
        inner = max((depth(arg) for arg in expr.args), default=0)
        return inner + isinstance(expr, nesting)

    return depth(value.expr)


def product(values: tuple[Dim, ...] | list[Dim]) -> Dim:
    result: Dim = 1
    for value in values:
        result = result * value
    return result


def total(values: Iterable[Dim]) -> Dim:
    """The sum of many dimensions, added symbolically in one step: sympy re-flattens a sum at
    each addition, so adding a network's terms one by one takes time quadratic in its layers.

    >>> total([2, Sym.named("T") * 3, 5, Sym.named("T") * 3])
    6*T + 7
    """
    values = list(values)
    if all(type(value) is int for value in values):  # no symbol: the common case
        return sum(values)
    polys = [_poly_of(value) for value in values]
    if all(poly is not None for poly in polys):
        summed: Poly = {}
        for poly in polys:
            summed = _plus(summed, poly)  # type: ignore[arg-type]
        return _from_poly(summed)
    whole = 0
    terms: Counter[Any] = Counter()
    for value in values:
        if isinstance(value, int):
            whole += value
        else:
            terms[value.expr] += 1
    if not terms:
        return whole
    return _wrap(_sympy().Add(whole, *(count * expr for expr, count in terms.items())))


def numel(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def show(value: Dim) -> str:
    return str(value)


def show_shape(shape: Shape) -> str:
    """`(N, 64, 56, 56)`, the way torch prints sizes, with symbols by name."""
    return "(" + ", ".join(show(d) for d in shape) + ")"


def evaluate(value: Dim, sizes: dict[str, int]) -> int:
    """The number a dimension takes when its symbols have the given sizes.

    >>> evaluate((Sym.named("H") - 1) // 2 + 1, {"H": 32})
    16
    """
    if isinstance(value, int):
        return value
    if value._poly is not None:
        return sum(
            coefficient * math.prod(sizes[name] ** power for name, power in monomial)
            for monomial, coefficient in value._poly.items()
        )
    symbols = {s: sizes[str(s)] for s in value.expr.free_symbols}
    return int(value.expr.subs(symbols))


def to_json(value: Dim) -> int | str:
    return value if isinstance(value, int) else str(value)


@dataclass(frozen=True, slots=True)
class TensorType:
    """The static type of a tensor: its full shape (batch first) and element type."""

    shape: Shape
    dtype: str = "float32"

    @property
    def rank(self) -> int:
        return len(self.shape)

    def __str__(self) -> str:
        suffix = "" if self.dtype == "float32" else f" {self.dtype}"
        return show_shape(self.shape) + suffix


# Constraints on symbolic sizes. A U-Net halves H four times and doubles it back, and the sizes
# it joins, `H//2` and `2*(H//4)`, agree only for some H. With every floor dividing by a number,
# the difference of two such sizes repeats with a period (the product of the divisors along each
# nesting of floors), so the values of H that make them agree are a set of remainders modulo that
# period: "H is a multiple of 4". Larger periods are not analysed (no network pools 2**12-fold).
MAX_PERIOD = 4096


@dataclass(frozen=True)
class Residues:
    """The values a size may take: those whose remainder modulo ``modulus`` is ``allowed``.

    >>> Residues(4, frozenset({0})).meet(Residues(8, frozenset({0, 4})))
    Residues(modulus=4, allowed=frozenset({0}))
    """

    modulus: int
    allowed: frozenset[int]

    def admits(self, value: int) -> bool:
        return value % self.modulus in self.allowed

    def meet(self, other: Residues) -> Residues:
        """The values both admit, written with the smallest modulus that describes them."""
        modulus = math.lcm(self.modulus, other.modulus)
        allowed = {r for r in range(modulus) if self.admits(r) and other.admits(r)}
        return Residues(modulus, frozenset(allowed)).simplest()

    def simplest(self) -> Residues:
        for divisor in sorted(d for d in range(1, self.modulus + 1) if self.modulus % d == 0):
            kept = frozenset(r % divisor for r in self.allowed)
            if all((r % divisor in kept) == (r in self.allowed) for r in range(self.modulus)):
                return Residues(divisor, kept)
        return self

    def covers(self, other: Residues) -> bool:
        """Whether every value ``other`` admits, this admits too."""
        modulus = math.lcm(self.modulus, other.modulus)
        return all(self.admits(r) for r in range(modulus) if other.admits(r))

    def describe(self) -> str:
        """`a multiple of 16`, `1 more than a multiple of 4`, `1 or 3 modulo 4`, `even`.

        >>> Residues(16, frozenset({0})).describe(), Residues(4, frozenset({1, 3})).describe()
        ('a multiple of 16', '1 or 3 modulo 4')
        """
        if self.modulus == 2 and len(self.allowed) == 1:
            return "even" if self.allowed == {0} else "odd"
        if self.allowed == {0}:
            return f"a multiple of {self.modulus}"
        if len(self.allowed) == 1:
            (remainder,) = self.allowed
            return f"{remainder} more than a multiple of {self.modulus}"
        shown = [str(r) for r in sorted(self.allowed)]
        return f"{', '.join(shown[:-1])} or {shown[-1]} modulo {self.modulus}"


ANY = Residues(1, frozenset({0}))


@dataclass(frozen=True)
class SizeRule:
    """What a network requires of some of its symbolic sizes, all alike.

    >>> str(SizeRule(("H", "W"), Residues(16, frozenset({0})), 16))
    'H and W must be multiples of 16, at least 16'
    >>> str(SizeRule(("T",), ANY, 3))
    'T must be at least 3'
    """

    names: tuple[str, ...]
    residues: Residues
    least: int

    def __str__(self) -> str:
        several = len(self.names) > 1
        who = " and ".join([", ".join(self.names[:-1]), self.names[-1]] if several else self.names)
        parts = []
        if self.residues.modulus > 1:
            kind = self.residues.describe()
            if several and kind.startswith("a multiple"):
                kind = "multiples" + kind.removeprefix("a multiple")
            parts.append(kind)
        if self.least > 1:
            parts.append(f"at least {self.least}")
        return f"{who} must be {', '.join(parts)}"

    def admits(self, value: int) -> bool:
        return value >= self.least and self.residues.admits(value)

    def to_json(self) -> dict[str, object]:
        return {
            "rule": str(self),
            "sizes": list(self.names),
            "modulus": self.residues.modulus,
            "remainders": sorted(self.residues.allowed),
            "least": self.least,
        }


def lone_symbol(value: Dim) -> str | None:
    """The one symbol a size depends on, or None for a number or a size of several symbols."""
    if isinstance(value, int):
        return None
    if value.name is not None:
        return value.name
    if value._poly is not None:
        names = {name for monomial in value._poly for name, _ in monomial}
        return next(iter(names)) if len(names) == 1 else None
    symbols = value.expr.free_symbols
    return str(next(iter(symbols))) if len(symbols) == 1 else None


def agreement(a: Dim, b: Dim) -> tuple[str, Residues] | None:
    """The symbol two sizes of one symbol depend on, and the values of it that make them
    equal; None when that is not a matter of remainders (or not of one symbol).

    >>> H = Sym.named("H")
    >>> agreement(H // 2, 2 * (H // 4))
    ('H', Residues(modulus=4, allowed=frozenset({0, 1})))
    >>> agreement(H, 2 * (H // 2))
    ('H', Residues(modulus=2, allowed=frozenset({0})))
    """
    return satisfied(_expr(a) - _expr(b), "==")


def satisfied(expr: Any, op: str) -> tuple[str, Residues] | None:
    """The symbol of ``expr`` and the values of it for which ``expr op 0`` holds, when they
    are a set of remainders; None otherwise (a linear term, several symbols, a long period)."""
    if isinstance(expr, int) or not getattr(expr, "free_symbols", None):
        return None
    symbols = expr.free_symbols
    if len(symbols) != 1:
        return None
    (symbol,) = symbols
    period = _period(expr)
    if period is None or period > MAX_PERIOD:
        return None
    test = _COMPARISONS[op]
    values = {}
    for remainder in range(period):
        # the same remainder in three periods, one far off, must give the same difference
        seen = {_exact(expr, symbol, remainder + k * period) for k in (1, 2, 1000)}
        if len(seen) != 1 or None in seen:
            return None
        values[remainder] = test(seen.pop())
    allowed = frozenset(r for r, holds in values.items() if holds)
    return str(symbol), Residues(period, allowed).simplest()


_COMPARISONS = {
    "==": lambda d: d == 0,
    "!=": lambda d: d != 0,
    "<": lambda d: d < 0,
    "<=": lambda d: d <= 0,
    ">": lambda d: d > 0,
    ">=": lambda d: d >= 0,
}


def at_least(value: Dim, name: str, residues: Residues, limit: int = 2**40) -> int | None:
    """The least value of the symbol ``name`` that ``residues`` admits and for which ``value``
    is at least 1, below ``limit``; None if there is none. Sizes grow with their symbol (every
    shape rule floors an increasing function), so the least is found by bisection.

    >>> at_least(Sym.named("H") // 16, "H", ANY)
    16
    >>> at_least(Sym.named("H") - 2, "H", Residues(4, frozenset({0})))
    4
    """
    if isinstance(value, int):
        return 1 if value >= 1 else None

    def positive(candidate: int) -> bool:
        if value._poly is not None:  # a polynomial is evaluated without sympy
            return evaluate(value, {name: candidate}) >= 1
        (symbol,) = value.expr.free_symbols
        size = _exact(value.expr, symbol, candidate)
        return size is not None and size >= 1

    high = 1
    while high < limit and not positive(high):
        high *= 2
    if not positive(high):
        return None
    low = high // 2  # not positive, or 0
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if positive(middle) else (middle, high)
    return next(
        (v for v in range(high, high + residues.modulus) if residues.admits(v) and positive(v)),
        None,
    )


def _period(expr: Any) -> int | None:
    """A period of the floors and remainders in ``expr``; None if one divides by a symbol."""
    sympy = _sympy()
    if isinstance(expr, sympy.floor | sympy.ceiling):
        top, bottom = sympy.fraction(sympy.together(expr.args[0]))
        inner = _period(top)
        return None if inner is None or not bottom.is_Integer else inner * int(bottom)
    if isinstance(expr, sympy.Mod):
        inner = _period(expr.args[0])
        modulus = expr.args[1]
        return None if inner is None or not modulus.is_Integer else inner * int(modulus)
    period = 1
    for arg in expr.args:
        inner = _period(arg)
        if inner is None:
            return None
        period = math.lcm(period, inner)
        if period > MAX_PERIOD:
            return None
    return period


def _exact(expr: Any, symbol: Any, value: int) -> Fraction | None:
    """``expr`` at ``symbol = value``, in exact rational arithmetic (sympy's subs is slow);
    None where it has no value there or holds what this does not evaluate."""
    try:
        return _evaluated(expr, symbol, value)
    except (ZeroDivisionError, OverflowError):
        return None


def _evaluated(expr: Any, symbol: Any, value: int) -> Fraction | None:
    sympy = _sympy()
    if expr == symbol:
        return Fraction(value)
    if expr.is_Rational:
        return Fraction(int(expr.p), int(expr.q))
    parts = [_evaluated(arg, symbol, value) for arg in expr.args]
    if not parts or any(p is None for p in parts):
        return None
    if isinstance(expr, sympy.Add):
        return sum(parts, Fraction(0))  # type: ignore[arg-type]
    if isinstance(expr, sympy.Mul):
        return math.prod(parts, start=Fraction(1))  # type: ignore[arg-type]
    if isinstance(expr, sympy.Pow) and parts[1].denominator == 1:  # type: ignore[union-attr]
        return parts[0] ** int(parts[1])  # type: ignore[operator, arg-type]
    if isinstance(expr, sympy.floor):
        return Fraction(math.floor(parts[0]))  # type: ignore[arg-type]
    if isinstance(expr, sympy.ceiling):
        return Fraction(math.ceil(parts[0]))  # type: ignore[arg-type]
    if isinstance(expr, sympy.Mod):
        return parts[0] % parts[1]  # type: ignore[operator]
    return None


def expression(value: Dim) -> Any:
    """The sympy expression of a size (an ``int`` stays one)."""
    return _expr(value)


def least_where(value: Dim, op: str, limit: int = 2**16) -> tuple[str, int] | None:
    """For ``value op 0`` over one symbol that holds from some value on (`T - 8 >= 0`): the
    symbol and that least value; None otherwise.

    >>> least_where(Sym.named("T") - 8, ">=")
    ('T', 8)
    >>> least_where(Sym.named("T") - 8, "<") is None
    True
    """
    symbol = lone_symbol(value)
    if symbol is None:
        return None
    expr = _expr(value)
    (free,) = expr.free_symbols
    test = _COMPARISONS[op]

    def holds(candidate: int) -> bool:
        exact = _exact(expr, free, candidate)
        return exact is not None and test(exact)

    least = next((v for v in range(1, limit) if holds(v)), None)
    if least is None or not all(holds(least + step) for step in (1, 2, 3, least, limit)):
        return None
    return symbol, least
