"""Names in generated code: user names never clash with the names the code relies on.

A layer's `as` name is its attribute and state_dict key, so one that `nn.Module` (or a
container) already uses is refused at check time (A401); every other user name (blocks,
parameters, values) is renamed where it would shadow an import, a helper or a class.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from torch import nn

from archc import api
from archc.errors import Diagnostic
from archc.pysource.attributes import refused_attribute
from tests.conftest import ROOT, check_golden
from tests.fuzz.built import check_built
from tests.fuzz.names import POOLS

# Where generated code puts submodules: a class's own attributes, or one of these containers.
HOLDERS = (nn.Module, nn.Sequential, nn.ModuleList, nn.ModuleDict)
ATTRIBUTES_FILE = ROOT / "archc" / "pysource" / "module_attributes.py"
ATTRIBUTES_HEADER = '''"""The attributes of torch's module classes that hold generated submodules, as data.

Generated from the torch in use by `tests/test_generated_names.py` (`pytest --update-goldens`
writes it again): every name in `dir()` of `nn.Module`, `nn.Sequential`, `nn.ModuleList` and
`nn.ModuleDict`, and every attribute an instance sets in `__init__`, with the first of those
classes that has it. archc's static path never imports torch, so it reads them here.
"""

'''


# Run in a fresh interpreter: torch.compile, once used in this process, patches nn.Module.
ATTRIBUTES_SCRIPT = """
import json, sys
from torch import nn
found = {}
for holder in (getattr(nn, name) for name in sys.argv[1:]):
    for name in sorted(set(dir(holder)) | set(vars(holder()))):
        found.setdefault(name, f"nn.{holder.__name__}")
print(json.dumps(found))
"""


def module_attributes() -> dict[str, str]:
    """Every attribute of the holders, computed from torch, with the first holder that has it."""
    result = subprocess.run(
        [sys.executable, "-c", ATTRIBUTES_SCRIPT, *(holder.__name__ for holder in HOLDERS)],
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, str] = json.loads(result.stdout)
    return found


def attributes_source() -> str:
    """The text of archc/pysource/module_attributes.py, laid out as `ruff format` would."""
    entries = [f'    "{n}": "{h}",' for n, h in sorted(module_attributes().items())]
    return "\n".join([f"{ATTRIBUTES_HEADER}MODULE_ATTRIBUTES = {{", *entries, "}"]) + "\n"


def test_module_attributes_are_torchs(bless: bool) -> None:
    check_golden(ATTRIBUTES_FILE, attributes_source(), bless)


def check_name(tmp_path: Path, spec: str) -> list[Diagnostic]:
    """The diagnostics of ``spec``; with none, it must also build the static model."""
    path = tmp_path / "names.arch"
    path.write_text(spec, encoding="utf-8")
    diagnostics = api.check(str(path))
    if not diagnostics:
        check_built(path)
    return diagnostics


@pytest.mark.parametrize("holder", HOLDERS, ids=lambda h: h.__name__)
def test_every_module_attribute_as_a_layer_name_builds_or_is_refused_there(
    tmp_path: Path, holder: type
) -> None:
    """Each attribute torch gives the holder, as a layer of a network and of a named chain."""
    refused = 0
    for name in sorted(set(dir(holder)) | set(vars(holder()))):
        spec = (
            "network Net {\n    in x: [8]\n"
            f"    y = x -> linear(8) as {name}\n"
            f"    out y -> (linear(4) as {name} -> relu) as body\n}}\n"
        )
        diagnostics = check_name(tmp_path, spec)
        where = [(d.code, d.span.line, d.span.col, d.span.end_col) for d in diagnostics if d.span]
        at_names = [("A401", 3, 27, 27 + len(name)), ("A401", 4, 28, 28 + len(name))]
        assert where in ([], at_names), name
        refused += bool(diagnostics)
    assert refused > 0


SPEC_WITH_HOSTILE_NAMES = """\
block {name}(width) {{
    in x
    out x -> linear(width) -> relu
}}

block Outer({name}=8) {{
    in x
    out x -> {name}({name}) -> attention(heads=2, rotary=true) -> linear({name}) as {layer}
}}

network Net {{
    in x: [T, 8]
    out x -> Outer(8) -> Outer(16) as stage
}}
"""


@pytest.mark.parametrize("pool", sorted(POOLS))
def test_hostile_names_as_block_parameter_and_layer_build_and_run(
    tmp_path: Path, pool: str
) -> None:
    """A block, a parameter of a block that instantiates it (and archc's attention helper,
    which calls `rotate`) and a layer, all named alike from a hostile pool."""
    for name in POOLS[pool]:
        layer = name if refused_attribute(name) is None else "fc"
        diagnostics = check_name(tmp_path, SPEC_WITH_HOSTILE_NAMES.format(name=name, layer=layer))
        assert diagnostics == [], (name, diagnostics[0].message)


def test_a_quoted_keyword_names_a_layer_one_alternative_leaves_out(tmp_path: Path) -> None:
    """A conditional layer named `"class"` is registered with `add_module` in both arms (its
    module, or None), never `self.class = ...`; the module matches the interpreter."""
    from tests.oracle import check_values  # imports torch's functional side

    spec = tmp_path / "spec.arch"
    spec.write_text(
        "block Maybe(flag) {\n"
        "    in x\n"
        '    out if flag == 0 then x -> linear(4) as "class" else x\n'
        "}\n"
        "network N {\n"
        "    in x: [T, 4]\n"
        "    out x -> Maybe(0) -> Maybe(1)\n"
        "}\n"
    )
    check_built(spec)
    check_values(spec)
    source = api.compile_source(str(spec))
    assert 'self.add_module("class", None)' in source
