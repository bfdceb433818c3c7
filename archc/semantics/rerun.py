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
from typing import Any, TypeAlias

from archc.ops import lookup
from archc.ops.schema import ArgumentError
from archc.ops.spec import Inferred, Op, ShapeError
from archc.semantics import application
from archc.semantics import provenance as pv
from archc.semantics.context import Body
from archc.semantics.ir import Choice, Module, Node, Ref
from archc.semantics.replay import NotPlain, plain
from archc.semantics.values import Layer, Tensor

Sizes: TypeAlias = tuple[pv.Expr | None, ...] | None  # a tensor's sizes' provenance (Tensor.dims)

# What evaluating a provenance with other values may raise: a division by zero, a square
# root of a negative number, an index out of range
_FAILURES = (ArithmeticError, TypeError, ValueError, IndexError, KeyError)


@dataclass(frozen=True)
class Terms:
    """What a recorded instance was elaborated with, in its block's terms: what a copy for
    other values evaluates again."""

    ports: tuple[str, ...]  # the block's names for its inputs
    tests: tuple[tuple[pv.Expr, bool], ...]  # each test that chose structure, and its outcome
    locals: tuple[pv.Expr, ...]  # the provenance of each plain value the body bound
    # the last copy made of each recorded node, by its id, with what it was made from
    copies: dict[int, Copy] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Copy:
    """A recorded node worked out again: what its shape rule was given (its arguments' values,
    and its inputs' types and sizes' provenance), and the node it gave. A later copy whose
    node is given the same is the same node: the rule is a function of these alone (a dense
    block's layers after the first convolution meet the same tensors in every layer)."""

    given: tuple[Any, ...]
    inputs: tuple[tuple[Any, Sizes], ...]
    node: Node

    def made_from(self, given: tuple[Any, ...], inputs: tuple[Any, ...]) -> bool:
        return _identical(self.given, given) and all(
            type_ == other_type and _same_sizes(dims, other_dims)
            for (type_, dims), (other_type, other_dims) in zip(self.inputs, inputs, strict=True)
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


def rerun(
    terms: Terms,
    recorded_inputs: tuple[Ref, ...],
    nodes: list[Node],
    choices: tuple[Choice, ...],
    values: list[Tensor],
    params: dict[str, Any],
    inputs: list[Tensor],
    strict: bool,
) -> dict[int, Node] | None:
    """The recorded ``nodes`` and the nodes its ``choices`` set aside, each with the
    arguments, types, counts and size provenance that ``params`` and ``inputs`` give, by
    id; None where the recording does not hold for them. ``values`` are the tensors the
    instance gave back, which must carry their nodes' sizes; ``strict`` is the elaborator's
    mode, in which more findings are reported."""
    sizes = _sizes(terms.ports, inputs)
    try:
        if any(pv.evaluate(test, params, sizes) is not held for test, held in terms.tests):
            return None
        for origin in terms.locals:
            pv.evaluate(origin, params, sizes)
    except _FAILURES:
        return None
    seen = {
        ref: Tensor(ref, given.type, given.span, tuple(pv.Size(port, a) for a in _axes(given)))
        for ref, given, port in zip(recorded_inputs, inputs, terms.ports, strict=True)
    }
    made = {node.id: node for node in nodes}
    if any(t.ref.node in made and t.dims != made[t.ref.node].dims[t.ref.port] for t in values):
        return None
    set_aside = [node for c in choices if c.other is not None for node in c.other.nodes]
    fresh: dict[int, Node] = {}
    given = _Values(params, sizes)
    for node in (*nodes, *set_aside):
        again = _node(node, given, [seen[ref] for ref in node.inputs], strict, terms)
        if again is None:
            return None
        fresh[node.id] = again
        for port, (type_, dims) in enumerate(zip(again.outputs, again.dims, strict=True)):
            ref = Ref(node.id, port)
            seen[ref] = Tensor(ref, type_, node.span, dims)
    return fresh


def _axes(tensor: Tensor) -> range:
    return range(tensor.type.rank)  # type: ignore[union-attr]


@dataclass
class _Values:
    """The values a copy is worked out for, and each recorded provenance evaluated with them
    so far, by identity: a layer that keeps its input's sizes passes on the very expressions
    the layer before it gave, and a recording outlives its copies."""

    params: dict[str, Any]
    sizes: dict[tuple[str, int], Any]
    evaluated: dict[int, Any] = field(default_factory=dict)

    def of(self, origin: pv.Expr) -> Any:
        if type(origin) is pv.Lit:
            return origin.value
        key = id(origin)
        if key not in self.evaluated:
            self.evaluated[key] = pv.evaluate(origin, self.params, self.sizes)
        return self.evaluated[key]


def _node(
    node: Node,
    values: _Values,
    tensors: list[Tensor],
    strict: bool,
    terms: Terms,
) -> Node | None:
    """``node`` with the values ``params`` and ``sizes`` give, or None where elaborating it
    would report something."""
    op = lookup(node.op)
    if node.kind != "op" or op is None or op.constant_inputs:
        return None
    given: dict[str, Any] = {}
    for name in node.args.given:
        origin = node.arg_origins.get(name)
        if origin is None:
            return None
        try:
            given[name] = values.of(origin)
        except _FAILURES:
            return None
    arguments = tuple(given.values())
    inputs = tuple((t.type, t.dims) for t in tensors)
    last = terms.copies.get(node.id)
    if last is not None and last.made_from(arguments, inputs):
        return last.node
    again = _again(node, op, given, tensors, strict, values)
    if again is not None:
        terms.copies[node.id] = Copy(arguments, inputs, again)
    return again


def _again(
    node: Node,
    op: Op,
    given: dict[str, Any],
    tensors: list[Tensor],
    strict: bool,
    values: _Values,
) -> Node | None:
    """:func:`_node` for arguments ``given`` that no copy of ``node`` was made from."""
    args = node.args
    if not all(_identical(getattr(args, name), value) for name, value in given.items()):
        if any(
            application.oversized(v)
            for value in given.values()
            for v in (value if isinstance(value, tuple) else (value,))
        ):
            return None
        try:
            args = op.Args(**given)
        except ArgumentError:
            return None
    try:
        inferred = application.infer(op, args, [t.type for t in tensors])
    except ShapeError:
        return None
    if _recorded_holds(node, inferred, values):
        dims, resolved_origins = node.dims, node.resolved_origins
    else:
        try:
            inferred, dims, resolved_origins = application.run_rule(
                op, args, node.arg_origins, tensors
            )
        except ShapeError:
            return None
    if (
        any(strict or finding.severity != "strict" for finding in inferred.findings)
        or len(inferred.outputs) != len(node.outputs)
        or application.parameter_dtype(op, inferred, tensors) is not None
        or not application.sizes_allowed(inferred.outputs)
    ):
        return None
    return Node(  # every field spelt out, not dataclasses.replace: once per node copied
        id=node.id,
        kind=node.kind,
        op=node.op,
        args=args,
        inputs=node.inputs,
        outputs=inferred.outputs,
        path=node.path,
        scope=node.scope,
        span=node.span,
        call_sites=node.call_sites,
        params=inferred.params,
        buffers=inferred.buffers,
        macs=inferred.macs,
        resolved=inferred.resolved,
        named=node.named,
        value_names=node.value_names,
        arg_origins=node.arg_origins,
        resolved_origins=resolved_origins,
        dims=dims,
        equal=application.equal_sizes(tensors) if op.elementwise else (),
        via=node.via,
        given=node.given,
        given_origins=node.given_origins,
        passed=node.passed,
    )


def _recorded_holds(node: Node, inferred: Inferred, values: _Values) -> bool:
    """Whether the recorded provenance of ``node``'s output sizes and resolved values gives
    what its rule, run on plain values, inferred for these ``values``:
    then that provenance is what the rule run on traced values would record, and the copy
    keeps it (tracing is most of a rule's time). Where it does not hold, the rule's branches
    went another way, and the caller traces the rule again."""
    if len(inferred.outputs) != len(node.dims):
        return False
    try:
        for tensor, origins in zip(inferred.outputs, node.dims, strict=True):
            if len(tensor.shape) != len(origins):
                return False
            for size, origin in zip(tensor.shape, origins, strict=True):
                if origin is None:
                    if pv.origin_of(size) is not None:
                        return False
                elif not _identical(values.of(origin), size):
                    return False
        resolved = node.resolved_origins
        for name, value in inferred.resolved.items():
            origin = resolved.get(name)
            if origin is None:
                if pv.origin_of(value) is not None:
                    return False
            elif not _identical(values.of(origin), value):
                return False
        return resolved.keys() <= inferred.resolved.keys()
    except _FAILURES:
        return False


def _identical(a: Any, b: Any) -> bool:
    """Equal and of the same types, item by item: 4 is not 4.0 to a validated argument, nor
    is -0.0 0.0."""
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_identical(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is float:
        return type(b) is float and repr(a) == repr(b)
    return type(a) is type(b) and a == b
