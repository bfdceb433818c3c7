"""Shared test configuration: golden-file blessing, the hypothesis profiles, ruff."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]
# Figures measured with real torch and torchvision (tests/reference/README.md says which).
REFERENCE = ROOT / "tests" / "reference"

# CI runs a fixed-seed profile so that a red run reproduces; HYPOTHESIS_PROFILE=dev explores.
settings.register_profile(
    "ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


RUFF = shutil.which("ruff")
needs_ruff = pytest.mark.skipif(RUFF is None, reason="ruff is not installed")
# How generated code is formatted: ruff's defaults but for the line length.
RUFF_SETTINGS = ("--isolated", "--line-length", "99", "--target-version", "py310")


def assert_ruff_formatted(source: str) -> None:
    """``source`` is exactly as `ruff format` writes it (the diff is shown otherwise)."""
    assert RUFF is not None
    formatted = subprocess.run(
        [RUFF, "format", "--diff", *RUFF_SETTINGS, "-"],
        input=source,
        capture_output=True,
        text=True,
    )
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        help="rewrite golden files (.stderr, generated source, DOT) instead of comparing",
    )


@pytest.fixture
def bless(request: pytest.FixtureRequest) -> bool:
    """True when golden files should be rewritten rather than compared."""
    return bool(request.config.getoption("--update-goldens"))


def check_golden(path: Path, actual: str, bless: bool) -> None:
    """Compare ``actual`` with the golden file at ``path``, or rewrite it when blessing."""
    if bless or not path.exists():
        if not bless:
            pytest.fail(f"missing golden file {path}; run pytest --update-goldens and review it")
        path.write_text(actual, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, f"{path} differs; run pytest --update-goldens and review the diff"
