"""Which archc op a PyTorch layer is, read off the op registry.

An op says which torch module implements it (`Op.torch_module`) and which functions it mirrors
(its name). Importing goes the other way: for a module, each op is tried with the arguments its
schema names, read from the module's attributes of the same name; an op matches when the module
it would emit has the same class, hyperparameters and state_dict shapes as the module read. The
written arguments are then cut down to those archc cannot infer from the input, so a batch norm
reads `batchnorm2d`, not `batchnorm2d(64)`. Adding an op therefore needs no change here; only
torch's spellings that differ from archc's are in the tables below.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from pydantic import ValidationError
from torch import nn

from archc.dims import TensorType
from archc.ops import registry
from archc.ops.spec import Op, ShapeError

# torch attribute names that differ from the op argument they hold
TORCH_NAMES = {"heads": "num_heads"}
# arguments that change how torch computes a value, never which value: left out of the spec
UNOBSERVABLE = ("inplace",)
# functions whose defaults differ from the op of the same name (torch.flatten flattens from 0)
FUNCTION_DEFAULTS: dict[str, dict[str, Any]] = {"flatten": {"start_dim": 0}}
# function arguments that only say whether to run in training mode, as the module does
MODE_ARGUMENTS = ("training", "inplace")
# binary operators written as operators in a spec
OPERATORS: dict[Callable[..., Any], str] = {
    operator.add: "+",
    operator.iadd: "+",
    torch.add: "+",
    operator.sub: "-",
    torch.sub: "-",
}


@dataclass(frozen=True)
class Layer:
    """An op call as a spec writes it: `conv2d(64, 3, stride=2)`."""

    op: str
    positional: tuple[tuple[str, Any], ...] = ()
    keywords: tuple[tuple[str, Any], ...] = ()
    # keyword arguments left out because they equal the default or what archc infers
    implied: tuple[tuple[str, Any], ...] = ()

    def with_keywords(self, names: Iterable[str]) -> Layer:
        """The call with the ``names`` it left out written too, in the order given."""
        wanted = set(names)
        keywords = dict(self.keywords)
        keywords.update((k, v) for k, v in self.implied if k in wanted)
        op = registry.lookup(self.op)
        order = list(op.Args.model_fields) if op else []
        ordered = tuple(sorted(keywords.items(), key=lambda item: order.index(item[0])))
        return Layer(self.op, self.positional, ordered, self.implied)


class Unsupported(Exception):
    """A module or function archc has no op for; the message names it."""


def _squeezed(value: Any) -> Any:
    """A tuple of equal ints as one int, as a person writes `kernel_size=3`."""
    if isinstance(value, tuple) and value and len(set(value)) == 1 and type(value[0]) is int:
        return value[0]
    return value


def _attribute(module: nn.Module, name: str) -> Any:
    value = getattr(module, TORCH_NAMES.get(name, name), _MISSING)
    if name == "bias" and (value is None or isinstance(value, torch.Tensor)):
        return value is not None
    if isinstance(value, torch.Tensor | nn.Module) or callable(value):
        return _MISSING
    return tuple(value) if isinstance(value, list) else value


_MISSING = object()


def _described(module: nn.Module) -> str:
    text = repr(module)
    for name in UNOBSERVABLE:
        text = re.sub(rf",? ?{name}=True", "", text)
    # (1, 1) and 1 are one size to torch's layers
    text = re.sub(r"\((\d+)(?:, \1)+\)", r"\1", text)
    return text.replace("(, ", "(")


def _state_shapes(module: nn.Module) -> dict[str, tuple[int, ...]]:
    return {key: tuple(value.shape) for key, value in module.state_dict().items()}


def _emitted(op: Op, values: dict[str, Any], inputs: Sequence[TensorType]) -> nn.Module | None:
    """The module archc emits for ``op`` with ``values``, built on the meta device, or None
    when the values do not make a valid op for these inputs."""
    if len(inputs) < op.min_inputs or (not op.variadic and len(inputs) > len(op.inputs)):
        return None
    try:
        args = op.Args.model_validate(values)
        ctor = op.torch_module(args, op.infer(args, inputs))
    except (ValidationError, ShapeError, ValueError, TypeError, KeyError, IndexError):
        return None  # not this op: its schema or shape rule refuses these values
    if ctor is None or ctor.held or not ctor.path.startswith("nn."):
        return None
    built = getattr(nn, ctor.path.removeprefix("nn."))
    with torch.device("meta"):
        module: nn.Module = built(*ctor.args, **dict(ctor.kwargs))
    return module


def _same(a: nn.Module, b: nn.Module | None) -> bool:
    return (
        b is not None
        and type(a) is type(b)
        and _described(a) == _described(b)
        and _state_shapes(a) == _state_shapes(b)
    )


def _match(op: Op, module: nn.Module, inputs: Sequence[TensorType]) -> Layer | None:
    fields = op.Args.model_fields
    values = {}
    for name, info in fields.items():
        value = _attribute(module, name)
        if value is not _MISSING and name not in UNOBSERVABLE:
            values[name] = _squeezed(value)
        elif info.is_required():
            return None
    if not _same(module, _emitted(op, values, inputs)):
        return None
    # leave out what archc infers or defaults to the same module
    every = dict(values)
    for name in list(values):
        fewer = {k: v for k, v in values.items() if k != name}
        if _same(module, _emitted(op, fewer, inputs)):
            values = fewer
    layer = _layer(op, values)
    implied = tuple((k, v) for k, v in every.items() if k not in values)
    return Layer(layer.op, layer.positional, layer.keywords, implied)


def _layer(op: Op, values: dict[str, Any]) -> Layer:
    """Required arguments positionally, in the op's order; the others by keyword."""
    fields = op.Args.model_fields
    positional = []
    for name in op.positional:
        if name not in values or not fields[name].is_required():
            break
        positional.append((name, values[name]))
    given = {name for name, _ in positional}
    keywords = tuple((k, v) for k, v in values.items() if k not in given)
    return Layer(op.name, tuple(positional), keywords)


_LAST_MATCH: dict[type, Op] = {}
# layers already matched, by module class, hyperparameters, state shapes and input shapes
_MATCHED: dict[tuple[Any, ...], Layer] = {}


def module_layer(module: nn.Module, inputs: Sequence[TensorType]) -> Layer:
    """The op call that builds ``module`` for these inputs; raises :class:`Unsupported`."""
    key = (
        type(module),
        _described(module),
        tuple(_state_shapes(module).items()),
        tuple(t.shape for t in inputs),
    )
    if key in _MATCHED:
        return _MATCHED[key]
    known = _LAST_MATCH.get(type(module))
    ops = [known] if known else []
    for op in [*ops, *registry.all_ops()]:
        layer = _match(op, module, inputs)
        if layer is not None:
            _LAST_MATCH[type(module)] = op
            _MATCHED[key] = layer
            return layer
    raise Unsupported(f"archc has no op that builds `{_described(module)}`")


def is_layer_module(module: nn.Module) -> bool:
    """Whether a torch.nn module's class is one some op emits: those stay whole in a trace."""
    return type(module).__module__.startswith("torch.nn.") and not isinstance(
        module, nn.Sequential | nn.ModuleList | nn.ModuleDict
    )


def _op_named(name: str) -> Op | None:
    """The op a torch function or tensor method stands for: `adaptive_avg_pool2d` is
    `adaptive_avgpool2d`, `max_pool2d` is `maxpool2d`, `cat` is `concat`."""
    op = registry.lookup(name)
    if op is not None:
        return op
    squashed = name.replace("_", "")
    for candidate in registry.names():
        if candidate.replace("_", "") == squashed:
            return registry.lookup(candidate)
    return None


def function_name(target: Any) -> str:
    return target if isinstance(target, str) else getattr(target, "__name__", repr(target))


def function_layer(
    target: Any, tensors: int, args: Sequence[Any], kwargs: dict[str, Any]
) -> Layer:
    """The op call for a torch function or tensor method called with ``tensors`` tensor
    inputs, then ``args`` and ``kwargs`` (plain values); raises :class:`Unsupported`."""
    name = function_name(target)
    op = _op_named(name)
    if op is None:
        raise Unsupported(f"archc has no op for `{name}`")
    if tensors < op.min_inputs or (not op.variadic and tensors > len(op.inputs)):
        raise Unsupported(
            f"archc's `{op.name}` does not take the {tensors} tensors `{name}` is given"
        )
    values = dict(FUNCTION_DEFAULTS.get(op.name, {}))
    bound = [n for n in op.positional if n not in op.inputs][: len(args)]
    values.update(zip(bound, args, strict=False))
    values.update((k, v) for k, v in kwargs.items() if k not in MODE_ARGUMENTS)
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    if len(args) > len(bound) or any(k not in op.Args.model_fields for k in values):
        raise Unsupported(f"archc's `{op.name}` does not take the arguments given to `{name}`")
    defaults = {k: f.default for k, f in op.Args.model_fields.items() if not f.is_required()}
    values = {k: v for k, v in values.items() if defaults.get(k, _MISSING) != v}
    return _layer(op, values)
