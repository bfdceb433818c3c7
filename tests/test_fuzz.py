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
from tests.fuzz.choices import FUZZ, RandomChoices
from tests.fuzz.harness import check_input
from tests.fuzz.mutate import corpus, tokens
from tests.fuzz.sequence_units import unit_attention
from tests.fuzz.tensor_units import unit_select
from tests.fuzz.tracked import SIZE, Body, Shape, Unit
from tests.fuzz.valid import OWN_UNITS, SpecWriter, units_for

REGRESSIONS = sorted((Path(__file__).parent / "fuzz" / "regressions").glob("*.arch"))
EXPECT = re.compile(r"^# expect: (A\d{3})$", re.MULTILINE)


@pytest.fixture(scope="module")
def directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(FUZZ, max_examples=200)
@given(cases("valid"))
def test_valid_specs_check_and_build_the_static_model(directory: Path, case: Case) -> None:
    """A fixed sample; `python -m tests.fuzz --kind valid --minutes N` draws fresh ones."""
    run_case(case, directory)


@settings(FUZZ, max_examples=8)
@given(cases("oracle"))
def test_valid_specs_compute_what_the_interpreter_computes(directory: Path, case: Case) -> None:
    """A fixed sample; `python -m tests.fuzz --kind oracle --minutes N` draws fresh ones."""
    run_case(case, directory)


def test_the_writer_reaches_every_unit() -> None:
    """Every unit is written within a few hundred specs, so the CI samples reach each one."""
    written: set[str] = set()
    for seed in range(300):
        writer = SpecWriter(RandomChoices(seed))
        writer.spec()
        written |= writer.units
    every = {name for kind in OWN_UNITS for name in units_for(kind)}
    assert every - written == set()


@settings(FUZZ, max_examples=1200)
@given(cases("mutated"))
def test_damaged_specs_give_located_diagnostics(directory: Path, case: Case) -> None:
    """A fixed sample; `python -m tests.fuzz --kind mutated --minutes N` draws fresh ones."""
    run_case(case, directory)


@settings(FUZZ, max_examples=1000)
@given(cases("raw"))
def test_raw_bytes_give_located_diagnostics(directory: Path, case: Case) -> None:
    """A fixed sample; `python -m tests.fuzz --kind raw --minutes N` draws fresh ones."""
    run_case(case, directory)


# Statements that misuse the newer constructs, each in a network over `x: [T, 8]`, with the
# diagnostic each must give (and nothing worse: `check_input` judges the run as the fuzzer does).
MISUSES = {
    "x = x -> attention(2, kv_heads=3)": "A305",
    'x = x -> attention(2, layout="linears", names=("a", "a", "a", "a"))': "A346",
    'x = x -> attention(2, layout="linears", names=("class", "k", "v"))': "A346",
    'x = x -> attention(2, names=("q", "k", "v", "o"))': "A348",
    "x = x -> attention(2, rotary=true, rotary_fraction=1e-300)": "A349",
    "x = x -> shared(shared(linear(8)))": "A316",
    "x = x -> lstm(4, h0=x, return_state=true)": "A380",
    "a, b = x -> topk(10 ** 12)": "A367",
    "x = x -> gather(x, -1)": "A308",
    "x = scatter_add(x, x, x, -1)": "A308",
    "x = where(x, x, x)": "A308",
    "x = x -> masked_fill(x, 1e400)": "A308",
    "x = x -> one_hot(10 ** 12)": "A308",
    "x = x -> cumsum(5)": "A304",
    "x = x -> tril(diagonal=10 ** 40)": "A312",
    "x = x ** (10 ** 40)": "A312",
    "x = x -> clamp(min=2, max=1)": "A309",
    "c = arange(0, 10, 0)": "A210",
    "x = x + lookup(x -> parameter(4, 8, exact=true) as t, positions=(10 ** 30,))": "A312",
    "x = x -> unflatten(1, (x.shape[1], x.shape[1]))": "A310",
    "x = x + (x -> parameter(10 ** 6, 10 ** 6) as p)": "A307",
}


@pytest.mark.parametrize(("statement", "code"), MISUSES.items(), ids=list(MISUSES.values()))
def test_misused_constructs_give_their_diagnostic(
    statement: str, code: str, tmp_path: Path
) -> None:
    target = tmp_path / "misuse.arch"
    check_input(
        f"network N {{\n    in x: [T, 8]\n    {statement}\n    out x\n}}\n".encode(), target
    )
    assert code in {d.code for d in api.check(str(target))}


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


def test_long_run_reports_the_count_of_all_its_processes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.fuzz", "--minutes", "0.02", "--kind", "raw", "--jobs", "2"],
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
    totals = r"^[1-9]\d* cases \(\d+ oracle\) in 0.01 min; 0 failed; \d+ ill-conditioned$"
    assert re.search(totals, result.stdout, re.M)


def test_an_ill_conditioned_oracle_case_is_counted_and_saved_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A case whose outputs differ only as far as rounding moves them is no failure: the
    totals count it, and it is saved under ill-conditioned/ with its figures."""
    from tests.fuzz import __main__ as fuzz

    data = (
        ROOT / "tests" / "fuzz" / "ill_conditioned" / "batchnorm1d_after_sign.arch"
    ).read_bytes()
    monkeypatch.setattr(fuzz, "make_case", lambda kind, choices: Case(kind, data, ".", True))
    monkeypatch.setattr(fuzz, "_limit_memory", lambda: None)  # this process runs on
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert fuzz.main(["--kind", "oracle", "--seed", "7", "--save", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^1 cases \(1 oracle\) in 1 min; 0 failed; 1 ill-conditioned$", out, re.M)
    saved = tmp_path / "ill-conditioned" / "oracle-7.arch"
    assert saved.read_bytes() == data
    assert "differs by" in saved.with_suffix(".txt").read_text(encoding="utf-8")
    assert not list(tmp_path.glob("*.arch"))  # nothing saved as a failure


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


class OneHostileName(SpecWriter):
    """A writer whose every hostile name is the same one wherever it is still free, so that
    names the units take independently meet as often as they can."""

    def hostile(self, pool: tuple[str, ...], used: set[str]) -> str | None:
        return None if "Relu" in used else "Relu"


def test_names_the_units_take_never_meet(tmp_path: Path) -> None:
    """A shared layer's bound name is a layer name too, and a chain with names of its own is
    a scope of its own: both must stay apart from the body's other layer names."""
    target = tmp_path / "names.arch"
    for seed in range(120):
        target.write_text(OneHostileName(RandomChoices(seed)).spec(), encoding="utf-8")
        errors = [d for d in api.check(str(target)) if d.is_error]
        assert not errors, f"seed {seed}: {errors[0].message}"


def _one_unit(writer: SpecWriter, unit: Unit, before: str = "") -> tuple[str, Shape]:
    """A spec of one network over a sequence of width 8 that passes it through ``unit`` (after
    ``before``), and the shape the writer tracked for its output."""
    body = Body(dict(writer.constants), writer.layer_names, lines=["in x: [T, 8]"])
    if before:
        body.lines.append(before)
    shape = unit(writer, body, Shape("sequence", 8, length=SIZE, symbolic=True))
    lines = "\n".join(f"    {line}" for line in [*body.lines, "out x"])
    head = [f"{name} = {value}" for name, value in writer.constants.items()]
    return "\n".join([*head, *writer.blocks, f"network Net {{\n{lines}\n}}"]) + "\n", shape


def test_attention_gives_the_width_the_writer_tracks(tmp_path: Path) -> None:
    """Without its output projection attention is heads·head_dim wide: only where its three
    names say so."""
    target = tmp_path / "attention.arch"
    for seed in range(150):
        text, shape = _one_unit(SpecWriter(RandomChoices(seed)), unit_attention)
        target.write_text(text, encoding="utf-8")
        networks, diagnostics = api.analyse(str(target))
        assert not [d for d in diagnostics if d.is_error], f"seed {seed}: {diagnostics}"
        (network,) = networks
        (out,) = network.outputs.values()
        assert network.type_of(out).shape[-1] == shape.features, f"seed {seed}:\n{text}"


def test_selection_over_tied_values_computes_what_the_interpreter_computes(
    tmp_path: Path,
) -> None:
    """Every value of x tied (all zeros): torch.topk and the interpreter may pick different
    ones among them, so what the writer selects from must part them."""
    from tests.oracle import check_values  # imports torch

    target = tmp_path / "select.arch"
    for seed in range(12):
        text, _ = _one_unit(SpecWriter(RandomChoices(seed)), unit_select, before="x = x * 0.0")
        target.write_text(text, encoding="utf-8")
        check_values(target, size=SIZE)


def test_replay_kind_saves_a_spec_whose_replay_differs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--kind replay` runs the comparison, and a difference it finds is a saved failure."""
    from tests.fuzz import __main__ as fuzz
    from tests.fuzz import cases as fuzz_cases

    monkeypatch.setattr(fuzz, "_limit_memory", lambda: None)
    assert fuzz.main(["--kind", "replay", "--seed", "7", "--save", str(tmp_path)]) == 0
    assert re.search(r"^1 cases \(1 replay\) in 1 min; 0 failed$", capsys.readouterr().out, re.M)

    compared: list[bytes] = []

    def differs(path: Path) -> str:
        compared.append(path.read_bytes())
        return "network N: nodes[0]: replayed a, elaborated b"

    monkeypatch.setattr(fuzz_cases, "replay_difference", differs)
    assert fuzz.main(["--kind", "replay", "--seed", "7", "--save", str(tmp_path)]) == 1
    saved = tmp_path / "replay-7.arch"
    assert saved.read_bytes() == compared[0]
    assert "nodes[0]" in saved.with_suffix(".txt").read_text(encoding="utf-8")
