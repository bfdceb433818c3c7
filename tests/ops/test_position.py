"""sinusoidal_positions, learned_positions and rotary against torch and hand-written torch code."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from archc import api, runtime, torch_helpers
from archc.dims import BATCH, Sym, TensorType
from archc.ops.spec import Execution, Inferred, ShapeError
from tests.conftest import REFERENCE
from tests.ops.harness import check_against_reference, check_against_torch, infer

T = Sym.named("T")


def reference_models() -> dict[str, Any]:
    """The numbers measured with real torch."""
    data: dict[str, Any] = json.loads((REFERENCE / "reference.json").read_text(encoding="utf-8"))
    return data["models"]


def count(figure: str) -> int:
    return int(figure.replace(",", ""))


# --- hand-written references ---------------------------------------------------------------------


def rotate(x: torch.Tensor, base: float = 10000.0) -> torch.Tensor:
    """Rotary embedding, rotate-half convention, positions along axis -2."""
    width, length = x.size(-1), x.size(-2)
    freq = base ** (-torch.arange(0, width, 2, dtype=torch.float64) / width)
    angle = torch.arange(length, dtype=torch.float64)[:, None] * freq
    angle = torch.cat([angle, angle], dim=-1)
    first, second = x.chunk(2, dim=-1)
    rotated = torch.cat([-second, first], dim=-1)
    return x * angle.cos().to(x.dtype) + rotated * angle.sin().to(x.dtype)


class SinusoidalReference(nn.Module):
    """The PyTorch tutorial's PositionalEncoding, batch first, without its dropout."""

    def __init__(self, args: Any, inferred: Inferred) -> None:
        super().__init__()
        width = inferred.resolved["embed_dim"]
        position = torch.arange(args.max_len, dtype=torch.float32)[:, None]
        div = torch.exp(torch.arange(0, width, 2) * (-math.log(args.base) / width))
        pe = torch.zeros(args.max_len, width)
        pe[:, 0::2] = torch.sin(position * div)
        pe[:, 1::2] = torch.cos(position * div)
        self.register_buffer("pe", pe)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pe[: x.size(1)]


class HalvesReference(nn.Module):
    """fairseq's sinusoidal table (get_embedding): all sines, then all cosines, the i-th of
    h = E/2 frequencies base^(-i/(h-1)); without its padding offset."""

    def __init__(self, args: Any, inferred: Inferred) -> None:
        super().__init__()
        half = inferred.resolved["embed_dim"] // 2
        step = math.log(args.base) / (half - 1)
        frequencies = torch.exp(torch.arange(half, dtype=torch.float) * -step)
        angles = torch.arange(args.max_len, dtype=torch.float)[:, None] * frequencies[None, :]
        self.register_buffer("pe", torch.cat([torch.sin(angles), torch.cos(angles)], dim=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pe[: x.size(1)]


class RotaryReference(nn.Module):
    def __init__(self, args: Any, inferred: Inferred) -> None:
        super().__init__()
        self.base = args.base

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return rotate(x, self.base)


# --- sinusoidal ----------------------------------------------------------------------------------


@given(
    st.integers(1, 8).map(lambda half: 2 * half),
    st.integers(1, 8),
    st.integers(0, 8),
    st.sampled_from([10000.0, 500.0]),
)
def test_sinusoidal_matches_reference(width: int, length: int, spare: int, base: float) -> None:
    arguments = {"max_len": length + spare, "base": base}
    inferred = check_against_reference(
        "sinusoidal_positions",
        arguments,
        [TensorType((BATCH, length, width))],
        SinusoidalReference,
    )
    assert inferred.params == {} and inferred.macs == 0


def test_sinusoidal_table_is_the_documented_formula() -> None:
    _, args, inferred = infer(
        "sinusoidal_positions", {"max_len": 50}, [TensorType((BATCH, 7, 16))]
    )
    pe = SinusoidalReference(args, inferred).pe
    for t, i in [(0, 0), (3, 2), (49, 7)]:
        angle = t / 10000 ** (2 * i / 16)
        assert pe[t, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-5)
        assert pe[t, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-5)


@pytest.mark.parametrize(
    ("name", "arguments", "reference"),
    [
        ("sinusoidal_positions", {"max_len": 64}, SinusoidalReference),
        ("sinusoidal_positions", {"max_len": 9, "base": 100.0}, SinusoidalReference),
        ("sinusoidal_positions", {"max_len": 64, "layout": "halves"}, HalvesReference),
        (
            "sinusoidal_positions",
            {"max_len": 9, "layout": "halves", "base": 10.0},
            HalvesReference,
        ),
        ("rotary", {}, RotaryReference),
        ("rotary", {"base": 500.0}, RotaryReference),
    ],
)
def test_generated_module_computes_what_the_reference_computes(
    name: str, arguments: dict[str, Any], reference: Any
) -> None:
    op, args, inferred = infer(name, arguments, [TensorType((BATCH, 7, 16))])
    ctor = op.torch_module(args, inferred)
    generated = getattr(torch_helpers, ctor.path)(*ctor.args, **dict(ctor.kwargs))
    expected = reference(args, inferred)
    x = torch.randn(2, 7, 16)
    torch.testing.assert_close(generated(x), expected(x))
    assert {k: tuple(v.shape) for k, v in generated.state_dict().items()} == inferred.buffers


def test_sinusoidal_label_and_buffer() -> None:
    op, args, inferred = infer("sinusoidal_positions", {}, [TensorType((BATCH, 7, 16))])
    assert inferred.buffers == {"pe": (5000, 16)}
    assert op.label(args, inferred) == "sinusoidal positions ≤5000"


def test_sinusoidal_halves_are_sines_then_cosines() -> None:
    _, args, inferred = infer(
        "sinusoidal_positions", {"max_len": 50, "layout": "halves"}, [TensorType((BATCH, 7, 16))]
    )
    pe = HalvesReference(args, inferred).pe
    for t, i in [(0, 0), (3, 2), (49, 7)]:
        angle = t / 10000 ** (i / 7)
        assert pe[t, i].item() == pytest.approx(math.sin(angle), abs=1e-5)
        assert pe[t, 8 + i].item() == pytest.approx(math.cos(angle), abs=1e-5)
    op, args, inferred = infer(
        "sinusoidal_positions", {"layout": "halves"}, [TensorType((BATCH, 7, 16))]
    )
    assert op.label(args, inferred) == "sinusoidal positions ≤5000, halves"
    with pytest.raises(ShapeError) as caught:
        infer("sinusoidal_positions", {"layout": "halves"}, [TensorType((BATCH, 4, 2))])
    assert (caught.value.finding.rule, caught.value.finding.with_) == ("E >= 4", "E = 2")


def test_sinusoidal_needs_an_even_width() -> None:
    with pytest.raises(ShapeError) as caught:
        infer("sinusoidal_positions", {}, [TensorType((BATCH, 4, 7))])
    finding = caught.value.finding
    assert (finding.code, finding.rule, finding.with_) == ("A305", "E % 2 == 0", "7 % 2 = 1")


@pytest.mark.parametrize("interleaved", [False, True])
@pytest.mark.parametrize("heads", [0, 3])
def test_rotary_turns_each_token_by_the_position_id_it_is_given(
    interleaved: bool, heads: int
) -> None:
    shape = (BATCH, heads, 5, 8) if heads else (BATCH, 5, 8)
    ids = TensorType((BATCH, 5), "int64")
    op, args, inferred = infer("rotary", {"interleaved": interleaved}, [TensorType(shape), ids])
    ctor = op.torch_module(args, inferred)
    module = torch_helpers.Rotary(**dict(ctor.kwargs))
    x = torch.randn(2, *shape[1:], dtype=torch.float64)
    positions = torch.tensor([[4, 0, 9, 2, 2], [0, 1, 2, 3, 4]])
    # by hand: pair (a, b) of token t turns by the angle positions[t] * 10000^(-2i/8)
    angle = positions[..., None].double() * 10000.0 ** (-torch.arange(0, 8, 2) / 8).double()
    angle = angle[:, None] if heads else angle
    pairs = x.unflatten(-1, (4, 2)) if interleaved else x.unflatten(-1, (2, 4)).transpose(-1, -2)
    a, b = pairs[..., 0], pairs[..., 1]
    turned = torch.stack(
        [a * angle.cos() - b * angle.sin(), b * angle.cos() + a * angle.sin()], -1
    )
    expected = turned.flatten(-2) if interleaved else turned.transpose(-1, -2).flatten(-2)
    got = eval(
        ctor.call.format("x", "p", m="m", inputs="x, p"), {"m": module, "x": x, "p": positions}
    )
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
    with pytest.raises(ShapeError) as caught:
        infer("rotary", {"offset": 3}, [TensorType(shape), ids])
    assert (caught.value.finding.code, caught.value.finding.arg) == ("A309", "offset")


# --- learned -------------------------------------------------------------------------------------


@given(st.integers(1, 16), st.integers(1, 8), st.integers(0, 8))
def test_learned_matches_torch(width: int, length: int, spare: int) -> None:
    inferred = check_against_torch(
        "learned_positions", {"max_len": length + spare}, [TensorType((BATCH, length, width))]
    )
    assert inferred.params == {"weight": (length + spare, width)}


def test_learned_adds_the_first_rows_of_the_table() -> None:
    op, args, inferred = infer("learned_positions", {"max_len": 9}, [TensorType((BATCH, 4, 6))])
    ctor = op.torch_module(args, inferred)
    module = nn.Embedding(*ctor.args)
    x = torch.randn(2, 4, 6)
    code = ctor.call.format("x", m="m")
    with torch.no_grad():
        result = eval(code, {"torch": torch, "m": module, "x": x})
        torch.testing.assert_close(result, x + module.weight[:4])
    assert op.label(args, inferred) == "learned positions ≤9"


def test_frozen_learned_positions_are_held_out_of_training(tmp_path: Path) -> None:
    inferred = check_against_torch(
        "learned_positions", {"max_len": 9, "frozen": True}, [TensorType((BATCH, 4, 6))]
    )
    assert inferred.resolved["frozen"] == ("weight",)
    path = tmp_path / "frozen.arch"
    path.write_text(FROZEN, encoding="utf-8")
    (network,), _ = api.analyse(str(path))
    assert network.param_count == 10 * 8 + 8 * 8 + 8 and network.trainable_count == 8 * 8 + 8
    model = runtime.build(str(path))
    assert [n for n, p in model.named_parameters() if not p.requires_grad] == [
        "embed_positions.weight"
    ]
    assert "nn.Embedding(10, 8, _freeze=True)" in api.compile_source(str(path))


# A table of sinusoids held as a parameter that is never trained, as Whisper's encoder holds it
FROZEN = """
network Encoder {
    in x: [6, 8]
    out x -> learned_positions(10, frozen=true) as embed_positions -> linear(8) as fc
    init embed_positions.weight: sinusoidal(layout="halves")
}
"""


@given(st.integers(1, 16), st.integers(1, 8), st.integers(4, 8))
def test_learned_reads_the_position_ids_it_is_given(width: int, length: int, rows: int) -> None:
    x, ids = TensorType((BATCH, length, width)), TensorType((BATCH, length), "int64")
    op, args, inferred = infer("learned_positions", {"max_len": rows}, [x, ids])
    assert inferred.params == {"weight": (rows, width)}
    ctor = op.torch_module(args, inferred)
    module = nn.Embedding(*ctor.args)
    values = torch.randn(2, length, width)
    positions = torch.randint(0, rows, (2, length))
    with torch.no_grad():
        result = eval(
            ctor.call.format("x", "p", m="m"), {"m": module, "x": values, "p": positions}
        )
        torch.testing.assert_close(result, values + module.weight[positions])


@given(st.integers(1, 16), st.integers(1, 8), st.integers(1, 4), st.integers(0, 4))
def test_learned_with_an_offset_matches_torch(
    width: int, length: int, offset: int, spare: int
) -> None:
    inferred = check_against_torch(
        "learned_positions",
        {"max_len": length + offset + spare, "offset": offset},
        [TensorType((BATCH, length, width))],
    )
    assert inferred.params == {"weight": (length + offset + spare, width)}


def test_learned_offset_skips_the_first_rows_of_the_table() -> None:
    # OPT's table: position t is row t + 2, the ids given too
    x = TensorType((BATCH, 4, 6))
    op, args, inferred = infer("learned_positions", {"max_len": 9, "offset": 2}, [x])
    ctor = op.torch_module(args, inferred)
    module = nn.Embedding(*ctor.args)
    values = torch.randn(2, 4, 6)
    with torch.no_grad():
        result = eval(ctor.call.format("x", m="m"), {"torch": torch, "m": module, "x": values})
        torch.testing.assert_close(result, values + module.weight[2:6])
    assert op.label(args, inferred) == "learned positions ≤9, from row 2"
    ids = TensorType((BATCH, 4), "int64")
    op, args, inferred = infer("learned_positions", {"max_len": 9, "offset": 2}, [x, ids])
    ctor = op.torch_module(args, inferred)
    positions = torch.tensor([[0, 1, 2, 3], [-1, -1, 0, 1]])  # OPT gives padding -1
    with torch.no_grad():
        result = eval(
            ctor.call.format("x", "p", m="m"), {"m": module, "x": values, "p": positions}
        )
        torch.testing.assert_close(result, values + module.weight[positions + 2])


def test_learned_offset_leaves_fewer_rows_for_the_sequence() -> None:
    with pytest.raises(ShapeError) as caught:
        infer("learned_positions", {"max_len": 10, "offset": 2}, [TensorType((BATCH, 9, 8))])
    finding = caught.value.finding
    assert (finding.code, finding.arg, finding.rule) == (
        "A309",
        "max_len",
        "T + offset <= max_len",
    )
    assert finding.with_ == "T + offset = 9 + 2 = 11 > max_len = 10"
    assert finding.help == "set max_len to at least 11"
    with pytest.raises(ShapeError) as caught:
        infer("learned_positions", {"max_len": 2, "offset": 2}, [TensorType((BATCH, T, 8))])
    finding = caught.value.finding
    assert (finding.code, finding.arg, finding.rule) == ("A309", "offset", "offset < max_len")


def test_position_ids_are_integers_one_per_position() -> None:
    x = TensorType((BATCH, T, 8))
    with pytest.raises(ShapeError) as caught:
        infer("learned_positions", {"max_len": 9}, [x, TensorType((BATCH, T))])
    assert caught.value.finding.code == "A308"
    with pytest.raises(ShapeError) as caught:
        infer("learned_positions", {"max_len": 9}, [x, TensorType((BATCH, 5), "int64")])
    finding = caught.value.finding
    assert finding.code == "A307"
    assert finding.rule == "positions (N, T) for x (N, T, E) or (N, heads, T, head_dim)"
    assert finding.with_ == "x (N, T, 8), positions (N, 5) int64"


def test_learned_tables_match_gpt2_and_bert() -> None:
    models = reference_models()
    gpt2 = re.search(r"wpe ([\d,]+)", models["gpt2_small_plain_tied"]["formula"])
    bert = re.search(r"embeddings [\d,]+ \+ ([\d,]+)", models["bert_base_plain"]["formula"])
    assert gpt2 and bert
    for max_len, figure in [(1024, gpt2[1]), (512, bert[1])]:
        _, _, inferred = infer(
            "learned_positions", {"max_len": max_len}, [TensorType((BATCH, T, 768))]
        )
        assert math.prod(inferred.params["weight"]) == count(figure)


@pytest.mark.parametrize("name", ["learned_positions", "sinusoidal_positions"])
def test_table_shorter_than_the_sequence(name: str) -> None:
    with pytest.raises(ShapeError) as caught:
        infer(name, {"max_len": 10}, [TensorType((BATCH, 12, 8))])
    finding = caught.value.finding
    assert (finding.code, finding.arg, finding.rule) == ("A309", "max_len", "T <= max_len")
    assert finding.with_ == "T = 12 > max_len = 10"
    assert finding.help == "set max_len to at least 12"


@pytest.mark.parametrize("name", ["learned_positions", "sinusoidal_positions", "rotary"])
def test_symbolic_length_flows_through(name: str) -> None:
    _, _, inferred = infer(
        name, {"max_len": 64} if "positions" in name else {}, [TensorType((BATCH, T, 8))]
    )
    assert str(inferred.outputs[0]) == "(N, T, 8)"
    assert all(isinstance(d, int) for shape in inferred.params.values() for d in shape)


@pytest.mark.parametrize("name", ["learned_positions", "sinusoidal_positions", "rotary"])
def test_rank_and_fixed_width(name: str) -> None:
    arguments = {"max_len": 64} if "positions" in name else {}
    with pytest.raises(ShapeError) as caught:
        infer(name, arguments, [TensorType((BATCH, 8))])
    assert caught.value.finding.code == "A304"
    with pytest.raises(ShapeError) as caught:
        infer(name, arguments, [TensorType((BATCH, 5, Sym.named("E")))])
    assert caught.value.finding.code == "A310"


# --- rotary --------------------------------------------------------------------------------------


@given(
    st.booleans(),
    st.integers(1, 6).map(lambda half: 2 * half),
    st.integers(1, 6),
    st.sampled_from([10000.0, 100.0]),
)
def test_rotary_matches_reference(per_head: bool, width: int, length: int, base: float) -> None:
    shape = (BATCH, 3, length, width) if per_head else (BATCH, length, width)
    inferred = check_against_reference(
        "rotary", {"base": base}, [TensorType(shape)], RotaryReference
    )
    assert inferred.params == {} and inferred.buffers == {}


def test_rotary_reference_is_the_documented_rotation() -> None:
    # the rotate-half form rotates each pair (x_i, x_(i + D/2)) by the angle t * base^(-2i/D)
    x = torch.randn(1, 5, 8, dtype=torch.float64)
    pairs = torch.complex(x[..., :4], x[..., 4:])
    angle = torch.arange(5, dtype=torch.float64)[:, None] * 10000 ** (-torch.arange(0, 8, 2) / 8)
    turned = pairs * torch.polar(torch.ones_like(angle), angle)
    torch.testing.assert_close(rotate(x), torch.cat([turned.real, turned.imag], dim=-1))


def test_rotary_scores_depend_on_relative_position_only() -> None:
    q, k = torch.randn(1, 1, 8, dtype=torch.float64), torch.randn(1, 1, 8, dtype=torch.float64)
    at = lambda v, t: rotate(v.expand(1, t + 1, 8))[0, t]  # noqa: E731
    torch.testing.assert_close(at(q, 5) @ at(k, 2), at(q, 7) @ at(k, 4))


def test_rotary_needs_an_even_width() -> None:
    op, args, inferred = infer("rotary", {}, [TensorType((BATCH, 4, T, 6))])
    assert op.label(args, inferred) == "rotary"
    with pytest.raises(ShapeError) as caught:
        infer("rotary", {}, [TensorType((BATCH, 4, T, 5))])
    finding = caught.value.finding
    assert (finding.code, finding.rule, finding.with_) == ("A305", "D % 2 == 0", "5 % 2 = 1")
    assert finding.help == "use an even D: 4 or 6"


def generated_rotary(arguments: dict[str, Any], shape: tuple[Any, ...]) -> nn.Module:
    """The Rotary module generated code builds for these arguments."""
    op, args, inferred = infer("rotary", arguments, [TensorType(shape)])
    ctor = op.torch_module(args, inferred)
    return getattr(torch_helpers, ctor.path)(*ctor.args, **dict(ctor.kwargs))


@given(
    st.integers(1, 4).map(lambda half: 2 * half),
    st.integers(1, 5),
    st.sampled_from([{}, {"interleaved": True}, {"fraction": 0.5}, {"offset": 3}]),
)
def test_rotary_variants_match_their_reference_semantics(
    width: int, length: int, variant: dict[str, Any]
) -> None:
    if variant.get("fraction") and width % 4:
        width *= 2  # half of the width must be even too
    inferred = check_against_torch("rotary", variant, [TensorType((BATCH, 2, length, width))])
    assert inferred.params == {} and inferred.buffers == {}


def test_interleaved_rotary_is_the_half_split_of_permuted_features() -> None:
    # GPT-J pairs neighbours (2i, 2i + 1) where GPT-NeoX pairs (i, i + D/2): the same rotation
    # once the features are reordered evens first
    x = torch.randn(2, 3, 5, 8, dtype=torch.float64)
    evens_first = torch.cat([torch.arange(0, 8, 2), torch.arange(1, 8, 2)])
    half = generated_rotary({}, (BATCH, 3, 5, 8))
    interleaved = generated_rotary({"interleaved": True}, (BATCH, 3, 5, 8))
    torch.testing.assert_close(
        interleaved(x)[..., evens_first], half(x[..., evens_first]), rtol=0, atol=1e-12
    )


def test_partial_rotary_rotates_the_leading_features_only() -> None:
    # a quarter of 16 features is 4: those turn as a 4-wide rotary would, the rest pass
    x = torch.randn(2, 5, 16, dtype=torch.float64)
    partial = generated_rotary({"fraction": 0.25}, (BATCH, 5, 16))
    whole = generated_rotary({}, (BATCH, 5, 4))
    torch.testing.assert_close(partial(x)[..., :4], whole(x[..., :4]), rtol=0, atol=1e-12)
    assert torch.equal(partial(x)[..., 4:], x[..., 4:])


def test_offset_rotary_continues_the_positions() -> None:
    x = torch.randn(1, 9, 8, dtype=torch.float64)
    later = generated_rotary({"offset": 4}, (BATCH, 5, 8))
    torch.testing.assert_close(later(x[:, 4:]), rotate(x)[:, 4:], rtol=0, atol=1e-6)


def test_rotary_angles_are_hugging_faces() -> None:
    # inv_freq = 1 / base ** (arange(0, D, 2) / D) in float32, exactly as Hugging Face's
    # rotary embeddings compute it, so that a loaded checkpoint rotates as it was trained
    x = torch.zeros(1, 3, 8, dtype=torch.float64)
    x[..., 3] = 1.0  # pair 3 = (3, 7), the slowest frequency, turns (1, 0) to (cos, sin)
    y = generated_rotary({"base": 500.0}, (BATCH, 3, 8))(x)
    inv_freq = 1.0 / (500.0 ** (torch.arange(0, 8, 2, dtype=torch.int64).float() / 8))
    angles = torch.arange(3, dtype=torch.float32) * inv_freq[3]
    assert torch.equal(y[0, :, 3], angles.cos().double())
    assert torch.equal(y[0, :, 7], angles.sin().double())


@pytest.mark.parametrize(
    ("arguments", "label"),
    [
        ({"fraction": 0.25}, "rotary 4 of 16"),
        ({"interleaved": True}, "rotary, interleaved"),
    ],
)
def test_rotary_variant_labels(arguments: dict[str, Any], label: str) -> None:
    op, args, inferred = infer("rotary", arguments, [TensorType((BATCH, T, 16))])
    assert op.label(args, inferred) == label


def test_partial_rotary_needs_an_even_positive_share() -> None:
    with pytest.raises(ShapeError) as caught:
        infer("rotary", {"fraction": 0.375}, [TensorType((BATCH, T, 8))])
    finding = caught.value.finding
    assert (finding.code, finding.arg, finding.with_) == ("A305", "fraction", "3 % 2 = 1")
    with pytest.raises(ShapeError) as caught:
        infer("rotary", {"fraction": 0.1}, [TensorType((BATCH, T, 8))])
    finding = caught.value.finding
    assert (finding.code, finding.with_) == ("A349", "int(8 * 0.1) = 0")
    assert finding.help == "use a fraction of at least 0.25"
    # a fraction of an odd width may still rotate an even share
    _, _, inferred = infer("rotary", {"fraction": 0.5}, [TensorType((BATCH, T, 9))])
    assert inferred.resolved["rotary_dim"] == 4


def test_partial_rotary_follows_the_width_it_is_given() -> None:
    # the module keeps the share of features it rotates, not their count, so one written for
    # heads 8 wide rotates a quarter of heads 16 wide too (GPT-NeoX's rotary_pct)
    op, args, inferred = infer("rotary", {"fraction": 0.25}, [TensorType((BATCH, 5, 8))])
    module = torch_helpers.Rotary(**dict(op.torch_module(args, inferred).kwargs))
    wider = TensorType((BATCH, 5, 16))
    _, _, resolved = infer("rotary", {"fraction": 0.25}, [wider])
    assert resolved.resolved["rotary_dim"] == 4
    x = torch.randn(2, 5, 16, dtype=torch.float64)
    (expected,) = op.execute(args, resolved, Execution(torch, (x,)))
    torch.testing.assert_close(module(x), expected, rtol=0, atol=1e-12)
    assert torch.equal(module(x)[..., 4:], x[..., 4:])
