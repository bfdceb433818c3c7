"""A bug in archc, simulated by making a part of it raise: the command line says where in the
spec it happened, asks for a report, exits 3 and leaves no output file, whole or partial."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from archc import cli, files
from archc.backends import render
from archc.ops import lookup
from archc.semantics import program

SPEC = """\
block Inner(width) {
    in x
    y = x -> linear(width)
    out y -> relu
}

network Net {
    in x: [4]
    h = x -> linear(8)
    out h -> Inner(3) as inner
}
"""


class Bug(Exception):
    """What a bug in archc raises: not a diagnostic, not a usage error."""


def boom(*args: Any, **kwargs: Any) -> Any:
    raise Bug("simulated")


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "net.arch"
    path.write_text(SPEC, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert cli.main(list(argv)) == cli.EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "please report it" in err and "Traceback" in err and "Bug: simulated" in err
    return err.splitlines()[0]


def test_a_crash_in_a_block_names_the_statement_being_elaborated(
    spec: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    relu = lookup("relu")
    assert relu is not None
    monkeypatch.setattr(type(relu), "infer", boom)
    # the innermost statement: `out y -> relu` in the block, line 4
    assert run(capsys, "check", str(spec)) == (
        f"archc: internal error at {spec}:4:5, in the statement being elaborated"
    )


def test_a_crash_outside_elaboration_names_the_file(
    spec: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(program, "parse_cached", boom)
    assert run(capsys, "summary", str(spec)) == f"archc: internal error while processing {spec}"


def test_an_earlier_crash_leaves_no_place_behind(
    spec: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    relu = lookup("relu")
    assert relu is not None
    monkeypatch.setattr(type(relu), "infer", boom)
    assert run(capsys, "check", str(spec)).endswith(":4:5, in the statement being elaborated")
    monkeypatch.undo()
    monkeypatch.setattr(program, "parse_cached", boom)
    assert run(capsys, "check", str(spec)) == f"archc: internal error while processing {spec}"


def test_each_file_of_a_check_is_named(
    spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    clean = tmp_path / "clean.arch"
    clean.write_text("network Clean {\n    in x: [4]\n    out x -> linear(2)\n}\n")
    linear = lookup("linear")
    assert linear is not None
    real = type(linear).infer
    calls: list[int] = []

    def second_file_breaks(self: Any, *args: Any) -> Any:
        calls.append(1)
        if len(calls) > 1:
            raise Bug("simulated")
        return real(self, *args)

    monkeypatch.setattr(type(linear), "infer", second_file_breaks)
    first = run(capsys, "check", str(clean), str(spec))
    assert first == f"archc: internal error at {spec}:9:5, in the statement being elaborated"


def test_a_crash_while_emitting_leaves_no_output(
    spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from archc.backends.torch import emit

    real = emit.emit

    def emits_then_breaks(*args: Any) -> str:
        real(*args)  # the whole module is written in memory first
        raise Bug("simulated")

    monkeypatch.setattr(emit, "emit", emits_then_breaks)
    output = tmp_path / "out" / "model.py"
    assert run(capsys, "compile", str(spec), "-o", str(output)) == (
        f"archc: internal error while processing {spec}"
    )
    assert not output.exists()
    # an older output stays as it was
    output.parent.mkdir(exist_ok=True)
    output.write_text("# the previous module\n")
    run(capsys, "compile", str(spec), "-o", str(output))
    assert output.read_text() == "# the previous module\n"
    assert sorted(p.name for p in output.parent.iterdir()) == ["model.py"]


def test_a_crash_while_writing_leaves_no_partial_file(
    spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(files.os, "replace", boom)  # the text is in the temporary file by then
    output = tmp_path / "model.py"
    run(capsys, "compile", str(spec), "-o", str(output))
    assert list(tmp_path.iterdir()) == [spec]


def test_a_crash_while_drawing_leaves_no_diagram(
    spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(render, "render_bytes", boom)
    output = tmp_path / "net.dot"
    run(capsys, "render", str(spec), "-o", str(output))
    assert list(tmp_path.iterdir()) == [spec]


def test_a_crash_while_formatting_leaves_the_spec_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    messy = tmp_path / "messy.arch"
    messy.write_text("network N{in x: [4]\nout x}\n")
    from archc.syntax import fmt

    monkeypatch.setattr(fmt, "format_source", boom)
    assert run(capsys, "fmt", str(messy)) == f"archc: internal error while processing {messy}"
    assert messy.read_text() == "network N{in x: [4]\nout x}\n"
