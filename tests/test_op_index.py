"""The registry's index of op names, and the families a compile imports because of it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from archc.ops import all_ops, index, index_writer, lookup, names
from tests.conftest import ROOT


def test_the_index_is_what_the_families_register() -> None:
    # index_writer imports every module by listing the folder, not by reading the index
    expected = index_writer.render(index.__doc__ or "")
    assert (ROOT / "archc" / "ops" / "index.py").read_text(encoding="utf-8") == expected, (
        "archc/ops/index.py is out of date; regenerate it with "
        "`python -m archc.ops.index_writer > archc/ops/index.py`"
    )
    registered = {
        name: type(op).__module__.removeprefix("archc.ops.")
        for op in all_ops()
        for name in (op.name, *op.aliases)
    }
    assert registered == index.MODULE_OF
    assert names() == sorted(registered)


def test_lookup_of_an_unknown_name_imports_nothing() -> None:
    assert lookup("conv2dd") is None
    assert lookup("__init__") is None


def test_compiling_a_small_spec_imports_only_its_families(tmp_path: Path) -> None:
    spec = tmp_path / "small.arch"
    spec.write_text(
        "network Small {\n"
        "    in x: [3, 32, 32]\n"
        "    out x -> conv2d(8, 3) -> relu -> flatten -> linear(10)\n"
        "}\n",
        encoding="utf-8",
    )
    code = (
        "import sys\n"
        "from archc.cli import main\n"
        f"assert main(['compile', {str(spec)!r}, '-o', {str(tmp_path / 'small.py')!r}]) == 0\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('archc.ops.'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = {name.removeprefix("archc.ops.") for name in result.stdout.split()}
    # conv2d, relu, flatten and linear (activations read axes as the shape ops do)
    assert loaded & set(index.MODULES) == {"conv", "activation", "shape", "linear"}
