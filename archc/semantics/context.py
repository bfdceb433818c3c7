"""Where elaboration is: the variables of the body being elaborated and the module path.

A :class:`Body` holds one block instance's (or network's) variables. A :class:`Place` says
where new layers go: the module path they are named under and how unnamed ones are named.
Nested sequences share their body's variables but have places of their own.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field, replace
from typing import Any

from archc.errors import Span
from archc.semantics.ir import Choice, Looped, join_path
from archc.semantics.program import FileScope
from archc.semantics.provenance import Apply, Expr
from archc.syntax import ast


@dataclass(eq=False)
class Body:
    """The variables of one block instance or network, and which of them were used.

    ``origins`` holds the provenance of each plain value (a number, a string, a tuple) in the
    definition's namespace: a parameter is itself, a local what it was computed from."""

    file: FileScope
    vars: dict[str, Any] = field(default_factory=dict)
    spans: dict[str, Span] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    params: set[str] = field(default_factory=set)
    origins: dict[str, Expr] = field(default_factory=dict)
    # the provenance of each test that chose between layers (None: a test with none), which
    # a class must evaluate as the spec did to have the spec's structure
    guards: list[Expr | None] = field(default_factory=list)
    # those of them that chose between tensors, with both alternatives (ir.Choice)
    choices: list[Choice] = field(default_factory=list)
    # set where a value chose structure that no guard records (a repeat's count, a tensor
    # picked from a tuple by position, copies named by a pattern): an instance of the body is
    # then copied for the very same values only (archc/semantics/rerun.py)
    shaped_by_values: bool = False
    # the unnamed repeats of the body's own scope whose count the spec computes (ir.Looped)
    looped: list[Looped] = field(default_factory=list)
    # the counts its repeats are given instead of their own, by the repeat's span, where the
    # instance is elaborated aside (archc/semantics/recount.py)
    recounts: dict[Span, int] = field(default_factory=dict)
    # the index of the copy of a repeat being evaluated (`Block(p=0.1 * i) * n`), if any
    copy_index: int | None = None

    def bind(self, name: str, value: Any, span: Span, origin: Expr | None = None) -> None:
        self.vars[name] = value
        self.spans.setdefault(name, span)
        if origin is None:
            self.origins.pop(name, None)
        else:
            self.origins[name] = origin

    def named_values(self) -> tuple[tuple[str, Expr], ...]:
        """The values the body computes from its parameters and names (Module.locals): a
        generated class computes each once, under its name, as a person writes `width = ...`."""
        return tuple(
            (name, origin)
            for name, origin in self.origins.items()
            if name not in self.params and isinstance(origin, Apply)
        )


class Names:
    """Allocates module names in one scope: `as` names first, then `conv1`, `conv2`, ...

    The names written with `as` anywhere in the body are reserved up front, so an automatic
    name never takes a name the spec uses further down.
    """

    def __init__(self, reserved: frozenset[str]) -> None:
        self.reserved = reserved
        self.taken: set[str] = set()
        self.written: dict[str, Span] = {}  # where each `as` name was first claimed
        self._counters: dict[str, int] = {}

    def explicit(self, name: ast.Ident) -> bool:
        """Claim ``name``; False when the scope already used it."""
        if name.name in self.taken:
            return False
        self.taken.add(name.name)
        self.written[name.name] = name.span
        return True

    def auto(self, base: str) -> str:
        count = self._counters.get(base, 0)
        while True:
            count += 1
            candidate = f"{base}{count}"
            if candidate not in self.reserved and candidate not in self.taken:
                break
        self._counters[base] = count
        self.taken.add(candidate)
        return candidate


@dataclass(frozen=True)
class Place:
    """Where layers applied now are put in the module tree."""

    path: str
    names: Names
    call_sites: tuple[Span, ...] = ()
    blocks: tuple[str, ...] = ()  # the block definitions being instantiated, outermost first
    indexed: bool = False  # inside a named sequence: children are named 0, 1, 2, ...
    next_index: list[int] = field(default_factory=lambda: [0])
    # the `as` names a named sequence has used, and where
    named: dict[str, Span] = field(default_factory=dict)
    repeat: bool = False  # the named sequence is a repeat's copies

    def child_sequence(self, path: str, repeat: bool = False) -> Place:
        return replace(self, path=path, indexed=True, next_index=[0], named={}, repeat=repeat)

    def name_child(self, explicit: ast.Ident | None, base: str) -> tuple[str, bool]:
        """The module path for the next layer, and whether its name is new in this scope."""
        if self.indexed:
            index = self.next_index[0]
            self.next_index[0] += 1
            if explicit is None:
                return join_path(self.path, str(index)), True
            # `(conv as c) * 2 as stage` would name both copies `stage.c`
            fresh = explicit.name not in self.named
            self.named.setdefault(explicit.name, explicit.span)
            return join_path(self.path, explicit.name), fresh
        if explicit is not None:
            return join_path(self.path, explicit.name), self.names.explicit(explicit)
        return join_path(self.path, self.names.auto(base)), True

    def is_taken(self, name: str) -> bool:
        """Whether a layer of this scope already has ``name``."""
        return name in self.named if self.indexed else name in self.names.taken

    def name_join(self, base: str) -> str:
        """The path of a combinator's join (`residual`'s add, `dense`'s concats): named like an
        unnamed layer of the body, never indexed, so that in a named chain the children
        keep the indices they are written with and hold no placeholder for the join."""
        return join_path(self.path, self.names.auto(base))

    def first_use(self, name: str) -> Span | None:
        """Where this scope's `as` name ``name`` was first written."""
        return (self.named if self.indexed else self.names.written).get(name)


@functools.cache
def base_name(name: str) -> str:
    """The stem automatic names are built from: conv2d -> conv, BasicBlock -> basic_block.
    One leading underscore at most: inside a generated class Python would rename `__x1`.

    >>> base_name("conv2d"), base_name("BasicBlock"), base_name("__hash__")
    ('conv', 'basic_block', '_hash__')
    """
    stem = re.sub(r"\dd$", "", name)
    stem = re.sub(r"^__+", "_", stem)
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", stem).lower()
