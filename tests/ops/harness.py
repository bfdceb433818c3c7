"""Differential checking of op definitions against real torch.

`check_against_torch` takes an op, its arguments and concrete input types, asks the op for its
static answer (output types, parameter and buffer shapes), builds the torch implementation the
op itself declares, runs a forward pass, and asserts that torch agrees on every count and shape.
It then checks the op's two implementations against each other: the module it declares, in
float64 with every parameter and buffer drawn at random, must compute what the op's reference
semantics (`Op.execute`) compute from the same tensors, in eval mode and in training mode (with
dropout off in both).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from archc import ops, runtime, torch_helpers
from archc.dims import BATCH, TensorType
from archc.ops.spec import HELD, Execution, Finding, Inferred, Op, ShapeError, Template
from archc.pysource.exprs import literal
from tests.oracle import silence_dropout

BATCH_SIZE = 2
# how far, relative to the largest value, an op's module may stray from its reference semantics
# in float64
VALUE_TOLERANCE = 1e-9


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
    args = op.Args(**arguments)
    return op, args, op.infer(args, inputs)


def make_input(
    tensor: TensorType, batch: int = BATCH_SIZE, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    shape = [batch if d is BATCH else d for d in tensor.shape]
    assert all(isinstance(d, int) for d in shape), f"symbolic input {tensor}"
    if tensor.dtype in ("int64", "int32"):
        return torch.randint(0, 4, shape, dtype=getattr(torch, tensor.dtype))
    if tensor.dtype == "bool":  # a mask: the first along the last axis always set, so that
        mask = torch.rand(shape) < 0.7  # no attention row is left without a key
        mask[..., 0] = True
        return mask
    # ``dtype`` stands for float32; another declared float type is kept
    return torch.randn(
        shape, dtype=dtype if tensor.dtype == "float32" else getattr(torch, tensor.dtype)
    )


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


def declared_module(op: Op, args: Any, inferred: Inferred) -> tuple[nn.Module | None, str]:
    """The module the op declares for generated code (None for an expression), and the
    forward template that calls it."""
    ctor = op.torch_module(args, inferred)
    if ctor is not None and ctor.held:
        # a tensor held directly: its module is whatever holds it, here a bare nn.Module
        module = nn.Module()
        module.register_parameter("held", nn.Parameter(torch.zeros(*ctor.args)))
        return module, ctor.call
    if ctor is not None:
        return resolve(ctor.path)(*ctor.args, **dict(ctor.kwargs)), ctor.call
    template = op.torch_expr(args, inferred)
    assert template is not None, f"{op.name} declares neither a module nor an expression"
    return None, expression(template)


def expression(template: Template) -> str:
    """A stateless op's forward template with its values written in as literals."""
    text = template.text
    for name, value in template.values:
        text = text.replace(f"{{{name}}}", literal(value))
    return text


def forward(
    module: nn.Module | None, template: str, inputs: Sequence[torch.Tensor], training: bool
) -> Any:
    """The op's forward template run on ``inputs``, its module in training or eval mode."""
    names = [f"i{k}" for k in range(len(inputs))]
    scope: dict[str, Any] = {
        "torch": torch,
        "nn": nn,
        "F": F,
        **dict(zip(names, inputs, strict=True)),
    }
    if module is not None:
        module.train(training)
        scope["m"] = getattr(module, "held", module)
    code = template.format(*names, m="m", inputs=", ".join(names))
    with torch.no_grad(), one_thread():
        return eval(code, scope)  # the template is the op's own, fixed text


def run_torch(
    op: Op, args: Any, inferred: Inferred, inputs: Sequence[torch.Tensor]
) -> tuple[Any, nn.Module | None]:
    module, template = declared_module(op, args, inferred)
    return forward(module, template, inputs, training=False), module


def check_reference_semantics(
    what: str, op: Op, args: Any, inferred: Inferred, inputs: Sequence[TensorType]
) -> None:
    """The op's declared module and its reference semantics compute the same values from the
    same random state, in eval mode and in training mode, dropout off."""
    module, template = declared_module(op, args, inferred)
    if module is not None:
        randomise(module.double())
        silence_dropout(module)  # training runs must be deterministic
    state = dict(module.state_dict()) if module is not None else {}
    if "held" in state:
        state[HELD] = state.pop("held")
    tensors = [make_input(t, dtype=torch.float64) for t in inputs]
    for training in (False, True):
        state_now = {name: tensor.clone() for name, tensor in state.items()}
        # a copy of the inputs: an in-place module would overwrite them
        produced = forward(module, template, [t.clone() for t in tensors], training)
        produced = produced if isinstance(produced, tuple) else (produced,)
        run = Execution(torch, tuple(tensors), state_now, training, dropout=False)
        with torch.no_grad():
            expected = op.execute(args, inferred, run)
        assert len(expected) == len(produced), f"{what}: {len(expected)} outputs"
        for actual, reference in zip(produced, expected, strict=True):
            assert actual.shape == reference.shape, f"{what}: {actual.shape} vs {reference.shape}"
            gap = runtime.difference(actual, reference)
            assert gap <= VALUE_TOLERANCE, f"{what} (training={training}): differs by {gap:.3g}"


def randomise(module: nn.Module) -> None:
    """Every floating-point parameter and buffer drawn at random (variances positive), so that
    no initial zero or one hides an argument an implementation ignores."""
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if not tensor.is_floating_point():
                continue
            if name.endswith("running_var"):
                tensor.copy_(torch.rand_like(tensor) + 0.5)
            else:
                tensor.copy_(torch.randn_like(tensor))


def check_against_torch(
    name: str, arguments: dict[str, Any], inputs: Sequence[TensorType]
) -> Inferred:
    """Assert that torch's module/function agrees with the op's static shapes and counts."""
    op, args, inferred = infer(name, arguments, inputs)
    tensors = [make_input(t) for t in inputs]
    result, module = run_torch(op, args, inferred, tensors)
    compare(f"{name}{arguments}", inferred, result, module)
    check_reference_semantics(f"{name}{arguments}", op, args, inferred, inputs)
    return inferred


def check_against_reference(
    name: str,
    arguments: dict[str, Any],
    inputs: Sequence[TensorType],
    reference: Callable[[Any, Inferred], nn.Module],
) -> Inferred:
    """Like check_against_torch, for an op torch has no module for: ``reference(args,
    inferred)`` builds a hand-written module, called on the inputs, to compare with."""
    op, args, inferred = infer(name, arguments, inputs)
    module = reference(args, inferred).eval()
    with torch.no_grad(), one_thread():
        result = module(*[make_input(t) for t in inputs])
    compare(f"{name}{arguments}", inferred, result, module)
    check_reference_semantics(f"{name}{arguments}", op, args, inferred, inputs)
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
        dtype = str(actual.dtype).removeprefix("torch.")
        assert dtype == static.dtype, f"{what}: torch {dtype} vs static {static.dtype}"
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
