"""Identifiers in generated code: valid, never shadowing what the code relies on, stable.

One :class:`Namespace` per emitted scope hands out names, after reserving the names that scope
relies on: the module level reserves the imports, archc's helpers copied into the module and
the init functions, so a block named `MultiheadAttention` or `rotate` gets a class of its own
(`MultiheadAttention_`) instead of replacing the helper; a constructor reserves, besides, every
class and helper of the module, so a parameter named like a block (`Stage`) never hides the
class it would call. Asking twice for the same wish gives two different names, in a fixed order.
"""

from __future__ import annotations

import builtins
import itertools
import keyword
import re

from archc.backends.torch.helpers import helper_names
from archc.inits import all_schemes
from archc.pysource.attributes import GENERATED_METHODS, written_as_attribute
from archc.pysource.exprs import string
from archc.pysource.layout import Arg, Call
from archc.pysource.module_attributes import MODULE_ATTRIBUTES as TORCH_ATTRIBUTES

# Names the generated code itself uses, or that would shadow something it needs.
RESERVED = frozenset(
    {*keyword.kwlist, *keyword.softkwlist, *dir(builtins), "self", "torch", "nn", "F",
     "OrderedDict", "Callable", "partial", "annotations", "math"}
)  # fmt: skip

# Attributes a generated module already has, which a value it keeps (`self.scale`) must not
# replace (an `as` name never is one: the static check refuses them, A401).
MODULE_ATTRIBUTES = frozenset(TORCH_ATTRIBUTES) | GENERATED_METHODS


def module_level() -> frozenset[str]:
    """The names a generated module defines before any class of the spec's: archc's helpers
    and the functions init rules call (all of them, whether copied or not, so that a class's
    name never depends on which helpers a spec happens to use)."""
    init_functions = {name for scheme in all_schemes() for name in scheme.helpers}
    return helper_names() | init_functions


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
    """Hands out unique identifiers in one scope.

    >>> names = Namespace({"rotate"})
    >>> names.name("rotate"), names.name("print"), names.name("Stage"), names.name("Stage")
    ('rotate_', 'print_', 'Stage', 'Stage_')
    >>> names.name("_"), names.name("_"), names.name("Stage")
    ('_2', '_3', 'Stage_2')
    """

    def __init__(self, taken: set[str] | frozenset[str] = frozenset()) -> None:
        self._taken = set(RESERVED) | set(taken)

    @property
    def taken(self) -> frozenset[str]:
        """Every name this scope holds: the reserved ones and those handed out."""
        return frozenset(self._taken)

    def name(self, wish: str) -> str:
        """``wish``, else ``wish_``, ``wish_2``, ...: never with two leading underscores,
        which Python would mangle inside a class (`_` gives `_2`, not `__`)."""
        base = identifier(wish)
        stem = base if base.endswith("_") else f"{base}_"
        candidates = itertools.chain((base, stem), (f"{stem}{n}" for n in itertools.count(2)))
        candidate = next(c for c in candidates if c not in self._taken)
        self._taken.add(candidate)
        return candidate


def member(holder: str, name: str) -> str:
    """How code reaches the submodule ``name`` of ``holder``: `self.conv1`, or for a name
    no attribute can spell (`as "block1-0"`), `getattr(self, "block1-0")` as torchvision does.

    >>> member("self", "conv1"), member("self", "block1-0"), member("self.stage", "in")
    ('self.conv1', 'getattr(self, "block1-0")', 'getattr(self.stage, "in")')
    """
    if written_as_attribute(name):
        return f"{holder}.{name}"
    return f"getattr({holder}, {string(name)})"


def registration(name: str, value: Call | str, held: bool) -> tuple[str, Call | str]:
    """The statement of ``__init__`` that gives a class its submodule ``value`` (or ``held``
    tensor, or `None` where an alternative holds none) as a head and a call: `self.conv1 =
    ...`, or `self.add_module("0", ...)`.

    >>> from archc.pysource.layout import flat
    >>> head, call = registration("0", Call("nn.ReLU"), held=False)
    >>> head + flat(call)
    'self.add_module("0", nn.ReLU())'
    """
    if written_as_attribute(name):
        return f"self.{name} = ", value
    method = "register_parameter" if held else "add_module"
    return "", Call(f"self.{method}", (Arg(string(name)), Arg(value)))
