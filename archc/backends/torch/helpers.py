"""Copying archc's own modules (archc/torch_helpers.py) into generated source.

Generated code must import nothing but torch, so when a layer is implemented by one of archc's
modules (attention over scaled_dot_product_attention, sinusoidal positions), the definitions
it needs are copied in, with the functions they call, in the order the file defines them. The
lines that serve only decoding with a KV cache (marked `# decoding`) are copied only into the
module of a network that decodes, so that no other holds the cache or the code that reads it.
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
CACHE = "KVCache"  # the helper a decoding network's module holds
DECODING = "  # decoding"  # ends a line only a decoding network's module holds

# A definition: its position in the file, its source, the names it uses, and the names it uses
# without its decoding lines.
Definition = tuple[int, str, frozenset[str], frozenset[str]]


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
        name: [position, source, sorted(used), sorted(plain)]
        for name, (position, source, used, plain) in found.items()
    }
    cache.write_entry(entry, json.dumps(encoded).encode())
    return found


def _parsed(text: str) -> dict[str, Definition]:
    lines = text.splitlines()  # once: ast.get_source_segment splits the whole file per call
    found = {}
    for position, node in enumerate(ast.parse(text).body):
        if isinstance(node, ast.ClassDef | ast.FunctionDef):
            source = "\n".join(lines[node.lineno - 1 : node.end_lineno])
            used = plain = _names(node)
            if DECODING in source:
                plain = _names(ast.parse(_variant(source, decoding=False)))
            found[node.name] = (position, source, used, plain)
    return found


def _names(tree: ast.AST) -> frozenset[str]:
    return frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name))


def _variant(source: str, decoding: bool) -> str:
    """A definition as a module holds it: its decoding lines without their marker where the
    network decodes, else left out."""
    kept = []
    for line in source.split("\n"):
        if not line.endswith(DECODING):
            kept.append(line)
        elif decoding:
            kept.append(line.removesuffix(DECODING))
    return "\n".join(kept)


def _decoded(data: bytes | None) -> dict[str, Definition] | None:
    """A stored entry's definitions; None when there is none, or it is not what
    :func:`_definitions` writes (a damaged entry is read again from the file)."""
    try:
        stored = json.loads(data) if data is not None else None
        found = {
            name: (position, source, frozenset(used), frozenset(plain))
            for name, (position, source, used, plain) in stored.items()
        }
    except (ValueError, TypeError, AttributeError):
        return None
    well_formed = all(
        isinstance(position, int)
        and isinstance(source, str)
        and all(isinstance(u, str) for u in used | plain)
        for position, source, used, plain in found.values()
    )
    return found if well_formed else None


def helper_names() -> frozenset[str]:
    """Every class and function the helper file defines: names a generated module may hold."""
    return frozenset(_definitions())


def is_helper(path: str) -> bool:
    """Whether a constructor path names one of archc's modules (torch's all start `nn.`)."""
    return path in _definitions()


def derives_from(path: str, base: str) -> bool:
    """Whether the helper class ``path`` is ``base`` (a torch path such as `nn.Embedding`, or
    another helper) or derives from it, read from the class statements of the helper file."""
    pending, seen = [path], set()
    while pending:
        name = pending.pop()
        if name == base:
            return True
        if name not in seen:
            seen.add(name)
            pending += _bases(name)
    return False


@functools.cache
def _bases(name: str) -> tuple[str, ...]:
    """The base classes a helper class names (`nn.Embedding`); none for any other name."""
    definition = _definitions().get(name)
    if definition is None:
        return ()
    (statement,) = ast.parse(definition[1]).body
    if not isinstance(statement, ast.ClassDef):
        return ()
    return tuple(ast.unparse(base) for base in statement.bases)


def helper_source(names: set[str]) -> tuple[list[str], list[str]]:
    """The sources of the named definitions and of everything they call, in file order, and
    the import lines they need; their decoding lines only where ``names`` holds the cache."""
    definitions = _definitions()
    decoding = CACHE in names
    uses = {name: d[2] if decoding else d[3] for name, d in definitions.items()}
    wanted: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in wanted:
            continue
        wanted.add(name)
        pending += [n for n in uses[name] if n in definitions]
    ordered = sorted(wanted, key=lambda n: definitions[n][0])
    used = set().union(*(uses[n] for n in ordered)) if ordered else set()
    imports = [line for name, line in IMPORTS.items() if name in used]
    return [_variant(definitions[n][1], decoding) for n in ordered], imports
