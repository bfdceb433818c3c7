"""Every limit in docs/architecture.md, on both sides of its value, with its own diagnostic.

The limits keep hostile or mistaken specs from exhausting memory or running for minutes; each
test checks that the value itself is accepted, one more is refused with the limit's code, and
the refusal comes quickly.
"""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from archc import api, dims, runtime
from archc.errors import MAX_REPORTED, UsageError, render_all
from archc.ops.spec import MAX_COUNT
from archc.semantics import application, elaborate, expressions, program
from archc.syntax import layout, parse, source

NETWORK = "network N {{\n    in x: {shape}\n    out {out}\n}}\n"
PROMPTLY = 10.0  # seconds; a refusal takes a fraction of this, a hang far more


def codes(tmp_path: Path, text: str, name: str = "spec.arch") -> list[str]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return [d.code for d in api.check(str(path)) if d.is_error]


def network(out: str, shape: str = "[4]") -> str:
    return NETWORK.format(shape=shape, out=out)


def test_the_documented_values() -> None:
    table = (Path(__file__).parents[1] / "docs" / "architecture.md").read_text()
    assert (source.MAX_FILE_BYTES, layout.MAX_BRACKET_DEPTH) == (4 * 1024 * 1024, 64)
    assert (parse.MAX_EXPR_DEPTH, parse.MAX_INT_DIGITS, program.MAX_IMPORT_DEPTH) == (100, 100, 32)
    assert (elaborate.MAX_BLOCK_DEPTH, expressions.MAX_REPEAT, MAX_COUNT) == (64, 10_000, 10_000)
    assert (expressions.MAX_INTEGER, expressions.MAX_STRING) == (2**1024, 65_536)
    assert (application.MAX_NODES, application.MAX_CONNECTIONS) == (250_000, 1_000_000)
    assert (dims.MAX_SIZE, dims.MAX_FLOOR_DEPTH) == (2**40, 32)
    assert (runtime.MAX_BUILD_PARAMS, MAX_REPORTED) == (2**33, 20)
    for code in ("A104", "A105", "A106", "A154", "A202", "A237", "A213", "A223", "A224",
                 "A222", "A309", "A312", "A313"):  # fmt: skip
        assert f"| {code} |" in table, code


# --- syntax --------------------------------------------------------------------------------------


def test_file_size(tmp_path: Path) -> None:
    head = "x = 1\n#"
    at_limit = head + "a" * (source.MAX_FILE_BYTES - len(head) - 1) + "\n"
    assert len(at_limit.encode()) == source.MAX_FILE_BYTES
    assert codes(tmp_path, at_limit) == []
    assert codes(tmp_path, at_limit + "\n") == ["A104"]


def test_bracket_nesting(tmp_path: Path) -> None:
    depth = layout.MAX_BRACKET_DEPTH
    assert codes(tmp_path, "x = " + "(" * depth + "1" + ")" * depth + "\n") == []
    assert codes(tmp_path, "x = " + "(" * (depth + 1) + "1" + ")" * (depth + 1) + "\n") == ["A105"]


def test_expression_nesting(tmp_path: Path) -> None:
    depth = parse.MAX_EXPR_DEPTH
    assert codes(tmp_path, "x = " + "-" * depth + "1\n") == []
    assert codes(tmp_path, "x = " + "-" * (depth + 1) + "1\n") == ["A106"]


def test_integer_literal_digits(tmp_path: Path) -> None:
    digits = parse.MAX_INT_DIGITS
    assert codes(tmp_path, f"x = {'9' * digits}\n") == []
    assert codes(tmp_path, f"x = {'9' * (digits + 1)}\n") == ["A154"]
    # Python itself refuses to convert literals of 4,300 digits and more
    assert codes(tmp_path, f"x = {'9' * 5000}\n") == ["A154"]


# --- loading -------------------------------------------------------------------------------------


def use_chain(tmp_path: Path, files: int) -> Path:
    """file0.arch uses file1.arch, which uses file2.arch, ... up to file{files - 1}.arch."""
    tmp_path.mkdir()
    for index in range(files):
        last = index == files - 1
        text = "block B {\n    in x\n    out x\n}\n" if last else f'use "file{index + 1}.arch"\n'
        (tmp_path / f"file{index}.arch").write_text(text, encoding="utf-8")
    return tmp_path / "file0.arch"


def test_use_depth(tmp_path: Path) -> None:
    deepest = use_chain(tmp_path / "fits", program.MAX_IMPORT_DEPTH)
    assert [d.code for d in api.check(str(deepest)) if d.is_error] == []
    too_deep = use_chain(tmp_path / "deeper", program.MAX_IMPORT_DEPTH + 1)
    (diagnostic,) = [d for d in api.check(str(too_deep)) if d.is_error]
    assert diagnostic.code == "A202" and diagnostic.span is not None
    assert Path(diagnostic.span.file).name == f"file{program.MAX_IMPORT_DEPTH - 1}.arch"


# --- elaboration ---------------------------------------------------------------------------------


def nested_blocks(count: int) -> str:
    """B1 applies B2, which applies B3, ... up to B{count}."""
    blocks = [
        f"block B{i} {{\n    in x\n    out x -> {f'B{i + 1}' if i < count else 'relu'}\n}}\n"
        for i in range(1, count + 1)
    ]
    return "\n".join([*blocks, network("x -> B1")])


def test_block_nesting(tmp_path: Path) -> None:
    depth = elaborate.MAX_BLOCK_DEPTH
    assert codes(tmp_path, nested_blocks(depth)) == []
    path = tmp_path / "deep.arch"
    path.write_text(nested_blocks(depth + 1), encoding="utf-8")
    (diagnostic,) = [d for d in api.check(str(path)) if d.is_error]
    assert diagnostic.code == "A213"
    assert f"nested {depth + 1} blocks deep" in diagnostic.message
    assert "itself" not in diagnostic.message  # not mistaken for recursion


def test_repeat_count(tmp_path: Path) -> None:
    limit = expressions.MAX_REPEAT
    assert codes(tmp_path, network(f"x -> identity * {limit}")) == []
    assert codes(tmp_path, network(f"x -> identity * {limit + 1}")) == ["A223"]


def test_computed_integers_and_strings(tmp_path: Path) -> None:
    fits = "a = 2 ** 64\nb = a ** 16\n" + network("x", "[4]").replace(
        "out x", "assert b > 0\n    out x"
    )
    assert codes(tmp_path, fits) == []
    assert codes(tmp_path, fits.replace("b > 0", "b + 1 > 0")) == ["A224"]
    length = expressions.MAX_STRING // 2
    strings = f's = "{"a" * length}"\nt = s + s\n'
    assert (
        codes(tmp_path, strings + network("x").replace("out x", 'assert t != ""\n    out x')) == []
    )
    assert codes(tmp_path, strings + 'u = t + "a"\n' + network("x")) == ["A224"]


def test_layers_per_network_at_a_lowered_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 250,000 layers take tens of seconds to elaborate, so the boundary is checked at 1,000
    monkeypatch.setattr(application, "MAX_NODES", 1000)
    chain = " -> ".join(["relu"] * 999)  # with the input node, exactly 1,000 layers
    assert codes(tmp_path, network(f"x -> {chain}")) == []
    assert codes(tmp_path, network(f"x -> {chain} -> relu")) == ["A222"]
    # a repeat is refused from its first instance, a written-out chain when it gets there
    assert codes(tmp_path, network("x -> relu * 999")) == []
    assert codes(tmp_path, network("x -> relu * 1000")) == ["A222"]


def test_layers_per_network_at_the_real_limit_are_refused_promptly(tmp_path: Path) -> None:
    start = time.perf_counter()
    assert codes(tmp_path, network("x -> relu * 10000 * 26")) == ["A222"]
    assert time.perf_counter() - start < PROMPTLY


def test_connections_per_network_at_a_lowered_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(application, "MAX_CONNECTIONS", 100)
    assert codes(tmp_path, concatenations(9)) == []  # 9 joins of 9 inputs, then one of 9: 90
    assert codes(tmp_path, concatenations(10)) == ["A222"]  # 110
    # a dense block's joins, 2 + 3 + ... + 14 = 104 inputs, are refused before any is built
    assert codes(tmp_path, network("x -> dense(linear(2) * 11)")) == []  # 77 + 11 linear
    assert codes(tmp_path, network("x -> dense(linear(2) * 13)")) == ["A222"]


def doubling_blocks(levels: int, style: str = "chain") -> str:
    """Blocks `B1` ... `B<levels>`, each applying the one below twice (`B0` is one layer), so
    `B<k>` makes 2**k layers; the network applies the last."""
    apply_twice = {
        "chain": "out x -> B{below} -> B{below}",
        "steps": "y = x -> B{below}\n    out y -> B{below}",
        "branches": "a = B{below}(x)\n    b = x -> B{below}\n    out a + b",
        "bracketed": "out x -> [B{below} -> B{below}]",
    }[style]
    blocks = ["block B0 {\n    in x\n    out x -> relu\n}\n"]
    for level in range(1, levels + 1):
        body = apply_twice.format(below=level - 1)
        blocks.append(f"block B{level} {{\n    in x\n    {body}\n}}\n")
    return "".join(blocks) + network(f"x -> B{levels}")


def test_blocks_that_multiply_at_a_lowered_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(application, "MAX_NODES", 1000)
    assert codes(tmp_path, doubling_blocks(9)) == []  # the input and 512 layers
    assert codes(tmp_path, doubling_blocks(10)) == ["A222"]  # 1,024, refused before any
    (refused,) = api.check(str(tmp_path / "spec.arch"))
    assert refused.message.startswith("block `B10` would make at least 1,024 layers")
    assert refused.with_ == "`B9` applied 2 times * at least 512 layers each"
    assert refused.span is not None
    assert (refused.span.line, refused.span.col) == (47, 14)  # the call in the network


@pytest.mark.parametrize("style", ["chain", "steps", "branches", "bracketed"])
def test_blocks_that_multiply_are_refused_before_any_work(tmp_path: Path, style: str) -> None:
    tracemalloc.start()
    start = time.perf_counter()
    try:
        assert codes(tmp_path, doubling_blocks(40, style)) == ["A222"]
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 50 * 2**20


def test_a_repeat_past_the_layer_limit_is_reported_at_the_repeat(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(application, "MAX_NODES", 1000)
    path = tmp_path / "spec.arch"
    path.write_text(network("x -> relu -> (relu -> relu) * 600"), encoding="utf-8")
    (refused,) = api.check(str(path))
    assert refused.code == "A222"
    assert refused.message.startswith("with this repeat the network would have 1,202 layers")
    assert refused.with_ == "600 copies * 2 layers each = 1,200, and 2 outside the repeat"
    assert refused.span is not None
    assert (refused.span.line, refused.span.col, refused.span.end_col) == (3, 23, 42)


def concatenations(count: int) -> str:
    """``count`` concatenations of ``count`` copies of the input, then one of all of them."""
    copies = ", ".join(["x"] * count)
    joins = "".join(f"    c{i} = concat({copies}, dim=1)\n" for i in range(count))
    last = ", ".join(f"c{i}" for i in range(count))
    return f"network N {{\n    in x: [4]\n{joins}    out concat({last}, dim=1)\n}}\n"


def test_big_blocks_and_dense_blocks_are_refused_promptly(tmp_path: Path) -> None:
    block = "block Big {\n    in x\n    out x -> " + " -> ".join(["relu"] * 30) + "\n}\n"
    dense = "block Layer {\n    in x\n    out x -> conv2d(4, 1)\n}\n"
    start = time.perf_counter()
    assert codes(tmp_path, block + network("x -> Big * 10000")) == ["A222"]
    assert codes(tmp_path, dense + network("x -> dense(Layer * 10000)", "[3, 8, 8]")) == ["A222"]
    assert time.perf_counter() - start < PROMPTLY


def test_recurrent_layers_and_pieces(tmp_path: Path) -> None:
    lstm = network(f"x -> lstm(2, num_layers={MAX_COUNT})", "[T, 4]")
    assert codes(tmp_path, lstm) == []
    assert codes(tmp_path, lstm.replace(f"={MAX_COUNT}", f"={MAX_COUNT + 1}")) == ["A309"]
    chunks = network(f"chunk(x, {MAX_COUNT})[0]", f"[{MAX_COUNT}]")
    assert codes(tmp_path, chunks) == []
    assert codes(tmp_path, network(f"chunk(x, {MAX_COUNT + 1})[0]", f"[{MAX_COUNT + 1}]")) == [
        "A309"
    ]
    assert codes(tmp_path, network("split(x, 1)[0]", f"[{MAX_COUNT + 1}]")) == ["A309"]


# --- sizes ---------------------------------------------------------------------------------------


def test_dimension_size(tmp_path: Path) -> None:
    assert codes(tmp_path, network("x", f"[{2**40}]")) == []
    assert codes(tmp_path, network("x", f"[{2**40 + 1}]")) == ["A312"]
    # a size argument, and a size an op computes
    assert codes(tmp_path, network(f"x -> linear({2**40})")) == []
    assert codes(tmp_path, network(f"x -> linear({2**40 + 1})")) == ["A312"]
    assert codes(tmp_path, network("x -> flatten", f"[{2**20}, {2**20}]")) == []
    assert codes(tmp_path, network("x -> flatten", f"[{2**20}, {2**21}]")) == ["A312"]
    # a symbolic size that no input could keep small
    assert codes(tmp_path, network(f"x -> upsample(scale_factor={2**30}) * 2", "[1, T]")) == [
        "A312"
    ]


def test_symbolic_floor_nesting(tmp_path: Path) -> None:
    depth = dims.MAX_FLOOR_DEPTH
    start = time.perf_counter()
    assert codes(tmp_path, network(f"x -> maxpool2d(2) * {depth}", "[1, H, W]")) == []
    assert codes(tmp_path, network(f"x -> maxpool2d(2) * {depth + 1}", "[1, H, W]")) == ["A313"]
    assert time.perf_counter() - start < PROMPTLY


def test_diagnostics_shown(tmp_path: Path) -> None:
    path = tmp_path / "many.arch"
    outs = "\n".join(["    out x -> linear(0)"] * (MAX_REPORTED + 1))
    path.write_text(f"network N {{\n    in x: [4]\n{outs}\n}}\n", encoding="utf-8")
    diagnostics = api.check(str(path))
    assert [d.code for d in diagnostics] == ["A210"] * (MAX_REPORTED + 1)
    shown = render_all(diagnostics)
    assert shown.count("error[A210]") == MAX_REPORTED and "... and 1 more" in shown


# --- building ------------------------------------------------------------------------------------


def test_parameters_built_on_a_device(tmp_path: Path) -> None:
    spec = tmp_path / "wide.arch"
    spec.write_text(network(f"x -> linear({2**17})", f"[{2**17}]"), encoding="utf-8")
    with pytest.raises(UsageError, match="more than the limit of 8,589,934,592") as refused:
        runtime.build(str(spec))
    assert "max_params=" in str(refused.value) and 'device="meta"' in str(refused.value)
    assert sum(p.numel() for p in runtime.build(str(spec), device="meta").parameters()) > 2**34
    small = tmp_path / "small.arch"
    small.write_text(network("x -> linear(3)"), encoding="utf-8")
    with pytest.raises(UsageError, match="15 parameters"):
        runtime.build(str(small), max_params=14)
    assert sum(p.numel() for p in runtime.build(str(small), max_params=15).parameters()) == 15
    assert runtime.build(str(small), max_params=None) is not None
