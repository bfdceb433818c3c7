"""Init schemes: what an ``init`` rule's right-hand side means, and the PyTorch that does it.

Each scheme is one class registered under its name and aliases, like the op registry: its
arguments (a schema whose defaults are torch's), the tensor ranks it fits, the
one statement that initialises a tensor, and the nonlinearity it assumes follows. The code
generator asks :func:`resolve_scheme` for a validated ``(scheme, args)`` pair and writes
``scheme.emit(args, "module.weight")`` into the generated ``init_module`` method (or lays out
``scheme.call(args, "module.weight")`` where the line would be too long); schemes torch
lacks (``variance_scaling`` and the ``lecun`` pair built on it, ``sinusoidal``) call a small
function whose
source is in ``scheme.helpers``, to be written once at module level.

Emitted code uses only ``torch`` and ``nn`` (``from torch import nn``). This package does not
import torch: checking and compiling a spec never need it.

>>> scheme, args = resolve_scheme("kaiming_normal", {"mode": "fan_out", "nonlinearity": "relu"})
>>> scheme.emit(args, "module.weight")
'nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")'
>>> scheme, args = resolve_scheme(0.5)
>>> scheme.emit(args, "module.bias")
'nn.init.constant_(module.bias, 0.5)'
"""

from archc.inits import schemes  # noqa: F401  (importing it registers every scheme)
from archc.inits.args import InitArgs
from archc.inits.gains import gain, gain_mismatch, nonlinearity_of
from archc.inits.registry import Scheme, all_schemes, lookup, names
from archc.inits.resolve import SchemeError, resolve_scheme

__all__ = [
    "InitArgs",
    "Scheme",
    "SchemeError",
    "all_schemes",
    "gain",
    "gain_mismatch",
    "lookup",
    "names",
    "nonlinearity_of",
    "resolve_scheme",
]
