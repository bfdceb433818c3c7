"""Copying archc's own modules (archc/torch_helpers.py) into generated source.

Generated code must import nothing but torch, so when a layer is implemented by one of archc's
modules (attention over scaled_dot_product_attention, sinusoidal positions), the definitions
it needs are copied in, with the functions they call, in the order the file defines them.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import sys
from pathlib import Path

from archc.syntax import cache

# Imports a copied definition may rely on, keyed by the name it uses.
FUNCTIONAL = "import torch.nn.functional as F"
IMPORTS = {"math": "import math", "F": FUNCTIONAL}
HELPERS = Path(__file__).resolve().parents[2] / "torch_helpers.py"

# A definition: its position in the file, its source, and the names it uses.
Definition = tuple[int, str, frozenset[str]]


@functools.cache
def _definitions() -> dict[str, Definition]:
    """Top-level classes and functions of the helper file, read from the cache (see
    archc/syntax/cache.py) when this very text was read before: parsing it was 3% of a whole
    `archc compile` of GPT-2."""
    text = HELPERS.read_text(encoding="utf-8")
    digest = hashlib.sha256((sys.version + text).encode("utf-8", "surrogatepass"))
    entry = f"helpers-{digest.hexdigest()}.json"
    stored = _decoded(cache.read_entry(entry))
    if stored is not None:
        return stored
    found = _parsed(text)
    encoded = {
        name: [position, source, sorted(used)] for name, (position, source, used) in found.items()
    }
    cache.write_entry(entry, json.dumps(encoded).encode())
    return found


def _parsed(text: str) -> dict[str, Definition]:
    lines = text.splitlines()  # once: ast.get_source_segment splits the whole file per call
    found = {}
    for position, node in enumerate(ast.parse(text).body):
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            source = "\n".join(lines[node.lineno - 1 : node.end_lineno])
            used = frozenset(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
            found[node.name] = (position, source, used)
    return found


def _decoded(data: bytes | None) -> dict[str, Definition] | None:
    """A stored entry's definitions; None when there is none, or it is not what
    :func:`_definitions` writes (a damaged entry is read again from the file)."""
    try:
        stored = json.loads(data) if data is not None else None
        found = {
            name: (position, source, frozenset(used))
            for name, (position, source, used) in stored.items()
        }
    except (ValueError, TypeError, AttributeError):
        return None
    well_formed = all(
        isinstance(position, int)
        and isinstance(source, str)
        and all(isinstance(u, str) for u in used)
        for position, source, used in found.values()
    )
    return found if well_formed else None


def helper_names() -> frozenset[str]:
    """Every class and function the helper file defines: names a generated module may hold."""
    return frozenset(_definitions())


def is_helper(path: str) -> bool:
    """Whether a constructor path names one of archc's modules (torch's all start `nn.`)."""
    return path in _definitions()


def helper_source(names: set[str]) -> tuple[list[str], list[str]]:
    """The sources of the named definitions and of everything they call, in file order, and
    the import lines they need."""
    definitions = _definitions()
    wanted: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in wanted:
            continue
        wanted.add(name)
        pending += [n for n in definitions[name][2] if n in definitions]
    ordered = sorted(wanted, key=lambda n: definitions[n][0])
    used = set().union(*(definitions[n][2] for n in ordered)) if ordered else set()
    imports = [line for name, line in IMPORTS.items() if name in used]
    return [definitions[n][1] for n in ordered], imports
