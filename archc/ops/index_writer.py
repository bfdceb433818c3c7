"""Writes ``archc/ops/index.py`` from what the op families register:
``python -m archc.ops.index_writer > archc/ops/index.py``.

Every module of the package is imported, so the table is read off the registry itself, never
kept by hand; the test suite compares the file with this output.
"""

from __future__ import annotations

import importlib
import pkgutil

import archc.ops
from archc.ops.registry import all_ops

WIDTH = 99  # the project's line length


def registered_modules() -> dict[str, tuple[str, ...]]:
    """Each module that registers ops -> its op names and aliases, sorted."""
    for module in pkgutil.iter_modules(archc.ops.__path__):
        importlib.import_module(f"archc.ops.{module.name}")
    found: dict[str, set[str]] = {}
    for op in all_ops():
        family = type(op).__module__.removeprefix("archc.ops.")
        found.setdefault(family, set()).update((op.name, *op.aliases))
    return {family: tuple(sorted(found[family])) for family in sorted(found)}


def _entry(family: str, names: tuple[str, ...]) -> list[str]:
    quoted = [f'"{name}"' for name in names]
    one_line = f'    "{family}": ({", ".join(quoted)}{"," if len(quoted) == 1 else ""}),'
    if len(one_line) <= WIDTH:
        return [one_line]
    return [f'    "{family}": (', *(f"        {q}," for q in quoted), "    ),"]


def render(docstring: str) -> str:
    """The text of index.py, under the docstring it keeps."""
    lines = [f'"""{docstring}"""', "", "from __future__ import annotations", ""]
    lines.append("MODULES: dict[str, tuple[str, ...]] = {")
    for family, names in registered_modules().items():
        lines += _entry(family, names)
    lines += [
        "}",
        "",
        "# op name -> the module (under archc.ops) that registers it",
        "MODULE_OF: dict[str, str] = {name: module for module, names in MODULES.items() "
        "for name in names}",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    from archc.ops import index

    print(render(index.__doc__ or ""), end="")
