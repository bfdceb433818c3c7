"""Names in generated code: user names never clash with the names the code relies on.

A layer's `as` name is its attribute and state_dict key, so one that `nn.Module` (or a
container) already uses is refused at check time (A401); every other user name (blocks,
parameters, values) is renamed where it would shadow an import, a helper or a class.
"""

from __future__ import annotations

from torch import nn

from tests.conftest import ROOT, check_golden

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


def module_attributes() -> dict[str, str]:
    """Every attribute of the holders, computed from torch, with the first holder that has it."""
    found: dict[str, str] = {}
    for holder in HOLDERS:
        for name in sorted(set(dir(holder)) | set(vars(holder()))):
            found.setdefault(name, f"nn.{holder.__name__}")
    return found


def attributes_source() -> str:
    """The text of archc/pysource/module_attributes.py, laid out as `ruff format` would."""
    entries = [f'    "{n}": "{h}",' for n, h in sorted(module_attributes().items())]
    return "\n".join([f"{ATTRIBUTES_HEADER}MODULE_ATTRIBUTES = {{", *entries, "}"]) + "\n"


def test_module_attributes_are_torchs(bless: bool) -> None:
    check_golden(ATTRIBUTES_FILE, attributes_source(), bless)
