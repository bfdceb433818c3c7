"""The op registry: every layer kind, defined once.

Importing this package imports every module in it, and each op module registers its ops with
``@register``; adding a layer kind means adding (or extending) one module here, nothing else.
"""

import importlib
import pkgutil

from archc.ops.registry import all_ops, lookup, names, suggest

# Modules that hold shared machinery rather than op definitions.
_SUPPORT = {"registry", "spec", "window"}

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    if _module not in _SUPPORT:
        importlib.import_module(f"{__name__}.{_module}")

__all__ = ["all_ops", "lookup", "names", "suggest"]
