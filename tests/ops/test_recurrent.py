"""rnn, lstm and gru against nn.RNN, nn.LSTM and nn.GRU: shapes, parameters, MACs, diagnostics."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from archc import dims
from archc.dims import BATCH, Sym, TensorType
from archc.ops.schema import ArgumentError
from archc.ops.spec import ShapeError
from tests.ops.harness import check_against_torch, infer, make_input, one_thread, run_torch
from tests.ops.test_position import reference_models

T = Sym.named("T")
# torch warns, as archc does, about dropout on a single layer; the tests make such layers on purpose
quiet = pytest.mark.filterwarnings(
    "ignore:dropout option adds dropout", "ignore:LSTM with projections"
)


@st.composite
def recurrent_cases(draw: st.DrawFn) -> tuple[str, dict[str, Any], list[TensorType]]:
    name = draw(st.sampled_from(["rnn", "lstm", "gru"]))
    hidden = draw(st.integers(1, 6))
    args: dict[str, Any] = {
        "hidden_size": hidden,
        "num_layers": draw(st.integers(1, 3)),
        "bias": draw(st.booleans()),
        "dropout": draw(st.sampled_from([0.0, 0.25])),
        "bidirectional": draw(st.booleans()),
        "output": draw(st.sampled_from(["sequence", "last"])),
    }
    if name == "rnn":
        args["nonlinearity"] = draw(st.sampled_from(["tanh", "relu"]))
    if name == "lstm":
        args["proj_size"] = draw(st.integers(0, hidden - 1))
    if args["output"] == "sequence":
        args["return_state"] = draw(st.booleans())
    x = TensorType((BATCH, draw(st.integers(1, 5)), draw(st.integers(1, 6))))
    inputs = [x, *states(name, args)] if draw(st.booleans()) else [x]
    return name, args, inputs


def states(name: str, args: dict[str, Any]) -> list[TensorType]:
    """The types of the layer's initial states: (N, L*D, H_out), and (N, L*D, H) for c0."""
    stacked = args.get("num_layers", 1) * (2 if args.get("bidirectional") else 1)
    hidden = args["hidden_size"]
    h0 = TensorType((BATCH, stacked, args.get("proj_size") or hidden))
    return [h0, TensorType((BATCH, stacked, hidden))] if name == "lstm" else [h0]


@quiet
@given(recurrent_cases())
def test_recurrent_matches_torch(case: tuple[str, dict[str, Any], list[TensorType]]) -> None:
    name, args, inputs = case
    x = inputs[0]
    inferred = check_against_torch(name, args, inputs)
    if args.get("return_state"):
        assert inferred.outputs[1:] == tuple(states(name, args))
    # one MAC per weight element per time step: the gate matmuls, and the projection if any
    weights = sum(math.prod(s) for k, s in inferred.params.items() if k.startswith("weight"))
    assert inferred.macs == x.shape[1] * weights


@quiet
@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_last_is_the_final_state_of_each_direction(name: str, bidirectional: bool) -> None:
    hidden, x = 4, TensorType((BATCH, 6, 3))
    arguments = {"hidden_size": hidden, "num_layers": 2, "bidirectional": bidirectional}
    op, args, inferred = infer(name, {**arguments, "output": "last"}, [x])
    tensors = [make_input(x)]
    last, module = run_torch(op, args, inferred, tensors)
    with torch.no_grad(), one_thread():
        sequence = module(*tensors)[0]
    torch.testing.assert_close(last[:, :hidden], sequence[:, -1, :hidden])
    if bidirectional:  # the backward direction ends at the first step
        torch.testing.assert_close(last[:, hidden:], sequence[:, 0, hidden:])


@pytest.mark.parametrize(
    ("key", "name", "arguments"),
    [
        (
            "lstm_i100_h256_l2_bi",
            "lstm",
            {"hidden_size": 256, "num_layers": 2, "bidirectional": True},
        ),
        ("gru_i128_h64_l1", "gru", {"hidden_size": 64}),
        ("rnn_i10_h20_l2", "rnn", {"hidden_size": 20, "num_layers": 2}),
    ],
)
def test_reference_counts(key: str, name: str, arguments: dict[str, Any]) -> None:
    entry = reference_models()[key]
    x = TensorType((BATCH, T, entry["input_shape"][-1]))
    _, _, inferred = infer(name, arguments, [x])
    assert sum(math.prod(s) for s in inferred.params.values()) == entry["params"]
    assert len(inferred.params) == entry["param_tensors"]
    assert inferred.outputs[0].shape[-1] == entry["output_shape"][-1]


def test_symbolic_length_reaches_outputs_and_macs() -> None:
    arguments = {"hidden_size": 256, "num_layers": 2, "bidirectional": True}
    _, _, inferred = infer("lstm", arguments, [TensorType((BATCH, T, 100))])
    assert str(inferred.outputs[0]) == "(N, T, 512)"
    # per step, per direction: 4 gates * 256 * (100 + 256) in layer 0, 4 * 256 * (512 + 256) in 1
    assert dims.same(inferred.macs, 2 * 4 * 256 * (356 + 768) * T)
    assert all(isinstance(d, int) for shape in inferred.params.values() for d in shape)
    _, _, inferred = infer("gru", {**arguments, "output": "last"}, [TensorType((BATCH, T, 100))])
    assert str(inferred.outputs[0]) == "(N, 512)"


def test_projected_lstm_layout() -> None:
    arguments = {"hidden_size": 8, "proj_size": 3, "num_layers": 2}
    _, _, inferred = infer("lstm", arguments, [TensorType((BATCH, T, 5))])
    assert list(inferred.params.items()) == [
        ("weight_ih_l0", (32, 5)),
        ("weight_hh_l0", (32, 3)),
        ("bias_ih_l0", (32,)),
        ("bias_hh_l0", (32,)),
        ("weight_hr_l0", (3, 8)),
        ("weight_ih_l1", (32, 3)),
        ("weight_hh_l1", (32, 3)),
        ("bias_ih_l1", (32,)),
        ("bias_hh_l1", (32,)),
        ("weight_hr_l1", (3, 8)),
    ]


@pytest.mark.parametrize(
    ("name", "arguments", "label"),
    [
        ("lstm", {"hidden_size": 256, "num_layers": 2, "bidirectional": True}, "lstm 256 ×2 bi"),
        (
            "lstm",
            {"hidden_size": 256, "proj_size": 64, "output": "last"},
            "lstm 256, proj 64, last",
        ),
        ("gru", {"hidden_size": 64}, "gru 64"),
        ("rnn", {"hidden_size": 20, "nonlinearity": "relu"}, "rnn 20, relu"),
    ],
)
def test_labels(name: str, arguments: dict[str, Any], label: str) -> None:
    op, args, inferred = infer(name, arguments, [TensorType((BATCH, T, 10))])
    assert op.label(args, inferred) == label
    assert inferred.resolved == {"input_size": 10, "initial_states": 0}


def test_constructor_states_only_what_differs_from_torch() -> None:
    arguments = {"hidden_size": 8, "num_layers": 2, "dropout": 0.1, "nonlinearity": "relu"}
    op, args, inferred = infer("rnn", arguments, [TensorType((BATCH, T, 4))])
    ctor = op.torch_module(args, inferred)
    assert (ctor.path, ctor.args, ctor.call) == ("nn.RNN", (4, 8), "{m}({0})[0]")
    assert ctor.kwargs == (
        ("num_layers", 2),
        ("nonlinearity", "relu"),
        ("batch_first", True),
        ("dropout", 0.1),
    )


def test_dropout_on_one_layer_is_a_warning() -> None:
    _, _, inferred = infer("gru", {"hidden_size": 8, "dropout": 0.5}, [TensorType((BATCH, T, 4))])
    (finding,) = inferred.findings
    assert (finding.code, finding.severity, finding.arg) == ("A309", "warning", "dropout")
    _, _, inferred = infer(
        "gru", {"hidden_size": 8, "num_layers": 2, "dropout": 0.5}, [TensorType((BATCH, T, 4))]
    )
    assert inferred.findings == ()


def test_projection_must_be_narrower_than_the_state() -> None:
    with pytest.raises(ShapeError) as caught:
        infer("lstm", {"hidden_size": 8, "proj_size": 8}, [TensorType((BATCH, T, 4))])
    finding = caught.value.finding
    assert (finding.code, finding.arg, finding.rule) == (
        "A309",
        "proj_size",
        "0 <= proj_size < hidden_size",
    )
    assert finding.with_ == "8 >= 8"


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
def test_input_must_be_a_fixed_width_sequence(name: str) -> None:
    with pytest.raises(ShapeError) as caught:
        infer(name, {"hidden_size": 8}, [TensorType((BATCH, 3, 8, 8))])
    assert caught.value.finding.code == "A304"
    with pytest.raises(ShapeError) as caught:
        infer(name, {"hidden_size": 8}, [TensorType((BATCH, T, Sym.named("C")))])
    assert caught.value.finding.code == "A310"


@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("rnn", {"hidden_size": 8, "nonlinearity": "sigmoid"}),
        ("gru", {"hidden_size": 8, "proj_size": 2}),
        ("gru", {"hidden_size": 8, "nonlinearity": "relu"}),
        ("lstm", {"hidden_size": 8, "output": "all"}),
        ("lstm", {"hidden_size": 0}),
        ("lstm", {"hidden_size": 8, "dropout": -0.1}),
        ("lstm", {"hidden_size": 8, "bidirectional": 1}),
    ],
)
def test_invalid_arguments_are_rejected_before_inference(
    name: str, arguments: dict[str, Any]
) -> None:
    with pytest.raises(ArgumentError):
        infer(name, arguments, [TensorType((BATCH, T, 4))])


@quiet
@pytest.mark.parametrize(
    ("name", "arguments"),
    [
        ("rnn", {"hidden_size": 4, "num_layers": 2, "nonlinearity": "relu"}),
        ("lstm", {"hidden_size": 4, "num_layers": 2, "bidirectional": True, "proj_size": 3}),
        ("gru", {"hidden_size": 4, "bidirectional": True}),
    ],
)
def test_states_are_torchs_states_batch_first(name: str, arguments: dict[str, Any]) -> None:
    """The stateful module is torch's own with its states transposed: a plain nn.LSTM given
    the same weights and the states in torch's layout computes the same output and states."""
    x = TensorType((BATCH, 5, 3))
    given = states(name, arguments)
    op, args, inferred = infer(name, {**arguments, "return_state": True}, [x, *given])
    tensors = [make_input(t) for t in (x, *given)]
    results, module = run_torch(op, args, inferred, tensors)
    assert type(module).__name__ == f"Stateful{name.upper()}"
    plain = getattr(torch.nn, name.upper())(3, **module_arguments(module))
    plain.load_state_dict(module.state_dict(), strict=True)
    torch_layout = [t.transpose(0, 1) for t in tensors[1:]]
    with torch.no_grad(), one_thread():
        output, final = plain(
            tensors[0], tuple(torch_layout) if name == "lstm" else torch_layout[0]
        )
    finals = final if name == "lstm" else (final,)
    torch.testing.assert_close(results[0], output)
    for ours, theirs in zip(results[1:], finals, strict=True):
        torch.testing.assert_close(ours, theirs.transpose(0, 1))


def module_arguments(module: torch.nn.RNNBase) -> dict[str, Any]:
    names = ("hidden_size", "num_layers", "bias", "batch_first", "bidirectional", "proj_size")
    found = {n: getattr(module, n) for n in names if n != "proj_size" or module.proj_size}
    if isinstance(module, torch.nn.RNN):
        found["nonlinearity"] = module.nonlinearity
    return found


@pytest.mark.parametrize(
    ("output", "given", "call"),
    [
        ("sequence", 0, "{m}({0})[0]"),
        ("sequence", 2, "{m}({inputs})[0]"),
        ("last", 2, "{m}({inputs})[1][:, -1]"),
    ],
)
def test_initial_states_pick_the_stateful_module(output: str, given: int, call: str) -> None:
    arguments = {"hidden_size": 4, "output": output}
    x = TensorType((BATCH, T, 3))
    op, args, inferred = infer("lstm", arguments, [x, *states("lstm", arguments)[:given]])
    ctor = op.torch_module(args, inferred)
    assert (ctor.path, ctor.call) == ("StatefulLSTM" if given else "nn.LSTM", call)


@pytest.mark.parametrize(
    ("name", "arguments", "state", "code"),
    [
        ("gru", {"hidden_size": 4, "num_layers": 2}, (BATCH, 1, 4), "A380"),
        ("gru", {"hidden_size": 4, "bidirectional": True}, (BATCH, 1, 4), "A380"),
        ("rnn", {"hidden_size": 4}, (BATCH, 1, 5), "A380"),
        ("rnn", {"hidden_size": 4}, (BATCH, 4), "A380"),
        ("rnn", {"hidden_size": 4}, (3, 1, 4), "A380"),
        ("lstm", {"hidden_size": 4, "proj_size": 2}, (BATCH, 1, 4), "A380"),
        ("lstm", {"hidden_size": 4}, (BATCH, 1, 4), "A381"),
    ],
)
def test_state_shapes_are_checked(
    name: str, arguments: dict[str, Any], state: tuple[Any, ...], code: str
) -> None:
    with pytest.raises(ShapeError) as caught:
        infer(name, arguments, [TensorType((BATCH, T, 3)), TensorType(state)])
    assert caught.value.finding.code == code


def test_a_state_of_another_element_type_is_refused() -> None:
    with pytest.raises(ShapeError) as caught:
        infer(
            "gru",
            {"hidden_size": 4},
            [TensorType((BATCH, T, 3)), TensorType((BATCH, 1, 4), "float64")],
        )
    assert (caught.value.finding.code, caught.value.finding.arg) == ("A308", "h0")


def test_final_states_with_the_last_step_are_refused() -> None:
    with pytest.raises(ShapeError) as caught:
        infer(
            "gru",
            {"hidden_size": 4, "output": "last", "return_state": True},
            [TensorType((BATCH, T, 3))],
        )
    assert (caught.value.finding.code, caught.value.finding.arg) == ("A382", "return_state")
