"""What the spec writer tracks while it writes: the shape of the tensor a unit receives, and
the definition body it writes into."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.fuzz.valid import SpecWriter

SIZE = 32  # what H, W and T are when a generated network runs


@dataclass(frozen=True)
class Shape:
    """A tensor as the writer sees it: its kind, its feature axis and its other sizes."""

    kind: str  # "image", "sequence" or "vector"
    features: int  # C of an image, E of a sequence, F of a vector
    height: int = 1  # image H (at SIZE when symbolic)
    width: int = 1  # image W
    length: int = 1  # sequence T (at SIZE when symbolic)
    symbolic: bool = False  # H and W, or T, are symbols

    def features_to(self, features: int) -> Shape:
        return replace(self, features=features)


@dataclass
class Body:
    """The statements of one definition, with the numbers its expressions may name."""

    scope: dict[str, int]
    # a hostile layer name not among those given, or None for a plain one
    hostile: Callable[[set[str]], str | None] = lambda used: None
    lines: list[str] = field(default_factory=list)
    layer_names: int = 0
    temporaries: int = 0
    named: set[str] = field(default_factory=set)
    memory: int = 0  # the width of the network's `memory` input, 0 without one

    def name(self, stem: str) -> str:
        """A layer name that is new in this body."""
        name = self.hostile(self.named)
        if name is None:
            self.layer_names += 1
            name = f"{stem}{self.layer_names}"
        self.named.add(name)
        return name

    def temporary(self) -> str:
        self.temporaries += 1
        return f"t{self.temporaries}"


# A unit writes one or a few statements that rebind x, and gives the shape x has after them.
Unit = Callable[["SpecWriter", Body, Shape], Shape]
