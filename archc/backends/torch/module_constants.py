"""The spec's top-level constants as constants of the generated module.

`momentum = 1 - 0.9997` in the spec is `MOMENTUM = 1 - 0.9997` in the module, and a value that
is the constant reads `momentum=MOMENTUM` (provenance remembers the constant a literal is:
archc/semantics/constants.py). Each constant gets its name in the module's namespace, in upper
case as PEP 8 writes module constants, before any class is written, so that no constructor
parameter hides it; the module defines those its classes read, each after the constants its
definition reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from archc.backends.torch.naming import Namespace, identifier
from archc.backends.torch.values import Expressor
from archc.pysource.layout import lay_out, structure
from archc.semantics import provenance as pv
from archc.semantics.ir import Network, Signature

if TYPE_CHECKING:
    from archc.backends.torch.module_functions import Defined

Key = tuple[str, str]  # a constant's file and name


@dataclass(frozen=True)
class ModuleScope:
    """What every class of the generated module sees: the module's names, which no name a
    class hands out hides, and the Python name of each spec constant."""

    names: frozenset[str]
    constants: Mapping[Key, str]
    functions: Mapping[Key, Defined] = field(default_factory=dict)


def declared(networks: list[Network], names: Namespace) -> Namespace:
    """The names ``names`` leaves, less those a definition gives one of its parameters,
    which a module-level name leaves to it (`block B(MOMENTUM)` keeps its keyword; the
    constant `momentum` is `MOMENTUM_`)."""
    params = {
        identifier(param.name)
        for network in networks
        for module in network.modules.values()
        if module.signature is not None
        for param in module.signature.params
    }
    return Namespace(names.taken | params)


def constant_names(networks: list[Network], names: Namespace) -> dict[Key, str]:
    """A module-level name for each constant the networks' elaboration evaluated, taken in
    ``names``, none a parameter's (:func:`declared`)."""
    free = declared(networks, names)
    named: dict[Key, str] = {}
    for network in networks:
        for constant in network.constants:
            if constant.key not in named:
                named[constant.key] = names.name(free.name(identifier(constant.name).upper()))
    return named


def definitions(
    used: Mapping[Key, pv.Constant], scope: ModuleScope, signature: Signature
) -> tuple[list[str], set[str]]:
    """The statements that define the ``used`` constants, each after those it reads, and the
    standard modules their expressions import. ``signature`` is the module's own scope, which
    declares no parameter."""
    writer = Expressor(signature, [{}], [[]], [], Namespace(), module_constants=scope.constants)
    lines: list[str] = []
    done: set[Key] = set()

    def define(constant: pv.Constant) -> None:
        if constant.key in done:
            return
        done.add(constant.key)
        for read in _read(constant.definition):
            if read.key in scope.constants:
                define(read)
        value = writer.written(constant.definition)
        assert value is not None, "a constant's definition is plain data"
        lines.extend(lay_out("", f"{scope.constants[constant.key]} = ", structure(value)))

    for constant in used.values():
        define(constant)
    return lines, writer.imports


def _read(expr: pv.Expr) -> list[pv.Constant]:
    """The constants ``expr`` reads, in order."""
    if isinstance(expr, pv.Lit):
        return [expr.constant] if expr.constant is not None else []
    if isinstance(expr, pv.Apply):
        return [c for arg in expr.args for c in _read(arg)]
    return []
