"""A definition's signature as the IR records it (:class:`archc.semantics.ir.Signature`).

Backends write a class's constructor from it (parameter names, defaults, inputs in order)
without reading the syntax tree. A default is recorded as its provenance, resolved in the
definition's scope as binding the parameters resolves it: the parameters before it are
parameters, a constant is its value.
"""

from __future__ import annotations

from collections.abc import Callable

from archc.semantics import provenance as pv
from archc.semantics.context import Body
from archc.semantics.ir import Parameter, Signature
from archc.semantics.program import Definition
from archc.semantics.values import UNKNOWN
from archc.syntax import ast

Origin = Callable[[ast.Expr, Body], "pv.Expr | None"]


def signature_of(definition: Definition, origin: Origin) -> Signature:
    """``definition``'s signature, each default's provenance given by ``origin``."""
    node = definition.node
    body = Body(definition.file)
    params = []
    for param in node.params:
        default = None if param.default is None else origin(param.default, body)
        params.append(Parameter(param.name.name, default))
        body.bind(param.name.name, UNKNOWN, param.span, pv.Param(param.name.name))
    inputs = tuple(s.name.name for s in node.body if isinstance(s, ast.Input))
    kind = "network" if node.kind == "network" else "block"
    return Signature(definition.name, kind, tuple(params), inputs, node.name.span)
