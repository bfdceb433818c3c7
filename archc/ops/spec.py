"""The contract every layer kind fills in: one class per op holds all the facts about it.

An op declares its hyperparameters (an ``Args`` schema of `archc/ops/schema.py`, so arguments
are checked before any shape rule runs), the shape rule with its formula, its parameter tensors
and buffers, its MACs, its diagram label and the PyTorch code that implements it. Everything
else in archc (elaboration, counts, code generation, diagrams, docs) loops over ops and asks
them; nothing outside `archc/ops/` mentions an op by name.

A shape rule that fails raises :class:`ShapeError` with the rule and the numbers plugged in;
a rule that holds but is suspicious (a filter that does not tile its input) returns a
:class:`Finding` of severity "warning" in :attr:`Inferred.findings`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

from archc.dims import Dim, TensorType
from archc.ops.schema import Args, Field

# --- hyperparameter types ------------------------------------------------------------------------

PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
# The most layers one op stacks or pieces one op cuts an axis into, as many as a repeat may
# have: the work and the state_dict grow with the count, so a typo must not mean a billion.
MAX_COUNT = 10_000


def divisors(number: int) -> list[int]:
    """The divisors of ``number``, smallest first, in O(sqrt(number)) steps: sizes in help
    texts reach 2**40, where trying every candidate would never end.

    >>> divisors(12)
    [1, 2, 3, 4, 6, 12]
    """
    small = [d for d in range(1, math.isqrt(number) + 1) if number % d == 0]
    return small + [number // d for d in reversed(small) if d * d != number]


class NoArgs(Args):
    pass


# --- findings ------------------------------------------------------------------------------------

# Stable codes for shape and count problems (A3xx); ops pick the one that fits.
NON_POSITIVE = "A301"  # an output size < 1
UNEVEN = "A302"  # a filter that does not tile its input evenly (warning; error with --strict)
CHANNELS = "A303"  # channel / feature count mismatch between connected tensors
RANK = "A304"  # wrong number of dimensions (e.g. linear on a 4-d tensor without flatten)
DIVISIBILITY = "A305"  # heads must divide width, groups must divide channels, ...
CONCAT = "A306"  # concat inputs differ off the concatenation axis
BROADCAST = "A307"  # add/mul operands cannot broadcast
DTYPE = "A308"  # wrong element type (embedding needs integer indices)
INVALID = "A309"  # an argument combination the op cannot honour
SYMBOLIC = "A310"  # a size that must be fixed (it decides a parameter shape) is symbolic
INPUTS = "A311"  # wrong number of tensor inputs


@dataclass(frozen=True)
class Finding:
    """A problem found by a shape rule. ``arg`` names the argument to point the caret at."""

    code: str
    message: str
    rule: str | None = None
    with_: str | None = None
    help: str | None = None
    arg: str | None = None
    label: str = ""  # the caret label, a few words: "the 32-wide input does not divide evenly"
    # "strict": reported only under --strict (as an error), e.g. a window that drops padding
    severity: Literal["error", "warning", "strict"] = "error"
    # two symbolic sizes that must agree when the network runs, which the checker collects
    # into one constraint on the input sizes (archc/semantics/sizes.py); ``claim`` says what
    # their agreeing means where it is not that two tensors joined fit ("the 8*T elements of
    # (N, T, 8) fill rows of 16")
    equal: tuple[Dim, Dim] | None = None
    claim: str | None = None


class ShapeError(Exception):
    """Raised by :meth:`Op.infer` when the inputs do not fit the op."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


def fail(code: str, message: str, **details: Any) -> ShapeError:
    """Build a ShapeError; ``raise fail(RANK, "...", rule=..., with_=..., help=..., arg=...,
    label=...)``."""
    return ShapeError(Finding(code, message, **details))


# --- results -------------------------------------------------------------------------------------


# The name under which Inferred.params lists a tensor the op's module holds directly (an
# nn.Parameter attribute, not a submodule): its state_dict key is the layer's own path.
HELD = ""


@dataclass(frozen=True)
class Inferred:
    """What an op instance is, given its arguments and input types.

    ``params`` and ``buffers`` map tensor names (as torch names them in the module's state_dict,
    e.g. "weight", "bias", "running_mean", "weight_ih_l0") to their shapes, in torch's order.
    ``resolved`` holds values the op derived from its inputs (``in_channels``) that code
    generation needs; ``macs`` counts multiply-accumulates for the whole batch-1 forward pass.
    """

    outputs: tuple[TensorType, ...]
    params: dict[str, tuple[int, ...]] = field(default_factory=dict)
    buffers: dict[str, tuple[int, ...]] = field(default_factory=dict)
    macs: Dim = 0
    resolved: dict[str, Any] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class Ctor:
    """An ``nn.Module`` constructor call, ``nn.Conv2d(3, 64, kernel_size=7, bias=False)``, and how
    ``forward`` calls the module.

    ``path`` is relative to ``torch`` (``"nn.Conv2d"``); ``args`` and ``kwargs`` hold Python
    literals. ``call`` is the forward expression: ``{m}`` stands for the module, ``{0}``, ``{1}``
    for the inputs and ``{inputs}`` for all of them, comma-separated; e.g. an LSTM returning its
    last step calls ``"{m}({0})[0][:, -1]"``.

    ``held``: not a module but a learned tensor the enclosing module holds itself,
    ``nn.Parameter(torch.zeros(*args))``; ``kwargs`` may carry ``std`` for a normal init.
    """

    path: str
    args: tuple[Any, ...] = ()
    kwargs: tuple[tuple[str, Any], ...] = ()
    call: str = "{m}({inputs})"
    held: bool = False
    # How forward calls the module in a network that decodes a token at a time
    # (archc/backends/torch/decoding.py), `cache` being its KVCache: None where the op cannot
    # carry on from the positions a cache holds.
    cached_call: str | None = None


@dataclass(frozen=True)
class Execution:
    """What the reference interpreter gives an op instance to execute (see :meth:`Op.execute`).

    ``torch`` is the torch module itself, passed in because ops never import it: checking a spec
    must not. ``state`` holds the instance's parameters and buffers under their
    :attr:`Inferred.params` and :attr:`Inferred.buffers` names. ``dropout`` says whether dropout
    drops while training; with it off a training run is deterministic, so that two
    implementations can be compared in training mode too.
    """

    torch: Any
    inputs: tuple[Any, ...]
    state: Mapping[str, Any] = field(default_factory=dict)
    training: bool = False
    dropout: bool = True

    @property
    def F(self) -> Any:
        """``torch.nn.functional``, by the name PyTorch code gives it."""
        return self.torch.nn.functional

    def drop_rate(self, p: float) -> float:
        """The probability dropout uses: ``p`` while training with dropout on, else 0."""
        return p if self.training and self.dropout else 0.0


@dataclass(frozen=True)
class Template:
    """A stateless op's forward expression: ``text`` over ``{0}``, ``{1}`` (the inputs),
    ``{inputs}`` (all of them, comma-separated) and ``{NAME}`` for each of ``values``, the
    values the op writes into it (an axis, split sizes), each as taken from its arguments or
    inferred sizes. Code generation writes each value as a literal, or as an attribute of the
    class where the spec computes it from the class's parameters."""

    text: str
    values: tuple[tuple[str, Any], ...] = ()


# --- the op contract -----------------------------------------------------------------------------


class Op:
    """Base class of every layer kind; subclasses are registered with ``@register``."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    # One of: linear, conv, pool, norm, activation, dropout, embedding, position, attention,
    # recurrent, resample, shape, merge. Drives docs grouping, diagram colours and `--hide`.
    family: ClassVar[str]
    summary: ClassVar[str]
    Args: ClassVar[type[Args]] = NoArgs
    # The order in which positional hyperparameters bind, e.g. ("out_channels", "kernel_size").
    positional: ClassVar[tuple[str, ...]] = ()
    # The op's argument behind each positional parameter of its torch class's constructor, in
    # torch's order, None for a size archc infers from the input: nn.Conv2d(in_channels,
    # out_channels, kernel_size, ...) is (None, "out_channels", "kernel_size", ...). Empty where
    # it is not declared. Spells a layer written the PyTorch way in archc
    # (semantics/unknown_names.py); tests/test_torch_names.py checks it against torch.
    torch_positional: ClassVar[tuple[str | None, ...]] = ()
    # When True, positional hyperparameters beyond those named above join the last named one in
    # a tuple, the way torch takes sizes: `reshape(16, -1)` binds shape=(16, -1), exactly as
    # `reshape((16, -1))` does.
    varargs: ClassVar[bool] = False
    # Names of the tensor inputs, in order; a call's leading tensor arguments (and keyword
    # arguments with these names) bind to them. ``variadic`` accepts any number >= min_inputs.
    inputs: ClassVar[tuple[str, ...]] = ("x",)
    min_inputs: ClassVar[int] = 1
    variadic: ClassVar[bool] = False
    # The optional inputs after the first are told apart by their shapes (attention's memory
    # and mask), so a spec may give a later one by name without an earlier one; they stay in
    # ``inputs`` order.
    inputs_by_shape: ClassVar[bool] = False
    # The inputs must be build-time constants, computed from sizes alone and from no input of
    # the network (a buffer's contents); elaboration checks it, since it sees the graph.
    constant_inputs: ClassVar[bool] = False
    # The inputs combine axis by axis (add, mul): sizes that agree on an axis, other than a
    # broadcast 1, are one size, which code generation may write either way.
    elementwise: ClassVar[bool] = False
    # Each position of a sequence's output depends on that position of the inputs only
    # (linear, norms over the features, activations), so decoding a token at a time computes
    # the op on the new tokens alone.
    positionwise: ClassVar[bool] = False
    # In training the op normalises with statistics over the batch (a batch norm), so one
    # sample's output depends on the others': no expert of a `moe` over a block may hold it,
    # since each expert sees only the tokens routed to it.
    batch_statistics: ClassVar[bool] = False
    # The parts (archc/ops/registry.py: register_part) that open and close the op's construct
    # over a block, where a call gives a block as its first argument: `moe(Expert(d),
    # experts=8, top_k=2)` holds a copy of the block per expert between its router and its sum
    # (archc/semantics/routing.py). None where the op takes no block.
    block_parts: ClassVar[tuple[str, str] | None] = None
    # Tensors the op's module registers as None where its arguments leave them out
    # (nn.Linear(bias=False).bias is None), so that generated code may test them for None.
    absent_as_none: ClassVar[tuple[str, ...]] = ()
    # The shape rule in symbols, as the docs and diagnostics print it.
    rule: ClassVar[str] = "output shape = input shape"
    # The parameter and buffer count in symbols, tensor by tensor under torch's names, as the
    # docs print it (e.g. "weight C_out·(C_in/groups)·∏F + bias C_out"); "none" when the op
    # holds neither. Inferred.params and Inferred.buffers give the exact counts.
    params_rule: ClassVar[str] = "none"
    # Module classes of other libraries that compute what the op's module computes with the
    # same state_dict, by qualified name (`transformers.pytorch_utils.Conv1D`): `archc import`
    # writes the op for them, with the arguments `read_module` reads off one.
    foreign: ClassVar[tuple[str, ...]] = ()

    def read_module(self, module: Any) -> dict[str, Any] | None:
        """The op's arguments for ``module``, an instance of a class in ``foreign``."""
        return None

    def infer(self, args: Any, inputs: Sequence[TensorType]) -> Inferred:
        raise NotImplementedError

    def label(self, args: Any, inferred: Inferred) -> str:
        """A compact diagram label, e.g. ``conv 3×3, 64, /2``."""
        return self.name

    def sliding_window(self, args: Any) -> list[tuple[int, int, int]] | None:
        """For an op that slides a window over its spatial axes (convolution, pooling): the
        (kernel, stride, dilation) of each axis, for receptive-field analysis; else None."""
        return None

    def torch_module(self, args: Any, inferred: Inferred) -> Ctor | None:
        """The module implementing the op, or None for a stateless op (see torch_expr)."""
        return None

    def torch_submodules(self, args: Any, inferred: Inferred) -> dict[str, str]:
        """Every module the op's module holds, by path inside it, and the class of each, a
        torch path (`nn.Linear`) or one of archc's modules: what a generated `init` rule tests
        modules by must tell them from the layers it picks."""
        return {}

    def torch_construct(self, args: Any, inferred: Inferred) -> Ctor | None:
        """For the part that opens an op's construct over a block (``block_parts``): the
        module of the whole construct, whose first argument the emitter writes, the container
        of the copies of the block (`MixtureOfExperts(experts, d, top_k=2)`)."""
        return None

    def torch_expr(self, args: Any, inferred: Inferred) -> Template | None:
        """For a stateless op: its forward expression, as a :class:`Template`.

        E.g. ``Template("torch.cat([{inputs}], dim={dim})", (("dim", args.dim),))`` or
        ``Template("{0} + {1}")``; ``torch``, ``nn`` and ``F`` (``torch.nn.functional``) are in
        scope.
        """
        return None

    def execute(self, args: Any, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        """The op's meaning, computed with torch's functions on ``run.inputs``: one tensor per
        output. The reference interpreter (archc/backends/interpret.py) runs networks with it.

        It is written apart from :meth:`torch_module` and :meth:`torch_expr`, which say how
        generated code computes the same thing, and never builds their modules, so that
        generated code and the interpreter check each other.
        """
        raise NotImplementedError(f"op `{self.name}` has no reference semantics")
