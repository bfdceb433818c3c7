"""The code base is ruff clean: lint and formatting."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import ROOT


@pytest.mark.parametrize("command", [["check", "."], ["format", "--check", "."]])
def test_ruff(ruff: str, command: list[str]) -> None:
    """ruff comes with the dev extras: without it this fails rather than passing unchecked."""
    result = subprocess.run([ruff, *command], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
