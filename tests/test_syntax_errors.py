"""Syntax errors: golden `.stderr` files, the catalogue, and diagnostics checked field by field.

Each `tests/diagnostics/syntax/<case>.arch` marks every line where a diagnostic must be reported
with a `# error: CODE` comment, and keeps its rendering beside it in `<case>.stderr` (rewrite
those with `pytest --update-goldens` and review the diff).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archc import api
from archc.errors import ArchError, Diagnostic, SourceFile, render_all
from archc.syntax.mistake_rules import did_you_mean
from archc.syntax.mistakes import MISTAKES, Mistake
from archc.syntax.parse import parse
from tests.conftest import ROOT, check_golden

CASES = sorted((ROOT / "tests" / "diagnostics" / "syntax").glob("*.arch"))
ANNOTATION = re.compile(r"#\s*(error|warning):\s*(A\d{3})\b")


def annotations(case: Path) -> list[tuple[int, str, str]]:
    """(line, severity, code) for every `# error: CODE` comment in ``case``."""
    lines = case.read_text(encoding="utf-8").splitlines()
    return sorted(
        (number, match[1], match[2])
        for number, line in enumerate(lines, 1)
        for match in ANNOTATION.finditer(line)
    )


def check_case(case: Path, monkeypatch: pytest.MonkeyPatch) -> list[Diagnostic]:
    # Run from the repository root so that the paths in the output are the same everywhere.
    monkeypatch.chdir(ROOT)
    return api.check(case.relative_to(ROOT).as_posix())


def parse_errors(text: str) -> list[Diagnostic]:
    with pytest.raises(ArchError) as caught:
        parse(SourceFile("t.arch", text))
    return caught.value.diagnostics


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.stem)
def test_rendering_matches_golden(
    case: Path, bless: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = render_all(check_case(case, monkeypatch), color=False)
    check_golden(case.with_suffix(".stderr"), text, bless)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.stem)
def test_annotations_match_diagnostics(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    diagnostics = check_case(case, monkeypatch)
    reported = sorted((d.span.line, d.severity, d.code) for d in diagnostics if d.span)
    assert reported == annotations(case)


def test_every_golden_has_its_source() -> None:
    goldens = {path.stem for path in CASES[0].parent.glob("*.stderr")}
    assert goldens == {case.stem for case in CASES}


def test_every_mistake_has_a_golden_case() -> None:
    covered = {code for case in CASES for _, _, code in annotations(case)}
    assert [m.code for m in MISTAKES if m.code not in covered] == []


def test_fallback_has_golden_cases() -> None:
    covered = [code for case in CASES for _, _, code in annotations(case)]
    assert covered.count("A100") >= 3


def test_codes_are_stable_and_distinct() -> None:
    codes = [mistake.code for mistake in MISTAKES]
    assert len(codes) >= 25
    assert len(set(codes)) == len(codes)
    assert all(re.fullmatch(r"A1[1-9]\d", code) for code in codes)


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda mistake: mistake.code)
def test_wording_follows_the_style(mistake: Mistake) -> None:
    for text in (mistake.message, mistake.label, mistake.help):
        assert text and not text.endswith("."), text
        assert not text[0].isupper(), text
    assert len(mistake.label.split()) <= 8


@pytest.mark.parametrize(
    ("code", "example"),
    [(m.code, example) for m in MISTAKES for example in m.examples],
)
def test_catalogue_examples_are_recognised(code: str, example: str) -> None:
    assert [d.code for d in parse_errors(example)] == [code]


# Field by field: the code, and where the caret starts and ends.
@pytest.mark.parametrize(
    ("text", "code", "line", "col", "end_col"),
    [
        ("network N {\n  x = f(1, 2\n  out x\n}\n", "A110", 2, 13, 13),
        ("network N {\n  y = 1 +\n  out y\n}\n", "A133", 2, 9, 10),
        ("network N {\n  in x\n  out x\n", "A113", 3, 8, 8),
        ("x = f(1]\n", "A115", 1, 8, 9),
        ("netwrok N {\n  in x\n}\n", "A120", 1, 1, 8),
        ("x = 3x\n", "A141", 1, 5, 7),
        ("x = 'a b'\n", "A122", 1, 5, 10),
        ("network N {\n\tin x = [3]\n}\n", "A116", 2, 7, 8),
        ("x = 1 2 3\n", "A111", 1, 7, 8),
        ("x = f(\n", "A110", 1, 7, 7),
    ],
)
def test_diagnostic_fields(text: str, code: str, line: int, col: int, end_col: int) -> None:
    (diagnostic,) = parse_errors(text)
    assert diagnostic.span is not None
    span = diagnostic.span
    assert (diagnostic.code, span.line, span.col, span.end_col) == (code, line, col, end_col)


def test_unclosed_bracket_points_at_its_opener() -> None:
    (diagnostic,) = parse_errors("network N {\n  x = f(1,\n    2\n  out x\n}\n")
    assert diagnostic.code == "A110"
    assert diagnostic.span is not None and (diagnostic.span.line, diagnostic.span.col) == (3, 6)
    (opener,) = diagnostic.secondary
    assert (opener.span.line, opener.span.col, opener.message) == (2, 8, "unclosed `(`")


def test_fallback_names_what_was_expected() -> None:
    (diagnostic,) = parse_errors("network N {\n  in x:\n}\n")
    assert diagnostic.code == "A100"
    assert diagnostic.message == "expected `[` or a name, found the end of the line"


@pytest.mark.parametrize(
    ("word", "candidates", "expected"),
    [
        ("netwrok", ["network", "block"], "network"),
        ("blok", ["network", "block"], "block"),
        ("ouput", ["out", "in"], "out"),
        ("inint", ["in", "init"], "init"),
        ("x", ["in", "if"], None),
        ("ni", ["in", "out"], None),  # two edits is too far for a two-letter word
        ("tye", ["tie"], "tie"),
    ],
)
def test_did_you_mean_uses_elm_distances(
    word: str, candidates: list[str], expected: str | None
) -> None:
    assert did_you_mean(word, candidates) == expected


# Any text at all gives diagnostics, never an exception of another kind, and never names a
# terminal of the grammar (`RPAR`, `__ANON_0`, `_NL`, `$END`).
_PIECES = (
    *("network N {", "block B(c) {", "}", "in x", "out", "x =", "->", "(", ")", "[", "]"),
    *("conv2d(64, 3)", "relu", ",", ":", "=", "+", "*", "**", "if", "then", "else", "\n"),
    *('"s"', "'", "1", "2.5", "tie a.w = b.w", "use", "init", "#c", " ", "\t", ".", "as y"),
)


@given(st.lists(st.sampled_from(_PIECES), max_size=30))
def test_any_text_gives_plain_diagnostics(pieces: list[str]) -> None:
    text = " ".join(pieces)
    try:
        parse(SourceFile("t.arch", text))
    except ArchError as exc:
        for diagnostic in exc.diagnostics:
            words = f"{diagnostic.message} {diagnostic.label} {diagnostic.help}"
            assert not re.search(r"__ANON|\b[A-Z]{3,}\b|_NL|\$END|\$\w", words), words
            assert diagnostic.span is not None
