"""pad, slice and roll against torch: shapes for random amounts, the generated expression, and
every diagnostic with its numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archc.dims import BATCH, Sym, TensorType
from archc.ops.schema import ArgumentError
from tests.ops.harness import check_against_torch, diagnose, expression, infer

H = Sym.named("H")
MODES = ["constant", "reflect", "replicate", "circular"]


@given(st.data(), st.sampled_from(MODES), st.integers(1, 3))
def test_pad_matches_torch(data: st.DataObject, mode: str, spatial: int) -> None:
    sizes = [data.draw(st.integers(2, 5)) for _ in range(spatial)]
    # each mode's largest amount: reflect mirrors inside the axis, circular wraps it once
    limit = {"reflect": min(sizes) - 1, "circular": min(sizes)}.get(mode, 3)
    low = -1 if mode == "constant" else 0
    axes = data.draw(st.integers(1, spatial)) if mode == "constant" else spatial
    pad = tuple(data.draw(st.integers(low, limit)) for _ in range(2 * axes))
    arguments: dict = {"pad": pad, "mode": mode}
    if mode == "constant" and data.draw(st.booleans()):
        arguments["value"] = data.draw(st.floats(-2, 2))
    x = TensorType((BATCH, 3, *sizes))
    inferred = check_against_torch("pad", arguments, [x])
    assert inferred.params == {} and inferred.macs == 0


def test_pad_order_is_torchs_last_axis_first() -> None:
    x = TensorType((BATCH, 8, 10, 20))
    op, args, inferred = infer("pad", {"pad": (1, 2, 3, 4)}, [x])
    assert str(inferred.outputs[0]) == "(N, 8, 17, 23)"
    assert expression(op.torch_expr(args, inferred)) == "F.pad({0}, (1, 2, 3, 4))"
    assert op.label(args, inferred) == "pad 1,2,3,4"
    _, args, inferred = infer(
        "pad", {"pad": (1, 1), "mode": "reflect"}, [TensorType((BATCH, 4, H))]
    )
    assert str(inferred.outputs[0]) == "(N, 4, H + 2)"
    assert expression(op.torch_expr(args, inferred)) == 'F.pad({0}, (1, 1), mode="reflect")'
    _, args, inferred = infer("pad", {"pad": (0, 1), "value": -1.5}, [x])
    assert expression(op.torch_expr(args, inferred)) == "F.pad({0}, (0, 1), value=-1.5)"


def test_reflect_padding_as_large_as_the_axis_is_refused() -> None:
    finding = diagnose(
        "pad", {"pad": (1, 1, 4, 0), "mode": "reflect"}, [TensorType((BATCH, 3, 4, 8))]
    )
    assert finding.code == "A309"
    assert finding.message == (
        'pad mode="reflect" needs each amount < the size it pads, but axis 2 of (N, 3, 4, 8) '
        "has 4 positions and top=4, bottom=0"
    )
    assert finding.with_ == "size = 4, max(4, 0) = 4"
    assert finding.help == 'pad at most 3 here, or use mode="replicate"'


def test_circular_padding_wraps_at_most_once() -> None:
    x = TensorType((BATCH, 3, 4))
    check_against_torch("pad", {"pad": (4, 4), "mode": "circular"}, [x])
    finding = diagnose("pad", {"pad": (5, 0), "mode": "circular"}, [x])
    assert finding.rule == "left, right <= size"


def test_cropping_everything_is_refused() -> None:
    finding = diagnose("pad", {"pad": (-3, -2)}, [TensorType((BATCH, 3, 5))])
    assert (finding.code, finding.with_) == ("A301", "-3 + 5 + -2 = 0")
    assert finding.help == "crop at most 4 positions from axis 2"


def test_non_constant_padding_pads_exactly_the_spatial_axes() -> None:
    finding = diagnose("pad", {"pad": (1, 1), "mode": "replicate"}, [TensorType((BATCH, 3, 8, 8))])
    assert finding.code == "A304"
    assert finding.help == "give 4 amounts, two per spatial axis"
    finding = diagnose(
        "pad", {"pad": (1, 1), "mode": "reflect", "value": 2.0}, [TensorType((BATCH, 3, 8))]
    )
    assert finding.arg == "value"
    finding = diagnose("pad", {"pad": (-1, 1), "mode": "reflect"}, [TensorType((BATCH, 3, 8))])
    assert finding.help == 'crop with mode="constant" (the default), or with slice'


def test_the_batch_is_never_padded() -> None:
    finding = diagnose("pad", {"pad": (1, 1, 1, 1)}, [TensorType((BATCH, 8))])
    assert (finding.code, finding.help) == ("A304", "give at most 2 amounts")


@pytest.mark.parametrize("pad", [(), (1, 2, 3)])
def test_pad_needs_pairs(pad: tuple[int, ...]) -> None:
    with pytest.raises(ArgumentError):
        infer("pad", {"pad": pad}, [TensorType((BATCH, 3, 8))])


# --- slice ---------------------------------------------------------------------------------------


@given(st.data(), st.integers(2, 4))
def test_slice_matches_torch(data: st.DataObject, rank: int) -> None:
    sizes = [data.draw(st.integers(1, 6)) for _ in range(rank - 1)]
    axis = data.draw(st.integers(1, rank - 1))
    size = sizes[axis - 1]
    start = data.draw(st.integers(-size, size - 1))
    step = data.draw(st.integers(1, 3))
    stop = data.draw(st.none() | st.integers(-size, size))
    if len(range(*slice(start, stop, step).indices(size))) == 0:
        stop = None
    dim = data.draw(st.sampled_from([axis, axis - rank]))
    arguments = {"dim": dim, "start": start, "stop": stop, "step": step}
    check_against_torch("slice", arguments, [TensorType((BATCH, *sizes))])


@pytest.mark.parametrize(
    ("arguments", "written", "shape"),
    [
        ({"dim": 2, "start": 0, "step": 2}, "{0}[:, :, ::2]", "(N, 3, 5, 9)"),
        ({"dim": 3, "start": 1, "step": 2}, "{0}[:, :, :, 1::2]", "(N, 3, 9, 4)"),
        ({"dim": -1, "stop": 4}, "{0}[..., :4]", "(N, 3, 9, 4)"),
        ({"dim": -2, "start": -2}, "{0}[..., -2:, :]", "(N, 3, 2, 9)"),
        ({"dim": 1, "start": 1, "stop": 2}, "{0}[:, 1:2]", "(N, 1, 9, 9)"),
    ],
)
def test_slice_writes_a_subscript(arguments: dict, written: str, shape: str) -> None:
    op, args, inferred = infer("slice", arguments, [TensorType((BATCH, 3, 9, 9))])
    assert expression(op.torch_expr(args, inferred)) == written
    assert str(inferred.outputs[0]) == shape


def test_slice_of_a_symbolic_axis() -> None:
    _, _, inferred = infer("slice", {"dim": 2, "start": 1, "step": 2}, [TensorType((BATCH, 3, H))])
    assert str(inferred.outputs[0]) == "(N, 3, H//2)"
    finding = diagnose("slice", {"dim": 2, "stop": 4}, [TensorType((BATCH, 3, H))])
    assert (finding.code, finding.arg) == ("A310", "stop")
    finding = diagnose("slice", {"dim": 2, "start": -2}, [TensorType((BATCH, 3, H))])
    assert (finding.code, finding.arg) == ("A310", "start")


@pytest.mark.parametrize(
    ("start", "stop", "step", "shape"),
    [(0, -1, 1, "(N, 3, H - 1)"), (1, -1, 1, "(N, 3, H - 2)"), (1, -2, 2, "(N, 3, H//2 - 1)")],
)
def test_a_slice_to_a_distance_before_the_end_of_a_symbolic_axis(
    start: int, stop: int, step: int, shape: str
) -> None:
    arguments = {"dim": 2, "start": start, "stop": stop, "step": step}
    _, _, inferred = infer("slice", arguments, [TensorType((BATCH, 3, H))])
    assert str(inferred.outputs[0]) == shape
    # at every size it has, the axis is cut as torch cuts it
    for size in range(1 - stop + start, 12):
        check_against_torch("slice", arguments, [TensorType((BATCH, 3, size))])


@pytest.mark.parametrize(("step", "help"), [(0, "a step of 0 never moves"), (-1, "torch slices")])
def test_slice_step_must_be_positive(step: int, help: str) -> None:
    finding = diagnose("slice", {"dim": 2, "step": step}, [TensorType((BATCH, 3, 8))])
    assert (finding.code, finding.with_) == ("A309", f"step = {step}")
    assert finding.help.startswith(help)


def test_empty_slice_is_refused() -> None:
    finding = diagnose("slice", {"dim": 2, "start": 5, "stop": 3}, [TensorType((BATCH, 3, 8))])
    assert finding.code == "A301"
    assert finding.message == "slice [5:3] of axis 2 of (N, 3, 8) keeps no position"
    assert finding.help == "positions run from 0 to 7 (or -8 to -1)"


def test_slice_never_cuts_the_batch() -> None:
    assert diagnose("slice", {"dim": 0, "stop": 1}, [TensorType((BATCH, 3, 8))]).code == "A309"


# --- roll ----------------------------------------------------------------------------------------


@given(st.data())
def test_roll_matches_torch(data: st.DataObject) -> None:
    shifts = tuple(data.draw(st.integers(-7, 7)) for _ in range(data.draw(st.integers(1, 2))))
    axes = tuple(data.draw(st.permutations([1, 2, 3]))[: len(shifts)])
    arguments = {"shifts": shifts, "dims": axes}
    if len(shifts) == 1 and data.draw(st.booleans()):
        arguments = {"shifts": shifts[0], "dims": axes[0]}
    check_against_torch("roll", arguments, [TensorType((BATCH, 2, 3, 5))])


def test_roll_writes_torch_roll() -> None:
    x = TensorType((BATCH, 7, 7, 96))
    op, args, inferred = infer("roll", {"shifts": (-3, -3), "dims": (1, 2)}, [x])
    assert expression(op.torch_expr(args, inferred)) == (
        "torch.roll({0}, shifts=(-3, -3), dims=(1, 2))"
    )
    assert inferred.outputs == (x,)


def test_roll_needs_a_shift_per_axis_and_keeps_the_batch() -> None:
    x = TensorType((BATCH, 7, 7, 96))
    finding = diagnose("roll", {"shifts": (1, 2, 3), "dims": (1, 2)}, [x])
    assert (finding.code, finding.help) == ("A309", "give one shift for each of the 2 axes")
    assert diagnose("roll", {"shifts": 1, "dims": 0}, [x]).code == "A309"
