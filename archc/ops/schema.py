"""Arguments of ops and init schemes: typed class attributes, checked when an instance is made.

A schema is a subclass of :class:`Args` whose annotations are its fields, in order, and whose
class attributes are their defaults::

    class PoolArgs(Args):
        kernel_size: PositiveInt | tuple[PositiveInt, ...]
        padding: Annotated[int, Field(ge=0)] = 0

``PoolArgs(kernel_size=3)`` checks every value and gives a frozen instance, or raises
:class:`ArgumentError` with every :class:`Problem` found. The types are strict, as a spec's
values are already typed:

- ``int``: an int, never a bool; ``bool``: True or False; ``str``: a string; ``None``: None.
- ``float``: a float, or an int (stored as a float; one too large for a float is refused),
  never a bool. inf and nan are accepted unless the schema sets ``finite = True``.
- ``Literal[...]``: one of the listed values, of the same type.
- ``tuple[X, ...]``: a tuple (never a list), each entry an X; ``tuple[X, Y]``: a tuple of
  exactly those entries (too long is refused before any entry is looked at).
- ``X | Y``: the first alternative that accepts the value; when none does, the problems of
  every alternative, in order. ``X | None`` accepts None, and anything else as X alone.
- another class (a symbolic size, ``Sym``): an instance of it.
- ``Annotated[X, Field(...)]``: bounds (``gt``, ``ge``, ``lt``, ``le``) checked after the type,
  entry counts of a tuple (``min_length``, ``max_length``) after its entries, other names the
  argument answers to (``aliases``), and a ``description``; ``Annotated[X, Before(f)]``: the
  value passes through ``f`` before its type is checked.
- :func:`checks` on a function of the class: ``@checks("pad")`` checks one field's value once
  its type holds (``before=True``: before) and returns it; ``@checks()`` checks the instance
  once every field holds. Either raises ValueError with its reason.

Unknown names are refused, after the fields' own problems. Each class works out its fields
and the check of each once, when first used, so that a process pays for the schemas it uses.
"""

from __future__ import annotations

import math
import operator
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import replace as _replaced
from typing import Annotated, Any, ClassVar, Literal, Union


@dataclass(frozen=True)
class Field:
    """What ``Annotated`` adds to a type: bounds, entry counts, other names, a description."""

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    aliases: tuple[str, ...] = ()
    description: str | None = None

    def bounds(self) -> dict[str, float]:
        """The bounds set, in the order gt, ge, lt, le."""
        found = {"gt": self.gt, "ge": self.ge, "lt": self.lt, "le": self.le}
        return {name: value for name, value in found.items() if value is not None}

    def lengths(self) -> dict[str, int]:
        found = {"min_length": self.min_length, "max_length": self.max_length}
        return {name: value for name, value in found.items() if value is not None}


@dataclass(frozen=True)
class Before:
    """A function every value of the type passes through before the type is checked."""

    function: Callable[[Any], Any]


@dataclass(frozen=True)
class Problem:
    """One reason a value was refused.

    ``kind`` is the type wanted (``int``, ``float``, ``bool``, ``str``, ``tuple``, ``none``,
    ``instance``), a bound broken (``gt``, ``ge``, ``lt``, ``le``, with ``limit``), ``choice``
    (not one of a Literal's values), ``too_short`` or ``too_long`` (``limit`` entries),
    ``finite``, ``invalid`` (a check's ``reason``), ``missing`` or ``unknown``.
    """

    name: str | None  # the argument as given (the alias used); None: the arguments together
    kind: str
    value: Any = None  # the value refused: the entry's where ``position`` is set
    position: int | None = None  # the entry of a tuple argument at fault
    limit: Any = None
    reason: str = ""

    def __str__(self) -> str:
        """In plain words, for messages that quote a refusal (the importer's)."""
        where = f"`{self.name}`" if self.name else "the arguments"
        where += "" if self.position is None else f"[{self.position}]"
        if self.kind == "missing":
            return f"{where} is missing"
        if self.kind == "unknown":
            return f"{where} is not an argument"
        if self.kind == "invalid":
            return f"{where}: {self.reason}"
        limit = getattr(self.limit, "__name__", self.limit)
        return f"{where} must be {WANTED[self.kind].format(limit)}, got {self.value!r}"


# what a value must be, by the kind of problem; `{}` is the field's bound or choices
WANTED = {
    "int": "a whole number",
    "float": "a number",
    "bool": "true or false",
    "str": "a string",
    "tuple": "a tuple",
    "none": "none",
    "instance": "a {}",
    "finite": "finite",
    "gt": "> {}",
    "ge": ">= {}",
    "lt": "< {}",
    "le": "<= {}",
    "choice": "one of {}",
    "too_short": "at least {} entries",
    "too_long": "at most {} entries",
}
# the kinds that say only that a value is of another type
TYPE_KINDS = frozenset({"int", "float", "bool", "str", "tuple", "none", "instance"})


class ArgumentError(ValueError):
    """Arguments a schema refuses, with every problem found, the first first."""

    def __init__(self, schema: type[Args], problems: list[Problem]) -> None:
        super().__init__(f"{schema.__name__}: {problems[0]}")
        self.problems = tuple(problems)


class _Refused(Exception):
    """Raised inside a check: the problems of one value, their names filled in by the field."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems


Check = Callable[[Any], Any]


def _refuse(kind: str, value: Any, limit: Any = None) -> _Refused:
    return _Refused([Problem(None, kind, value, limit=limit)])


# --- checks of each type -------------------------------------------------------------------


def _int(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _refuse("int", value)


def _bool(value: Any) -> Any:
    if value is True or value is False:
        return value
    raise _refuse("bool", value)


def _str(value: Any) -> Any:
    if isinstance(value, str):
        return value
    raise _refuse("str", value)


def _none(value: Any) -> Any:
    if value is None:
        return value
    raise _refuse("none", value)


def _float(finite: bool) -> Check:
    def check(value: Any) -> Any:
        if isinstance(value, float):
            number = value
        elif isinstance(value, int) and not isinstance(value, bool):
            try:
                number = float(value)
            except OverflowError:
                raise _refuse("float", value) from None
        else:
            raise _refuse("float", value)
        if finite and not math.isfinite(number):
            raise _refuse("finite", value)
        return number

    return check


def _instance(cls: type) -> Check:
    def check(value: Any) -> Any:
        if isinstance(value, cls):
            return value
        raise _refuse("instance", value, cls)

    return check


def _choice(choices: tuple[Any, ...]) -> Check:
    def check(value: Any) -> Any:
        for choice in choices:
            if type(value) is type(choice) and value == choice:
                return choice
        raise _refuse("choice", value, choices)

    return check


def _entries(value: tuple[Any, ...], checks: list[Check]) -> tuple[Any, ...]:
    """Each entry of ``value`` checked by its own check; problems carry the entry's index."""
    problems: list[Problem] = []
    out = []
    for index, (entry, entry_check) in enumerate(zip(value, checks, strict=False)):
        try:
            out.append(entry_check(entry))
        except _Refused as refused:
            problems += [_replaced(p, position=index) for p in refused.problems]
    if problems:
        raise _Refused(problems)
    return tuple(out)


def _tuple_of(entry: Check) -> Check:
    def check(value: Any) -> Any:
        if not isinstance(value, tuple):
            raise _refuse("tuple", value)
        return _entries(value, [entry] * len(value))

    return check


def _fixed_tuple(entries: list[Check]) -> Check:
    count = len(entries)

    def check(value: Any) -> Any:
        if not isinstance(value, tuple):
            raise _refuse("tuple", value)
        if len(value) > count:
            raise _refuse("too_long", value, count)
        out = _entries(value, entries)
        if len(value) < count:
            raise _refuse("too_short", value, count)
        return out

    return check


def _either(alternatives: list[Check]) -> Check:
    def check(value: Any) -> Any:
        problems: list[Problem] = []
        for alternative in alternatives:
            try:
                return alternative(value)
            except _Refused as refused:
                problems += refused.problems
        raise _Refused(problems)

    return check


def _nullable(inner: Check) -> Check:
    def check(value: Any) -> Any:
        return None if value is None else inner(value)

    return check


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}


def _constrained(inner: Check, fields: list[Field], before: list[Before]) -> Check:
    bounds = [(k, v, _COMPARE[k]) for f in fields for k, v in f.bounds().items()]
    lengths = [(k, v) for f in fields for k, v in f.lengths().items()]
    functions = [b.function for b in before]
    if not (bounds or lengths or functions):
        return inner

    def check(value: Any) -> Any:
        for function in functions:
            value = function(value)
        checked = inner(value)  # a problem shows the value as given: -1, not -1.0
        for kind, bound, holds in bounds:
            if not holds(checked, bound):
                raise _refuse(kind, value, bound)
        for kind, limit in lengths:
            if (len(checked) < limit) if kind == "min_length" else (len(checked) > limit):
                raise _refuse("too_short" if kind == "min_length" else "too_long", value, limit)
        return checked

    return check


def _type_check(annotation: Any, finite: bool = False) -> Check:
    """The check of values of ``annotation`` (see the module's rules)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        base, *extras = typing.get_args(annotation)
        fields = [e for e in extras if isinstance(e, Field)]
        before = [e for e in extras if isinstance(e, Before)]
        return _constrained(_type_check(base, finite), fields, before)
    if origin in (Union, types.UnionType):
        members = typing.get_args(annotation)
        others = [_type_check(m, finite) for m in members if m is not type(None)]
        inner = others[0] if len(others) == 1 else _either(others)
        return _nullable(inner) if type(None) in members else inner
    if origin is Literal:
        return _choice(typing.get_args(annotation))
    if origin is tuple:
        items = typing.get_args(annotation)
        if len(items) == 2 and items[1] is Ellipsis:
            return _tuple_of(_type_check(items[0], finite))
        return _fixed_tuple([_type_check(item, finite) for item in items])
    plain: dict[Any, Check] = {
        int: _int,
        bool: _bool,
        str: _str,
        type(None): _none,
        None: _none,
        float: _float(finite),
    }
    if annotation in plain:
        return plain[annotation]
    if isinstance(annotation, type):
        return _instance(annotation)
    raise TypeError(f"no argument check for the type {annotation!r}")


# --- fields and schemas --------------------------------------------------------------------


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class FieldSpec:
    """One argument of a schema: its name, type, default and the check of its values."""

    name: str
    annotation: Any  # as written, ``Annotated`` and all
    default: Any
    aliases: tuple[str, ...]
    description: str | None
    check: Check

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def constraints(self) -> list[Field]:
        """Every Field of the annotation, outermost first, then into each alternative."""
        return _fields_in(self.annotation)


def _field_markers(annotation: Any) -> list[Field]:
    """The Fields of the annotation itself (a field's other names and description)."""
    if typing.get_origin(annotation) is not Annotated:
        return []
    return [extra for extra in typing.get_args(annotation)[1:] if isinstance(extra, Field)]


def _fields_in(annotation: Any) -> list[Field]:
    found: list[Field] = []
    if typing.get_origin(annotation) is Annotated:
        base, *extras = typing.get_args(annotation)
        found += [e for e in extras if isinstance(e, Field)]
        return found + _fields_in(base)
    if typing.get_origin(annotation) is Literal:
        return found
    for arg in typing.get_args(annotation):
        if arg is not Ellipsis:
            found += _fields_in(arg)
    return found


@dataclass(frozen=True)
class _Check:
    """A function marked by :func:`checks`."""

    function: Callable[..., Any]
    names: tuple[str, ...]
    before: bool


def checks(*names: str, before: bool = False) -> Callable[[Callable[..., Any]], _Check]:
    """Mark a function of a schema as the check of the named fields' values, or, without
    names, of the instance once all its fields hold (see the module's docstring)."""

    def mark(function: Callable[..., Any]) -> _Check:
        return _Check(function, names, before)

    return mark


def _with_checks(check: Check, before: list[Check], after: list[Check]) -> Check:
    """``check`` preceded and followed by a field's own checks, whose ValueError is a problem."""
    if not before and not after:
        return check

    def checked(value: Any) -> Any:
        try:
            for function in before:
                value = function(value)
            value = check(value)
            for function in after:
                value = function(value)
        except ValueError as error:
            raise _Refused([Problem(None, "invalid", value, reason=str(error))]) from None
        return value

    return checked


@dataclass(frozen=True)
class _Schema:
    owner: type[Args]
    fields: dict[str, FieldSpec]
    # what checking reads of each field: its name, other names, default and check
    plan: tuple[tuple[str, tuple[str, ...], Any, Check], ...]
    whole: tuple[Callable[[Any], Any], ...]
    # every field's default (REQUIRED for none), in declaration order
    defaults: dict[str, Any]
    # each spelling of an argument -> its field and check; None where two fields share a
    # spelling, whose values the full pass sorts out
    spellings: dict[str, tuple[str, Check]] | None
    required: tuple[str, ...]


class _SchemaType(type):
    """Gives each schema class its fields, worked out once, when first asked for."""

    @property
    def fields(cls) -> dict[str, FieldSpec]:
        """The arguments, in the order they are declared (a base's first)."""
        return cls._schema().fields


class Args(metaclass=_SchemaType):
    """Base of every op's and init scheme's arguments: checked, immutable, no unknown names.

    ``given`` holds the names of the arguments that were given rather than defaulted.
    """

    finite: ClassVar[bool] = False  # refuse inf and nan for float fields

    # Set only on the copy code generation makes: the arguments a spec computes from its
    # definition's parameters, with their provenance (archc/semantics/provenance.py).
    _symbolic: dict[str, Any] | None
    given: frozenset[str]

    def __init__(self, **values: Any) -> None:
        schema = type(self)._schema()
        state = self.__dict__
        if not self._checked(schema, values, state):
            state.clear()
            self._check_each(schema, values, state)
        state["_symbolic"] = None
        for whole in schema.whole:
            try:
                whole(self)
            except ValueError as error:
                raise ArgumentError(
                    type(self), [Problem(None, "invalid", reason=str(error))]
                ) from None

    @staticmethod
    def _checked(schema: _Schema, values: dict[str, Any], state: dict[str, Any]) -> bool:
        """Fill ``state`` with the checked ``values`` over the defaults, visiting the values
        given alone; False where any of them is refused, unknown or given twice, or a
        required field is missing, for :meth:`_check_each` to say which."""
        spellings = schema.spellings
        if spellings is None:
            return False
        state.update(schema.defaults)
        given: set[str] = set()
        for key, value in values.items():
            spelled = spellings.get(key)
            if spelled is None:
                return False
            name, check = spelled
            if name in given:
                return False
            given.add(name)
            try:
                state[name] = check(value)
            except _Refused:
                return False
        for name in schema.required:
            if name not in given:
                return False
        state["given"] = frozenset(given)
        return True

    @staticmethod
    def _check_each(schema: _Schema, values: dict[str, Any], state: dict[str, Any]) -> None:
        """Check ``values`` field by field into ``state``, collecting every problem."""
        problems: list[Problem] = []
        checked: dict[str, Any] = {}
        given = []
        used = []
        for name, aliases, default, check in schema.plan:
            key = name if name in values else _first_of(aliases, values) if aliases else None
            if key is None:
                if default is REQUIRED:
                    problems.append(Problem(name, "missing"))
                checked[name] = default
                continue
            given.append(name)
            used.append(key)
            try:
                checked[name] = check(values[key])
            except _Refused as refused:
                problems += [_replaced(p, name=key) for p in refused.problems]
        if len(used) != len(values):  # a name no field answers to, or a second one of a field
            problems += [Problem(k, "unknown", v) for k, v in values.items() if k not in used]
        if problems:
            raise ArgumentError(schema.owner, problems)
        state.update(checked)
        state["given"] = frozenset(given)

    @classmethod
    def _schema(cls) -> _Schema:
        schema = cls.__dict__.get("_compiled")
        if schema is None:
            schema = _compile(cls)
            type.__setattr__(cls, "_compiled", schema)
        return schema

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: `{name}` cannot be set")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: `{name}` cannot be deleted")

    def values(self) -> dict[str, Any]:
        """Every argument by name, in declaration order."""
        return {name: self.__dict__[name] for name in type(self).fields}

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self.values().items())
        return f"{type(self).__name__}({shown})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Args)
        return self.values() == other.values() and self._symbolic == other._symbolic

    def __hash__(self) -> int:
        return hash((type(self), tuple(self.values().values())))

    def replace(self, **updates: Any) -> Args:
        """A copy with ``updates``, not checked again; they count as given."""
        copy = object.__new__(type(self))
        state = copy.__dict__
        state.update(self.__dict__)
        state.update(updates)
        state["given"] = self.given | frozenset(updates)
        return copy

    def changed(self, *names: str) -> tuple[tuple[str, Any], ...]:
        """``(name, value)`` for each named argument set to other than its default, in order.

        Ops whose defaults mirror torch's pass this as a constructor's keyword arguments, so
        generated code spells out only what differs from torch, as a person would write it.
        An argument computed from parameters is always given, as a :class:`Symbolic`: equal
        to the default here, it need not be for other values of the parameters.
        """
        fields = type(self).fields
        symbolic = self._symbolic or {}
        return tuple(
            (name, Symbolic(getattr(self, name), symbolic[name], fields[name].default))
            if name in symbolic
            else (name, getattr(self, name))
            for name in names
            if name in symbolic or getattr(self, name) != fields[name].default
        )

    def with_symbolic(self, updates: dict[str, Any], symbolic: dict[str, Any]) -> Args:
        """A copy with ``updates`` (not checked again) whose ``symbolic`` arguments
        :meth:`changed` always writes."""
        copy = self.replace(**updates)
        copy.__dict__["_symbolic"] = symbolic
        return copy


def _first_of(names: tuple[str, ...], values: Mapping[str, Any]) -> str | None:
    """The first of ``names`` that ``values`` holds."""
    return next((name for name in names if name in values), None)


_RESERVED = frozenset(dir(Args)) | {"given", "fields", "_symbolic"}


def _compile(cls: type[Args]) -> _Schema:
    """The fields of ``cls`` and their checks, from its annotations and defaults."""
    hints = typing.get_type_hints(cls, include_extras=True)
    marked = [
        value for klass in reversed(cls.__mro__) for value in vars(klass).values()
        if isinstance(value, _Check)
    ]  # fmt: skip
    # fields are what schemas annotate; Args's own annotations describe every instance
    declared = {
        n for k in cls.__mro__ if k is not Args for n in vars(k).get("__annotations__", {})
    }
    fields: dict[str, FieldSpec] = {}
    for name, annotation in hints.items():
        if typing.get_origin(annotation) is ClassVar or name not in declared:
            continue
        if name in _RESERVED:
            raise TypeError(f"{cls.__name__}.{name}: the name of a field cannot be {name}")
        outer = _field_markers(annotation)
        aliases = tuple(a for f in outer for a in f.aliases)
        described = [f.description for f in outer if f.description]
        check = _with_checks(
            _type_check(annotation, cls.finite),
            [c.function for c in marked if name in c.names and c.before],
            [c.function for c in marked if name in c.names and not c.before],
        )
        default = getattr(cls, name, REQUIRED)
        fields[name] = FieldSpec(
            name, annotation, default, aliases, described[0] if described else None, check
        )
    plan = tuple((f.name, f.aliases, f.default, f.check) for f in fields.values())
    whole = tuple(c.function for c in marked if not c.names)
    spellings: dict[str, tuple[str, Check]] | None = {}
    for spec in fields.values():
        for spelling in (spec.name, *spec.aliases):
            if spellings is not None and spelling in spellings:
                spellings = None
            elif spellings is not None:
                spellings[spelling] = (spec.name, spec.check)
    defaults = {f.name: f.default for f in fields.values()}
    required = tuple(f.name for f in fields.values() if f.required)
    return _Schema(cls, fields, plan, whole, defaults, spellings, required)


@dataclass(frozen=True)
class Symbolic:
    """A keyword argument's value, the provenance it has in the spec (see Args.changed), and
    its default, which a class that writes the value as a literal may leave out."""

    value: Any
    origin: Any
    default: Any
