"""The functions at the top of the package, and the README's Python examples, which use them."""

from __future__ import annotations

import gc
import re
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

import archc
from archc import api
from archc.errors import UsageError
from tests.conftest import ROOT

RESNET = ROOT / "specs" / "resnet18.arch"


def test_import_archc_loads_neither_torch_nor_the_compiler() -> None:
    code = (
        "import sys, archc\n"
        "loaded = [m for m in ('torch', 'archc.semantics', 'archc.runtime') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_check_reports_what_archc_check_reports(tmp_path: Path) -> None:
    spec = tmp_path / "bad.arch"
    spec.write_text("network Bad {\n    in x: [3, 4, 4]\n    out x -> conv2d(8, 11)\n}\n")
    diagnostics = archc.check(spec)
    assert [d.code for d in diagnostics] == [d.code for d in api.check(str(spec))]
    assert [d.code for d in diagnostics if d.is_error] == ["A301"]
    assert archc.check(RESNET) == []


def test_compile_source_is_what_archc_compile_writes() -> None:
    source = archc.compile_source(RESNET, classes=10)
    assert source == api.compile_source(str(RESNET), classes=10)
    assert "class ResNet18(nn.Module):" in source and "classes: int = 10" in source


def test_build_makes_the_network_the_analysis_counts() -> None:
    model = archc.build(RESNET, device="meta", classes=10)
    counted = sum(p.numel() for p in model.parameters())
    assert counted == archc.load(RESNET, classes=10).params == 11_181_642


def test_build_of_a_file_with_several_networks_asks_which() -> None:
    gan = ROOT / "specs" / "gan_mlp.arch"
    with pytest.raises(UsageError) as refused:
        archc.build(gan, device="meta")
    message = str(refused.value)
    assert "defines 2 networks (`Generator`, `Discriminator`)" in message
    assert "name the one to build" in message


def test_build_passes_seed_and_network_through() -> None:
    gan = ROOT / "specs" / "gan_mlp.arch"
    first, second = (archc.build(gan, "Discriminator", seed=3) for _ in range(2))
    assert type(first).__name__ == "Discriminator"
    for a, b in zip(first.parameters(), second.parameters(), strict=True):
        assert a.equal(b)


def readme_python_api() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)


@pytest.mark.parametrize("example", readme_python_api())
def test_readme_python_examples_run(example: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the examples name specs/ as a checkout has it
    exec(compile(example, "README.md", "exec"), {})


def test_a_network_no_longer_used_is_freed_at_once() -> None:
    """Each network keeps what re-elaborates its blocks (ir.Network.recounted); nothing of it may
    lead back to the network, or every analysis would stay in memory until the cyclic
    collector's next full pass, which costs more than the analysis itself."""
    networks, _ = api.analyse(str(ROOT / "specs" / "resnet18.arch"))
    network = weakref.ref(networks[0])
    assert network() is not None
    collecting = gc.isenabled()
    gc.disable()
    try:
        del networks
        assert network() is None
    finally:
        if collecting:
            gc.enable()
