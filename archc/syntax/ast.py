"""The abstract syntax tree of a spec: frozen dataclasses, one per construct, and a walk.

Every node carries the span it was parsed from. Spans take no part in equality, so two trees
that differ only in layout compare equal (which is what `archc fmt` promises); nodes built by
hand (in tests) may leave the span out.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any, Literal

from archc.errors import NO_SPAN, Span

# --- what every node shares ----------------------------------------------------------------------


@functools.cache
def _key(kind: type) -> Callable[[Any], tuple[Any, ...]]:
    """The values of the fields that take part in equality, in field order, in one call."""
    return _getter(tuple(f.name for f in fields(kind) if f.compare))


def _getter(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A function giving an object's attributes ``names`` as a tuple."""
    if not names:
        return lambda node: ()
    if len(names) == 1:
        get = operator.attrgetter(names[0])
        return lambda node: (get(node),)
    return operator.attrgetter(*names)


@functools.cache
def _shown(kind: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(kind) if f.repr)


# NOTE: every node class shares Node's equality, hash and repr rather than having its dataclass
# generate them: generating compiles three more functions per class, a third of what defining
# the tree's classes costs every cold start.
class Node:
    """Base of every node: equal to a node of the same class whose fields but the span are
    equal, hashed and printed (``Name(id='x')``) the way a frozen dataclass is."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        key = _key(self.__class__)
        return key(self) == key(other)

    def __hash__(self) -> int:
        return hash(_key(self.__class__)(self))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in _shown(self.__class__))
        return f"{self.__class__.__qualname__}({shown})"


# --- expressions ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class Ident(Node):
    """A name as written, with its own span (for did-you-mean and go-to-definition).
    ``quoted``: written as a string (`as "block1-0"`), so any state_dict key can be named."""

    name: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    quoted: bool = False


@dataclass(frozen=True, eq=False, repr=False)
class Name(Node):
    id: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class Int(Node):
    """An integer literal; ``text`` is how the source wrote it (`50_257`), for the formatter."""

    value: int
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    text: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class Float(Node):
    """A float literal; ``text`` is how the source wrote it (`1e-5`, `3E4`), for the formatter."""

    value: float
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    text: str = field(default="", compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class Str(Node):
    value: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class Bool(Node):
    value: bool
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class NoneLit(Node):
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class TupleExpr(Node):
    items: tuple[Expr, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class ListExpr(Node):
    items: tuple[Expr, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


UnaryOp = Literal["-", "+", "not"]
BinaryOp = Literal["+", "-", "*", "/", "//", "%", "**"]
CompareOp = Literal["==", "!=", "<", "<=", ">", ">="]
BoolOp = Literal["and", "or"]


@dataclass(frozen=True, eq=False, repr=False)
class Unary(Node):
    op: UnaryOp
    operand: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class Binary(Node):
    """Arithmetic; on tensors a skip (`y + x`) or a gate (`x * g`); `layer * n` repeats."""

    op: BinaryOp
    left: Expr
    right: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class Compare(Node):
    op: CompareOp
    left: Expr
    right: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class Logic(Node):
    op: BoolOp
    left: Expr
    right: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class Cond(Node):
    """`if test then body else orelse`."""

    test: Expr
    body: Expr
    orelse: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class Chain(Node):
    """`head -> stage -> stage ...`, kept flat: long chains never make deep trees."""

    head: Expr
    stages: tuple[Expr, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class Named(Node):
    """`value as name`: names the layer (or the sequence of layers) that ``value`` builds."""

    value: Expr
    name: Ident
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class NamedCopies(Node):
    """`layer * n as stem{i + 1}`: names each copy of a repeat from its index ``i`` (0 for the
    first), directly in the enclosing container (`stem1`, `stem2`, ...). ``index`` holds only
    `i`, integers, `+`, `-` and `*`; ``suffix`` is a name written right after the braces."""

    value: Expr
    prefix: Ident
    index: Expr
    suffix: Ident | None
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class Arg(Node):
    """A call argument; ``name`` is None for a positional one."""

    name: Ident | None
    value: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class Call(Node):
    func: Expr
    args: tuple[Arg, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class Attribute(Node):
    value: Expr
    attr: Ident
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class Index(Node):
    value: Expr
    index: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


Expr = (
    Name
    | Int
    | Float
    | Str
    | Bool
    | NoneLit
    | TupleExpr
    | ListExpr
    | Unary
    | Binary
    | Compare
    | Logic
    | Cond
    | Chain
    | Named
    | NamedCopies
    | Call
    | Attribute
    | Index
)


# --- statements ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class TensorType(Node):
    """`dtype[d0, d1, ...]` in an input declaration; the batch dimension is implicit."""

    dtype: Ident | None
    dims: tuple[Expr, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class Input(Node):
    name: Ident
    type: TensorType | None
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class Output(Node):
    name: Ident | None
    value: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class Assign(Node):
    """`a = expr`, or `a, b = expr` to unpack several results (split, chunk, lstm state)."""

    targets: tuple[Ident, ...]
    value: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class Path(Node):
    """A dotted parameter or layer path such as `layers.0.attn.weight`; ``quoted`` says which
    parts were written in quotes (`"block1-0".weight`)."""

    parts: tuple[str, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)
    quoted: tuple[bool, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class Tie(Node):
    """`tie target = source`: ``target`` becomes the very same parameter as ``source``; with
    `if condition`, only where the condition holds."""

    target: Path
    source: Path
    condition: Expr | None = None
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class Pattern(Node):
    """A quoted glob over layer paths in an init rule, e.g. `"layer*.*.bn2.weight"`."""

    glob: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class InitRule(Node):
    """`init target: scheme(...)` or `init target: weight=..., bias=...`.

    Exactly one of ``scheme`` and ``per_param`` is set.
    """

    target: Path | Pattern
    scheme: Expr | None
    per_param: tuple[Arg, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class Assert(Node):
    test: Expr
    message: Str | None
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


Stmt = Input | Output | Assign | Tie | InitRule | Assert


# --- top level -----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class Param(Node):
    name: Ident
    default: Expr | None
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class Definition(Node):
    """A `block` (reusable, instantiated by calls) or a `network` (a model to build)."""

    kind: Literal["block", "network"]
    name: Ident
    params: tuple[Param, ...]
    body: tuple[Stmt, ...]
    span: Span = field(default=NO_SPAN, compare=False, repr=False)

    @functools.cached_property
    def reserved(self) -> frozenset[str]:
        """Every name written with `as` in the body (not inside other definitions): automatic
        module names must not take them. Worked out once per tree, which the parse cache keeps."""
        return frozenset(n.name.name for s in self.body for n in walk(s) if isinstance(n, Named))


@dataclass(frozen=True, eq=False, repr=False)
class Function(Node):
    """`fn name(params) = expr`: a pure function of numbers, evaluated where it is called."""

    name: Ident
    params: tuple[Param, ...]
    body: Expr
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class Use(Node):
    path: Str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@dataclass(frozen=True, eq=False, repr=False)
class Comment(Node):
    """A `#` comment; kept beside the tree (not in it) for the formatter."""

    text: str
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


Item = Use | InitRule | Definition | Function | Assign


@dataclass(frozen=True, eq=False, repr=False)
class Module(Node):
    """One parsed file."""

    items: tuple[Item, ...]
    comments: tuple[Comment, ...] = field(default=(), compare=False)
    span: Span = field(default=NO_SPAN, compare=False, repr=False)


@functools.cache
def _children_reversed(kind: type) -> Callable[[Any], tuple[Any, ...]]:
    """A node's field values but its span, last first, in one call (walks visit every node)."""
    return _getter(tuple(f.name for f in fields(kind) if f.name != "span")[::-1])


def children(node: Any) -> Iterator[Any]:
    """The syntax-tree nodes directly inside ``node``, in field order."""
    return _visit(list(_children_reversed(type(node))(node)), descend=False)


def walk(node: Any) -> Iterator[Any]:
    """``node`` and every node inside it, outermost first (each before what it holds)."""
    return _visit([node], descend=True)


def _visit(stack: list[Any], descend: bool) -> Iterator[Any]:
    """The nodes on ``stack`` (last first), tuples opened; with ``descend``, their insides."""
    while stack:
        value = stack.pop()
        if isinstance(value, tuple):
            stack.extend(reversed(value))
        elif hasattr(value, "__dataclass_fields__"):
            yield value
            if descend:
                stack.extend(_children_reversed(type(value))(value))
