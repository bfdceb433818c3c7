"""Single layers measured with real torch (tests/reference/reference.json) against the ops.

Each "conv_cases" entry names its layer as torch source, `nn.Conv2d(3, 96, kernel_size=11)`; the
test reads that call with a regular expression (integer arguments only, nothing evaluated), maps
torch's class to the op and its constructor arguments to the op's, and checks the output shape
and parameter count the op infers against the measured ones.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest

from archc.dims import BATCH, TensorType
from tests.conftest import REFERENCE
from tests.ops.harness import check_against_torch, infer

# torch class -> (op name, torch's positional constructor arguments)
TORCH_CLASSES = {
    "Conv2d": ("conv2d", ("in_channels", "out_channels", "kernel_size")),
    "ConvTranspose2d": ("conv_transpose2d", ("in_channels", "out_channels", "kernel_size")),
    "MaxPool2d": ("maxpool2d", ("kernel_size", "stride", "padding")),
}
CALL = re.compile(r"nn\.(\w+)\((.*)\)")
ARGUMENT = re.compile(r"(?:(\w+)=)?(-?\d+)")


def parse_layer(layer: str) -> tuple[str, dict[str, int]]:
    """`nn.Conv2d(3, 96, kernel_size=11)` -> ("conv2d", {"in_channels": 3, ...})."""
    call = CALL.fullmatch(layer)
    assert call is not None, f"unreadable layer {layer!r}"
    op, positional = TORCH_CLASSES[call.group(1)]
    arguments: dict[str, int] = {}
    for index, part in enumerate(call.group(2).split(", ")):
        argument = ARGUMENT.fullmatch(part)
        assert argument is not None, f"unreadable argument {part!r} in {layer!r}"
        arguments[argument.group(1) or positional[index]] = int(argument.group(2))
    return op, arguments


def load() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((REFERENCE / "reference.json").read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("case", load()["conv_cases"], ids=lambda case: case["name"])
def test_conv_case(case: dict[str, Any]) -> None:
    op, arguments = parse_layer(case["layer"])
    x = TensorType((BATCH, *case["input_shape"]))
    # the registry takes the input channels from the input itself
    in_channels = arguments.pop("in_channels", None)
    assert in_channels in (None, case["input_shape"][0])
    inferred = check_against_torch(op, arguments, [x])
    assert inferred.outputs[0].shape == (BATCH, *case["output_shape"])
    assert sum(math.prod(shape) for shape in inferred.params.values()) == case["params"]


def test_embedding_50_8() -> None:
    reference = load()["models"]["embedding_50_8"]
    batch, *ids = reference["input_shape"]
    x = TensorType((BATCH, *ids), "int64")
    _, _, inferred = infer("embedding", {"num_embeddings": 50, "embedding_dim": 8}, [x])
    assert (batch, *inferred.outputs[0].shape[1:]) == tuple(reference["output_shape"])
    assert sum(math.prod(shape) for shape in inferred.params.values()) == reference["params"]
    assert inferred.buffers == {} and reference["buffers"] == 0


def test_the_layer_reader() -> None:
    assert parse_layer("nn.MaxPool2d(kernel_size=2, stride=2)") == (
        "maxpool2d",
        {"kernel_size": 2, "stride": 2},
    )
    assert parse_layer("nn.Conv2d(3, 10, 5, padding=2)") == (
        "conv2d",
        {"in_channels": 3, "out_channels": 10, "kernel_size": 5, "padding": 2},
    )
