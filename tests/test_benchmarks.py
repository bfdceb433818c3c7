"""The benchmarks run: a tiny run of each prints its table (timings are not checked)."""

from __future__ import annotations

import pytest

from benchmarks import parse_speed


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
