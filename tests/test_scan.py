"""`scan`: a block applied step by step along an axis, carrying state.

The zoo's GRU cell under `scan` against torch's nn.GRU with the same weights, the generated
loop against the reference interpreter in every form the construct takes (several sequences,
several states, `reverse=true`, another axis, a scan inside a block), and the counts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from archc import api, dims, runtime
from archc.backends import summary
from archc.backends.receptive import receptive_field
from archc.semantics.ir import Network
from tests.conftest import ROOT
from tests.oracle import check_values

ZOO_GRU = ROOT / "specs" / "gru_scan.arch"


def analysed(path: Path, **overrides: Any) -> Network:
    found, diagnostics = api.analyse(str(path), overrides=overrides or None)
    assert not [d for d in diagnostics if d.is_error], diagnostics
    (network,) = found
    network.verify()
    return network


def test_gru_cell_under_scan_equals_torch_gru() -> None:
    torch.manual_seed(0)
    features, hidden, steps, batch = 5, 7, 6, 3
    model = runtime.build(str(ZOO_GRU), dtype=torch.float64, features=features, hidden=hidden)
    reference = torch.nn.GRU(features, hidden, batch_first=True, dtype=torch.float64).eval()
    model.eval()
    gates = ("reset", "update", "new")  # nn.GRU stacks its gates in this order
    with torch.no_grad():
        for source, side in (("ih", "input"), ("hh", "hidden")):
            weights = getattr(reference, f"weight_{source}_l0").chunk(3)
            biases = getattr(reference, f"bias_{source}_l0").chunk(3)
            for gate, weight, bias in zip(gates, weights, biases, strict=True):
                layer = getattr(model.gru, f"{side}_{gate}")
                layer.weight.copy_(weight)
                layer.bias.copy_(bias)
    x = torch.randn(batch, steps, features, dtype=torch.float64)
    h0 = torch.randn(batch, hidden, dtype=torch.float64)
    y, h_last = model(x, h0)
    expected_y, expected_h = reference(x, h0.unsqueeze(0))
    torch.testing.assert_close(y, expected_y, atol=1e-6, rtol=0)
    torch.testing.assert_close(h_last, expected_h.squeeze(0), atol=1e-6, rtol=0)


def test_gru_cell_is_counted_once_and_its_macs_once_per_step() -> None:
    network = analysed(ZOO_GRU)
    hidden, features = 64, 32
    assert network.param_count == 3 * hidden * (features + hidden) + 6 * hidden  # nn.GRU's
    assert sorted(network.parameters()) == sorted(
        f"gru.{side}_{gate}.{tensor}"
        for side in ("input", "hidden")
        for gate in ("reset", "update", "new")
        for tensor in ("weight", "bias")
    )
    per_step = 3 * features * hidden + 3 * hidden * hidden
    assert dims.evaluate(network.macs, {"T": 10, "N": 1}) == 10 * per_step
    assert network.modules["gru"].scan is not None
    assert str(network.type_of(network.outputs["y"])) == "(N, T, 64)"


# One network per form of the construct; each is compiled and run beside the interpreter.
FORMS = """
block LSTMCell(hidden) {
    in x
    in h
    in c
    gates = concat(x, h, axis=-1) -> linear(4 * hidden) as gates
    i, f, g, o = split(gates, hidden, dim=-1)
    c2 = sigmoid(f) * c + sigmoid(i) * tanh(g)
    h2 = sigmoid(o) * tanh(c2)
    out y = h2
    out h_next = h2
    out c_next = c2
}

block Mix(width) {
    in a
    in b
    in s
    t = tanh((a -> linear(width) as from_a) + (b -> linear(width) as from_b) + s)
    out y = t -> linear(3) as head
    out g = relu(t)
    out s2 = t
}

block Accumulate {
    in x
    in total
    out y = total + x
    out total2 = total + x
}

block Encoder(hidden) {
    in x
    in h0
    y, h = scan(Elman(hidden), x, state=h0) as rnn
    out y -> layernorm as norm
    out h
}

block Elman(hidden) {
    in x
    in h
    h2 = tanh((x -> linear(hidden) as ih) + (h -> linear(hidden) as hh))
    out y = h2
    out h2
}

network Lstm(hidden=6) {
    in x: [T, 4]
    in h0: [hidden]
    in c0: [hidden]
    y, h, c = scan(LSTMCell(hidden), x, state=(h0, c0)) as lstm
    out y
    out h
    out c
}

network TwoSequencesBackwards(width=5) {
    in a: [T, 3]
    in b: [T, 2]
    in s0: [width]
    y, g, s = scan(Mix(width), a, b, state=s0, reverse=true) as mix
    out y
    out g
    out s
}

network AlongWidth {
    in image: [4, 3, W]
    in start: [4, 3]
    sums, last = image -> scan(Accumulate, state=start, dim=3) as running
    out sums
    out last
}

block RunningTotals {
    in x
    in s
    y, t = scan(Accumulate, x, state=s, dim=-2)
    out y
    out t
}

network Ranks {
    in a: [6, 3]
    in b: [2, 6, 3]
    in sa: [3]
    in sb: [2, 3]
    ya, ta = (a, sa) -> RunningTotals as first
    yb, tb = (b, sb) -> RunningTotals as second
    out ya
    out ta
    out yb
    out tb
}

block Step {
    in x
    out y = x -> linear(3) as fc -> relu
}

network Stateless {
    in x: [T, 4]
    out y = scan(Step, x) as each
}

network Twice(hidden=5) {
    in x: [T, 4]
    in h0: [hidden]
    y1, h1 = scan(Elman(hidden), x, state=h0) as first
    y2, h2 = scan(Elman(hidden), x, state=h0) as second
    out y1 + y2
    out h1 + h2
}

network InChain(hidden=5) {
    in x: [T, 4]
    in h0: [hidden]
    y, h = x -> (linear(4) as proj -> scan(Elman(hidden), state=h0)) as seq
    out y
    out h
}

network Unnamed(hidden=5) {
    in x: [T, 4]
    in h0: [hidden]
    y, h = scan(Elman(hidden), x, state=h0)
    z, g = scan(Elman(hidden), y, state=h)
    out z
    out g
}

network Stacked(hidden=5) {
    in x: [T, 4]
    in h0: [hidden]
    y, h = (x, h0) -> Encoder(hidden) * 2 as layers
    out y
    out h
}
"""


@pytest.fixture(scope="module")
def forms(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scan") / "forms.arch"
    path.write_text(FORMS, encoding="utf-8")
    return path


def test_every_form_computes_what_the_interpreter_computes(forms: Path) -> None:
    check_values(forms)


def test_a_cell_elaborated_again_counts_its_steps_once(forms: Path) -> None:
    networks, diagnostics = api.analyse(str(forms))
    assert not [d for d in diagnostics if d.is_error], diagnostics
    twice = next(n for n in networks if n.name == "Twice")
    twice.verify()
    per_step = 4 * 5 + 5 * 5  # the two linears of one step
    for scan in ("first", "second"):
        macs = dims.total(n.macs for n in twice.within(scan))
        assert dims.evaluate(macs, {"T": 7, "N": 1}) == 7 * per_step


def test_generated_loop_runs_under_torch_compile_and_on_meta() -> None:
    model = runtime.build(str(ZOO_GRU), features=3, hidden=4).eval()
    x, h0 = torch.randn(2, 5, 3), torch.randn(2, 4)
    compiled = torch.compile(model, fullgraph=True, backend="eager")
    for got, expected in zip(compiled(x, h0), model(x, h0), strict=True):
        torch.testing.assert_close(got, expected)
    meta = runtime.build(str(ZOO_GRU), device="meta")
    y, h = meta(torch.empty(2, 9, 32, device="meta"), torch.empty(2, 64, device="meta"))
    assert (tuple(y.shape), tuple(h.shape)) == ((2, 9, 64), (2, 64))


def test_summary_shows_the_cell_once_as_a_loop() -> None:
    network = analysed(ZOO_GRU)
    rows = summary.rows(network)
    assert [(r.path, r.op) for r in rows[:2]] == [
        ("gru", "GRUCell (scan, T steps)"),
        ("gru.input_reset", "linear"),
    ]
    assert str(rows[0].output) == "(N, T, 64)" and rows[0].connected_to == ("x", "h0")
    assert rows[0].params == network.param_count
    assert not any(r.op.startswith("scan.") for r in rows)
    steps = dims.evaluate(summary.activation_elements(network), {"T": 10, "N": 1})
    assert steps == 10 * dims.evaluate(summary.activation_elements(network), {"T": 1, "N": 1})


def test_a_scan_mixes_positions_so_there_is_no_receptive_field(tmp_path: Path) -> None:
    path = tmp_path / "running.arch"
    path.write_text(
        "block Accumulate {\n    in x\n    in total\n    out y = total + x\n"
        "    out total2 = total + x\n}\n\n"
        "network Running {\n    in image: [3, 16, 16]\n    in start: [4, 16]\n"
        "    x = image -> conv2d(4, 3, padding=1) as conv\n"
        "    sums, last = x -> scan(Accumulate, state=start, dim=3) as running\n"
        "    out sums -> conv2d(4, 3, padding=1) as head\n}\n",
        encoding="utf-8",
    )
    assert receptive_field(analysed(path)) is None
