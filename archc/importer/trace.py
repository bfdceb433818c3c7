"""Tracing a module with torch.fx into a tree of scopes (:mod:`archc.importer.scopes`): one per
submodule whose forward ran, holding, in the order they ran, the layers it called directly and
the scopes of its children.

Modules that some archc op builds are leaves of the trace, and each traced value also holds
what it is on the example inputs (:mod:`archc.importer.tracer`). A module whose forward cannot
be traced (control flow on a tensor's values) is traced again as a leaf, which the spec shows
as a placeholder, and the failure is kept to report (:mod:`archc.importer.failures`).

The traced graph is run twice, on the inputs and on a batch twice as large: values that are
not tensors and are computed only from shapes (`n, c, h, w = x.shape`, `h // 16`) are known
before the spec runs, and those that follow the batch size are `BATCH`
(:mod:`archc.importer.values`). They become the arguments of the steps that read them, not
steps of their own. The model is also traced again with each symbolic input axis (a sequence
length) at two other lengths (:mod:`archc.importer.probes`): the sizes, values and constants
that differ there follow the axis, and an axis whose length a line branches on keeps the
example's where no `assert` can say which lengths take its branch
(:mod:`archc.importer.branches`). Steps whose values nothing reads on the way to the output (a
shape check, attention weights left unused) are left out: they do not change what the model
computes. The model returns one tensor, or named outputs of which the first is kept.

Each trace leaves out a fold of the batch into rows that is viewed back
(:mod:`archc.importer.folds`), and a functional call that is a torch layer's forward made by
another library's class extending that layer becomes the layer's call
(:mod:`archc.importer.subclassed`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import fx, nn

from archc.importer.branches import branches
from archc.importer.failures import (
    TraceAborted,
    TraceFailure,
    in_place,
    node_frame,
    unfit,
    user_frame,
)
from archc.importer.folds import unfold_batch
from archc.importer.probes import probe_axes
from archc.importer.scopes import Scope, scope_tree
from archc.importer.sizes import Axis
from archc.importer.subclassed import as_layer_calls
from archc.importer.tracer import Fails, Tracer, reads, refusing_autograd_functions
from archc.importer.values import Recorder, follow_shapes, shape_values


def trace(
    model: nn.Module, inputs: tuple[torch.Tensor, ...], axes: tuple[Axis, ...] = ()
) -> tuple[Scope, list[TraceFailure]]:
    """The scope tree of ``model`` run on ``inputs``, and the submodules left opaque; sizes
    that follow the symbolic ``axes`` are `Size`s."""
    failures: list[TraceFailure] = []
    opaque: set[str] = set()
    while True:
        tracer = Tracer(model, opaque, inputs)
        tracer.record_stack_traces = True
        try:
            with refusing_autograd_functions():
                graph = tracer.trace(model)
            unfold_batch(graph, model)
            found = in_place(graph)
        except Fails as failed:
            raise TraceAborted([unfit(inputs, failed.node, failed.error)]) from None
        except Exception as exc:  # fx raises TraceError, and anything the forward raises
            message = str(exc).split("\n")[0]
            assigned = isinstance(exc, TypeError) and "item assignment" in message
            found = [
                TraceFailure(
                    getattr(exc, "archc_path", ""),
                    "`x[...] = ...` assigns into a traced value" if assigned else message,
                    user_frame(exc),
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
    probes, fixed = probe_axes(model, opaque, inputs, axes, graph)
    module = fx.GraphModule(model, graph)
    try:
        doubled: dict[str, Any] | None = Recorder(module).values(
            *(torch.cat([t, t]) for t in inputs)
        )
    except Exception:  # the model fixes its own batch size (`x.view(1, -1)`): none is the batch
        doubled = None
    # the inputs' run last: its shapes are the ones node.meta keeps
    recorder = Recorder(module)
    try:
        values = recorder.values(*inputs)
    except Exception as exc:  # whatever the model raises on these inputs
        raise TraceAborted([unfit(inputs, recorder.running, exc.__cause__ or exc)]) from None
    kept = _check_output(graph, values, tracer.indexed)
    found = branches(list(dict.fromkeys(tracer.decided)), values, probes)
    for branch in found:
        if branch.least is None and branch.symbol not in fixed:
            # no `assert` says which lengths take the example's branch: none but its own does
            fixed[branch.symbol] = (
                f"the forward branches on it at {branch.place}, and the spec cannot say at "
                "which lengths the branch goes the other way"
            )
            del probes[branch.symbol]
    batch = inputs[0].shape[0] if inputs and inputs[0].dim() else 0
    static = shape_values(graph, values, doubled or values, batch, probes)
    follow_shapes(graph, values, probes)
    as_layer_calls(model, graph, values)
    root = scope_tree(model, graph, static)
    root.kept = kept
    root.axes = tuple(axis for axis in axes if axis.symbol not in fixed)
    root.fixed = fixed
    root.branches = [branch for branch in found if branch.symbol not in fixed]
    return root, failures


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
    returned = reads(output)
    if len(returned) == 1 and isinstance(values[returned[0].name], torch.Tensor):
        return ()
    tensors = sum(isinstance(values[node.name], torch.Tensor) for node in returned)
    what = f"{tensors} tensors" if tensors else "no tensor"
    where = node_frame(returned[-1].stack_trace) if returned else None
    message = f"returns {what}; a network `archc import` writes returns one"
    raise TraceAborted([TraceFailure("", message, where, "A505")])
