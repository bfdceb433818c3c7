"""Modules of another library's class that extends a torch layer and computes the layer's input
before handing it to the layer's own forward (OPT's learned positions: an nn.Embedding looked
up at the positions plus an offset).

fx traces such a forward through, down to the functional call the torch layer makes with the
module's parameters (`F.embedding(ids + 2, self.weight)`). That call becomes the layer applied
to its input, as a leaf of the trace, and the steps that computed the input move to the caller,
so the spec writes them before the layer, which keeps the module's name and state_dict keys.
The call counts as the layer's forward only where it computes exactly what the torch class's
forward computes on the same input.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import fx, nn

from archc.importer.layers import is_layer_module


def layer_base(module: nn.Module) -> type[nn.Module] | None:
    """The torch layer class ``module``'s class extends, where it is another library's."""
    if is_layer_module(module):
        return None
    for base in type(module).__mro__[1:]:
        if base.__module__.startswith("torch.nn.modules.") and base not in (
            nn.Module,
            nn.Sequential,
            nn.ModuleList,
            nn.ModuleDict,
        ):
            return base
    return None


def _innermost(node: fx.Node) -> tuple[str, str] | None:
    """The (call key, path) of the module whose forward made ``node``."""
    calls = node.meta.get("nn_module_stack") or {}
    if not calls:
        return None
    key, (path, _) = list(calls.items())[-1]
    return key, path


def as_layer_calls(model: nn.Module, graph: fx.Graph, values: dict[str, Any]) -> None:
    """Each functional call a layer subclass makes with its own parameters, where it is the
    torch layer's forward, as a call of that layer on its input (``values`` keeps its value
    under the new node's name)."""
    for path, module in model.named_modules():
        base = layer_base(module)
        if base is not None:
            _as_layer_call(graph, values, path, module, base)


def _as_layer_call(
    graph: fx.Graph, values: dict[str, Any], path: str, module: nn.Module, base: type[nn.Module]
) -> None:
    own = {f"{path}.{name}" for name, _ in module.named_parameters()}
    held = [n for n in graph.nodes if n.op == "get_attr" and n.target in own]
    callers = {user for n in held for user in n.users}
    if not held or len(callers) != 1:
        return
    (call,) = callers
    given = [n for n in call.all_input_nodes if n not in held]
    if len(given) != 1 or call.name not in values or given[0].name not in values:
        return
    (source,) = given
    with torch.no_grad():
        try:
            expected = base.forward(module, values[source.name])
        except Exception:  # the layer's forward refuses this input: the call is something else
            return
    found = values[call.name]
    if not isinstance(found, torch.Tensor) or not isinstance(expected, torch.Tensor):
        return
    if found.shape != expected.shape or not torch.equal(found, expected):
        return
    inside = [n for n in graph.nodes if n is not call and _innermost(n) is not None]
    for node in inside:
        key, where = _innermost(node)  # type: ignore[misc]
        if where == path:  # a step computing the layer's input runs in the caller
            node.meta["nn_module_stack"] = {
                k: v for k, v in node.meta["nn_module_stack"].items() if k != key
            }
    with graph.inserting_before(call):
        layer = graph.call_module(path, (source,))
    layer.meta = dict(call.meta)
    values[layer.name] = values[call.name]
    call.replace_all_uses_with(layer)
    graph.erase_node(call)
    for node in held:
        graph.erase_node(node)
