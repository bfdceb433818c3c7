"""`init` rules: from what the spec wrote to the parameters each rule initialises.

A rule is read where it is written (so `normal(std=0.02 / sqrt(2 * layers))` sees the block's
or network's parameters) and resolved once the network is complete, because it may name
layers defined further down. Targets:

- an op kind and a parameter, `init conv2d.weight: ...`, or per parameter,
  `init batchnorm2d: weight=1, bias=0`: every layer of that kind in the rule's scope;
- a layer (or module) path, `init fc.bias: zeros`, `init layer1.weight: ...`;
- a quoted glob over parameter paths, `init "layer*.*.bn2.weight": zeros`.

A scheme without a parameter name initialises `weight`. Rules apply in the order elaboration
meets them (the file's top-level rules first, then the network's body in order, a block's
rules where the block is used), so a later rule overrides an earlier one. The scope of a rule
written in a block is that block instance.
"""

from __future__ import annotations

import contextlib
import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from archc import inits
from archc.errors import Diagnostic, Span
from archc.ops import lookup
from archc.ops.spec import HELD
from archc.pysource.exprs import literal
from archc.semantics import provenance as pv
from archc.semantics.expressions import ElabError
from archc.semantics.ir import Network, Node, join_path
from archc.semantics.program import did_you_mean
from archc.semantics.values import describe
from archc.syntax import ast

DEFAULT_PARAMETER = "weight"


@dataclass(frozen=True)
class Scheme:
    """A validated scheme with its arguments, as one rule (or one parameter of it) wrote it."""

    scheme: inits.Scheme
    args: inits.InitArgs
    span: Span
    # each argument's provenance in the namespace of the body the rule is written in
    origins: dict[str, pv.Expr] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """What a rule names, resolved where it is read: a quoted ``glob`` over paths below the
    rule's scope; or a dotted path's ``parts``, whose first names an op kind (``op``: every
    layer of that kind, `conv2d.weight`) or else a layer or module (`fc.bias`)."""

    span: Span
    glob: str | None = None
    parts: tuple[str, ...] = ()
    op: str | None = None


@dataclass(frozen=True)
class Rule:
    """An `init` rule read in its scope; ``schemes`` maps a parameter (None: default) to it."""

    target: Target
    scope: str
    schemes: dict[str | None, Scheme]
    span: Span


@dataclass(frozen=True)
class Assignment:
    """One parameter of one layer, initialised by one rule."""

    node: Node
    parameter: str
    scheme: Scheme
    rule: Rule


Evaluate = Callable[[ast.Expr], Any]
Origin = Callable[[ast.Expr], "pv.Expr | None"]
Fail = Callable[..., Exception]


def read_rule(
    stmt: ast.InitRule, scope: str, evaluate: Evaluate, error: Fail, origin: Origin
) -> Rule:
    """The rule as written, its schemes evaluated and validated (raises via ``error``), each
    argument with its provenance (``origin``)."""
    if stmt.scheme is not None:
        schemes = {None: _scheme(stmt.scheme, evaluate, error, origin)}
    else:
        schemes = {
            a.name.name: _scheme(a.value, evaluate, error, origin)
            for a in stmt.per_param
            if a.name
        }
    return Rule(_target(stmt.target), scope, schemes, stmt.span)


def _target(written: ast.Path | ast.Pattern) -> Target:
    if isinstance(written, ast.Pattern):
        return Target(written.span, glob=written.glob)
    op = lookup(written.parts[0])
    return Target(written.span, parts=written.parts, op=op.name if op is not None else None)


def _scheme(expr: ast.Expr, evaluate: Evaluate, error: Fail, origin: Origin) -> Scheme:
    name: Any
    keywords: dict[str, Any] = {}
    positional: list[Any] = []
    written: dict[str | int, ast.Expr] = {}  # each argument as written, by name or position
    if isinstance(expr, ast.Name):
        # a scheme's name; or a value in scope (a constant); else a misspelt scheme
        name = expr.id
        if name not in inits.names():
            with contextlib.suppress(ElabError):
                name = evaluate(expr)
            if not isinstance(name, str):
                written[0] = expr
    elif isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name):
        name = expr.func.id
        for arg in expr.args:
            value = evaluate(arg.value)
            if arg.name is None:
                written[len(positional)] = arg.value
                positional.append(value)
            else:
                written[arg.name.name] = arg.value
                keywords[arg.name.name] = value
    else:
        name = evaluate(expr)  # a number: a constant
        written[0] = expr
    given = {0: name} if not isinstance(name, str) else {}
    for key, value in [*given.items(), *enumerate(positional), *keywords.items()]:
        _check_plain(value, written[key], error)
    try:
        scheme, args = inits.resolve_scheme(name, keywords, positional)
    except inits.SchemeError as exc:
        span = _argument_span(expr, exc.arg)
        raise error("A250", exc.message, span, label="invalid init", help=exc.help) from None
    # a plain number is the value of a constant scheme; positions bind in the scheme's order
    order = ("value",) if not isinstance(name, str) else scheme.positional
    named = {order[k] if isinstance(k, int) else k: e for k, e in written.items()}
    origins = {k: o for k, e in named.items() if (o := origin(e)) is not None}
    return Scheme(scheme, args, expr.span, origins)


def _check_plain(value: Any, expr: ast.Expr, error: Fail) -> None:
    """A scheme's arguments are numbers and words (a layer, a function or a symbolic size has
    no place in `nn.init`): refused at the argument, which the caret shows as written."""
    try:
        literal(value)
    except TypeError:
        raise error(
            "A250",
            f"an init scheme takes numbers and words, not {describe(value)}",
            expr.span,
            label=f"{describe(value)}",
            help="write a number, or compute one with operators and the built-in functions "
            "(`sqrt`, `min`, `max`, ...)",
        ) from None


def _argument_span(expr: ast.Expr, name: str | None) -> Span:
    if isinstance(expr, ast.Call):
        for arg in expr.args:
            if arg.name is not None and arg.name.name == name:
                return arg.span
        return expr.func.span if name is None else expr.span
    return expr.span


def resolve(network: Network, rules: list[Rule]) -> tuple[list[Assignment], list[Diagnostic]]:
    """Every (layer, parameter) each rule initialises, in rule order, and the problems found."""
    assignments: list[Assignment] = []
    problems: list[Diagnostic] = []
    ops = [n for n in network.nodes() if n.kind == "op"]
    for rule in rules:
        targets = _targets(ops, rule)
        if not targets:
            problems.append(
                Diagnostic(
                    "A253",
                    "this `init` rule matches no layer",
                    rule.target.span,
                    label="nothing matches",
                    severity="warning",
                    help=_target_help(network, rule),
                )
            )
            continue
        for node, parameter in targets:
            scheme = rule.schemes.get(parameter) or rule.schemes.get(None)
            if scheme is None:
                continue
            found = _check(node, parameter, scheme, rule)
            if found is not None:
                problems.append(found)
            else:
                assignments.append(Assignment(node, parameter, scheme, rule))
    return assignments, problems


def _targets(ops: list[Node], rule: Rule) -> list[tuple[Node, str]]:
    inside = [n for n in ops if _within(n.path, rule.scope)] if rule.scope else ops
    # A learned tensor held directly (`parameter`) is its layer's path: a rule names it whole.
    held = _held_targets([n for n in inside if HELD in n.params], rule)
    return held or _module_targets([n for n in inside if HELD not in n.params], rule)


def _held_targets(nodes: list[Node], rule: Rule) -> list[tuple[Node, str]]:
    if rule.target.glob is not None:
        glob = join_path(rule.scope, rule.target.glob)
        return [(n, HELD) for n in nodes if fnmatch.fnmatchcase(n.path, glob)]
    path = join_path(rule.scope, ".".join(rule.target.parts))
    return [(n, HELD) for n in nodes if n.path == path]


def _module_targets(nodes: list[Node], rule: Rule) -> list[tuple[Node, str]]:
    wanted = [p for p in rule.schemes if p is not None] or [DEFAULT_PARAMETER]
    if rule.target.glob is not None:
        glob = join_path(rule.scope, rule.target.glob)
        found = [
            (n, p) for n in nodes for p in n.params if fnmatch.fnmatchcase(f"{n.path}.{p}", glob)
        ]
        found += [(n, p) for n in nodes if fnmatch.fnmatchcase(n.path, glob) for p in wanted]
        unique = {(n.id, p): (n, p) for n, p in found}
        return list(unique.values())
    parts = rule.target.parts
    if rule.target.op is not None:
        named = ".".join(parts[1:])
        kind = [
            (n, p) for n in nodes if n.op == rule.target.op for p in ([named] if named else wanted)
        ]
        # `init linear.bias: zeros` passes over the linear layers built without a bias
        present = [(n, p) for n, p in kind if p in n.params]
        return present or kind[:1]
    for cut in range(len(parts), 0, -1):
        path = join_path(rule.scope, ".".join(parts[:cut]))
        named = ".".join(parts[cut:])
        inside = [n for n in nodes if n.path == path or n.path.startswith(path + ".")]
        if inside:
            return [(n, p) for n in inside for p in ([named] if named else wanted)]
    return []


def _within(path: str, scope: str) -> bool:
    return not scope or path.startswith(scope + ".")


def _check(node: Node, parameter: str, scheme: Scheme, rule: Rule) -> Diagnostic | None:
    if parameter not in node.params:
        known = list(node.params)
        return Diagnostic(
            "A251",
            f"`{node.path}` ({node.op}) has no parameter `{parameter}`",
            rule.target.span,
            label="no such parameter",
            help=did_you_mean(parameter, known)
            or f"its parameters are {', '.join(known) or 'none'}",
        )
    problem = scheme.scheme.check_shape(node.params[parameter], scheme.args)
    if problem is None:
        return None
    return Diagnostic(
        "A252",
        f"cannot initialise `{node.path}.{parameter}` {node.params[parameter]}: {problem}",
        scheme.span,
        label="does not fit this tensor",
    )


def _target_help(network: Network, rule: Rule) -> str | None:
    if rule.target.glob is not None:
        return "the glob is matched against parameter paths such as `layer1.0.conv1.weight`"
    paths = [n.path for n in network.nodes() if n.kind == "op"]
    return did_you_mean(".".join(rule.target.parts), paths)


def activation_warnings(network: Network, assignments: list[Assignment]) -> list[Diagnostic]:
    """Warn where a weight's scheme assumes another nonlinearity than the one that follows."""
    warned: set[tuple[int, int]] = set()
    found = []
    for assignment in assignments:
        if assignment.parameter != DEFAULT_PARAMETER:
            continue
        follower = _next_activation(network, assignment.node)
        if follower is None:
            continue
        slope = getattr(follower.args, "negative_slope", None)
        message = inits.gain_mismatch(
            assignment.scheme.scheme, assignment.scheme.args, follower.op, slope
        )
        key = (id(assignment.rule), id(follower.op))
        if message and key not in warned:
            warned.add(key)
            found.append(
                Diagnostic(
                    "A254",
                    message,
                    assignment.scheme.span,
                    label="scheme and activation disagree",
                    severity="warning",
                    notes=(
                        f"`{follower.path}` follows `{assignment.node.path}` at {follower.span}",
                    ),
                )
            )
    return found


def _next_activation(network: Network, node: Node) -> Node | None:
    consumers = network.consumers(node.id)
    if len(consumers) != 1:
        return None
    follower = network.node(consumers[0])
    op = lookup(follower.op)
    return follower if op is not None and op.family == "activation" else None
