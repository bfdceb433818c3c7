"""Where the generators' decisions come from: hypothesis, a seeded `random.Random`, or atheris.

The generators ask for integers, picks and bytes through :class:`Choices`, so the same code
serves hypothesis in CI (which shrinks a failure to a small input), plain random seeds for
long local runs, and a coverage-guided byte stream under atheris.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

T = TypeVar("T")

# Fuzz tests take their example counts from here plus an explicit max_examples; their cases
# vary in cost, so there is no deadline (the harness bounds each input's time itself).
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Choices(Protocol):
    def integer(self, low: int, high: int) -> int:
        """A whole number from ``low`` to ``high``, both included."""
        ...

    def raw(self, size: int) -> bytes:
        """``size`` arbitrary bytes."""
        ...


def pick(choices: Choices, options: Sequence[T]) -> T:
    return options[choices.integer(0, len(options) - 1)]


def chance(choices: Choices, percent: int) -> bool:
    """True in about ``percent`` cases out of a hundred (hypothesis shrinks towards False)."""
    return choices.integer(0, 99) >= 100 - percent


class RandomChoices:
    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def integer(self, low: int, high: int) -> int:
        return self.random.randint(low, high)

    def raw(self, size: int) -> bytes:
        return self.random.randbytes(size)


class HypothesisChoices:
    """Choices drawn with a hypothesis ``draw`` (of `st.composite` or `st.data()`)."""

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any]) -> None:
        self.draw = draw

    def integer(self, low: int, high: int) -> int:
        return int(self.draw(st.integers(low, high)))

    def raw(self, size: int) -> bytes:
        return bytes(self.draw(st.binary(min_size=size, max_size=size)))
