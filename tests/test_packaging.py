"""archc installs from its wheel: the grammar travels as package data and is found there."""

from __future__ import annotations

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


@pytest.mark.slow
def test_wheel_installs_and_parses_outside_the_checkout(tmp_path: Path) -> None:
    # Everything below works offline: no build isolation, no index, no dependency resolution.
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INDEX": "1"}
    wheels = tmp_path / "wheels"
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
        env=env,
    )
    (wheel,) = wheels.glob("archc-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert GRAMMAR_IN_WHEEL in names
    assert "archc/syntax/parse.py" in names

    # A bare venv, filled by this interpreter's pip, is much faster than one bootstrapping its own.
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
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
