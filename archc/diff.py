"""`archc diff A.arch B.arch`: what changes between the networks of two specs.

For each pair of networks (by name, or the only network of each file): the parameter and MAC
totals and the output shapes; per block definition, its instances, parameters and MACs; the
layers added, removed or changed (by path); and the state_dict keys present in one and not the
other, where a key of one paired with a key of the same shape and tensor name in the other is
reported as a rename. An imported spec and the hand-written one it matches differ in names at
most.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archc import api
from archc.dims import Dim, TensorType
from archc.errors import ArchError
from archc.semantics.ir import Network, Node, tensor_key


@dataclass(frozen=True)
class Counts:
    """A network's or a block definition's totals: instances, parameters, MACs."""

    instances: int
    params: int
    macs: Dim


@dataclass
class NetworkDiff:
    before: str
    after: str
    totals: tuple[Counts, Counts]
    outputs: list[tuple[str, str, str]] = field(default_factory=list)  # name, before, after
    renamed_outputs: list[tuple[str, str]] = field(default_factory=list)  # same shapes
    blocks: list[tuple[str, Counts | None, Counts | None]] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str, tuple[int, ...]]] = field(default_factory=list)
    only_before: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)
    only_after: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)

    @property
    def same(self) -> bool:
        """Equal up to the names of the networks and their outputs."""
        parts = (self.outputs, self.blocks, self.added, self.removed, self.changed)
        keys = (self.renamed, self.only_before, self.only_after)
        return self.totals[0] == self.totals[1] and not any(parts) and not any(keys)


def _networks(path: str) -> list[Network]:
    networks, diagnostics = api.analyse(path)
    api.require_networks(path, networks, diagnostics, None, "compare")
    return networks


def compare(before: str, after: str) -> list[NetworkDiff]:
    """The differences between the networks of the specs at ``before`` and ``after``.

    Raises :class:`archc.errors.ArchError` when either spec has errors."""
    old, new = _networks(before), _networks(after)
    if len(old) == 1 and len(new) == 1:
        pairs = [(old[0], new[0])]
    else:
        by_name = {n.name: n for n in new}
        pairs = [(n, by_name[n.name]) for n in old if n.name in by_name]
    if not pairs:
        raise ArchError([])
    return [_compare(a, b) for a, b in pairs]


def _shape(node: Node) -> str:
    types = [t for t in node.outputs if isinstance(t, TensorType)]
    return ", ".join(str(list(t.shape[1:])) for t in types)


def _described(node: Node) -> str:
    """`conv2d [64, 56, 56] weight [64, 64, 1, 1]`: the op, its output and its weight."""
    weight = node.params.get("weight")
    return f"{node.op} {_shape(node)}" + (f" weight {list(weight)}" if weight else "")


def _outputs(network: Network) -> dict[str, str]:
    shapes = {}
    for name, ref in network.outputs.items():
        tensor = network.type_of(ref)
        shapes[name] = str(list(tensor.shape[1:])) if tensor is not None else "?"
    return shapes


def _blocks(network: Network) -> dict[str, Counts]:
    found: dict[str, list[int | Dim]] = {}
    for path, module in network.modules.items():
        if module.kind != "block":
            continue
        nodes = network.within(path)
        params = sum(
            count for node in nodes for count in (_numel(s) for s in node.params.values())
        )
        macs = sum((node.macs for node in nodes), start=0)
        totals = found.setdefault(module.name, [0, 0, 0])
        totals[0] = int(totals[0]) + 1
        totals[1] = int(totals[1]) + params
        totals[2] = totals[2] + macs
    return {name: Counts(int(n), int(p), m) for name, (n, p, m) in found.items()}


def _numel(shape: tuple[int, ...]) -> int:
    count = 1
    for size in shape:
        count *= size
    return count


def _layers(network: Network) -> dict[str, Node]:
    return {node.path: node for node in network.nodes() if node.kind == "op"}


def _tensors(network: Network) -> dict[str, tuple[int, ...]]:
    keys = {}
    for node in network.nodes():
        for name, shape in (*node.params.items(), *node.buffers.items()):
            keys[tensor_key(node.path, name)] = shape
    return keys


def _compare(a: Network, b: Network) -> NetworkDiff:
    diff = NetworkDiff(
        a.name,
        b.name,
        (Counts(1, a.param_count, a.macs), Counts(1, b.param_count, b.macs)),
    )
    outputs_a, outputs_b = _outputs(a), _outputs(b)
    if list(outputs_a.values()) == list(outputs_b.values()):
        pairs = zip(outputs_a, outputs_b, strict=True)
        diff.renamed_outputs = [(old, new) for old, new in pairs if old != new]
    else:
        for name in dict.fromkeys([*outputs_a, *outputs_b]):
            if outputs_a.get(name) != outputs_b.get(name):
                diff.outputs.append((name, outputs_a.get(name, "-"), outputs_b.get(name, "-")))
    blocks_a, blocks_b = _blocks(a), _blocks(b)
    for name in dict.fromkeys([*blocks_a, *blocks_b]):
        if blocks_a.get(name) != blocks_b.get(name):
            diff.blocks.append((name, blocks_a.get(name), blocks_b.get(name)))
    _pair_keys(diff, _tensors(a), _tensors(b))
    renamed_layers = {_layer_of(k) for k, _, _ in diff.renamed}
    renamed_layers |= {_layer_of(k) for _, k, _ in diff.renamed}
    layers_a, layers_b = _layers(a), _layers(b)
    for path, node in layers_a.items():
        other = layers_b.get(path)
        if other is None:
            if path not in renamed_layers:
                diff.removed.append(f"{path}: {node.op} {_shape(node)}")
        elif (node.op, _shape(node), node.params) != (other.op, _shape(other), other.params):
            diff.changed.append(f"{path}: {_described(node)} -> {_described(other)}")
    for path, node in layers_b.items():
        if path not in layers_a and path not in renamed_layers:
            diff.added.append(f"{path}: {node.op} {_shape(node)}")
    return diff


def _layer_of(key: str) -> str:
    return key.rsplit(".", 1)[0]


def _pair_keys(
    diff: NetworkDiff, a: dict[str, tuple[int, ...]], b: dict[str, tuple[int, ...]]
) -> None:
    """Keys in one network only; those with a partner of the same shape and tensor name in the
    other, taken in order, are renames."""
    only_a = [k for k in a if k not in b]
    only_b = [k for k in b if k not in a]
    for key in only_a:
        tensor = key.rsplit(".", 1)[-1]
        partner = next(
            (k for k in only_b if b[k] == a[key] and k.rsplit(".", 1)[-1] == tensor), None
        )
        if partner is None:
            diff.only_before.append((key, a[key]))
        else:
            only_b.remove(partner)
            diff.renamed.append((key, partner, a[key]))
    diff.only_after.extend((k, b[k]) for k in only_b)


def _count(value: Dim) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _change(before: Dim, after: Dim) -> str:
    if before == after:
        return f"{_count(before)} (unchanged)"
    if isinstance(before, int) and isinstance(after, int):
        return f"{_count(before)} -> {_count(after)} ({after - before:+,})"
    return f"{_count(before)} -> {_count(after)}"


def _counts(counts: Counts | None) -> str:
    if counts is None:
        return "none"
    plural = "" if counts.instances == 1 else "s"
    return (
        f"{counts.instances} instance{plural}, {_count(counts.params)} parameters, "
        f"{_count(counts.macs)} MACs"
    )


def render(diffs: list[NetworkDiff]) -> str:
    """The differences as `archc diff` prints them."""
    lines: list[str] = []
    for diff in diffs:
        title = diff.before if diff.before == diff.after else f"{diff.before} -> {diff.after}"
        lines.append(f"network {title}")
        lines.append(f"  parameters: {_change(diff.totals[0].params, diff.totals[1].params)}")
        lines.append(f"  MACs: {_change(diff.totals[0].macs, diff.totals[1].macs)}")
        lines += [f"  output {n}: {old} -> {new}" for n, old, new in diff.outputs]
        lines += [f"  output renamed: {old} -> {new}" for old, new in diff.renamed_outputs]
        for name, old, new in diff.blocks:
            lines.append(f"  block {name}: {_counts(old)} -> {_counts(new)}")
        sections = (
            ("layers removed", diff.removed),
            ("layers added", diff.added),
            ("layers changed", diff.changed),
            ("state_dict keys renamed", [f"{a} -> {b} {list(s)}" for a, b, s in diff.renamed]),
            ("state_dict keys only in the first", [f"{k} {list(s)}" for k, s in diff.only_before]),
            ("state_dict keys only in the second", [f"{k} {list(s)}" for k, s in diff.only_after]),
        )
        for heading, items in sections:
            if items:
                lines.append(f"  {heading} ({len(items)}):")
                lines += [f"    {item}" for item in items]
        if diff.same:
            lines.append("  no differences but names")
    return "\n".join(lines) + "\n"
