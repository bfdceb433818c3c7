"""The oracle tells rounding that an input amplifies from a miscompile (`tests/oracle.py`).

The specs in `tests/fuzz/ill_conditioned/`, found by the oracle fuzzer, give batch norms
batches of variance 0 in training, so the module and the interpreter, each correct, disagree
beyond the tolerance: they are ill-conditioned, not failures. A module corrupted by one weight
1e-4 off (its largest), one layer's output scaled by 1 + 1e-4 or its two inputs swapped is a mismatch on
well-conditioned specs, with a batch norm or without, and on those found specs too.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from tests.fuzz.valid import SIZE
from tests.oracle import (
    ROUNDING_FACTOR,
    TOLERANCE,
    Verdict,
    check_values,
    compare,
    compile_spec,
    prepared,
)

FOUND = sorted((Path(__file__).parent / "fuzz" / "ill_conditioned").glob("*.arch"))
CORRUPTION = 1e-4

# Each spec takes two inputs of one shape, so that swapping them is a corruption.
MLP = """
network Net {
    in a: [12]
    in b: [12]
    x = a -> linear(16) as first -> tanh
    out x * (b -> linear(16) as second) -> linear(4) as head
}
"""
NORMED = """
network Net {
    in image: [3, 8, 8]
    in extra: [3, 8, 8]
    x = image -> conv2d(8, 3, padding=1) as conv -> batchnorm2d as norm -> relu
    y = extra -> conv2d(8, 1) as side
    out x + y -> flatten -> linear(4) as head
}
"""
# spec, the weight to corrupt, the layer whose output to scale
WELL_CONDITIONED = {
    "mlp": (MLP, "first.weight", "first"),
    "batchnorm": (NORMED, "conv.weight", "norm"),
}

Corruption = Callable[[torch.nn.Module, str, str], None]


def change_weight(model: torch.nn.Module, weight: str, layer: str) -> None:
    """The largest element of ``weight``: a small one may move no output beyond TOLERANCE."""
    with torch.no_grad():
        values = model.get_parameter(weight).view(-1)
        values[values.abs().argmax()] *= 1 + CORRUPTION


def scale_output(model: torch.nn.Module, weight: str, layer: str) -> None:
    model.get_submodule(layer).register_forward_hook(
        lambda module, args, output: output * (1 + CORRUPTION)
    )


def swap_inputs(model: torch.nn.Module, weight: str, layer: str) -> None:
    model.register_forward_pre_hook(lambda module, args: args[::-1])


CORRUPTIONS: dict[str, Corruption] = {
    "weight": change_weight,
    "scaled": scale_output,
    "swapped": swap_inputs,
}


def corrupted_verdict(
    path: Path, corrupt: Corruption, weight: str, layer: str, size: int = SIZE
) -> Verdict:
    """The spec's only network compared with the interpreter, which runs on the state the
    module had before ``corrupt`` changed it."""
    (network,), module = compile_spec(path)
    model, inputs = prepared(network, module, size)
    state = {key: tensor.clone() for key, tensor in model.state_dict().items()}
    corrupt(model, weight, layer)
    found = [d for mode in (False, True) for d in compare(network, model, inputs, mode, state)]
    return Verdict(tuple(found))


@pytest.mark.parametrize("path", FOUND, ids=lambda p: p.stem)
def test_a_norm_over_a_batch_without_information_is_ill_conditioned(path: Path) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        verdict = check_values(path, size=SIZE)  # a mismatch raises
    if verdict.outcome == "equal":  # another torch build may round both evaluations alike
        pytest.skip(f"{path.name}: this torch computes module and interpreter alike")
    assert verdict.outcome == "ill-conditioned", verdict
    assert any("ill-conditioned" in str(w.message) for w in caught)
    for disagreement in verdict.ill_conditioned:
        assert "(train)" in disagreement.output  # running statistics hold no such batch
        assert TOLERANCE < disagreement.difference <= ROUNDING_FACTOR * disagreement.rounding


def test_the_found_specs_are_there() -> None:
    assert len(FOUND) == 3


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
@pytest.mark.parametrize("spec", sorted(WELL_CONDITIONED))
def test_a_corrupted_module_is_a_mismatch(spec: str, corruption: str, tmp_path: Path) -> None:
    text, weight, layer = WELL_CONDITIONED[spec]
    path = tmp_path / f"{spec}.arch"
    path.write_text(text, encoding="utf-8")
    assert corrupted_verdict(path, lambda *_: None, weight, layer).outcome == "equal"
    verdict = corrupted_verdict(path, CORRUPTIONS[corruption], weight, layer)
    assert verdict.outcome == "mismatch", verdict
    # in training mode too, where the batch norm's statistics come from the batch
    assert {d.output.split()[1] for d in verdict.mismatches} == {"(eval)", "(train)"}


@pytest.mark.parametrize("corruption", ["weight", "scaled"])
def test_a_corrupted_module_is_a_mismatch_on_an_ill_conditioned_spec(corruption: str) -> None:
    """Rounding excuses only the values it moves: the eval run, whose norm uses its running
    statistics, still tells a weight 1e-4 off before the norm, or a layer's output scaled."""
    path = next(p for p in FOUND if p.stem == "batchnorm1d_after_sign")
    verdict = corrupted_verdict(path, CORRUPTIONS[corruption], "credits.weight", "fc3")
    assert verdict.outcome == "mismatch", verdict
    assert all("(eval)" in d.output for d in verdict.mismatches)
