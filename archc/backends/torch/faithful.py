"""Which spec parameters a network's generated class may take as constructor arguments.

A network class takes the spec's parameters its code computes with, so `GPT2(layers=24)` builds
what `-D layers=24` compiles. Values follow a parameter through their provenance; structure
cannot, unless a block's class makes the choice itself (optional.py): a parameter that the spec
uses to choose between layers (`if width > 64 then ... else ...`), or that an op uses to choose
the form of what it writes rather than as a value written into it (an LSTM's
`return_sequence`), is written as its value instead, and `-D` changes it. Provenance says which
parameters each such choice reads, so no second compilation is needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from archc.backends.torch.classes import ClassInfo
from archc.backends.torch.optional import optionals
from archc.backends.torch.structure import traced_inputs
from archc.ops import lookup
from archc.ops.schema import Symbolic
from archc.ops.spec import Inferred
from archc.semantics import provenance as pv
from archc.semantics.ir import Module, Network, Node


def fixed_parameters(network: Network, classes: Mapping[int, ClassInfo]) -> frozenset[str]:
    """The parameters of ``network`` that its class must write as values, its blocks'
    instances served by ``classes`` (classes.assign_classes)."""
    every = set(network.args)
    chosen: set[str] = set()

    def read(expr: pv.Expr | None, path: str) -> None:
        lifted = expr if expr is None or not path else network.lift(expr, path)
        chosen.update(every if lifted is None else pv.reads(lifted))

    for module in network.modules.values():
        for guard in structural_guards(network, module, classes):
            read(guard, module.path)
    for node in network.nodes():
        if node.kind == "op":
            for origin in structural_arguments(node):
                read(origin, network.instance_of(node).path)
    return frozenset(chosen & every)


def structural_guards(
    network: Network, module: Module, classes: Mapping[int, ClassInfo]
) -> list[pv.Expr | None]:
    """The tests of ``module``'s body whose choice its class does not make itself: a class
    that builds both alternatives of a choice under its test (optional.py) follows any value
    of the parameters the test reads, though this instance could not build one of them (a
    residual `y + x` where the widths differ) where another instance of the class built it
    (the class is written from the instance that shows most of its choices). A choice between
    two tensors builds nothing: the layers after it are built for the ways its instances went
    (the class refuses the others)."""
    guards = list(module.guards)
    if not network.within(module.path):  # an instance of no layers has no place in forward
        return guards
    own = optionals(network, module) or []
    info = classes.get(id(module))
    shown = info.optionals[info.template] if info is not None and info.optionals else own
    for optional, written in zip(own, shown if len(shown) == len(own) else own, strict=True):
        chosen = written if written.guard == optional.guard else optional
        if "unbuilt" not in (chosen.then.kind, chosen.orelse.kind) and not (
            chosen.between_tensors
        ):
            guards.remove(optional.guard)
    return guards


def structural_arguments(node: Node) -> list[pv.Expr]:
    """The provenance of each argument the spec computes from parameters that the op may use
    to choose its form: a truth value or a word (`bidirectional`, `padding="same"`), which a
    shape rule may branch on, and any argument its emission does not carry into a value it
    writes."""
    op = lookup(node.op)
    assert op is not None
    args, inferred = traced_inputs(node)
    ctor = op.torch_module(args, inferred)
    if ctor is not None:
        written = [*ctor.args, *(value for _, value in ctor.kwargs)]
    else:
        template = op.torch_expr(args, inferred)
        written = [value for _, value in template.values] if template is not None else []
    carried = [origin for value in written for origin in _origins(value)]
    return [
        origin
        for name, origin in node.arg_origins.items()
        if not isinstance(origin, pv.Lit)
        and (
            (_choice(getattr(node.args, name)) and not _either_way(node, name, args, inferred))
            or not _carried(origin, carried)
        )
    ]


def structural_choices(node: Node) -> list[tuple[pv.Expr, Any]]:
    """The truth values and words among :func:`structural_arguments`, each with the value the
    op was given: what the op's form was chosen with."""
    found = structural_arguments(node)
    return [
        (origin, getattr(node.args, name))
        for name, origin in node.arg_origins.items()
        if origin in found and _choice(getattr(node.args, name))
    ]


def _either_way(node: Node, name: str, args: Any, inferred: Inferred) -> bool:
    """Whether the truth value ``name`` is written as a value for either of its values: the
    provenance of what the op gives holds for both (Node.flags, semantics/flags.py), and the
    op is written with the same module, called alike, or the same expression."""
    if name not in node.flags:
        return False
    op = lookup(node.op)
    assert op is not None
    other = node.args.replace(**{name: not getattr(node.args, name)})
    mine, theirs = op.torch_module(args, inferred), op.torch_module(other, inferred)
    if mine is not None or theirs is not None:
        return (
            mine is not None
            and theirs is not None
            and (mine.path, mine.call, mine.cached_call, mine.held)
            == (theirs.path, theirs.call, theirs.cached_call, theirs.held)
        )
    mine_expr, theirs_expr = op.torch_expr(args, inferred), op.torch_expr(other, inferred)
    return (
        mine_expr is not None
        and theirs_expr is not None
        and mine_expr.text == theirs_expr.text
        and [key for key, _ in mine_expr.values] == [key for key, _ in theirs_expr.values]
    )


def _choice(value: Any) -> bool:
    """A value a rule may branch on rather than compute with (a truth value, a word)."""
    if isinstance(value, tuple):
        return any(_choice(item) for item in value)
    return isinstance(value, bool | str)


def _carried(origin: pv.Expr, carried: list[pv.Expr]) -> bool:
    """Whether a value written carries ``origin``: as (part of) its provenance, or, for a
    tuple, item by item."""
    if isinstance(origin, pv.Lit) or any(_within(origin, c) for c in carried):
        return True
    if isinstance(origin, pv.Apply) and origin.fn == "tuple":
        return all(_carried(item, carried) for item in origin.args)
    return False


def _origins(value: Any) -> list[pv.Expr]:
    if isinstance(value, Symbolic):
        return [value.origin]
    if isinstance(value, tuple):
        return [origin for item in value for origin in _origins(item)]
    origin = pv.origin_of(value)
    return [] if origin is None or isinstance(origin, pv.Lit) else [origin]


def _within(part: pv.Expr, whole: pv.Expr) -> bool:
    """Whether ``part`` is ``whole`` or one of its sub-expressions."""
    if part == whole:
        return True
    return isinstance(whole, pv.Apply) and any(_within(part, arg) for arg in whole.args)
