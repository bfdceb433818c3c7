"""Writing a value that differs between the instances of a class as a Python expression.

A generated class serves every instance of its block, so a constructor argument such as
``in_channels`` cannot be a number when the instances disagree. :class:`Expressor` writes a
value's provenance as Python in the class (:meth:`Expressor.origin`). A value with no
provenance the same in every instance is never matched to a parameter that happens to equal
it (:meth:`Expressor.value`): a block's class takes it as a constructor parameter of its own,
whose value each instance's parent passes in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from archc.backends.torch.naming import Namespace

if TYPE_CHECKING:
    from archc.backends.torch.module_functions import Defined
from archc.dims import TensorType
from archc.pysource.exprs import PRECEDENCE, literal, power, wrap
from archc.semantics import provenance as pv
from archc.semantics.expressions import BUILTINS
from archc.semantics.ir import Signature


@dataclass
class Param:
    """A constructor parameter of a generated class and its value in each instance."""

    name: str
    values: list[Any]
    default: str | None = None  # Python source of the default, when the spec gives one
    # "input" (a size of an input), "block" (declared), "layer" (a declared parameter whose
    # value is a layer: ``values`` hold the constructor each instance is given, given.py),
    # "extra"
    kind: str = "block"
    source: str = ""  # for a declared parameter, its name in the spec
    default_value: Any = None
    size_of: tuple[int, int] | None = None  # for an input's size: (input position, axis)

    @property
    def annotation(self) -> str:
        if self.kind == "layer":
            optional = " | None" if self.default == "None" else ""
            return f"Callable[..., nn.Module]{optional}"
        sample = self.values[0] if self.values else 0
        if isinstance(sample, bool):
            return "bool"
        if isinstance(sample, int):
            return "int"
        if isinstance(sample, float):
            return "float"
        if isinstance(sample, str):
            return "str"
        if isinstance(sample, tuple):
            return "tuple[int, ...]"
        return "object"


@dataclass
class Expressor:
    """Expressions in the scope of one generated class (see the module docstring)."""

    definition: Signature  # of the block or network
    param_values: list[dict[str, Any]]  # the declared parameters' values, per instance
    input_types: list[list[TensorType | None]]  # the class inputs' types, per instance
    input_names: list[str]
    names: Namespace
    fixed: frozenset[str] = frozenset()  # the network's parameters written as their values
    # input sizes the body equates with expressions of its parameters (emit._equal_sizes)
    equal: dict[pv.Size, pv.Expr] = field(default_factory=dict)
    params: list[Param] = field(default_factory=list)
    unexplained: bool = False  # a value without provenance was written as its number
    imports: set[str] = field(default_factory=set)  # modules the written expressions use
    # the numbers the body names (Module.locals), which __init__ computes once under their
    # names: by provenance, the name; and those written so far, by name, as Python
    named: dict[pv.Expr, str] = field(default_factory=dict)
    hoisted: dict[str, tuple[str, str]] = field(default_factory=dict)
    # the spec's constants by file and name, as the module names them (module_constants.py),
    # and those written so far
    module_constants: Mapping[tuple[str, str], str] = field(default_factory=dict)
    constants_used: dict[tuple[str, str], pv.Constant] = field(default_factory=dict)
    # the spec's `fn`s the module defines, by file and name (module_functions.py), and those
    # called so far
    module_functions: Mapping[tuple[str, str], Defined] = field(default_factory=dict)
    functions_used: set[tuple[str, str]] = field(default_factory=set)
    # whether integer arithmetic is collected (provenance.simplify, which takes parameters
    # for whole numbers): not in a function's body, whose parameters may be any number
    collect: bool = True
    # parameters that are a loop's variable where they are written (a copy's index)
    loop_variables: dict[str, str] = field(default_factory=dict)

    def name_values(self, named: tuple[tuple[str, pv.Expr], ...]) -> None:
        """Write ``named`` values by their names in ``__init__``; one the class does not
        compute from its parameters (a network's fixed ones fold it) stays a number."""
        for name, origin in named:
            folded = self.folded(origin)
            if isinstance(folded, pv.Apply) and _hashable(folded) and folded not in self.named:
                self.named[folded] = name

    def assignments(self) -> list[tuple[str, str]]:
        """``(variable, Python)`` for each named value ``__init__`` reads, each after those
        it reads."""
        return list(self.hoisted.values())

    def _function(self, name: str) -> str:
        """A built-in function's Python name (provenance records only the calls that reach
        the built-ins); its module is imported."""
        callee = BUILTINS[name].python
        if "." in callee:
            self.imports.add(callee.split(".")[0])
        return callee

    def _declared(self, name: str) -> Param:
        for param in self.params:
            if param.kind == "block" and param.source == name:
                return param
        declared = next(p for p in self.definition.params if p.name == name)
        values = [v[name] for v in self.param_values]
        # a default Python can write: a value, not an expression of other parameters
        fixed = declared.default if isinstance(declared.default, pv.Lit) else None
        written = fixed is not None and _literal_ok(fixed.value)
        if self.definition.kind == "network":
            # the network as compiled: `-D classes=10` makes 10 the default
            default: str | None = literal(values[0])
        else:
            default = self.written(fixed) if fixed is not None and written else None
        param = Param(
            self.names.name(name),
            values,
            default,
            "block",
            name,
            fixed.value if fixed is not None and written else None,
        )
        self.params.append(param)
        return param

    # --- provenance ------------------------------------------------------------------------------

    def origin(self, expr: pv.Expr, parameter: Callable[[str], str] | None = None) -> str | None:
        """A value's provenance (archc/semantics/provenance.py) as Python in this class: its
        parameters become constructor parameters (or what ``parameter`` writes for one, in a
        method other than ``__init__``), its input sizes constructor parameters the parent
        passes (`in_channels`); None where it has no Python form here."""
        written = self._origin(pv.simplify(self._fixed(expr)), parameter or self._parameter)
        return None if written is None else written[0]

    def written(self, expr: pv.Expr, parameter: Callable[[str], str] | None = None) -> str | None:
        """``expr`` as Python exactly as it is, nothing folded (a constant's definition, a
        function's body: ``parameter`` writes its parameters)."""
        written = self._origin(expr, parameter or self._parameter)
        return None if written is None else written[0]

    def folded(self, expr: pv.Expr) -> pv.Expr:
        """``expr`` with the parameters the class does not take as their values, simplified."""
        return pv.simplify(self._fixed(expr))

    def _fixed(self, expr: pv.Expr) -> pv.Expr:
        """``expr`` with the parameters the class does not take (a network's fixed ones) as
        their values, folded: `2 * growth` is written 24."""
        if isinstance(expr, pv.Param) and expr.name in self.fixed:
            return pv.Lit(self.param_values[0][expr.name])
        if isinstance(expr, pv.Apply):
            folded = pv.apply(expr.fn, *(self._fixed(arg) for arg in expr.args))
            if expr.call is None:
                return folded
            return pv.calling(folded, pv.moved_call(expr.call, self._fixed))
        if isinstance(expr, pv.Lit) and expr.call is not None:
            return pv.calling(expr, pv.moved_call(expr.call, self._fixed))
        return expr

    def _origin(self, expr: pv.Expr, parameter: Callable[[str], str]) -> tuple[str, int] | None:
        atom = PRECEDENCE["atom"]
        local = None
        if self.named and parameter == self._parameter and isinstance(expr, pv.Apply):
            local = self.named.get(expr) if _hashable(expr) else None
        variable = self._hoist(local, expr) if local is not None else None
        if variable is not None:
            return variable, atom
        call = getattr(expr, "call", None)
        written = None if call is None else self._call(call, parameter)
        if written is not None:
            return written
        if isinstance(expr, pv.Lit):
            constant = expr.constant
            if constant is not None and constant.key in self.module_constants:
                self.constants_used[constant.key] = constant
                return self.module_constants[constant.key], atom
            value = expr.value
            if not _literal_ok(value):
                return None
            negative = isinstance(value, int | float) and not isinstance(value, bool) and value < 0
            return literal(value), PRECEDENCE["unary"] if negative else atom
        if isinstance(expr, pv.Param):
            if expr.name in self.loop_variables:
                return self.loop_variables[expr.name], atom
            return parameter(expr.name), atom
        if isinstance(expr, pv.Size):
            if expr in self.equal:
                return self._origin(pv.simplify(self._fixed(self.equal[expr])), parameter)
            return self._size(expr.input, expr.axis), atom
        return self._apply(expr, parameter)

    def _call(self, call: pv.Call, parameter: Callable[[str], str]) -> tuple[str, int] | None:
        """A `fn`'s call, where the module defines the function: the arguments the call
        wrote, and those whose default Python's cannot compute (one reading an earlier
        parameter), positionally up to the first left to its default, then by name."""
        defined = self.module_functions.get(call.function.key)
        if defined is None:
            return None
        texts: list[str] = []
        skipped = False
        for arg, given, name, default in zip(
            call.args, call.given, defined.params, defined.defaults, strict=True
        ):
            if not given and default is not None:
                skipped = True
                continue
            part = self._origin(pv.simplify(arg) if self.collect else arg, parameter)
            if part is None:
                return None
            texts.append(f"{name}={part[0]}" if skipped else part[0])
        self.functions_used.add(call.function.key)
        return f"{defined.name}({', '.join(texts)})", PRECEDENCE["atom"]

    def _parameter(self, name: str) -> str:
        return self._declared(name).name

    def _hoist(self, name: str, expr: pv.Expr) -> str | None:
        """The variable ``__init__`` computes the named value ``expr`` in, from the class's
        parameters, after the named values it reads; None where it has no Python form."""
        if name in self.hoisted:
            return self.hoisted[name][0]
        del self.named[expr]  # written out in full here, reading other named values
        written = self._origin(expr, self._parameter)
        self.named[expr] = name
        if written is None:
            return None
        self.hoisted[name] = (self.names.name(name), written[0])
        return self.hoisted[name][0]

    def _size(self, name: str, axis: int) -> str:
        position = self.input_names.index(name)
        rank = self.input_types[0][position].rank  # type: ignore[union-attr]
        return self._input_param(position, axis, rank)

    def _apply(self, expr: pv.Apply, parameter: Callable[[str], str]) -> tuple[str, int] | None:
        parts = [self._origin(arg, parameter) for arg in expr.args]
        if any(part is None for part in parts):
            return None
        texts = [p[0] for p in parts]  # type: ignore[index]
        fn, levels = expr.fn, PRECEDENCE
        if fn == "tuple":
            return "(" + (texts[0] + "," if len(texts) == 1 else ", ".join(texts)) + ")", levels[
                "atom"
            ]
        if fn == "index":
            return f"{wrap(parts[0], levels['atom'])}[{texts[1]}]", levels["atom"]  # type: ignore[arg-type]
        if fn == "if":
            test, body, orelse = (wrap(p, levels["if"] + 1) for p in parts)  # type: ignore[arg-type]
            return f"{body} if {test} else {orelse}", levels["if"]
        if fn in pv.FUNCTIONS:
            return f"{self._function(fn)}({', '.join(texts)})", levels["atom"]
        if fn == "neg":
            return f"-{wrap(parts[0], levels['unary'])}", levels["unary"]  # type: ignore[arg-type]
        if fn == "not":
            return f"not {wrap(parts[0], levels['not'])}", levels["not"]  # type: ignore[arg-type]
        level = levels["compare" if fn in _COMPARISONS else fn]
        left, right = parts
        if fn == "**":  # right-associative, and binds tighter than a unary minus on its left
            return power(wrap(left, level + 1), wrap(right, level)), level  # type: ignore[arg-type]
        return f"{wrap(left, level)} {fn} {wrap(right, level + 1)}", level  # type: ignore[arg-type]

    def layer(self, name: str, ctors: list[Any], default: str | None) -> str:
        """The constructor parameter that takes the layer the spec's parameter ``name`` is
        given, ``ctors[i]`` building it in instance i (given.py), with ``default`` (Python)."""
        for param in self.params:
            if param.kind == "layer" and param.source == name:
                param.default = param.default or default  # where another layer showed it
                param.values = [a or b for a, b in zip(param.values, ctors, strict=True)]
                return param.name
        param = Param(self.names.name(name), ctors, default, kind="layer", source=name)
        self.params.append(param)
        return param.name

    # --- values ----------------------------------------------------------------------------------

    def value(self, values: list[Any], hint: str) -> str:
        """A value the IR gives no provenance for, ``values[i]`` in instance i. Nothing says
        which parameters it follows, so it is never matched to one by its value: a block's
        class takes it as a parameter of its own (``hint`` names it), which the caller passes;
        a network's class writes the number, and then takes none of the spec's parameters
        (``unexplained``: see emit.emit_module)."""
        if self.definition.kind == "network" and _literal_ok(values[0]):
            self.unexplained = True
            return literal(values[0])
        param = Param(self.names.name(hint), list(values), kind="extra")
        self.params.append(param)
        return param.name

    def _input_param(self, position: int, axis: int, rank: int) -> str:
        name = self.input_names[position]
        single = len(self.input_names) == 1
        if axis == 1 and rank >= 3:
            wish = "in_channels" if single else f"{name}_channels"
        elif axis == rank - 1:
            wish = "in_features" if single else f"{name}_features"
        else:
            wish = f"{name}_size{axis}"
        values = [types[position].shape[axis] for types in self.input_types]  # type: ignore[union-attr]
        for param in self.params:
            if param.kind == "input" and param.values == values and param.name.startswith(wish):
                return param.name
        param = Param(self.names.name(wish), values, kind="input", size_of=(position, axis))
        self.params.append(param)
        return param.name


_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")


def _hashable(expr: pv.Expr) -> bool:
    """Whether ``expr`` can key a dict: a literal may hold a value that cannot."""
    try:
        hash(expr)
    except TypeError:
        return False
    return True


def _literal_ok(value: Any) -> bool:
    try:
        literal(value)
    except TypeError:
        return False
    return True
