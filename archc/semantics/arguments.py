"""Plain words for an op argument that its schema refuses.

Op arguments are checked by their schemas (`archc/ops/schema.py`). The problems a schema finds
are worded here, in one place, as what the argument must be, with the value as the spec wrote
it: "`out_channels` of `conv2d` must be a whole number, got 32.0". A missing argument (A211)
and an unknown one (A208) are reported before this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

from archc.ops.registry import suggest
from archc.ops.schema import TYPE_KINDS, WANTED, FieldSpec, Problem
from archc.semantics.values import shown


@dataclass(frozen=True)
class Refusal:
    """Why an argument value was refused, in the words of a diagnostic."""

    message: str
    label: str
    help: str | None = None
    rule: str | None = None
    with_: str | None = None


@dataclass(frozen=True)
class _Bounds:
    """The numeric range a field accepts, gathered from its annotation."""

    low: float | None = None
    low_strict: bool = False
    high: float | None = None
    high_strict: bool = False

    def phrase(self) -> str:
        low = None if self.low is None else f"{self.low:g}"
        high = None if self.high is None else f"{self.high:g}"
        if low is not None and high is not None and not (self.low_strict or self.high_strict):
            return f"between {low} and {high}"
        if self.low == 0 and self.low_strict and high is None:
            return "positive"
        parts = []
        if low is not None:
            parts.append(f"greater than {low}" if self.low_strict else f"at least {low}")
        if high is not None:
            parts.append(f"less than {high}" if self.high_strict else f"at most {high}")
        return " and ".join(parts)

    def formula(self, name: str) -> str:
        """The range as a formula: `0 <= p <= 1`, `stride > 0`."""
        low = "" if self.low is None else f"{self.low:g} {'<' if self.low_strict else '<='} "
        high = "" if self.high is None else f" {'<' if self.high_strict else '<='} {self.high:g}"
        if low and not high:  # `stride > 0` reads better than `0 < stride`
            return f"{name} {'>' if self.low_strict else '>='} {self.low:g}"
        return f"{low}{name}{high}"

    def nearest(self, value: Any) -> str | None:
        """The hint for ``value``: the accepted value nearest it."""
        if not isinstance(value, int | float) or isinstance(value, bool):
            return None
        if self.low is not None and (value < self.low or (self.low_strict and value == self.low)):
            bound, strict, step = self.low, self.low_strict, 1
        elif self.high is not None and (
            value > self.high or (self.high_strict and value == self.high)
        ):
            bound, strict, step = self.high, self.high_strict, -1
        else:
            return None
        if not strict or isinstance(value, int):
            return f"the nearest accepted value is {bound + (step if strict else 0):g}"
        return f"any value {'above' if step > 0 else 'below'} {bound:g} is accepted"


# What the value must be, by the kind of problem; bounds and choices come from the field itself.
_KINDS = {
    **{kind: WANTED[kind] for kind in ("int", "float", "bool", "str", "tuple", "none")},
    "finite": "a finite number",
}
_BOUNDS = ("gt", "ge", "lt", "le")
_LABELS = {
    **{kind: f"not {words}" for kind, words in _KINDS.items()},
    **dict.fromkeys(_BOUNDS, "out of range"),
    "choice": "not an accepted value",
    "too_short": "too few entries",
    "too_long": "too many entries",
}


def refusal(
    op: str, field: str, value: Any, problems: Sequence[Problem], spec: FieldSpec
) -> Refusal:
    """The refusal of ``value`` for ``field`` of ``op``, from the problems found with it.

    A union (`padding` takes a number, a tuple or a string) fails in every branch; the branch
    that matches the value's kind says the most, so only when none does are the branches'
    requirements listed together.
    """
    literals = _literals(spec.annotation)
    bounds = _bounds(spec)
    chosen = [p for p in problems if _specific(p, value)][:1] or list(problems)
    first = chosen[0]
    position = first.position
    subject = f"`{field}[{position}]`" if position is not None else f"`{field}`"
    got = first.value if position is not None else value
    if first.kind == "invalid":
        return Refusal(
            f"invalid {subject} for `{op}`: {first.reason}, got {shown(got)}", "invalid value"
        )
    requirements = []
    for problem in chosen:
        words = _requirement(problem, bounds, literals)
        if words not in requirements:
            requirements.append(words)
    label = _LABELS.get(first.kind, "invalid value")
    if len(requirements) > 1:
        label = "not an accepted value"
    message = f"{subject} of `{op}` must be {_either(requirements)}, got {shown(got)}"
    if first.kind in _BOUNDS and len(requirements) == 1:
        return Refusal(
            message,
            label,
            bounds.nearest(got),
            rule=bounds.formula(field),
            with_=f"{field} = {shown(got)}",
        )
    return Refusal(message, label, _help(first.kind, got, literals))


def _requirement(problem: Problem, bounds: _Bounds, literals: list[Any]) -> str:
    """What the value must be, in words, according to one problem."""
    kind = problem.kind
    if kind in _KINDS:
        return _KINDS[kind]
    if kind in _BOUNDS:
        return bounds.phrase()
    if kind == "choice":
        return "one of " + ", ".join(shown(v) for v in literals)
    if kind in ("too_short", "too_long"):
        return f"{'at least' if kind == 'too_short' else 'at most'} {_count(problem.limit)}"
    assert kind == "instance", kind
    return f"an instance of {problem.limit.__name__}"


def _specific(problem: Problem, value: Any) -> bool:
    """Whether the problem comes from the union branch that matches the value's kind."""
    if problem.position is not None:
        return True  # an entry of a tuple: the value was a tuple, as this branch wants
    if problem.kind == "choice":
        return isinstance(value, str)
    return problem.kind not in TYPE_KINDS


def _help(kind: str, value: Any, literals: list[Any]) -> str | None:
    if kind == "int" and isinstance(value, float):
        return "use `//` for whole-number division"
    if kind == "bool" and value in (0, 1) and not isinstance(value, bool):
        return f"write `{'true' if value else 'false'}`"
    if kind == "choice" and isinstance(value, str):
        words = [v for v in literals if isinstance(v, str)]
        close = [v for v in words if v.lower() == value.lower()] or suggest(value, words)
        if close:
            return f"did you mean `{shown(close[0])}`?"
    return None


def _either(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} or {words[-1]}"


def _count(entries: int) -> str:
    return f"{entries} {'entry' if entries == 1 else 'entries'}"


def _literals(annotation: Any) -> list[Any]:
    """The literal choices anywhere in a field's type, e.g. "same" and "valid" for padding."""
    if get_origin(annotation) is Literal:
        return list(get_args(annotation))
    return [choice for arg in get_args(annotation) for choice in _literals(arg)]


def _bounds(spec: FieldSpec) -> _Bounds:
    """The field's numeric bounds, wherever its type declares them (`int | tuple[int, ...]`
    carries them on each branch)."""
    found: dict[str, Any] = {}
    for constraint in spec.constraints():
        for name, bound in constraint.bounds().items():
            found.setdefault(name, bound)
    return _Bounds(
        found.get("gt", found.get("ge")),
        "gt" in found,
        found.get("lt", found.get("le")),
        "lt" in found,
    )
