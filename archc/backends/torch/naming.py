"""Identifiers in generated code: valid, never shadowing what the code relies on, stable.

One :class:`Namespace` per emitted scope (the module level, each class, each method) hands out
names; asking twice for the same wish gives two different names, in a fixed order.
"""

from __future__ import annotations

import builtins
import keyword
import re

# Names the generated code itself uses, or that would shadow something it needs.
RESERVED = frozenset(
    {*keyword.kwlist, *keyword.softkwlist, *dir(builtins), "self", "torch", "nn", "F",
     "OrderedDict", "annotations", "math"}
)  # fmt: skip

# Attributes of nn.Module that a submodule must not replace (`self.forward = ...` would).
MODULE_ATTRIBUTES = frozenset(
    {
        "forward", "training", "parameters", "buffers", "children", "modules", "state_dict",
        "load_state_dict", "to", "cuda", "cpu", "train", "eval", "apply", "register_buffer",
        "register_parameter", "add_module", "get_submodule", "named_modules", "zero_grad",
        "half", "float", "double", "type", "extra_repr", "reset_parameters", "requires_grad_",
    }
)  # fmt: skip


def identifier(wish: str) -> str:
    """``wish`` made into a Python identifier (spec names already are; this is a safeguard)
    that means the same everywhere: inside a class, Python mangles a name with two leading
    underscores (`__w` is `_Net__w` there, so a keyword argument would miss), and a parameter
    `__class__` hides the cell `super()` reads, so such names keep only one.

    >>> identifier("__class__"), identifier("__w"), identifier("3x")
    ('_class__', '_w', '_3x')
    """
    cleaned = re.sub(r"\W", "_", wish) or "_"
    if cleaned.startswith("__"):
        cleaned = "_" + cleaned.lstrip("_")
    return f"_{cleaned}" if cleaned[0].isdigit() else cleaned


class Namespace:
    """Hands out unique identifiers in one scope."""

    def __init__(self, taken: set[str] | frozenset[str] = frozenset()) -> None:
        self._taken = set(RESERVED) | set(taken)

    def name(self, wish: str) -> str:
        base = identifier(wish)
        candidate = base
        if candidate in self._taken:
            candidate = f"{base}_"
        count = 1
        while candidate in self._taken:
            count += 1
            candidate = f"{base}_{count}"
        self._taken.add(candidate)
        return candidate

    def claim(self, name: str) -> None:
        self._taken.add(name)
