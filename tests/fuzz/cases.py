"""The three kinds of fuzz input, made from any source of choices and run in a workspace."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from tests.fuzz.built import check_built
from tests.fuzz.choices import Choices, HypothesisChoices, pick
from tests.fuzz.harness import Outcome, check_input, workspace
from tests.fuzz.mutate import ROOT, corpus, mutate, raw_input
from tests.fuzz.valid import valid_spec

KINDS = ("valid", "mutated", "raw")


@dataclass(frozen=True)
class Case:
    kind: str
    data: bytes
    folder: str  # where in the workspace's `specs/` it is written, so its `use`s resolve
    must_pass: bool  # written to be valid: it must check without errors


def make_case(kind: str, choices: Choices) -> Case:
    if kind == "valid":
        return Case(kind, valid_spec(choices).encode(), ".", must_pass=True)
    if kind == "mutated":
        source = pick(choices, corpus())
        inside = source.parent.relative_to(ROOT / "specs") if "specs" in source.parts else "."
        data = mutate(source.read_text(encoding="utf-8"), choices)
        return Case(kind, data, str(inside), must_pass=False)
    return Case(kind, raw_input(choices), ".", must_pass=False)


@st.composite
def cases(draw: st.DrawFn, kind: str) -> Case:
    """The hypothesis strategy of ``kind`` cases."""
    return make_case(kind, HypothesisChoices(draw))


def run_case(case: Case, directory: Path) -> Outcome:
    """Check ``case`` inside a workspace in ``directory`` (and build a valid one: it must be
    the static model); raises FuzzFailure if it fails."""
    path = workspace(directory) / case.folder / "fuzz.arch"
    outcome = check_input(case.data, path, case.must_pass)
    if case.must_pass:
        check_built(path)
    return outcome
