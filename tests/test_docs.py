"""The documentation stays true: every example in the language reference parses, and every
doctest in the package passes (the idea of sqlglot's test_docs.py)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re
from dataclasses import dataclass
from types import ModuleType

import pytest

import archc
from archc.errors import ArchError, SourceFile, render_all
from archc.syntax.grammar import grammar_text
from archc.syntax.parse import parse
from tests.conftest import ROOT

LANGUAGE_DOC = ROOT / "docs" / "language.md"
# Whole files, and statements that only make sense inside a definition's body.
FILE_TAG = "arch"
FRAGMENT_TAG = "arch-fragment"
# Fragments are parsed as the body of this network, its header on the line of the opening fence.
FRAGMENT_HEADER = "network Fragment {\n"
FENCE = re.compile(r"^```(?P<tag>[\w-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
# `python -m archc` runs the command line on import.
SKIPPED_MODULES = {"archc.__main__"}


@dataclass(frozen=True)
class Example:
    tag: str
    text: str
    line: int  # the line of the document holding the example's first line

    @property
    def id(self) -> str:
        return f"language.md:{self.line}"


def _examples() -> list[Example]:
    doc = LANGUAGE_DOC.read_text(encoding="utf-8")
    return [
        Example(m["tag"], m["body"], doc.count("\n", 0, m.start("body")) + 1)
        for m in FENCE.finditer(doc)
    ]


EXAMPLES = _examples()
ARCH_EXAMPLES = [e for e in EXAMPLES if e.tag in (FILE_TAG, FRAGMENT_TAG)]


def _source(example: Example) -> SourceFile:
    # Blank lines in front put every example at its own lines, so diagnostics point into the doc.
    path = "docs/language.md"
    if example.tag == FRAGMENT_TAG:
        padding = "\n" * (example.line - 2)
        return SourceFile(path, padding + FRAGMENT_HEADER + example.text + "}\n")
    return SourceFile(path, "\n" * (example.line - 1) + example.text)


@pytest.mark.parametrize("example", ARCH_EXAMPLES, ids=lambda e: e.id)
def test_language_example_parses(example: Example) -> None:
    try:
        parse(_source(example))
    except ArchError as exc:
        pytest.fail(render_all(exc.diagnostics), pytrace=False)


def test_every_code_block_says_what_it_holds() -> None:
    # An untagged block would silently escape the parse check above.
    untagged = [e.line for e in EXAMPLES if not e.tag]
    assert not untagged, f"code blocks without a language tag at lines {untagged}"
    assert len(ARCH_EXAMPLES) >= 20


def test_examples_use_every_keyword() -> None:
    keywords = set(re.findall(r'"([a-z]+)"', grammar_text()))
    text = "\n".join(e.text for e in ARCH_EXAMPLES)
    missing = sorted(k for k in keywords if not re.search(rf"\b{k}\b", text))
    assert not missing, f"no example in language.md uses {missing}"


def _import_failed(name: str) -> None:
    # walk_packages skips a package that fails to import; its doctests must not vanish silently.
    raise ImportError(f"cannot import {name}")


def _package_modules() -> list[str]:
    found = pkgutil.walk_packages(archc.__path__, prefix="archc.", onerror=_import_failed)
    return sorted({"archc", *(m.name for m in found)} - SKIPPED_MODULES)


MODULES = _package_modules()


def test_module_walk_finds_the_package() -> None:
    assert "archc.syntax.parse" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    module: ModuleType = importlib.import_module(name)
    runner = doctest.DocTestRunner(verbose=False, optionflags=doctest.ELLIPSIS)
    report: list[str] = []
    for test in doctest.DocTestFinder().find(module):
        runner.run(test, out=report.append)
    assert runner.failures == 0, "".join(report)
