"""Fuzzing in CI: valid specs, damaged real specs and raw bytes, a fixed number of each.

Every input must check cleanly or give located diagnostics, in bounded time, and never an
internal error (see `tests/fuzz/`). The CI profile is derandomized, so a failure here
reproduces; `python -m tests.fuzz --minutes N` explores with fresh seeds.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings

from archc import api
from tests.conftest import ROOT
from tests.fuzz.cases import Case, cases, run_case
from tests.fuzz.choices import FUZZ
from tests.fuzz.harness import check_input
from tests.fuzz.mutate import corpus, tokens

REGRESSIONS = sorted((Path(__file__).parent / "fuzz" / "regressions").glob("*.arch"))
EXPECT = re.compile(r"^# expect: (A\d{3})$", re.MULTILINE)


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(FUZZ, max_examples=200)
@given(cases("valid"))
def test_valid_specs_check_and_build_the_static_model(directory: Path, case: Case) -> None:
    run_case(case, directory)


@settings(FUZZ, max_examples=1200)
@given(cases("mutated"))
def test_damaged_specs_give_located_diagnostics(directory: Path, case: Case) -> None:
    run_case(case, directory)


@settings(FUZZ, max_examples=1000)
@given(cases("raw"))
def test_raw_bytes_give_located_diagnostics(directory: Path, case: Case) -> None:
    run_case(case, directory)


@pytest.mark.parametrize("path", REGRESSIONS, ids=lambda p: p.stem)
def test_regression(path: Path, tmp_path: Path) -> None:
    """Inputs the fuzzers once broke archc with: each now gives its diagnostic, promptly."""
    data = path.read_bytes()
    (expected,) = EXPECT.findall(data.decode("utf-8"))
    target = tmp_path / path.name
    check_input(data, target)
    assert expected in {d.code for d in api.check(str(target))}


def test_there_are_regressions_and_a_corpus() -> None:
    assert len(REGRESSIONS) >= 10
    assert len(corpus()) >= 30


def test_tokens_spell_the_text_exactly() -> None:
    for path in corpus():
        text = path.read_text(encoding="utf-8")
        assert "".join(tokens(text)) == text


def test_long_run_reports_its_count() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.fuzz", "--minutes", "0.02", "--kind", "raw"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^\d+ cases \(\d+ raw\) in 0.02 min; 0 failed$", result.stdout, re.M)


def test_failures_are_never_saved_inside_the_checkout() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.fuzz", "--minutes", "0", "--save", "tests/fuzz/crashes"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 2
    assert "outside the checkout" in result.stderr


def test_long_oracle_run_compares_values() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.fuzz", "--minutes", "0.01", "--kind", "oracle"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^[1-9]\d* cases \(\d+ oracle\) in 0.01 min; 0 failed$", result.stdout, re.M)


def test_atheris_harness_runs_where_atheris_installs() -> None:
    pytest.importorskip("atheris")
    result = subprocess.run(
        [sys.executable, "-m", "tests.fuzz.atheris_harness", "-runs=50"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
