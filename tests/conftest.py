"""Shared test configuration: golden-file blessing, the hypothesis profiles, ruff (required)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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


@pytest.fixture(autouse=True, scope="session")
def _parse_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Parsed trees go to a folder of this run's, not the user's cache (archc/syntax/cache.py);
    set here, it holds for the processes tests start too."""
    os.environ["ARCHC_CACHE_DIR"] = str(tmp_path_factory.mktemp("archc-cache"))


def _ruff() -> str | None:
    """The ruff of this Python's environment (ruff is a dev extra), found whether or not the
    environment is activated; else one on the PATH."""
    beside = Path(sys.executable).parent / ("ruff.exe" if os.name == "nt" else "ruff")
    return str(beside) if beside.is_file() else shutil.which("ruff")


RUFF = _ruff()


@pytest.fixture
def ruff() -> str:
    """ruff's path; a test that needs it fails without it, rather than passing unchecked."""
    if RUFF is None:
        pytest.fail('ruff is not installed: it comes with pip install -e ".[dev]"')
    return RUFF


needs_ruff = pytest.mark.usefixtures("ruff")
# How generated code is formatted: ruff's defaults but for the line length.
RUFF_SETTINGS = ("--isolated", "--line-length", "99", "--target-version", "py310")


def assert_ruff_formatted(source: str) -> None:
    """``source`` is exactly as `ruff format` writes it (the diff is shown otherwise)."""
    assert RUFF is not None, "ruff is not installed"
    formatted = subprocess.run(
        [RUFF, "format", "--diff", *RUFF_SETTINGS, "-"],
        input=source,
        capture_output=True,
        text=True,
    )
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


def assert_ruff_clean(source: str) -> None:
    """``source`` passes `ruff check` with ruff's default rules (unused names, undefined
    names, syntax)."""
    assert RUFF is not None, "ruff is not installed"
    checked = subprocess.run(
        [RUFF, "check", *RUFF_SETTINGS, "--select", "E4,E7,E9,F", "--stdin-filename", "g.py", "-"],
        input=source,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


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


# Two block parameters with equal values (d_conv and dt_rank are both 4): a generated class
# must still tell them apart.
MIX = """
block Mix(d_inner, dt_rank, d_conv) {
    in x
    conv = x -> transpose(1, 2) -> conv1d(d_inner, d_conv, padding=d_conv - 1) as conv1d
    _causal, _rest = split(conv, (8, d_conv - 1), dim=2)
    dt_in, _b = split(x -> linear(dt_rank + 8, bias=false) as x_proj, (dt_rank, 8), dim=-1)
    out dt_in -> linear(d_inner) as dt_proj
}
network Net(d_inner=32, dt_rank=4, d_conv=4) {
    in x: [8, 16]
    out x -> Mix(d_inner, dt_rank, d_conv) as mix
}
"""
