"""torch.fx's tracer, each traced value knowing what it is on the example inputs.

The tracer computes every node as it records it, with fx's patches lifted, so Python that
branches on, loops over or sizes with a value computed from shapes alone (`if seq_len > 1`,
`for size in x.shape`) takes the branch the example takes, as running the model does
(:mod:`archc.importer.branches` says at which other lengths it does); a branch on a tensor's
values stays fx's error. A tensor made from sizes alone, or from a buffer the state_dict leaves
out, is the same on every input: the forward gets it as a real tensor. Modules an op builds are
leaves, and a custom autograd function is refused rather than traced through.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import operator
from collections.abc import Iterator
from typing import Any

import torch
from torch import fx, nn

from archc.importer.failures import calling_frame
from archc.importer.layers import is_layer_module

# attributes and methods of a tensor that read its shape, not its values
SHAPE_ATTRIBUTES = ("shape", "ndim", "dtype", "device")
SHAPE_METHODS = ("size", "dim", "ndimension")
# torch's functions that build a constant tensor from sizes given one by one
# (`torch.ones(batch, seq_len)`), and its tables of a type's limits (`torch.finfo(x.dtype)`),
# which refuse a traced size or type; random tensors are left to fx, as a random tensor is
# the same on no two inputs
SIZED_FACTORIES = ("ones", "zeros", "full", "eye", "finfo", "iinfo")
# the node.meta keys of a node's value on the example inputs, and of whether it is computed
# from shapes alone
VALUE = "archc_value"
FROM_SHAPES = "archc_from_shapes"


class Fails(Exception):
    """The model raised ``error`` computing ``node`` on the example inputs."""

    def __init__(self, node: fx.Node, error: Exception) -> None:
        super().__init__(str(error))
        self.node = node
        self.error = error


class _Concrete(fx.Proxy):
    """A traced value that knows its value on the example inputs: Python may branch on it, loop
    over it or use it as a size where it is computed from shapes alone."""

    def _known(self) -> Any:
        if not self.node.meta.get(FROM_SHAPES):
            raise fx.proxy.TraceError(
                "symbolically traced variables cannot be used as inputs to control flow"
            )
        return self.node.meta[VALUE]

    def __bool__(self) -> bool:
        known = bool(self._known())
        where = calling_frame()
        if where is not None:
            self.tracer.decided.append((self.node, where))  # type: ignore[attr-defined]
        return known

    def __index__(self) -> int:
        return operator.index(self._known())

    def __int__(self) -> int:
        return int(self._known())

    def __len__(self) -> int:
        value = self.node.meta.get(VALUE)
        if isinstance(value, torch.Tensor | tuple | list):
            return len(value)
        raise TypeError(f"a traced {type(value).__name__} has no len()")

    def __iter__(self) -> Iterator[Any]:
        value = self.node.meta.get(VALUE)
        if isinstance(value, tuple | list):  # a shape, or a tuple of sizes
            return iter([self[index] for index in range(len(value))])
        return super().__iter__()


def _as_numbers(value: Any) -> Any:
    """``value`` with each traced value computed from sizes alone as what it is."""
    if isinstance(value, fx.Proxy) and value.node.meta.get(FROM_SHAPES):
        return value.node.meta[VALUE]
    if isinstance(value, tuple | list):
        return type(value)(_as_numbers(v) for v in value)
    if isinstance(value, dict):
        return {k: _as_numbers(v) for k, v in value.items()}
    return value


class _Known(torch.Tensor):
    """A tensor the forward made from sizes alone while it is traced: its methods take traced
    sizes as the numbers they are (`ids.expand(batch, seq_len)`), which torch's own argument
    parsing refuses to hand to a traced value."""

    def __getattribute__(self, name: str) -> Any:
        found = super().__getattribute__(name)
        if name.startswith("__") or not callable(found):
            return found

        def method(*args: Any, **kwargs: Any) -> Any:
            return found(*_as_numbers(args), **_as_numbers(kwargs))

        return method


@contextlib.contextmanager
def sizes_as_numbers() -> Iterator[None]:
    """While tracing, :data:`SIZED_FACTORIES` given traced sizes or types computed from shapes
    alone take the numbers and types those are, as the tracer does with any tensor made from
    sizes alone."""
    originals = {name: getattr(torch, name) for name in SIZED_FACTORIES}

    def sized(original: Any) -> Any:
        @functools.wraps(original)
        def build(*args: Any, **kwargs: Any) -> Any:
            given = [a for a in [*args, *kwargs.values()] if isinstance(a, fx.Proxy)]
            if not given or not all(a.node.meta.get(FROM_SHAPES) for a in given):
                return original(*args, **kwargs)
            built = original(*_as_numbers(args), **_as_numbers(kwargs))
            return built.as_subclass(_Known) if isinstance(built, torch.Tensor) else built

        return build

    for name, original in originals.items():
        setattr(torch, name, sized(original))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(torch, name, original)


class Tracer(fx.Tracer):
    def __init__(
        self, model: nn.Module, opaque: set[str], inputs: tuple[torch.Tensor, ...]
    ) -> None:
        super().__init__()
        self.opaque = opaque
        self.inputs = inputs
        # whether the forward returns named outputs that are also read by position
        self.indexed = False
        # the values Python branched on, in the order it did, and the lines that did
        self.decided: list[tuple[fx.Node, tuple[str, int]]] = []
        self.stack: list[str] = []
        # a buffer the forward reads is a node too, whose value the trace knows
        self.proxy_buffer_attributes = True
        self.transient = {
            f"{path}.{name}" if path else name
            for path, module in model.named_modules()
            for name in module._non_persistent_buffers_set
        }

    def trace(self, root: Any, concrete_args: dict[str, Any] | None = None) -> fx.Graph:
        with sizes_as_numbers():
            return super().trace(root, concrete_args)

    def proxy(self, node: fx.Node) -> fx.Proxy:
        return _Concrete(node, self)

    def create_proxy(
        self, kind: str, target: Any, args: Any, kwargs: Any, *rest: Any, **more: Any
    ) -> Any:
        proxy = super().create_proxy(kind, target, args, kwargs, *rest, **more)
        node = proxy.node
        read = reads(node)
        # torch's functions run on real tensors here, not on the traced values
        with fx._symbolic_trace._maybe_revert_all_patches():
            try:
                node.meta[VALUE] = self._value(node)
            except Exception as exc:  # whatever the model raises on the example inputs
                raise Fails(node, exc) from None
        queried = (kind == "call_method" and target in SHAPE_METHODS) or (
            target is getattr and len(node.args) > 1 and node.args[1] in SHAPE_ATTRIBUTES
        )
        from_shapes = queried or (bool(read) and all(n.meta.get(FROM_SHAPES) for n in read))
        # a buffer the state_dict leaves out is the same on every input, as sizes are
        transient = kind == "get_attr" and target in self.transient
        node.meta[FROM_SHAPES] = transient or (
            kind in ("call_function", "call_method") and from_shapes
        )
        if (
            node.meta[FROM_SHAPES]
            and kind != "get_attr"
            and isinstance(node.meta[VALUE], torch.Tensor)
        ):
            # a tensor made from sizes and such buffers alone (`torch.arange(seq_len)`) is the
            # same tensor on every input: the forward gets it, not a traced value, and may
            # test it as running the model does
            self.graph.erase_node(node)
            return node.meta[VALUE].as_subclass(_Known)
        return proxy

    def _value(self, node: fx.Node) -> Any:
        """What ``node`` computes on the example inputs (fx adds the tensor constants a forward
        uses as attributes of the root, read here too)."""
        if VALUE in node.meta:
            return node.meta[VALUE]
        if node.op == "placeholder":
            return self.inputs[len([n for n in node.graph.nodes if n.op == "placeholder"]) - 1]
        if node.op == "get_attr":
            found: Any = self.root
            for part in str(node.target).split("."):
                found = getattr(found, part)
            return found
        args = fx.node.map_arg(node.args, self._value)
        kwargs = fx.node.map_arg(node.kwargs, self._value)
        if node.op == "call_module":
            return self.root.get_submodule(str(node.target)).forward(*args, **kwargs)
        if node.op == "call_function":
            return node.target(*args, **kwargs)
        if node.op == "call_method":
            return getattr(args[0], str(node.target))(*args[1:], **kwargs)
        return None

    def create_args_for_root(
        self, root_fn: Any, is_module: bool, concrete_args: Any = None
    ) -> tuple[Any, list[Any]]:
        """A placeholder per example input, given positionally as `model(*inputs)` gives them:
        the forward's other parameters keep their defaults, and a forward wrapped by
        decorators that read its keyword arguments gets a real dict of them."""
        names = _input_names(root_fn, len(self.inputs))
        proxies = [self.create_proxy("placeholder", name, (), {}) for name in names]

        def call(module: nn.Module, *inputs: Any) -> Any:
            returned = root_fn(module, *inputs)
            self.indexed = isinstance(returned, dict) and _indexed(returned)
            if self.indexed:  # of named outputs, the traced ones (not a KV cache's object)
                return {k: v for k, v in returned.items() if isinstance(v, fx.Proxy)}
            return returned

        return call, [self.root, *proxies]

    def is_leaf_module(self, m: nn.Module, qualified_name: str) -> bool:
        return qualified_name in self.opaque or is_layer_module(m)

    def call_module(self, m: nn.Module, forward: Any, args: Any, kwargs: Any) -> Any:
        path = self.path_of_module(m)
        self.stack.append(path)
        try:
            result = super().call_module(m, forward, args, kwargs)
        except Exception as exc:
            if not hasattr(exc, "archc_path"):
                exc.archc_path = path  # type: ignore[attr-defined]
            raise
        self.stack.pop()
        return result


def _indexed(returned: dict[Any, Any]) -> bool:
    """Whether named outputs are also read by position, the first being `returned[0]`, as
    Hugging Face's ModelOutput reads them; a plain dict names its outputs only."""
    try:
        first = returned[0]
    except (KeyError, IndexError, TypeError):
        return False
    return bool(returned) and first is next(iter(returned.values()))


def _input_names(forward: Any, count: int) -> list[str]:
    """The names of the first ``count`` parameters ``forward`` takes after `self`; `input2`,
    `input3`, ... where it takes them as `*args`."""
    names: list[str] = []
    for parameter in list(inspect.signature(forward).parameters.values())[1:]:
        if parameter.kind not in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            break
        names.append(parameter.name)
    names = names[:count]
    return names + [f"input{index + 1}" for index in range(len(names), count)]


class CustomFunction(Exception):
    """Raised while tracing where a forward calls a custom autograd function: fx would trace
    its forward and drop its backward, so the spec would silently compute other gradients."""


@contextlib.contextmanager
def refusing_autograd_functions() -> Iterator[None]:
    function = torch.autograd.Function
    original = function.__dict__["apply"]  # the classmethod itself, to put back as it was

    def refuse(cls: type, *args: Any, **kwargs: Any) -> Any:
        if any(isinstance(a, fx.Proxy) for a in args):
            raise CustomFunction(f"custom autograd function `{cls.__name__}` has no archc op")
        return original.__get__(None, cls)(*args, **kwargs)

    function.apply = classmethod(refuse)  # type: ignore[assignment,method-assign]
    try:
        yield
    finally:
        function.apply = original  # type: ignore[method-assign]


def reads(node: fx.Node) -> list[fx.Node]:
    found: list[fx.Node] = []
    fx.node.map_arg((node.args, node.kwargs), found.append)
    return found
