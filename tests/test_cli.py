"""The command line as a user meets it: what it says on success, what it says when torch is
missing, the files it writes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from archc.cli import main
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
