"""The values an expression can have during elaboration.

Plain values are Python ints, floats, strings, bools, None, tuples and dimensions
(:data:`archc.dims.Dim`). Besides those: a :class:`Tensor` (an output of an IR node) and the
layer values: an op or a block with bound arguments, a sequence of layers, a repeat, or a
combinator. Layers are applied to tensors with `->` (or by calling them with tensors first).
:data:`UNKNOWN` stands for a value that could not be computed because of an error already
reported; everything computed from it is unknown too, so one mistake gives one diagnostic.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from archc.dims import Sym, TensorType
from archc.errors import Span
from archc.ops.spec import Op
from archc.semantics.ir import Ref
from archc.semantics.provenance import Expr
from archc.syntax import ast


class Unknown:
    """The value of anything that depends on an error already reported."""

    _instance: Unknown | None = None

    def __new__(cls) -> Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = Unknown()


@dataclass(frozen=True)
class Function:
    """A built-in function or combinator named in an expression, not yet called (`sqrt`,
    `residual`)."""

    name: str


@dataclass(frozen=True)
class UserFunctionValue:
    """A `fn` named in an expression, not yet called."""

    function: Any  # program.UserFunction

    @property
    def name(self) -> str:
        return str(self.function.name)


@dataclass(frozen=True, slots=True)
class Tensor:
    """One output of an IR node; ``type`` is None when it could not be inferred.

    ``dims`` is the provenance of each size in ``type`` in the namespace of the definition
    whose body holds this value (see provenance.py); None for a size with none."""

    ref: Ref
    type: TensorType | None
    span: Span  # where the value was produced, for notes in later diagnostics
    dims: tuple[Expr | None, ...] | None = None
    # the conditional that gave this tensor, already computed, as its value: its index in the
    # body's choices (ir.Choice), so that what reads it records reading the choice (Node.via)
    via: int | None = None

    def dim(self, axis: int) -> Expr | None:
        return self.dims[axis] if self.dims is not None else None


@dataclass(frozen=True)
class BoundArg:
    """An evaluated call argument and where it was written."""

    name: str | None
    value: Any
    span: Span
    name_span: Span | None = None
    expr: ast.Expr | None = None  # as written, for messages and diagrams
    origin: Expr | None = None  # the value's provenance where it was written
    # in a copy of a repeat, the provenance of an argument that reads the copy's index `i`
    # with the index left as provenance.COPY_INDEX: the same for every copy
    index_origin: Expr | None = None


@dataclass(frozen=True)
class Layer:
    """Base of layer values. ``name`` comes from `as`; ``span`` is where the layer was written."""

    span: Span
    name: ast.Ident | None

    def named(self, name: ast.Ident) -> Layer:
        """This layer under ``name``; one already named keeps its name inside a container
        named ``name`` (`(B as inner) as outer` holds `outer.inner`)."""
        if self.name is None:
            return replace(self, name=name)
        return SequenceLayer(self.span, name, (self,))


@dataclass(frozen=True)
class OpLayer(Layer):
    op: Op
    args: tuple[BoundArg, ...] = ()
    called: bool = False  # arguments were given (so it cannot be called again)
    # the block parameter the layer was bound to (`act`), which names it where it is applied
    # unnamed; ``passed`` the parameters of the callers it was passed on through, outermost
    # first (its arguments' provenance is in the terms of the caller of the outermost)
    given: str | None = None
    passed: tuple[str, ...] = ()


@dataclass(frozen=True)
class BlockLayer(Layer):
    block: Any  # semantics.program.BlockDef
    args: tuple[BoundArg, ...] = ()
    called: bool = False


@dataclass(frozen=True)
class SequenceLayer(Layer):
    """Layers in sequence. Unnamed, its layers join the container around it one by one;
    ``grouped`` (`[a -> b]`), it is one child of that container, numbered like any other."""

    layers: tuple[Layer, ...] = ()
    grouped: bool = False


@dataclass(frozen=True)
class RepeatLayer(Layer):
    """`layer * count`; ``copy_names`` are the names a naming pattern gives the copies
    (`as layer{i + 1}`, written as ``pattern``), and ``each`` the copies themselves where the
    layer reads the copy's index (`Block(p=0.1 * i) * 4`)."""

    layer: Layer | None = None
    count: int = 1
    count_origin: Expr | None = None
    copy_names: tuple[ast.Ident, ...] = ()
    pattern: ast.NamedCopies | None = None
    each: tuple[Layer, ...] = ()

    def copies(self) -> list[Layer]:
        assert self.layer is not None
        layers = list(self.each) or [self.layer] * self.count
        if self.copy_names:
            return [layer.named(name) for layer, name in zip(layers, self.copy_names, strict=True)]
        return layers


@dataclass(frozen=True)
class CombinatorLayer(Layer):
    """`residual(body)` or `dense(body)`: structure around a body of layers."""

    kind: str = ""
    body: Layer | None = None


@dataclass(frozen=True)
class BranchesLayer(Layer):
    """`branches(a, b, c)`: each layer applied to the same tensor, their outputs a tuple."""

    layers: tuple[Layer, ...] = ()


@dataclass(frozen=True)
class SharedLayer(Layer):
    """`shared(layer)`: one instance of ``layer`` that every application calls, with the
    weights of the first. ``token`` tells apart the instances that two evaluations of one
    `shared(...)` make (each block instance makes its own)."""

    layer: Layer | None = None
    token: int = field(default=0, compare=False, repr=False)

    def named(self, name: ast.Ident) -> Layer:
        """`shared(layer) as encoder` names the instance itself."""
        assert self.layer is not None
        return replace(self, layer=self.layer.named(name))


@dataclass(frozen=True)
class ScanLayer(Layer):
    """`scan(Cell(...), x, state=h0, dim=1)`: ``cell`` applied step by step along axis ``dim`` of
    its sequences, carrying the states that start as ``states`` (scanning.py). ``sequences``
    holds the tensors the call gave it, which apply it at once."""

    cell: Layer | None = None
    states: tuple[Tensor, ...] = ()
    dim: int = 1
    reverse: bool = False
    sequences: tuple[Tensor, ...] = ()


@dataclass(frozen=True)
class MixtureLayer(Layer):
    """`moe(Expert(d), experts=8, top_k=2)`: ``op``'s construct over a block, a copy of
    ``expert`` per expert between its router and its sum (routing.py); ``args`` are the
    routing's arguments, as written after the block."""

    op: Op | None = None
    expert: BlockLayer | None = None
    args: tuple[BoundArg, ...] = ()


def describe(value: Any) -> str:
    """The kind of a value in words, for messages: "a tensor", "the number 3"."""
    if isinstance(value, Tensor):
        return f"a tensor {value.type}" if value.type else "a tensor"
    if isinstance(value, OpLayer):
        return f"the layer `{value.op.name}`"
    if isinstance(value, BlockLayer):
        return f"the block `{value.block.name}`"
    if isinstance(value, Layer):
        return "a layer"
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f'the string "{value}"'
    if value is None:
        return "none"
    if isinstance(value, tuple):
        return "a tuple"
    if isinstance(value, Function):
        return f"the built-in function `{value.name}`"
    if isinstance(value, UserFunctionValue):
        return f"the function `{value.name}`"
    if isinstance(value, Sym):
        return f"the size {value}"
    return "a value archc cannot show"


def shown(value: Any) -> str:
    """A value for a message: plain data as a spec writes it (`true`, `none`, `"same"`,
    `(3, 2.0)`, a size `H // 2`); anything else, a layer, a tensor, a function, in words
    (:func:`describe`), never as a Python object."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        inner = ", ".join(shown(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int | Sym):
        return str(value)
    return describe(value)
