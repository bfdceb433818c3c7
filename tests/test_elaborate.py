"""Elaboration: blocks, naming, repetition, combinators, imports, errors without cascades."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from archc import api
from archc.dims import BATCH, Sym
from archc.errors import Diagnostic, UsageError
from archc.semantics.ir import Network, dump
from tests.conftest import REFERENCE, ROOT


def analyse(
    tmp_path: Path, text: str, **options: object
) -> tuple[list[Network], list[Diagnostic]]:
    spec = tmp_path / "spec.arch"
    spec.write_text(text)
    networks, diagnostics = api.analyse(str(spec), **options)  # type: ignore[arg-type]
    for network in networks:
        network.verify()
    return networks, diagnostics


def one(tmp_path: Path, text: str, **options: object) -> Network:
    networks, diagnostics = analyse(tmp_path, text, **options)
    errors = [d for d in diagnostics if d.is_error]
    assert not errors, errors
    (network,) = networks
    return network


def codes(diagnostics: list[Diagnostic]) -> list[str]:
    return [d.code for d in diagnostics]


BLOCKS = """
block Unit(c, stride=1) {
    in x
    out x -> conv2d(c, 3, stride=stride, padding=1, bias=false) as conv -> batchnorm2d as bn -> relu
}
"""


def test_block_instances_are_named_by_as_and_index(tmp_path: Path) -> None:
    network = one(
        tmp_path,
        BLOCKS
        + """
network N {
    in x: [3, 32, 32]
    y = x -> Unit(8) as stem -> (Unit(16, stride=2) -> Unit(16)) as stage -> Unit(4) * 2 as tail
    out y
}
""",
    )
    params = network.parameters()
    assert list(params)[:3] == ["stem.conv.weight", "stem.bn.weight", "stem.bn.bias"]
    assert "stage.0.conv.weight" in params and "stage.1.bn.bias" in params
    assert "tail.0.conv.weight" in params and "tail.1.conv.weight" in params
    assert params["stage.0.conv.weight"] == (16, 8, 3, 3)
    assert network.type_of(network.outputs["y"]).shape == (BATCH, 4, 16, 16)
    assert network.modules["tail"].repeat == 2
    assert network.modules["stage.0"].args == {"c": 16, "stride": 2}


def test_unnamed_layers_get_numbered_names_that_avoid_explicit_ones(tmp_path: Path) -> None:
    network = one(
        tmp_path,
        """
network N {
    in x: [3, 8, 8]
    y = x -> conv2d(4, 1) -> conv2d(4, 1) as conv1 -> conv2d(4, 1)
    out y
}
""",
    )
    paths = [n.path for n in network.nodes() if n.kind == "op"]
    assert paths == ["conv2", "conv1", "conv3"]


def test_layers_are_values_composed_with_arrows(tmp_path: Path) -> None:
    network = one(
        tmp_path,
        """
network N {
    in x: [3, 8, 8]
    body = conv2d(4, 3, padding=1) -> relu
    features = (body -> body) as features
    out x -> features
}
""",
    )
    assert [n.path for n in network.nodes() if n.kind == "op"] == [
        "features.0",
        "features.1",
        "features.2",
        "features.3",
    ]


def test_residual_and_dense_combinators(tmp_path: Path) -> None:
    network = one(
        tmp_path,
        """
block Layer(growth) {
    in x
    out x -> batchnorm2d as norm -> relu -> conv2d(growth, 3, padding=1, bias=false) as conv
}
network N {
    in x: [16, 8, 8]
    y = x -> residual(conv2d(16, 3, padding=1) -> relu) -> dense(Layer(4) * 3) as stage
    out y
}
""",
    )
    assert network.type_of(network.outputs["y"]).shape == (BATCH, 16 + 3 * 4, 8, 8)
    concat_inputs = [len(n.inputs) for n in network.nodes() if n.op == "concat"]
    assert concat_inputs == [2, 3, 4]  # each layer sees all earlier outputs, then all together
    assert network.parameters()["stage.2.conv.weight"] == (4, 16 + 2 * 4, 3, 3)


def test_call_with_tensors_applies_immediately(tmp_path: Path) -> None:
    network = one(
        tmp_path,
        """
network N {
    in a: [4, 8, 8]
    in b: [6, 8, 8]
    out cat = concat(a, relu(b), dim=1)
}
""",
    )
    assert network.type_of(network.outputs["cat"]).shape == (BATCH, 10, 8, 8)


def test_shape_queries_conditionals_and_arithmetic(tmp_path: Path) -> None:
    network = one(
        tmp_path,
        """
block Proj(c) {
    in x
    out if x.channels != c then x -> conv2d(c, 1) as proj else x
}
network N(width=8) {
    in x: [3, 8, 8]
    y = x -> Proj(width) -> Proj(width) -> conv2d(width * 2 // 4 + x.shape[-1] % 3, 1)
    out y
}
""",
    )
    assert network.type_of(network.outputs["y"]).shape == (BATCH, 4 + 8 % 3, 8, 8)
    assert [n.path for n in network.nodes() if n.op == "conv2d"] == ["proj1.proj", "conv1"]


def test_symbolic_dimensions_stay_symbolic(tmp_path: Path) -> None:
    network = one(
        tmp_path,
        """
network Tagger {
    in tokens: int64[T]
    out tokens -> embedding(100, 16) -> lstm(32, bidirectional=true) -> linear(5)
}
""",
    )
    shape = network.type_of(network.outputs["output"]).shape
    assert shape[0] is BATCH and isinstance(shape[1], Sym) and shape[2] == 5
    assert isinstance(network.macs, Sym)
    assert network.param_count == 100 * 16 + 2 * 4 * 32 * (16 + 32 + 2) + (64 * 5 + 5)


def test_several_networks_and_overrides(tmp_path: Path) -> None:
    text = """
network G(z=8) {
    in noise: [z]
    out noise -> linear(16)
}
network D {
    in image: [16]
    out image -> linear(1)
}
"""
    networks, _ = analyse(tmp_path, text, overrides={"z": 4})
    assert [n.name for n in networks] == ["G", "D"]
    assert networks[0].param_count == 4 * 16 + 16
    only, _ = analyse(tmp_path, text, network="D")
    assert [n.name for n in only] == ["D"]
    with pytest.raises(UsageError, match="did you mean `z`"):
        analyse(tmp_path, text, overrides={"zz": 4})


def test_tied_parameters_count_once(tmp_path: Path) -> None:
    network = one(
        tmp_path,
        """
network LM {
    in tokens: int64[T]
    x = tokens -> embedding(50, 8) as wte
    tie head.weight = wte.weight
    out x -> linear(50, bias=false) as head
}
""",
    )
    assert network.param_count == 50 * 8


def test_imports_are_relative_to_the_importing_file(tmp_path: Path) -> None:
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "blocks.arch").write_text(BLOCKS)
    network = one(
        tmp_path, 'use "lib/blocks.arch"\nnetwork N {\n in x: [3, 8, 8]\n out x -> Unit(4)\n}\n'
    )
    assert network.param_count == 4 * 3 * 9 + 8


def test_import_cycle_and_missing_file(tmp_path: Path) -> None:
    (tmp_path / "a.arch").write_text('use "spec.arch"\n')
    _, diagnostics = analyse(tmp_path, 'use "a.arch"\nuse "missing.arch"\n')
    assert codes(diagnostics) == ["A201", "A203"]
    assert "spec.arch -> a.arch -> spec.arch" in diagnostics[0].message


def test_independent_errors_are_all_reported_and_do_not_cascade(tmp_path: Path) -> None:
    _, diagnostics = analyse(
        tmp_path,
        """
network N {
    in x: [3, 8, 8]
    a = x -> conv2d(8, 11)
    b = a -> relu -> linear(10)
    c = x -> conv2d(8, 3, strid=2)
    d = x -> conv2dd(8, 3)
    out x -> conv2d(8, 3)
}
""",
    )
    assert codes(diagnostics) == ["A301", "A208", "A205"]
    assert diagnostics[1].help == "did you mean `stride`?"
    assert diagnostics[2].help is not None and "`conv2d`" in diagnostics[2].help


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("out x -> conv2d(8)", "A211"),
        ("out x -> conv2d(8, 3, 1, 0, 5)", "A207"),
        ("out x -> conv2d(8, 3.5)", "A210"),
        ("out x -> conv2d(8, -3)", "A210"),
        ("out x -> conv2d(x, 3)", "A311"),
        ("out x -> conv2d(8, x)", "A210"),
        ("out x -> Block(1)", "A205"),
        ("n = 3 // 0\n    out x", "A224"),
        ("n = (3).channels\n    out x", "A226"),
        ("out x -> relu * 1000000000", "A223"),
        ('assert 1 > 2, "too small"\n    out x', "A221"),
        ("y = x -> conv2d(8, 1) as a -> conv2d(8, 1) as a\n    out y", "A212"),
        ("out x -> batchnorm1d", "A304"),
        ("out x -> add", "A311"),
        ("out x + (x -> conv2d(4, 1))", "A303"),
    ],
)
def test_error_codes(tmp_path: Path, body: str, code: str) -> None:
    _, diagnostics = analyse(tmp_path, f"network N {{\n    in x: [3, 8, 8]\n    {body}\n}}\n")
    assert code in codes(diagnostics), diagnostics


def test_recursive_block_is_reported(tmp_path: Path) -> None:
    _, diagnostics = analyse(
        tmp_path,
        """
block A { in x
 out x -> B }
block B { in x
 out x -> A }
network N {
    in x: [3]
    out x -> A
}
""",
    )
    assert codes(diagnostics) == ["A213"]
    assert "A -> B -> A" in diagnostics[0].message
    assert any("inside block `A`" in note for note in diagnostics[0].notes)


def test_unused_tensor_is_a_warning(tmp_path: Path) -> None:
    _, diagnostics = analyse(tmp_path, "network N {\n in x: [3]\n y = x -> relu\n out x\n}\n")
    assert [(d.code, d.severity) for d in diagnostics] == [("A217", "warning")]


def test_a_tensor_read_by_the_alternative_not_taken_is_used(tmp_path: Path) -> None:
    # ShuffleNet's unit keeps half its input at stride 1 and reads all of it at stride 2: the
    # halves are read in the class whatever the instance's stride
    text = """
block Unit(stride) {
    in x
    first, second = x -> chunk(2, dim=1)
    kept = if stride == 1 then first else x -> conv2d(4, 3, stride=stride, padding=1) as branch1
    y = (if stride == 1 then second else x) -> conv2d(4, 1, stride=stride) as branch2
    out concat(kept, y, dim=1)
}
network N {
    in x: [8, 8, 8]
    unread = x -> relu
    out x -> Unit(2) -> Unit(1)
}
"""
    _, diagnostics = analyse(tmp_path, text)
    assert [(d.code, d.message) for d in diagnostics] == [("A217", "`unread` is never used")]


def test_strict_turns_padding_only_tiling_into_errors(tmp_path: Path) -> None:
    text = "network N {\n in x: [3, 224, 224]\n out x -> conv2d(64, 11, stride=4, padding=2)\n}\n"
    _, relaxed = analyse(tmp_path, text)
    _, strict = analyse(tmp_path, text, strict=True)
    assert relaxed == [] and [d.severity for d in strict] == ["error"]


def test_ir_dump_is_one_line_per_node(tmp_path: Path) -> None:
    network = one(
        tmp_path,
        "network N {\n in x: [3, 8, 8]\n out y = x -> conv2d(4, 3, padding=1) -> relu\n}\n",
    )
    assert dump(network) == (
        "network N(\n"
        "  %1: (N, 3, 8, 8)  # in x\n"
        ") {\n"
        "  %2: (N, 4, 8, 8) = conv2d[out_channels=4, kernel_size=3, padding=1](%1)  # conv1, 112 params\n"
        "  %3: (N, 4, 8, 8) = relu(%2)  # relu1\n"
        "  out y=%3\n"
        "}\n"
    )


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_resnets_match_torchvision_exactly(name: str) -> None:
    reference = json.loads((REFERENCE / "reference.json").read_text())["models"][name]
    networks, diagnostics = api.analyse(str(ROOT / "specs" / f"{name}.arch"))
    assert not [d for d in diagnostics if d.is_error]
    (network,) = networks
    network.verify()
    assert network.param_count == reference["params"]
    assert network.buffer_count == reference["buffers"]
    output = network.type_of(network.outputs["logits"])
    assert [1, *output.shape[1:]] == reference["output_shape"]
    keys = (REFERENCE / "torchvision_state_dicts" / f"{name}.txt").read_text().splitlines()
    expected = {
        k: tuple(int(d) for d in s.strip("[]").split(",") if d.strip())
        for k, s in (line.split(" ", 1) for line in keys)
    }
    assert {**network.parameters(), **network.buffers()} == expected


def test_static_path_never_imports_torch() -> None:
    """Nor anything else `check` and `summary` do not use: a cold check must start fast."""
    code = (
        "import sys\n"
        "from archc.cli import main\n"
        "for command in (['check', 'specs/resnet50.arch'], ['summary', 'specs/resnet50.arch', '--json']):\n"
        "    assert main(command) == 0\n"
        "unneeded = ('torch', 'networkx', 'graphviz', 'archc.backends.torch', 'archc.explain', 'archc.syntax.fmt')\n"
        "loaded = [m for m in unneeded if m in sys.modules]\n"
        "assert not loaded, f'imported {loaded}'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_summary_json_contract(capsys: pytest.CaptureFixture[str]) -> None:
    from archc.cli import main

    assert (
        main(
            [
                "summary",
                str(ROOT / "specs" / "resnet50.arch"),
                "--json",
                "--expect",
                "params=25557032",
            ]
        )
        == 0
    )
    document = json.loads(capsys.readouterr().out)
    (network,) = document["networks"]
    assert network["params"] == 25557032 and network["buffers"] == 53173
    assert network["inputs"] == {"image": ["N", 3, 224, 224]}
    assert network["outputs"] == {"logits": ["N", 1000]}
    layer = network["layers"][0]
    assert set(layer) == {"path", "op", "output_shape", "params", "macs", "connected_to"}
    adds = [row for row in network["layers"] if row["op"] == "add"]
    assert adds and all(len(row["connected_to"]) == 2 for row in adds)


def test_expect_failure_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    from archc.cli import main

    assert (
        main(["summary", str(ROOT / "specs" / "resnet18.arch"), "--expect", "params=11.7M±0.1%"])
        == 0
    )
    assert main(["summary", str(ROOT / "specs" / "resnet18.arch"), "--expect", "params=11M"]) == 1
    assert "expected params=11M" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("spec", "size"),
    [("resnet50", 427), ("resnet18", 435), ("vgg16", 212), ("alexnet", 195)],
)
def test_receptive_field_of_classic_networks(spec: str, size: int) -> None:
    from archc.backends.receptive import receptive_field

    (network,), _ = api.analyse(str(ROOT / "specs" / f"{spec}.arch"))
    field = receptive_field(network)
    assert field is not None and field.size == (size, size) and field.stride == (32, 32)


def test_receptive_field_grows_with_stride_and_dilation(tmp_path: Path) -> None:
    from archc.backends.receptive import receptive_field

    network = one(
        tmp_path,
        """
network N {
    in x: [3, 64, 64]
    a = x -> conv2d(8, 3, stride=2, padding=1) -> conv2d(8, 3, padding=1)
    b = a -> conv2d(8, 3, padding=2, dilation=2)
    out b + a
}
""",
    )
    field = receptive_field(network)
    # 1 + 2*1 = 3, jump 2; + 2*2 = 7; dilated: + 2*2*2 = 15
    assert field is not None and field.size == (15, 15) and field.stride == (2, 2)
