"""The spec's `fn`s as functions of the generated module.

`fn multiple_of(v, divisor=8) = ...` in the spec is `def multiple_of(v, divisor=8):` in the
module, and a value a call computes reads `multiple_of(32 * alpha)`, as the spec wrote it
(provenance remembers the call: provenance.Call), instead of the function's body written out at
every use. Each function gets its name in the module's namespace before any class is written,
as a constant does (module_constants.py); its parameters are named apart from every name of the
module, so that none hides a function, a constant or an import the body reads. A function whose
body has no Python form here is not defined, and its calls are written out as before.

A default Python can compute once, when the function is defined (one reading no parameter), is
the parameter's default; one reading an earlier parameter (`least=divisor`) cannot be, so that
parameter, and every one before it, has none, and each call passes it, computed from the call's
own arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from archc.backends.torch.module_constants import declared
from archc.backends.torch.naming import Namespace, identifier
from archc.backends.torch.values import Expressor
from archc.pysource.layout import INDENT, LINE_LENGTH, Arg, Call, lay_out, structure
from archc.semantics import provenance as pv
from archc.semantics.ir import Network, Signature

Key = tuple[str, str]  # a function's file and name


@dataclass(frozen=True)
class Named:
    """A `fn` the module may define: its provenance, its name in the module, and the types
    of the values elaboration gave each parameter and saw it give (the last)."""

    function: pv.Function
    name: str
    kinds: tuple[frozenset[type], ...]


@dataclass(frozen=True)
class Defined:
    """A `fn` as the module defines it: its name, its parameters' names, the Python default
    of each (None: every call passes it), the annotation of each and of its result (None:
    none), its body as Python, and the functions, constants and standard modules the
    definition reads."""

    name: str
    params: tuple[str, ...]
    defaults: tuple[str | None, ...]
    hints: tuple[str | None, ...]
    returns: str | None
    body: str
    calls: frozenset[Key] = frozenset()
    constants: Mapping[Key, pv.Constant] = field(default_factory=dict)
    imports: frozenset[str] = frozenset()


def function_names(networks: list[Network], names: Namespace) -> dict[Key, Named]:
    """Each `fn` whose calls the networks' provenance remembers, with a module-level name
    taken in ``names``, none a parameter's (module_constants.declared)."""
    free = declared(networks, names)
    named: dict[Key, Named] = {}
    for network in networks:
        for function in network.functions:
            kinds = network.function_types.get(function.key, ())
            if function.key in named:  # the types another network's elaboration saw too
                seen = named[function.key].kinds
                if len(seen) == len(kinds):
                    kinds = tuple(a | b for a, b in zip(seen, kinds, strict=True))
                named[function.key] = Named(function, named[function.key].name, kinds)
            else:
                name = names.name(free.name(identifier(function.name)))
                named[function.key] = Named(function, name, kinds)
    return named


def defined_functions(
    named: Mapping[Key, Named],
    taken: frozenset[str],
    constants: Mapping[Key, str],
    signature: Signature,
) -> dict[Key, Defined]:
    """How the module defines each ``named`` function whose body has a Python form, callees
    first. ``taken`` holds every name of the module, ``constants`` the constants' names, and
    ``signature`` is the module's own scope, which declares no parameter."""
    functions = {key: each.function for key, each in named.items()}
    defined: dict[Key, Defined] = {}
    done: set[Key] = set()

    def define(function: pv.Function) -> None:
        if function.key in done:
            return
        done.add(function.key)
        for callee in _called(function):
            if callee.key in functions:
                define(callee)
        found = _defined(named[function.key], taken, constants, defined, signature)
        if found is not None:
            defined[function.key] = found

    for key in sorted(functions):
        define(functions[key])
    return defined


def _defined(
    named: Named,
    taken: frozenset[str],
    constants: Mapping[Key, str],
    defined: Mapping[Key, Defined],
    signature: Signature,
) -> Defined | None:
    function = named.function
    local = Namespace(taken)
    params = {param: local.name(param) for param in function.params}
    writer = Expressor(
        signature,
        [{}],
        [[]],
        [],
        Namespace(),
        module_constants=constants,
        module_functions=defined,
        collect=False,
    )
    body = writer.written(function.body, params.__getitem__)
    if body is None:
        return None
    defaults: list[str | None] = [None] * len(function.defaults)
    for position in reversed(range(len(function.defaults))):  # Python's: a trailing run
        default = function.defaults[position]
        if default is None or pv.reads(default):
            break
        defaults[position] = writer.written(default, params.__getitem__)
        if defaults[position] is None:
            break
    hints = [_hint(kinds) for kinds in named.kinds]
    if len(hints) != len(params) + 1:  # no call was elaborated
        hints = [None] * (len(params) + 1)
    return Defined(
        named.name,
        tuple(params.values()),
        tuple(defaults),
        tuple(hints[:-1]),
        hints[-1],
        body,
        frozenset(writer.functions_used),
        dict(writer.constants_used),
        frozenset(writer.imports),
    )


def _hint(kinds: frozenset[type]) -> str | None:
    """The annotation of a value of the ``kinds`` elaboration saw: a whole number, a number
    (PEP 484's float takes an int), a truth value or a word; None for anything else."""
    if kinds == {bool} or kinds == {str}:
        return next(iter(kinds)).__name__
    if kinds and kinds <= {int, float}:
        return "float" if float in kinds else "int"
    return None


def _called(function: pv.Function) -> list[pv.Function]:
    """The functions ``function``'s body and defaults call, in order."""
    found: list[pv.Function] = []
    for expr in [function.body, *(d for d in function.defaults if d is not None)]:
        found += calls_in(expr)
    return found


def calls_in(expr: pv.Expr) -> list[pv.Function]:
    """The functions whose calls ``expr`` remembers, in order."""
    call = getattr(expr, "call", None)
    found = []
    if call is not None:
        found.append(call.function)
        for arg in call.args:
            found += calls_in(arg)
    if isinstance(expr, pv.Apply):
        for arg in expr.args:
            found += calls_in(arg)
    return found


def definitions(used: set[Key], defined: Mapping[Key, Defined]) -> list[str]:
    """The `def` statements of the ``used`` functions, each after those it calls."""
    lines: list[str] = []
    done: set[Key] = set()

    def define(key: Key) -> None:
        if key in done:
            return
        done.add(key)
        function = defined[key]
        for callee in sorted(function.calls):
            define(callee)
        params = tuple(
            Arg(_parameter(param, default, hint))
            for param, default, hint in zip(
                function.params, function.defaults, function.hints, strict=True
            )
        )
        if lines:
            lines.extend(["", ""])
        returns = "" if function.returns is None else f" -> {function.returns}"
        lines.extend(lay_out("", "def ", Call(function.name, params), f"{returns}:"))
        lines.extend(_returned(function.body))

    for key in sorted(used):
        define(key)
    return lines


def _parameter(name: str, default: str | None, hint: str | None) -> str:
    """A parameter of a `def` as ruff writes it: `v`, `v=8`, `v: int`, `v: int = 8`."""
    if hint is None:
        return name if default is None else f"{name}={default}"
    return f"{name}: {hint}" if default is None else f"{name}: {hint} = {default}"


def _returned(value: str) -> list[str]:
    """`return value`, a value too long for its line inside parentheses, as ruff writes it
    (a conditional expression split before its `if` and its `else`)."""
    lines = lay_out(INDENT, "return ", structure(value))
    if all(len(line) <= LINE_LENGTH for line in lines):
        return lines
    inside = lay_out(INDENT * 2, "", structure(value, nested=True))
    return [f"{INDENT}return (", *inside, f"{INDENT})"]


def closure(used: set[Key], defined: Mapping[Key, Defined]) -> tuple[set[Key], set[str]]:
    """The ``used`` functions and every function they call, and the standard modules their
    definitions import."""
    found: set[Key] = set()
    imports: set[str] = set()
    pending = list(used)
    while pending:
        key = pending.pop()
        if key not in found:
            found.add(key)
            imports |= defined[key].imports
            pending += defined[key].calls
    return found, imports
