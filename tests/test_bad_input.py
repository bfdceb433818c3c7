"""Hostile input through the command line: always a diagnostic, never a traceback or a hang."""

from __future__ import annotations

import json
import os
import random
import re
import time
from pathlib import Path

import pytest

from archc.cli import main

VALID = "network N {\n  in x: [3, 8, 8]\n  out x -> relu\n}\n"
# Generous: these run in well under a second; the bound only catches a hang.
NO_HANG_SECONDS = 20
JSON_KEYS = {
    "code", "severity", "message", "file", "line", "col", "end_line", "end_col", "notes", "help",
    "rule", "with",
}  # fmt: skip


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `archc` in-process: the exit code, stdout and stderr."""
    start = time.perf_counter()
    code = main(list(argv))
    assert time.perf_counter() - start < NO_HANG_SECONDS
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def spec(tmp_path: Path, data: bytes | str, name: str = "spec.arch") -> str:
    path = tmp_path / name
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return str(path)


def headers(err: str) -> list[tuple[str, str]]:
    """(severity, code) of every rendered diagnostic."""
    return re.findall(r"^(error|warning)\[(A\d{3})\]", err, re.MULTILINE)


def locations(err: str) -> list[tuple[int, int]]:
    return [(int(line), int(col)) for line, col in re.findall(r"--> .*:(\d+):(\d+)$", err, re.M)]


def check_json(capsys: pytest.CaptureFixture[str], path: str) -> list[dict[str, object]]:
    code, out, _ = run(capsys, "check", "--json", path)
    reports = json.loads(out)
    assert code == (1 if any(r["severity"] == "error" for r in reports) else 0)
    return reports


def test_empty_file_is_a_warning(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "check", spec(tmp_path, b""))
    assert code == 0
    assert headers(err) == [("warning", "A108")]
    assert locations(err) == [(1, 1)]


def test_binary_garbage(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    garbage = random.Random(0).randbytes(4096)
    code, _, err = run(capsys, "check", spec(tmp_path, garbage))
    assert code == 1
    assert [c for _, c in headers(err)] in (["A102"], ["A103"])


def test_nul_bytes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "check", spec(tmp_path, b"network N {\n  in x\0\n}\n"))
    assert code == 1
    assert headers(err) == [("error", "A103")]
    assert locations(err) == [(2, 7)]


def test_text_garbage(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rng = random.Random(1)
    text = "".join(chr(rng.choice([rng.randrange(32, 127), 10, 9, 0x2192])) for _ in range(3000))
    code, _, err = run(capsys, "check", spec(tmp_path, text))
    assert code == 1
    assert headers(err) and all(c.startswith("A1") for _, c in headers(err))


def test_invalid_utf8_names_the_byte(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "check", spec(tmp_path, b"network N {\n  in x\xff\n}\n"))
    assert code == 1
    assert headers(err) == [("error", "A102")]
    assert "invalid byte 0xff at byte offset 18" in err
    assert locations(err) == [(2, 7)]


def test_byte_order_mark_is_accepted(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bom = b"\xef\xbb\xbf"
    assert run(capsys, "check", spec(tmp_path, bom + VALID.encode()))[0] == 0
    (report,) = check_json(capsys, spec(tmp_path, bom + b"x = f(1]\n", "bad.arch"))
    assert (report["code"], report["line"], report["col"]) == ("A115", 1, 8)


def test_crlf_and_tabs_are_accepted(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = VALID.replace("\n", "\r\n").replace("  ", "\t").replace("-> ", "->\t").encode()
    path = spec(tmp_path, text)
    assert run(capsys, "check", path) == (0, "", f"ok: {path}: N, 0 parameters\n")


def test_error_in_crlf_file_with_tabs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = b"network N {\r\n\tin x\r\n\tout x\ty\r\n}\r\n"
    code, _, err = run(capsys, "check", spec(tmp_path, text))
    assert code == 1
    assert headers(err) == [("error", "A111")]
    assert locations(err) == [(3, 8)]
    assert "\r" not in err and "\t" not in err
    source = next(line for line in err.splitlines() if line.startswith("3 | "))
    caret = next(line for line in err.splitlines() if "^" in line)
    # Tabs are shown as 4 spaces, and the caret sits under `y` in the shown line.
    assert source == "3 |     out x    y"
    assert caret.index("^") == source.index("y")


def test_huge_file_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "check", spec(tmp_path, b"x = 1\n" * 900_000))
    assert code == 1
    assert headers(err) == [("error", "A104")]
    assert locations(err) == [(1, 1)]


def test_deeply_nested_brackets(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = "x = " + "(" * 10_000 + "1" + ")" * 10_000 + "\n"
    code, _, err = run(capsys, "check", spec(tmp_path, text))
    assert code == 1
    assert headers(err) == [("error", "A105")]
    assert locations(err) == [(1, 69)]  # the 65th `(`


def test_many_unary_minus_signs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "check", spec(tmp_path, "x = " + "-" * 10_000 + "1\n"))
    assert code == 1
    assert ("error", "A106") in headers(err)
    assert max(len(line) for line in err.splitlines()) < 200


def test_an_error_on_every_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "check", spec(tmp_path, "x = a b\n" * 200_000))
    assert code == 1
    assert headers(err) == [("error", "A111")] * 20
    assert locations(err) == [(line, 7) for line in range(1, 21)]


def test_long_line_is_accepted(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = VALID.replace("  out", f'  assert 1 > 0, "{"a" * 100_000}"\n  out')
    path = spec(tmp_path, text)
    assert run(capsys, "check", path) == (0, "", f"ok: {path}: N, 0 parameters\n")


def test_error_in_long_line_shows_a_window(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    names = ", ".join(f"n{i:03}_{'x' * 95}" for i in range(1000))
    broken = names.replace(", n500_", " n500_")
    code, _, err = run(capsys, "check", spec(tmp_path, f"x = [{broken}]\n"))
    assert code == 1
    assert headers(err) == [("error", "A145")]
    assert locations(err) == [(1, len("x = [ ") + broken.index(" n500_") + 1)]
    shown = next(line for line in err.splitlines() if line.startswith("1 | "))
    assert shown.startswith("1 | ...") and shown.endswith("...")
    assert max(len(line) for line in err.splitlines()) < 200


def test_unknown_escape(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "check", spec(tmp_path, 'use "blocks\\d.arch"\n'))
    assert code == 1
    assert headers(err) == [("error", "A107")]
    assert locations(err) == [(1, 12)]


def test_missing_path(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "check", str(tmp_path / "nowhere.arch"))
    assert code == 2
    assert out == ""
    assert "nowhere.arch" in err


def test_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = run(capsys, "check", str(tmp_path))
    assert code == 2
    assert out == ""
    assert "directory" in err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_named_pipe_is_refused_unopened(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    os.mkfifo(tmp_path / "pipe.arch")  # opening it to read would wait for a writer
    code, out, err = run(capsys, "check", str(tmp_path / "pipe.arch"))
    assert (code, out) == (2, "")
    assert "is a named pipe, not a spec file" in err
    importer = spec(tmp_path, 'use "pipe.arch"\n' + VALID)
    code, _, err = run(capsys, "check", importer)
    assert code == 1
    assert headers(err) == [("error", "A203")]
    assert '`use "pipe.arch"` names a named pipe' in err


@pytest.mark.parametrize(
    ("data", "code", "message", "location"),
    [
        (b"block B {\n  in x\0\n}\n", "A103", "NUL byte", (2, 7)),
        (b"# caf\xe9\n", "A102", "invalid byte 0xe9 at byte offset 5", (1, 6)),
    ],
)
def test_use_reports_the_used_files_own_error(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    data: bytes,
    code: str,
    message: str,
    location: tuple[int, int],
) -> None:
    used = spec(tmp_path, data, "blocks.arch")
    _, _, err = run(capsys, "check", spec(tmp_path, 'use "blocks.arch"\n' + VALID))
    assert headers(err) == [("error", code)]
    assert message in err and "cannot find" not in err
    assert f"--> {used}:{location[0]}:{location[1]}" in err


@pytest.mark.parametrize("control", ["\u202e", "\u2066", "\u200f"])
def test_bidirectional_controls_are_warned_about_everywhere(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, control: str
) -> None:
    text = VALID.replace("-> relu", f'-> relu  # {control}ok\n  assert true, "{control}"')
    code, _, err = run(capsys, "check", spec(tmp_path, text))
    assert code == 0
    assert headers(err) == [("warning", "A155")] * 2
    assert locations(err) == [(3, 20), (4, 17)]
    assert control not in err  # the terminal would reorder the line
    assert f"U+{ord(control):04X}" in err


def test_bidirectional_control_is_reported_beside_syntax_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = "network N {\n  in x: [3]\n  out x ->  # \u202e\n}\n"
    _, _, err = run(capsys, "check", spec(tmp_path, text))
    assert ("warning", "A155") in headers(err)


@pytest.mark.parametrize(
    ("char", "shown"),
    [
        ("\u00a0", "U+00A0 NO-BREAK SPACE"),
        ("\u200b", "U+200B ZERO WIDTH SPACE"),
        ("\x0b", "U+000B LINE TABULATION"),
    ],
)
def test_invisible_characters_are_named_by_code_point(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, char: str, shown: str
) -> None:
    code, _, err = run(capsys, "check", spec(tmp_path, VALID.replace("in x:", f"in x:{char}")))
    assert code == 1
    assert headers(err) == [("error", "A109")]
    assert f"unexpected invisible character {shown}" in err
    assert char not in err
    assert "\n2 |   in x:<U+" in err


def test_long_names_are_shortened_in_messages(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    name = "a" * 100_000
    code, _, err = run(capsys, "check", spec(tmp_path, VALID.replace("out x", f"out {name}")))
    assert code == 1
    assert headers(err) == [("error", "A205")]
    assert "(100,000 characters)" in err
    assert len(err) < 1_000


def test_json_output_shape(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = spec(tmp_path, "network N {\n  x = f(1, 2\n  out x\n  y = 1 +\n}\n")
    reports = check_json(capsys, path)
    assert [(r["code"], r["line"], r["col"]) for r in reports] == [
        ("A110", 2, 13),
        ("A133", 4, 9),
    ]
    for report in reports:
        assert set(report) >= JSON_KEYS
        assert report["severity"] == "error"
        assert report["file"] == path
        assert isinstance(report["message"], str) and isinstance(report["notes"], list)
        assert isinstance(report["end_line"], int) and isinstance(report["end_col"], int)
        assert isinstance(report["help"], str)


def test_json_for_a_clean_file_is_an_empty_list(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert check_json(capsys, spec(tmp_path, VALID)) == []
