"""The layer reference is generated from the op registry and says what the ops do: the committed
docs/layers.md is the generated text, every op with state documents its parameter formula, and
every example runs through the whole pipeline to the shapes and counts the docs print."""

from __future__ import annotations

from pathlib import Path

import pytest

from archc import api, ops
from archc.backends import reference
from archc.backends.reference import Example, WorkedExample
from archc.ops.spec import Op
from tests.conftest import ROOT

LAYERS_DOC = ROOT / "docs" / "layers.md"
ALL_OPS = ops.all_ops()

# Configurations beyond each op's documented example that hold parameters or buffers, so that
# an op whose example happens to be stateless is still held to its formula.
STATEFUL: list[tuple[str, Example]] = [
    ("conv2d", Example((8, 3), {"bias": False})),
    ("instancenorm1d", Example(kwargs={"affine": True}, inputs=((16, 10),))),
    ("instancenorm3d", Example(kwargs={"track_running_stats": True}, inputs=((8, 4, 4, 4),))),
    ("layernorm", Example(kwargs={"bias": False}, inputs=((10, 32),))),
    ("lstm", Example((16,), {"proj_size": 8, "num_layers": 2}, inputs=((10, 4),))),
    ("prelu", Example()),
    ("attention", Example((4,), {"kv_heads": 2}, inputs=((10, 32), (6, 16)))),
]


def _samples(op: Op) -> list[WorkedExample]:
    return [reference.work(op)] + [
        reference.work(op, e) for name, e in STATEFUL if name == op.name
    ]


def test_docs_are_current() -> None:
    generated = reference.render_layers_markdown()
    assert LAYERS_DOC.read_text(encoding="utf-8") == generated, (
        f"docs/layers.md is out of date with the op registry; regenerate it with "
        f"`{reference.REGENERATE}`"
    )


def test_generation_is_deterministic() -> None:
    assert reference.render_layers_markdown() == reference.render_layers_markdown()


@pytest.mark.parametrize("op", ALL_OPS, ids=lambda op: op.name)
def test_stateful_ops_state_their_parameter_formula(op: Op) -> None:
    stateful = [s for s in _samples(op) if s.params or s.buffers]
    if stateful:
        assert op.params_rule != "none", (
            f"{op.name} holds {stateful[0].params} parameters and {stateful[0].buffers} buffer "
            f"values for `{stateful[0].expression}`, but its params_rule is 'none'"
        )
    else:
        assert op.params_rule == "none", (
            f"{op.name} has a params_rule but no parameters or buffers in any sample; "
            "add a sample to STATEFUL that shows them"
        )


def test_every_op_and_alias_is_documented() -> None:
    text = reference.render_layers_markdown()
    for op in ALL_OPS:
        assert f"### `{op.name}`" in text
        for alias in op.aliases:
            assert f"`{alias}`" in text


def _network(worked: WorkedExample) -> str:
    lines = [f"    in {name}: {type_}" for name, type_ in worked.inputs]
    lines += [f"    {name} = {written}" for name, written in worked.made]
    results = [f"y{i}" for i in range(len(worked.outputs))]
    lines.append(f"    {', '.join(results)} = {worked.expression}")
    lines += [f"    out {name}" for name in results]
    return "network Example {\n" + "\n".join(lines) + "\n}\n"


@pytest.mark.parametrize("op", ALL_OPS, ids=lambda op: op.name)
def test_examples_elaborate_to_what_the_docs_say(op: Op, tmp_path: Path) -> None:
    worked = reference.work(op)
    spec = tmp_path / "example.arch"
    spec.write_text(_network(worked), encoding="utf-8")
    networks, diagnostics = api.analyse(str(spec))
    assert not diagnostics, [d.message for d in diagnostics]
    (network,) = networks
    outputs = [network.type_of(ref) for ref in network.outputs.values()]
    shown = tuple(reference.spec_type(t.shape[1:], t.dtype) for t in outputs if t is not None)
    assert shown == worked.outputs
    assert network.param_count == worked.params
    assert network.buffer_count == worked.buffers


def test_signature_lists_positional_arguments_first() -> None:
    conv2d = ops.lookup("conv2d")
    assert conv2d is not None
    assert reference.signature(conv2d) == (
        "conv2d(out_channels, kernel_size, stride=1, padding=0, *, dilation=1, groups=1, "
        'bias=true, padding_mode="zeros")'
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("relu", "relu(inplace=false)"),
        ("sigmoid", "sigmoid()"),
        ("reshape", "reshape(*shape)"),
        ("unflatten", "unflatten(dim, *sizes)"),
        (
            "lstm",
            "lstm(hidden_size, num_layers=1, *, bias=true, dropout=0.0, "
            'bidirectional=false, output="sequence", return_state=false, proj_size=0)',
        ),
    ],
)
def test_signatures(name: str, expected: str) -> None:
    op = ops.lookup(name)
    assert op is not None
    assert reference.signature(op) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "true"),
        (False, "false"),
        (None, "none"),
        ("zeros", '"zeros"'),
        ((3,), "(3,)"),
        ((1, 7), "(1, 7)"),
        (1e-5, "1e-05"),
        (-1, "-1"),
    ],
)
def test_values_are_written_as_in_a_spec(value: object, expected: str) -> None:
    assert reference.spec_value(value) == expected


@pytest.mark.parametrize(
    ("op", "arg", "words", "constraint"),
    [
        ("conv2d", "padding", 'int, tuple of int, "same" or "valid"', "≥ 0"),
        ("conv2d", "out_channels", "int", "> 0"),
        ("dropout", "p", "float", "in [0.0, 1.0]"),
        ("adaptive_avgpool2d", "output_size", "int or tuple of (int or none)", "> 0"),
        ("adaptive_avgpool1d", "output_size", "int or (int,)", "> 0"),
        ("amax", "dim", "int or tuple of int", "at least 1 item"),
        ("batchnorm2d", "momentum", "float or none", "in [0.0, 1.0]"),
    ],
)
def test_argument_types_in_words(op: str, arg: str, words: str, constraint: str) -> None:
    found = ops.lookup(op)
    assert found is not None
    spec = found.Args.fields[arg]
    assert reference.type_words(spec.annotation) == words
    assert reference.constraint_words(spec) == constraint


def test_a_bad_example_names_the_op_and_the_table() -> None:
    conv2d = ops.lookup("conv2d")
    assert conv2d is not None
    with pytest.raises(ValueError, match=r"(?s)`conv2d`.*EXAMPLES"):
        reference.work(conv2d, Example((8,)))


def test_code_spans_survive_backticks_in_rules() -> None:
    pool = ops.lookup("adaptive_avgpool2d")
    assert pool is not None
    shape_line = next(line for line in reference.render_op(pool) if line.startswith("- Shape:"))
    assert shape_line == f"- Shape: `` {pool.rule} ``"
