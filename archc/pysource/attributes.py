"""Which names a layer cannot take in generated PyTorch code.

A layer's `as` name becomes both an attribute of the generated module (`self.conv1`) and its
`state_dict` key, so it cannot be renamed; a name that Python cannot write as an attribute, or
that the module already uses, is refused (A401). The modules' own attributes are data taken
from torch (`module_attributes.py`), since archc's static path never imports torch.
"""

from __future__ import annotations

import keyword

from archc.pysource.module_attributes import MODULE_ATTRIBUTES

# Methods every generated class may define besides `forward` (see backends/torch/initialise.py).
GENERATED_METHODS = frozenset({"reset_parameters", "init_module"})


def refused_attribute(name: str) -> str | None:
    """Why ``name`` cannot name a submodule in generated code, or None when it can.

    >>> refused_attribute("conv1") is None
    True
    >>> refused_attribute("_modules")
    'an attribute of every nn.Module, which the layer would replace'
    >>> refused_attribute("append")
    'an attribute of nn.Sequential, which holds the layers of a named chain or repeat'
    """
    if keyword.iskeyword(name):
        return "a Python keyword, which cannot be written as an attribute"
    if name.startswith("__"):
        return "Python would rename it inside the class (`_Net__x`), changing its state_dict key"
    if name in GENERATED_METHODS:
        return "a method of the generated class"
    holder = MODULE_ATTRIBUTES.get(name)
    if holder == "nn.Module":
        return "an attribute of every nn.Module, which the layer would replace"
    if holder is not None:
        return f"an attribute of {holder}, which holds the layers of a named chain or repeat"
    return None
