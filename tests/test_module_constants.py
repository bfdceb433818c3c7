"""A spec's top-level constants in generated code: defined once, as the spec computes them,
named where the spec names them, never hiding or hidden by a class's own names; and the module
still computes what the interpreter computes."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archc import api, runtime
from archc.backends.torch.module_constants import ModuleScope, constant_names, definitions
from archc.backends.torch.naming import Namespace
from archc.semantics import provenance as pv
from archc.semantics.context import Body
from archc.semantics.elaborate import Elaborator
from archc.semantics.expressions import ElabError
from archc.semantics.ir import Network, Signature
from archc.semantics.program import load_program
from tests.oracle import check_compiled, compile_spec
from tests.spec_arithmetic import arithmetic

SPEC = """
base = 8
width = 2 * base
momentum = 1 - 0.9997
eps = 1e-3
EPS = 1e-4
unused = 99
fn double(v) = v * 2
doubled = double(3)
sizes = (width, base)

block Unit(channels, MOMENTUM=0.5, m=momentum) {
    in x
    out x
        -> conv2d(channels, 3, padding=1, bias=false)
        -> batchnorm2d(momentum=m, eps=eps)
        -> batchnorm2d(momentum=MOMENTUM, eps=EPS)
        -> relu
}

network Net {
    in x: [3, 8, 8]
    out x
        -> Unit(width) as a
        -> Unit(doubled, MOMENTUM=0.25) as b
        -> adaptive_avgpool2d(sizes[1] // 4)
        -> flatten
        -> linear(10)
}
"""


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Network], str, ModuleType]:
    path = tmp_path_factory.mktemp("constants") / "constants.arch"
    path.write_text(SPEC, encoding="utf-8")
    networks, diagnostics = api.analyse(str(path))
    assert not [d for d in diagnostics if d.is_error], diagnostics
    source = api.render_source(str(path), networks, diagnostics)
    return networks, source, runtime.load_source(source, "archc_module_constants")


def defined(source: str) -> dict[str, str]:
    """The module-level assignments of the generated source, by name."""
    return dict(re.findall(r"^([A-Z_][A-Z0-9_]*) = (.+)$", source, re.MULTILINE))


def test_constants_are_defined_as_the_spec_computes_them(
    compiled: tuple[list[Network], str, ModuleType],
) -> None:
    _, source, _ = compiled
    constants = defined(source)
    assert constants["MOMENTUM_"] == "1 - 0.9997"  # the parameter `MOMENTUM` keeps its name
    assert constants["WIDTH"] == "2 * BASE" and constants["BASE"] == "8"
    assert constants["DOUBLED"] == "6"  # a `fn` call: its value
    assert {constants["EPS"], constants["EPS_"]} == {"0.001", "0.0001"}
    assert "UNUSED" not in constants  # no class reads it
    names = list(constants)
    assert names.index("BASE") < names.index("WIDTH")  # each after what it reads
    assert "m: float = MOMENTUM_" in source and "eps=EPS_, momentum=MOMENTUM)" in source
    assert "Unit(3, WIDTH)" in source and "Unit(WIDTH, DOUBLED, MOMENTUM=0.25)" in source


def test_a_parameter_named_like_a_constant_keeps_its_keyword(
    compiled: tuple[list[Network], str, ModuleType],
) -> None:
    _, _, module = compiled
    parameters = inspect.signature(module.Unit).parameters
    assert parameters["MOMENTUM"].default == 0.5
    assert parameters["m"].default == pytest.approx(1 - 0.9997)
    unit = module.Unit(4, 4, MOMENTUM=0.3)
    assert unit.batchnorm2.momentum == 0.3
    assert unit.batchnorm1.momentum == 1 - 0.9997


def test_the_module_computes_what_the_spec_does(
    compiled: tuple[list[Network], str, ModuleType],
) -> None:
    networks, _, module = compiled
    check_compiled(networks, module)


def test_without_constants_no_section_is_written(tmp_path: Path) -> None:
    path = tmp_path / "plain.arch"
    path.write_text("network N {\n    in x: [4]\n    out x -> linear(2)\n}\n", encoding="utf-8")
    source = api.compile_source(str(path))
    assert defined(source) == {}


# --- the written definition of any arithmetic constant gives exactly its value --------------

_LEAVES = st.one_of(
    st.integers(-50, 50).map(str),
    st.sampled_from(["0.5", "1e-3", "2.25", "0.9997", "true", "false"]),
)


EXPRESSIONS = arithmetic(_LEAVES, 6)


@given(first=EXPRESSIONS, second=EXPRESSIONS)
def test_written_definitions_give_the_exact_value(
    tmp_path_factory: pytest.TempPathFactory, first: str, second: str
) -> None:
    """Each constant's definition, written as Python, computes exactly (type and digits)
    the value elaboration gives it; where archc refuses the arithmetic, nothing is written."""
    path = tmp_path_factory.mktemp("arith") / "c.arch"
    text = f"a = {first}\nb = a + {second}\nnetwork N {{\n    in x: [4]\n    out x -> relu\n}}\n"
    path.write_text(text, encoding="utf-8")
    file, diagnostics = load_program(str(path), None)
    assert file is not None and not diagnostics
    elaborator = Elaborator()
    for name in ("a", "b"):
        try:
            origin = elaborator.constant_origin(name, Body(file), file.constants[name].span)
        except ElabError:
            continue  # a division by zero, a number too large: the spec's own error
        assert isinstance(origin, pv.Lit) and origin.constant is not None
        reached = _reached(origin.constant)
        scope = ModuleScope(frozenset(), {(c.file, c.name): c.name.upper() for c in reached})
        signature = Signature("", "block", (), (), file.constants[name].span)
        lines, imports = definitions({("", name): origin.constant}, scope, signature)
        namespace: dict[str, object] = {}
        exec("\n".join([*(f"import {m}" for m in imports), *lines]), namespace)
        computed = namespace[name.upper()]
        assert type(computed) is type(origin.value), lines
        assert repr(computed) == repr(origin.value), lines


def _reached(constant: pv.Constant) -> list[pv.Constant]:
    """``constant`` and every constant its definition reads, however deep."""
    found = [constant]
    stack: list[pv.Expr] = [constant.definition]
    while stack:
        expr = stack.pop()
        if isinstance(expr, pv.Lit) and expr.constant is not None:
            found += _reached(expr.constant)
        elif isinstance(expr, pv.Apply):
            stack += expr.args
    return found


def test_constant_names_leave_declared_parameters_alone(
    compiled: tuple[list[Network], str, ModuleType],
) -> None:
    networks, _, _ = compiled
    names = constant_names(networks, Namespace({"BASE"}))
    assert sorted(names.values()) == sorted(
        ["BASE_", "WIDTH", "MOMENTUM_", "EPS", "EPS_", "DOUBLED", "SIZES"]
    )


TESTS_OF_CONSTANTS = """
depth = 2
wide = depth > 1

block Unit(channels) {
    in x
    y = x -> conv2d(channels, 3, padding=1)
    out if wide then (y -> relu) else y
}

block Deep(channels, n=depth * 2) {
    in x
    out x -> [Unit(channels) * n] -> (if 3 > depth then batchnorm2d else relu)
}

network Net {
    in x: [3, 8, 8]
    out x -> Deep(8) as a -> Unit(4) as b
}
"""


def test_a_test_of_constants_is_no_choice_of_the_class(tmp_path: Path) -> None:
    """A structural test that reads no parameter or size goes one way for every argument:
    the class builds that way, with no optional submodule and no refusal of the other."""
    path = tmp_path / "tests.arch"
    path.write_text(TESTS_OF_CONSTANTS, encoding="utf-8")
    networks, module = compile_spec(path)
    source = api.compile_source(str(path))
    assert " if " not in source.split("class Unit")[1].split("def forward")[0]
    assert "is not None" not in source and "ValueError" not in source
    assert "self.batchnorm1 = nn.BatchNorm2d(channels)" in source
    check_compiled(networks, module)
