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

import functools
import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx, nn

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
# function arguments that, at these values, ask for the op's one output and nothing else
# (`F.max_pool2d(x, 3, return_indices=False)`, as torch.fx records every default)
PLAIN_OUTPUT = {"return_indices": False}
# functions whose sizes start with the batch's, which an archc op leaves out
BATCH_FIRST = ("reshape",)
# functions that give their input back, as far as a spec's values go
PASS_THROUGH = ("contiguous", "clone", "detach")
# binary operators written as operators in a spec
OPERATORS: dict[Callable[..., Any] | str, str] = {
    operator.add: "+",
    operator.iadd: "+",
    torch.add: "+",
    operator.sub: "-",
    torch.sub: "-",
    operator.mul: "*",
    torch.mul: "*",
    operator.truediv: "/",
}
# tensor methods that are those operators, in place or not (`y.mul_(2.0)` whose input nothing
# reads again makes the new value `y * 2.0`)
OPERATORS.update(
    {
        f"{name}{suffix}": symbol
        for name, symbol in (("add", "+"), ("sub", "-"), ("mul", "*"), ("div", "/"))
        for suffix in ("", "_")
    }
)


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
        order = list(op.Args.fields) if op else []
        ordered = tuple(sorted(keywords.items(), key=lambda item: order.index(item[0])))
        return Layer(self.op, self.positional, ordered, self.implied)


class Unsupported(Exception):
    """A module or function archc has no op for; the message names it."""


class _Sentinel:
    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


# a size read off a tensor that is the batch size, and a value that changes with the batch
BATCH = _Sentinel("BATCH")
VARIES = _Sentinel("VARIES")


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


def _torch_class(module: nn.Module) -> type:
    """The torch class of ``module``, or the torch layer class another library's extends."""
    for cls in type(module).__mro__:
        if cls.__module__.startswith("torch.nn."):
            return cls
    return type(module)


def _described(module: nn.Module) -> str:
    # another library's subclass of a torch layer reads as the layer it extends
    text = repr(module).replace(type(module).__name__, _torch_class(module).__name__, 1)
    for name in UNOBSERVABLE:  # shown when True (ReLU) or always (Dropout)
        text = re.sub(rf",? ?{name}=(?:True|False)", "", text)
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
        args = op.Args(**values)
        ctor = op.torch_module(args, op.infer(args, inputs))
    except (ShapeError, ValueError, TypeError, KeyError, IndexError):
        return None  # not this op: its schema (ArgumentError) or shape rule refuses these values
    if ctor is None or ctor.held or not ctor.path.startswith("nn."):
        return None
    built = getattr(nn, ctor.path.removeprefix("nn."))
    with torch.device("meta"):
        module: nn.Module = built(*ctor.args, **dict(ctor.kwargs))
    return module


def _same(a: nn.Module, b: nn.Module | None) -> bool:
    return (
        b is not None
        and _torch_class(a) is type(b)
        and _described(a) == _described(b)
        and _state_shapes(a) == _state_shapes(b)
    )


def _match(op: Op, module: nn.Module, inputs: Sequence[TensorType]) -> Layer | None:
    fields = op.Args.fields
    values = {}
    for name, info in fields.items():
        value = _attribute(module, name)
        if value is not _MISSING and name not in UNOBSERVABLE:
            values[name] = _squeezed(value)
        elif info.required:
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
    fields = op.Args.fields
    positional = []
    for name in op.positional:
        if name not in values or not fields[name].required:
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
    if isinstance(module, nn.MultiheadAttention):
        return _attention(module, inputs)
    foreign = _foreign_op(module)
    if foreign is not None:
        _MATCHED[key] = _foreign(foreign, module, inputs)
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


def _attention(module: nn.MultiheadAttention, inputs: Sequence[TensorType]) -> Layer:
    """`attention(heads)`, whose default layout holds nn.MultiheadAttention's parameters, for
    self-attention on batch-first tokens without masks."""
    if len(inputs) != 1:
        raise Unsupported(
            "archc's `attention` takes nn.MultiheadAttention's query, key and value as one "
            "tensor, without masks"
        )
    if not module.batch_first:
        raise Unsupported(
            "archc's `attention` reads (N, T, E): nn.MultiheadAttention needs batch_first=True"
        )
    if module.bias_k is not None or module.add_zero_attn or not module._qkv_same_embed_dim:
        raise Unsupported(f"archc has no op that builds `{_described(module)}`")
    keywords: list[tuple[str, Any]] = []
    if module.dropout:
        keywords.append(("dropout", module.dropout))
    if module.in_proj_bias is None:
        keywords.append(("bias", False))
    return Layer("attention", (("heads", module.num_heads),), tuple(keywords))


def is_layer_module(module: nn.Module) -> bool:
    """Whether a module's class is a torch.nn one some op emits, or another library's that an
    op stands for (`Op.foreign`): those stay whole in a trace."""
    if _foreign_op(module) is not None:
        return True
    return type(module).__module__.startswith("torch.nn.") and not isinstance(
        module, nn.Sequential | nn.ModuleList | nn.ModuleDict
    )


def _foreign_op(module: nn.Module) -> Op | None:
    """The op that stands for ``module``'s class from another library, if any."""
    cls = type(module)
    return _foreign_ops().get(f"{cls.__module__}.{cls.__qualname__}")


@functools.cache
def _foreign_ops() -> dict[str, Op]:
    return {name: op for op in registry.all_ops() for name in op.foreign}


def _foreign(op: Op, module: nn.Module, inputs: Sequence[TensorType]) -> Layer:
    """The op call for another library's module the op stands for: its arguments read off
    the module, those archc infers or defaults to left out, its state_dict's shapes checked."""
    values = op.read_module(module) or {}
    try:
        args = op.Args(**values)
        inferred = op.infer(args, inputs)
    except (ShapeError, ValueError) as exc:  # an ArgumentError is a ValueError
        raise Unsupported(
            f"archc's `{op.name}` cannot build `{_described(module)}`: {exc}"
        ) from None
    shapes = dict(inferred.params) | dict(inferred.buffers)
    if shapes != _state_shapes(module):
        raise Unsupported(f"archc's `{op.name}` holds other tensors than `{_described(module)}`")
    defaults = {k: f.default for k, f in op.Args.fields.items() if not f.required}
    written = {k: v for k, v in values.items() if defaults.get(k, _MISSING) != v}
    layer = _layer(op, written)
    implied = tuple((k, v) for k, v in values.items() if k not in written)
    return Layer(layer.op, layer.positional, layer.keywords, implied)


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


def kept_whole(target: Any) -> bool:
    """Whether ``target`` is a function `torch.fx.wrap` keeps whole in a trace (torchvision's
    `shifted_window_attention`): fx records its call, given the module's parameters and
    buffers as tensors, and never its body."""
    scope = getattr(target, "__globals__", None)
    name = getattr(target, "__name__", None)
    wrapped = fx._symbolic_trace._wrapped_fns_to_patch
    return isinstance(scope, dict) and (id(scope), name) in wrapped


def whole_call_message(target: Any, held: Sequence[str]) -> str:
    """Why a function :func:`kept_whole` has no op, and the tensors of the module it takes."""
    name = function_name(target)
    where = getattr(target, "__module__", None)
    of = f" of `{where}`" if where else ""
    given = ", ".join(f"`{h}`" for h in held)
    takes = f"; it takes the module's {given}" if given else ""
    return (
        f"`{name}`{of} is a function torch.fx keeps whole (`torch.fx.wrap`), and archc has no "
        f"op or definition for it{takes}"
    )


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
    if op.varargs:
        args = _packed(op, name, args)
    values = dict(FUNCTION_DEFAULTS.get(op.name, {}))
    bound = [n for n in op.positional if n not in op.inputs][: len(args)]
    values.update(zip(bound, args, strict=False))
    # an optional tensor input given as None (`attn_mask=None`) is one not given
    values.update(
        (k, v)
        for k, v in kwargs.items()
        if k not in MODE_ARGUMENTS
        and not (k in op.inputs and v is None)
        and not (k in PLAIN_OUTPUT and k not in op.Args.fields and v is PLAIN_OUTPUT[k])
    )
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    if len(args) > len(bound) or any(k not in op.Args.fields for k in values):
        raise Unsupported(f"archc's `{op.name}` does not take the arguments given to `{name}`")
    if any(_batch_dependent(v) for v in values.values()):
        raise Unsupported(f"`{name}` is given a size that changes with the batch")
    defaults = {k: f.default for k, f in op.Args.fields.items() if not f.required}
    values = {k: v for k, v in values.items() if defaults.get(k, _MISSING) != v}
    return _layer(op, values)


def _packed(op: Op, name: str, args: Sequence[Any]) -> list[Any]:
    """Sizes given one by one, as torch takes them (`x.reshape(n, 768, 196)`), in one tuple
    after the op's other arguments; the batch's size left out where archc leaves it out."""
    leading = len(op.positional) - 1
    sizes = list(args[leading:])
    if len(sizes) == 1 and isinstance(sizes[0], tuple | list):
        sizes = list(sizes[0])
    if name in BATCH_FIRST or op.name in BATCH_FIRST:
        if not sizes or sizes[0] is not BATCH:
            raise Unsupported(f"`{name}` does not keep the batch as its first axis")
        sizes = sizes[1:]
    return [*args[:leading], tuple(sizes)] if sizes else list(args[:leading])


def _batch_dependent(value: Any) -> bool:
    if isinstance(value, tuple | list):
        return any(_batch_dependent(v) for v in value)
    return value is BATCH or value is VARIES


def index_layer(index: Any, rank: int) -> Layer:
    """The op for `x[index]` on a tensor of ``rank`` axes: one position of one axis (`x[:, 0]`
    is `select(1, 0)`) or one range (`x[:, 1:]` is `slice(1, 1)`); raises
    :class:`Unsupported` for anything else."""
    parts = index if isinstance(index, tuple) else (index,)
    everything = slice(None)
    picked = [(dim, part) for dim, part in enumerate(parts) if part != everything]
    if len(picked) == 1 and len(parts) <= rank and Ellipsis not in parts:
        ((dim, part),) = picked
        if type(part) is int and dim > 0:
            return Layer("select", (("dim", dim), ("index", part)))
        if (
            isinstance(part, slice)
            and dim > 0
            and all(type(v) is int or v is None for v in (part.start, part.stop, part.step))
        ):
            step = 1 if part.step is None else part.step
            values = {"dim": dim, "start": part.start or 0, "stop": part.stop, "step": step}
            op = registry.lookup("slice")
            assert op is not None
            defaults = {k: f.default for k, f in op.Args.fields.items()}
            return _layer(op, {k: v for k, v in values.items() if v != defaults.get(k, _MISSING)})
    raise Unsupported(f"archc has no op for the index `[{_index_text(parts)}]`")


def _index_text(parts: tuple[Any, ...]) -> str:
    def one(part: Any) -> str:
        if isinstance(part, slice):
            text = ":".join("" if v is None else str(v) for v in (part.start, part.stop))
            return text + (f":{part.step}" if part.step is not None else "")
        return "..." if part is Ellipsis else repr(part)

    return ", ".join(one(part) for part in parts)
