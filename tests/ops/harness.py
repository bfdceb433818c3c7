"""Differential checking of op definitions against real torch.

`check_against_torch` takes an op, its arguments and concrete input types, asks the op for its
static answer (output types, parameter and buffer shapes), builds the torch implementation the
op itself declares, runs a forward pass, and asserts that torch agrees on every count and shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from archc import ops, torch_helpers
from archc.dims import BATCH, TensorType
from archc.ops.spec import HELD, Finding, Inferred, Op, ShapeError

BATCH_SIZE = 2


def resolve(path: str) -> Any:
    """`nn.Conv2d` -> torch.nn.Conv2d, looked up attribute by attribute (no eval of paths);
    a bare class name is one of archc's own modules that generated code carries along."""
    target: Any = torch if "." in path else torch_helpers
    for part in path.split("."):
        target = getattr(target, part)
    return target


def infer(
    name: str, arguments: dict[str, Any], inputs: Sequence[TensorType]
) -> tuple[Op, Any, Inferred]:
    op = ops.lookup(name)
    assert op is not None, f"no op {name}"
    args = op.Args.model_validate(arguments)
    return op, args, op.infer(args, inputs)


def make_input(tensor: TensorType, batch: int = BATCH_SIZE) -> torch.Tensor:
    shape = [batch if d is BATCH else d for d in tensor.shape]
    assert all(isinstance(d, int) for d in shape), f"symbolic input {tensor}"
    if tensor.dtype == "int64":
        return torch.randint(0, 4, shape)
    return torch.randn(shape)


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread: on these tiny tensors intra-op threads only add overhead, and
    recurrent and attention kernels slow down ~50x when their threads compete for busy cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def run_torch(
    op: Op, args: Any, inferred: Inferred, inputs: Sequence[torch.Tensor]
) -> tuple[Any, nn.Module | None]:
    names = [f"i{k}" for k in range(len(inputs))]
    scope: dict[str, Any] = {
        "torch": torch,
        "nn": nn,
        "F": F,
        **dict(zip(names, inputs, strict=True)),
    }
    ctor = op.torch_module(args, inferred)
    module = None
    if ctor is not None and ctor.held:
        # a tensor held directly: its module is whatever holds it, here a bare nn.Module
        module = nn.Module()
        module.register_parameter("held", nn.Parameter(torch.zeros(*ctor.args)))
        scope["m"] = module.held
        template = ctor.call
    elif ctor is not None:
        module = resolve(ctor.path)(*ctor.args, **dict(ctor.kwargs))
        scope["m"] = module
        template = ctor.call
    else:
        template = op.torch_expr(args, inferred)
        assert template is not None, f"{op.name} declares neither a module nor an expression"
    code = template.format(*names, m="m", inputs=", ".join(names))
    with torch.no_grad(), one_thread():
        if module is not None:
            module.eval()
        return eval(code, scope), module  # the template is the op's own, fixed text


def check_against_torch(
    name: str, arguments: dict[str, Any], inputs: Sequence[TensorType]
) -> Inferred:
    """Assert that torch's module/function agrees with the op's static shapes and counts."""
    op, args, inferred = infer(name, arguments, inputs)
    tensors = [make_input(t) for t in inputs]
    result, module = run_torch(op, args, inferred, tensors)
    compare(f"{name}{arguments}", inferred, result, module)
    return inferred


def check_against_reference(
    name: str,
    arguments: dict[str, Any],
    inputs: Sequence[TensorType],
    reference: Callable[[Any, Inferred], nn.Module],
) -> Inferred:
    """Like check_against_torch, for an op torch has no module for: ``reference(args,
    inferred)`` builds a hand-written module, called on the inputs, to compare with."""
    _, args, inferred = infer(name, arguments, inputs)
    module = reference(args, inferred).eval()
    with torch.no_grad(), one_thread():
        result = module(*[make_input(t) for t in inputs])
    compare(f"{name}{arguments}", inferred, result, module)
    return inferred


def compare(what: str, inferred: Inferred, result: Any, module: nn.Module | None) -> None:
    """Assert that torch's outputs, parameters and buffers match the op's static answer."""
    results = result if isinstance(result, tuple) else (result,)
    assert len(results) == len(inferred.outputs)
    for actual, static in zip(results, inferred.outputs, strict=True):
        expected = [BATCH_SIZE if d is BATCH else d for d in static.shape]
        assert list(actual.shape) == expected, (
            f"{what}: torch {tuple(actual.shape)} vs static {static}"
        )
    torch_params = {k: tuple(v.shape) for k, v in module.named_parameters()} if module else {}
    if "held" in torch_params:  # the held tensor's key is the layer's own path
        torch_params[HELD] = torch_params.pop("held")
    torch_buffers = {k: tuple(v.shape) for k, v in module.named_buffers()} if module else {}
    assert torch_params == inferred.params, f"{what}: params {torch_params} vs {inferred.params}"
    assert torch_buffers == inferred.buffers, (
        f"{what}: buffers {torch_buffers} vs {inferred.buffers}"
    )


def diagnose(name: str, arguments: dict[str, Any], inputs: Sequence[TensorType]) -> Finding:
    """The finding of the ShapeError the op raises for these arguments and inputs."""
    try:
        infer(name, arguments, inputs)
    except ShapeError as error:
        return error.finding
    raise AssertionError(f"{name}{arguments} on {[str(t) for t in inputs]} raised nothing")
