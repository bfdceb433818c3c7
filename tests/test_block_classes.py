"""One generated class per block definition, whatever its conditionals choose.

Every class a generated module holds names its block and where the block is defined in its
docstring; two classes naming the same definition are one definition split by value. Each zoo
golden, golden case and example is checked, against a list of the forms not yet written as one
class. The class that serves instances taking either alternative of a conditional is then
built with arguments that take each one, and compared with the reference interpreter run on the
spec elaborated with those arguments; so is a class built with counts of its repeats that no
instance had.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import itertools
import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch

from archc import api, runtime
from archc.errors import render
from archc.semantics.ir import Network
from tests.conftest import ROOT
from tests.fuzz.replayed import snapshot
from tests.oracle import compare, random_inputs, sizes_of, vary_running_statistics

CLASS = re.compile(r'^class (\w+)\(nn\.Module\):\n    """Block `([^`]+)` \(([^)]+)\)', re.M)

SOURCES = sorted((ROOT / "tests" / "golden" / "zoo").glob("*.py")) + sorted(
    (ROOT / "tests" / "golden").glob("*/model.py")
)
EXAMPLES = sorted((ROOT / "examples" / "specs").glob("*.arch"))

# Definitions whose instances still differ in a form the code generator writes as separate
# classes (correct, each for its own instances), by source file and definition.
SPLIT: dict[tuple[str, str], int] = {}


def classes_per_definition(source: str) -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for name, block, where in CLASS.findall(source):
        found[(block, where)].append(name)
    return found


def split(label: str, source: str) -> dict[tuple[str, str], int]:
    return {
        (label, block): len(names)
        for (block, _), names in classes_per_definition(source).items()
        if len(names) > 1
    }


def test_each_block_definition_gives_one_class() -> None:
    found: dict[tuple[str, str], int] = {}
    for path in SOURCES:
        label = path.name if path.parent.name == "zoo" else f"{path.parent.name}/{path.name}"
        found.update(split(label, path.read_text(encoding="utf-8")))
    for path in EXAMPLES:
        found.update(split(path.name, api.compile_source(str(path))))
    assert found == SPLIT


class Specs:
    """Spec texts written to files under their names, each compiled, loaded and analysed once
    for the whole module: many tests build other arguments of one spec's classes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.sources: dict[tuple[Path, str | None], str] = {}
        self.modules: dict[tuple[Path, str | None], ModuleType] = {}
        self.networks: dict[Path, Network] = {}

    def path(self, name: str, text: str) -> Path:
        """The file ``name`` holding ``text``, in a folder of that text's own."""
        folder = self.directory / hashlib.sha256(text.encode()).hexdigest()[:16]
        spec = folder / name
        if not spec.exists():
            folder.mkdir(exist_ok=True)
            spec.write_text(text, encoding="utf-8")
        return spec

    def source(self, name: str, text: str, network: str | None = "Net") -> str:
        """What `archc compile` writes for ``network`` (every network, with None)."""
        key = (self.path(name, text), network)
        if key not in self.sources:
            self.sources[key] = api.compile_source(str(key[0]), network)
        return self.sources[key]

    def module(self, name: str, text: str, network: str | None = "Net") -> ModuleType:
        """The generated source of ``network``, loaded."""
        key = (self.path(name, text), network)
        if key not in self.modules:
            label = f"archc_block_classes_{key[0].parent.name}_{network}"
            self.modules[key] = runtime.load_source(self.source(name, text, network), label)
        return self.modules[key]

    def network(self, text: str) -> Network:
        """The network of a spec of one network, analysed without errors."""
        spec = self.path("single.arch", text)
        if spec not in self.networks:
            (network,), diagnostics = api.analyse(str(spec))
            assert not [d for d in diagnostics if d.is_error]
            self.networks[spec] = network
        return self.networks[spec]


@pytest.fixture(scope="module")
def specs(tmp_path_factory: pytest.TempPathFactory) -> Specs:
    return Specs(tmp_path_factory.mktemp("block_classes"))


def test_the_class_count_sees_a_split_definition(specs: Specs) -> None:
    """Two unnamed repeats that name their layers alike (`conv1`, ... in both) still split:
    the first's count would move the numbers of the second's layers."""
    text = (
        "block Two(c, d, n, m) {\n    in x\n"
        "    out x -> (conv2d(c, 3, padding=1) -> relu) * n -> (conv2d(d, 1) -> relu) * m\n"
        "}\nnetwork Net {\n    in x: [3, 16, 16]\n"
        "    out x -> Two(4, 5, 2, 2) as a -> Two(4, 6, 3, 1) as b\n}\n"
    )
    source = specs.source("split.arch", text)
    assert len(classes_per_definition(source)[("Two", "split.arch:1")]) == 2


def test_instances_whose_layers_are_other_modules_split(specs: Specs) -> None:
    """An argument may choose the module a layer builds (a transposed linear map, an RMS norm
    scaled by 1 + weight): instances that differ there get classes of their own, each
    building its instances' modules, though the argument's provenance is the same."""
    text = (
        "block B(n, t, o) {\n    in x\n"
        "    out x -> linear(n, transposed=t) as fc -> rmsnorm(weight_offset=o) as norm\n}\n"
        "network Net {\n    in x: [5, 8]\n"
        "    out x -> B(4, false, 0.0) as a -> B(6, true, 1.0) as b -> B(3, false, 0.0) as c\n}\n"
    )
    source = specs.source("modules.arch", text)
    assert len(classes_per_definition(source)[("B", "modules.arch:1")]) == 2
    module, network = specs.module("modules.arch", text), specs.network(text)
    assert_computes_as_spec(network, module.Net)


class Holder(torch.nn.Module):
    """A block's class under the name the spec's network gives its instance."""

    def __init__(self, block: torch.nn.Module) -> None:
        super().__init__()
        self.b = block

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(x)


def assert_computes_as_spec(network: Network, build: Callable[[], torch.nn.Module]) -> None:
    """The module ``build`` makes (seeded, in float64, its batch norms given running
    statistics) has the state_dict keys of ``network``'s tensors, in its order, and computes
    what the interpreter computes on ``network``, in eval and in training mode."""
    torch.manual_seed(0)
    model = build().double()
    vary_running_statistics(model)
    assert list(model.state_dict()) == [key for node in network.nodes() for key in _keys(node)]
    inputs = random_inputs(network, sizes_of(network))
    for training in (False, True):
        assert compare(network, model, inputs, training) == []


def _keys(node: Any) -> list[str]:
    return [f"{node.path}.{name}" for name in (*node.params, *node.buffers)]


def assert_block_computes_as_spec(
    specs: Specs, blocks: str, call: str, input_size: str, block: Callable[[], torch.nn.Module]
) -> None:
    """The block ``block`` makes computes what the spec's ``call`` does, elaborated with the
    same arguments, on an input of ``input_size`` (`[channels, height, width]`): in a network
    of ``blocks`` (a spec's text before its networks) that applies the call alone, as `b`."""
    text = f"{blocks}network Net {{\n    in x: {input_size}\n    out x -> {call} as b\n}}\n"
    assert_computes_as_spec(specs.network(text), lambda: Holder(block()))


def blocks_of(text: str) -> str:
    """A spec's block definitions: its text before its first network."""
    return text.split("network Net")[0]


@functools.cache
def mobilenet() -> ModuleType:
    source = api.compile_source(str(ROOT / "specs" / "mobilenet_v3_large.arch"))
    return runtime.load_source(source, "archc_block_classes")


# (the feature whose class is built, the input's channels, the spec's call, the class's
# arguments): each class that holds the residual, built with and without it, and with each
# activation it is given
RELU, HARDSWISH = torch.nn.ReLU, torch.nn.Hardswish
CASES = [
    (3, 24, "3, 72, 24, false, relu, 1", dict(expanded=72, kernel=3, stride=1, channels=24)),
    (3, 16, "3, 64, 24, false, relu, 2", dict(expanded=64, kernel=3, stride=2, channels=24)),
    (3, 24, "3, 72, 32, false, relu, 1", dict(expanded=72, kernel=3, stride=1, channels=32)),
    (
        3,
        80,
        "3, 200, 80, false, hardswish, 1",
        dict(expanded=200, kernel=3, stride=1, channels=80),
    ),
    (1, 16, "3, 16, 16, false, relu, 1", dict(expanded=16, kernel=3, stride=1, channels=16)),
    (1, 16, "3, 16, 16, false, hardswish, 2", dict(expanded=16, kernel=3, stride=2, channels=16)),
    (
        14,
        160,
        "5, 960, 160, true, hardswish, 1",
        dict(expanded=960, kernel=5, stride=1, channels=160),
    ),
    (
        14,
        112,
        "5, 672, 160, true, relu, 2",
        dict(expanded=672, kernel=5, stride=2, channels=160),
    ),
]


@pytest.mark.parametrize(("feature", "channels", "call", "arguments"), CASES)
def test_one_class_builds_each_alternative_as_the_spec_does(
    specs: Specs, feature: int, channels: int, call: str, arguments: dict[str, int]
) -> None:
    with torch.device("meta"):
        features = mobilenet().MobileNetV3Large().features
    cls = type(getattr(features, str(feature)))
    act = HARDSWISH if "hardswish" in call else RELU
    use_se = "true" in call
    assert_block_computes_as_spec(
        specs,
        'use "zoo:blocks/mobilenet.arch"\n',
        f"InvertedResidual({call})",
        f"[{channels}, 8, 8]",
        lambda: cls(in_channels=channels, act=act, use_se=use_se, **arguments),
    )


UNIT = """
block Unit(c, stride=1, p=0.0) {
    in x
    y = x -> conv2d(c, 3, stride=stride, padding=1) as conv -> batchnorm2d as bn
    z = if stride == 1 and x.channels == c then (y -> dropout(p) as drop) + x else y
    out z -> relu
}
network Net {
    in x: [8, 16, 16]
    out x -> Unit(8) as a -> Unit(16, stride=2) as b -> Unit(16, p=0.1) as c
}
network Strided {
    in x: [8, 16, 16]
    out x -> Unit(16, stride=2) as b
}
"""


def test_a_conditional_output_read_later_is_one_class(specs: Specs) -> None:
    """Layers taken under a test (a dropout and the add) are built under a flag and computed
    under an `if`; the value it gives is read by the next layer whichever was taken."""
    source = specs.source("unit.arch", UNIT)
    assert len(classes_per_definition(source)[("Unit", "unit.arch:2")]) == 1
    assert "        self.use_drop = stride == 1 and in_channels == c\n" in source
    assert "        if self.use_drop:\n            out = self.drop(y)\n" in source
    ((passed, verdict),) = runtime.selftest(str(specs.path("unit.arch", UNIT)), "Net")
    assert passed, verdict


def test_layers_no_instance_took_are_refused_where_the_arguments_need_them(
    specs: Specs,
) -> None:
    """No instance of `Strided` could build the residual: its class raises where the
    arguments take it rather than compute something else, and builds the rest."""
    module = specs.module("unit.arch", UNIT, "Strided")
    assert module.Unit(8, 16, stride=2).conv.stride == (2, 2)
    with pytest.raises(ValueError, match="no layers known for these arguments"):
        module.Unit(16, 16)


# a choice between two tensors the body has, at the head of a chain, in a merge and as a
# block's input: the layers after it are built once, their widths following the choice
CHOSEN_HEAD = """
block Unit(c, stride) {
    in x
    half, _rest = x -> chunk(2, dim=1)
    out (if stride == 1 then half else x) -> conv2d(c, 1, stride=stride) as conv
}
"""
CHOSEN_MERGE = """
block Join(c, wide) {
    in x
    half, rest = x -> chunk(2, dim=1)
    y = concat(if not wide then half else x, rest, dim=1) -> conv2d(c, 1) as conv
    out y + (if wide then half else rest)
}
"""
CHOSEN_INPUT = """
block Inner(c) {
    in x
    out x -> conv2d(c, 3, padding=1) as conv -> batchnorm2d as bn
}
block Outer(c, stride) {
    in x
    half, _rest = x -> chunk(2, dim=1)
    y = (if stride != 1 then x else half) -> Inner(c) as inner
    out y -> maxpool2d(stride) as pool
}
"""


def _one_way_and_the_other(blocks: str, first: str, second: str) -> str:
    return f"{blocks}network Net {{\n    in x: [8, 8, 8]\n    out x -> {first} -> {second}\n}}\n"


@pytest.mark.parametrize(
    ("blocks", "calls", "size", "build"),
    [
        (
            CHOSEN_HEAD,
            ("Unit(8, 1) as a", "Unit(6, 2) as b"),
            "[10, 6, 6]",
            [
                ("Unit(6, 1)", lambda m: m.Unit(10, 6, 1)),
                ("Unit(6, 2)", lambda m: m.Unit(10, 6, 2)),
            ],
        ),
        (
            CHOSEN_MERGE,
            ("Join(4, true) as a", "Join(2, false) as b"),
            "[12, 4, 4]",
            [
                ("Join(6, true)", lambda m: m.Join(12, 6, True)),
                ("Join(6, false)", lambda m: m.Join(12, 6, False)),
            ],
        ),
        (
            CHOSEN_INPUT,
            ("Outer(8, 1) as a", "Outer(6, 2) as b"),
            "[10, 8, 8]",
            [
                ("Outer(5, 1)", lambda m: m.Outer(10, 5, 1)),
                ("Outer(5, 2)", lambda m: m.Outer(10, 5, 2)),
            ],
        ),
    ],
    ids=["head", "merge", "input"],
)
def test_a_choice_between_tensors_is_one_class(
    specs: Specs,
    blocks: str,
    calls: tuple[str, str],
    size: str,
    build: list[tuple[str, Callable[[ModuleType], torch.nn.Module]]],
) -> None:
    """Instances whose test chose either of two tensors the body has share one class, which
    chooses the tensor in forward and builds the layers after it once, the widths they read
    written under the test; built with arguments taking each alternative, it computes what
    the spec elaborated with them does, in eval and in training mode."""
    text = _one_way_and_the_other(blocks, *calls)
    source = specs.source("chosen.arch", text)
    definitions = [k for k in classes_per_definition(source) if k[0] != "Inner"]
    assert [len(classes_per_definition(source)[k]) for k in definitions] == [1]
    module = specs.module("chosen.arch", text)
    for call, made in build:
        assert_block_computes_as_spec(specs, blocks, call, size, functools.partial(made, module))


def test_a_choice_between_tensors_reads_as_written(specs: Specs) -> None:
    """Forward chooses the tensor where the spec reads it, the test on what `__init__`
    stored; the width that follows the choice is written under its test."""
    source = specs.source(
        "chosen.arch", _one_way_and_the_other(CHOSEN_HEAD, "Unit(8, 1) as a", "Unit(6, 2) as b")
    )
    assert "self.conv(half if self.stride == 1 else x)" in source
    assert "in_channels // 2 if stride == 1 else in_channels" in source
    merged = specs.source(
        "chosen.arch",
        _one_way_and_the_other(CHOSEN_MERGE, "Join(4, true) as a", "Join(2, false) as b"),
    )
    assert "torch.cat([half if not self.wide else x, rest], dim=1)" in merged
    assert "+ (half if self.wide else rest)" in merged
    nested = specs.source(
        "chosen.arch", _one_way_and_the_other(CHOSEN_INPUT, "Outer(8, 1) as a", "Outer(6, 2) as b")
    )
    assert "Inner(in_channels if stride != 1 else in_channels // 2, c)" in nested


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_a_choice_no_instance_made_the_other_way_is_built_both_ways(
    specs: Specs, stride: int
) -> None:
    """Every instance chose the same tensor: the class takes its instance elaborated aside
    with an argument under which the test goes the other way, and builds the layers after
    the choice for either tensor rather than refuse one."""
    text = CHOSEN_HEAD + "network Net {\n    in x: [8, 8, 8]\n    out x -> Unit(8, 1) as a\n}\n"
    assert "no layers known" not in specs.source("chosen_alone.arch", text)
    module = specs.module("chosen_alone.arch", text)
    build = functools.partial(module.Unit, 10, 6, stride)
    assert_block_computes_as_spec(specs, CHOSEN_HEAD, f"Unit(6, {stride})", "[10, 6, 6]", build)


# two choices between tensors whose widths meet in one layer
CHOSEN_BOTH = """
block Both(c, s, t) {
    in x
    a, b = x -> chunk(2, dim=1)
    y = concat(if s then a else x, if t then b else x, dim=1) -> conv2d(c, 1) as conv
    out y + (x -> conv2d(c, 1) as skip)
}
"""


@pytest.mark.parametrize("ways", list(itertools.product((False, True), repeat=2)))
def test_ways_of_two_choices_no_instance_went_together_are_built(
    specs: Specs, ways: tuple[bool, bool]
) -> None:
    """No instance went both choices' false ways: the class takes an instance elaborated
    aside that did, and writes the width the two choices decide together under both tests
    (a width written under one test only would hold for the ways seen), computing what the
    spec does for each way of both."""
    calls = ["Both(8, true, false) as p", "Both(8, false, true) as q", "Both(8, true, true) as r"]
    text = f"{CHOSEN_BOTH}network Net {{\n    in x: [8, 8, 8]\n    out x -> {' -> '.join(calls)}\n}}\n"
    source = specs.source("both.arch", text)
    assert len(classes_per_definition(source)[("Both", "both.arch:2")]) == 1
    assert "conv_value" not in source  # no width the caller computes for it
    module = specs.module("both.arch", text)
    call = f"Both(6, {str(ways[0]).lower()}, {str(ways[1]).lower()})"
    build = functools.partial(module.Both, 10, 6, *ways)
    assert_block_computes_as_spec(specs, CHOSEN_BOTH, call, "[10, 6, 6]", build)


# a choice whose tensor may be another choice's value: its class reads neither as the
# tensor it gave in one instance
CHOSEN_NESTED = """
block Nest(c, s, t) {
    in x
    skip = if s then x -> conv2d(x.channels, 1) as ds else x
    out (if t then skip else x) -> conv2d(c, 1) as conv
}
block Twice(c, a, b) {
    in x
    p, q = x -> chunk(2, dim=1)
    u = if a then p else q
    out (if b then u else x) -> conv2d(c, 1) as conv
}
"""


@pytest.mark.parametrize(
    ("block", "flags"),
    [("Nest", ("s", "t")), ("Twice", ("a", "b"))],
)
def test_a_choice_of_another_choice_s_value_refuses_or_computes_as_spec(
    specs: Specs, block: str, flags: tuple[str, str]
) -> None:
    """Instances took one way of a choice and both of a second choosing the first's value:
    each class of the block, built with each way of both, refuses it or computes what the
    spec does; every way an instance took is built by one of them."""
    calls = [f"{block}(8, false, true)", f"{block}(6, false, false)"]
    chain = " -> ".join(f"{call} as b{k}" for k, call in enumerate(calls))
    text = f"{CHOSEN_NESTED}network Net {{\n    in x: [8, 8, 8]\n    out x -> {chain}\n}}\n"
    source = specs.source("nested.arch", text)
    module = specs.module("nested.arch", text)
    names = next(names for (b, _), names in classes_per_definition(source).items() if b == block)
    taken = {(False, True), (False, False)}
    for ways in itertools.product((False, True), repeat=2):
        call = f"{block}(4, {str(ways[0]).lower()}, {str(ways[1]).lower()})"
        built = 0
        for name in names:
            cls = getattr(module, name)
            given = {"in_channels": 8, "c": 4, **dict(zip(flags, ways, strict=True))}
            taken_by = inspect.signature(cls).parameters
            build = functools.partial(cls, **{k: v for k, v in given.items() if k in taken_by})
            try:
                build()
            except ValueError:
                continue
            assert_block_computes_as_spec(specs, CHOSEN_NESTED, call, "[8, 6, 6]", build)
            built += 1
        assert built or ways not in taken, call


SPLIT_UNIT = """
block Unit(c, pooled) {
    in x
    p = x -> avgpool2d(2)
    y = (if pooled then p else x) -> conv2d(c, 1) as conv
    out y -> (if pooled then relu else tanh)
}
"""


def test_a_class_split_by_a_test_refuses_the_way_its_instances_did_not_go(
    specs: Specs,
) -> None:
    """Beside the choice between tensors, the test chooses the layer after it: the
    instances of each way get a class of their own. Each builds its way as the spec does
    and refuses the other, naming the class that builds it, rather than build layers the
    spec would not."""
    text = _one_way_and_the_other(SPLIT_UNIT, "Unit(8, true) as a", "Unit(6, false) as b")
    module = specs.module("split_unit.arch", text)
    for cls, pooled, wrong, other in (
        (module.Unit, True, "not pooled", "UnitTanh1"),
        (module.UnitTanh1, False, "pooled", "Unit"),
    ):
        build = functools.partial(cls, 10, 6, pooled)
        call = f"Unit(6, {str(pooled).lower()})"
        assert_block_computes_as_spec(specs, SPLIT_UNIT, call, "[10, 6, 6]", build)
        with pytest.raises(ValueError, match=f"where {wrong}, build {other}$"):
            cls(10, 6, not pooled)


ACTIVATIONS = """
block Unit(width, act=relu) {
    in x
    out x -> linear(width) as fc -> act
}
network Net(slope=0.1) {
    in x: [6]
    out x
        -> Unit(8) as a
        -> Unit(8, act=hardswish) as b
        -> Unit(5, act=leaky_relu(slope)) as c
        -> Unit(4, act=prelu(1, 0.5)) as d
        -> Unit(3, act=tanh) as e
}
"""


def analysed(spec: Path, **overrides: Any) -> Network:
    """The one network of ``spec``, elaborated with ``overrides`` and without errors."""
    (network,), diagnostics = api.analyse(str(spec), overrides=overrides)
    assert not [d for d in diagnostics if d.is_error]
    return network


def test_a_layer_valued_parameter_is_a_constructor_argument(specs: Specs) -> None:
    """A block whose parameter takes several layers is one class taking the layer, which
    each call passes with the arguments the spec bound, from their provenance: the network
    built with another slope computes what the spec elaborated with it does."""
    source = specs.source("unit.arch", ACTIVATIONS)
    assert len(classes_per_definition(source)[("Unit", "unit.arch:2")]) == 1
    assert "act: Callable[..., nn.Module]" in source
    assert "        self.act1 = act()\n" in source
    assert "Unit(8, 5, act=partial(nn.LeakyReLU, negative_slope=slope))" in source
    assert "Unit(5, 4, act=partial(nn.PReLU, init=0.5))" in source
    spec = specs.path("unit.arch", ACTIVATIONS)
    ((passed, verdict),) = runtime.selftest(str(spec), "Net")
    assert passed, verdict
    module = specs.module("unit.arch", ACTIVATIONS)
    assert_computes_as_spec(analysed(spec, slope=0.3), lambda: module.Net(slope=0.3))


def test_a_layer_given_by_a_parameter_is_named_after_it(specs: Specs) -> None:
    """The unnamed layer a parameter gives is named after the parameter, whatever layer
    it is, so that instances given different layers have the same items."""
    network = analysed(specs.path("unit.arch", ACTIVATIONS))
    paths = {n.path: n.op for n in network.nodes() if n.path.endswith("act1")}
    assert paths == {
        "a.act1": "relu",
        "b.act1": "hardswish",
        "c.act1": "leaky_relu",
        "d.act1": "prelu",
        "e.act1": "tanh",
    }


COUNTED = """
block Stage(width, gate=false, act=relu) {
    in x
    out x
        -> (
            [conv2d(width, 1) -> batchnorm2d -> act] * (if width != x.channels then 1 else 0)
            -> [conv2d(width, 3, padding=1, groups=width) -> act]
            -> [adaptive_avgpool2d(1) -> conv2d(width, 1) -> sigmoid] * (if gate then 1 else 0)
        ) as body
}
network Net {
    in x: [8, 10, 10]
    out x -> Stage(8) as a -> Stage(12, gate=true, act=hardswish) as b -> Stage(12) as c
}
network Plain {
    in x: [8, 10, 10]
    out x -> Stage(8) as a
}
"""


@pytest.mark.parametrize(
    ("channels", "width", "gate"), [(4, 4, False), (4, 6, False), (4, 4, True), (4, 6, True)]
)
def test_a_repeat_counted_by_a_conditional_is_one_class(
    specs: Specs, channels: int, width: int, gate: bool
) -> None:
    """Chain children that a conditional count makes or leaves out are unpacked from a
    comprehension over the count, the children after them numbered on as the spec numbers
    them; the one class, built with each count, computes what the spec elaborated with
    those arguments does, under the same state_dict keys."""
    source = specs.source("stage.arch", COUNTED)
    assert len(classes_per_definition(source)[("Stage", "stage.arch:2")]) == 1
    assert "for _ in range(1 if width != in_channels else 0)" in source
    module = specs.module("stage.arch", COUNTED)
    assert_block_computes_as_spec(
        specs,
        blocks_of(COUNTED),
        f"Stage({width}, gate={str(gate).lower()})",
        f"[{channels}, 6, 6]",
        lambda: module.Stage(channels, width, gate=gate),
    )


@pytest.mark.parametrize(
    ("channels", "width", "gate"), [(8, 16, False), (4, 6, True), (6, 6, True), (5, 5, False)]
)
def test_a_copy_no_instance_made_is_built_as_the_spec_builds_it(
    specs: Specs, channels: int, width: int, gate: bool
) -> None:
    """`Plain`'s one instance made no copy of either counted repeat: its class builds the
    copies from the instance elaborated aside with each count, and computes what the spec
    elaborated with the arguments that make them does."""
    assert "no layers known" not in specs.source("stage.arch", COUNTED, "Plain")
    module = specs.module("stage.arch", COUNTED, "Plain")
    assert_block_computes_as_spec(
        specs,
        blocks_of(COUNTED),
        f"Stage({width}, gate={str(gate).lower()})",
        f"[{channels}, 6, 6]",
        lambda: module.Stage(channels, width, gate=gate),
    )


LOOPED = """
block Stage(channels, convs) {
    in x
    out x -> (conv2d(channels, 3, padding=1) -> batchnorm2d -> relu) * convs -> maxpool2d(2) as pool
}
block Unit(c) {
    in x
    y = x -> conv2d(c, 3, padding=1) -> relu
    out if x.channels == c then y + x else y
}
block Stack(c, n) {
    in x
    out x -> conv2d(c, 1) as stem -> residual(conv2d(c, 3, padding=1) -> relu) * n -> Unit(c) * n
}
block Chain(c, n) {
    in x
    out x -> Unit(c) * n
}
network Net {
    in x: [3, 16, 16]
    out x
        -> Stage(4, 2) as a
        -> Stage(6, 3) as b
        -> Stage(6, 1) as c
        -> Stack(5, 2) as d
        -> Stack(6, 3) as e
        -> Chain(4, 2) as f
        -> Chain(4, 3) as g
}
network Once {
    in x: [3, 16, 16]
    out x -> Stage(4, 1) as a -> Stage(6, 1) as b
}
"""


@pytest.mark.parametrize(
    ("block", "channels", "arguments"),
    [
        ("Stage", 3, (4, 0)),
        ("Stage", 3, (4, 1)),
        ("Stage", 4, (4, 2)),
        ("Stage", 3, (6, 4)),
        ("Stack", 3, (5, 0)),
        ("Stack", 3, (5, 1)),
        ("Stack", 5, (5, 2)),
        ("Stack", 2, (4, 4)),
        ("Chain", 3, (4, 1)),
        ("Chain", 3, (4, 4)),
        ("Chain", 4, (4, 2)),
    ],
)
def test_an_unnamed_repeat_counted_by_a_parameter_is_one_class(
    specs: Specs, block: str, channels: int, arguments: tuple[int, int]
) -> None:
    """Copies of an unnamed repeat are the class's own layers (`conv1`, `relu1`, `conv2`,
    ...), registered and called in a loop over the count: the one class, built with counts
    no instance had, holds the keys and computes what the spec elaborated with them does."""
    source = specs.source("looped.arch", LOOPED)
    for name in ("Stage", "Stack", "Unit", "Chain"):
        assert len(classes_per_definition(source)[(name, f"looped.arch:{_line(name)}")]) == 1
    assert 'x = getattr(self, f"relu{k + 1}")(x)' in source
    # the first copy takes the class's input; the later ones, the copy before
    assert 'self.add_module(f"unit{k + 1}", Unit(in_channels if k == 0 else c, c))' in source
    module = specs.module("looped.arch", LOOPED)
    assert_block_computes_as_spec(
        specs,
        blocks_of(LOOPED),
        f"{block}({', '.join(map(str, arguments))})",
        f"[{channels}, 8, 8]",
        lambda: getattr(module, block)(channels, *arguments),
    )


def _line(block: str) -> int:
    lines = LOOPED.split("\n")
    return next(k for k, line in enumerate(lines) if line.startswith(f"block {block}(")) + 1


@pytest.mark.parametrize(
    ("channels", "arguments"), [(3, (4, 1)), (3, (4, 0)), (4, (6, 2)), (2, (5, 5))]
)
def test_a_loop_no_instance_repeated_builds_every_count(
    specs: Specs, channels: int, arguments: tuple[int, int]
) -> None:
    """Where every instance made one copy, the later copies are those of the instance
    elaborated aside with two: the class builds any count as the spec does."""
    assert "no layers known" not in specs.source("looped.arch", LOOPED, "Once")
    module = specs.module("looped.arch", LOOPED, "Once")
    assert_block_computes_as_spec(
        specs,
        blocks_of(LOOPED),
        f"Stage({', '.join(map(str, arguments))})",
        f"[{channels}, 8, 8]",
        lambda: module.Stage(channels, *arguments),
    )


DEEP = """
block Stage(width, n=2, deep=false, act=relu) {
    in x
    out x
        -> (
            [conv2d(width, 1) -> batchnorm2d -> act] * (if deep then n else 0)
            -> [conv2d(width, 3, padding=1, groups=width) -> act]
        ) as body
}
network Net {
    in x: [8, 10, 10]
    out x
        -> Stage(8) as a
        -> Stage(12, deep=true) as b
        -> Stage(12, n=3, deep=true) as c
        -> Stage(6, n=1, deep=true) as d
}
network Shallow {
    in x: [8, 10, 10]
    out x -> Stage(8) as a -> Stage(12, n=1, deep=true) as b
}
"""


@pytest.mark.parametrize(
    ("channels", "width", "n", "deep"),
    [(4, 4, 2, False), (6, 6, 0, True), (4, 6, 1, True), (4, 4, 2, True), (3, 6, 5, True)],
)
def test_a_repeat_counted_by_a_conditional_above_one_is_one_class(
    specs: Specs, channels: int, width: int, n: int, deep: bool
) -> None:
    """A conditional count that is any number of copies (`* (if deep then n else 0)`)
    unpacks them from one comprehension, the first copy's input width beside the later
    ones': the one class, built with each count, computes what the spec elaborated with
    those arguments does, under the same state_dict keys."""
    source = specs.source("deep.arch", DEEP)
    assert len(classes_per_definition(source)[("Stage", "deep.arch:2")]) == 1
    assert "nn.Conv2d(in_channels if k == 0 else width, width, kernel_size=1)" in source
    assert "for k in range(n if deep else 0)" in source
    assert "width if deep and n > 0 else in_channels" in source
    module = specs.module("deep.arch", DEEP)
    assert_block_computes_as_spec(
        specs,
        blocks_of(DEEP),
        f"Stage({width}, n={n}, deep={str(deep).lower()})",
        f"[{channels}, 6, 6]",
        lambda: module.Stage(channels, width, n=n, deep=deep),
    )


@pytest.mark.parametrize(("channels", "width", "n"), [(8, 12, 2), (4, 6, 5), (6, 6, 0)])
def test_copies_no_instance_made_past_the_first_are_built_as_the_spec_builds_them(
    specs: Specs, channels: int, width: int, n: int
) -> None:
    """`Shallow`'s instances made no copy and one copy of `* (if deep then n else 0)`: the
    class builds the later copies from the instance elaborated aside with two."""
    assert "no layers known" not in specs.source("deep.arch", DEEP, "Shallow")
    module = specs.module("deep.arch", DEEP, "Shallow")
    assert_block_computes_as_spec(
        specs,
        blocks_of(DEEP),
        f"Stage({width}, n={n}, deep=true)",
        f"[{channels}, 6, 6]",
        lambda: module.Stage(channels, width, n=n, deep=True),
    )


PASSED = """
block Inner(c, act=relu) {
    in x
    out x -> conv2d(c, 3, padding=1) as conv -> act
}
block Mid(c, act=relu) {
    in x
    out x -> Inner(c, act=act) as first -> Inner(c) as second
}
block Outer(c, act=relu) {
    in x
    out x -> Mid(c, act=act) as mid -> act
}
network Net(slope=0.1) {
    in x: [3, 8, 8]
    out x
        -> Outer(4) as a
        -> Outer(4, act=hardswish) as b
        -> Outer(5, act=leaky_relu(slope)) as c
        -> Mid(5, act=prelu(1, 0.5)) as d
}
"""


def test_a_layer_passed_on_from_the_callers_parameter_is_its_constructor_argument(
    specs: Specs,
) -> None:
    """A block that hands its own layer-valued parameter to a child (`Inner(c, act=act)`)
    takes the layer as a constructor argument too and passes it on, however deep: each
    definition is one class, and the network built with another slope computes what the
    spec elaborated with it does."""
    source = specs.source("passed.arch", PASSED)
    for line, name in ((2, "Inner"), (6, "Mid"), (10, "Outer")):
        assert len(classes_per_definition(source)[(name, f"passed.arch:{line}")]) == 1
    assert "        self.first = Inner(in_channels, c, act=act)\n" in source
    assert "        self.mid = Mid(in_channels, c, act)\n" in source
    assert "Outer(4, 5, act=partial(nn.LeakyReLU, negative_slope=slope))" in source
    spec = specs.path("passed.arch", PASSED)
    ((passed, verdict),) = runtime.selftest(str(spec), "Net")
    assert passed, verdict
    module = specs.module("passed.arch", PASSED)
    assert_computes_as_spec(analysed(spec, slope=0.3), lambda: module.Net(slope=0.3))


@pytest.mark.parametrize(
    ("written", "given"),
    [
        ("relu", RELU),
        ("hardswish", HARDSWISH),
        ("leaky_relu(0.2)", functools.partial(torch.nn.LeakyReLU, negative_slope=0.2)),
    ],
)
def test_the_class_that_passes_a_layer_on_builds_each_layer_as_the_spec_does(
    specs: Specs, written: str, given: Any
) -> None:
    module = specs.module("passed.arch", PASSED)
    assert_block_computes_as_spec(
        specs,
        blocks_of(PASSED),
        f"Outer(4, act={written})",
        "[3, 6, 6]",
        lambda: module.Outer(3, 4, act=given),
    )


NORMS = """
block Unit(c, norm=batchnorm2d) {
    in x
    out x -> conv2d(c, 3, padding=1) as conv -> norm -> relu
}
network Net {
    in x: [3, 8, 8]
    out x
        -> Unit(4) as a
        -> Unit(6, norm=batchnorm2d(eps=0.001)) as b
        -> Unit(6, norm=instancenorm2d(affine=true)) as c
}
"""


@pytest.mark.parametrize(
    ("written", "given"),
    [
        ("batchnorm2d", torch.nn.BatchNorm2d),
        ("batchnorm2d(eps=0.001)", functools.partial(torch.nn.BatchNorm2d, eps=0.001)),
        ("instancenorm2d(affine=true)", functools.partial(torch.nn.InstanceNorm2d, affine=True)),
    ],
)
def test_a_layer_argument_that_needs_an_inferred_size_is_called_with_it(
    specs: Specs, written: str, given: Any
) -> None:
    """A layer whose module needs a size the block infers (`batchnorm2d`'s features) is a
    constructor argument the class calls with that size, from its provenance, as
    torchvision calls `norm_layer(channels)`; the caller passes the module's class, or a
    partial with the arguments the spec bound."""
    source = specs.source("norms.arch", NORMS)
    assert len(classes_per_definition(source)[("Unit", "norms.arch:2")]) == 1
    assert "norm: Callable[..., nn.Module] = nn.BatchNorm2d" in source
    assert "        self.norm1 = norm(c)\n" in source
    assert "Unit(6, 6, norm=partial(nn.InstanceNorm2d, affine=True))" in source
    module = specs.module("norms.arch", NORMS)
    assert_block_computes_as_spec(
        specs,
        blocks_of(NORMS),
        f"Unit(7, norm={written})",
        "[5, 6, 6]",
        lambda: module.Unit(5, 7, norm=given),
    )


AFTER = """
block Head(c, d, n) {
    in x
    out x -> (conv2d(c, 3, padding=1) -> relu) * n -> conv2d(d, 1) as proj
}
block Strided(c, n) {
    in x
    out x -> (conv2d(c, 3, stride=2, padding=1) -> relu) * n -> flatten -> linear(10) as fc
}
network Net {
    in x: [3, 16, 16]
    y = x -> Head(4, 5, 2) as a -> Head(6, 5, 3) as b
    out y -> Strided(4, 1) as c -> relu
}
network Other {
    in x: [3, 16, 16]
    out x -> Strided(4, 2) as c
}
"""


def test_layers_after_a_loop_built_for_its_sizes(specs: Specs) -> None:
    """Layers after the loop whose values follow the sizes its copies give are right for
    any count, 0 included (they take the sizes the instance elaborated aside with no copy
    gives), and a loop whose copies change the sizes those values read keeps a class per
    count."""
    source = specs.source("after.arch", AFTER)
    assert len(classes_per_definition(source)[("Head", "after.arch:2")]) == 1
    module = specs.module("after.arch", AFTER)
    for count in (0, 4):
        assert_block_computes_as_spec(
            specs,
            blocks_of(AFTER),
            f"Head(4, 5, {count})",
            "[3, 8, 8]",
            functools.partial(module.Head, 3, 4, 5, count),
        )
    # copies that halve the map make the `linear` after them another size for each count:
    # two are refused, and none builds what the spec does with none
    with pytest.raises(ValueError, match="no layers known for these arguments"):
        module.Net().c.__class__(4, 16, 16, 4, 2)
    assert_block_computes_as_spec(
        specs,
        blocks_of(AFTER),
        "Strided(4, 0)",
        "[4, 16, 16]",
        lambda: module.Net().c.__class__(4, 16, 16, 4, 0),
    )
    whole = specs.source("after.arch", AFTER, None)
    assert len(classes_per_definition(whole)[("Strided", "after.arch:6")]) == 2


def test_counted_copies_that_change_sizes_keep_a_class_per_count(specs: Specs) -> None:
    """Copies that halve the map copy by copy make the `linear` after them another size for
    each count: the class is not written for any count, and each instance's is right."""
    text = (
        "block Stage(w, n, deep=true) {\n    in x\n    out x -> (\n"
        "        [conv2d(w, 3, stride=2, padding=1) -> relu] * (if deep then n else 0)\n"
        "        -> flatten -> linear(10)\n    ) as body\n}\n"
        "network Net {\n    in x: [3, 16, 16]\n"
        "    out (x -> Stage(4, 2) as a) + (x -> Stage(4, 3) as b)\n}\n"
    )
    source = specs.source("strided.arch", text)
    assert len(classes_per_definition(source)[("Stage", "strided.arch:1")]) == 2
    ((passed, verdict),) = runtime.selftest(str(specs.path("strided.arch", text)), "Net")
    assert passed, verdict


def test_a_repeat_inside_a_repeats_copies_is_part_of_the_outer_loop(specs: Specs) -> None:
    """`((conv2d -> relu) * a -> batchnorm2d) * b`: the outer repeat loops over copies that
    each hold the inner one's, named on from copy to copy; built with another `b`, the class
    computes what the spec elaborated with it does. The inner copies are listed in each outer
    one: the class takes `a` and refuses any other."""
    text = (
        "block N(c, a, b) {\n    in x\n"
        "    out x -> ((conv2d(c, 3, padding=1) -> relu) * a -> batchnorm2d) * b\n}\n"
        "network Net {\n    in x: [3, 8, 8]\n    out x -> N(4, 2, 2) as p -> N(4, 2, 3) as q\n}\n"
    )
    source = specs.source("nested.arch", text)
    assert len(classes_per_definition(source)[("N", "nested.arch:1")]) == 1
    assert 'self.add_module(f"conv{2 * k + 2}", nn.Conv2d(c, c, kernel_size=3, padding=1))' in (
        source
    )
    module = specs.module("nested.arch", text)
    assert_block_computes_as_spec(
        specs, blocks_of(text), "N(4, 2, 5)", "[3, 8, 8]", lambda: module.N(3, 4, 2, 5)
    )
    with pytest.raises(ValueError, match=r"\(a != 2\)"):
        module.N(3, 4, 3, 5)


ZERO = """
block Stage(channels, convs) {
    in x
    out x -> (conv2d(channels, 3, padding=1) -> batchnorm2d -> relu) * convs -> maxpool2d(2) as pool
}
block Head(c, d, n) {
    in x
    out x -> (conv2d(c, 3, padding=1) -> relu) * n -> conv2d(d, 1) as proj
}
network Net {
    in x: [3, 16, 16]
    out x -> Stage(3, 0) as a -> Stage(4, 2) as b -> Head(4, 5, 2) as c -> Head(6, 5, 0) as d
}
"""


def _built_alike(
    specs: Specs,
    text: str,
    module: ModuleType,
    channels: int | tuple[int, int, int],
    block: str,
    /,
    **arguments: Any,
) -> None:
    """The class of ``block``, built with ``arguments``, holds the keys of the spec's network
    that applies the block with them alone and computes what its interpreter does, in eval
    and train mode. The input is `[channels, 8, 8]`, or ``channels`` where it gives all three
    sizes, which the class then takes (a `linear` after a `flatten` reads them)."""
    written = ", ".join(  # a truth value as the spec writes it
        f"{name}={str(value).lower() if isinstance(value, bool) else value}"
        for name, value in arguments.items()
    )
    sizes = channels if isinstance(channels, tuple) else (channels,)
    shape = sizes if len(sizes) == 3 else (*sizes, 8, 8)
    assert_block_computes_as_spec(
        specs,
        blocks_of(text),
        f"{block}({written})",
        f"[{', '.join(map(str, shape))}]",
        lambda: getattr(module, block)(*sizes, **arguments),
    )


@pytest.mark.parametrize(
    ("channels", "block", "arguments"),
    [
        (3, "Stage", dict(channels=5, convs=0)),
        (3, "Stage", dict(channels=5, convs=1)),
        (4, "Stage", dict(channels=4, convs=2)),
        (2, "Stage", dict(channels=6, convs=5)),
        (3, "Head", dict(c=4, d=7, n=0)),
        (3, "Head", dict(c=4, d=7, n=1)),
        (5, "Head", dict(c=6, d=2, n=2)),
        (2, "Head", dict(c=3, d=4, n=5)),
    ],
)
def test_an_instance_whose_loop_made_no_copy_shares_the_class(
    specs: Specs, channels: int, block: str, arguments: dict[str, int]
) -> None:
    """An instance whose count is 0 shares the class of one whose copies the class loops
    over: without them, it is what the class builds for a count of 0. A layer after the loop
    built from the sizes it gives takes them from its input where the count is 0; the class,
    built with each count, computes what the spec elaborated with it does."""
    source = specs.source("zero.arch", ZERO)
    for name, line in (("Stage", 2), ("Head", 6)):
        assert len(classes_per_definition(source)[(name, f"zero.arch:{line}")]) == 1
    assert "self.proj = nn.Conv2d(c if n > 0 else in_channels, d, kernel_size=1)" in source
    module = specs.module("zero.arch", ZERO)
    _built_alike(specs, ZERO, module, channels, block, **arguments)


NESTED = """
block Inner(c, n) {
    in x
    out x -> (conv2d(c, 3, padding=1) -> relu) * n
}
block Outer(c, n) {
    in x
    out x -> Inner(c, n) as inner -> conv2d(7, 1) as proj
}
block Wrap(c, n) {
    in x
    out x -> Inner(c, n) as inner
}
block Top(c, n) {
    in x
    out x -> Wrap(c, n) as wrap -> conv2d(5, 1) as proj
}
network Net {
    in x: [3, 16, 16]
    out x -> Outer(4, 2) as a -> Top(4, 3) as b
}
"""


@pytest.mark.parametrize("network", ["Net", "Zero"])
@pytest.mark.parametrize(
    ("channels", "block", "arguments"),
    [
        (3, "Inner", dict(c=4, n=0)),
        (3, "Outer", dict(c=4, n=0)),
        (3, "Outer", dict(c=4, n=1)),
        (5, "Outer", dict(c=6, n=2)),
        (2, "Top", dict(c=3, n=0)),
        (2, "Top", dict(c=3, n=5)),
        (4, "Wrap", dict(c=3, n=0)),
    ],
)
def test_a_child_whose_loop_gives_other_sizes_at_a_count_of_0(
    specs: Specs, network: str, channels: int, block: str, arguments: dict[str, int]
) -> None:
    """A layer after a child whose loop gives other sizes than it takes follows whether the
    loop made copies, however deep it is: the child, which makes no layer without a copy, is
    a call all the same, so an instance whose count is 0 shares the class (`Zero`), and where
    none has it (`Net`) the class is written as well from its template elaborated aside with
    it. Built with each count, each class computes what the spec elaborated with it does."""
    text = NESTED if network == "Net" else NESTED_ZERO
    source = specs.source("nested.arch", text)
    assert "no layers known" not in source
    for name, line in (("Outer", 6), ("Top", 14)):
        assert len(classes_per_definition(source)[(name, f"nested.arch:{line}")]) == 1
    assert "self.proj = nn.Conv2d(c if n > 0 else in_channels, 7, kernel_size=1)" in source
    module = specs.module("nested.arch", text)
    _built_alike(specs, text, module, channels, block, **arguments)


NESTED_ZERO = NESTED.replace(
    "out x -> Outer(4, 2) as a -> Top(4, 3) as b",
    "out x -> Outer(4, 2) as a -> Outer(5, 0) as c -> Top(4, 3) as b -> Top(4, 0) as d",
)


KEYED = """
block Stage(width, n=2, deep=false) {
    in x
    out x
        -> (
            conv2d(width, 1) as stem
            -> [conv2d(width, 1) -> batchnorm2d -> relu] * (if deep then n else 0)
            -> [conv2d(width, 3, padding=1) -> relu]
            -> batchnorm2d as norm
        ) as body
}
network Net {
    in x: [3, 16, 16]
    out x -> Stage(4, deep=true) as a -> Stage(4, n=3, deep=true) as b -> Stage(5) as c
}
"""


@pytest.mark.parametrize(
    ("channels", "arguments"),
    [
        (3, dict(width=4, n=2, deep=False)),
        (3, dict(width=4, n=0, deep=True)),
        (5, dict(width=6, n=1, deep=True)),
        (4, dict(width=4, n=2, deep=True)),
        (2, dict(width=3, n=5, deep=True)),
    ],
)
def test_counted_copies_beside_a_named_child_are_one_class(
    specs: Specs, channels: int, arguments: dict[str, Any]
) -> None:
    """A chain with a child the spec named keys its children: the named ones by name, the
    copies of a conditional count by their numbers from a comprehension, the children after
    them by their numbers moved by the count. The one class, built with each count, holds
    the spec's keys and computes what the spec elaborated with it does."""
    source = specs.source("keyed.arch", KEYED)
    assert len(classes_per_definition(source)[("Stage", "keyed.arch:2")]) == 1
    assert "for k in range(n if deep else 0)" in source
    assert "str(1 + (n if deep else 0))," in source
    module = specs.module("keyed.arch", KEYED)
    _built_alike(specs, KEYED, module, channels, "Stage", **arguments)


MIXED = """
block Inner(c, d, n) {
    in x
    out x -> conv2d(c, 1) as stem -> (conv2d(d, 3, padding=1) -> relu) * n
}
block Outer(c, d, n) {
    in x
    out x -> Inner(c, d, n) as inner -> conv2d(7, 1) as proj
}
network Net {
    in x: [3, 16, 16]
    out x -> Outer(4, 6, 2) as a -> Outer(5, 6, 0) as b
}
"""


@pytest.mark.parametrize(
    ("channels", "arguments"),
    [
        (3, dict(c=4, d=6, n=0)),
        (3, dict(c=4, d=6, n=1)),
        (5, dict(c=6, d=2, n=2)),
        (2, dict(c=4, d=3, n=5)),
    ],
)
def test_a_layer_after_a_child_follows_whether_its_loop_made_copies(
    specs: Specs, channels: int, arguments: dict[str, int]
) -> None:
    """Where the instances of a class differ in whether their child's loop made copies, a
    layer after the child built for the sizes it gives takes them under the count's test;
    the class, built with each count, computes what the spec elaborated with it does."""
    source = specs.source("mixed.arch", MIXED)
    assert len(classes_per_definition(source)[("Outer", "mixed.arch:6")]) == 1
    assert "self.proj = nn.Conv2d(d if n > 0 else c, 7, kernel_size=1)" in source
    module = specs.module("mixed.arch", MIXED)
    _built_alike(specs, MIXED, module, channels, "Outer", **arguments)


RECOUNTED = """
block Stage(c, n) {
    in x
    y = x -> (conv2d(c, 3, padding=1) -> relu) * n
    out y -> conv2d(c, 1) as proj
}
block Flat(c, n) {
    in x
    out x -> (conv2d(c, 3, padding=1) -> batchnorm2d -> relu) * n -> flatten -> linear(10) as fc
}
block Body(w, n) {
    in x
    out x -> ([conv2d(w, 1) -> batchnorm2d -> relu] * n -> [conv2d(w, 3, padding=1)]) as body
}
block Unit(c) {
    in x
    y = x -> conv2d(c, 3, padding=1) -> relu
    out if x.channels == c then y + x else y
}
block Units(c, n) {
    in x
    out x -> Unit(c) * n -> conv2d(5, 1) as proj
}
block Gated(c, n, norm=true) {
    in x
    out x
        -> (conv2d(c, 3, padding=1) -> (if norm then batchnorm2d else relu)) * n
        -> conv2d(6, 1) as proj
}
block Two(c, d, n, m) {
    in x
    out x
        -> (conv2d(c, 3, padding=1) -> relu) * n
        -> (conv_transpose2d(d, 1) -> gelu) * m
        -> conv2d(5, 1) as proj
}
block Inner(c, d, n) {
    in x
    out x -> conv2d(c, 1) as stem -> (conv2d(d, 3, padding=1) -> relu) * n
}
block Outer(c, d, n) {
    in x
    out x -> Inner(c, d, n) as inner -> conv2d(7, 1) as proj
}
network Net {
    in x: [3, 8, 8]
    y = x
        -> Stage(8, 2) as a
        -> Stage(16, 1) as b
        -> Body(8, 1) as c
        -> Units(4, 2) as d
        -> Units(6, 3) as e
        -> Gated(4, 2) as f
        -> Two(4, 6, 2, 2) as g
        -> Two(4, 7, 3, 1) as h
        -> Outer(4, 6, 1) as i
        -> Outer(5, 6, 3) as j
    out y -> Flat(4, 2) as k
}
network Once {
    in x: [3, 8, 8]
    y = x
        -> Stage(8, 1) as a
        -> Body(6, 1) as c
        -> Gated(4, 1) as f
        -> Two(4, 6, 1, 1) as g
        -> Outer(4, 6, 1) as i
    out y -> Flat(4, 1) as k
}
"""

# (a block of RECOUNTED, the input's channels, its arguments): counts and sizes no instance of
# its class had, in either network
RECOUNTS = [
    *(("Stage", 5, dict(c=6, n=n)) for n in (0, 1, 2, 5)),
    *(("Flat", (2, 6, 6), dict(c=3, n=n)) for n in (0, 1, 2, 5)),
    *(("Body", 3, dict(w=5, n=n)) for n in (0, 1, 2, 5)),
    *(("Gated", 3, dict(c=5, n=n)) for n in (0, 1, 2, 5)),
    *(("Two", 2, dict(c=3, d=5, n=n, m=m)) for n, m in ((0, 0), (0, 2), (2, 0), (1, 5), (5, 1))),
    *(("Outer", 3, dict(c=4, d=5, n=n)) for n in (0, 1, 2, 5)),
]


def _class_source(source: str, name: str) -> str:
    """The source of the generated class ``name``."""
    return next(part for part in source.split("\n\n\nclass ") if part.startswith(f"{name}("))


@pytest.mark.parametrize("network", ["Net", "Once"])
@pytest.mark.parametrize(("block", "channels", "arguments"), RECOUNTS)
def test_a_class_builds_the_counts_its_instances_never_had(
    specs: Specs,
    network: str,
    block: str,
    channels: int | tuple[int, int, int],
    arguments: dict[str, Any],
) -> None:
    """No instance of a class made no copy of its repeat (or of both), or none made two
    (`Once`: every count is 1): the class is written as well from its template elaborated
    aside with those counts, so it refuses none of them, and built with each count and with
    sizes no instance had, it holds the keys and computes what the spec elaborated with those
    arguments does."""
    source = specs.source("recounted.arch", RECOUNTED, network)
    refused = re.findall(
        r"no layers known for these arguments \(([^)]*)\)", _class_source(source, block)
    )
    assert [test for test in refused if re.search(r"\b[nm]\b", test)] == []  # `Gated`: `not norm`
    module = specs.module("recounted.arch", RECOUNTED, network)
    _built_alike(specs, RECOUNTED, module, channels, block, **arguments)


@pytest.mark.parametrize(("channels", "n"), [(3, 0), (4, 0), (4, 1), (2, 4)])
def test_a_class_builds_no_copy_of_a_loop_of_blocks_holding_a_choice(
    specs: Specs, channels: int, n: int
) -> None:
    """`Unit(c) * n` where every instance made copies: without any, the layer after the loop
    takes the class's input, and each copy still takes its residual where it can."""
    assert "no layers known" not in _class_source(
        specs.source("recounted.arch", RECOUNTED), "Units"
    )
    module = specs.module("recounted.arch", RECOUNTED)
    _built_alike(specs, RECOUNTED, module, channels, "Units", c=4, n=n)


def test_values_after_two_loops_follow_both_counts(specs: Specs) -> None:
    """A layer after two loops takes the sizes the last loop that made copies gives, or the
    class's input: the instances elaborated aside make each way the instances did not."""
    source = specs.source("recounted.arch", RECOUNTED)
    assert "nn.Conv2d(d if m > 0 else c if n > 0 else in_channels, 5, kernel_size=1)" in source
    assert "self.proj = nn.Conv2d(d if n > 0 else c, 7, kernel_size=1)" in source


REFUSED = """
block Merge(c, n) {
    in x
    y = x -> (conv2d(c, 3, padding=1) -> relu) * n
    out y + (x -> conv2d(c, 1) as side)
}
network Net {
    in x: [3, 8, 8]
    out x -> Merge(4, 2) as b
}
"""


def test_a_count_the_spec_refuses_stays_refused_with_the_spec_s_rule(specs: Specs) -> None:
    """Without a copy, `y + side` adds a tensor of the input's channels to one of `c`: the
    spec refuses a count of 0 for these arguments, and so does the class, quoting the
    spec's rule; it builds every other count as the spec does."""
    zero = specs.path("refused.arch", REFUSED.replace("Merge(4, 2)", "Merge(4, 0)"))
    _, diagnostics = api.analyse(str(zero))
    (refusal,) = [d for d in diagnostics if d.is_error]
    assert refusal.rule is not None
    module = specs.module("refused.arch", REFUSED)
    with pytest.raises(ValueError, match=re.escape(f"(n < 1): {refusal.rule}")):
        module.Merge(3, 4, 0)
    for n in (1, 3):
        _built_alike(specs, REFUSED, module, 3, "Merge", c=4, n=n)


def test_an_instance_elaborated_aside_leaves_no_trace(specs: Specs) -> None:
    """Writing the classes elaborates instances aside with other counts and takes each out
    again: every node, module, name and diagnostic of the networks is what it was, and an
    instance elaborated aside is as the spec makes it, outside the networks."""
    spec = specs.path("recounted.arch", RECOUNTED)
    networks, diagnostics = api.analyse(str(spec))
    before = ([snapshot(n) for n in networks], [render(d) for d in diagnostics])
    api.render_source(str(spec), networks, diagnostics)
    net = networks[0]
    (looped,) = net.modules["b"].looped
    aside = net.recounted("b", (("b", looped.span, 0),))
    assert aside is not None and aside.module is not None and aside.network is not None
    assert aside.module.looped[0].copies == ()
    assert [n.path for n in aside.network.within("b")] == ["b.proj"]
    assert not any(net.has_node(n.id) for n in aside.network.within("b"))
    assert ([snapshot(n) for n in networks], [render(d) for d in diagnostics]) == before


ASSERTED = """
block Stage(c, n) {
    in x
    assert n >= 1, "a stage needs a convolution"
    y = x -> (conv2d(c, 3, padding=1) -> relu) * n
    out y -> conv2d(c, 1) as proj
}
network Net {
    in x: [3, 8, 8]
    out x -> Stage(8, 2) as a -> Stage(16, 1) as b
}
"""


def test_a_count_bounded_by_the_spec_stays_refused(specs: Specs) -> None:
    """A repeat counted by a parameter is elaborated aside with the parameter given the
    count, so the spec's `assert` on it refuses a count of 0 there as it does in a spec,
    and the class refuses it with the assert's message."""
    zero = specs.path("asserted.arch", ASSERTED.replace("Stage(16, 1)", "Stage(16, 0)"))
    _, diagnostics = api.analyse(str(zero))
    (refusal,) = [d for d in diagnostics if d.is_error]
    assert refusal.message == "assertion failed: a stage needs a convolution"
    module = specs.module("asserted.arch", ASSERTED)
    with pytest.raises(ValueError, match=re.escape(f"(n < 1): {refusal.message}")):
        module.Stage(3, 4, 0)
    for n in (1, 3):
        _built_alike(specs, ASSERTED, module, 5, "Stage", c=4, n=n)


# conditionals whose alternative of layers or stateless steps no instance took: the one
# against no layers, with a bool default of false or true, a test of a number or of a size
UNTAKEN = """block Scale(d, scaled=false) {
    in x
    y = x -> linear(d) as proj
    y = if scaled then y * sqrt(d) else y
    out y -> relu
}

block Shift(d, shifted=false) {
    in x
    y = x -> linear(d) as proj
    y = if shifted then y * 2.0 + 1.0 else y
    out y
}

block Gate(d, gated=false) {
    in x
    y = x -> linear(d) as proj
    y = if gated then (y -> linear(d) as gate) * 0.5 else y
    out y
}

block Plain(d, plain=true) {
    in x
    y = x -> linear(d) as proj
    y = if plain then y else y * 2.0 - 1.0
    out y
}

block Down(c, stride=1) {
    in x
    y = x -> conv2d(c, 3, padding=1) as conv
    y = if stride != 1 then y -> avgpool2d(stride) -> relu else y
    out y
}

block Res(c) {
    in x
    y = x -> conv2d(c, 3, padding=1) as conv
    y = if x.channels != c then (y -> conv2d(c, 1) as proj) * 0.5 else y
    out y
}

network Net {
    in x: [3, 8, 8]
    f = x -> flatten -> linear(8) as stem
    e = f -> Scale(8) as a -> Shift(8) as b -> Gate(8) as c -> Plain(8) as p
    d = x -> Res(3) as r -> Down(4) as d
    out e + (d -> flatten -> linear(8) as head)
}
"""


@pytest.mark.parametrize(
    ("call", "size", "build"),
    [
        ("Scale(6, scaled=true)", "[5]", lambda m: m.Scale(5, 6, scaled=True)),
        ("Scale(6)", "[5]", lambda m: m.Scale(5, 6)),
        ("Shift(6, shifted=true)", "[5]", lambda m: m.Shift(5, 6, shifted=True)),
        ("Gate(6, gated=true)", "[5]", lambda m: m.Gate(5, 6, gated=True)),
        ("Gate(6)", "[5]", lambda m: m.Gate(5, 6)),
        ("Plain(6, plain=false)", "[5]", lambda m: m.Plain(5, 6, plain=False)),
        ("Down(4, stride=2)", "[3, 8, 8]", lambda m: m.Down(3, 4, stride=2)),
        ("Down(4, 4)", "[2, 8, 8]", lambda m: m.Down(2, 4, stride=4)),
        ("Down(4)", "[2, 8, 8]", lambda m: m.Down(2, 4)),
        ("Res(5)", "[3, 8, 8]", lambda m: m.Res(3, 5)),
        ("Res(3)", "[3, 8, 8]", lambda m: m.Res(3, 3)),
    ],
)
def test_an_alternative_of_steps_no_instance_took_is_built(
    specs: Specs, call: str, size: str, build: Callable[[ModuleType], torch.nn.Module]
) -> None:
    """Every instance took the alternative of no layers: the class writes the other, of
    stateless steps, several layers or both, from its instance elaborated aside with an
    argument under which the test goes the other way, and computes what the spec elaborated
    with the arguments that take it does, under the same state_dict keys."""
    assert "no layers known" not in specs.source("untaken.arch", UNTAKEN)
    module = specs.module("untaken.arch", UNTAKEN)
    assert_block_computes_as_spec(specs, blocks_of(UNTAKEN), call, size, lambda: build(module))


# two conditionals of steps no instance took, beside a loop no instance repeated
UNTAKEN_LOOPED = """block Deep(d, n=1, scaled=false, shifted=false) {
    in x
    y = x -> (linear(d) -> relu) * n
    y = if scaled then y * 2.0 + 1.0 else y
    y = if shifted then y - 1.0 else y
    out y
}

network Net {
    in x: [8]
    out x -> Deep(8) as a
}
"""


@pytest.mark.parametrize(
    ("n", "scaled", "shifted"),
    [(1, True, True), (3, True, False), (2, False, True), (0, True, True)],
)
def test_steps_no_instance_took_beside_counts_no_instance_had(
    specs: Specs, n: int, scaled: bool, shifted: bool
) -> None:
    """The class writes both choices' steps from its instance elaborated aside with both
    tests going the other way, and the loop's later copies from that one elaborated aside
    with other counts: built with any of them, it computes what the spec does."""
    assert "no layers known" not in specs.source("deep.arch", UNTAKEN_LOOPED)
    module = specs.module("deep.arch", UNTAKEN_LOOPED)
    flags = f"scaled={str(scaled).lower()}, shifted={str(shifted).lower()}"
    assert_block_computes_as_spec(
        specs,
        blocks_of(UNTAKEN_LOOPED),
        f"Deep(6, {n}, {flags})",
        "[5]",
        lambda: module.Deep(5, 6, n, scaled=scaled, shifted=shifted),
    )


UNBUILT_RESIDUAL = """
block Res(channels, stride) {
    in x
    y = x -> conv2d(channels, 3, stride=stride, padding=1)
    out if x.channels == channels and stride == 1 then y + x else y
}

network N(w=8) {
    in x: [4, 8, 8]
    out x -> Res(w, 1) as a -> Res(w, 1) as b
}
"""


def test_a_test_whose_alternative_another_instance_built_is_no_choice(tmp_path: Path) -> None:
    """`a` cannot add its input back (4 channels against w), `b` does; their class builds
    the residual under its test, so the network's class still takes `w`, and with w=4 `a`
    adds its input back as the spec elaborated with w=4 does."""
    path = tmp_path / "res.arch"
    path.write_text(UNBUILT_RESIDUAL, encoding="utf-8")
    module = runtime.load_source(api.compile_source(str(path)), "archc_unbuilt_residual")
    (network,), _ = api.analyse(str(path), overrides={"w": 4})
    torch.manual_seed(0)
    model = module.N(w=4).double()
    assert model.a.use_add
    inputs = random_inputs(network, sizes_of(network))
    assert compare(network, model, inputs, training=False) == []
