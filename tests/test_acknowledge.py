"""Acknowledged warnings: `# archc: allow CODE` at the end of a statement silences that warning
there and nowhere else, never an error, and one that silences nothing is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from archc import api
from archc.cli import main
from archc.syntax.fmt import format_source
from archc.syntax.source import read_source

STEM = """\
network SqueezeStem(width=96) {{
    in image: [3, 224, 224]
    x = image -> conv2d(width, 7, stride=2) -> relu{first}
    y = image -> conv2d(width, 7, stride=2){second}
    out x + y
}}
"""


def codes(tmp_path: Path, text: str, **options: object) -> list[tuple[str, int]]:
    spec = tmp_path / "stem.arch"
    spec.write_text(text, encoding="utf-8")
    _, diagnostics = api.analyse(str(spec), **options)  # type: ignore[arg-type]
    return [(d.code, d.span.line if d.span else 0) for d in diagnostics]


def test_the_warnings_are_there_without_acknowledgement(tmp_path: Path) -> None:
    assert codes(tmp_path, STEM.format(first="", second="")) == [("A302", 3), ("A302", 4)]


def test_an_acknowledgement_silences_its_own_statement_only(tmp_path: Path) -> None:
    text = STEM.format(first="  # archc: allow A302: as in the paper", second="")
    assert codes(tmp_path, text) == [("A302", 4)]


def test_an_acknowledgement_of_another_code_silences_nothing_and_says_so(tmp_path: Path) -> None:
    text = STEM.format(first="  # archc: allow A303, A302", second="")
    assert codes(tmp_path, text) == [("A170", 3), ("A302", 4)]


def test_an_acknowledgement_on_a_statement_without_the_warning_is_reported(
    tmp_path: Path,
) -> None:
    text = STEM.replace("stride=2)", "stride=2, padding=3)").format(
        first="  # archc: allow A302", second="  # archc: allow A302"
    )
    assert codes(tmp_path, text) == [("A170", 3), ("A170", 4)]


def test_stale_acknowledgements_are_not_reported_for_a_partial_check(tmp_path: Path) -> None:
    text = STEM.format(first="  # archc: allow A303", second="  # archc: allow A302")
    assert codes(tmp_path, text, overrides={"width": 64}) == [("A302", 3)]
    assert codes(tmp_path, text, network="SqueezeStem") == [("A302", 3)]


def test_an_error_is_never_silenced(tmp_path: Path) -> None:
    text = STEM.format(first="  # archc: allow A302", second="  # archc: allow A302")
    assert codes(tmp_path, text, strict=True) == [("A302", 3), ("A302", 4)]


def test_a_multiline_statement_is_acknowledged_from_any_of_its_lines(tmp_path: Path) -> None:
    text = STEM.format(first="", second="  # archc: allow A302").replace(
        "x = image -> conv2d(width, 7, stride=2) -> relu",
        "x = image\n        -> conv2d(width, 7, stride=2)  # archc: allow A302\n        -> relu",
    )
    assert codes(tmp_path, text) == []


def test_a_comment_to_archc_that_is_no_acknowledgement_is_reported(tmp_path: Path) -> None:
    text = STEM.format(first="  # archc: alow A302", second="  # archc: allow A302")
    assert codes(tmp_path, text) == [("A302", 3), ("A171", 3)]
    own_line = STEM.format(first="\n    # archc: allow A302", second="  # archc: allow A302")
    assert codes(tmp_path, own_line) == [("A302", 3), ("A171", 4)]


def test_the_formatter_keeps_an_acknowledgement_where_it_is(tmp_path: Path) -> None:
    text = STEM.format(first="  # archc: allow A302", second="  # archc: allow A302")
    spec = tmp_path / "stem.arch"
    spec.write_text(text, encoding="utf-8")
    assert format_source(read_source(str(spec))) == text


def test_check_reports_the_stale_one_with_a_caret_under_its_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "stem.arch"
    spec.write_text(STEM.format(first="  # archc: allow A302, A303", second=""), "utf-8")
    assert main(["check", str(spec)]) == 0
    err = capsys.readouterr().err
    assert "warning[A170]: `allow A303` silences nothing" in err
    line = next(x for x in err.splitlines() if x.endswith("nothing to acknowledge"))
    source = next(x for x in err.splitlines() if "# archc:" in x)
    assert source[line.index("^") : line.index("^") + 4] == "A303"
