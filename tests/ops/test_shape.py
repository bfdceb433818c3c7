"""Shape ops (flatten, unflatten, reshape, permute, transpose, squeeze, unsqueeze, expand, mean,
sum, amax) against torch: output shapes for random arguments, every diagnostic, and symbols
flowing through."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from archc import dims, ops
from archc.dims import BATCH, Sym, TensorType
from archc.ops.schema import ArgumentError
from archc.ops.spec import ShapeError
from tests.ops.harness import check_against_torch, expression, infer

H, W, T = Sym.named("H"), Sym.named("W"), Sym.named("T")


def shapes(min_rank: int = 2, max_rank: int = 5, max_size: int = 5) -> st.SearchStrategy:
    """Full shapes, batch first, of min_rank..max_rank axes."""
    return st.lists(st.integers(1, max_size), min_size=min_rank - 1, max_size=max_rank - 1).map(
        lambda sizes: TensorType((BATCH, *sizes))
    )


def refused(name: str, arguments: dict, inputs: list[TensorType]) -> ShapeError:
    with pytest.raises(ShapeError) as caught:
        infer(name, arguments, inputs)
    return caught.value


def as_given(draw: st.DrawFn, index: int, rank: int) -> int:
    """An axis index written either way torch accepts it: from the front or from the back."""
    return draw(st.sampled_from([index, index - rank]))


# --- agreement with torch -------------------------------------------------------------------------


@given(st.data(), shapes())
def test_flatten_matches_torch(data: st.DataObject, x: TensorType) -> None:
    start = data.draw(st.integers(1, x.rank - 1))
    end = data.draw(st.integers(start, x.rank - 1))
    arguments = {"start_dim": as_given(data.draw, start, x.rank)}
    if data.draw(st.booleans()):
        arguments["end_dim"] = as_given(data.draw, end, x.rank)
    check_against_torch("flatten", arguments, [x])


@given(st.data(), shapes(), st.lists(st.integers(1, 4), min_size=1, max_size=3))
def test_unflatten_matches_torch(data: st.DataObject, x: TensorType, sizes: list[int]) -> None:
    index = data.draw(st.integers(1, x.rank - 1))
    shape = list(x.shape)
    shape[index] = math.prod(sizes)
    if data.draw(st.booleans()):
        sizes[data.draw(st.integers(0, len(sizes) - 1))] = -1
    arguments = {"dim": as_given(data.draw, index, x.rank), "sizes": tuple(sizes)}
    check_against_torch("unflatten", arguments, [TensorType(tuple(shape))])


@given(st.data(), shapes(min_rank=1))
def test_reshape_matches_torch(data: st.DataObject, x: TensorType) -> None:
    total = dims.product(list(x.shape[1:]))
    target = []
    while total > 1 and data.draw(st.booleans()):
        factor = data.draw(st.sampled_from([d for d in range(1, total + 1) if total % d == 0]))
        target.append(factor)
        total //= factor
    target.append(total)
    target = data.draw(st.permutations(target))
    if data.draw(st.booleans()):
        target[data.draw(st.integers(0, len(target) - 1))] = -1
    inferred = check_against_torch("reshape", {"shape": tuple(target)}, [x])
    assert -1 not in inferred.outputs[0].shape


@given(shapes(min_rank=1))
def test_identity_matches_torch(x: TensorType) -> None:
    assert check_against_torch("identity", {}, [x]).outputs == (x,)


@given(st.data(), shapes())
def test_permute_matches_torch(data: st.DataObject, x: TensorType) -> None:
    rest = data.draw(st.permutations(range(1, x.rank)))
    order = [as_given(data.draw, i, x.rank) for i in (0, *rest)]
    check_against_torch("permute", {"dims": tuple(order)}, [x])


@given(st.data(), shapes())
def test_transpose_matches_torch(data: st.DataObject, x: TensorType) -> None:
    first, second = (data.draw(st.integers(1, x.rank - 1)) for _ in range(2))
    arguments = {"dim0": as_given(data.draw, first, x.rank), "dim1": second}
    check_against_torch("transpose", arguments, [x])


@given(st.data(), shapes(min_rank=1, max_rank=4))
def test_squeeze_and_unsqueeze_match_torch(data: st.DataObject, x: TensorType) -> None:
    index = data.draw(st.integers(1, x.rank))
    grown = check_against_torch("unsqueeze", {"dim": as_given(data.draw, index, x.rank + 1)}, [x])
    (y,) = grown.outputs
    assert y.shape[index] == 1
    shrunk = check_against_torch("squeeze", {"dim": as_given(data.draw, index, y.rank)}, [y])
    assert shrunk.outputs[0].shape == x.shape


@given(st.data(), shapes(min_rank=2, max_rank=4))
def test_select_matches_torch(data: st.DataObject, x: TensorType) -> None:
    axis = data.draw(st.integers(1, x.rank - 1))
    size = x.shape[axis]
    index = data.draw(st.integers(-size, size - 1))
    args = {"dim": as_given(data.draw, axis, x.rank), "index": index}
    (y,) = check_against_torch("select", args, [x]).outputs
    assert y.shape == x.shape[:axis] + x.shape[axis + 1 :]


@given(st.data(), shapes(), st.sampled_from(["mean", "sum", "amax"]), st.booleans())
def test_reductions_match_torch(
    data: st.DataObject, x: TensorType, name: str, keepdim: bool
) -> None:
    axes = data.draw(st.lists(st.integers(1, x.rank - 1), min_size=1, unique=True))
    written = tuple(as_given(data.draw, i, x.rank) for i in axes)
    dim = written[0] if len(written) == 1 and data.draw(st.booleans()) else written
    inferred = check_against_torch(name, {"dim": dim, "keepdim": keepdim}, [x])
    assert inferred.macs == 0 and not inferred.params


def test_flatten_emits_nn_flatten_with_only_changed_arguments() -> None:
    op, args, inferred = infer("flatten", {}, [TensorType((BATCH, 64, 7, 7))])
    assert op.torch_module(args, inferred).kwargs == ()
    assert inferred.outputs[0].shape == (BATCH, 3136)
    op, args, inferred = infer("flatten", {"start_dim": 2}, [TensorType((BATCH, 64, 7, 7))])
    assert op.torch_module(args, inferred).kwargs == (("start_dim", 2),)
    assert op.label(args, inferred) == "flatten 2"


def test_expressions_and_labels() -> None:
    x = TensorType((BATCH, 8, 4, 6))
    cases = [
        (
            "permute",
            {"dims": (0, 2, 3, 1)},
            "torch.permute({0}, (0, 2, 3, 1))",
            "permute (0, 2, 3, 1)",
        ),
        ("transpose", {"dim0": 1, "dim1": -1}, "torch.transpose({0}, 1, -1)", "transpose 1, -1"),
        ("unsqueeze", {"dim": 1}, "torch.unsqueeze({0}, 1)", "unsqueeze 1"),
        ("mean", {"dim": (2, 3)}, "torch.mean({0}, dim=(2, 3))", "mean (2, 3)"),
        ("sum", {"dim": 1, "keepdim": True}, "torch.sum({0}, dim=1, keepdim=True)", "sum 1, True"),
        ("reshape", {"shape": (16, -1)}, "torch.reshape({0}, (-1, 16, 12))", "reshape (16, 12)"),
    ]
    for name, arguments, written, label in cases:
        op, args, inferred = infer(name, arguments, [x])
        assert (expression(op.torch_expr(args, inferred)), op.label(args, inferred)) == (
            written,
            label,
        )


def test_sizes_may_be_given_as_a_tuple_or_one_number() -> None:
    op = ops.lookup("reshape")
    assert op is ops.lookup("view") and op.varargs and op.positional == ("shape",)
    assert op.Args(shape=-1).shape == (-1,)
    assert ops.lookup("permute").varargs and ops.lookup("unflatten").varargs


def test_axis_is_another_spelling_of_dim() -> None:
    _, _, inferred = infer("unflatten", {"axis": -1, "sizes": (2, 3)}, [TensorType((BATCH, 6))])
    assert inferred.outputs[0].shape == (BATCH, 2, 3)


@pytest.mark.parametrize(
    "arguments",
    [{"shape": (-1, -1)}, {"shape": (4, 0)}, {"shape": ()}, {"shape": (-2, 4)}],
)
def test_reshape_target_is_validated(arguments: dict) -> None:
    with pytest.raises(ArgumentError):
        ops.lookup("reshape").Args(**arguments)


def test_reductions_need_an_axis() -> None:
    Args = ops.lookup("mean").Args
    for arguments in ({}, {"dim": ()}):
        with pytest.raises(ArgumentError):
            Args(**arguments)


# --- diagnostics ----------------------------------------------------------------------------------


def test_reshape_element_count_mismatch_plugs_in_the_numbers() -> None:
    finding = refused("reshape", {"shape": (16, 50)}, [TensorType((BATCH, 64, 7, 7))]).finding
    assert (finding.code, finding.arg) == ("A309", "shape")
    assert (
        finding.message
        == "reshape to (16, 50) does not fit the 3136 elements of each sample of (N, 64, 7, 7)"
    )
    assert finding.with_ == "16*50 = 800, but each sample of (N, 64, 7, 7) has 64*7*7 = 3136"
    assert finding.rule == "product of the new sizes = product of the old; one -1 takes the rest"


def test_reshape_minus_one_that_does_not_divide() -> None:
    finding = refused("reshape", {"shape": (16, 3, -1)}, [TensorType((BATCH, 64, 7, 7))]).finding
    assert (finding.code, finding.arg) == ("A309", "shape")
    assert finding.with_ == "64*7*7 = 3136, not divisible by 16*3 = 48"
    assert finding.help == "choose sizes whose product divides 3136"


def test_unflatten_size_mismatch_names_the_axis() -> None:
    finding = refused(
        "unflatten", {"dim": 1, "sizes": (4, 5)}, [TensorType((BATCH, 64, 3))]
    ).finding
    assert (finding.code, finding.arg) == ("A309", "sizes")
    assert finding.with_ == "4*5 = 20, but axis 1 of (N, 64, 3) has 64"


def test_reshape_of_symbolic_shapes_where_decidable() -> None:
    x = TensorType((BATCH, 64, H, W))
    op, args, inferred = infer("reshape", {"shape": (8, -1)}, [x])
    assert str(inferred.outputs[0]) == "(N, 8, 8*H*W)"
    written = expression(op.torch_expr(args, inferred))
    assert written == "torch.flatten({0}, 1).unflatten(1, (8, -1))"
    concrete = eval(written.format("x"), {"torch": torch, "x": torch.zeros(2, 64, 3, 5)})
    assert concrete.shape == (2, 8, 8 * 3 * 5)
    _, _, inferred = infer("reshape", {"shape": (64, -1, 2)}, [TensorType((BATCH, 64, T, 2))])
    assert dims.same(inferred.outputs[0].shape[2], T)
    undecidable = refused("reshape", {"shape": (2, -1)}, [TensorType((BATCH, H, W))]).finding
    assert (undecidable.code, undecidable.arg) == ("A310", "shape")
    fixed = refused("reshape", {"shape": (4, 4)}, [TensorType((BATCH, T))]).finding
    assert fixed.code == "A310"


@pytest.mark.parametrize(
    ("op", "arguments", "x", "output", "elements", "row"),
    [
        ("reshape", {"shape": (-1, 16)}, (BATCH, T, 8), "(N, T//2, 16)", 8 * T, 16),
        ("reshape", {"shape": (3, -1)}, (BATCH, T + 1), "(N, 3, (T + 1)//3)", T + 1, 3),
        (
            "unflatten",
            {"dim": 1, "sizes": (-1, 4)},
            (BATCH, 2 * T, 3),
            "(N, T//2, 4, 3)",
            2 * T,
            4,
        ),
    ],
)
def test_rows_of_one_symbol_are_whole_for_some_of_its_values(
    op: str, arguments: dict, x: tuple, output: str, elements: dims.Dim, row: int
) -> None:
    """Where the -1 of a reshape is whole for some remainders of one symbol, the finding says
    which: elaboration makes it a rule on the input sizes (tests/test_size_rules.py)."""
    _, _, inferred = infer(op, arguments, [TensorType(x)])
    assert str(inferred.outputs[0]) == output
    (finding,) = inferred.findings
    assert finding.severity == "warning" and finding.equal is not None
    symbol, residues = dims.agreement(*finding.equal)
    assert symbol == "T"
    for t in range(1, 25):
        whole = dims.evaluate(elements, {"T": t}) % row == 0
        assert (t % residues.modulus in residues.allowed) == whole


def test_flatten_of_a_symbolic_shape_is_a_symbolic_product() -> None:
    _, _, inferred = infer("flatten", {}, [TensorType((BATCH, 64, H, W))])
    assert str(inferred.outputs[0]) == "(N, 64*H*W)"
    _, _, inferred = infer("flatten", {"start_dim": 2}, [TensorType((BATCH, 3, T, 4))])
    assert str(inferred.outputs[0]) == "(N, 3, 4*T)"


def test_flatten_refuses_the_batch_axis() -> None:
    finding = refused("flatten", {"start_dim": 0}, [TensorType((BATCH, 64, 7, 7))]).finding
    assert (finding.code, finding.arg) == ("A309", "start_dim")
    assert finding.help == "archc keeps the batch axis: the batch size is not part of a spec"


def test_flatten_end_before_start() -> None:
    finding = refused(
        "flatten", {"start_dim": 3, "end_dim": 2}, [TensorType((BATCH, 4, 5, 6))]
    ).finding
    assert (finding.code, finding.arg) == ("A309", "end_dim")


def test_axis_out_of_range() -> None:
    finding = refused("transpose", {"dim0": 1, "dim1": 4}, [TensorType((BATCH, 4, 5, 6))]).finding
    assert (finding.code, finding.arg) == ("A304", "dim1")
    assert finding.rule == "-4 <= dim1 < 4 (axis 0 is the batch)"
    assert finding.help == "axes count the batch as 0: use 1 to 3, or -3 to -1"


@pytest.mark.parametrize(
    ("name", "arguments", "arg"),
    [
        ("transpose", {"dim0": 0, "dim1": 1}, "dim0"),
        ("transpose", {"dim0": 1, "dim1": -3}, "dim1"),
        ("squeeze", {"dim": 0}, "dim"),
        ("unsqueeze", {"dim": 0}, "dim"),
        ("unsqueeze", {"dim": -4}, "dim"),
        ("mean", {"dim": (0, 1)}, "dim"),
        ("unflatten", {"dim": 0, "sizes": (1, -1)}, "dim"),
    ],
)
def test_axis_arguments_never_name_the_batch(name: str, arguments: dict, arg: str) -> None:
    finding = refused(name, arguments, [TensorType((BATCH, 1, 5))]).finding
    assert (finding.code, finding.arg) == ("A309", arg)


def test_permute_diagnostics() -> None:
    x = TensorType((BATCH, 3, 4, 5))
    moved = refused("permute", {"dims": (1, 0, 2, 3)}, [x]).finding
    assert (moved.code, moved.rule) == ("A309", "dims[0] == 0")
    assert refused("permute", {"dims": (0, 1, 1, 2)}, [x]).finding.code == "A309"
    short = refused("permute", {"dims": (0, 2, 1)}, [x]).finding
    assert (short.code, short.arg) == ("A304", "dims")


def test_select_is_out_of_range_past_the_axis() -> None:
    finding = refused("select", {"dim": 1, "index": 3}, [TensorType((BATCH, 3, 7))]).finding
    assert (finding.code, finding.arg, finding.with_) == (
        "A309",
        "index",
        "size(1) = 3, index = 3",
    )
    assert refused("select", {"dim": 0, "index": 0}, [TensorType((BATCH, 3))]).finding.arg == "dim"


def test_squeeze_needs_size_one() -> None:
    finding = refused("squeeze", {"dim": 2}, [TensorType((BATCH, 3, 7))]).finding
    assert (finding.code, finding.with_) == ("A309", "size(2) = 7")
    assert refused("squeeze", {"dim": 2}, [TensorType((BATCH, 3, T))]).finding.code == "A310"


def test_reduction_names_an_axis_twice() -> None:
    finding = refused("sum", {"dim": (1, -3)}, [TensorType((BATCH, 3, 4, 5))]).finding
    assert (finding.code, finding.arg) == ("A309", "dim")


def test_symbolic_dims_flow_through() -> None:
    x = TensorType((BATCH, 64, T))
    _, _, inferred = infer("transpose", {"dim0": 1, "dim1": 2}, [x])
    assert inferred.outputs[0].shape == (BATCH, T, 64)
    _, _, inferred = infer("mean", {"dim": -1, "keepdim": True}, [x])
    assert inferred.outputs[0].shape == (BATCH, 64, 1)
    _, _, inferred = infer("unflatten", {"dim": 1, "sizes": (8, -1)}, [x])
    assert inferred.outputs[0].shape == (BATCH, 8, 8, T)


def test_reshape_to_a_symbolic_size_reads_it_from_the_input() -> None:
    x = TensorType((BATCH, T, 512))
    op, args, inferred = infer("reshape", {"shape": (T, 8, -1)}, [x])
    assert str(inferred.outputs[0]) == "(N, T, 8, 64)"
    assert inferred.resolved == {"sources": (1, 0, 0)}
    assert expression(op.torch_expr(args, inferred)) == (
        "torch.reshape({0}, ({0}.shape[0], {0}.shape[1], 8, -1))"
    )
    # a symbolic product of sizes is checked as one
    finding = refused("reshape", {"shape": (T, 8, 32)}, [x])
    assert finding.finding.code == "A309"
    assert (
        finding.finding.with_ == "T*8*32 = 256*T, but each sample of (N, T, 512) has T*512 = 512*T"
    )


def test_reshape_to_a_size_no_axis_has_is_refused() -> None:
    # the elements fit, but generated code could only read H from the input's axes
    finding = refused("reshape", {"shape": (H, -1)}, [TensorType((BATCH, H * W, 64))]).finding
    assert (finding.code, finding.arg) == ("A310", "shape")
    assert finding.message == "reshape to the size H, which no axis of (N, H*W, 64) has"


# --- expand ----------------------------------------------------------------------------------------


@given(st.lists(st.integers(1, 4), min_size=1, max_size=3), shapes())
def test_expand_repeats_a_shared_tensor_over_the_batch(sizes: list[int], like: TensorType) -> None:
    inferred = check_against_torch("expand", {}, [TensorType((1, *sizes)), like])
    assert inferred.outputs[0] == TensorType((BATCH, *sizes))


def test_expand_refuses_a_tensor_with_a_batch_of_its_own() -> None:
    inputs = [TensorType((BATCH, 1, 8)), TensorType((BATCH, 4, 8))]
    finding = refused("expand", {}, inputs).finding
    assert finding.code == "A304" and finding.with_ == "x (N, 1, 8)"
