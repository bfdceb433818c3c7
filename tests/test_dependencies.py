"""pyproject.toml declares every package archc imports, and only those, with the bounds the code
needs; torch stays out of the light install."""

from __future__ import annotations

import ast
import re
import sys
from functools import cache
from importlib import metadata
from typing import Any

import pytest

from tests.conftest import ROOT

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

# Installed for the program it provides (the layout engine), never imported.
PROGRAMS = {"graphviz-pure"}
# What torch.onnx imports for archc's ONNX export, which checks that they are installed.
USED_BY_TORCH = {"onnx", "onnxscript"}
# The extras that hold what the code needs; `dev` and `bench` hold what tests and benchmarks do.
CODE_EXTRAS = ("torch", "onnx", "highlight")


@cache
def project() -> dict[str, Any]:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    table: dict[str, Any] = tomllib.loads(text)["project"]
    return table


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements(requirements: list[str]) -> dict[str, str]:
    """Distribution name -> its version bounds, `archc[...]` itself left out."""
    found = {}
    for requirement in requirements:
        named = re.fullmatch(r"([A-Za-z0-9._-]+)(\[[^]]*\])?\s*(.*)", requirement)
        assert named is not None, requirement
        if normalise(named.group(1)) != "archc":
            found[normalise(named.group(1))] = named.group(3)
    return found


def base() -> dict[str, str]:
    return requirements(project()["dependencies"])


def extra(name: str) -> dict[str, str]:
    return requirements(project()["optional-dependencies"][name])


def imported_modules() -> set[str]:
    """The top-level modules outside the standard library that archc/ imports anywhere."""
    modules = set()
    for path in (ROOT / "archc").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.partition(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.partition(".")[0])
    return modules - set(sys.stdlib_module_names) - {"archc", "__future__"}


def imported_distributions() -> set[str]:
    providers = metadata.packages_distributions()
    return {normalise(providers.get(module, [module])[0]) for module in imported_modules()}


def test_every_package_archc_imports_is_declared() -> None:
    declared = set(base()).union(*(extra(name) for name in CODE_EXTRAS))
    assert imported_distributions() - declared == set()


def test_every_declared_package_is_used() -> None:
    used = imported_distributions() | PROGRAMS
    assert set(base()) - used == set()
    for name in CODE_EXTRAS:
        assert set(extra(name)) - used - USED_BY_TORCH == set(), name


def test_torch_is_an_extra_not_a_dependency() -> None:
    assert "torch" not in base()
    assert "torch" in extra("torch")
    assert "archc[torch" in " ".join(project()["optional-dependencies"]["dev"])


def floor(bounds: str) -> tuple[int, ...]:
    found = re.search(r">=\s*([\d.]+)", bounds)
    assert found is not None, f"no lower bound in {bounds!r}"
    return tuple(int(part) for part in found.group(1).split("."))


def test_bounds_the_code_needs() -> None:
    helpers = (ROOT / "archc" / "torch_helpers.py").read_text(encoding="utf-8")
    # generated attention passes enable_gqa to scaled_dot_product_attention (torch 2.5)
    if "enable_gqa" in helpers:
        assert floor(extra("torch")["torch"]) >= (2, 5)
    # archc/syntax/fast_lalr.py runs Lark's parser internals: a new major may change them
    assert "<2" in base()["lark"].replace(" ", "")
