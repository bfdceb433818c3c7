"""Hover: shapes, parameter counts and MACs of the layer under the cursor, or what a name holds.

A layer written inside a block exists once per instance of the block, so a hover lists every
instance (up to :data:`MAX_SHOWN`); the IR nodes are found by their spans, the innermost first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lsprotocol import types as lsp

from archc import dims
from archc.backends.reference import spec_value
from archc.dims import Dim
from archc.errors import Span
from archc.ops.registry import lookup
from archc.semantics.ir import Module, Network, Node, Ref
from archc.syntax import ast

from .document import Binding, Snapshot, binding, contains, path_to, signature, source_text

# Instances listed in one hover; the rest are counted.
MAX_SHOWN = 8
_UNUSED = "not used by any network in this file"


@dataclass(frozen=True)
class Instance:
    """Where a definition's body was elaborated: a network, and the block instance's path."""

    network: Network
    path: str


def hover(snapshot: Snapshot, offset: int) -> lsp.Hover | None:
    module = snapshot.module
    if module is None:
        return None
    trail = path_to(module, offset)
    text, span = None, None
    if trail and isinstance(trail[-1], ast.Name | ast.Ident):
        text, span = _name(snapshot, trail, offset), trail[-1].span
    if text is None:
        text, span = _layer(snapshot, offset, _named_value(trail))
    if text is None and trail and isinstance(trail[-1], ast.Name):
        text, span = _global(snapshot, trail[-1].id), trail[-1].span
    if text is None or span is None:
        return None
    content = lsp.MarkupContent(lsp.MarkupKind.Markdown, text)
    return lsp.Hover(content, snapshot.lines.range(span))


# --- layers --------------------------------------------------------------------------------------


def _named_value(trail: list[Any]) -> Span | None:
    """The span of what `as name` names, when the cursor is on the name (or on the stem or
    suffix of a naming pattern, `as layer{i + 1}`, which names every copy)."""
    owner = trail[-2] if len(trail) > 1 else None
    if isinstance(owner, ast.Named) and trail[-1] is owner.name:
        return owner.value.span
    if isinstance(owner, ast.NamedCopies) and trail[-1] in (owner.prefix, owner.suffix):
        return owner.value.span
    return None


def _layer(snapshot: Snapshot, offset: int, named: Span | None) -> tuple[str | None, Span | None]:
    """The innermost layer, block call or named sequence at ``offset`` (or the one `as` names),
    in every instance."""
    found: list[tuple[Network, Node | Module]] = []
    for network in snapshot.networks_at(offset):
        for node in network.nodes():
            if node.kind == "op" and snapshot.in_document(node.span):
                found.append((network, node))
        for item in network.modules.values():
            if item.kind != "network" and snapshot.in_document(item.span):
                found.append((network, item))
    if named is not None:
        offset = named.start
        exact = [(n, item) for n, item in found if _same_span(item.span, named)]
        found = exact or found
    found = [(n, item) for n, item in found if contains(item.span, offset)]
    if not found:
        return None, None
    span = min((item.span for _, item in found), key=lambda s: s.end - s.start)
    chosen = [(n, item) for n, item in found if _same_span(item.span, span)]
    first = chosen[0][1]
    if isinstance(first, Node):
        op = lookup(first.op)
        head = f"**{first.op}**" + (f" — {op.summary}" if op is not None else "")
    elif first.kind == "sequence":
        head = f"sequence `{first.name}`" + (f" × {first.repeat}" if first.repeat else "")
    else:
        head = f"`{signature(first.definition.node)}`"
    lines = [_instance_line(network, item) for network, item in chosen]
    return "\n\n".join([head, *_capped(lines)]), span


def _same_span(a: Span, b: Span) -> bool:
    return (a.start, a.end) == (b.start, b.end)


def _instance_line(network: Network, item: Node | Module) -> str:
    if isinstance(item, Node):
        params, macs = item.param_count, item.macs
        inputs, outputs = item.inputs, [Ref(item.id, port) for port in range(len(item.outputs))]
        args = ""
    else:
        params, macs = _totals(network, item.path)
        # a scan's cell reads the sequences and gives them back stacked, step by step
        inputs, outputs = (item.scan or item).inputs, (item.scan or item).outputs
        shown = ", ".join(f"{k}={spec_value(v)}" for k, v in item.args.items())
        args = f" ({shown})" if shown else ""
        if item.scan is not None:
            args += f" scanned over {dims.show(item.scan.steps)} steps"
    flow = f"{_types(network, inputs)} → {_types(network, outputs)}"
    return (
        f"`{item.path or network.name}`{args}: {flow} · {params:,} params · {_number(macs)} MACs"
    )


def _totals(network: Network, path: str) -> tuple[int, Dim]:
    """Parameters (each tied tensor once) and MACs of the layers under ``path``."""
    tied = network.tied_targets()
    params, macs = 0, []
    for node in network.nodes():
        if not path or node.path.startswith(path + "."):
            shapes = [s for name, s in node.params.items() if f"{node.path}.{name}" not in tied]
            params += sum(dims.numel(shape) for shape in shapes)
            macs.append(node.macs)
    return params, dims.total(macs)


# --- names ---------------------------------------------------------------------------------------


def _name(snapshot: Snapshot, trail: list[Any], offset: int) -> str | None:
    """What a name inside a definition holds: a tensor's shape or a parameter's values."""
    ident = trail[-1]
    definition = trail[0] if isinstance(trail[0], ast.Definition) else None
    if definition is None:
        return None
    owner = trail[-2] if len(trail) > 1 else None
    if isinstance(owner, ast.Definition) and ident is owner.name:
        return _definition(snapshot, owner)
    if isinstance(ident, ast.Name):
        name, bound = ident.id, binding(definition, ident.id, offset)
    else:
        name, bound = ident.name, _declared(owner, ident)
    if bound is None:
        return None
    instances = _instances(snapshot, definition)
    if not instances:
        return f"`{name}`: {_UNUSED}"
    if isinstance(bound, ast.Param):
        rows = [
            (inst, spec_value(inst.network.modules[inst.path].args.get(name)))
            for inst in instances
        ]
        default = f" (default {source_text(bound.default.span)})" if bound.default else ""
        return f"parameter `{name}`{default}\n\n" + _grouped(rows, f"`{name}` = ")
    rows = [(inst, _shape(inst, definition, bound, name)) for inst in instances]
    if isinstance(bound, ast.Assign) and all(text == "?" for _, text in rows):
        return f"`{name} = {source_text(bound.value.span)}`"
    return f"tensor `{name}`\n\n" + _grouped(rows, f"`{name}`: ")


def _definition(snapshot: Snapshot, node: ast.Definition) -> str:
    """A definition's signature, and each of its instances with its totals."""
    lines = [
        _instance_line(inst.network, inst.network.modules[inst.path])
        for inst in _instances(snapshot, node)
    ]
    return "\n\n".join([f"`{signature(node)}`", *(_capped(lines) or [_UNUSED])])


def _declared(owner: Any, ident: ast.Ident) -> Binding | ast.Output | None:
    """The statement that ``ident`` names, when it is the name an input, output, target or
    parameter declares (not a layer name, attribute or keyword)."""
    if isinstance(owner, ast.Input | ast.Output | ast.Param) and owner.name is ident:
        return owner
    if isinstance(owner, ast.Assign) and any(t is ident for t in owner.targets):
        return owner
    return None


def _instances(snapshot: Snapshot, definition: ast.Definition) -> list[Instance]:
    return [
        Instance(network, path)
        for network in snapshot.elaborated.using([definition])
        for path, item in network.modules.items()
        if item.kind in ("network", "block")
        and item.definition is not None
        and item.definition.node is definition
    ]


def _shape(
    inst: Instance, definition: ast.Definition, bound: Binding | ast.Output, name: str
) -> str:
    if isinstance(bound, ast.Input | ast.Output):
        ref = _port_ref(inst, definition, bound)
    else:
        ref = _assigned(inst, definition, bound, name)
    kind = inst.network.type_of(ref) if ref is not None else None
    return f"`{kind}`" if kind is not None else "?"


def _assigned(inst: Instance, definition: ast.Definition, bound: Binding, name: str) -> Ref | None:
    """The tensor an assignment bound to ``name`` in one instance: the last one its right-hand
    side made in this body, or (for `y = x`) the tensor the name on the right held."""
    seen: set[int] = set()
    while isinstance(bound, ast.Assign) and id(bound) not in seen:
        seen.add(id(bound))
        targets = [t.name for t in bound.targets]
        port = targets.index(name) if len(targets) > 1 else 0
        ref = _produced(inst, bound.value.span, port)
        if ref is not None or not isinstance(bound.value, ast.Name):
            return ref
        name = bound.value.id
        earlier = binding(definition, name, bound.span.start)
        if isinstance(earlier, ast.Input):
            return _port_ref(inst, definition, earlier)
        bound = earlier  # type: ignore[assignment]
    return None


def _port_ref(
    inst: Instance, definition: ast.Definition, stmt: ast.Input | ast.Output
) -> Ref | None:
    """The tensor an `in` or `out` statement stands for in one instance."""
    declared = [s for s in definition.body if type(s) is type(stmt)]
    item = inst.network.modules[inst.path]
    refs = item.inputs if isinstance(stmt, ast.Input) else item.outputs
    index = declared.index(stmt)
    return refs[index] if index < len(refs) else None


def _produced(inst: Instance, span: Span, port: int) -> Ref | None:
    network = inst.network
    refs: list[Ref] = []
    for node in network.nodes():
        if (
            node.kind == "op"
            and _within(node.span, span)
            and _owner(network, node.scope) == inst.path
        ):
            refs.append(Ref(node.id, port if port < len(node.outputs) else 0))
    for path, item in network.modules.items():
        if (
            item.kind == "block"
            and item.outputs
            and _within(item.span, span)
            and _owner(network, path.rpartition(".")[0]) == inst.path
        ):
            refs.append(item.outputs[port] if port < len(item.outputs) else item.outputs[0])
    return max(refs, key=lambda ref: ref.node, default=None)


def _within(inner: Span, outer: Span) -> bool:
    return inner.file == outer.file and outer.start <= inner.start and inner.end <= outer.end


def _owner(network: Network, scope: str) -> str:
    """The block instance (or "" for the network) whose body wrote a layer in ``scope``."""
    parts = scope.split(".") if scope else []
    for count in range(len(parts), 0, -1):
        path = ".".join(parts[:count])
        item = network.modules.get(path)
        if item is not None and item.kind == "block":
            return path
    return ""


def _global(snapshot: Snapshot, name: str) -> str | None:
    """A file constant as written, a definition's signature or an op's summary."""
    file = snapshot.file
    if file is not None and name in file.constants:
        return f"`{source_text(file.constants[name].span)}`"
    if file is not None and name in file.definitions:
        node = file.definitions[name].node
        return f"`{signature(node)}`\n\ndefined in {node.name.span}"
    op = lookup(name)
    if op is not None:
        return f"**{op.name}** — {op.summary}\n\n`{op.rule}`"
    return None


# --- text ----------------------------------------------------------------------------------------


def _grouped(rows: list[tuple[Instance, str]], prefix: str) -> str:
    """One line per distinct value, naming the instances that have it."""
    groups: dict[str, list[str]] = {}
    for inst, text in rows:
        where = inst.network.name + (f".{inst.path}" if inst.path else "")
        groups.setdefault(text, []).append(f"`{where}`")
    if len(rows) == 1:
        return prefix + next(iter(groups))
    return "\n\n".join(
        _capped([f"{prefix}{text} in {', '.join(_capped(w))}" for text, w in groups.items()])
    )


def _capped(lines: list[str]) -> list[str]:
    if len(lines) <= MAX_SHOWN:
        return lines
    return [*lines[:MAX_SHOWN], f"… and {len(lines) - MAX_SHOWN} more"]


def _types(network: Network, refs: Iterable[Ref]) -> str:
    shown = [
        str(network.type_of(ref)) if network.type_of(ref) is not None else "?" for ref in refs
    ]
    return ", ".join(shown) or "()"


def _number(value: Dim) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)
