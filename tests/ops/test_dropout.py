"""Dropout ops against torch: shapes kept, no parameters, rank checks for channel dropout."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archc.dims import BATCH, Sym, TensorType
from archc.ops.schema import ArgumentError
from tests.ops.harness import check_against_torch, diagnose, infer

# op -> the rank of its input (None: any)
RANKS = {"dropout": None, "alpha_dropout": None, "dropout1d": 3, "dropout2d": 4, "dropout3d": 5}


@given(st.sampled_from(sorted(RANKS)), st.floats(0.0, 1.0), st.integers(2, 5), st.data())
def test_dropout_matches_torch(name: str, p: float, rank: int, data: st.DataObject) -> None:
    rank = RANKS[name] or rank
    shape = tuple(data.draw(st.integers(1, 3)) for _ in range(rank - 1))
    inferred = check_against_torch(name, {"p": p}, [TensorType((BATCH, *shape))])
    assert inferred.params == {} and inferred.macs == 0


def test_code_spells_out_only_a_non_default_p() -> None:
    x = TensorType((BATCH, 8, 4, 4))
    op, args, inferred = infer("dropout2d", {"p": 0.1}, [x])
    ctor = op.torch_module(args, inferred)
    assert (ctor.path, ctor.kwargs) == ("nn.Dropout2d", (("p", 0.1),))
    assert op.label(args, inferred) == "dropout2d 0.1"
    op, args, inferred = infer("dropout", {}, [x])
    assert op.torch_module(args, inferred).kwargs == ()
    op, args, inferred = infer("alpha_dropout", {"p": 0.2}, [x])
    assert op.label(args, inferred) == "alpha dropout 0.2"


def test_channel_dropout_checks_the_rank() -> None:
    finding = diagnose("dropout2d", {"p": 0.2}, [TensorType((BATCH, 8, 16))])
    assert finding.code == "A304"
    assert finding.rule == "input shape = (N, C, H, W)"
    assert finding.help == "for a 3-d input (N, C, L) use dropout1d"


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_probability_out_of_range_is_refused(p: float) -> None:
    with pytest.raises(ArgumentError):
        infer("dropout", {"p": p}, [TensorType((BATCH, 4))])


def test_symbolic_dims_pass_through() -> None:
    T = Sym.named("T")
    _, _, inferred = infer("dropout1d", {"p": 0.1}, [TensorType((BATCH, 8, T))])
    assert str(inferred.outputs[0]) == "(N, 8, T)"
