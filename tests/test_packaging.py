"""archc installs from its wheel: the grammar and the zoo travel as package data and are found
there, and the light install (no torch) checks, summarises, draws, compiles and serves an
editor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from archc.syntax import grammar
from tests.conftest import ROOT

GRAMMAR_IN_WHEEL = f"archc/{grammar.GRAMMAR_NAME}"

# Run by the wheel's own interpreter. The fallback to `grammars/` in grammar_text() cannot fire
# there (the installed package has no checkout around it), so a parse proves the package data
# was found; the paths printed let the test check where everything came from.
PROBE = """
import archc
from importlib import resources
from archc.errors import SourceFile
from archc.syntax.grammar import GRAMMAR_NAME, grammar_text
from archc.syntax.parse import parse

packaged = resources.files("archc").joinpath(GRAMMAR_NAME)
assert grammar_text() == packaged.read_text(encoding="utf-8")
module = parse(SourceFile("probe.arch", "network Probe {\\n    in x: [3, 8, 8]\\n    out x -> relu\\n}\\n"))
print(archc.__file__)
print(packaged)
print(module.items[0].name.name)

# the zoo ships too: a spec of one's own `use`s the standard blocks, and zoo: names resolve
import pathlib, tempfile
from archc import api, zoo
networks, diagnostics = api.analyse("zoo:resnet50")
assert not [d for d in diagnostics if d.is_error] and networks[0].param_count == 25557032
own = pathlib.Path(tempfile.mkdtemp()) / "mine.arch"
own.write_text('use "zoo:blocks/resnet.arch"\\nnetwork Mine {\\n    in x: [64, 8, 8]\\n    out x -> BasicBlock(64)\\n}\\n')
networks, diagnostics = api.analyse(str(own))
assert not [d for d in diagnostics if d.is_error], diagnostics
print(zoo.root())
"""


def _run(*command: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, timeout=120, **kwargs
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_grammar_is_found_in_the_source_checkout() -> None:
    expected = (ROOT / "grammars" / grammar.GRAMMAR_NAME).read_text(encoding="utf-8")
    assert grammar.grammar_text() == expected


# Everything but the light install's dependencies works offline: no build isolation, no index.
OFFLINE = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INDEX": "1"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheels = tmp_path_factory.mktemp("wheels")
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        wheels,
        ROOT,
        env=OFFLINE,
    )
    (built,) = wheels.glob("archc-*.whl")
    return built


def _python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


@pytest.mark.slow
def test_wheel_installs_and_parses_outside_the_checkout(tmp_path: Path, wheel: Path) -> None:
    env = OFFLINE
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert GRAMMAR_IN_WHEEL in names
    assert "archc/syntax/parse.py" in names

    # A bare venv, filled by this interpreter's pip, is much faster than one bootstrapping its own.
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = _python(venv)
    _run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", wheel, env=env)

    # PYTHONPATH lends the dependencies (lark, ...) without processing this environment's .pth
    # files, so the editable install of the checkout stays out of sight.
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    probe_env = {**env, "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    result = _run(python, "-c", PROBE, cwd=outside, env=probe_env)
    module_file, grammar_file, network, zoo_root = result.stdout.splitlines()
    venv_root = venv.resolve()
    assert Path(module_file).resolve().is_relative_to(venv_root)
    assert not Path(module_file).resolve().is_relative_to(ROOT)
    assert Path(grammar_file).resolve().is_relative_to(venv_root)
    assert network == "Probe"
    assert Path(zoo_root).resolve().is_relative_to(venv_root)


TINY = """network Tiny(classes=10) {
    in image: [3, 32, 32]
    out logits = image -> conv2d(8, 3, padding=1) -> relu -> flatten -> linear(classes)
}
"""


def _lsp_message(payload: dict[str, object]) -> bytes:
    body = json.dumps(payload).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


@pytest.mark.slow
def test_light_install_works_without_torch(tmp_path: Path, wheel: Path) -> None:
    # The wheel's own dependency list, resolved by pip from the configured index: what
    # `pip install archc` gives a user.
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    _run(sys.executable, "-m", "pip", "--python", _python(venv), "install", "--quiet", wheel)
    archc = _python(venv).parent / "archc"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    work = tmp_path / "work"
    work.mkdir()
    (work / "tiny.arch").write_text(TINY, encoding="utf-8")

    def archc_run(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(archc), *args],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=work,
            env=env,
            **kwargs,  # type: ignore[call-overload]
        )

    torch_found = _run(
        _python(venv), "-c", "import importlib.util; print(importlib.util.find_spec('torch'))"
    )
    assert torch_found.stdout.strip() == "None"

    for command in (
        ("check", "tiny.arch", "zoo:resnet18"),
        ("summary", "zoo:resnet18", "--expect", "params=11689512"),
        ("render", "tiny.arch", "-o", "tiny.dot"),
        ("compile", "tiny.arch", "-o", "tiny.py"),
    ):
        result = archc_run(*command)
        assert result.returncode == 0, f"archc {' '.join(command)}: {result.stderr}"
    assert (work / "tiny.dot").read_text(encoding="utf-8").startswith("digraph")
    assert "class Tiny(nn.Module):" in (work / "tiny.py").read_text(encoding="utf-8")

    # what needs torch says so in one line
    selftest = archc_run("compile", "tiny.arch", "--selftest")
    assert selftest.returncode == 2
    assert selftest.stderr.count("\n") == 1 and "pip install 'archc[torch]'" in selftest.stderr

    # the language server answers an editor's first request
    session = b"".join(
        _lsp_message(message)
        for message in (
            {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}},
            {"jsonrpc": "2.0", "id": 2, "method": "shutdown"},
            {"jsonrpc": "2.0", "method": "exit"},
        )
    )
    server = subprocess.run(
        [str(archc), "lsp"], input=session, capture_output=True, timeout=60, cwd=work, env=env
    )
    assert server.returncode == 0, server.stderr.decode()
    _, _, body = server.stdout.partition(b"\r\n\r\n")
    reply = json.JSONDecoder().raw_decode(body.decode())[0]
    assert reply["id"] == 1 and "hoverProvider" in reply["result"]["capabilities"]
