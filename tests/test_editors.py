"""Editors: the VS Code extension's client starts the configured `archc lsp` for .arch documents
(a node script with stand-ins for VS Code), and the README's Neovim configuration shows archc's
diagnostics (each where node or nvim is installed)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

VSCODE = ROOT / "editors" / "vscode"
NODE = shutil.which("node")


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_vscode_client_starts_the_configured_server() -> None:
    assert NODE is not None
    result = subprocess.run(
        [NODE, str(VSCODE / "test" / "client-start.js")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "client start-up: ok"


def test_vscode_package_ships_the_bundle() -> None:
    manifest = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
    assert manifest["main"] == "./dist/extension.js"
    assert "dist/extension.js" in manifest["scripts"]["bundle"]
    assert manifest["scripts"]["vscode:prepublish"] == "npm run bundle"
    shipped = (VSCODE / ".vscodeignore").read_text(encoding="utf-8").splitlines()
    assert "!dist/extension.js" in shipped and "!LICENSE" in shipped


NVIM = shutil.which("nvim")
# Runs in the opened buffer once the config has started the client: what the editor shows.
PROBE = """lua vim.wait(20000, function() return #vim.diagnostic.get(0) > 0 end, 50)
  local out = io.open(vim.env.ARCHC_PROBE, "w")
  local first = vim.diagnostic.get(0)[1] or {}
  out:write(vim.bo.filetype, "\\n", first.message or "no diagnostic", "\\n")
  out:close()
  vim.cmd("qa!")"""


def readme_neovim_config(version: tuple[int, ...]) -> str:
    """The README's Neovim configuration for ``version``: the first for 0.8+, the second for 0.7."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    modern, old = re.findall(r"```lua\n(.*?)```", text, re.DOTALL)
    return modern if version >= (0, 8) else old


@pytest.mark.skipif(NVIM is None, reason="nvim is not installed")
def test_the_readme_neovim_config_shows_diagnostics(tmp_path: Path) -> None:
    assert NVIM is not None
    shown = subprocess.run([NVIM, "--version"], capture_output=True, text=True).stdout
    version = tuple(int(n) for n in re.match(r"NVIM v(\d+)\.(\d+)", shown).groups())  # type: ignore[union-attr]
    (tmp_path / "init.lua").write_text(readme_neovim_config(version))
    # `archc` on the PATH runs this checkout
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    launcher = bin_dir / "archc"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m archc "$@"\n')
    launcher.chmod(0o755)
    spec = tmp_path / "bad.arch"
    spec.write_text("network Bad {\n    in x: [3, 4, 4]\n    out x -> conv2d(8, 11)\n}\n")
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
        "ARCHC_PROBE": str(tmp_path / "probe.txt"),
        "XDG_CONFIG_HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path),
        "XDG_STATE_HOME": str(tmp_path),
    }
    command = [NVIM, "--headless", "-u", str(tmp_path / "init.lua"), str(spec), "-c", PROBE]
    subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, timeout=60)
    filetype, message = (tmp_path / "probe.txt").read_text().splitlines()[:2]
    assert filetype == "arch"
    assert message.startswith("conv2d output H would be -6")
