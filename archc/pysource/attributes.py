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


def written_as_attribute(name: str) -> bool:
    """Whether generated code writes ``name`` as an attribute (`self.conv1`); any other name
    (`"block1-0"`, `"0"`, `"in"`) is registered with `add_module` and read with `getattr`.
    ASCII only: Python normalises other identifiers (NFKC), which would change the key.

    >>> written_as_attribute("conv1"), written_as_attribute("in"), written_as_attribute("b-0")
    (True, False, False)
    """
    return name.isascii() and name.isidentifier() and not keyword.iskeyword(name)


def refused_attribute(name: str, quoted: bool = False) -> str | None:
    """Why ``name`` cannot name a submodule in generated code, or None when it can. A
    ``quoted`` name may be a Python keyword: it is never written as an attribute.

    >>> refused_attribute("conv1") is None
    True
    >>> refused_attribute("_modules")
    'an attribute of every nn.Module, which the layer would replace'
    >>> refused_attribute("append")
    'an attribute of nn.Sequential, which holds the layers of a named chain or repeat'
    """
    if keyword.iskeyword(name) and not quoted:
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
