"""embedding against torch: output shape, weight shape, index dtype and padding_idx checks."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from archc.dims import BATCH, Sym, TensorType
from tests.ops.harness import check_against_torch, diagnose, infer


@st.composite
def embedding_cases(draw: st.DrawFn) -> tuple[dict, TensorType]:
    # the harness draws ids below 4, so every table has at least 4 rows
    rows = draw(st.integers(4, 50))
    args = {
        "num_embeddings": rows,
        "embedding_dim": draw(st.integers(1, 16)),
        "padding_idx": draw(st.none() | st.integers(-rows, rows - 1)),
        "max_norm": draw(st.none() | st.floats(0.5, 2.0)),
        "scale_grad_by_freq": draw(st.booleans()),
        "sparse": draw(st.booleans()),
    }
    shape = tuple(draw(st.integers(1, 4)) for _ in range(draw(st.integers(0, 2))))
    return args, TensorType((BATCH, *shape), "int64")


@given(embedding_cases())
def test_embedding_matches_torch(case: tuple[dict, TensorType]) -> None:
    args, x = case
    inferred = check_against_torch("embedding", args, [x])
    assert inferred.macs == 0


def test_token_embedding() -> None:
    T = Sym.named("T")
    op, args, inferred = infer(
        "embedding",
        {"num_embeddings": 50257, "embedding_dim": 768},
        [TensorType((BATCH, T), "int64")],
    )
    assert str(inferred.outputs[0]) == "(N, T, 768)"
    assert inferred.params == {"weight": (50257, 768)}
    assert op.label(args, inferred) == "embedding 50257×768"
    ctor = op.torch_module(args, inferred)
    assert (ctor.path, ctor.args, ctor.kwargs) == ("nn.Embedding", (50257, 768), ())


def test_padding_idx_is_spelled_out() -> None:
    x = TensorType((BATCH, 5), "int64")
    op, args, inferred = infer(
        "embedding", {"num_embeddings": 10, "embedding_dim": 4, "padding_idx": -1}, [x]
    )
    assert op.torch_module(args, inferred).kwargs == (("padding_idx", -1),)


def test_int32_ids_are_accepted() -> None:
    x = TensorType((BATCH, 5), "int32")
    _, _, inferred = infer("embedding", {"num_embeddings": 10, "embedding_dim": 4}, [x])
    assert inferred.outputs[0].shape == (BATCH, 5, 4)


def test_float_input_is_a_dtype_error() -> None:
    finding = diagnose(
        "embedding", {"num_embeddings": 10, "embedding_dim": 4}, [TensorType((BATCH, 5))]
    )
    assert finding.code == "A308"
    assert finding.rule == "input dtype = int64"
    assert finding.help == "declare the input as integer ids, e.g. `in tokens: int64[T]`"


def test_padding_idx_out_of_range() -> None:
    x = TensorType((BATCH, 5), "int64")
    for bad in (10, -11):
        args = {"num_embeddings": 10, "embedding_dim": 4, "padding_idx": bad}
        finding = diagnose("embedding", args, [x])
        assert finding.code == "A309" and finding.arg == "padding_idx"
        assert finding.with_ == f"padding_idx={bad}, num_embeddings=10"
        assert finding.help == "use a padding_idx from -10 to 9"


@given(
    st.lists(st.integers(1, 6), min_size=1, max_size=3),
    st.lists(st.integers(1, 5), min_size=1, max_size=3),
    st.sampled_from([0.0, 0.02]),
)
def test_parameter_matches_torch(shape: list[int], input_shape: list[int], std: float) -> None:
    x = TensorType((BATCH, *input_shape))
    inferred = check_against_torch("parameter", {"shape": tuple(shape), "std": std}, [x])
    assert inferred.params == {"": (1, *shape)}
    assert inferred.outputs[0].shape == (BATCH, *shape)


@given(
    st.lists(st.integers(1, 6), min_size=1, max_size=3),
    st.lists(st.integers(1, 5), min_size=1, max_size=3),
    st.booleans(),
)
def test_exact_parameter_is_held_as_written(
    shape: list[int], input_shape: list[int], frozen: bool
) -> None:
    x = TensorType((BATCH, *input_shape))
    arguments = {"shape": tuple(shape), "exact": True, "frozen": frozen}
    inferred = check_against_torch("parameter", arguments, [x])
    assert inferred.params == {"": tuple(shape)}
    assert inferred.outputs[0].shape == (1, *shape)
    assert inferred.resolved.get("frozen") == (("",) if frozen else None)


def test_parameter_needs_a_shape_of_positive_sizes() -> None:
    from archc.ops.schema import ArgumentError

    op, _, _ = infer("parameter", {"shape": (1, 4)}, [TensorType((BATCH, 3))])
    for bad in [(), (0, 4), (1, -2)]:
        try:
            op.Args(shape=bad)
        except ArgumentError:
            continue
        raise AssertionError(f"shape {bad} was accepted")
