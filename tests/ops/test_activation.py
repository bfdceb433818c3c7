"""Activations against torch: shapes and prelu's parameters for random arguments, the emitted
modules, argument order against torch's signatures, and every diagnostic."""

from __future__ import annotations

import inspect

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archc import ops
from archc.dims import BATCH, Sym, TensorType
from archc.ops.activation import (
    ELEMENTWISE,
    AlphaArgs,
    GeluArgs,
    HardtanhArgs,
    InplaceArgs,
    LeakyReluArgs,
    Row,
    SoftplusArgs,
)
from archc.ops.schema import ArgumentError
from archc.ops.spec import NoArgs, ShapeError
from tests.ops.harness import check_against_torch, infer, resolve

T = Sym.named("T")

shapes = st.lists(st.integers(1, 5), min_size=0, max_size=3).map(
    lambda sizes: TensorType((BATCH, *sizes))
)
positive = st.floats(0.1, 3.0)
inplace = {"inplace": st.booleans()}
# each argument model's values, every one optional so that defaults are exercised too
ARGUMENTS = {
    NoArgs: st.just({}),
    InplaceArgs: st.fixed_dictionaries({}, optional=inplace),
    LeakyReluArgs: st.fixed_dictionaries(
        {}, optional={"negative_slope": st.floats(-1, 1), **inplace}
    ),
    AlphaArgs: st.fixed_dictionaries({}, optional={"alpha": positive, **inplace}),
    GeluArgs: st.fixed_dictionaries(
        {}, optional={"approximate": st.sampled_from(["none", "tanh"])}
    ),
    HardtanhArgs: st.fixed_dictionaries(
        {"min_val": st.floats(-3, 0), "max_val": st.floats(0.5, 6)}
    ),
    SoftplusArgs: st.fixed_dictionaries(
        {}, optional={"beta": positive, "threshold": st.floats(1, 30)}
    ),
}


def refused(name: str, arguments: dict, inputs: list[TensorType]) -> ShapeError:
    with pytest.raises(ShapeError) as caught:
        infer(name, arguments, inputs)
    return caught.value


@given(st.data(), st.sampled_from(ELEMENTWISE), shapes)
def test_elementwise_activations_match_torch(data: st.DataObject, row: Row, x: TensorType) -> None:
    arguments = data.draw(ARGUMENTS[row.args])
    inferred = check_against_torch(row.name, arguments, [x])
    assert inferred.outputs == (x,) and inferred.macs == 0


@given(
    st.data(),
    st.sampled_from(["softmax", "log_softmax", "glu"]),
    shapes.filter(lambda x: x.rank > 1),
)
def test_activations_along_an_axis_match_torch(
    data: st.DataObject, name: str, x: TensorType
) -> None:
    index = data.draw(st.integers(1, x.rank - 1))
    if name == "glu":
        x = TensorType(tuple(2 * d if i == index else d for i, d in enumerate(x.shape)))
    dim = data.draw(st.sampled_from([index, index - x.rank]))
    arguments = data.draw(
        st.sampled_from([{"dim": dim}, {"axis": dim}] + ([{}] if dim == -1 else []))
    )
    check_against_torch(name, arguments, [x])


@given(
    st.integers(1, 6),
    st.lists(st.integers(1, 4), max_size=2),
    st.sampled_from(["one", "channels", "count"]),
    st.floats(0, 1),
)
def test_prelu_matches_torch(channels: int, rest: list[int], slopes: str, init: float) -> None:
    num_parameters = {"one": 1, "channels": "channels", "count": channels}[slopes]
    x = TensorType((BATCH, channels, *rest))
    inferred = check_against_torch("prelu", {"num_parameters": num_parameters, "init": init}, [x])
    assert inferred.params == {"weight": (1 if slopes == "one" else channels,)}


def test_activations_take_arguments_in_torch_order() -> None:
    activations = [op for op in ops.all_ops() if op.family == "activation"]
    assert {row.name for row in ELEMENTWISE} < {op.name for op in activations}
    for op in activations:
        assert op.summary
        if not hasattr(op, "module"):  # elementwise math, written as torch functions
            continue
        torch_parameters = list(inspect.signature(resolve(type(op).module)).parameters)
        assert torch_parameters[: len(op.positional)] == list(op.positional), op.name
    assert ops.lookup("swish") is ops.lookup("silu")


@pytest.mark.parametrize(
    ("name", "arguments", "module", "kwargs", "label"),
    [
        ("relu", {"inplace": True}, "nn.ReLU", (("inplace", True),), "relu"),
        ("relu", {}, "nn.ReLU", (), "relu"),
        ("gelu", {"approximate": "tanh"}, "nn.GELU", (("approximate", "tanh"),), "gelu tanh"),
        (
            "leaky_relu",
            {"negative_slope": 0.2},
            "nn.LeakyReLU",
            (("negative_slope", 0.2),),
            "leaky_relu 0.2",
        ),
        ("softmax", {}, "nn.Softmax", (("dim", -1),), "softmax"),
        ("log_softmax", {"axis": 1}, "nn.LogSoftmax", (("dim", 1),), "log_softmax 1"),
        ("glu", {}, "nn.GLU", (), "glu"),
        (
            "prelu",
            {"num_parameters": "channels"},
            "nn.PReLU",
            (("num_parameters", 8),),
            "prelu channels",
        ),
        ("prelu", {"init": 0.1}, "nn.PReLU", (("init", 0.1),), "prelu 0.1"),
    ],
)
def test_emitted_modules_spell_out_only_what_differs(
    name: str, arguments: dict, module: str, kwargs: tuple, label: str
) -> None:
    op, args, inferred = infer(name, arguments, [TensorType((BATCH, 8, 4))])
    ctor = op.torch_module(args, inferred)
    assert (ctor.path, ctor.args, ctor.kwargs) == (module, (), kwargs)
    assert op.label(args, inferred) == label


def test_arguments_are_validated() -> None:
    for name, arguments in [
        ("hardtanh", {"min_val": 1.0, "max_val": 1.0}),
        ("gelu", {"approximate": "erf"}),
        ("elu", {"alpha": 0.0}),
        ("relu", {"inplace": 1}),
        ("sigmoid", {"inplace": True}),
        ("prelu", {"num_parameters": 0}),
    ]:
        with pytest.raises(ArgumentError):
            ops.lookup(name).Args(**arguments)


def test_symbolic_dims_pass_through() -> None:
    x = TensorType((BATCH, T, 768))
    for name in ("gelu", "softmax", "prelu"):
        assert infer(name, {}, [x])[2].outputs == (x,)
    _, _, inferred = infer("glu", {"dim": 1}, [TensorType((BATCH, 2 * T, 4))])
    assert str(inferred.outputs[0]) == "(N, T, 4)"


# --- diagnostics ----------------------------------------------------------------------------------


def test_glu_needs_an_even_axis() -> None:
    finding = refused("glu", {"dim": 1}, [TensorType((BATCH, 7, 4))]).finding
    assert (finding.code, finding.arg, finding.with_) == ("A305", "dim", "7 % 2 = 1")
    assert finding.rule == "(..., 2k, ...) -> (..., k, ...) along dim"
    assert refused("glu", {}, [TensorType((BATCH, 4, T))]).finding.code == "A310"


def test_softmax_over_the_batch_is_refused() -> None:
    finding = refused("softmax", {"dim": 0}, [TensorType((BATCH, 10))]).finding
    assert (finding.code, finding.arg) == ("A309", "dim")
    out_of_range = refused("log_softmax", {"dim": 2}, [TensorType((BATCH, 10))]).finding
    assert (out_of_range.code, out_of_range.arg) == ("A304", "dim")


def test_prelu_slope_count_must_match_the_channels() -> None:
    finding = refused("prelu", {"num_parameters": 3}, [TensorType((BATCH, 8, 4))]).finding
    assert (finding.code, finding.arg) == ("A303", "num_parameters")
    assert finding.with_ == "num_parameters = 3, channels = 8"
    assert finding.help == 'use num_parameters="channels" (here 8), or 1'
    symbolic = refused("prelu", {"num_parameters": "channels"}, [TensorType((BATCH, T))])
    assert symbolic.finding.code == "A310"
    no_channels = refused("prelu", {"num_parameters": "channels"}, [TensorType((BATCH,))])
    assert no_channels.finding.code == "A304"
