"""Summaries: the table a person reads (fitted to the terminal, sizes in MB, counts explained)
and the JSON a tool reads, which only ever gains fields."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from archc import api, cli
from archc.backends import summary
from archc.backends.summary import DTYPES, memory, render_table, to_json
from archc.errors import UsageError
from archc.semantics.ir import Network
from tests.conftest import ROOT, check_golden

GOLDEN = ROOT / "tests" / "golden"
# One network a line of arithmetic checks: 8 -> linear 16 -> relu -> linear 4.
MLP = "network Mlp {\n    in x: [8]\n    out y = x -> linear(16) -> relu -> linear(4)\n}\n"
MLP_PARAMS = 8 * 16 + 16 + 16 * 4 + 4
MLP_OUTPUTS = 16 + 16 + 4  # elements per sample


def network_of(spec: str | Path, **overrides: object) -> Network:
    networks, diagnostics = api.analyse(str(spec), overrides=dict(overrides))
    assert not [d for d in diagnostics if d.is_error], diagnostics
    return networks[-1]


@pytest.fixture
def mlp(tmp_path: Path) -> Network:
    spec = tmp_path / "mlp.arch"
    spec.write_text(MLP, encoding="utf-8")
    return network_of(spec)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["summary", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# --- goldens -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "spec", "depth"),
    [
        ("resnet18", "specs/resnet18.arch", 2),
        ("transformer_encoder", "tests/golden/transformer_encoder/input.arch", None),
        ("unet_tiny", "tests/golden/unet_tiny/input.arch", None),
    ],
)
def test_table_matches_golden(case: str, spec: str, depth: int | None, bless: bool) -> None:
    check_golden(
        GOLDEN / case / "summary.txt", render_table(network_of(ROOT / spec), depth), bless
    )


# --- memory --------------------------------------------------------------------------------------


def test_memory_is_outputs_and_parameters_times_batch_and_element_size(mlp: Network) -> None:
    estimate = memory(mlp, batch=3, dtype="bfloat16")
    assert estimate.params == MLP_PARAMS * 2 and estimate.buffers == 0
    assert estimate.forward == MLP_OUTPUTS * 3 * 2
    assert estimate.backward == estimate.forward + estimate.params
    assert estimate.total == 2 * (estimate.forward + estimate.params)
    assert memory(mlp).forward == MLP_OUTPUTS * 4 and set(DTYPES) >= {"float32", "float16"}


def test_the_table_states_the_estimate_and_its_assumptions(mlp: Network) -> None:
    text = render_table(mlp, batch=1000)
    assert "Memory, estimated for 1000 samples in float32 (MB = 10^6 bytes):" in text
    forward = MLP_OUTPUTS * 1000 * 4 / 10**6
    assert re.search(rf"\n  forward pass +{forward:.2f} MB  every layer's output", text)
    assert "no optimizer state" in text


def test_a_symbolic_size_is_a_formula_in_megabytes() -> None:
    estimate = memory(network_of(ROOT / "specs" / "gpt2.arch"))
    assert str(estimate.forward) == "803140*T"
    text = render_table(network_of(ROOT / "specs" / "gpt2.arch"), depth=1)
    assert re.search(r"\n  forward pass +0\.8031\*T MB  ", text)
    assert re.search(r"\n  backward pass +0\.8031\*T \+ 497\.8 MB  ", text)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--batch", "0"], "batch must be 1 or more, got 0"),
        (["--dtype", "int8"], "invalid choice: 'int8'"),
        (["--depth", "-1"], "depth must be 0 or more, got -1"),
    ],
)
def test_bad_options_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, str(ROOT / "specs" / "resnet18.arch"), *argv)
    assert code == 2 and message in err and "Traceback" not in err


def test_the_api_refuses_an_unknown_dtype(mlp: Network) -> None:
    with pytest.raises(UsageError, match="unknown dtype `int4`; dtypes: float64, float32"):
        memory(mlp, dtype="int4")


# --- what the table says -------------------------------------------------------------------------


def test_help_explains_the_mac_convention(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    text = " ".join(out.split())
    assert code == 0 and "2 FLOPs" in text and "QK^T and AV products included" in text
    assert "--batch" in text and "--dtype" in text


def test_depth_zero_is_one_line_of_totals(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(ROOT / "specs" / "resnet18.arch"), "--depth", "0")
    assert code == 0
    assert out == (
        "ResNet18: image (N, 3, 224, 224) -> logits (N, 1000); 11,689,512 params, "
        "9,620 buffers, 1,818,388,480 MACs per sample\n"
    )


def test_a_block_with_two_inputs_is_connected_to_both() -> None:
    document = to_json(network_of(ROOT / "specs" / "transformer.arch"), depth=1)
    (decoder,) = [row for row in document["layers"] if row["path"] == "decoder"]
    assert decoder["connected_to"] == ["dropout2", "encoder.norm"]


@pytest.mark.parametrize("width", [64, 72, 90])
def test_the_table_fits_the_terminal_and_never_cuts_a_number(width: int) -> None:
    network = network_of(ROOT / "tests" / "golden" / "unet_tiny" / "input.arch")
    full = render_table(network)
    fitted = render_table(network, width=width)
    table = fitted.split("\n\n")[0].splitlines()[1 : 4 + len(summary.rows(network))]
    assert max(map(len, table)) <= width < max(map(len, full.splitlines()))
    assert "…" in fitted
    for row in summary.rows(network):
        if row.params:
            assert f"{row.params:,}" in fitted


def test_the_terminal_width_reaches_the_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = str(ROOT / "tests" / "golden" / "unet_tiny" / "input.arch")
    monkeypatch.setenv("COLUMNS", "64")
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    _, out, _ = run(capsys, spec)
    assert out == render_table(network_of(spec), width=64)


def test_symbolic_sizes_read_plainly() -> None:
    text = render_table(network_of(ROOT / "tests" / "golden" / "unet_tiny" / "input.arch"))
    assert "(N, 64, H//4, W//4)" in text and ")//" not in text


@pytest.mark.parametrize(
    ("spec", "shown"),
    [
        ("specs/resnet18.arch", True),
        ("specs/vgg16.arch", True),
        ("specs/vit_b_16.arch", False),  # a patch convolution, then attention
        ("tests/golden/mixer_chunk/input.arch", False),  # token mixing by a linear layer
        ("specs/lstm_tagger.arch", False),
    ],
)
def test_a_receptive_field_is_shown_only_where_positions_stay_apart(
    spec: str, shown: bool
) -> None:
    network = network_of(ROOT / spec)
    assert ("Receptive field:" in render_table(network)) == shown
    assert (to_json(network)["receptive_field"] is not None) == shown


# --- JSON ----------------------------------------------------------------------------------------


def test_json_gains_the_memory_estimate(capsys: pytest.CaptureFixture[str]) -> None:
    spec = str(ROOT / "specs" / "resnet18.arch")
    code, out, _ = run(capsys, spec, "--json", "--batch", "8", "--dtype", "float16")
    (network,) = json.loads(out)["networks"]
    assert code == 0
    assert network["memory"] == {
        "batch": 8,
        "dtype": "float16",
        "params_bytes": 11_689_512 * 2,
        "buffers_bytes": 9_620 * 2,
        "forward_bytes": network["activations"] * 8 * 2,
        "backward_bytes": (network["activations"] * 8 + 11_689_512) * 2,
        "total_bytes": (2 * network["activations"] * 8 + 2 * 11_689_512 + 9_620) * 2,
    }
    keys = ["name", "params", "trainable_params", "buffers", "macs", "activations"]
    keys += ["receptive_field", "inputs", "outputs", "layers"]
    assert set(keys) < set(network)
