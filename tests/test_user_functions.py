"""A spec's `fn`s in generated code: each function a class calls is defined once, before the
classes, and called where the spec called it; its names hide nothing the code relies on; its
defaults are faithful; and every call computes what elaboration computes, for the spec's
values and for others (the reference interpreter decides)."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from archc import api, runtime
from archc.backends.torch.module_functions import Named, defined_functions, definitions
from archc.semantics.context import Body
from archc.semantics.elaborate import Elaborator
from archc.semantics.expressions import ElabError
from archc.semantics.ir import Signature
from archc.semantics.program import load_program
from tests.conftest import ROOT
from tests.oracle import (
    Verdict,
    check_values,
    compare,
    random_inputs,
    silence_dropout,
    sizes_of,
    vary_running_statistics,
)
from tests.spec_arithmetic import arithmetic

SMALL = """
fn round_to(v, divisor) = max(divisor, int(v + divisor / 2) // divisor * divisor)
fn multiple_of(v, divisor=8) = if round_to(v, divisor) >= 0.9 * v
    then round_to(v, divisor) else round_to(v, divisor) + divisor
network N(alpha=1.0, w=16) {
    in x: [3, 32, 32]
    out x -> conv2d(multiple_of(32 * alpha), 3) -> conv2d(2 * w, 3)
}
"""


def compiled(tmp_path: Path, text: str, name: str = "spec") -> tuple[str, Any]:
    path = tmp_path / f"{name}.arch"
    path.write_text(text, encoding="utf-8")
    source = api.compile_source(str(path))
    return source, runtime.load_source(source, f"archc_user_functions_{name}")


def test_each_function_is_defined_once_callees_first_and_called_as_written(
    tmp_path: Path,
) -> None:
    source, module = compiled(tmp_path, SMALL)
    assert (
        "def round_to(v: float, divisor: int) -> int:\n"
        "    return max(divisor, int(v + divisor / 2) // divisor * divisor)\n"
        "\n\n"
        "def multiple_of(v: float, divisor: int = 8) -> int:\n"
        "    return (\n"
        "        round_to(v, divisor) if round_to(v, divisor) >= 0.9 * v "
        "else round_to(v, divisor) + divisor\n"
        "    )\n"
        "\n\n"
        "class N(nn.Module):"
    ) in source
    assert source.count("def round_to(") == 1 and source.count("def multiple_of(") == 1
    assert "self.conv1 = nn.Conv2d(3, multiple_of(32 * alpha), kernel_size=3)" in source
    assert "self.conv2 = nn.Conv2d(multiple_of(32 * alpha), 2 * w, kernel_size=3)" in source
    assert module.N(alpha=0.35).conv1.out_channels == 16  # round_to(11.2, 8) is 8 < 0.9 * 11.2


def test_the_module_is_the_same_every_time(tmp_path: Path) -> None:
    first, _ = compiled(tmp_path, SMALL, "first")
    second, _ = compiled(tmp_path, SMALL, "first")
    assert first == second


COLLISIONS = """
width = 8
fn StochasticDepth(v) = v + 1
fn WIDTH(v) = v * width
fn math(v) = sqrt(v) * 2
fn nn(v) = v + 2
fn scale(v) = v * 3
fn inner(torch, F, Unit_) = torch + F + Unit_

block Unit_(channels, scale) {
    in x
    out x -> conv2d(channels, 1) -> dropout(scale)
}

network Net(k=4) {
    in x: [3, 8, 8]
    out x
        -> Unit_(int(math(k * 4)) + StochasticDepth(k), scale(0.1)) as a
        -> conv2d(WIDTH(k) + nn(k) + inner(k, 1, 2), 1)
}
"""


def test_function_names_hide_nothing_the_module_relies_on(tmp_path: Path) -> None:
    source, module = compiled(tmp_path, COLLISIONS, "collisions")
    defined = [line for line in source.splitlines() if line.startswith("def ")]
    assert defined == [
        "def StochasticDepth_(v: int) -> int:",  # archc's module of that name keeps it
        "def WIDTH_(v: int) -> int:",  # the constant `width` is `WIDTH`
        "def inner(torch_: int, F_: int, Unit_2: int) -> int:",  # nor does a parameter
        "def math_(v: int) -> float:",  # the body reads `math.sqrt`
        "def nn_(v: int) -> int:",
        "def scale_(v: float) -> float:",  # a parameter of `Unit_` keeps its keyword
    ]
    assert "return math.sqrt(v) * 2" in source and "return torch_ + F_ + Unit_2" in source
    assert "Unit_(3, int(math_(k * 4)) + StochasticDepth_(k), scale_(0.1))" in source
    assert "WIDTH_(k) + nn_(k) + inner(k, 1, 2)" in source
    assert "def __init__(self, in_channels: int, channels: int, scale: float)" in source
    net = module.Net()
    assert net.a.conv1.out_channels == int((4 * 4) ** 0.5 * 2) + 5
    assert net.conv1.out_channels == 4 * 8 + 6 + 7
    check_values(tmp_path / "collisions.arch", {"k": 5})


DEFAULTS = """
fn bounded(v, divisor=8, least=divisor, most=least * 64) = min(most, max(least, v // divisor * divisor))
fn plain(v, step=2, scale=0.5) = v * scale + step

network Net(c=37, d=4) {
    in x: [3]
    out x
        -> linear(bounded(c)) as a
        -> linear(bounded(c, d)) as b
        -> linear(bounded(c, least=3, divisor=d)) as c1
        -> linear(int(plain(c)) + int(plain(c, scale=1.5))) as e
}
"""


def test_defaults_that_read_earlier_parameters_are_passed_by_each_call(tmp_path: Path) -> None:
    source, module = compiled(tmp_path, DEFAULTS, "defaults")
    # Python's defaults cannot read another parameter: each call passes those that do
    assert "def bounded(v: int, divisor: int, least: int, most: int) -> int:" in source
    assert "def plain(v: int, step: int = 2, scale: float = 0.5) -> float:" in source
    assert "nn.Linear(3, bounded(c, 8, 8, 512))" in source
    assert "bounded(c, d, d, d * 64)" in source
    assert "bounded(c, d, 3, 192)" in source
    assert "int(plain(c)) + int(plain(c, scale=1.5))" in source
    for c, d in ((37, 4), (5, 8), (300, 3)):
        net = module.Net(c=c, d=d)
        (network,), _ = api.analyse(str(tmp_path / "defaults.arch"), overrides={"c": c, "d": d})
        assert [n.outputs[0].shape[-1] for n in network.nodes() if n.op == "linear"] == [
            net.a.out_features,
            net.b.out_features,
            net.c1.out_features,
            net.e.out_features,
        ]
    check_values(tmp_path / "defaults.arch")


REPEATED = """
fn drop_rate(index, blocks=8) = 0.2 * index / blocks

block Layer(channels, p=0.0) {
    in x
    out x -> conv2d(channels, 3, padding=1) -> dropout(p)
}

network Stage(base=2, n=3) {
    in x: [4, 8, 8]
    out x -> [Layer(4, p=drop_rate(base + i)) * n] as blocks -> Layer(4, p=drop_rate(1))
}
"""


def test_a_call_reading_the_copy_index_is_one_comprehension(tmp_path: Path) -> None:
    source, module = compiled(tmp_path, REPEATED, "repeated")
    assert "nn.Sequential(*[Layer(4, 4, p=drop_rate(base + k)) for k in range(n)])" in source
    assert "Layer(4, 4, p=drop_rate(1))" in source
    stage = module.Stage(base=3, n=4)
    assert [layer.dropout1.p for layer in stage.blocks] == [0.2 * (3 + k) / 8 for k in range(4)]


def test_a_comprehension_index_is_named_apart_from_the_functions_it_calls(
    tmp_path: Path,
) -> None:
    text = REPEATED.split("network")[0] + (
        "fn k(index) = 0.1 * index\nfn copy(index) = 0.01 * index\n"
        "network Stage(n=3) {\n    in x: [4, 8, 8]\n"
        "    out x -> [Layer(4, p=k(i) + copy(i)) * n] as blocks\n}\n"
    )
    source, module = compiled(tmp_path, text, "index_names")
    assert "*[Layer(4, 4, p=k(k_) + copy(k_)) for k_ in range(n)]" in source
    rates = [layer.dropout1.p for layer in module.Stage(n=4).blocks]
    assert rates == [0.1 * k + 0.01 * k for k in range(4)]


def test_a_function_that_only_calls_itself_where_untaken_compiles(tmp_path: Path) -> None:
    """Provenance follows both alternatives of an `if`; a call back into the function there
    has none, and the value is what elaboration computed."""
    text = """
fn f(n) = if n <= 0 then 4 else f(n - 1)
network N(w=16) {
    in x: [3, 8, 8]
    out x -> conv2d(f(0) + w, 3)
}
"""
    _, module = compiled(tmp_path, text, "recursive")
    assert module.N().conv1.out_channels == 20


# --- MNASNet's widths follow `alpha` ----------------------------------------------------------


@pytest.mark.parametrize("alpha", [0.5, 0.75, 1.3])
def test_mnasnet_built_with_another_alpha_is_that_network(alpha: float) -> None:
    """The class takes `alpha` (a residual a stage's first block cannot build at one alpha
    is built by its class for another) and computes the network the spec elaborates with it."""
    path = ROOT / "specs" / "mnasnet1_0.arch"
    source = api.compile_source(str(path))
    assert "nn.Conv2d(3, width(0, alpha), kernel_size=3, stride=2" in source
    module = runtime.load_source(source, "archc_user_functions_mnasnet")
    assert "alpha" in inspect.signature(module.MNASNet1_0).parameters
    overrides = {"alpha": alpha, "image_size": 32, "classes": 10}
    (network,), diagnostics = api.analyse(str(path), overrides=overrides)
    assert not [d for d in diagnostics if d.is_error]
    torch.manual_seed(0)
    model = module.MNASNet1_0(alpha=alpha, classes=10).double()
    assert sum(p.numel() for p in model.parameters()) == network.param_count
    vary_running_statistics(model)
    silence_dropout(model)
    inputs = random_inputs(network, sizes_of(network))
    for training in (False, True):
        # a batch norm over a batch of little variance turns rounding into differences the
        # comparison tells apart from a wrong weight (tests/oracle.py)
        assert Verdict(tuple(compare(network, model, inputs, training))).mismatches == []


# --- a function written as Python computes what elaboration computes --------------------------

_LEAVES = st.one_of(
    st.sampled_from(["a", "b", "a", "b"]),
    st.integers(-20, 20).map(str),
    st.sampled_from(["0.5", "1e-3", "2.25", "0.9"]),
)


def _unary(parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(st.sampled_from(["int", "abs", "floor"]), parts).map(
        lambda t: f"{t[0]}({t[1]})"
    )


def _calls(parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(parts, parts).map(lambda t: f"g({t[0]}, {t[1]})")


BODIES = arithmetic(_LEAVES, 8, _unary, _calls)
ARGUMENTS = st.one_of(st.integers(-9, 9), st.sampled_from([0.5, 1.5, -2.25, 3.0]))


@given(outer=BODIES, inner=BODIES, a=ARGUMENTS, b=ARGUMENTS)
def test_a_function_written_as_python_gives_the_value_elaboration_gives(
    tmp_path_factory: pytest.TempPathFactory, outer: str, inner: str, a: Any, b: Any
) -> None:
    """`f` (which may call `g`) defined as the module defines it and called with ``a`` and
    ``b`` gives exactly (type and digits) what elaboration gives `f(a, b)`; where elaboration
    refuses the arithmetic, the test asks nothing."""
    path = tmp_path_factory.mktemp("fn") / "f.arch"
    inner = inner.replace("g(", "max(")  # g calls no function
    text = (
        f"fn g(a, b=2) = {inner}\nfn f(a, b) = {outer}\nc = f({a}, {b})\n"
        "network N {\n    in x: [4]\n    out x -> relu\n}\n"
    )
    path.write_text(text, encoding="utf-8")
    file, diagnostics = load_program(str(path), None)
    assert file is not None and not diagnostics
    elaborator = Elaborator()
    try:
        value = elaborator.constant("c", Body(file), file.constants["c"].span)
    except ElabError:
        return  # a division by zero, a number too large: the spec's own error
    records = [elaborator.function_record(file.functions[name]) for name in ("g", "f")]
    functions = [r for r in records if r is not None]
    assert len(functions) == 2
    signature = Signature("", "block", (), (), file.constants["c"].span)
    names = {function.key: Named(function, function.name, ()) for function in functions}
    defined = defined_functions(names, frozenset({"f", "g"}), {}, signature)
    assert set(defined) == set(names)
    lines = definitions(set(names), defined)
    namespace: dict[str, Any] = {}
    imports = {m for d in defined.values() for m in d.imports}
    exec("\n".join([*(f"import {m}" for m in sorted(imports)), *lines]), namespace)
    computed = namespace["f"](a, b)
    assert type(computed) is type(value), lines
    assert repr(computed) == repr(value), lines
