"""Applying layers to tensors: binding arguments, inferring shapes, adding IR nodes.

An op application checks its arguments against the op's schema, runs the op's shape rule and
adds one node. A block application binds the block's parameters and elaborates its body in a
new scope. Sequences, repeats and combinators apply their parts in order.
"""

from __future__ import annotations

import operator
from dataclasses import replace
from typing import Any

from archc import dims
from archc.dims import TensorType
from archc.errors import Label, Span
from archc.ops import dtypes, lookup
from archc.ops.schema import ArgumentError
from archc.ops.spec import Finding, Inferred, Op, ShapeError
from archc.semantics import flags, indexed_sizes, patterns
from archc.semantics import provenance as pv
from archc.semantics.arguments import refusal
from archc.semantics.context import Body, Place, base_name
from archc.semantics.expressions import ElabError, Expressions
from archc.semantics.ir import Counted, Looped, Module, Network, Node, Ref
from archc.semantics.op_facts import OpFacts, facts
from archc.semantics.program import did_you_mean
from archc.semantics.values import (
    UNKNOWN,
    BlockLayer,
    BoundArg,
    BranchesLayer,
    CombinatorLayer,
    Layer,
    MixtureLayer,
    OpLayer,
    RepeatLayer,
    ScanLayer,
    SequenceLayer,
    SharedLayer,
    Tensor,
    describe,
)
from archc.syntax import ast
from archc.syntax.fmt_expr import name_text

# Graphs larger than these are refused rather than built: layers, and connections (the tensor
# inputs of all layers, which a dense block of n layers makes about n**2 / 2 of).
MAX_NODES = 250_000
MAX_CONNECTIONS = 1_000_000


class TooLarge(Exception):
    """The network grew past MAX_NODES or MAX_CONNECTIONS; elaboration of it stops. The
    message says which, as in "more than 250,000 layers"; ``span`` is the repeat, dense block
    or block call that multiplies, where one does, and ``with_`` its product."""

    def __init__(self, message: str, span: Span | None = None, with_: str | None = None) -> None:
        super().__init__(message)
        self.span = span
        self.with_ = with_


class Application(Expressions):
    """Layer application; mixed into the Elaborator."""

    network: Network | None  # the network being elaborated

    def instantiate(self, layer: BlockLayer, inputs: list[Tensor], place: Place, path: str) -> Any:
        raise NotImplementedError

    def add_node(self, node: Node) -> Node:
        raise NotImplementedError

    def new_id(self) -> int:
        raise NotImplementedError

    def size(self) -> tuple[int, int]:
        """The layers and connections of the network so far."""
        raise NotImplementedError

    def note_finding(self, finding: Finding, span: Span, place: Place) -> None:
        raise NotImplementedError

    def report_error(self, error: ElabError, place: Place) -> None:
        raise NotImplementedError

    def module(self, module: Module) -> None:
        raise NotImplementedError

    def module_at(self, path: str) -> Module | None:
        """The module of the tree at ``path``, if any."""
        raise NotImplementedError

    def apply_shared(
        self, layer: SharedLayer, inputs: list[Tensor], body: Body, place: Place, span: Span
    ) -> Any:
        raise NotImplementedError

    def node_of(self, node_id: int) -> Node:
        raise NotImplementedError

    def apply_scan(self, layer: ScanLayer, inputs: list[Tensor], body: Body, place: Place) -> Any:
        raise NotImplementedError

    def apply_mixture(
        self, layer: MixtureLayer, inputs: list[Tensor], body: Body, place: Place
    ) -> Any:
        raise NotImplementedError

    def apply(
        self, layer: Layer, inputs: list[Tensor], body: Body, place: Place, span: Span
    ) -> Any:
        if isinstance(layer, OpLayer):
            return self._apply_op(layer, inputs, place)
        if isinstance(layer, BlockLayer):
            inputs = inputs + _leading(layer.args)
            path, fresh = place.name_child(layer.name, base_name(layer.block.name))
            self._check_fresh(layer, fresh, place)
            return self.instantiate(layer, inputs, place, path)
        if isinstance(layer, SequenceLayer):
            return self._apply_all(layer, list(layer.layers), inputs, body, place)
        if isinstance(layer, RepeatLayer):
            assert layer.layer is not None
            return self._apply_all(layer, layer.copies(), inputs, body, place)
        if isinstance(layer, CombinatorLayer):
            return self._apply_combinator(layer, inputs, body, place)
        if isinstance(layer, BranchesLayer):
            return self._apply_branches(layer, inputs, body, place)
        if isinstance(layer, SharedLayer):
            return self.apply_shared(layer, inputs, body, place, span)
        if isinstance(layer, ScanLayer):
            return self.apply_scan(layer, inputs, body, place)
        if isinstance(layer, MixtureLayer):
            return self.apply_mixture(layer, inputs, body, place)
        raise self.error("A229", f"cannot apply {describe(layer)}", span, label="not a layer")

    def _apply_all(
        self, layer: Layer, parts: list[Layer], inputs: list[Tensor], body: Body, place: Place
    ) -> Any:
        inner = place
        container = None
        if layer.name is not None or (isinstance(layer, SequenceLayer) and layer.grouped):
            path, fresh = place.name_child(layer.name, "seq")
            self._check_fresh(layer, fresh, place)
            repeat = layer.count if isinstance(layer, RepeatLayer) else None
            inner = place.child_sequence(path, repeat is not None)
            container = Module(
                path,
                "sequence",
                path.rpartition(".")[2],
                {},
                layer.span,
                place.call_sites,
                repeat,
                repeat_origin=layer.count_origin if isinstance(layer, RepeatLayer) else None,
            )
            self.module(container)
        # what a layer gives back: a tensor, or a tuple of them (a repeat of 0 gives its input)
        value: Any = inputs[0] if len(inputs) == 1 else tuple(inputs)
        # an unnamed repeat among a named chain's children: which of them its copies are
        counted = isinstance(layer, RepeatLayer) and container is None and place.indexed
        start = place.next_index[0]
        # one in a block's own scope: the names each copy made (copies that read their index
        # each have their own layer, which the emitter writes from the expression they share)
        looped = (
            isinstance(layer, RepeatLayer)
            and container is None
            and not place.indexed
            and layer.count_origin is not None
            and not isinstance(layer.count_origin, pv.Lit)
        )
        copies: list[tuple[str, ...]] = []
        indexed: list[indexed_sizes.Made] = []  # the copies of a repeat that read their index
        for index, part in enumerate(parts):
            if value is UNKNOWN:
                return UNKNOWN
            tensors = _as_list(value)
            if isinstance(layer, RepeatLayer) and layer.pattern is not None:
                self._check_copy_name(layer, index, inner)
            before = self.size()[0]
            value = self.apply(part, tensors, body, inner, part.span)
            if looped:
                copies.append(self._names_made(place.path, before))
            if isinstance(layer, RepeatLayer) and value is not UNKNOWN:
                made = self.size()[0] - before
                self._project(tensors, _as_list(value), made, len(parts) - index - 1, layer)
                if layer.each:
                    after = self.size()[0]
                    indexed.append(indexed_sizes.Made(tensors, before, after, _as_list(value)))
        if indexed and value is not UNKNOWN:
            assert isinstance(layer, RepeatLayer)
            value = self._shared_sizes(place, indexed, layer.count_origin, value)
        if looped and value is not UNKNOWN:
            assert isinstance(layer, RepeatLayer) and layer.count_origin is not None
            shared = isinstance(layer.layer, SharedLayer)
            body.looped.append(Looped(layer.count_origin, tuple(copies), layer.span, shared))
        holder = self.module_at(place.path) if counted else None
        if holder is not None:
            assert isinstance(layer, RepeatLayer)
            made = Counted(
                layer.count_origin, start, place.next_index[0] - start, layer.count, layer.span
            )
            holder.counted = (*holder.counted, made)
        if container is not None and value is not UNKNOWN:
            container.inputs = tuple(t.ref for t in inputs)
            container.via = read_via(inputs)
            container.outputs = tuple(t.ref for t in _as_list(value))
        return value

    def _shared_sizes(
        self, place: Place, copies: list[indexed_sizes.Made], count: pv.Expr | None, value: Any
    ) -> Any:
        """The repeat's value, its sizes in terms of the count where they follow the index
        of copies that read it (indexed_sizes.py)."""
        assert self.network is not None
        body = self.network.instance_of_path(place.path).path
        outputs = indexed_sizes.share(self.network, body, copies, count)
        return outputs[0] if isinstance(value, Tensor) else tuple(outputs)

    def _names_made(self, path: str, before: int) -> tuple[str, ...]:
        """The names, in the scope at ``path``, of the layers made since node ``before``."""
        prefix = f"{path}." if path else ""
        names: dict[str, None] = {}
        for node_id in range(before + 1, self.size()[0] + 1):
            names[self.node_of(node_id).path[len(prefix) :].split(".", 1)[0]] = None
        return tuple(names)

    def _check_copy_name(self, repeat: RepeatLayer, index: int, place: Place) -> None:
        """A copy's name from a naming pattern that a sibling has taken is refused here, with
        the pattern and the copy, before the copy is built."""
        name, pattern = repeat.copy_names[index], repeat.pattern
        assert pattern is not None
        if place.is_taken(name.name):
            where = f"another layer of `{place.path}`" if place.path else "another layer here"
            raise ElabError(patterns.clash(pattern, name, index, where))

    def _project(
        self,
        inputs: list[Tensor],
        outputs: list[Tensor],
        made: int,
        later: int,
        repeat: RepeatLayer,
    ) -> None:
        """Refuse a repeat now if it will outgrow MAX_NODES. When an instance gives back the
        types it received, every later one receives those types too and, elaboration being
        deterministic, makes as many layers, so the total is known without building it."""
        total = self.size()[0] + later * made
        if later and total > MAX_NODES and _same_types(inputs, outputs):
            product = repeat.count * made
            others = f", and {total - product:,} outside the repeat" if total > product else ""
            raise TooLarge(
                f"with this repeat the network would have {total:,} layers, past the limit of "
                f"{MAX_NODES:,}",
                repeat.span,
                f"{repeat.count:,} copies * {made:,} layers each = {product:,}{others}",
            )

    def _apply_combinator(
        self, layer: CombinatorLayer, inputs: list[Tensor], body: Body, place: Place
    ) -> Any:
        assert layer.body is not None
        x = self.one_input(layer.kind, inputs, layer.span)
        inner = place
        container = None
        if layer.name is not None:
            path, fresh = place.name_child(layer.name, layer.kind)
            self._check_fresh(layer, fresh, place)
            inner = place.child_sequence(path)
            container = Module(
                path,
                "sequence",
                layer.name.name,
                {},
                layer.span,
                place.call_sites,
                combinator="dense" if layer.kind == "dense" else "residual",
            )
            self.module(container)
        op = lookup("add" if layer.kind == "residual" else "concat")
        assert op is not None
        merge = OpLayer(layer.span, None, op)
        if layer.kind == "residual":
            y = self.apply(layer.body, [x], body, inner, layer.body.span)
            if y is UNKNOWN:
                return UNKNOWN
            return self._apply_op(merge, [x, *_as_list(y)], place, join=True)
        # dense: each part sees the concatenation of the input and every earlier output
        parts = _parts(layer.body)
        # the joins alone take 2 + 3 + ... + (n + 1) inputs: refuse at once what would not fit
        joins = (len(parts) + 1) * (len(parts) + 2) // 2 - 1
        if self.size()[1] + joins > MAX_CONNECTIONS:
            raise TooLarge(
                f"this dense block's joins would make {joins:,} connections between layers, "
                f"past the limit of {MAX_CONNECTIONS:,} per network",
                layer.span,
                f"{len(parts):,} parts: 2 + 3 + ... + {len(parts) + 1:,} = {joins:,} inputs",
            )
        features = [x]
        for part in parts:
            joined = (
                features[0]
                if len(features) == 1
                else self._apply_op(merge, features, inner, join=True)
            )
            if joined is UNKNOWN:
                return UNKNOWN
            y = self.apply(part, [joined], body, inner, part.span)
            if y is UNKNOWN:
                return UNKNOWN
            features.append(y)
        out = self._apply_op(merge, features, inner, join=True)
        if container is not None and out is not UNKNOWN:
            container.inputs = (x.ref,)
            container.outputs = (out.ref,)
        return out

    def _apply_branches(
        self, layer: BranchesLayer, inputs: list[Tensor], body: Body, place: Place
    ) -> Any:
        """Each branch applied to the input, one child each (a chain, a repeat or a combinator
        an nn.Sequential, as `[a -> b]`): named, an nn.ModuleList whose outputs are a tuple."""
        inner = place
        container = None
        if layer.name is not None:
            path, fresh = place.name_child(layer.name, "branches")
            self._check_fresh(layer, fresh, place)
            inner = place.child_sequence(path)
            container = Module(
                path, "sequence", layer.name.name, {}, layer.span, place.call_sites, parallel=True
            )
            self.module(container)
        outputs: list[Tensor] = []
        for branch in layer.layers:
            if isinstance(branch, SequenceLayer) and branch.name is None:
                branch = replace(branch, grouped=True)
            elif not isinstance(branch, OpLayer | BlockLayer) and branch.name is None:
                branch = SequenceLayer(branch.span, None, (branch,), grouped=True)
            y = self.apply(branch, inputs, body, inner, branch.span)
            if y is UNKNOWN:
                return UNKNOWN
            if not isinstance(y, Tensor):
                raise self.error(
                    "A249",
                    f"a branch gives one tensor, but this one gives {len(_as_list(y))}",
                    branch.span,
                    label=f"{len(_as_list(y))} tensors",
                    notes=("`branches(a, b)` gives a tuple: what `a` and `b` make of one tensor",),
                    help="select the tensor the branch should give, or split it into branches",
                )
            outputs.append(y)
        if container is not None:
            container.inputs = tuple(t.ref for t in inputs)
            container.outputs = tuple(t.ref for t in outputs)
        return tuple(outputs)

    # --- ops -------------------------------------------------------------------------------------

    def _apply_op(
        self, layer: OpLayer, inputs: list[Tensor], place: Place, join: bool = False
    ) -> Any:
        """Adds the op's node; ``join`` places it as a combinator's join (Place.name_join)."""
        op = layer.op
        known = facts(op)
        tensors, hyper = self._split_inputs(op, known, inputs, layer)
        for tensor in tensors:
            if tensor.type is None:
                return UNKNOWN
        args = self._validate(op, known, hyper, layer)
        if op.constant_inputs:
            self._check_constant(op, tensors, layer, place)
        if join:
            path = place.name_join(known.base)
        else:
            base = known.base if layer.given is None else base_name(layer.given)
            path, fresh = place.name_child(layer.name, base)
            if layer.name is not None:
                self._check_fresh(layer, fresh, place)
        given_origins: dict[str, pv.Expr] = {}
        if layer.given is not None:  # the arguments the caller bound: its provenance
            outer = _arg_origins(args, hyper, known)
            given_origins = {k: o for k, o in outer.items() if k in hyper}
            hyper = {k: replace(a, origin=None) for k, a in hyper.items()}
        arg_origins = _arg_origins(args, hyper, known)
        try:
            inferred, dims, resolved_origins = run_rule(op, args, arg_origins, tensors)
        except ShapeError as exc:
            self.note_finding(
                exc.finding, _arg_span(layer, exc.finding.arg), place, inputs=tensors
            )
            return UNKNOWN
        flagged: frozenset[str] = frozenset()
        if any(
            type(getattr(args, name, None)) is bool and not isinstance(origin, pv.Lit)
            for name, origin in arg_origins.items()
        ):
            dims, resolved_origins, flagged = flags.both_ways(
                args,
                arg_origins,
                inferred,
                dims,
                resolved_origins,
                lambda other: run_rule(op, other, arg_origins, tensors),
            )
        mixed = parameter_dtype(op, inferred, tensors)
        if mixed is not None:
            self.note_finding(mixed, layer.span, place, inputs=tensors)
            return UNKNOWN
        if inferred.findings:
            for finding in _distinct(inferred.findings):
                self.note_finding(finding, _arg_span(layer, finding.arg), place, inputs=tensors)
        if not sizes_allowed(inferred.outputs):
            self._refuse_sizes(op, inferred.outputs, layer.span)
        node = self.add_node(
            Node(
                id=self.new_id(),
                kind="op",
                op=op.name,
                args=args,
                inputs=tuple([t.ref for t in tensors]),
                via=read_via(tensors),
                outputs=inferred.outputs,
                path=path,
                scope=place.path,
                span=layer.span,
                call_sites=place.call_sites,
                params=inferred.params,
                buffers=inferred.buffers,
                macs=inferred.macs,
                resolved=inferred.resolved,
                named=layer.name is not None,
                arg_origins=arg_origins,
                resolved_origins=resolved_origins,
                dims=dims,
                flags=flagged,
                equal=equal_sizes(tensors) if op.elementwise else (),
                given=layer.given,
                given_origins=given_origins,
                passed=layer.passed,
                index_origins=_index_origins(hyper, arg_origins),
            )
        )
        ref, span = node.id, layer.span
        outputs = node.outputs
        if len(outputs) == 1:
            return Tensor(Ref(ref, 0), outputs[0], span, dims[0])
        return tuple([Tensor(Ref(ref, i), t, span, dims[i]) for i, t in enumerate(outputs)])

    def _check_constant(self, op: Op, tensors: list[Tensor], layer: OpLayer, place: Place) -> None:
        """Refuses an input computed from an input of the network, or outside the block:
        ``op`` holds a value its module computes once, when it is built."""
        for tensor in tensors:
            sources = self._sources(tensor.ref.node)
            given = next((n for n in sources if n.kind == "input"), None)
            if given is not None:
                raise self.error(
                    "A258",
                    f"`{op.name}` holds a build-time constant, but its input is computed from "
                    f"the network's input `{given.path}`",
                    layer.span,
                    rule="a buffer's value is computed from sizes alone (arange and the ops on "
                    "it), when the module is built",
                    with_=f"the input {tensor.type} depends on `{given.path}`",
                    label="not a build-time constant",
                    help="build the value from `arange(...)`; a tensor learned for every "
                    "sample is `parameter(...)`",
                )
            outside = next((n for n in sources if n.scope != place.path), None)
            if outside is not None:
                raise self.error(
                    "A259",
                    f"`{op.name}` holds a value computed outside its block, at `{outside.path}`",
                    layer.span,
                    rule="a buffer's value is computed in the block that holds it, from its "
                    "parameters, when the module is built",
                    label="computed in another block",
                    help="compute the value inside this block (pass the sizes it needs as "
                    "parameters)",
                )

    def _sources(self, node_id: int) -> list[Node]:
        """The node and every node its value is computed from."""
        found: dict[int, Node] = {}
        pending = [node_id]
        while pending:
            node = self.node_of(pending.pop())
            if node.id not in found:
                found[node.id] = node
                pending += [ref.node for ref in node.inputs]
        return [found[k] for k in sorted(found)]

    def _split_inputs(
        self, op: Op, known: OpFacts, inputs: list[Tensor], layer: OpLayer
    ) -> tuple[list[Tensor], dict[str, BoundArg]]:
        """Separate tensor inputs from hyperparameters, binding positionals in schema order."""
        args = layer.args
        tensors = list(inputs)
        leading = _leading_count(args)
        for arg in args[:leading]:
            value = arg.value
            if isinstance(value, tuple):
                tensors += value
            else:
                tensors.append(value)
        positional = [a for a in args[leading:] if a.name is None]
        hyper: dict[str, BoundArg] = {}
        slots = op.positional
        if op.varargs and slots and len(positional) > len(slots):
            # `reshape(16, -1)`: the surplus joins the last slot as one tuple
            tail = positional[len(slots) - 1 :]
            span = tail[0].span.to(tail[-1].span)
            written = ast.TupleExpr(tuple(a.expr for a in tail if a.expr is not None), span)
            origins = [a.origin for a in tail]
            origin = None if None in origins else pv.apply("tuple", *origins)  # type: ignore[arg-type]
            packed = BoundArg(None, tuple(a.value for a in tail), span, None, written, origin)
            positional = [*positional[: len(slots) - 1], packed]
        if len(positional) > len(slots):
            extra = positional[len(slots)]
            raise self.error(
                "A207",
                f"`{called(op)}` takes at most {len(slots)} positional arguments",
                extra.span,
                label="one too many",
                help=f"the positional arguments are {', '.join(slots) or 'none'}",
            )
        # the name each field was first given by (a slot binds its field under its own name)
        bound: dict[str, str] = {}
        for slot, arg in zip(slots, positional, strict=False):
            hyper[slot] = arg
            bound.setdefault(known.field_of.get(slot, slot), slot)
        extra_inputs: dict[int, Tensor] = {}
        for arg in args:
            name = arg.name
            if name is None:
                continue
            index = known.input_index.get(name)
            if index is not None and isinstance(arg.value, Tensor):
                extra_inputs[index] = arg.value
                continue
            field = known.field_of.get(name, name)
            again = bound.get(field)
            if again is not None:
                first = hyper[again]
                # `axis` after `dim`: two names of one argument
                other = "" if again == name else f" (`{again}` is another name for it)"
                raise self.error(
                    "A209",
                    f"`{name}` is given twice{other}",
                    arg.name_span or arg.span,
                    label="given again here",
                    secondary=(
                        Label(
                            first.span,
                            "given by position here" if first.name is None else "first given here",
                        ),
                    ),
                    help=f"give `{name}` once, by position or by name",
                )
            hyper[name] = arg
            bound[field] = name
        for index in sorted(extra_inputs):
            if index != len(tensors) and not op.inputs_by_shape:
                missing = op.inputs[len(tensors)]
                raise self.error(
                    "A311",
                    f"`{called(op)}` input `{op.inputs[index]}` is given "
                    f"but an earlier input is missing",
                    layer.span,
                    label=f"`{missing}` missing",
                    help=f"its inputs are {listed(op.inputs)}, in this order",
                )
            tensors.append(extra_inputs[index])
        self._check_input_count(op, tensors, layer)
        return tensors, hyper

    def one_input(self, what: str, inputs: list[Tensor], span: Span) -> Tensor:
        """The one tensor a combinator or a mixture of experts takes; A311 for several."""
        if len(inputs) != 1:
            raise self.error(
                "A311",
                f"`{what}` takes one tensor, got {len(inputs)}",
                span,
                label=f"{len(inputs)} tensors given",
                help=f"join the tensors first, e.g. with `concat`, or apply `{what}` to each",
            )
        return inputs[0]

    def _check_input_count(self, op: Op, tensors: list[Tensor], layer: OpLayer) -> None:
        most = None if op.variadic else len(op.inputs)
        if len(tensors) < op.min_inputs or (most is not None and len(tensors) > most):
            expected = (
                f"at least {op.min_inputs}"
                if most is None
                else (str(most) if most == op.min_inputs else f"{op.min_inputs} to {most}")
            )
            raise self.error(
                "A311",
                f"`{called(op)}` takes {expected} tensor {_inputs(most or op.min_inputs)}, "
                f"got {len(tensors)}",
                layer.span,
                label=f"{len(tensors)} {_inputs(len(tensors))} given",
                help=f"its inputs are {listed(op.inputs)}",
            )

    def _validate(self, op: Op, known: OpFacts, hyper: dict[str, BoundArg], layer: OpLayer) -> Any:
        field_of = known.field_of
        values: dict[str, Any] = {}
        for name, arg in hyper.items():
            value = arg.value
            if name not in field_of:
                fields = [*op.Args.fields, *op.inputs[1:]]
                raise self.error(
                    "A208",
                    f"`{called(op)}` has no argument `{name}`",
                    arg.name_span or arg.span,
                    label="unknown argument",
                    help=did_you_mean(name, fields) or f"its arguments are {', '.join(fields)}",
                )
            kind = type(value)
            if kind is not int and kind is not float and kind is not str:
                self._check_value(op, name, arg)
            elif kind is int and (value > dims.MAX_SIZE or value < -dims.MAX_SIZE):
                raise self._oversized(op, name, arg)
            values[name] = value
        try:
            return op.Args(**values)
        except ArgumentError as exc:
            raise self._schema_error(op, exc, hyper, layer) from None

    def _check_value(self, op: Op, name: str, arg: BoundArg) -> None:
        """Refuse an argument that is not a value, or holds a size above dims.MAX_SIZE."""
        if isinstance(arg.value, Tensor | Layer):
            raise self.error(
                "A210",
                f"`{name}` of `{called(op)}` must be a value, got {describe(arg.value)}",
                arg.span,
                label="a tensor, not a value"
                if isinstance(arg.value, Tensor)
                else "a layer, not a value",
                help=_value_help(arg),
            )
        values = arg.value if isinstance(arg.value, tuple) else (arg.value,)
        if any(oversized(v) for v in values):
            raise self._oversized(op, name, arg)

    def _oversized(self, op: Op, name: str, arg: BoundArg) -> ElabError:
        return self.error(
            "A312",
            f"`{name}` of `{called(op)}` is larger than 2**40, the limit for any size",
            arg.span,
            label="too large",
            help="no tensor axis or layer size comes near this",
        )

    def _schema_error(
        self, op: Op, exc: ArgumentError, hyper: dict[str, BoundArg], layer: OpLayer
    ) -> ElabError:
        first = exc.problems[0]
        field = first.name or ""
        if first.kind == "missing":
            return self.error(
                "A211",
                f"`{called(op)}` needs its `{field}` argument",
                layer.span,
                label=f"`{field}` missing",
                help=f"e.g. {called(op)}({_signature(op)})",
            )
        if not field:
            # a rule over several arguments (min below max) names none of them
            return self.error(
                "A309",
                f"`{called(op)}` cannot take these arguments together: {first.reason}",
                layer.span,
                label="arguments that do not fit together",
                with_=", ".join(f"{name}={arg.value!r}" for name, arg in hyper.items()) or None,
                help=f"`{called(op)}` takes {', '.join(op.Args.fields)}",
            )
        arg = hyper.get(field)
        problems = [p for p in exc.problems if p.name == field]
        value = arg.value if arg else None
        spec = op.Args.fields[facts(op).field_of.get(field, field)]
        refused = refusal(called(op), field, value, problems, spec)
        return self.error(
            "A210",
            refused.message,
            arg.span if arg else layer.span,
            label=refused.label,
            rule=refused.rule,
            with_=refused.with_,
            help=refused.help,
        )

    def _refuse_sizes(self, op: Op, outputs: tuple[TensorType, ...], span: Span) -> None:
        """Refuse outputs with a size above dims.MAX_SIZE, or a symbolic size whose floor
        divisions nest deeper than dims.MAX_FLOOR_DEPTH (each one more makes sympy slower):
        the outputs of which sizes_allowed said no."""
        for size in (size for tensor in outputs for size in tensor.shape):
            if dims.too_large(size):
                raise self.error(
                    "A312",
                    f"`{called(op)}` would give an axis of {_shown(size)}, larger than 2**40",
                    span,
                    label="too large",
                    help="no tensor axis comes near this; check the sizes before this layer",
                )
            depth = dims.floor_depth(size)
            if depth > dims.MAX_FLOOR_DEPTH:
                raise self.error(
                    "A313",
                    f"`{called(op)}` would give a symbolic size with {depth} nested floor "
                    f"divisions; the limit is {dims.MAX_FLOOR_DEPTH}",
                    span,
                    label="too deeply nested",
                    help="declare the input with numbers, or downsample fewer times",
                )

    def _check_fresh(self, layer: Layer, fresh: bool, place: Place) -> None:
        if place.indexed and layer.name is not None and layer.name.name.isdigit():
            self._check_position(layer.name, place)
        if not fresh and layer.name is not None:
            name = layer.name
            first = place.first_use(name.name)
            raise self.error(
                "A212",
                f"the name `{name.name}` is already used in this scope",
                name.span,
                label="used again",
                secondary=(Label(first, "first used here"),)
                if first is not None and first != name.span
                else (),
                help=f"each copy would be `{place.path}.{name.name}`; without "
                f"`as {name_text(name)}` the copies are numbered `{place.path}.0`, "
                f"`{place.path}.1`, ..."
                if place.repeat
                else "module names must be unique within a block, network or named sequence",
            )

    def _check_position(self, name: ast.Ident, place: Place) -> None:
        """In a named chain the children are numbered by position, so a numbered name
        elsewhere would take the number of another child."""
        position = place.next_index[0] - 1
        if name.name == str(position):
            return
        number = name.name.isascii() and name.name == str(int(name.name))
        raise self.error(
            "A247",
            f"`{name.name}` names the child at position {position} of `{place.path}`",
            name.span,
            label=f"this is child {position}",
            notes=(
                f"the children of `{place.path}` are numbered by position, so the child at "
                f"position {name.name} would be `{place.path}.{name.name}` too"
                if number
                else f"torch numbers children `0`, `1`, `2`, ..., never `{name.name}`",
            ),
            help=f'write `as "{position}"`, or leave the name out: the child is '
            f"`{place.path}.{position}` either way",
        )


def called(op: Op) -> str:
    """The name a spec calls ``op`` by: an op's part (`moe.route`) by its op's."""
    return op.name.partition(".")[0]


def run_rule(
    op: Op, args: Any, arg_origins: dict[str, pv.Expr], tensors: list[Tensor]
) -> tuple[Inferred, tuple[tuple[pv.Expr | None, ...], ...], dict[str, pv.Expr]]:
    """The op's shape rule on validated ``args`` and ``tensors``: what it inferred, as plain
    values, with the provenance of each output size and of each resolved value. Raises
    ShapeError where the rule fails."""
    inferred = infer(op, _traced_args(args, arg_origins), [_traced_type(t) for t in tensors])
    dims = tuple(pv.size_origins(t.shape) for t in inferred.outputs)
    resolved_origins = {k: o for k, v in inferred.resolved.items() if (o := pv.origin_of(v))}
    return _untraced(inferred), dims, resolved_origins


def infer(op: Op, args: Any, types: list[TensorType]) -> Inferred:
    """The op's shape rule: on traced values (:func:`run_rule`), or on plain ones where a copy
    of a recorded node keeps its provenance (rerun.py). Raises ShapeError where it fails."""
    return op.infer(args, types)


def sizes_allowed(outputs: tuple[TensorType, ...]) -> bool:
    """No size above dims.MAX_SIZE, and no floor divisions nested deeper than
    dims.MAX_FLOOR_DEPTH (Application._refuse_sizes says which)."""
    for tensor in outputs:
        for size in tensor.shape:
            if type(size) is int:  # nearly every size: nothing to nest
                if size > dims.MAX_SIZE:
                    return False
            elif dims.too_large(size) or dims.floor_depth(size) > dims.MAX_FLOOR_DEPTH:
                return False
    return True


def parameter_dtype(op: Op, inferred: Inferred, tensors: list[Tensor]) -> Finding | None:
    """A330 for a floating-point input of another type than a layer's parameters, which are
    built in float32: torch refuses to mix them (a whole network is converted with
    build(dtype=...) instead)."""
    if not inferred.params:
        return None
    for tensor in tensors:
        assert tensor.type is not None
        dtype = tensor.type.dtype
        if dtypes.is_float(dtype) and dtype != dtypes.DEFAULT_FLOAT:
            return Finding(
                dtypes.MIXED,
                f"{op.name} holds {dtypes.DEFAULT_FLOAT} parameters, but its input "
                f"{dims.show_shape(tensor.type.shape)} holds {dtype}",
                rule=f"a layer's input holds its parameters' element type, {dtypes.DEFAULT_FLOAT}",
                with_=f"input {dtype}, parameters {dtypes.DEFAULT_FLOAT}",
                help=f"declare the input without an element type ({dtypes.DEFAULT_FLOAT}); to "
                f"compute in {dtype}, build the whole network in it with build(dtype=...)",
                label=f"a {dtype} input",
            )
    return None


def _distinct(findings: tuple[Finding, ...]) -> list[Finding]:
    """One finding per problem: the same rule failing with the same numbers on H and on W is
    reported once."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for finding in findings:
        numbers = (finding.with_ or finding.message).split("=", 1)[-1]
        if (finding.code, numbers) not in seen:
            seen.add((finding.code, numbers))
            kept.append(finding)
    return kept


def oversized(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) > dims.MAX_SIZE


def _shown(size: Any) -> str:
    """A size for a message: a number in full while it is short, else its power of two (a
    symbolic size may hold constants too long for Python to print)."""
    if isinstance(size, int):
        return f"{size:,}" if size < 2**64 else f"about 2**{size.bit_length() - 1}"
    return "a symbolic size with a factor above 2**40"


def _same_types(inputs: list[Tensor], outputs: list[Tensor]) -> bool:
    return len(inputs) == len(outputs) and all(
        a.type is not None
        and b.type is not None
        and a.type.dtype == b.type.dtype
        and a.type.rank == b.type.rank
        and all(dims.same(x, y) is True for x, y in zip(a.type.shape, b.type.shape, strict=True))
        for a, b in zip(inputs, outputs, strict=True)
    )


def _value_help(arg: BoundArg) -> str:
    """How to get a value where a tensor or a layer was given."""
    if not isinstance(arg.value, Tensor):
        return "apply layers with `->`; an argument takes a number, a string or a tuple"
    written = arg.expr.id if isinstance(arg.expr, ast.Name) else "x"
    return f"pass sizes from shape queries, e.g. `{written}.shape[2]` or `{written}.channels`"


def _inputs(count: int) -> str:
    return "input" if count == 1 else "inputs"


def listed(names: tuple[str, ...] | list[str]) -> str:
    """`x`, `y` and `z`; "none" for no names."""
    quoted = [f"`{n}`" for n in names] or ["none"]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} and {quoted[-1]}"


def _leading_count(args: tuple[BoundArg, ...]) -> int:
    """How many of ``args`` are leading tensor arguments: unnamed, a tensor or a tuple of
    them."""
    count = 0
    for arg in args:
        value = arg.value
        if arg.name is not None or not (
            type(value) is Tensor
            or (isinstance(value, tuple) and value and all(type(v) is Tensor for v in value))
        ):
            break
        count += 1
    return count


def _leading(args: tuple[BoundArg, ...]) -> list[Tensor]:
    tensors: list[Tensor] = []
    for arg in args[: _leading_count(args)]:
        tensors += _as_list(arg.value)
    return tensors


def _as_list(value: Any) -> list[Tensor]:
    return list(value) if isinstance(value, tuple) else [value]


def _parts(layer: Layer) -> list[Layer]:
    if isinstance(layer, SequenceLayer):
        return list(layer.layers)
    if isinstance(layer, RepeatLayer) and layer.layer is not None:
        return layer.copies()
    return [layer]


def _arg_span(layer: OpLayer, name: str | None) -> Span:
    if name is not None:
        for arg in layer.args:
            if arg.name == name:
                return arg.span
        positional = [a for a in layer.args[_leading_count(layer.args) :] if a.name is None]
        if name in layer.op.positional:
            index = layer.op.positional.index(name)
            if index < len(positional):
                # the last slot of a varargs op holds every surplus argument: `reshape(16, 4, 4)`
                packed = layer.op.varargs and index == len(layer.op.positional) - 1
                last = positional[-1] if packed else positional[index]
                return positional[index].span.to(last.span)
    return layer.span


def _signature(op: Op) -> str:
    required = [n for n, f in op.Args.fields.items() if f.required]
    return ", ".join(required)


def _arg_origins(args: Any, hyper: dict[str, BoundArg], known: OpFacts) -> dict[str, pv.Expr]:
    """The provenance of every hyperparameter: as written, or the default's literal. Where
    the schema normalised a value (`shape=12` to `(12,)`), the provenance follows it; where it
    cannot tell how, the argument has none."""
    origins: dict[str, pv.Expr] = {}
    state, chosen, defaults = args.__dict__, args.given, known.default_origins
    for name in known.fields:
        given = hyper.get(name)
        if given is None:
            origin = pv.origin_of(state[name]) if name in chosen else defaults.get(name)
            if origin is not None:
                origins[name] = origin
            continue
        origin, value = given.origin, state[name]
        if origin is None:
            continue
        written = given.value
        if type(written) is int and type(value) is int and written == value:
            origins[name] = origin  # nearly every argument: a size the schema kept
            continue
        if not pv.same(written, value):
            wrapped = (
                isinstance(value, tuple) and len(value) == 1 and pv.same(given.value, value[0])
            )
            origin = pv.apply("tuple", origin) if wrapped else None
        if origin is not None:
            origins[name] = origin
    return origins


def _index_origins(hyper: dict[str, BoundArg], origins: dict[str, pv.Expr]) -> dict[str, pv.Expr]:
    """The hyperparameters of an op in a copy of a repeat that read the copy's index: their
    provenance shared by every copy (BoundArg.index_origin), where the argument keeps the
    provenance it was written with (a value the schema normalised has none shared)."""
    return {
        name: given.index_origin
        for name, given in hyper.items()
        if given.index_origin is not None
        and given.origin is not None
        and origins.get(name) is given.origin
    }


def _traced_args(args: Any, origins: dict[str, pv.Expr]) -> Any:
    """``args`` with its integers traced, so that the sizes a shape rule computes from them
    carry their provenance (a copy: validation is not run again)."""
    update = {
        name: pv.traced(getattr(args, name), origin)
        for name, origin in origins.items()
        if not isinstance(origin, pv.Lit)
    }
    return args.replace(**update) if update else args


def _traced_type(tensor: Tensor) -> TensorType:
    assert tensor.type is not None
    if tensor.dims is None:
        return tensor.type
    sizes = tensor.type.shape
    shape = pv.traced_sizes(sizes, tensor.dims)
    if all(map(operator.is_, shape, sizes)):
        return tensor.type  # nothing to trace: every size is a number its literal records
    return TensorType(shape, tensor.type.dtype)  # not dataclasses.replace: once per op input


def _untraced(inferred: Inferred) -> Inferred:
    """What a rule inferred from traced values, as plain values for the IR."""
    return Inferred(  # every field spelt out, not dataclasses.replace: once per op
        outputs=tuple([_untraced_type(t) for t in inferred.outputs]),
        params=_untraced_shapes(inferred.params),
        buffers=_untraced_shapes(inferred.buffers),
        macs=pv.untraced(inferred.macs),
        resolved=pv.untraced(inferred.resolved),
        findings=inferred.findings,
    )


def _untraced_type(tensor: TensorType) -> TensorType:
    shape = _plain_sizes(tensor.shape)
    return tensor if shape is tensor.shape else TensorType(shape, tensor.dtype)


def _untraced_shapes(shapes: dict[str, Any]) -> dict[str, Any]:
    """Parameter or buffer shapes by name, made plain."""
    return {
        name: _plain_sizes(shape) if type(shape) is tuple else pv.untraced(shape)
        for name, shape in shapes.items()
    }


def _plain_sizes(sizes: tuple[Any, ...]) -> tuple[Any, ...]:
    """A shape with its traced integers made plain (its other sizes are plain numbers and
    symbols, which pv.untraced leaves as they are); the shape itself where none is traced."""
    for size in sizes:
        if type(size) is pv.Traced:
            return tuple([int(s) if type(s) is pv.Traced else s for s in sizes])
    return sizes


def equal_sizes(tensors: list[Tensor]) -> tuple[tuple[pv.Expr, pv.Expr], ...]:
    """The sizes an elementwise op's inputs share: on each axis, each input's size that
    equals the first's and is not 1 (a broadcast), when their provenance differs."""
    found = []
    first = tensors[0]
    for other in tensors[1:]:
        for axis, (a, b) in enumerate(zip(first.type.shape, other.type.shape, strict=True)):  # type: ignore[union-attr]
            mine, theirs = first.dim(axis), other.dim(axis)
            if isinstance(a, int) and a == b != 1 and mine and theirs and mine != theirs:
                found.append((mine, theirs))
    return tuple(found)


def read_via(tensors: list[Tensor]) -> tuple[tuple[int, int], ...]:
    """Which of ``tensors`` are a conditional's value (Tensor.via), by position."""
    for tensor in tensors:
        if tensor.via is not None:
            return tuple((p, t.via) for p, t in enumerate(tensors) if t.via is not None)
    return ()
