"""Symbolic sizes read as a person writes them (``H//16``, not ``(((H//2)//2)//2)//2``), and the
text never changes the value."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from archc import dims
from archc.dims import Dim, Sym

H = Sym.named("H")

# one step of a shape rule: a floor division, a shift, or a scale
STEPS = st.one_of(
    st.tuples(st.just("//"), st.integers(1, 5)),
    st.tuples(st.just("+"), st.integers(-3, 3)),
    st.tuples(st.just("*"), st.integers(1, 3)),
)


def apply(value: Dim, steps: list[tuple[str, int]]) -> Dim:
    for op, number in steps:
        value = value // number if op == "//" else value + number if op == "+" else value * number
    return value


def test_nested_floor_divisions_read_as_one() -> None:
    assert str(((H // 2) // 2) // 2 // 2) == "H//16"
    assert str(2 * ((H // 2) // 2)) == "2*(H//4)"
    assert str(((H - 1) // 2 + 1 - 1) // 2 + 1) == "(H - 1)//4 + 1"
    assert dims.show_shape((dims.BATCH, 64, H // 2 // 2, 7)) == "(N, 64, H//4, 7)"


def test_a_floor_of_a_scaled_floor_stays_as_written() -> None:
    # floor(3*floor(H/2)/2) is not floor(3H/4): for H = 3 it is 1, not 2
    assert str((3 * (H // 2)) // 2) == "(3*(H//2))//2"


@given(st.lists(STEPS, min_size=1, max_size=8))
def test_the_text_has_the_value_of_the_expression(steps: list[tuple[str, int]]) -> None:
    value = apply(H, steps)
    if not isinstance(value, Sym):
        return
    merged = Sym(dims._merge_floors(value.expr))
    for size in range(1, 80):
        assert dims.evaluate(merged, {"H": size}) == dims.evaluate(value, {"H": size}), str(value)
