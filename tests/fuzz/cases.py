"""The kinds of fuzz input, made from any source of choices and run in a workspace.

Three kinds are checked with `archc check`. Two more run only where a run asks for them:
`oracle`, a valid spec that is also compiled, built in float64 and run beside the reference
interpreter (`tests/oracle.py`), slower and importing torch, whose verdict is equal,
ill-conditioned (values rounding alone moves beyond the tolerance, not a failure) or a mismatch
(a failure); and `replay`, a valid or damaged spec analysed with repeated block instances
replayed and with every instance elaborated, which must agree field by field
(`tests/fuzz/replayed.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hypothesis import strategies as st

from tests.fuzz.built import check_networks, compile_checked
from tests.fuzz.choices import Choices, HypothesisChoices, chance, pick
from tests.fuzz.harness import FuzzFailure, check_input, workspace
from tests.fuzz.mutate import ROOT, corpus, mutate, raw_input
from tests.fuzz.replayed import replay_difference
from tests.fuzz.valid import SIZE, valid_spec

if TYPE_CHECKING:
    from tests.oracle import Verdict

CHECKS = ("valid", "mutated", "raw")
KINDS = (*CHECKS, "oracle", "replay")


@dataclass(frozen=True)
class Case:
    kind: str
    data: bytes
    folder: str  # where in the workspace's `specs/` it is written, so its `use`s resolve
    must_pass: bool  # written to be valid: it must check without errors


def make_case(kind: str, choices: Choices) -> Case:
    if kind in ("valid", "oracle"):
        return Case(kind, valid_spec(choices).encode(), ".", must_pass=True)
    if kind == "replay":
        case = make_case("mutated" if chance(choices, 30) else "valid", choices)
        return Case(kind, case.data, case.folder, case.must_pass)
    if kind == "mutated":
        if chance(choices, 30):  # a written spec: it holds constructs the corpus may lack
            return Case(kind, mutate(valid_spec(choices), choices), ".", must_pass=False)
        source = pick(choices, corpus())
        inside = source.parent.relative_to(ROOT / "specs") if "specs" in source.parts else "."
        data = mutate(source.read_text(encoding="utf-8"), choices)
        return Case(kind, data, str(inside), must_pass=False)
    return Case(kind, raw_input(choices), ".", must_pass=False)


@st.composite
def cases(draw: st.DrawFn, kind: str) -> Case:
    """The hypothesis strategy of ``kind`` cases."""
    return make_case(kind, HypothesisChoices(draw))


def run_case(case: Case, directory: Path) -> Verdict | None:
    """Check ``case`` inside a workspace in ``directory`` (and, for an oracle case, compare its
    built module with the interpreter, giving back the verdict: equal or ill-conditioned);
    raises FuzzFailure if it fails, a mismatch included."""
    path = workspace(directory) / case.folder / "fuzz.arch"
    if case.kind == "replay":
        path.write_bytes(case.data)
        difference = replay_difference(path)
        if difference is not None:
            raise FuzzFailure(f"replay differs from elaboration: {difference}")
        return None
    check_input(case.data, path, case.must_pass)
    if not case.must_pass:
        return None
    networks, module = compile_checked(path)  # compiled once for both checks
    verdict = None
    if case.kind == "oracle":
        from tests.oracle import check_compiled  # imports torch

        try:  # at the size the writer tracked its symbols at
            verdict = check_compiled(networks, module, size=SIZE, label=str(path))
        except Exception as exc:  # a mismatch, or generated code that fails to run
            raise FuzzFailure(f"{type(exc).__name__}: {exc}") from exc
    check_networks(networks, module)
    return verdict
