"""tests/reference/ is a copy of the measured reference data kept beside the checkout, where a
checkout has one (`../shared/reference`); the copy lets a fresh clone run every test."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REFERENCE, ROOT

ORIGIN = ROOT.parent / "shared" / "reference"


def files(root: Path) -> dict[str, bytes]:
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def test_the_copy_holds_every_file_the_tests_read() -> None:
    copied = files(REFERENCE)
    assert "reference.json" in copied
    assert "torchvision_state_dicts/resnet50.txt" in copied


@pytest.mark.skipif(not ORIGIN.is_dir(), reason=f"no reference data at {ORIGIN}")
def test_the_copy_equals_its_origin() -> None:
    copied, origin = files(REFERENCE), files(ORIGIN)
    assert sorted(copied) == sorted(origin)
    changed = [name for name in origin if copied[name] != origin[name]]
    assert not changed, f"tests/reference/ differs from {ORIGIN}: {changed}"
