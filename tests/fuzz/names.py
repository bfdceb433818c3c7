"""Hostile names: the names generated code relies on, and names that differ from them only a
little, for the generators to give blocks, parameters, layers and values.

A spec may use any of them where the language allows it; the generated module must then build
and run. The pools leave out what the spec language itself reserves (its keywords, op and
built-in function names), which a spec cannot rebind.
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Iterable

from archc.backends.torch.naming import module_level
from archc.ops import names as op_names
from archc.pysource.attributes import GENERATED_METHODS, refused_attribute
from archc.pysource.module_attributes import MODULE_ATTRIBUTES
from archc.semantics.expressions import BUILTINS
from archc.syntax.grammar import grammar_text

# What generated code imports or writes itself.
IMPORTED = ("torch", "nn", "F", "math", "OrderedDict", "self", "super", "annotations")
# Names that differ only in case from each other and from ops, classes and variables.
CASES = (
    "Linear", "LINEAR", "Conv2d", "ReLU", "Relu", "Module", "MODULE", "Sequential", "X", "Net0",
    "NET0", "net0", "Block1", "block1", "Torch", "NN", "f", "Math",
)  # fmt: skip

# The spec language's keywords (every quoted word of its grammar), ops and functions.
SPEC_RESERVED = frozenset({*re.findall(r'"([a-z]+)"', grammar_text()), *op_names(), *BUILTINS})


def _usable(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({n for n in names if n.isidentifier() and n not in SPEC_RESERVED}))


POOLS: dict[str, tuple[str, ...]] = {
    "module attributes": _usable({*MODULE_ATTRIBUTES, *GENERATED_METHODS}),
    "python keywords": _usable({*keyword.kwlist, *keyword.softkwlist}),
    "python builtins": _usable(dir(builtins)),
    "helpers": _usable({*module_level(), *IMPORTED}),
    "case variants": _usable(CASES),
}
HOSTILE = tuple(sorted({name for pool in POOLS.values() for name in pool}))
# Layer names only quotes can write, as written after `as`: keywords of Python and of the spec
# language, and keys no identifier spells (registered with `add_module`).
QUOTED_LAYER_NAMES = ('"class"', '"in"', '"lambda"', '"block"', '"out"', '"block1-0"', '"a+b"',
                      '"q\\"uote"')  # fmt: skip
# Layer names must also be attributes a module can take (others are A401, by design).
LAYER_NAMES = (
    *(name for name in HOSTILE if refused_attribute(name) is None),
    *QUOTED_LAYER_NAMES,
)
