"""The argument schemas of archc/ops/schema.py: the type rules its docstring states, the problems
it reports, and what an instance offers (given names, copies, equality, immutability).

Every op's and scheme's schema against a corpus of values is tests/test_argument_refusals.py."""

from __future__ import annotations

import pickle
from typing import Annotated, Any, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archc.ops.schema import REQUIRED, Args, ArgumentError, Before, Field, Problem, checks

Positive = Annotated[int, Field(gt=0)]


def _lone(value: Any) -> Any:
    return (value,) if isinstance(value, int) and not isinstance(value, bool) else value


class Sample(Args):
    size: Positive
    rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    window: Positive | tuple[Positive, ...] = 1
    mode: Literal["same", "valid"] | None = None
    pair: tuple[int, int] = (0, 0)
    dim: Annotated[int, Field(aliases=("axis",), description="the axis")] = 1
    sizes: Annotated[tuple[int, ...], Before(_lone), Field(min_length=1)] = (1,)
    flag: bool = False

    @checks("sizes")
    def _even(sizes: tuple[int, ...]) -> tuple[int, ...]:
        if sum(sizes) % 2:
            raise ValueError("the sizes add up to an even number")
        return sizes

    @checks()
    def _fits(self) -> None:
        if self.size < self.dim:
            raise ValueError("size must be at least dim")


class Finite(Args):
    finite = True
    number: int | float = 0


def _problems(**values: Any) -> list[tuple[str | None, str, Any, int | None, Any]]:
    with pytest.raises(ArgumentError) as refused:
        Sample(**values)
    return [(p.name, p.kind, p.value, p.position, p.limit) for p in refused.value.problems]


def test_types_are_strict() -> None:
    assert _problems(size=True) == [("size", "int", True, None, None)]
    assert _problems(size=2.0) == [("size", "int", 2.0, None, None)]
    assert _problems(size=4, rate=True) == [("rate", "float", True, None, None)]
    assert _problems(size=4, flag=1) == [("flag", "bool", 1, None, None)]
    assert _problems(size=4, pair=[1, 2]) == [("pair", "tuple", [1, 2], None, None)]


def test_an_int_is_a_float_stored_as_a_float() -> None:
    args = Sample(size=4, rate=1)
    assert args.rate == 1.0 and type(args.rate) is float


def test_bounds_hold_after_the_type_and_show_the_value_as_given() -> None:
    assert _problems(size=0) == [("size", "gt", 0, None, 0)]
    assert _problems(size=4, rate=2) == [("rate", "le", 2, None, 1.0)]


def test_a_union_takes_the_first_alternative_that_accepts_and_reports_every_one() -> None:
    assert Sample(size=4, window=(2, 3)).window == (2, 3)
    assert _problems(size=4, window="x") == [
        ("window", "int", "x", None, None),
        ("window", "tuple", "x", None, None),
    ]
    # an entry of a tuple says which
    assert _problems(size=4, window=(2, -1))[1] == ("window", "gt", -1, 1, 0)


def test_none_is_its_own_alternative() -> None:
    assert Sample(size=4, mode=None).mode is None
    assert _problems(size=4, mode="full") == [("mode", "choice", "full", None, ("same", "valid"))]


def test_a_tuple_of_fixed_length_counts_its_entries() -> None:
    assert _problems(size=4, pair=(1, 2, 3)) == [("pair", "too_long", (1, 2, 3), None, 2)]
    assert _problems(size=4, pair=(1,)) == [("pair", "too_short", (1,), None, 2)]
    assert _problems(size=4, pair=(1, "a")) == [("pair", "int", "a", 1, None)]


def test_before_functions_and_checks_run_in_order() -> None:
    assert Sample(size=4, sizes=2).sizes == (2,)
    assert _problems(size=4, sizes=()) == [("sizes", "too_short", (), None, 1)]
    assert [p[:2] for p in _problems(size=4, sizes=3)] == [("sizes", "invalid")]
    with pytest.raises(ArgumentError) as refused:
        Sample(size=4, sizes=3)
    assert refused.value.problems[0].reason == "the sizes add up to an even number"


def test_a_check_of_the_whole_runs_once_every_field_holds() -> None:
    with pytest.raises(ArgumentError) as refused:
        Sample(size=1, dim=2)
    assert refused.value.problems == (
        Problem(None, "invalid", reason="size must be at least dim"),
    )


def test_missing_unknown_and_other_names() -> None:
    assert _problems() == [("size", "missing", None, None, None)]
    assert _problems(size=4, sizee=1) == [("sizee", "unknown", 1, None, None)]
    assert Sample(size=4, axis=3).dim == 3
    assert _problems(size=4, axis="x") == [("axis", "int", "x", None, None)]
    assert _problems(size=4, dim=1, axis=2) == [("axis", "unknown", 2, None, None)]


def test_finite_schemas_refuse_inf_and_nan() -> None:
    assert Finite(number=1.5).number == 1.5
    with pytest.raises(ArgumentError) as refused:
        Finite(number=float("nan"))
    assert [p.kind for p in refused.value.problems] == ["int", "finite"]
    assert Sample(size=4, rate=0.5).rate == 0.5


def test_fields_are_described_once_per_class() -> None:
    fields = Sample.fields
    assert list(fields) == ["size", "rate", "window", "mode", "pair", "dim", "sizes", "flag"]
    assert fields["size"].default is REQUIRED and fields["size"].required
    assert fields["dim"].aliases == ("axis",) and fields["dim"].description == "the axis"
    assert Sample.fields is fields


def test_instances_know_what_was_given_and_copy_without_checking() -> None:
    args = Sample(size=4, axis=2)
    assert args.given == {"size", "dim"}
    copy = args.replace(rate=7.0)
    assert copy.rate == 7.0 and copy.given == {"size", "dim", "rate"} and args.rate == 0.5
    assert args.changed("size", "rate", "dim") == (("size", 4), ("dim", 2))


def test_instances_are_frozen_values() -> None:
    args = Sample(size=4)
    with pytest.raises(AttributeError, match="frozen"):
        args.size = 5  # type: ignore[misc]
    assert args == Sample(size=4) and hash(args) == hash(Sample(size=4))
    assert args != Sample(size=5)
    assert repr(Finite(number=1)) == "Finite(number=1)"
    assert pickle.loads(pickle.dumps(args)) == args


def test_a_field_cannot_shadow_what_every_schema_has() -> None:
    class Shadowing(Args):
        given: int = 0  # the name of the set of given fields
        replace: int = 0

    with pytest.raises(TypeError, match="given"):
        _ = Shadowing.fields


@given(st.one_of(st.integers(-5, 5), st.floats(allow_nan=False), st.booleans(), st.none()))
def test_a_positive_whole_number_is_all_an_int_field_with_a_bound_takes(value: Any) -> None:
    accepted = type(value) is int and value > 0
    try:
        Sample(size=value)
    except ArgumentError:
        assert not accepted
    else:
        assert accepted


_SAMPLE_VALUES = st.one_of(
    st.integers(-3, 6),
    st.sampled_from([0.25, 2.0, "same", "valid", None, True, (1, 2), (2,), ()]),
)


def _full_pass(values: dict[str, Any]) -> dict[str, Any] | list[tuple[Any, ...]]:
    """What checking field by field makes of ``values``: the state, or the problems."""
    state: dict[str, Any] = {}
    try:
        Args._check_each(Sample._schema(), values, state)
    except ArgumentError as refused:
        return [(p.name, p.kind, p.value, p.position) for p in refused.problems]
    return state


@given(
    st.dictionaries(
        st.sampled_from(["size", "rate", "window", "mode", "dim", "axis", "sizes", "other"]),
        _SAMPLE_VALUES,
        max_size=5,
    )
)
def test_checking_the_values_given_agrees_with_the_full_pass(values: dict[str, Any]) -> None:
    """Args checks the values given alone where none is refused, unknown or given twice, and
    every required field is there; what it makes, field order included, is what the pass over
    every field makes, and what it refuses, the full pass refuses with the same problems."""
    expected = _full_pass(values)
    try:
        args = Sample(**values)
    except ArgumentError as refused:
        problems = [(p.name, p.kind, p.value, p.position) for p in refused.problems]
        if isinstance(expected, dict):  # every field holds: the check of them together refused
            assert problems == [(None, "invalid", None, None)]
        else:
            assert problems == expected
        return
    assert isinstance(expected, dict)
    state = {k: v for k, v in vars(args).items() if k != "_symbolic"}
    assert list(state) == list(expected) and state == expected


def test_a_spelling_two_fields_share_is_sorted_out_by_the_full_pass() -> None:
    class Shared(Args):
        dim: Annotated[int, Field(aliases=("axis",))] = 1
        axis: int = 0

    assert Shared._schema().spellings is None
    args = Shared(axis=3)
    assert (args.dim, args.axis, args.given) == (3, 3, frozenset({"dim", "axis"}))
