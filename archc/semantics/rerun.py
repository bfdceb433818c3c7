"""A recorded block instance copied for other argument values and input sizes.

A block's body is one program over its parameters and input sizes: each op's arguments are
recorded as provenance in those terms (`planes * expansion`), and so is every test that chose
between layers (``Module.guards``). An instance whose arguments and input sizes are other
numbers than a recorded instance's, but whose every test goes the same way, has the recorded
structure: the same ops, wired alike, under the same names. Its nodes are the recorded ones
with each argument evaluated from its provenance with the new values, validated, and each
op's shape rule run again on plain values; the alternative of a conditional set aside
(ir.Choice) likewise. A node keeps the recorded provenance of its sizes where that gives
what the rule gave, and has its rule traced again where it does not (the rule branched
another way).

Anything the recording cannot vouch for sends the instance back to elaboration, which then
reports what is wrong: a test that goes the other way, a value that no provenance computes, an
argument the schema refuses, a shape rule that fails or finds something to warn about, a body
whose structure a value chose where no test records it (a repeat's count:
``Body.shaped_by_values``). Only numbers may differ (strings, truth values and tuples are
part of the form), and only sizes that are numbers (a symbol, such as the batch, is itself).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, NamedTuple, TypeAlias

from archc.dims import TensorType
from archc.ops import lookup
from archc.ops.schema import ArgumentError
from archc.ops.spec import Inferred, Op, ShapeError
from archc.semantics import application
from archc.semantics import provenance as pv
from archc.semantics.context import Body
from archc.semantics.ir import Module, Node, Ref
from archc.semantics.replay import NotPlain, Recording, Worked, plain
from archc.semantics.values import Layer, Tensor

Sizes: TypeAlias = tuple[pv.Expr | None, ...] | None  # a tensor's sizes' provenance (Tensor.dims)

# What evaluating a provenance with other values may raise: a division by zero, a square
# root of a negative number, an index out of range
_FAILURES = (ArithmeticError, TypeError, ValueError, IndexError, KeyError)


@dataclass
class Terms:
    """What a recorded instance was elaborated with, in its block's terms: what a copy for
    other values evaluates again."""

    ports: tuple[str, ...]  # the block's names for its inputs
    tests: tuple[tuple[pv.Expr, bool], ...]  # each test that chose structure, and its outcome
    locals: tuple[pv.Expr, ...]  # the provenance of each plain value the body bound
    # the last copy made of each recorded node, by its id, with what it was made from
    copies: dict[int, Copy] = field(default_factory=dict)
    # what every copy does, worked out at the first (None where no copy can be made)
    plan: _Plan | None = None
    planned: bool = False


class Copy(NamedTuple):
    """A recorded node worked out again: what its shape rule was given (its arguments' values,
    and its inputs' types and sizes' provenance), and the fields it gave. A later copy whose
    node is given the same is the same node: the rule is a function of these alone (a dense
    block's layers after the first convolution meet the same tensors in every layer)."""

    given: tuple[Any, ...]
    inputs: tuple[Tensor, ...]
    again: Worked

    def made_from(self, given: tuple[Any, ...], inputs: list[Tensor]) -> bool:
        return _identical(self.given, given) and all(
            mine.type == other.type and _same_sizes(mine.dims, other.dims)
            for mine, other in zip(self.inputs, inputs, strict=True)
        )


def _same_sizes(a: Sizes, b: Sizes) -> bool:
    if a is b:
        return True
    if a is None or b is None or len(a) != len(b):
        return False
    return all(pv.written_alike(x, y) for x, y in zip(a, b, strict=True))


def form_of(
    definition: Any, args: dict[str, Any], inputs: list[Tensor], blocks: tuple[str, ...]
) -> tuple[Any, ...] | None:
    """What instances copied from one recording share: the block, its arguments but for the
    numbers, its inputs' ranks, element types and symbols, and the blocks around it. None
    where an instance can only be elaborated or copied for the same values (replay.key_of)."""
    refs = [t.ref for t in inputs]
    if len(set(refs)) != len(refs) or any(t.type is None for t in inputs):
        return None  # `Block(x, x)`: which name a node read its input by is not recorded
    try:
        values = tuple((name, _form(value)) for name, value in args.items())
    except NotPlain:
        return None
    shapes = tuple(
        (tuple(int if type(d) is int else d for d in t.type.shape), t.type.dtype)  # type: ignore[union-attr]
        for t in inputs
    )
    return (id(definition), values, shapes, blocks)


def _form(value: Any) -> Any:
    return type(value) if type(value) in (int, float) else plain(value)


def terms_of(
    body: Body, ports: tuple[str, ...], inputs: list[Tensor], modules: list[Module]
) -> Terms | None:
    """The terms of the instance ``body`` just elaborated from ``inputs``, making
    ``modules``, or None when it can be copied for the same values only."""
    if body.shaped_by_values or any(choice.other is None for choice in body.choices):
        return None  # an alternative these values could not build, others might
    aside = [m for choice in body.choices if choice.other for m in choice.other.modules]
    if any(m.kind == "block" or m.args or m.repeat is not None for m in (*modules, *aside)):
        return None  # a block inside holds its argument values, which a copy does not change
    params = {name: body.vars[name] for name in body.params}
    sizes = _sizes(ports, inputs)
    tests = []
    for guard in body.guards:
        if guard is None:
            return None
        try:
            outcome = pv.evaluate(guard, params, sizes)
        except _FAILURES:
            return None
        if type(outcome) is not bool:
            return None
        tests.append((guard, outcome))
    plain = [name for name, value in body.vars.items() if not _tensors_or_layers(value)]
    if any(name not in body.origins for name in plain):
        return None  # a value computed without provenance: other values may make it fail
    return Terms(ports, tuple(tests), tuple(body.origins[name] for name in plain))


def _tensors_or_layers(value: Any) -> bool:
    if isinstance(value, tuple):
        return any(_tensors_or_layers(v) for v in value)
    return isinstance(value, Tensor | Layer)


def _sizes(ports: tuple[str, ...], inputs: list[Tensor]) -> dict[tuple[str, int], Any]:
    return {
        (port, axis): size
        for port, tensor in zip(ports, inputs, strict=True)
        for axis, size in enumerate(tensor.type.shape)  # type: ignore[union-attr]
    }


@dataclass(frozen=True, slots=True)
class _Step:
    """One recorded node as every copy works it out: its op, the provenance of each argument
    the spec gave it and the value it was recorded with, and where its inputs are among the
    tensors a copy has so far (the instance's inputs, then each node's outputs in order)."""

    node: Node
    op: Op
    names: tuple[str, ...]
    origins: tuple[pv.Expr, ...]
    recorded: tuple[Any, ...]
    sources: tuple[int, ...]
    refs: tuple[Ref, ...]  # the recorded names of its outputs
    # the rank of each output, and each output size's provenance: (port, axis, provenance)
    # where it has one, (port, axis) where it has none
    ranks: tuple[int, ...]
    sized: tuple[tuple[int, int, pv.Expr], ...]
    unsized: tuple[tuple[int, int], ...]
    # the provenance of each input's sizes in the recording, where a node of the recording
    # made the input (None: an input of the block, whose sizes every copy reads alike)
    input_dims: tuple[Sizes, ...]
    # for a broadcast, which of each input's sizes were 1 in the recording (_ones)
    input_ones: tuple[tuple[bool, ...] | None, ...]

    def recorded_holds(self, inferred: Inferred, values: _Values) -> bool:
        """Whether the recorded provenance of the node's output sizes and resolved values
        gives what its rule, run on plain values, inferred for these ``values``: then that
        provenance is what the rule run on traced values would record, and the copy keeps it
        (tracing is most of a rule's time). Where it does not hold, the rule's branches went
        another way, and the caller traces the rule again."""
        shapes = [tensor.shape for tensor in inferred.outputs]
        if tuple(map(len, shapes)) != self.ranks:
            return False
        of = values.of
        try:
            for port, axis, origin in self.sized:
                size, value = shapes[port][axis], of(origin)
                if type(size) is int:  # nearly every size: _identical, spelt out
                    if type(value) is not int or value != size:
                        return False
                elif not _identical(value, size):
                    return False
            for port, axis in self.unsized:
                size = shapes[port][axis]
                if type(size) is int or pv.origin_of(size) is not None:
                    return False
            resolved = self.node.resolved_origins
            for name, value in inferred.resolved.items():
                origin = resolved.get(name)
                if origin is None:
                    if pv.origin_of(value) is not None:
                        return False
                elif not _identical(of(origin), value):
                    return False
            return resolved.keys() <= inferred.resolved.keys()
        except _FAILURES:
            return False


@dataclass(frozen=True, slots=True)
class _Plan:
    """What every copy of a recording does: its steps, and the provenance of its inputs'
    sizes in the block's terms."""

    steps: tuple[_Step, ...]
    inputs: tuple[tuple[pv.Size, ...], ...]


def _plan(terms: Terms, recording: Recording, inputs: list[Tensor]) -> _Plan | None:
    """The steps of every copy of ``recording``, or None where no copy can be made: a node
    that is not an op's, or whose arguments have no provenance, or a value given back that
    does not carry its node's sizes."""
    made = {node.id: node for node in recording.nodes}
    given_back = [t for value in recording.values for t in _tensors(value)]
    if any(t.ref.node in made and t.dims != made[t.ref.node].dims[t.ref.port] for t in given_back):
        return None
    set_aside = [n for c in recording.choices if c.other is not None for n in c.other.nodes]
    slots = {ref: slot for slot, ref in enumerate(recording.inputs)}
    by_id = {**made, **{node.id: node for node in set_aside}}
    types = dict(zip(recording.inputs, recording.input_types, strict=False))
    types |= {Ref(n.id, port): t for n in by_id.values() for port, t in enumerate(n.outputs)}
    steps = []
    for node in (*recording.nodes, *set_aside):
        op = lookup(node.op)
        if node.kind != "op" or op is None or op.constant_inputs:
            return None
        names = tuple(node.args.given)
        origins = tuple(node.arg_origins.get(name) for name in names)
        if any(origin is None for origin in origins) or any(r not in slots for r in node.inputs):
            return None
        refs = tuple(Ref(node.id, port) for port in range(len(node.outputs)))
        steps.append(
            _Step(
                node,
                op,
                names,
                origins,  # type: ignore[arg-type]
                tuple(getattr(node.args, name) for name in names),
                tuple(slots[r] for r in node.inputs),
                refs,
                tuple(map(len, node.dims)),
                tuple(
                    (port, axis, origin)
                    for port, origins in enumerate(node.dims)
                    for axis, origin in enumerate(origins)
                    if origin is not None
                ),
                tuple(
                    (port, axis)
                    for port, origins in enumerate(node.dims)
                    for axis, origin in enumerate(origins)
                    if origin is None
                ),
                tuple(
                    by_id[r.node].dims[r.port] if r.node in by_id else None for r in node.inputs
                ),
                tuple(_ones(types.get(r)) for r in node.inputs) if op.elementwise else (),
            )
        )
        slots.update((ref, len(slots)) for ref in refs)
    sizes = tuple(
        tuple(pv.Size(port, axis) for axis in range(tensor.type.rank))  # type: ignore[union-attr]
        for port, tensor in zip(terms.ports, inputs, strict=True)
    )
    return _Plan(tuple(steps), sizes)


def _tensors(value: Any) -> tuple[Tensor, ...]:
    return value if isinstance(value, tuple) else (value,)


def rerun(
    terms: Terms,
    recording: Recording,
    params: dict[str, Any],
    inputs: list[Tensor],
    strict: bool,
) -> dict[int, Worked] | None:
    """The fields of the recorded nodes and of the nodes its choices set aside, worked out
    for the arguments and sizes that ``params`` and ``inputs`` give, by recorded id; None
    where the recording does not hold for them. ``strict`` is the elaborator's mode, in
    which more findings are reported."""
    if not terms.planned:
        terms.plan, terms.planned = _plan(terms, recording, inputs), True  # ranks: form_of
    plan = terms.plan
    if plan is None:
        return None
    values = _Values(params, _sizes(terms.ports, inputs))
    try:
        if any(values.of(test) is not held for test, held in terms.tests):
            return None
        for origin in terms.locals:
            values.of(origin)
    except _FAILURES:
        return None
    seen = [
        Tensor(ref, given.type, given.span, dims)
        for ref, given, dims in zip(recording.inputs, inputs, plan.inputs, strict=True)
    ]
    copies = terms.copies
    fresh: dict[int, Worked] = {}
    for step in plan.steps:
        node = step.node
        tensors = [seen[slot] for slot in step.sources]
        try:
            given = tuple([values.of(origin) for origin in step.origins])
        except _FAILURES:
            return None
        last = copies.get(node.id)
        if last is not None and last.made_from(given, tensors):
            again = last.again
        else:
            again = _again(step, given, tensors, strict, values)
            if again is None:
                return None
            copies[node.id] = Copy(given, tuple(tensors), again)
        fresh[node.id] = again
        seen.extend(map(Tensor, step.refs, again.outputs, repeat(node.span), again.dims))
    return fresh


class _Values:
    """The values a copy is worked out for, and each recorded provenance evaluated with them
    so far, by identity: a layer that keeps its input's sizes passes on the very expressions
    the layer before it gave, and later layers' sizes are arithmetic on earlier ones' (a
    recording outlives its copies, so an identity is never reused within one)."""

    def __init__(self, params: dict[str, Any], sizes: dict[tuple[str, int], Any]) -> None:
        self.params, self.sizes = params, sizes
        self.evaluated: dict[int, Any] = {}

    def of(self, origin: pv.Expr) -> Any:
        kind = type(origin)
        if kind is pv.Lit:
            return origin.value  # type: ignore[union-attr]
        evaluated = self.evaluated
        key = id(origin)
        if key in evaluated:
            return evaluated[key]
        binary = pv.BINARY.get(origin.fn) if kind is pv.Apply else None  # type: ignore[union-attr]
        if binary is None:
            value = pv.evaluate(origin, self.params, self.sizes)
        else:  # both operands, left first, as evaluate does, each remembered
            left, right = origin.args  # type: ignore[union-attr]
            value = binary(self.of(left), self.of(right))
        evaluated[key] = value
        return value


def _again(
    step: _Step,
    given: tuple[Any, ...],
    tensors: list[Tensor],
    strict: bool,
    values: _Values,
) -> Worked | None:
    """The fields of ``step``'s node for arguments ``given`` that no copy of it was made from,
    or None where elaborating it would report something."""
    node, op = step.node, step.op
    args = node.args
    if not _identical(step.recorded, given):
        if any(
            application.oversized(v)
            for value in given
            for v in (value if isinstance(value, tuple) else (value,))
        ):
            return None
        try:
            args = op.Args(**dict(zip(step.names, given, strict=True)))
        except ArgumentError:
            return None
    try:
        inferred = application.infer(op, args, [t.type for t in tensors])
    except ShapeError:
        return None
    if _as_recorded(step, tensors) and step.recorded_holds(inferred, values):
        dims, resolved_origins = node.dims, node.resolved_origins
    elif node.flags:
        return None  # elaboration holds the sizes for both truth values (flags.py)
    else:
        try:
            inferred, dims, resolved_origins = application.run_rule(
                op, args, node.arg_origins, tensors
            )
        except ShapeError:
            return None
    if (
        (inferred.findings and (strict or any(f.severity != "strict" for f in inferred.findings)))
        or len(inferred.outputs) != len(node.outputs)
        or application.parameter_dtype(op, inferred, tensors) is not None
        or not application.sizes_allowed(inferred.outputs)
    ):
        return None
    return Worked(
        args,
        inferred.outputs,
        inferred.params,
        inferred.buffers,
        inferred.macs,
        inferred.resolved,
        resolved_origins,
        dims,
        application.equal_sizes(tensors) if op.elementwise else (),
    )


def _as_recorded(step: _Step, tensors: list[Tensor]) -> bool:
    """Whether the recorded provenance of the node's sizes may stand for these inputs: the
    inputs' sizes have the provenance they had in the recording (an earlier layer's that
    was traced again may read another input), and a broadcast's inputs have sizes of 1 where
    they had them: it takes each size from an input whose size there is not 1, so where the
    inputs agree now but did not in the recording, the recorded provenance gives the right
    numbers, but reads another input than the rule would."""
    if step.op.elementwise and tuple(_ones(t.type) for t in tensors) != step.input_ones:
        return False
    return all(
        recorded is None or _same_sizes(tensor.dims, recorded)
        for tensor, recorded in zip(tensors, step.input_dims, strict=True)
    )


def _ones(tensor: TensorType | None) -> tuple[bool, ...] | None:
    """Which of a tensor's sizes are 1, where a broadcast takes the other input's."""
    if tensor is None:
        return None
    return tuple(type(size) is int and size == 1 for size in tensor.shape)


def _identical(a: Any, b: Any) -> bool:
    """Equal and of the same types, item by item: 4 is not 4.0 to a validated argument, nor
    is -0.0 0.0."""
    kind = type(a)
    if kind is int:  # nearly every size and argument
        return type(b) is int and a == b
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(map(_identical, a, b))
    if kind is float:
        return type(b) is float and repr(a) == repr(b)
    return kind is type(b) and a == b
