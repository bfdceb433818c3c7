"""Op name -> definition, each family imported when one of its ops is first looked up.

``index.py`` names the module that defines every op, so the registry knows every name without
importing any family, and a spec that uses six layer kinds imports six families, not all of
them (defining every family's classes is most of the cost of a cold start).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeVar

from archc.ops.index import MODULE_OF, MODULES

if TYPE_CHECKING:
    from archc.ops.spec import Op

_REGISTRY: dict[str, Op] = {}
_CANONICAL: dict[str, Op] = {}

OpClass = TypeVar("OpClass", bound="type[Op]")


def register(cls: OpClass) -> OpClass:
    """Class decorator: make the op available under its name and aliases."""
    op = cls()
    for name in (cls.name, *cls.aliases):
        if name in _REGISTRY:
            raise ValueError(f"op `{name}` is defined twice")
        _REGISTRY[name] = op
    _CANONICAL[cls.name] = op
    return cls


def register_part(cls: OpClass) -> OpClass:
    """Class decorator for a node an op's construct adds to the graph besides the layers it
    holds (`moe.route`, of `moe` over a block's experts). Its name, `op.part`, is no name a
    spec can call, and the docs, the index and did-you-mean list its op alone."""
    owner, dot, _ = cls.name.partition(".")
    if not dot or owner not in MODULE_OF:
        raise ValueError(f"part `{cls.name}` is not named `op.part` after a registered op")
    if cls.name in _REGISTRY:
        raise ValueError(f"op `{cls.name}` is defined twice")
    _REGISTRY[cls.name] = cls()
    return cls


def lookup(name: str) -> Op | None:
    """The op called ``name`` (or an op's part, `moe.route`, defined beside it), importing its
    family on first use; None for no op."""
    owner = name.partition(".")[0]
    if name not in _REGISTRY and owner in MODULE_OF:
        importlib.import_module(f"{__package__}.{MODULE_OF[owner]}")
    return _REGISTRY.get(name)


def all_ops() -> list[Op]:
    """Every op once (aliases excluded), sorted by family then name; imports every family."""
    for module in MODULES:
        importlib.import_module(f"{__package__}.{module}")
    return sorted(_CANONICAL.values(), key=lambda op: (op.family, op.name))


def names() -> list[str]:
    """Every name an op answers to, aliases included (no family is imported)."""
    return sorted(MODULE_OF)


def edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def suggest(name: str, candidates: Iterable[str]) -> list[str]:
    """Close matches, nearest first (Elm's thresholds: 1 edit below 3 characters, else 2).

    >>> suggest("conv2", ["conv2d", "conv1d", "linear"])
    ['conv2d', 'conv1d']
    """
    limit = 1 if len(name) < 3 else 2
    lowered = name.lower()
    scored = []
    for candidate in set(candidates):
        if abs(len(candidate) - len(name)) > limit:
            continue  # too far apart anyway, and a long name would take quadratic time
        distance = edit_distance(lowered, candidate.lower())
        if distance <= limit:
            scored.append((distance, candidate))
    return [candidate for _, candidate in sorted(scored)]
