"""attention's relative position bias (T5) and its second output, the bias it added.

The module generated code builds (archc/torch_helpers.py) and the reference semantics
(archc/ops/relative.py) bucket offsets each their own way; they are compared with each other over
every layout, with masks and memories (hypothesis), with the buckets T5's paper describes, and,
where transformers is installed, with T5's own bucketing.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from archc.dims import BATCH, TensorType
from archc.ops import relative
from archc.ops.spec import ShapeError
from archc.torch_helpers import RelativePositionBias
from tests.ops.harness import check_against_torch, infer, make_input, one_thread
from tests.ops.test_attention import build_generated

T5_NAMES = {"layout": "linears", "names": ("q", "k", "v", "o"), "bias": False}


@st.composite
def relative_cases(draw: st.DrawFn) -> tuple[dict[str, Any], list[TensorType]]:
    causal = draw(st.booleans())
    heads = draw(st.integers(1, 3))
    arguments: dict[str, Any] = {
        "heads": heads,
        "causal": causal,
        "relative_buckets": draw(st.integers(2 if causal else 4, 12)),
        "return_position_bias": draw(st.booleans()),
        "layout": draw(st.sampled_from(["torch", "linears"])),
    }
    side = relative.per_direction(arguments["relative_buckets"], not causal)
    arguments["relative_max_distance"] = draw(st.integers(side // 2 + 1, 12))
    if draw(st.booleans()):
        arguments["scale"] = 1.0
    queries = draw(st.integers(1, 9))
    inputs = [TensorType((BATCH, queries, 2 * heads))]
    keys = queries
    if not causal and draw(st.booleans()):  # cross-attention over a memory of its own width
        keys = draw(st.integers(1, 9))
        inputs.append(TensorType((BATCH, keys, draw(st.integers(1, 5)))))
    mask = draw(st.sampled_from(["none", "padding", "bias"]))
    if mask == "padding":
        inputs.append(TensorType((BATCH, keys), "bool"))
    elif mask == "bias":
        inputs.append(TensorType((draw(st.sampled_from([1, BATCH])), heads, queries, keys)))
    return arguments, inputs


@given(relative_cases())
def test_relative_bias_module_computes_the_reference(
    case: tuple[dict[str, Any], list[TensorType]],
) -> None:
    # counts, shapes, and values in float64 in eval and training, both outputs
    arguments, inputs = case
    inferred = check_against_torch("attention", arguments, inputs)
    heads, buckets = arguments["heads"], arguments["relative_buckets"]
    assert inferred.params["relative_attention_bias.weight"] == (buckets, heads)
    assert len(inferred.outputs) == (2 if arguments["return_position_bias"] else 1)


def test_buckets_are_the_papers() -> None:
    # T5's 32 bidirectional buckets reaching 128: offsets 0..7 to keys before the query (or the
    # query itself) get buckets 0..7, to keys after it 16 + 1..7; from 8 on, buckets spread
    # log-spaced to 15 (31 after), which every distance from 128 on shares
    module = RelativePositionBias(32, 1, 128, bidirectional=True)
    offsets = torch.tensor([0, -1, -7, -8, -16, -32, -64, -127, -128, -1000, 1, 7, 8, 1000])
    expected = [0, 1, 7, 8, 10, 12, 14, 15, 15, 15, 17, 23, 24, 31]
    assert module.bucket(offsets).tolist() == expected
    causal = RelativePositionBias(32, 1, 128, bidirectional=False)
    assert causal.bucket(torch.tensor([1, 5, 0, -1, -15, -16, -128])).tolist() == [
        0,
        0,
        0,
        1,
        15,
        16,
        31,
    ]


@pytest.mark.parametrize(
    ("buckets", "max_distance", "bidirectional"),
    [(32, 128, True), (32, 128, False), (8, 20, True), (2, 3, False), (33, 100, True)],
)
def test_reference_bias_is_the_modules(
    buckets: int, max_distance: int, bidirectional: bool
) -> None:
    # the helper's embedding lookup and the reference's indexing, offsets up to 300 apart
    module = RelativePositionBias(buckets, 3, max_distance, bidirectional).double()
    offset = torch.arange(300)[None, :] - torch.arange(250)[:, None]
    with torch.no_grad():
        expected = module(offset)
        got = relative.bias(torch, module.weight, 250, 300, max_distance, bidirectional)
    assert torch.equal(got, expected)


def test_buckets_are_t5s() -> None:
    t5 = pytest.importorskip("transformers.models.t5.modeling_t5")
    offset = torch.arange(400)[None, :] - torch.arange(400)[:, None]
    for buckets, max_distance, bidirectional in [(32, 128, True), (32, 128, False), (6, 9, True)]:
        expected = t5.T5Attention._relative_position_bucket(
            offset, bidirectional=bidirectional, num_buckets=buckets, max_distance=max_distance
        )
        module = RelativePositionBias(buckets, 1, max_distance, bidirectional)
        assert torch.equal(module.bucket(offset), expected)


def test_later_layers_take_the_first_ones_bias() -> None:
    # T5: the first layer's attention computes the bias with the padding folded in; a later
    # layer given it as its mask adds exactly that, as if it held the table itself
    x = torch.randn(2, 6, 8)
    keep = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]])
    arguments = {"heads": 2, "relative_buckets": 8, "return_position_bias": True, **T5_NAMES}
    inputs = [TensorType((BATCH, 6, 8)), TensorType((BATCH, 6), "int64")]
    first, _ = build_generated(*infer("attention", arguments, inputs))
    later_inputs = [TensorType((BATCH, 6, 8)), TensorType((BATCH, 2, 6, 6))]
    later, _ = build_generated(*infer("attention", {"heads": 2, **T5_NAMES}, later_inputs))
    state = {k: v for k, v in first.state_dict().items() if not k.startswith("relative")}
    later.load_state_dict(state, strict=True)
    with torch.no_grad(), one_thread():
        out, bias = first(x, mask=keep)
        assert bias.shape == (2, 2, 6, 6)
        torch.testing.assert_close(later(x, mask=bias), out)
        assert (bias[1, :, :, 4:] == torch.finfo(bias.dtype).min).all()


def test_relative_bias_takes_its_place_in_the_output() -> None:
    arguments = {"heads": 4, "relative_buckets": 32, "return_position_bias": True}
    op, args, inferred = infer("attention", arguments, [TensorType((BATCH, 7, 16))])
    assert [t.shape for t in inferred.outputs] == [(BATCH, 7, 16), (1, 4, 7, 7)]
    assert op.label(args, inferred) == "attention 4 heads, relative bias"
    module, ctor = build_generated(op, args, inferred)
    assert ctor.cached_call is None  # the bias is not carried on from a cache
    assert module.relative_attention_bias.weight.shape == (32, 4)
    out, bias = module(make_input(inferred.outputs[0]))
    assert out.shape == (2, 7, 16) and bias.shape == (1, 4, 7, 7)


@pytest.mark.parametrize(
    ("arguments", "arg", "with_"),
    [
        ({"relative_buckets": 3}, "relative_buckets", "buckets / 2 = 1 < 2"),
        ({"relative_buckets": 1, "causal": True}, "relative_buckets", "buckets = 1 < 2"),
        ({"relative_buckets": 32, "relative_max_distance": 8}, "relative_max_distance", "8 <= 8"),
    ],
)
def test_too_few_buckets_are_explained(arguments: dict[str, Any], arg: str, with_: str) -> None:
    with pytest.raises(ShapeError) as caught:
        infer("attention", {"heads": 2, **arguments}, [TensorType((BATCH, 5, 8))])
    finding = caught.value.finding
    assert (finding.code, finding.arg, finding.with_) == ("A353", arg, with_)


def test_max_distance_needs_buckets_unless_they_are_written_none() -> None:
    inputs = [TensorType((BATCH, 5, 8))]
    with pytest.raises(ShapeError) as caught:
        infer("attention", {"heads": 2, "relative_max_distance": 64}, inputs)
    assert caught.value.finding.code == "A348"
    # a block that turns the bias off in some instances writes both
    arguments = {"heads": 2, "relative_buckets": None, "relative_max_distance": 64}
    _, _, inferred = infer("attention", arguments, inputs)
    assert "relative_attention_bias.weight" not in inferred.params
