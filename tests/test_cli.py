"""The command line as a user meets it: what it says on success, what it says when torch is
missing, the files it writes."""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from archc import api
from archc.cli import EXAMPLES, build_parser, main
from tests.conftest import ROOT

RESNET = str(ROOT / "specs" / "resnet18.arch")


@pytest.fixture
def without_torch(monkeypatch: pytest.MonkeyPatch) -> None:
    """`import torch` fails, as in the light install."""
    monkeypatch.setitem(sys.modules, "torch", None)


@pytest.mark.parametrize(
    "command",
    [
        ["compile", RESNET, "--selftest", "-o", "{out}/resnet18.py"],
        ["export", RESNET, "--format", "torchscript", "-o", "{out}/resnet18.pt"],
    ],
    ids=["selftest", "export"],
)
@pytest.mark.usefixtures("without_torch")
def test_a_command_that_needs_torch_says_so_in_one_line(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([part.format(out=tmp_path) for part in command]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'archc[torch]'" in err
    assert list(tmp_path.iterdir()) == []  # nothing half done


@pytest.mark.usefixtures("without_torch")
def test_build_without_torch_is_a_usage_error() -> None:
    from archc import runtime
    from archc.errors import UsageError

    with pytest.raises(UsageError, match="archc\\[torch\\]"):
        runtime.build(RESNET)


def test_a_file_written_takes_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        assert main(["compile", RESNET, "-q", "-o", str(tmp_path / "net.py")]) == 0
        assert main(["render", RESNET, "-q", "-o", str(tmp_path / "net.dot")]) == 0
    finally:
        os.umask(previous)
    for written in ("net.py", "net.dot"):
        assert stat.S_IMODE((tmp_path / written).stat().st_mode) == 0o640, written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.dot", "net.py"]  # no leftovers


def test_compile_keeps_the_mode_of_a_file_it_replaces(tmp_path: Path) -> None:
    target = tmp_path / "net.py"
    target.write_text("old")
    target.chmod(0o755)
    assert main(["compile", RESNET, "-q", "-o", str(target)]) == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o755 and "class ResNet18" in target.read_text()


def test_success_is_one_line_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dcgan, out = str(ROOT / "specs" / "dcgan.arch"), tmp_path / "gan.py"
    spec = tmp_path / "net.arch"
    spec.write_text((ROOT / "specs" / "gan_mlp.arch").read_text())
    expected = {
        ("check", RESNET): f"ok: {RESNET}: ResNet18, 11,689,512 parameters\n",
        ("compile", dcgan, "--network", "Generator", "-o", str(out)): (
            f"wrote {out}: Generator, 3,576,704 parameters\n"
        ),
        ("render", RESNET, "-o", str(tmp_path / "r.dot"), "--full"): (
            f"wrote {tmp_path / 'r.dot'}: ResNet18, 11,689,512 parameters\n"
        ),
        ("fmt", str(spec)): "1 file already formatted\n",
    }
    for command, line in expected.items():
        assert main(list(command)) == 0
        captured = capsys.readouterr()
        assert (captured.out, captured.err) == ("", line), command
        assert main([*command, "--quiet"]) == 0
        assert capsys.readouterr() == ("", ""), command


def test_fmt_counts_what_it_rewrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tidy, messy = tmp_path / "tidy.arch", tmp_path / "messy.arch"
    tidy.write_text((ROOT / "specs" / "gan_mlp.arch").read_text())
    messy.write_text("network  N {\n in x: [3]\n    out x->relu\n}\n")
    assert main(["fmt", str(tidy), str(messy)]) == 0
    assert capsys.readouterr().err == "reformatted 1 file, 1 file already formatted\n"
    messy.write_text("network  N {\n in x: [3]\n    out x->relu\n}\n")
    assert main(["fmt", str(messy)]) == 0
    assert capsys.readouterr().err == "reformatted 1 file\n"


def test_check_names_networks_and_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "odd.arch"
    spec.write_text("network Odd {\n    in x: [3, 8, 8]\n    out x -> conv2d(4, 3, stride=2)\n}\n")
    library = str(ROOT / "specs" / "blocks" / "resnet.arch")
    assert main(["check", str(spec), library]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning[A302]")
    assert err.endswith(
        f"ok: {spec}: Odd, 112 parameters (1 warning)\nok: {library}: no network\n"
    )


def test_color_always_and_never(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "bad.arch"
    spec.write_text("network Bad {\n    in x: [3, 4, 4]\n    out x -> conv2d(8, 11)\n}\n")
    assert main(["check", str(spec), "--color", "always"]) == 1
    assert "\x1b[" in capsys.readouterr().err
    assert main(["check", str(spec), "--color", "never"]) == 1
    assert "\x1b[" not in capsys.readouterr().err


def test_zoo_lists_every_network_with_its_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["zoo"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert rows[0] == ["spec", "network", "parameters"]
    listed = {(spec, network): count for spec, network, count in rows[1:]}
    assert listed[("zoo:resnet50", "ResNet50")] == "25,557,032"
    assert listed[("zoo:dcgan", "Discriminator")] == "2,765,568"
    expected = {
        (f"zoo:{path.stem}", network.name)
        for path in (ROOT / "specs").glob("*.arch")
        for network in api.analyse(str(path))[0]
    }
    assert set(listed) == expected


@pytest.mark.parametrize(
    ("name", "suggestion"),
    [
        ("zoo:resnet", "did you mean `zoo:resnet18` or `zoo:resnet50`?"),
        ("zoo:vit", "did you mean `zoo:vit_b_16`?"),
        ("zoo:blocks/resnt", "did you mean `zoo:blocks/resnet`"),
        ("zoo:zzzz", "is not in the zoo (`archc zoo` lists its networks)"),
    ],
)
def test_an_unknown_zoo_name_suggests_one(
    name: str, suggestion: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["summary", name]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"archc: error: `{name}` is not in the zoo") and suggestion in err


def test_every_command_shows_examples_that_parse() -> None:
    parser = build_parser()
    for name, command in commands_of(parser).items():
        assert "examples:\n  archc " in command.format_help(), name
        for example in EXAMPLES[name]:
            words = shlex.split(example, comments=True)
            words = words[: words.index(">")] if ">" in words else words
            assert words[0] == "archc"
            parser.parse_args(words[1:])  # raises on an unknown option or a missing argument


def commands_of(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (subparsers,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(subparsers.choices)


def completion_script(shell: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["completion", shell]) == 0
    return capsys.readouterr().out


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion_parses_and_completes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "archc.bash"
    script.write_text(completion_script("bash", capsys))
    syntax = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr
    (tmp_path / "net.arch").touch()
    (tmp_path / "notes.txt").touch()

    def complete(line: str) -> list[str]:
        words = line.split(" ")
        probe = (
            f"source {shlex.quote(str(script))}\n"
            f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)}); "
            f"COMP_CWORD={len(words) - 1}\n"
            "_archc_complete\n"
            'printf "%s\\n" "${COMPREPLY[@]}"\n'
        )
        done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    assert complete("archc re") == ["render"]
    assert complete("archc render net.arch --rankdir ") == ["TB", "LR"]
    assert complete("archc check ") == ["net.arch"]
    assert "--quiet" in complete("archc compile --q")
    assert complete("archc completion ") == ["bash", "zsh", "fish"]


@pytest.mark.parametrize(("shell", "check"), [("zsh", ["-n"]), ("fish", ["--no-execute"])])
def test_zsh_and_fish_completion_parse(
    shell: str, check: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = completion_script(shell, capsys)
    assert "render" in script and "--collapse-repeats" in script.replace("-l ", "--")
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    path = tmp_path / f"archc.{shell}"
    path.write_text(script)
    result = subprocess.run([shell, *check, str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_choices_written_out_are_the_modules_own() -> None:
    """The command line names these choices itself, to start without importing their modules."""
    from archc import completion, export
    from archc.cli import EXPORT_FORMATS, SHELLS

    assert EXPORT_FORMATS == export.FORMATS
    assert SHELLS == completion.SHELLS


def test_compile_imports_only_what_it_uses(tmp_path: Path) -> None:
    """Other commands' modules stay out of a cold `archc compile`: its start is most of its time."""
    code = (
        "import sys\n"
        "from archc.cli import main\n"
        f"assert main(['compile', 'specs/gpt2.arch', '-o', {str(tmp_path / 'gpt2.py')!r}]) == 0\n"
        "unneeded = ('archc.backends.summary', 'archc.completion', 'archc.expect', "
        "'archc.export', 'archc.runtime')\n"
        "loaded = [m for m in unneeded if m in sys.modules]\n"
        "assert not loaded, f'imported {loaded}'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "spec",
    [
        "network Empty {\n    in x: [3]\n    out x\n}\n",
        # a shared layer applied no times makes no layer either
        "block L(d) {\n    in x\n    out x -> linear(d)\n}\n"
        "network Empty(layers=0) {\n    in x: [3]\n    group = shared(L(3) as l)\n"
        "    out x -> group * layers\n}\n",
    ],
    ids=["no layer written", "no copy made"],
)
def test_every_command_takes_a_network_of_no_layers(
    spec: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The summary's table had no row to size its columns by, and the diagram's legend no
    entry for its table: a traceback, and Graphviz refusing the label."""
    path = tmp_path / "empty.arch"
    path.write_text(spec)
    assert main(["summary", str(path)]) == 0
    assert "Parameters:         0" in capsys.readouterr().out
    for suffix in ("svg", "dot"):
        assert main(["render", str(path), "-o", str(tmp_path / f"empty.{suffix}")]) == 0
        assert (tmp_path / f"empty.{suffix}").read_text().strip()
    assert main(["compile", str(path), "-o", str(tmp_path / "empty.py"), "--selftest"]) == 0
