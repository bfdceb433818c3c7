"""Elaboration: from a loaded spec to one graph IR per network, with every shape inferred.

Statements are elaborated in order. A statement that fails reports one diagnostic and binds
its names to UNKNOWN, so later statements that depend on it stay quiet while independent ones
are still checked: one run reports every independent mistake.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import replace
from typing import Any

from archc import collector, dims
from archc.dims import BATCH, BATCH_NAME, SizeRule, Sym, TensorType
from archc.errors import Diagnostic, Label, Span, UsageError
from archc.ops.spec import (
    BROADCAST,
    CHANNELS,
    CONCAT,
    DIVISIBILITY,
    DTYPE,
    INPUTS,
    INVALID,
    NON_POSITIVE,
    RANK,
    SYMBOLIC,
    UNEVEN,
    Finding,
)
from archc.semantics import application, inits, recount, replay, rerun, sizes, speculation
from archc.semantics import provenance as pv
from archc.semantics.application import Application, TooLarge, listed
from archc.semantics.context import Body, Names, Place
from archc.semantics.expressions import ElabError, FunctionBody
from archc.semantics.ir import Alternative, Module, Network, Node, Ref, Signature, Tie, join_path
from archc.semantics.origins import Origins
from archc.semantics.program import Definition, FileScope, did_you_mean
from archc.semantics.routing import Routing
from archc.semantics.scanning import Scanning
from archc.semantics.settings import Written, spec_value
from archc.semantics.sharing import FirstUse, Sharing
from archc.semantics.signatures import signature_of
from archc.semantics.unknown_names import explain_unknown
from archc.semantics.values import UNKNOWN, BlockLayer, BoundArg, OpLayer, Tensor, describe
from archc.semantics.workload import Workload
from archc.syntax import ast

DTYPES = ("float32", "float64", "float16", "bfloat16", "int64", "int32", "bool")
# Blocks nested (one instantiating another) deeper than this are refused.
MAX_BLOCK_DEPTH = 64
# The statement being elaborated (in the innermost block instance), left in place when an
# unexpected exception escapes, so that the command line can say where an internal error
# happened.
current_statement: ContextVar[Span | None] = ContextVar("current_statement", default=None)
# The caret label of a finding whose op gives none, by code.
FINDING_LABELS = {
    NON_POSITIVE: "the output would be empty",
    UNEVEN: "does not tile the input",
    CHANNELS: "the channel counts differ",
    RANK: "wrong number of dimensions",
    DIVISIBILITY: "does not divide evenly",
    CONCAT: "the other axes differ",
    BROADCAST: "the shapes do not broadcast",
    DTYPE: "wrong element type",
    INVALID: "cannot be honoured here",
    SYMBOLIC: "needs a fixed size",
    INPUTS: "wrong number of inputs",
}


class Elaborator(Origins, Sharing, Scanning, Routing, Application):
    """Elaborates the networks of one file."""

    def __init__(self, strict: bool = False) -> None:
        self.strict = strict
        self.diagnostics: list[Diagnostic] = []
        self.network: Network | None = None
        self._next_id = 0
        self._connections = 0
        self._constants: dict[tuple[int, str], Any] = {}
        self._constant_origins: dict[tuple[int, str], pv.Expr | None] = {}
        self._function_records: dict[int, pv.Function | None] = {}
        self._inlining: set[int] = set()
        self._function_types: dict[int, list[set[type]]] = {}
        self._evaluating: set[tuple[int, str]] = set()
        self.rules: list[inits.Rule] = []  # the current network's init rules, in order
        self._signatures: dict[int, Signature] = {}
        self._modules_made: list[Module] = []  # in order, to see what a block instance made
        self._recordings: dict[tuple[Any, ...], replay.Recording] = {}
        # elaborated instances by their form (rerun.form_of), for instances of other values
        self._forms: dict[tuple[Any, ...], list[tuple[replay.Recording, rerun.Terms]]] = {}
        self.shared_uses: dict[int, FirstUse] = {}  # the first application of each shared layer
        self.shared_made = 0
        self.scans_made = 0  # a block instance that ran a scan is not recorded for replay
        self._workload = Workload()
        # the current network's undecided size agreements, and what its asserts assume
        self._equations: list[sizes.Equation] = []
        self._assumed = sizes.Assumptions({}, {})
        # the current network's block calls by path, and where an instance is elaborated
        # aside (recount.py), the counts its repeats are given instead of their own and the
        # parameters that count them
        self._calls: dict[str, recount.Call] = {}
        self._recounts: dict[str, dict[Span, int]] = {}
        self._recounted_params: dict[str, dict[str, Any]] = {}
        self._index_readers: dict[int, tuple[ast.Expr, bool]] = {}

    def _signature(self, definition: Definition) -> Signature:
        """The definition's signature, made once per elaboration (signatures.py)."""
        key = id(definition.node)
        if key not in self._signatures:
            self._signatures[key] = signature_of(definition, self.origin)
        return self._signatures[key]

    # --- reporting -------------------------------------------------------------------------------

    def error(self, code: str, message: str, span: Span, **details: Any) -> ElabError:
        return ElabError(Diagnostic(code, message, span, **details))

    def report(self, diagnostic: Diagnostic, place: Place | None) -> None:
        self.diagnostics.append(self._placed(diagnostic, place))

    def _placed(self, diagnostic: Diagnostic, place: Place | None) -> Diagnostic:
        """``diagnostic`` with a note for each block call that led to it."""
        notes = list(diagnostic.notes)
        for site, block in zip(
            reversed(place.call_sites if place else ()),
            reversed(place.blocks if place else ()),
            strict=False,
        ):
            notes.append(f"inside block `{block}`, used at {site}")
        notes = list(dict.fromkeys(notes))  # `concat(x, x)`: one note per input, not per use
        if notes != list(diagnostic.notes):
            diagnostic = Diagnostic(**{**diagnostic.__dict__, "notes": tuple(notes)})
        return diagnostic

    def report_error(self, error: ElabError, place: Place) -> None:
        self.report(error.diagnostic, place)

    def note_finding(self, finding: Finding, span: Span, place: Place, inputs: Any = ()) -> None:
        if finding.severity == "strict" and not self.strict:
            return
        strict_error = self.strict and finding.code == UNEVEN
        severity = "error" if strict_error or finding.severity == "strict" else finding.severity
        notes = tuple(
            f"the input {t.type} comes from {self._origin(t)}"
            for t in inputs
            if t.type is not None
        )
        diagnostic = self._placed(
            Diagnostic(
                finding.code,
                finding.message,
                span,
                label=finding.label or FINDING_LABELS.get(finding.code, ""),
                severity=severity,
                rule=finding.rule,
                with_=finding.with_,
                help=finding.help,
                notes=notes,
            ),
            place,
        )
        # sizes that agree only for some input sizes are said once, as a rule on those sizes
        found = (
            None
            if finding.equal is None
            else sizes.equation(diagnostic, *finding.equal, finding.claim)
        )
        if found is None:
            self.diagnostics.append(diagnostic)
        else:
            self._equations.append(found)

    def _origin(self, tensor: Tensor) -> str:
        assert self.network is not None
        node = self.network.node(tensor.ref.node)
        what = f"input `{node.path}`" if node.kind == "input" else f"`{node.path}`"
        return f"{what} at {node.span}"

    # --- the IR ----------------------------------------------------------------------------------

    def new_id(self) -> int:
        self._next_id += 1
        if self._next_id > application.MAX_NODES:
            raise TooLarge(f"more than {application.MAX_NODES:,} layers")
        return self._next_id

    def size(self) -> tuple[int, int]:
        return self._next_id, self._connections

    def speculate(
        self, expr: ast.Expr, body: Body, place: Place, names: speculation.NamesState
    ) -> Alternative | None:
        """The alternative of a conditional not taken, elaborated where the one taken was
        (with the names it would have had) and taken out again; None where it cannot be
        built with these values."""
        saved = speculation.take(self, body)
        after = speculation.NamesState.of(place)
        names.restore(place)
        unknown: list[Diagnostic] = []
        try:
            value = self.evaluate(expr, body, place)
        except ElabError as exc:
            value = UNKNOWN
            unknown += [self._placed(exc.diagnostic, place)]
        except TooLarge:
            value = UNKNOWN
        made = self.diagnostics[saved.diagnostics :]
        failed = (
            not isinstance(value, Tensor) or value.type is None or any(d.is_error for d in made)
        )
        # a name that means nothing is wrong whatever the values: kept, where any other
        # diagnostic of the way not taken is for values it was not given
        unknown = [d for d in [*made, *unknown] if d.code == "A205"]
        read = body.used - saved.body[3]
        nodes, modules = speculation.undo(self, body, saved)
        self.diagnostics += unknown
        body.used |= read  # a name the other alternative reads is used, whichever one ran
        after.restore(place)
        if failed:
            return None
        return speculation.set_aside(value, saved.next_id, nodes, modules)

    def add_node(self, node: Node) -> Node:
        assert self.network is not None
        self._connections += len(node.inputs)
        if self._connections > application.MAX_CONNECTIONS:
            raise TooLarge(f"more than {application.MAX_CONNECTIONS:,} connections between layers")
        return self.network.add(node)

    def node_of(self, node_id: int) -> Node:
        assert self.network is not None
        return self.network.node(node_id)

    def module(self, module: Module) -> None:
        assert self.network is not None
        self.network.modules[module.path] = module
        self._modules_made.append(module)

    def module_at(self, path: str) -> Module | None:
        assert self.network is not None
        return self.network.modules.get(path)

    # --- constants -------------------------------------------------------------------------------

    def constant(self, name: str, body: Body, span: Span) -> Any:
        key = (id(body.file), name)
        if key in self._constants:
            return self._constants[key]
        if key in self._evaluating:
            raise self.error(
                "A232",
                f"the constant `{name}` is defined in terms of itself",
                span,
                label="used in its own definition",
            )
        self._evaluating.add(key)
        try:
            assign = body.file.constants[name]
            value = self.evaluate(assign.value, Body(body.file), _NOWHERE)
        finally:
            self._evaluating.discard(key)
        if isinstance(value, Tensor):
            raise self.error(
                "A232",
                "a top-level constant cannot be a tensor",
                assign.span,
                label="a tensor",
                help="tensors exist only inside a block or network; compute it there",
            )
        if len(assign.targets) > 1:
            value = self._unpack(assign, value)[name]
        self._constants[key] = value
        return value

    # --- networks --------------------------------------------------------------------------------

    def sizes_follow_rules(
        self, definition: Definition, overrides: dict[str, Any], sizes: dict[str, Any]
    ) -> bool:
        """Whether the sizes `-D` sets follow the rules the network puts on them (reported
        where each size is declared when not): the rules come from the network with its sizes
        left symbolic."""
        declared = declared_sizes(definition)
        broken = False
        for name, value in sizes.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                broken = True
                self.report(
                    Diagnostic(
                        "A277",
                        f"-D {name}={value}: a size must be a positive whole number",
                        declared[name],
                        label=f"set to {value} by -D",
                        help=f"e.g. -D {name}=256",
                    ),
                    None,
                )
        if broken:
            return False
        symbolic = Elaborator(self.strict).network_of(definition, overrides)
        for rule in symbolic.size_rules if symbolic is not None else ():
            for name in rule.names:
                value = sizes.get(name)
                if value is None or rule.admits(value):
                    continue
                broken = True
                self.report(
                    Diagnostic(
                        "A277",
                        f"-D {name}={value} does not follow the rule of `{definition.name}`: "
                        f"{rule}",
                        declared[name],
                        label=f"set to {value} by -D",
                        help=_nearest(name, value, rule),
                    ),
                    None,
                )
        return not broken

    def network_of(
        self,
        definition: Definition,
        overrides: dict[str, Any],
        given_sizes: dict[str, Any] | None = None,
    ) -> Network | None:
        """The network ``definition`` with its parameters ``overrides``, and the symbolic sizes
        its inputs declare set to ``given_sizes``."""
        try:
            return self._network(definition, overrides, given_sizes)
        finally:  # the network's recounter keeps the elaborator: no way back, no cycle
            self.network = None

    def _network(
        self, definition: Definition, overrides: dict[str, Any], given_sizes: dict[str, Any] | None
    ) -> Network | None:
        node = definition.node
        self.network = network = Network(definition.name, {}, node.name.span)
        self._next_id = 0
        self._modules_made = []
        self._connections = 0
        self._equations = []
        self._assumed = sizes.Assumptions({}, {})
        self._calls = {}
        errors_before = len(self.diagnostics)
        body = Body(definition.file)
        place = Place("", Names(node.reserved))
        self.rules = []
        for rule in definition.file.inits:  # the file's own top-level rules come first
            top = Body(definition.file)
            evaluate = functools.partial(self.evaluate, body=top, place=place)
            origin = functools.partial(self.origin, body=top)
            try:
                self.rules.append(inits.read_rule(rule, "", evaluate, self.error, origin))
            except ElabError as exc:
                self.report(exc.diagnostic, place)
        try:
            self._bind_params(node, [], overrides, body, node.name.span, place)
            declared = declared_sizes(definition) if given_sizes else {}
            for name, value in (given_sizes or {}).items():
                body.bind(name, value, declared[name])
            network.args = {p: body.vars[p] for p in body.params}
            network.modules[""] = Module(
                "",
                "network",
                definition.name,
                network.args,
                node.span,
                definition=definition,
                signature=self._signature(definition),
            )
            outputs = self._run(node, body, place, network_inputs=True)
            network.modules[""].guards = tuple(body.guards)
            network.modules[""].choices = tuple(body.choices)
            network.modules[""].looped = tuple(body.looped)
            network.modules[""].locals = body.named_values()
        except TooLarge as exc:
            span = exc.span or current_statement.get() or node.name.span
            self.report(
                Diagnostic(
                    "A222",
                    f"network `{definition.name}` has {exc}"
                    if exc.span is None
                    else f"{exc} (network `{definition.name}`)",
                    span,
                    label="past the limit",
                    with_=exc.with_,
                    help="this limit protects against runaway repeats and blocks that "
                    "multiply; no real network comes near it",
                ),
                None,
            )
            return None
        except ElabError as exc:
            self.report(exc.diagnostic, place)
            return None
        for name, value in outputs:
            if isinstance(value, Tensor):
                network.outputs[name] = value.ref
            elif isinstance(value, tuple):  # `out x -> branches(a, b)`: ys0, ys1, ...
                network.outputs.update({f"{name}{i}": t.ref for i, t in enumerate(value)})
        root = network.modules[""]
        root.inputs = tuple(network.inputs.values())
        root.outputs = tuple(network.outputs.values())
        network.size_rules, problems = sizes.settle(
            network, self._equations, self._assumed, _inputs_span(node) or node.name.span
        )
        for problem in problems:
            self.report(problem, None)
        network.recounter = recount.Recounter(self, self._calls, self._assumed)
        network.constants = tuple(
            origin.constant
            for origin in self._constant_origins.values()
            if isinstance(origin, pv.Lit) and origin.constant is not None
        )
        network.functions = tuple(f for f in self._function_records.values() if f is not None)
        network.function_types = {
            function.key: tuple(frozenset(kinds) for kinds in self._function_types.get(node, ()))
            for node, function in self._function_records.items()
            if function is not None
        }
        if not any(d.is_error for d in self.diagnostics[errors_before:]):
            self._check_ties(network)  # ties and rules into layers that failed would cascade
            network.inits, problems = inits.resolve(network, self.rules)
            for problem in [*problems, *inits.activation_warnings(network, network.inits)]:
                self.report(problem, None)
        return network

    def _bind_params(
        self,
        node: ast.Definition,
        positional: list[BoundArg],
        keywords: dict[str, Any],
        body: Body,
        span: Span,
        place: Place,
    ) -> dict[str, pv.Expr]:
        """Bind the parameters in ``body``; the provenance of each of their values in the
        caller's namespace, where it has one."""
        params = {p.name.name: p for p in node.params}
        given: dict[str, pv.Expr] = {}
        for name, value in keywords.items():
            if name not in params:
                raise self.error(
                    "A208",
                    f"`{node.name.name}` has no parameter `{name}`",
                    value.name_span or value.span if isinstance(value, BoundArg) else span,
                    label="unknown parameter",
                    help=did_you_mean(name, list(params))
                    or f"its parameters are {', '.join(params) or 'none'}",
                )
        if len(positional) > len(node.params):
            raise self.error(
                "A207",
                f"`{node.name.name}` takes at most {len(node.params)} arguments",
                positional[len(node.params)].span,
                label="one too many",
                help=f"its parameters are {_signature(node)}",
            )
        for index, param in enumerate(node.params):
            name = param.name.name
            if index < len(positional):
                if name in keywords:
                    again = keywords[name]
                    raise self.error(
                        "A209",
                        f"`{name}` is given twice",
                        again.name_span or again.span,
                        label="given again here",
                        secondary=(Label(positional[index].span, "given by position here"),),
                        help=f"give `{name}` once, by position or by name",
                    )
                value = positional[index].value
                origin = positional[index].origin
            elif name in keywords:
                keyword = keywords[name]
                value = keyword.value if isinstance(keyword, BoundArg) else keyword
                origin = keyword.origin if isinstance(keyword, BoundArg) else None
                if isinstance(keyword, Written):  # `-D act=gelu`: where the default would be
                    value = self.evaluate(keyword.expr, body, place)
            elif param.default is not None:
                value = self.evaluate(param.default, body, place)
                default = self.origin(param.default, body)
                origin = None if default is None else pv.substitute(default, given, _no_size)
                if isinstance(value, OpLayer):  # its arguments in the caller's terms
                    value = _moved(value, lambda o: pv.substitute(o, given, _no_size))
            else:
                raise self.error(
                    "A211",
                    f"`{node.name.name}` needs its `{name}` argument",
                    span,
                    label=f"`{name}` missing",
                    help=f"its parameters are {_signature(node)}",
                )
            if isinstance(value, OpLayer):
                value = _bound_to(value, name)
            body.bind(name, value, param.span, pv.Param(name))
            body.params.add(name)
            if origin is not None:
                given[name] = origin
        return given

    # --- blocks ----------------------------------------------------------------------------------

    def instantiate(self, layer: BlockLayer, inputs: list[Tensor], place: Place, path: str) -> Any:
        definition: Definition = layer.block
        if len(place.blocks) >= MAX_BLOCK_DEPTH and definition.name not in place.blocks:
            raise self.error(
                "A213",
                f"block `{definition.name}` would be nested {len(place.blocks) + 1} blocks deep; "
                f"the limit is {MAX_BLOCK_DEPTH}",
                layer.span,
                label="one level too deep",
                help="flatten the hierarchy: apply blocks one after another instead",
            )
        if definition.name in place.blocks:
            chain = " -> ".join([*place.blocks, definition.name])
            raise self.error(
                "A213",
                f"block `{definition.name}` instantiates itself: {chain}",
                layer.span,
                label="used inside itself",
                help="blocks cannot be recursive; use repetition (`* n`) instead",
            )
        self._check_workload(layer)
        node = definition.node
        self._calls[path] = recount.Call(layer, tuple(inputs), place.call_sites, place.blocks)
        body = Body(definition.file, recounts=self._recounts.get(path, {}))
        inner = Place(
            path,
            Names(node.reserved),
            (*place.call_sites, layer.span),
            (*place.blocks, definition.name),
        )
        positional = [a for a in layer.args if a.name is None]
        positional = [a for a in positional if not _is_tensors(a.value)]
        keywords = {a.name: a for a in layer.args if a.name is not None}
        arg_origins = self._bind_params(node, positional, keywords, body, layer.span, inner)
        for name, value in self._recounted_params.get(path, {}).items():
            body.bind(name, value, body.spans[name], pv.Param(name))
        module = Module(
            path,
            "block",
            definition.name,
            {p: body.vars[p] for p in body.params},
            layer.span,
            place.call_sites,
            definition=definition,
            signature=self._signature(definition),
            given=_given(node, layer.args),
            arg_origins=arg_origins,
            index_origins=_index_origins(node, positional, keywords),
        )
        self.module(module)
        declared = [s for s in node.body if isinstance(s, ast.Input)]
        if len(inputs) != len(declared):
            names = [s.name.name for s in declared]
            shown = names[0] if len(names) == 1 else f"({', '.join(names)})"
            raise self.error(
                "A311",
                f"block `{definition.name}` takes {_count(len(declared), 'tensor input')}, "
                f"got {len(inputs)}",
                layer.span,
                label=f"{_count(len(inputs), 'input')} given",
                help=f"its inputs are {listed(names)}; give one tensor for each, "
                f"e.g. `{shown} -> {definition.name}(...)`",
            )
        for stmt, tensor in zip(declared, inputs, strict=True):
            body.vars[stmt.name.name] = _as_input(tensor, stmt.name.name)
        values = self._body_values(node, body, inner, module.args, inputs)
        module.guards = tuple(body.guards)
        module.choices = tuple(body.choices)
        module.looped = tuple(body.looped)
        module.locals = body.named_values()
        if any(v is UNKNOWN for v in values):
            return UNKNOWN
        module.outputs_via = application.read_via(
            [t for v in values for t in (v if isinstance(v, tuple) else (v,))]
        )
        values = _to_caller(
            values, arg_origins, dict(zip((s.name.name for s in declared), inputs, strict=True))
        )
        module.inputs = tuple(t.ref for t in inputs)
        module.via = application.read_via(inputs)
        module.input_names = tuple(s.name.name for s in declared)
        module.input_dims = tuple(t.dims for t in inputs)
        module.outputs = tuple(
            t.ref for v in values for t in (v if isinstance(v, tuple) else (v,))
        )
        return values[0] if len(values) == 1 else tuple(values)

    def _check_workload(self, layer: BlockLayer) -> None:
        """Refuse a block call whose body certainly makes more layers than the network may
        have, before making any (see workload.py)."""
        least = self._workload.least(layer.block)
        if self._next_id + least.layers <= application.MAX_NODES:
            return
        with_ = None
        if least.largest is not None:
            name, times, each = least.largest
            with_ = f"`{name}` applied {times:,} times * at least {each:,} layers each"
            if times * each != least.layers:
                with_ += f", and {least.layers - times * each:,} more"
        raise TooLarge(
            f"block `{layer.block.name}` would make at least {least.layers:,} layers, past the "
            f"limit of {application.MAX_NODES:,} per network",
            layer.span,
            with_,
        )

    def _body_values(
        self,
        node: ast.Definition,
        body: Body,
        place: Place,
        args: dict[str, Any],
        inputs: list[Tensor],
    ) -> list[Any]:
        """What a block instance's body gives back: elaborated, or replayed for the same
        values (see replay.py) or for others (see rerun.py)."""
        assert self.network is not None
        network = self.network
        key = replay.key_of(node, args, inputs, place.blocks)
        recording = self._recordings.get(key) if key is not None else None
        if recording is not None and recording.replayable():
            return self._replay(recording, body, place, inputs)
        mark = replay.Mark(
            len(self.diagnostics),
            self._next_id,
            len(self._modules_made),
            len(network.ties),
            len(self.rules),
            {t.ref.node: frozenset(network.node(t.ref.node).value_names) for t in inputs},
        )
        applications, scans = len(network.applications), self.scans_made
        form = rerun.form_of(node, args, inputs, place.blocks) if key is not None else None
        values = self._rerun(form, body, place, args, inputs) if form is not None else None
        reran = values is not None
        if values is None:
            values = [value for _, value in self._run(node, body, place, network_inputs=False)]
        clean = (
            len(self.diagnostics) == mark.diagnostics
            and len(network.applications) == applications  # a copy would call no module
            and self.scans_made == scans  # nor know its loops
            and len(network.ties) == mark.ties
            and len(self.rules) == mark.rules
            and not any(v is UNKNOWN for v in values)
        )
        if key is not None and clean:
            made = replay.record(
                mark,
                path=place.path,
                depth=len(place.call_sites) - 1,
                inputs=inputs,
                nodes=[network.node(i) for i in range(mark.last_id + 1, self._next_id + 1)],
                modules=self._modules_made[mark.modules :],
                network_node=network.node,
                values=values,
                guards=tuple(body.guards),
                choices=tuple(body.choices),
                looped=tuple(body.looped),
                locals=body.named_values(),
            )
            if made is not None:
                self._recordings[key] = made
                ports = tuple(s.name.name for s in node.body if isinstance(s, ast.Input))
                terms = None if reran else rerun.terms_of(body, ports, inputs, made.modules)
                if form is not None and terms is not None:
                    self._forms.setdefault(form, []).append((made, terms))
        return values

    def _replay(
        self,
        recording: replay.Recording,
        body: Body,
        place: Place,
        inputs: list[Tensor],
        fresh: dict[int, replay.Worked] | None = None,
    ) -> list[Any]:
        assert self.network is not None
        body.guards.extend(recording.guards)
        body.looped.extend(recording.looped)
        body.origins.update(recording.locals)
        values, choices = recording.replay(
            self.add_node,
            self.new_id,
            self.module,
            self.network.node,
            inputs,
            place.path,
            place.call_sites,
            self._next_id,
            fresh,
        )
        body.choices.extend(choices)
        return values

    def _rerun(
        self,
        form: tuple[Any, ...],
        body: Body,
        place: Place,
        args: dict[str, Any],
        inputs: list[Tensor],
    ) -> list[Any] | None:
        """The instance copied from an elaborated one of its form whose structure holds for
        these values, or None."""
        for recording, terms in self._forms.get(form, ()):
            if not recording.replayable():
                continue
            fresh = rerun.rerun(terms, recording, args, inputs, self.strict)
            if fresh is not None:
                return self._replay(recording, body, place, inputs, fresh)
        return None

    # --- statements ------------------------------------------------------------------------------

    def _run(
        self, node: ast.Definition, body: Body, place: Place, network_inputs: bool
    ) -> list[tuple[str, Any]]:
        outputs: list[tuple[str, Any]] = []
        reported = len(self.diagnostics)
        for stmt in node.body:
            token = current_statement.set(stmt.span)
            try:
                self._statement(stmt, body, place, outputs, network_inputs)
            except ElabError as exc:
                diagnostic = exc.diagnostic
                if diagnostic.code == "A205":
                    diagnostic = explain_unknown(diagnostic, stmt, node.body)
                self.report(diagnostic, place)
                for target in getattr(stmt, "targets", ()):
                    body.bind(target.name, UNKNOWN, target.span)
                if isinstance(stmt, ast.Input):
                    self._forget_input(stmt, body)
                if isinstance(stmt, ast.Output):
                    outputs.append((_output_name(stmt, len(outputs)), UNKNOWN))
            current_statement.reset(token)  # not on other exceptions: see current_statement
        # a statement that failed may be the one that would have used a name: no guessing
        failed = any(d.is_error for d in self.diagnostics[reported:])
        if not outputs:
            self.report(
                Diagnostic(
                    "A218",
                    f"{node.kind} `{node.name.name}` has no `out`",
                    node.name.span,
                    label="nothing comes out",
                    help="end the body with `out <tensor>`",
                ),
                place,
            )
        if not failed:
            self._warn_unused(body, place)
        return outputs

    def _statement(
        self,
        stmt: ast.Stmt,
        body: Body,
        place: Place,
        outputs: list[tuple[str, Any]],
        network_inputs: bool,
    ) -> None:
        if isinstance(stmt, ast.Input):
            self._input(stmt, body, place, network_inputs)
        elif isinstance(stmt, ast.Assign):
            value = self.evaluate(stmt.value, body, place)
            origin = None if _has_tensors(value) else self.origin(stmt.value, body)
            if len(stmt.targets) == 1:  # nearly every assignment: one name, nothing to unpack
                (target,) = stmt.targets
                value = self.name_shared(value, target)
                body.bind(target.name, value, target.span, origin)
                self._name_value(value, target.name, place.path, body)
                return
            spans = {target.name: target.span for target in stmt.targets}
            for index, (name, item) in enumerate(self._unpack(stmt, value).items()):
                part = None if origin is None else pv.apply("index", origin, pv.Lit(index))
                body.bind(name, item, spans[name], part)
                self._name_value(item, name, place.path, body)
        elif isinstance(stmt, ast.Output):
            value = self.evaluate(stmt.value, body, place)
            if (
                value is not UNKNOWN
                and not isinstance(value, Tensor)
                and not (isinstance(value, tuple) and all(isinstance(v, Tensor) for v in value))
            ):
                raise self.error(
                    "A233",
                    f"`out` must give a tensor, got {describe(value)}",
                    stmt.value.span,
                    label="not a tensor",
                    help="an output is the result of layers applied to the inputs",
                )
            outputs.append((_output_name(stmt, len(outputs)), value))
        elif isinstance(stmt, ast.Assert):
            self._assert(stmt, body, place)
        elif isinstance(stmt, ast.Tie):
            assert self.network is not None
            if stmt.condition is not None:  # `tie a = b if tied`: tied only where it holds
                # a test that chose structure: a class ties or not as its instances did
                body.guards.append(self.origin(stmt.condition, body))
                held = self.evaluate(stmt.condition, body, place)
                if held is UNKNOWN or not self._truth(held, stmt.condition.span):
                    return
            self.network.ties.append(
                Tie(
                    join_path(place.path, ".".join(stmt.target.parts)),
                    join_path(place.path, ".".join(stmt.source.parts)),
                    stmt.span,
                )
            )
        elif isinstance(stmt, ast.InitRule):
            assert self.network is not None
            evaluate = functools.partial(self.evaluate, body=body, place=place)
            origin = functools.partial(self.origin, body=body)
            self.rules.append(inits.read_rule(stmt, place.path, evaluate, self.error, origin))

    def _name_value(self, value: Any, name: str, scope: str, body: Body) -> None:
        """Remember the spec's name for a tensor, so generated code can use it too; a
        conditional's value names the value of its alternative set aside as well."""
        if isinstance(value, Tensor) and self.network is not None:
            node = self.network.node(value.ref.node)
            node.value_names.setdefault((scope, value.ref.port), name)
            if value.via is None or (other := body.choices[value.via].other) is None:
                return
            for aside in other.nodes:
                if aside.id == other.value.node:
                    aside.value_names.setdefault((scope, other.value.port), name)

    def _unpack(self, stmt: ast.Assign, value: Any) -> dict[str, Any]:
        """The names of several targets, each with its part of ``value``."""
        names = [t.name for t in stmt.targets]
        if value is UNKNOWN:
            return dict.fromkeys(names, UNKNOWN)
        if not isinstance(value, tuple) or len(value) != len(names):
            count = len(value) if isinstance(value, tuple) else 1
            raise self.error(
                "A216",
                f"{len(names)} names but the value has {_count(count, 'part')}",
                stmt.targets[0].span.to(stmt.targets[-1].span),
                label=f"{len(names)} names",
                secondary=(Label(stmt.value.span, f"{_count(count, 'part')}"),),
                help=f"write {_count(count, 'name')}, or give the value {len(names)} parts",
            )
        return dict(zip(names, value, strict=True))

    def _assert(self, stmt: ast.Assert, body: Body, place: Place) -> None:
        for test in _conjuncts(stmt.test):
            if isinstance(test, ast.Compare):
                left = self.evaluate(test.left, body, place)
                right = self.evaluate(test.right, body, place)
                if self._assume(test, left, right):
                    continue
                value = self.compare(test, left, right)
            else:
                value = self.evaluate(test, body, place)
            self._assert_holds(stmt, test, value, body)

    def _assume(self, test: ast.Compare, left: Any, right: Any) -> bool:
        """Take a comparison of symbolic sizes (`H % 16 == 0`, `T >= 8`) as what the network
        assumes of them; False if ``test`` is not one."""
        sizes_only = all(
            isinstance(v, Sym | int) and not isinstance(v, bool) for v in (left, right)
        )
        if not sizes_only or not (isinstance(left, Sym) or isinstance(right, Sym)):
            return False
        if test.op in ("==", "!=") and dims.same(left, right) is not None:
            return False  # decided: the ordinary path says whether it holds
        difference = left - right
        stated = dims.satisfied(dims.expression(difference), test.op)
        if stated is not None:
            symbol, residues = stated
            residues = self._assumed.admitted(symbol).meet(residues)
            if not residues.allowed:
                raise self.error(
                    "A221",
                    f"assertion failed: no {symbol} satisfies `{_written(test.span)}` "
                    "together with the asserts before it",
                    test.span,
                    label="never true",
                )
            self._assumed.residues[symbol] = residues
            return True
        bound = dims.least_where(difference, test.op)
        if bound is None:
            return False
        symbol, least = bound
        self._assumed.least[symbol] = max(least, self._assumed.least.get(symbol, 1))
        return True

    def _assert_holds(self, stmt: ast.Assert, test: ast.Expr, value: Any, body: Body) -> None:
        if value is UNKNOWN:
            return
        if not isinstance(value, bool):
            raise self.error(
                "A206",
                f"`assert` needs true or false, got {describe(value)}",
                test.span,
                label="not a condition",
                help="write a comparison, such as `width % heads == 0`",
            )
        if not value:
            reason = stmt.message.value if stmt.message else f"`{_written(test.span)}`"
            raise self.error(
                "A221",
                f"assertion failed: {reason}",
                test.span,
                label="this is false",
                with_=self._values_read(test, body) or None,
            )

    def _values_read(self, expr: ast.Expr, body: Body) -> str:
        """The values of the names ``expr`` reads, as `width = 1024, heads = 10`."""
        shown: dict[str, str] = {}
        for node in ast.walk(expr):
            if not isinstance(node, ast.Name) or node.id in shown:
                continue
            if node.id in body.vars:
                shown[node.id] = _shown_value(body.vars[node.id])
            elif node.id in body.file.constants:
                shown[node.id] = _shown_value(self.constant(node.id, body, node.span))
        return ", ".join(f"{name} = {value}" for name, value in shown.items())

    def _input(self, stmt: ast.Input, body: Body, place: Place, network_inputs: bool) -> None:
        name = stmt.name.name
        if not network_inputs:
            tensor = body.vars.get(name)
            if stmt.type is not None and isinstance(tensor, Tensor) and tensor.type is not None:
                self._match_declared(stmt, tensor.type, body, place)
            return
        if stmt.type is None:
            raise self.error(
                "A234",
                f"network input `{name}` needs a shape",
                stmt.name.span,
                label="no shape",
                help=f"e.g. `in {name}: [3, 224, 224]` (the batch dimension is implicit)",
            )
        dtype = stmt.type.dtype.name if stmt.type.dtype else "float32"
        if dtype not in DTYPES:
            raise self.error(
                "A215",
                f"unknown element type `{dtype}`",
                stmt.type.dtype.span,  # type: ignore[union-attr]
                label="not an element type",
                help=did_you_mean(dtype, list(DTYPES)) or ", ".join(DTYPES),
            )
        shape = tuple(self._dim(d, body, place) for d in stmt.type.dims)
        dims = (
            pv.Lit(BATCH),
            *(self._dim_origin(d, v, body) for d, v in zip(stmt.type.dims, shape, strict=True)),
        )
        assert self.network is not None
        node = self.add_node(
            Node(
                id=self.new_id(),
                kind="input",
                op="input",
                args=None,
                inputs=(),
                outputs=(TensorType((BATCH, *shape), dtype),),
                path=name,
                scope="",
                span=stmt.span,
                named=True,
                value_names={("", 0): name},
            )
        )
        self.network.inputs[name] = Ref(node.id)
        body.bind(name, Tensor(Ref(node.id), node.outputs[0], stmt.span, dims), stmt.name.span)

    def _dim_origin(self, expr: ast.Expr, value: Any, body: Body) -> pv.Expr | None:
        """A declared input size's provenance: a symbol (`T`) is itself."""
        origin = self.origin(expr, body)
        return pv.Lit(value) if origin is None and isinstance(value, Sym) else origin

    def _dim(self, expr: ast.Expr, body: Body, place: Place) -> Any:
        if isinstance(expr, ast.Name) and expr.id == BATCH_NAME:
            # The same symbol as the implicit batch axis: `[N, 32]` would be (N, N, 32).
            raise self.error(
                "A238",
                f"`{BATCH_NAME}` names the batch axis, which every network input has in front "
                "of its declared shape",
                expr.span,
                label="this would be a second batch axis: (N, N, ...)",
                help="leave the batch out of the declared shape (`[3, 224, 224]` is "
                "(N, 3, 224, 224)), or give this axis another name",
            )
        if (
            isinstance(expr, ast.Name)
            and expr.id not in body.vars
            and expr.id not in body.file.constants
        ):
            symbol = Sym.named(expr.id)
            body.bind(expr.id, symbol, expr.span)
            body.used.add(expr.id)
            return symbol
        try:
            value = self.evaluate(expr, body, place)
        except ElabError as exc:
            if exc.diagnostic.code != "A205" or exc.diagnostic.help:
                raise
            raise ElabError(
                replace(
                    exc.diagnostic,
                    help="a size is declared by writing its name alone as a dimension, "
                    "e.g. `[3, T]`; only then can an expression use it",
                )
            ) from None
        if isinstance(value, Sym | int) and not isinstance(value, bool) and dims.too_large(value):
            raise self.error(
                "A312",
                "a dimension is larger than 2**40, the limit for any size",
                expr.span,
                label="too large",
                help="no tensor axis comes near this",
            )
        if isinstance(value, Sym):
            return value
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise self.error(
                "A301",
                f"a dimension must be a positive whole number, not {describe(value)}",
                expr.span,
                label="not a positive whole number",
                help="use `//` for whole-number division" if isinstance(value, float) else None,
            )
        return value

    def _forget_input(self, stmt: ast.Input, body: Body) -> None:
        """After a failed `in`, its name and the sizes it would declare are unknown, so that
        their uses stay quiet."""
        body.bind(stmt.name.name, UNKNOWN, stmt.name.span)
        for size in stmt.type.dims if stmt.type else ():
            declared = isinstance(size, ast.Name) and size.id not in body.file.constants
            if declared and size.id not in body.vars:
                body.bind(size.id, UNKNOWN, size.span)
                body.used.add(size.id)

    def _match_declared(
        self, stmt: ast.Input, actual: TensorType, body: Body, place: Place
    ) -> None:
        assert stmt.type is not None
        declared = stmt.type.dims
        if len(declared) != actual.rank - 1:
            raise self.error(
                "A304",
                f"input `{stmt.name.name}` is declared with {len(declared)} dimensions "
                f"but receives {actual}",
                stmt.type.span,
                label=f"{actual.rank - 1} dimensions arrive",
            )
        for expr, size in zip(declared, actual.shape[1:], strict=True):
            if isinstance(expr, ast.Name) and expr.id not in body.vars:
                body.bind(expr.id, size, expr.span)
                body.used.add(expr.id)
                continue
            expected = self.evaluate(expr, body, place)
            if expected != size and not (isinstance(expected, Sym) or isinstance(size, Sym)):
                raise self.error(
                    "A303",
                    f"input `{stmt.name.name}` expects size {expected} here but receives {actual}",
                    expr.span,
                    label=f"receives {size}",
                )

    def _warn_unused(self, body: Body, place: Place) -> None:
        for name, span in body.spans.items():
            if name in body.used or name in body.params or name.startswith("_"):
                continue
            if not isinstance(body.vars.get(name), Tensor):
                continue
            self.report(
                Diagnostic(
                    "A217",
                    f"`{name}` is never used",
                    span,
                    label="unused",
                    severity="warning",
                    help=f"remove it, or name it `_{name}` to keep it",
                ),
                place,
            )

    def _check_ties(self, network: Network) -> None:
        if not network.ties:
            return  # no parameter table to build
        params = network.parameters()
        sources = {tie.target: tie for tie in network.ties}
        for tie in network.ties:
            for path in (tie.target, tie.source):
                if path not in params:
                    self.report(
                        Diagnostic(
                            "A219",
                            f"`tie` names `{path}`, which is not a parameter",
                            tie.span,
                            label=f"no parameter `{path}`",
                            help=did_you_mean(path, list(params))
                            or "tie parameters by their "
                            "state_dict names, e.g. `tie lm_head.weight = wte.weight`",
                        ),
                        None,
                    )
                    break
            else:
                problem = _tie_problem(tie, sources)
                if problem is not None:
                    message, label, help = problem
                    self.report(Diagnostic("A239", message, tie.span, label, help=help), None)
                elif params[tie.target] != params[tie.source]:
                    self.report(
                        Diagnostic(
                            "A220",
                            f"cannot tie `{tie.target}` {params[tie.target]} to "
                            f"`{tie.source}` {params[tie.source]}: the shapes differ",
                            tie.span,
                            label="the shapes differ",
                        ),
                        None,
                    )


_NOWHERE = Place("", Names(frozenset()))


def _tie_problem(tie: Tie, ties: dict[str, Tie]) -> tuple[str, str, str] | None:
    """Why ``tie`` cannot be one shared tensor that archc and torch both count once: the
    message, the caret's label and a hint; None when it can. ``ties`` maps each tied target
    to its last tie."""
    if tie.target == tie.source:
        return (
            f"`{tie.target}` is tied to itself",
            "the same parameter on both sides",
            "a tie names two different parameters: `tie lm_head.weight = wte.weight`",
        )
    if ties[tie.target] is not tie:
        again = ties[tie.target]
        return (
            f"`{tie.target}` is tied twice, here and at {again.span}",
            "tied again later",
            "tie a parameter once; the later tie would silently replace this one",
        )
    chain = [tie.target, tie.source]
    while chain[-1] in ties and chain[-1] not in chain[:-1]:
        chain.append(ties[chain[-1]].source)
    if len(chain) == 2:
        return None
    shown = " -> ".join(f"`{path}`" for path in chain)
    if chain[-1] in chain[:-1]:
        return (
            f"the ties form a cycle: {shown}",
            "part of a cycle",
            "one parameter of the cycle must stay untied: it is the tensor the others share",
        )
    return (
        f"`{tie.source}` is itself tied, so this tie depends on the order: {shown}",
        "the source is tied too",
        f"tie `{tie.target}` to `{chain[-1]}` directly",
    )


def _is_tensors(value: Any) -> bool:
    return isinstance(value, Tensor) or (
        isinstance(value, tuple) and bool(value) and all(isinstance(v, Tensor) for v in value)
    )


def _given(node: ast.Definition, args: tuple[BoundArg, ...]) -> tuple[str, ...]:
    """The block's parameters the call gives (tensor arguments left out), in its order."""
    positional = [a for a in args if a.name is None and not _is_tensors(a.value)]
    named = {a.name for a in args if a.name is not None}
    return tuple(
        p.name.name
        for index, p in enumerate(node.params)
        if index < len(positional) or p.name.name in named
    )


def _signature(node: ast.Definition) -> str:
    """A definition's parameters as written: `planes, stride=1`."""
    if not node.params:
        return "none"
    return ", ".join(
        param.name.name if param.default is None else _written(param.span) for param in node.params
    )


def _shown_value(value: Any) -> str:
    """A value as a spec would write it, or as a summary shows it (a tensor's type)."""
    if isinstance(value, Tensor):
        return str(value.type)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if value is None:
        return "none"
    if isinstance(value, int | float | Sym | tuple):
        return str(value)
    return describe(value)


def _written(span: Span) -> str:
    return span.source.text[span.start : span.end]


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _output_name(stmt: ast.Output, index: int) -> str:
    if stmt.name is not None:
        return stmt.name.name
    if isinstance(stmt.value, ast.Name):
        return stmt.value.id
    return "output" if index == 0 else f"output{index}"


def check_constants(file: FileScope) -> list[Diagnostic]:
    """The errors in the file's top-level constants, those no network reads included (a
    network evaluates only the constants it uses), and the names its functions read that
    nothing defines, whether or not a network calls them."""
    elaborator = Elaborator()
    for assign in file.module.items:
        if not isinstance(assign, ast.Assign):
            continue
        for target in assign.targets:
            if file.constants.get(target.name) is not assign:
                continue  # defined twice: reported already
            try:
                elaborator.constant(target.name, Body(file), target.span)
            except ElabError as exc:
                elaborator.report(exc.diagnostic, None)
                break
    for function in file.functions.values():
        if function.file is not file:
            continue
        scope = FunctionBody(file)
        for param in function.node.params:
            scope.bind(param.name.name, UNKNOWN, param.span)
        read = [p.default for p in function.node.params if p.default is not None]
        for expr in [*read, function.node.body]:
            for name in (n for n in ast.walk(expr) if isinstance(n, ast.Name)):
                try:
                    elaborator.evaluate(name, scope, _NOWHERE)
                except ElabError as exc:
                    elaborator.report(exc.diagnostic, None)
    return elaborator.diagnostics


def elaborate(
    file: FileScope,
    network: str | None = None,
    overrides: dict[str, Any] | None = None,
    strict: bool = False,
) -> tuple[list[Network], list[Diagnostic]]:
    """Elaborate the networks defined in ``file`` (or only ``network``)."""
    elaborator = Elaborator(strict)
    chosen = [d for d in file.own_networks() if network is None or d.name == network]
    overrides = dict(overrides or {})
    accepted = {p.name.name for d in chosen for p in d.node.params}
    sized = {name for d in chosen for name in declared_sizes(d)} - accepted
    unknown = sorted(set(overrides) - accepted - sized)
    if unknown and chosen:
        known = sorted(accepted | sized)
        hint = did_you_mean(
            unknown[0], known
        ) or f"the parameters are {', '.join(sorted(accepted)) or 'none'}" + (
            f", and the symbolic sizes {', '.join(sorted(sized))}" if sized else ""
        )
        what = "a parameter or a symbolic size" if sized else "a parameter"
        raise UsageError(f"-D {unknown[0]}: no network here has {what} `{unknown[0]}`; {hint}")
    overrides = {name: spec_value(name, value) for name, value in overrides.items()}
    for name, value in overrides.items():
        if isinstance(value, Written) and name in sized:
            raise UsageError(f"-D {name}: a symbolic size is given a number, not an expression")
    networks = []
    with collector.paused():
        for definition in chosen:
            own = {p.name.name for p in definition.node.params}
            mine = {k: v for k, v in overrides.items() if k in own}
            sizes = {k: v for k, v in overrides.items() if k in declared_sizes(definition)}
            if sizes and not elaborator.sizes_follow_rules(definition, mine, sizes):
                continue
            result = elaborator.network_of(definition, mine, sizes)
            if result is not None:
                networks.append(result)
    return networks, elaborator.diagnostics


def declared_sizes(definition: Definition) -> dict[str, Span]:
    """The symbolic sizes a network's inputs declare (`H` and `W` in `in x: [3, H, W]`), and
    where each is first written."""
    params = {p.name.name for p in definition.node.params}
    found: dict[str, Span] = {}
    for stmt in definition.node.body:
        if isinstance(stmt, ast.Input) and stmt.type is not None:
            for size in stmt.type.dims:
                if (
                    isinstance(size, ast.Name)
                    and size.id not in params
                    and size.id not in definition.file.constants
                    and size.id != BATCH_NAME
                ):
                    found.setdefault(size.id, size.span)
    return found


def _conjuncts(test: ast.Expr) -> list[ast.Expr]:
    """`a and b and c` as its parts: an assert states each."""
    if isinstance(test, ast.Logic) and test.op == "and":
        return [*_conjuncts(test.left), *_conjuncts(test.right)]
    return [test]


def _nearest(name: str, value: int, rule: SizeRule) -> str:
    """`the nearest sizes that follow it are 96 and 112`."""
    below = next((v for v in range(value - 1, 0, -1) if rule.admits(v)), None)
    above = next(
        v
        for v in range(value + 1, value + 2 * rule.residues.modulus + rule.least)
        if rule.admits(v)
    )
    if below is None:
        return f"the least {name} that follows it is {above}"
    return f"the nearest sizes that follow it are {name}={below} and {name}={above}"


def _inputs_span(node: ast.Definition) -> Span | None:
    """Where a network declares its inputs: the first `in` through the last."""
    inputs = [stmt.span for stmt in node.body if isinstance(stmt, ast.Input)]
    return inputs[0].to(inputs[-1]) if inputs else None


def _index_origins(
    node: ast.Definition, positional: list[BoundArg], keywords: dict[str, BoundArg]
) -> dict[str, pv.Expr]:
    """The arguments of a copy of a repeat that read the copy's index, by parameter: their
    provenance shared by every copy (BoundArg.index_origin)."""
    given = {**dict(zip((p.name.name for p in node.params), positional, strict=False)), **keywords}
    return {name: a.index_origin for name, a in given.items() if a.index_origin is not None}


def _bound_to(layer: OpLayer, name: str) -> OpLayer:
    """``layer`` bound to the parameter ``name``. One the caller had from a parameter of its
    own is passed on through that parameter: the provenance of its arguments stays in the
    terms of the caller that wrote it."""
    if layer.given is None:
        return replace(layer, given=name)
    return replace(layer, given=name, passed=(*layer.passed, layer.given))


def _moved(layer: OpLayer, move: Callable[[pv.Expr], pv.Expr | None]) -> OpLayer:
    """``layer`` with the provenance of each argument it binds moved by ``move``."""
    args = tuple(a if a.origin is None else replace(a, origin=move(a.origin)) for a in layer.args)
    return replace(layer, args=args)


def _no_size(name: str, axis: int) -> None:
    """Parameters' defaults read no tensor sizes."""
    return None


def _has_tensors(value: Any) -> bool:
    if isinstance(value, tuple):
        return any(_has_tensors(v) for v in value)
    return isinstance(value, Tensor)


def _as_input(tensor: Tensor, name: str) -> Tensor:
    """A tensor as the block it is given to sees it: each size is that of input ``name``."""
    if tensor.type is None:
        return Tensor(tensor.ref, None, tensor.span, tensor.dims)
    dims = tuple(pv.Size(name, axis) for axis in range(tensor.type.rank))
    return Tensor(tensor.ref, tensor.type, tensor.span, dims)  # not replace: once per instance


def _to_caller(
    values: list[Any], args: dict[str, pv.Expr], inputs: dict[str, Tensor]
) -> list[Any]:
    """A block instance's values with their sizes' provenance moved into the caller's
    namespace (parameters by the call's arguments, input sizes by the caller's sizes)."""

    def size(name: str, axis: int) -> pv.Expr | None:
        return inputs[name].dim(axis)

    # the caller's literals, which most sizes a block gives back are arithmetic on
    known = {name: arg.value for name, arg in args.items() if type(arg) is pv.Lit}
    known_sizes = {
        (name, axis): dim.value
        for name, tensor in inputs.items()
        for axis, dim in enumerate(tensor.dims or ())
        if type(dim) is pv.Lit
    }

    def moved(dim: pv.Expr) -> pv.Expr | None:
        literal = pv.folded(dim, known, known_sizes)
        return literal if literal is not None else pv.substitute(dim, args, size)

    def move(tensor: Tensor) -> Tensor:  # a choice of the block is nothing to its caller
        if tensor.dims is None:
            return Tensor(tensor.ref, tensor.type, tensor.span)
        dims = tuple(None if d is None else moved(d) for d in tensor.dims)
        return Tensor(tensor.ref, tensor.type, tensor.span, dims)

    return [
        tuple(move(t) for t in value) if isinstance(value, tuple) else move(value)
        for value in values
    ]
