"""Hypothesis strategies for arithmetic written in the spec language: what the properties that
compare written Python with elaboration draw their expressions from."""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import strategies as st

Parts = st.SearchStrategy[str]


def arithmetic(leaves: Parts, max_leaves: int, *more: Callable[[Parts], Parts]) -> Parts:
    """Expressions over ``leaves``: binary operators and comparisons, negation, `min`, `max`
    and conditionals, and whatever forms ``more`` builds from the parts."""

    def combine(parts: Parts) -> Parts:
        binary = st.tuples(
            parts, st.sampled_from(["+", "-", "*", "/", "//", "%", "<", "=="]), parts
        )
        return st.one_of(
            binary.map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
            parts.map(lambda p: f"-{p}"),
            st.tuples(st.sampled_from(["min", "max"]), parts, parts).map(
                lambda t: f"{t[0]}({t[1]}, {t[2]})"
            ),
            st.tuples(parts, parts, parts).map(lambda t: f"(if {t[0]} then {t[1]} else {t[2]})"),
            *(form(parts) for form in more),
        )

    return st.recursive(leaves, combine, max_leaves=max_leaves)
