"""The copy index `i`: a repeated layer that reads it is built once per copy, with its own
arguments, and the generated module holds each copy as the spec computed it."""

from __future__ import annotations

import functools
import inspect
from pathlib import Path

import pytest
import torch

from archc import api, runtime
from archc.semantics.ir import Network
from tests.oracle import silence_dropout
from tests.test_block_classes import Specs, assert_block_computes_as_spec, assert_computes_as_spec

BLOCK = """
fn drop_rate(index, blocks=8) = 0.2 * index / blocks

block Layer(width, p=0.0) {
    in x
    out (x -> conv2d(width, 3, padding=1) as conv -> stochastic_depth(p)) + x
}
"""


def analysed(tmp_path: Path, network: str) -> tuple[list[Network], list[str]]:
    spec = tmp_path / "spec.arch"
    spec.write_text(BLOCK + network, encoding="utf-8")
    networks, diagnostics = api.analyse(str(spec))
    return networks, [d.code for d in diagnostics]


def arguments(network: Network, name: str) -> dict[str, object]:
    return {m.path: m.args[name] for m in network.modules.values() if m.kind == "block"}


def test_each_copy_reads_its_own_index(tmp_path: Path) -> None:
    (net,), codes = analysed(
        tmp_path,
        """
network Stage {
    in x: [16, 8, 8]
    x = x -> Layer(16, p=drop_rate(i)) * 3 as first
    out x -> Layer(16, p=drop_rate(3 + i)) * 2 as second{i + 1}
}
""",
    )
    assert codes == []
    assert arguments(net, "p") == {
        "first.0": 0.0,
        "first.1": 0.2 * 1 / 8,
        "first.2": 0.2 * 2 / 8,
        "second1": 0.2 * 3 / 8,
        "second2": 0.2 * 4 / 8,
    }


def test_generated_source_builds_each_copy_with_its_arguments(tmp_path: Path) -> None:
    spec = tmp_path / "spec.arch"
    spec.write_text(
        BLOCK + "network Stage {\n    in x: [16, 8, 8]\n"
        "    out x -> Layer(16, p=drop_rate(i)) * 3 as blocks\n}\n",
        encoding="utf-8",
    )
    source = api.compile_source(str(spec))
    # one expression of the index for every copy, as a comprehension writes it
    assert "nn.Sequential(*[Layer(16, p=drop_rate(k)) for k in range(3)])" in source
    stage = runtime.load_source(source, "archc_copy_index").Stage()
    assert [layer.stochastic_depth1.p for layer in stage.blocks] == [0.0, 0.025, 0.05]


TWO_REPEATS = """
network Stage {
    in x: [16, 8, 8]
    out x -> [Layer(16, p=drop_rate(8)) -> Layer(16, p=drop_rate(i)) * 3
              -> Layer(16, p=drop_rate(2 * i)) * 3 -> Layer(16) * 2] as blocks
}
"""


def test_each_repeat_in_a_chain_is_a_comprehension_over_its_own_index(
    tmp_path: Path,
) -> None:
    """Repeats among other children of a chain: each one's copies count their index from
    its own first copy, whatever comes before them."""
    spec = tmp_path / "spec.arch"
    spec.write_text(BLOCK + TWO_REPEATS, encoding="utf-8")
    source = api.compile_source(str(spec))
    assert (
        "Layer(16, p=drop_rate(8)),\n"
        "            *[Layer(16, p=drop_rate(k)) for k in range(3)],\n"
        "            *[Layer(16, p=drop_rate(2 * k)) for k in range(3)],\n"
        "            Layer(16),\n"
        "            Layer(16),\n"
    ) in source
    stage = runtime.load_source(source, "archc_copy_index_runs").Stage()
    rates = [layer.stochastic_depth1.p for layer in stage.blocks]
    assert rates == [0.2, 0.0, 0.025, 0.05, 0.0, 0.05, 0.1, 0.0, 0.0]


def test_a_count_of_zero_builds_no_copy(tmp_path: Path) -> None:
    (net,), codes = analysed(
        tmp_path,
        "network Stage(depth=0) {\n    in x: [16, 8, 8]\n"
        "    out x -> Layer(16, p=drop_rate(i)) * depth\n}\n",
    )
    assert codes == [] and net.param_count == 0


def test_a_layer_in_a_chain_repeated_by_stage(tmp_path: Path) -> None:
    (net,), codes = analysed(
        tmp_path,
        "network Stage {\n    in x: [16, 8, 8]\n"
        "    out x -> (Layer(16) -> Layer(16, p=0.1 * i) * 2) as stage\n}\n",
    )
    assert codes == []
    assert arguments(net, "p") == {"stage.0": 0.0, "stage.1": 0.0, "stage.2": 0.1}


def test_an_i_that_names_something_else_keeps_its_meaning_outside_repeats(
    tmp_path: Path,
) -> None:
    (net,), codes = analysed(
        tmp_path,
        "network Stage(i=2) {\n    in x: [16, 8, 8]\n"
        "    out x -> conv2d(8 * i, 1) -> Layer(16) * i\n}\n",
    )
    assert codes == []
    assert arguments(net, "width") == {"layer1": 16, "layer2": 16}


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("(Layer(16, p=0.1 * i) * 2) * 2", "A180"),  # the inner `i` or the outer one?
        ("Layer(16, p=0.1 * i) * (i + 1)", "A181"),
        ("Layer(16) * (i + 1)", "A181"),
        ("conv2d(16 * i, 1)", "A181"),
    ],
)
def test_the_index_is_refused_where_it_means_nothing_or_two_things(
    tmp_path: Path, written: str, code: str
) -> None:
    _, codes = analysed(
        tmp_path, f"network Stage {{\n    in x: [16, 8, 8]\n    out x -> {written}\n}}\n"
    )
    assert codes == [code]


STAGES = """
block Stage(n, base=0) {
    in x
    out x -> [Layer(16, p=drop_rate(base + i)) * n] as blocks
}

network Net {
    in x: [16, 8, 8]
    out x -> Stage(3) as a -> Stage(4, base=3) as b
}
"""


def test_a_block_counting_copies_that_read_their_index_is_one_class(tmp_path: Path) -> None:
    """Instances of a block whose copies read their index and whose count is a parameter
    share one class that takes the count, and the class builds what the spec builds for
    counts and bases none of them had."""
    specs = Specs(tmp_path)
    source = specs.source("stages.arch", BLOCK + STAGES)
    assert "class Stage2" not in source
    assert "nn.Sequential(*[Layer(16, p=drop_rate(base + k)) for k in range(n)])" in source
    stage = specs.module("stages.arch", BLOCK + STAGES).Stage
    blocks = BLOCK + STAGES.split("network Net")[0]
    for count, base in ((5, 2), (1, 0), (2, 7)):
        rates = [layer.stochastic_depth1.p for layer in stage(count, base).blocks]
        assert rates == [0.2 * (base + k) / 8 for k in range(count)]
        call = f"Stage({count}, base={base})"
        built = functools.partial(_silenced, stage, count, base)
        assert_block_computes_as_spec(specs, blocks, call, "[16, 8, 8]", built)


def _silenced(cls: type[torch.nn.Module], *args: object) -> torch.nn.Module:
    """The module built with its dropout off, as the interpreter runs it in training."""
    model = cls(*args)
    silence_dropout(model)
    return model


LOOPED = """
block Stage(n, base=0) {
    in x
    out x -> Layer(16, p=drop_rate(base + i)) * n
}

network Net {
    in x: [16, 8, 8]
    out x -> Stage(3) as a -> Stage(4, base=3) as b
}
"""


def test_copies_in_a_block_body_that_read_their_index_are_one_loop(tmp_path: Path) -> None:
    """An unnamed repeat in a block's own body, its copies reading their index: one class
    whose loop registers each copy with its own argument, for any count."""
    specs = Specs(tmp_path)
    source = specs.source("looped.arch", BLOCK + LOOPED)
    assert "class StageLayer4" not in source
    assert (
        "        for k in range(n):\n"
        '            self.add_module(f"layer{k + 1}", Layer(16, p=drop_rate(base + k)))\n'
    ) in source
    stage = specs.module("looped.arch", BLOCK + LOOPED).Stage
    blocks = BLOCK + LOOPED.split("network Net")[0]
    for count, base in ((5, 2), (1, 0)):
        model = stage(count, base)
        rates = [model.get_submodule(f"layer{k + 1}").stochastic_depth1.p for k in range(count)]
        assert rates == [0.2 * (base + k) / 8 for k in range(count)]
        call = f"Stage({count}, base={base})"
        built = functools.partial(_silenced, stage, count, base)
        assert_block_computes_as_spec(specs, blocks, call, "[16, 8, 8]", built)


OPS = """
block Drop(n) {
    in x
    out x -> [dropout(0.1 * i) -> relu] * n
}

block Chain(n, w) {
    in x
    out x -> (linear(w) -> dropout(0.05 * (i + 1)) -> relu) * n
}

network Net(n=3, w=8) {
    in x: [16]
    out x -> Drop(n) as d -> Chain(n, w) as c
}
"""


def _rates(model: torch.nn.Module) -> list[float]:
    return [m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)]


def test_copies_of_ops_that_read_their_index_are_one_loop(tmp_path: Path) -> None:
    """A repeat of ops, or of a chain of ops, whose arguments read the index: one loop over
    the count whose layers take the expression of it every copy shares, so that the class
    takes the count and builds what the spec builds for counts no instance had."""
    specs = Specs(tmp_path)
    source = specs.source("ops.arch", OPS)
    assert (
        '            self.add_module(f"seq{k + 1}", nn.Sequential(nn.Dropout(p=0.1 * k), nn.ReLU()))\n'
    ) in source
    assert 'self.add_module(f"dropout{k + 1}", nn.Dropout(p=0.05 * (k + 1)))' in source
    module = specs.module("ops.arch", OPS)
    assert list(inspect.signature(module.Drop).parameters) == ["n"]
    assert list(inspect.signature(module.Chain).parameters) == ["in_features", "n", "w"]
    blocks = OPS.split("network Net")[0]
    for count, width in ((5, 4), (1, 6), (2, 3)):
        drop = functools.partial(_silenced, module.Drop, count)
        assert _rates(module.Drop(count)) == [0.1 * k for k in range(count)]
        assert_block_computes_as_spec(specs, blocks, f"Drop({count})", "[16]", drop)
        chain = functools.partial(_silenced, module.Chain, 16, count, width)
        assert _rates(module.Chain(16, count, width)) == [0.05 * (k + 1) for k in range(count)]
        assert_block_computes_as_spec(specs, blocks, f"Chain({count}, {width})", "[16]", chain)


SIZES = """
block One(n, w) {
    in x
    out x -> [linear(w * (i + 1))] * n
}

block L(w) {
    in x
    out x -> linear(w) -> relu
}

block Blk(n, w) {
    in x
    out x -> [L(w * (i + 1))] * n
}

block After(n, w) {
    in x
    out x -> (linear(w * (i + 1)) -> layernorm) * n -> linear(5) as head
}

block Nest(m, n, w) {
    in x
    out x -> Blk(n, w) * m
}

network Net(n=3, w=8) {
    in x: [16]
    out x -> One(n, w) as b -> Blk(n, w) as c -> After(n, w) as a -> Nest(2, n, w) as e
}
"""


def test_sizes_that_follow_the_index_are_one_loop(tmp_path: Path) -> None:
    """Copies whose widths read the index, so that each later copy takes the width the one
    before gives: the later copies' sizes are written from the expression of the index they
    share, the first copy takes the class's input, and what reads the repeat's output sees
    its sizes in terms of the count, so that every class builds the spec for any count."""
    specs = Specs(tmp_path)
    source = specs.source("sizes.arch", SIZES)
    assert "nn.Sequential(nn.Linear(in_features if k == 0 else w * k, w * (k + 1)))" in source
    assert "nn.Sequential(L(in_features if k == 0 else w * k, w * (k + 1)))" in source
    assert "self.head = nn.Linear(w * n if n > 0 else in_features, 5)" in source
    assert 'self.add_module(f"blk{k + 1}", Blk(in_features if k == 0 else w * n, n, w))' in source
    assert "self.c = Blk(w * n, n, w)" in source
    module = specs.module("sizes.arch", SIZES)
    for name in ("One", "Blk", "After"):
        assert list(inspect.signature(getattr(module, name)).parameters) == [
            "in_features",
            "n",
            "w",
        ]
    blocks = SIZES.split("network Net")[0]
    for count, width in ((5, 4), (1, 6), (2, 3)):
        for name in ("One", "Blk", "After"):
            built = functools.partial(getattr(module, name), 16, count, width)
            call = f"{name}({count}, {width})"
            assert_block_computes_as_spec(specs, blocks, call, "[16]", built)
        nest = functools.partial(module.Nest, 16, 3, count, width)
        assert_block_computes_as_spec(specs, blocks, f"Nest(3, {count}, {width})", "[16]", nest)
    other = SIZES.replace("network Net(n=3, w=8)", "network Net(n=5, w=2)")
    assert_computes_as_spec(specs.network(other), lambda: module.Net(5, 2))


LISTED = """
block Down(n) {
    in x
    out x -> [conv2d(4 * (i + 1), 3, stride=2, padding=1)] * n -> flatten -> linear(10)
}

network Net(n=3) {
    in x: [3, 16, 16]
    out x -> [conv2d(4 * (i + 1), 3, stride=2, padding=1)] * n as stack -> Down(n) as d
}
"""


def test_copies_listed_for_their_count_refuse_any_other(tmp_path: Path) -> None:
    """Copies that no expression of the index writes (the map halves from copy to copy, and
    a layer after them is built for the last one's size) are listed, as the spec built
    them: the class still takes the count, and refuses any other rather than build the
    listed copies for it."""
    specs = Specs(tmp_path)
    module = specs.module("listed.arch", LISTED)
    assert list(inspect.signature(module.Down).parameters)[-1] == "n"
    assert list(inspect.signature(module.Net).parameters) == ["n"]
    with pytest.raises(ValueError, match=r"n != 3"):
        module.Down(3, 16, 16, 4)
    with pytest.raises(ValueError, match=r"Net: .*\(n != 3\)"):
        module.Net(2)
    assert_computes_as_spec(specs.network(LISTED), lambda: module.Net(3))
