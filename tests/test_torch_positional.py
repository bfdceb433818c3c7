"""`Op.torch_positional` against torch itself: each op argument it names stands where torch's
constructor of the op's class takes the parameter of that name (archc names its arguments as
torch does), so that `nn.Conv2d(3, 64, 3)` is spelt `conv2d(64, 3)` in archc (A205's help)."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from archc.ops import registry

torch = pytest.importorskip("torch")

DECLARED = [op for op in registry.all_ops() if op.torch_positional]


def torch_class(op: Any) -> Any:
    """The class of torch.nn named like the op (`conv_transpose2d` is nn.ConvTranspose2d)."""
    names = {n.replace("_", "").lower() for n in (op.name, *op.aliases)}
    (found,) = [getattr(torch.nn, n) for n in dir(torch.nn) if n.lower() in names]
    return found


def test_the_layers_people_write_most_are_declared() -> None:
    assert {"conv2d", "linear", "batchnorm2d", "maxpool2d", "relu", "lstm"} <= {
        op.name for op in DECLARED
    }


@pytest.mark.parametrize("op", DECLARED, ids=lambda op: op.name)
def test_declared_positions_are_torchs(op: Any) -> None:
    parameters = list(inspect.signature(torch_class(op).__init__).parameters.values())[1:]
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):  # nn.LSTM(*args, **kwargs)
        parameters = list(inspect.signature(torch.nn.RNNBase.__init__).parameters.values())[2:]
    names = [p.name for p in parameters]
    assert len(op.torch_positional) <= len(names)
    for position, declared in enumerate(op.torch_positional):
        if declared is not None:
            assert names[position] == declared, (position, names)
            assert declared in op.Args.fields
