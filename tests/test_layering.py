"""Imports follow the data: no module reaches back into a later stage.

Each package may import only from the packages listed for it; torch is imported only by the
tests and, inside their functions, by the modules in TORCH (archc/torch_helpers.py is read as
text, not imported); the ops get it from the reference interpreter as an argument.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

BASE = {"archc.errors", "archc.dims", "archc.zoo", "archc.collector", "archc.files"}
FRONT = BASE | {"archc.syntax"}
REGISTRIES = BASE | {"archc.ops", "archc.pysource", "archc.syntax"}
ALLOWED: dict[str, set[str]] = {
    "archc.errors": set(),
    "archc.dims": set(),
    "archc.zoo": set(),
    "archc.collector": set(),
    "archc.files": {"archc.errors"},
    "archc.syntax": FRONT,
    "archc.ops": BASE | {"archc.ops"},
    "archc.pysource": {"archc.pysource", "archc.syntax"},
    "archc.inits": REGISTRIES | {"archc.inits"},
    "archc.semantics": REGISTRIES | {"archc.semantics", "archc.inits"},
    "archc.backends": REGISTRIES
    | {"archc.semantics", "archc.inits", "archc.backends", "archc.__version__"},
    "archc.api": REGISTRIES | {"archc.semantics", "archc.backends"},
    "archc.expect": BASE,
    "archc.explain": {"archc.ops"},
    "archc.importer": REGISTRIES | {"archc.importer"},
}
# Modules allowed to import torch at all (inside functions, so importing them stays cheap; the
# package names `nn.Module` for type checkers only, and tests/test_python_api.py checks that
# `import archc` leaves torch alone).
TORCH = {
    "archc",
    "archc.runtime",
    "archc.init",
    "archc.torch_helpers",
    "archc.export",
    "archc.backends.interpret",
    *(
        f"archc.importer.{name}"
        for name in (
            "branches",
            "failures",
            "folds",
            "layers",
            "probes",
            "scopes",
            "sharing",
            "sized",
            "sizes",
            "spec",
            "subclassed",
            "trace",
            "tracer",
            "values",
        )
    ),
    "archc.importer",
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = {f"{node.module}.{a.name}" for a in node.names}
            found |= names if node.module == "archc" else names | {node.module}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return found


def rule_for(name: str) -> set[str] | None:
    for prefix in sorted(ALLOWED, key=len, reverse=True):
        if name == prefix or name.startswith(prefix + "."):
            return ALLOWED[prefix]
    return None


SOURCES = sorted((ROOT / "archc").rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: module_name(p))
def test_imports_follow_the_pipeline(path: Path) -> None:
    name = module_name(path)
    found = imports(path)
    if name not in TORCH:
        assert not any(i == "torch" or i.startswith("torch.") for i in found), name
    allowed = rule_for(name)
    if allowed is None:
        return  # entry points (cli, model, runtime, package init) may use the whole API
    own = {i for i in found if i == "archc" or i.startswith("archc.")}
    for imported in own:
        assert any(imported == a or imported.startswith(a + ".") for a in allowed), (
            f"{name} imports {imported}"
        )


# Backends read the IR, never the syntax tree: what they need of a definition (its signature)
# or of an init rule (its resolved target) elaboration records in the IR. The one exception is
# storage, not syntax: helpers.py keeps the definitions it reads from archc/torch_helpers.py in
# the parse cache's folder, under the same switches (ARCHC_CACHE_DIR, ARCHC_NO_CACHE), through
# cache.read_entry and cache.write_entry, which store bytes and read no tree.
SYNTAX_IN_BACKENDS = {"archc.backends.torch.helpers": {"archc.syntax", "archc.syntax.cache"}}
BACKENDS = [p for p in SOURCES if module_name(p).startswith("archc.backends")]


@pytest.mark.parametrize("path", BACKENDS, ids=lambda p: module_name(p))
def test_backends_never_import_the_syntax(path: Path) -> None:
    name = module_name(path)
    syntax = {i for i in imports(path) if i == "archc.syntax" or i.startswith("archc.syntax.")}
    assert syntax <= SYNTAX_IN_BACKENDS.get(name, set()), f"{name} imports {sorted(syntax)}"


def test_the_exceptions_are_still_needed() -> None:
    for name, allowed in SYNTAX_IN_BACKENDS.items():
        (path,) = [p for p in BACKENDS if module_name(p) == name]
        assert allowed <= imports(path), name
