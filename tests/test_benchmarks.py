"""The benchmarks run: each prints its table, and the suite runs at its smoke sizes (timings are
not checked: they are read from the tables)."""

from __future__ import annotations

import gc
import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from benchmarks import parse_speed
from benchmarks.__main__ import main as run_suite


@contextmanager
def objects_so_far_frozen() -> Iterator[None]:
    """The objects alive now left out of garbage collection while open. A benchmark collects
    garbage before each timing (benchmarks/common.py); in the test process that walked the
    whole suite's objects, most of the run's time, for timings no test reads."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def test_parse_speed_prints_its_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_speed.main(["--lines", "200", "--repeat", "1"]) == 0
    printed = capsys.readouterr().out
    assert "median s" in printed and "lines/s" in printed
    assert ".arch  archc parse()" in printed and ".py    ast.parse()" in printed
    assert "the time per line" in printed


def test_parse_speed_inputs_reach_the_requested_size() -> None:
    spec, rounds = parse_speed.generate("", parse_speed.ARCH_ROUND, 500)
    assert spec.count("\n") >= 500 and rounds >= 1
    source, _ = parse_speed.generate(parse_speed.TORCH_HEADER, parse_speed.TORCH_ROUND, 500)
    assert source.count("\n") >= 500


@pytest.mark.slow
def test_the_suite_writes_every_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The whole suite at its smallest sizes (about a minute): every module runs and reports,
    and the report holds every table; `python -m benchmarks --quick` runs the same code on
    larger inputs."""
    from benchmarks import compile_speed

    output = tmp_path / "BENCHMARKS.md"
    with objects_so_far_frozen():
        status = run_suite(["--smoke", "--output", str(output)])
    printed = capsys.readouterr().out
    written = output.read_text(encoding="utf-8")
    assert status == 0 and "Did not complete" not in written, written
    titles = [
        "Parsing a large spec and its PyTorch twin",
        "Static analysis against instantiation",
        "Cold processes, end to end",
        "Check and summary time against size",
        "Fitted exponent b",
        "Forward + backward throughput",
        "Targets",
        "Machine",
        "Versions",
    ]
    if importlib.util.find_spec("pygls") is not None:  # the `lsp` extra
        titles.append("Language server on a")
    for title in titles:
        assert title in printed and f"**{title}" in written
    sections = (
        "## Parsing",
        "## Static analysis",
        "## Compile",
        "## Scaling",
        "## Generated code",
    )
    for section in (*sections, "## Language server"):
        assert section in written
    # the compile benchmark times this version beside the baseline, or says why it could not
    assert "this version" in printed and "faster than at" in printed
    baseline = f"at {compile_speed.BASELINE}"
    assert baseline in printed or "is not available here" in printed


def test_render_speed_prints_its_timings(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import render_speed

    assert render_speed.main(["--nodes", "120", "--repeat", "1"]) == 0
    printed = capsys.readouterr().out
    assert "network: 121 nodes" in printed and "DOT text:" in printed
    assert "layout:" in printed  # timed, or skipped with the reason when no engine is installed


def test_render_speed_spec_reaches_the_requested_size() -> None:
    from archc.errors import SourceFile
    from archc.syntax.parse import parse
    from benchmarks import render_speed

    spec = render_speed.generate(1000)
    assert spec.count("Residual(16) * 25") == 10
    assert parse(SourceFile("generated.arch", spec)).items


def test_lsp_speed_edits_spread_over_the_file() -> None:
    from benchmarks import lsp_speed

    assert lsp_speed.spread(22, 5) == [0, 5, 10, 16, 21]
    assert lsp_speed.spread(3, 1) == [1]
    text, rounds = parse_speed.generate("", parse_speed.ARCH_ROUND, 500)
    for kind in lsp_speed.KINDS:
        offset, before, after = kind.site(text, rounds - 1)
        assert text[offset : offset + len(before)] == before and before != after
        assert offset > text.index(f"network Tagger{rounds - 2}(")  # in the last round


@pytest.mark.parametrize(
    ("arguments", "written"),
    [([], None), (["--output", "{tmp}/report.md"], "report.md"), (["--update"], "PUBLISHED.md")],
    ids=["printed only", "output", "update"],
)
def test_the_report_goes_only_where_asked(
    arguments: list[str],
    written: str | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import benchmarks.__main__ as suite

    monkeypatch.setattr(suite, "BENCHMARKS", ())  # the report of no benchmark: quick to write
    monkeypatch.setattr(suite, "PUBLISHED", tmp_path / "PUBLISHED.md")
    assert run_suite(["--smoke", *(a.format(tmp=tmp_path) for a in arguments)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ([written] if written else [])
    capsys.readouterr()
