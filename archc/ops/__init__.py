"""The op registry: every layer kind, defined once.

Each module here defines a family of ops and registers them with ``@register``; ``index.py``
says which module defines which name, and :func:`lookup` imports a family when one of its ops
is first asked for. Adding a layer kind means adding (or extending) one module here, nothing
else; the index is generated from the families (``python -m archc.ops.index_writer``).
"""

from archc.ops.registry import all_ops, lookup, names, suggest

__all__ = ["all_ops", "lookup", "names", "suggest"]
