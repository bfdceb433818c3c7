"""Tracing a module with torch.fx into a tree of scopes: one per submodule whose forward ran,
holding, in the order they ran, the layers it called directly and the scopes of its children.

Modules that some archc op builds are leaves of the trace; every other module is traced
through, and the module stack fx records on each node says whose forward called it. Each traced
value also holds what it is on the example inputs, so Python control flow on a value computed
from shapes alone (`if seq_len > 1`, `for size in x.shape`) takes the branch those inputs take,
as running the model does. A module whose forward cannot be traced (control flow on a tensor's
values) is traced again as a leaf, which the spec shows as a placeholder, and the failure is
kept to report.

The traced graph is run twice, on the inputs and on a batch twice as large: values that are
not tensors and are computed only from shapes (`n, c, h, w = x.shape`, `h // 16`) are known
before the spec runs, and those that follow the batch size are `BATCH`. They become the
arguments of the steps that read them, not steps of their own. The model is also traced again
with each symbolic input axis (a sequence length) at two other lengths: the sizes, values and
constants that differ there follow the axis (:mod:`archc.importer.sizes`). Steps whose values
nothing reads on the way to the output (a shape check, attention weights left unused) are left
out: they do not change what the model computes.
"""

from __future__ import annotations

import contextlib
import inspect
import operator
import re
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import fx, nn

from archc.dims import TensorType
from archc.importer.layers import BATCH, VARIES, is_layer_module
from archc.importer.sizes import Axis, followed, probe_lengths, resized

# the node.meta key of the shape of a node's tensor (None for other values)
SHAPE = "archc_shape"
# the node.meta key of that shape with the sizes that follow symbolic input axes as `Size`s
SIZES = "archc_sizes"
# the node.meta key of a constant tensor's values in the traces at other lengths
PROBED = "archc_probed"
# the node.meta key of the element type of a node's tensor, as a spec writes it
DTYPE = "archc_dtype"
# attributes and methods of a tensor that read its shape, not its values
SHAPE_ATTRIBUTES = ("shape", "ndim", "dtype", "device")
SHAPE_METHODS = ("size", "dim", "ndimension")


@dataclass
class Step:
    """One fx node: a layer call, a function, a method or a read attribute."""

    node: fx.Node
    path: str  # the module's path for a layer call, else ""
    inputs: list[str]  # names of the fx nodes it reads, in argument order
    shape: tuple[int, ...] | None
    input_shapes: list[tuple[int, ...] | None] = field(default_factory=list)
    # the input tensors' types, None for other values
    input_types: list[TensorType | None] = field(default_factory=list)
    # the node's arguments, each value computed from shapes in its place; tensors stay nodes
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    call: int = 0  # how many times the forward called the layer before this call


@dataclass
class Scope:
    """A module whose forward was traced through (or the whole model, path "")."""

    path: str
    module: nn.Module
    entries: list[Step | Scope] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    output: str = ""
    shape: tuple[int, ...] | None = None
    call: int = 0  # how many times the forward called the module before this call
    # the model's: the name of the output kept of those it returns by name, then the others
    kept: tuple[str, ...] = ()
    # the model's: the symbolic input axes, and why each of the others keeps its length
    axes: tuple[Axis, ...] = ()
    fixed: dict[str, str] = field(default_factory=dict)
    # the model's: by symbol, the source lines that branch on a value computed from it
    branches: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class TraceFailure:
    """A submodule whose forward fx could not trace: its path, the message and the user's
    source line that failed (file, line number) where the traceback names one."""

    path: str
    message: str
    where: tuple[str, int] | None
    code: str = "A501"


# operators that change their left operand in place where it is a tensor (`out += identity`)
IN_PLACE_OPERATORS = {
    operator.iadd: "+=",
    operator.isub: "-=",
    operator.imul: "*=",
    operator.itruediv: "/=",
    operator.ifloordiv: "//=",
    operator.ipow: "**=",
}


# the node.meta keys of a node's value on the example inputs, and of whether it is computed
# from shapes alone
VALUE = "archc_value"
FROM_SHAPES = "archc_from_shapes"


class _Fails(Exception):
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
        self.tracer.decided.append(self.node)  # type: ignore[attr-defined]
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


class _Tracer(fx.Tracer):
    def __init__(
        self, model: nn.Module, opaque: set[str], inputs: tuple[torch.Tensor, ...]
    ) -> None:
        super().__init__()
        self.opaque = opaque
        self.inputs = inputs
        # whether the forward returns named outputs that are also read by position
        self.indexed = False
        # the values Python branched on, in the order it did
        self.decided: list[fx.Node] = []
        self.stack: list[str] = []
        # a buffer the forward reads is a node too, whose value the trace knows
        self.proxy_buffer_attributes = True
        self.transient = {
            f"{path}.{name}" if path else name
            for path, module in model.named_modules()
            for name in module._non_persistent_buffers_set
        }

    def proxy(self, node: fx.Node) -> fx.Proxy:
        return _Concrete(node, self)

    def create_proxy(
        self, kind: str, target: Any, args: Any, kwargs: Any, *rest: Any, **more: Any
    ) -> Any:
        proxy = super().create_proxy(kind, target, args, kwargs, *rest, **more)
        node = proxy.node
        read = _read(node)
        # torch's functions run on real tensors here, not on the traced values
        with fx._symbolic_trace._maybe_revert_all_patches():
            try:
                node.meta[VALUE] = self._value(node)
            except Exception as exc:  # whatever the model raises on the example inputs
                raise _Fails(node, exc) from None
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
def _refusing_autograd_functions() -> Iterator[None]:
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


def _in_place(graph: fx.Graph) -> list[TraceFailure]:
    """Calls that change a tensor in place (`y.mul_(2)`, `y += 1`) which is read again after
    them: the graph's later reads see the value from before the change, so the spec would
    compute something else. A change that nothing reads afterwards is a new value."""
    order = {node: index for index, node in enumerate(graph.nodes)}
    found = []
    for node in graph.nodes:
        method = node.op == "call_method" and _in_place_method(str(node.target))
        if not (method or (node.op == "call_function" and node.target in IN_PLACE_OPERATORS)):
            continue
        changed = node.args[0] if node.args else None
        if not isinstance(changed, fx.Node) or all(
            order[user] <= order[node] for user in changed.users
        ):
            continue
        stack = [path for path, _ in (node.meta.get("nn_module_stack") or {}).values()]
        what = str(node.target) if method else IN_PLACE_OPERATORS[node.target]
        found.append(
            TraceFailure(
                stack[-1] if stack else "",
                f"`{what}` changes its input, which is read again afterwards",
                node_frame(node.stack_trace),
                "A507",
            )
        )
    return found


def _in_place_method(name: str) -> bool:
    return name.endswith("_") and not name.startswith("_")


_FRAME = re.compile(r'File "([^"]+)", line (\d+)')


def _internal(path: str) -> bool:
    """A frame of torch or of archc's own importer, not of the model's code."""
    return "/torch/" in path or path.startswith(str(Path(__file__).parent))


def node_frame(stack_trace: str | None) -> tuple[str, int] | None:
    """The model's source line (file, line number) in the stack fx recorded for a node."""
    frames = [
        (path, int(line))
        for path, line in _FRAME.findall(stack_trace or "")
        if not _internal(path)
    ]
    return frames[-1] if frames else None


def _user_frame(exc: BaseException) -> tuple[str, int] | None:
    """The innermost frame of the traceback outside torch: the user's line that failed."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not _internal(f.filename)]
    return (frames[-1].filename, frames[-1].lineno or 1) if frames else None


def trace(
    model: nn.Module, inputs: tuple[torch.Tensor, ...], axes: tuple[Axis, ...] = ()
) -> tuple[Scope, list[TraceFailure]]:
    """The scope tree of ``model`` run on ``inputs``, and the submodules left opaque; sizes
    that follow the symbolic ``axes`` are `Size`s."""
    failures: list[TraceFailure] = []
    opaque: set[str] = set()
    while True:
        tracer = _Tracer(model, opaque, inputs)
        tracer.record_stack_traces = True
        try:
            with _refusing_autograd_functions():
                graph = tracer.trace(model)
            found = _in_place(graph)
        except _Fails as failed:
            raise TraceAborted([_unfit(inputs, failed.node, failed.error)]) from None
        except Exception as exc:  # fx raises TraceError, and anything the forward raises
            message = str(exc).split("\n")[0]
            assigned = isinstance(exc, TypeError) and "item assignment" in message
            found = [
                TraceFailure(
                    getattr(exc, "archc_path", ""),
                    "`x[...] = ...` assigns into a traced value" if assigned else message,
                    _user_frame(exc),
                    "A507" if assigned else "A501",
                )
            ]
        if not found:
            break
        failures += found
        for failure in found:
            if failure.path == "" or failure.path in opaque:
                raise TraceAborted(failures)
            opaque.add(failure.path)
    probes, fixed = _probes(model, opaque, inputs, axes, graph)
    module = fx.GraphModule(model, graph)
    try:
        doubled: dict[str, Any] | None = _Recorder(module).values(
            *(torch.cat([t, t]) for t in inputs)
        )
    except Exception:  # the model fixes its own batch size (`x.view(1, -1)`): none is the batch
        doubled = None
    # the inputs' run last: its shapes are the ones node.meta keeps
    recorder = _Recorder(module)
    try:
        values = recorder.values(*inputs)
    except Exception as exc:  # whatever the model raises on these inputs
        raise TraceAborted([_unfit(inputs, recorder.running, exc.__cause__ or exc)]) from None
    kept = _check_output(graph, values, tracer.indexed)
    branches = _branches(tracer.decided, values, probes)
    batch = inputs[0].shape[0] if inputs and inputs[0].dim() else 0
    static = _static(graph, values, doubled or values, batch, probes)
    _follow_shapes(graph, values, probes)
    root = _scopes(model, graph, static)
    root.kept = kept
    root.axes = tuple(axis for axis in axes if axis.symbol not in fixed)
    root.fixed = fixed
    root.branches = branches
    return root, failures


def _branches(
    decided: list[fx.Node], values: dict[str, Any], probes: Probes
) -> dict[str, list[tuple[str, int]]]:
    """By symbol, the lines of the model's source that branch on values that change with it:
    the spec takes the branch the example takes at every length."""
    found: dict[str, list[tuple[str, int]]] = {}
    for node in dict.fromkeys(decided):
        where = node_frame(node.stack_trace)
        if where is None or node.name not in values:
            continue
        # the values compared: where they are the same at every length, so is the branch
        read = {node.name, *(used.name for used in _read(node))}
        for symbol, traces in probes.items():
            if any(
                not _equal(values[name], probed[name])
                for *_, probed in traces
                for name in read
                if name in values
            ):
                found.setdefault(symbol, [])
                if where not in found[symbol]:
                    found[symbol].append(where)
    return found


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (
            isinstance(a, torch.Tensor)
            and isinstance(b, torch.Tensor)
            and a.shape == b.shape
            and torch.equal(a, b)
        )
    if isinstance(a, tuple | list) and isinstance(b, tuple | list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


# the values of the main trace's nodes in a trace at another length: symbol -> (example
# length, length, values by node name) per trace
Probes = dict[str, list[tuple[int, int, dict[str, Any]]]]


def _probes(
    model: nn.Module,
    opaque: set[str],
    inputs: tuple[torch.Tensor, ...],
    axes: tuple[Axis, ...],
    graph: fx.Graph,
) -> tuple[Probes, dict[str, str]]:
    """The model traced again with each symbol's axes at two other lengths, and the symbols
    that keep their length, with the reason: the model fails there, or takes other steps."""
    probes: Probes = {}
    fixed: dict[str, str] = {}
    for axis in axes:
        if axis.symbol in probes or axis.symbol in fixed:
            continue
        base = int(inputs[axis.input].shape[axis.dim])
        if base < 1:  # an empty axis repeats into no other length
            fixed[axis.symbol] = "an empty example says nothing of other lengths"
            continue
        traces = []
        for length in probe_lengths(base):
            found = _probe(model, opaque, resized(inputs, axes, axis.symbol, length), graph)
            if isinstance(found, str):
                fixed[axis.symbol] = f"{found} at {length}"
                break
            traces.append((base, length, found))
        else:
            probes[axis.symbol] = traces
    return probes, fixed


def _probe(
    model: nn.Module, opaque: set[str], inputs: tuple[torch.Tensor, ...], graph: fx.Graph
) -> dict[str, Any] | str:
    """The value of each node of ``graph`` in the model traced on ``inputs``, or why there is
    none. Constants fx adds to the model for this trace are taken off it again."""
    before = set(vars(model))
    try:
        with _refusing_autograd_functions():
            other = _Tracer(model, opaque, inputs).trace(model)
        values = _Recorder(fx.GraphModule(model, other)).values(*inputs)
    except Exception:  # whatever the model raises on inputs of that length
        return "the model fails"
    finally:
        for added in set(vars(model)) - before:
            delattr(model, added)
    if _outline(graph) != _outline(other):
        return "the model takes other steps"
    return {a.name: values[b.name] for a, b in zip(graph.nodes, other.nodes, strict=True)}


def _outline(graph: fx.Graph) -> list[tuple[Any, ...]]:
    """What each node calls and with what, the nodes it reads by their places: two traces
    with the same outline take the same steps (fx names the constants it adds to the model
    after those it added before, so a constant's name is left out)."""
    places = {node: index for index, node in enumerate(graph.nodes)}

    def place(node: fx.Node) -> Any:
        return ("node", places[node])

    return [
        (
            node.op,
            None if node.op == "get_attr" else node.target,
            fx.node.map_arg(node.args, place),
            fx.node.map_arg(node.kwargs, place),
        )
        for node in graph.nodes
    ]


def _at(probes: Probes, name: str, part: Any = None) -> dict[str, list[tuple[int, int, Any]]]:
    """Each probe's value of node ``name`` (or of ``part`` of it)."""
    return {
        symbol: [
            (base, length, values[name] if part is None else part(values[name]))
            for base, length, values in traces
        ]
        for symbol, traces in probes.items()
    }


def _follow_shapes(graph: fx.Graph, values: dict[str, Any], probes: Probes) -> None:
    """Each tensor's shape with the sizes that follow symbolic axes as `Size`s; a constant's
    values in the other traces, which say whether it follows them too."""

    def shape(value: Any) -> Any:
        return tuple(value.shape) if isinstance(value, torch.Tensor) else None

    for node in graph.nodes:
        value = values.get(node.name)
        if not probes or not isinstance(value, torch.Tensor):
            continue
        node.meta[SIZES] = followed(tuple(value.shape), _at(probes, node.name, shape))
        if node.op == "get_attr":
            node.meta[PROBED] = [
                found for traces in _at(probes, node.name).values() for *_, found in traces
            ]


def _unfit(
    inputs: tuple[torch.Tensor, ...], node: fx.Node | None, error: BaseException
) -> TraceFailure:
    """The model fails at ``node`` on the example inputs."""
    shapes = ", ".join(str(list(t.shape[1:])) for t in inputs)
    reason = str(error).split("\n")[0]
    where = node_frame(node.stack_trace) if node is not None else None
    return TraceFailure("", f"fails on inputs of shape {shapes}: {reason}", where, "A508")


def _check_output(graph: fx.Graph, values: dict[str, Any], indexed: bool) -> tuple[str, ...]:
    """The model returns one tensor, which the network's `out` is. Of named outputs that are
    also read by position (Hugging Face's `ModelOutput`), the first is kept, as `outputs[0]`
    reads it: its name, then the names of the tensors left out."""
    output = next(node for node in graph.nodes if node.op == "output")
    (result,) = output.args
    if indexed and isinstance(result, dict):
        named = {
            key: node
            for key, node in result.items()
            if isinstance(node, fx.Node) and isinstance(values[node.name], torch.Tensor)
        }
        if named:
            output.args = (next(iter(named.values())),)
            return tuple(named)
    returned = _read(output)
    if len(returned) == 1 and isinstance(values[returned[0].name], torch.Tensor):
        return ()
    tensors = sum(isinstance(values[node.name], torch.Tensor) for node in returned)
    what = f"{tensors} tensors" if tensors else "no tensor"
    where = node_frame(returned[-1].stack_trace) if returned else None
    message = f"returns {what}; a network `archc import` writes returns one"
    raise TraceAborted([TraceFailure("", message, where, "A505")])


def _dtype(value: Any) -> str | None:
    """A tensor's element type as a spec writes it: floats are the type the network is built
    in, float32 unless `build` is given another; ids and masks keep theirs."""
    if not isinstance(value, torch.Tensor):
        return None
    return "float32" if value.is_floating_point() else str(value.dtype).removeprefix("torch.")


class _Recorder(fx.Interpreter):
    """Runs the graph, keeping every node's value and, in node.meta, each tensor's shape."""

    running: fx.Node | None = None

    def values(self, *inputs: torch.Tensor) -> dict[str, Any]:
        self.found: dict[str, Any] = {}
        self.run(*inputs)
        return self.found

    def run_node(self, n: fx.Node) -> Any:
        self.running = n
        result = super().run_node(n)
        self.found[n.name] = result
        n.meta[SHAPE] = tuple(result.shape) if isinstance(result, torch.Tensor) else None
        n.meta[DTYPE] = _dtype(result)
        return result


def _holds_tensor(value: Any) -> bool:
    if isinstance(value, tuple | list):
        return any(_holds_tensor(v) for v in value)
    return isinstance(value, torch.Tensor)


def _static(
    graph: fx.Graph,
    values: dict[str, Any],
    doubled: dict[str, Any],
    batch: int,
    probes: Probes,
) -> dict[str, Any]:
    """The values computed from shapes alone, by node name: queries of a tensor's shape and
    what is computed from them, with the batch size as ``BATCH`` and those that follow a
    symbolic axis as `Size`s."""
    static: dict[str, Any] = {}
    for node in graph.nodes:
        if node.op not in ("call_function", "call_method") or _holds_tensor(values[node.name]):
            continue
        queried = (node.op == "call_method" and node.target in SHAPE_METHODS) or (
            node.target is getattr and node.args[1] in SHAPE_ATTRIBUTES
        )
        if queried or all(n.name in static for n in _read(node)):
            value = _batched(values[node.name], doubled[node.name], batch)
            if probes:
                value = _joined(value, followed(values[node.name], _at(probes, node.name)))
            static[node.name] = value
    return static


def _batched(value: Any, doubled: Any, batch: int) -> Any:
    """``value`` with the sizes that doubled with the batch as ``BATCH``, and other values
    that changed with it as ``VARIES``."""
    if isinstance(value, tuple | list) and isinstance(doubled, tuple | list):
        if len(value) == len(doubled):
            return tuple(_batched(v, d, batch) for v, d in zip(value, doubled, strict=True))
        return VARIES
    if type(value) is int and value == batch and doubled == 2 * batch:
        return BATCH
    return value if value == doubled else VARIES


def _joined(batched: Any, followed: Any) -> Any:
    """A value's sizes that follow the batch as ``batched`` says, the others as ``followed``."""
    if isinstance(batched, tuple) and isinstance(followed, tuple | list):
        return tuple(_joined(b, f) for b, f in zip(batched, followed, strict=True))
    return batched if batched is BATCH or batched is VARIES else followed


class TraceAborted(Exception):
    """The model's own forward could not be traced."""

    def __init__(self, failures: list[TraceFailure]) -> None:
        super().__init__(failures[-1].message)
        self.failures = failures


def shape_of(node: fx.Node) -> tuple[Any, ...] | None:
    """The shape of ``node``'s tensor, its sizes that follow symbolic axes as `Size`s."""
    shape: tuple[Any, ...] | None = node.meta.get(SIZES, node.meta.get(SHAPE))
    return shape


def _type(node: fx.Node) -> TensorType | None:
    """The tensor's type on the example inputs, which layers are matched on."""
    shape = node.meta.get(SHAPE)
    return None if shape is None else TensorType(shape, node.meta[DTYPE])


def _read(node: fx.Node) -> list[fx.Node]:
    found: list[fx.Node] = []
    fx.node.map_arg((node.args, node.kwargs), found.append)
    return found


def _live(graph: fx.Graph) -> set[str]:
    """The nodes whose values the output depends on."""
    live: set[str] = set()
    for node in reversed(graph.nodes):
        if node.op == "output" or node.name in live:
            live.add(node.name)
            live.update(n.name for n in _read(node))
    return live


def _scopes(model: nn.Module, graph: fx.Graph, static: dict[str, Any]) -> Scope:
    root = Scope("", model)
    scopes = {"": root}
    produced_in: dict[str, Scope] = {}
    modules = dict(model.named_modules())
    live = _live(graph)
    for node in graph.nodes:
        if node.name in static or node.name not in live:
            continue
        if node.op == "placeholder":
            root.inputs.append(node.name)
            continue
        if node.op == "output":
            (result,) = _read(node)
            root.output = result.name
            root.shape = shape_of(result)
            continue
        # fx keys a module's later calls `path@1`, `path@2`: each call is a scope of its own
        stack = _stack(node)
        call = 0
        if node.op == "call_module" and stack and stack[-1][1] == node.target:
            call = _call_number(stack.pop()[0])
        parent = root
        for key, path in stack:
            if key not in scopes:
                scopes[key] = Scope(path, modules[path], call=_call_number(key))
                parent.entries.append(scopes[key])
            parent = scopes[key]
        leaf = str(node.target) if node.op == "call_module" else ""
        read = [n for n in _read(node) if n.name not in static]

        def known(n: fx.Node) -> Any:
            return static.get(n.name, n)

        step = Step(
            node,
            leaf,
            [n.name for n in read],
            shape_of(node),
            [shape_of(n) for n in read],
            [_type(n) for n in read],
            fx.node.map_arg(node.args, known),
            fx.node.map_arg(node.kwargs, known),
            call,
        )
        parent.entries.append(step)
        produced_in[node.name] = parent
    _hoist_concatenations(root, produced_in)
    _wire(root, scopes)
    return root


def _stack(node: fx.Node) -> list[tuple[str, str]]:
    """The modules whose forwards were running when ``node`` was made, outermost first, as
    (call key, path). A constant tensor fx adds where a layer is given one belongs to the
    layer's caller, not to the layer."""
    if node.op == "get_attr" and node.users:
        user = next(iter(node.users))
        stack = _stack(user)
        if user.op == "call_module" and stack and stack[-1][1] == user.target:
            stack.pop()
        return stack
    calls = node.meta.get("nn_module_stack") or {}
    return [(key, path) for key, (path, _) in calls.items()]


def _call_number(key: str) -> int:
    _, at, number = key.rpartition("@")
    return int(number) if at and number.isdigit() else 0


def _hoist_concatenations(scope: Scope, produced_in: dict[str, Scope]) -> None:
    """A submodule that starts by concatenating the tensors it was given (a dense layer reads
    a list) takes their concatenation instead: the concatenation moves to the caller, so the
    submodule takes one tensor, as a spec's layers do. One that reads those tensors again (a
    dense block that keeps the list and concatenates it after each layer) keeps it."""
    index = 0
    while index < len(scope.entries):
        entry = scope.entries[index]
        if isinstance(entry, Scope):
            first = entry.entries[0] if entry.entries else None
            if (
                isinstance(first, Step)
                and first.node.op == "call_function"
                and first.node.target in (torch.cat, torch.concat)
                and all(produced_in.get(v) is not entry for v in first.inputs)
                and not any(v in first.inputs for step in _steps(entry)[1:] for v in step.inputs)
            ):
                entry.entries.pop(0)
                scope.entries.insert(index, first)
                produced_in[first.node.name] = scope
                index += 1
            _hoist_concatenations(entry, produced_in)
        index += 1


def _steps(scope: Scope) -> list[Step]:
    """The steps of ``scope`` and of the scopes inside it, in the order they ran."""
    found: list[Step] = []
    for entry in scope.entries:
        found += _steps(entry) if isinstance(entry, Scope) else [entry]
    return found


def _wire(root: Scope, scopes: dict[str, Scope]) -> None:
    """Each scope's inputs (values it reads that were made outside it, in first-use order) and
    output (the value made inside that is read outside)."""
    every = _steps(root)
    shapes = {s.node.name: s.shape for s in every}
    for scope in scopes.values():
        if scope is root:
            continue
        own = {s.node.name for s in _steps(scope)}
        for step in _steps(scope):
            for value in step.inputs:
                if value not in own and value not in scope.inputs:
                    scope.inputs.append(value)
        read_outside = [
            value
            for step in every
            if step.node.name not in own
            for value in step.inputs
            if value in own
        ]
        if root.output in own:
            read_outside.append(root.output)
        scope.output = read_outside[0] if read_outside else ""
        scope.shape = shapes.get(scope.output)
        if len(set(read_outside)) > 1:
            scope.output = ",".join(dict.fromkeys(read_outside))


def unread_layers(model: nn.Module, root: Scope) -> list[str]:
    """The paths of the modules holding parameters that nothing the output depends on reads
    (a pooler beside the hidden states kept): the spec has no layer for them."""
    read = {step.path for step in _steps(root) if step.path}
    read |= {
        str(step.node.target).rpartition(".")[0]
        for step in _steps(root)
        if step.node.op == "get_attr"
    }
    return [
        path
        for path, module in model.named_modules()
        if path
        and any(True for _ in module.parameters(recurse=False))
        and path not in read
        and not any(path.startswith(f"{used}.") for used in read)
    ]
