"""What a diagram of a network shows: its boxes, clusters and edges, before any styling.

Each box is one op, a module drawn whole, or an input or output of the network; clusters are
blocks and named sequences, in forward order; edges carry a tensor's shape and are the main
path, a skip (the side input of a join that keeps its shape) or a dense edge (a join that grows
it). ``depth`` draws modules below that depth as single boxes, ``collapse_repeats`` draws one
instance of ``block * n``, and ``hide`` folds whole families (norm, activation) into the box
they follow or, failing that, the one they feed. The titles of boxes and clusters are decided
here too; how labels are laid out and styled is archc/backends/graphviz.py's business.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from archc import dims
from archc.backends.reference import spec_value
from archc.backends.torch.structure import inferred_of
from archc.dims import TensorType
from archc.ops import lookup
from archc.semantics.ir import Module, Network, Node, Ref, join_path
from archc.semantics.values import (
    BlockLayer,
    BranchesLayer,
    CombinatorLayer,
    Layer,
    OpLayer,
    RepeatLayer,
    SequenceLayer,
    Tensor,
)


@dataclass
class Unit:
    """One box: an op (with the hidden ops folded into it), a collapsed module, or an input or
    output of the network. ``home`` is the path of the module whose cluster holds it."""

    key: str
    home: str
    family: str
    title: str = ""
    name: str = ""
    output: TensorType | None = None
    params: int = 0
    nodes: list[Node] = field(default_factory=list)
    module: Module | None = None
    symbol: bool = False


Kind = Literal["main", "skip", "dense"]


@dataclass(frozen=True)
class Edge:
    tail: str
    head: str
    label: str
    kind: Kind
    aside: bool = False


@dataclass
class View:
    """The boxes, edges and clusters of a diagram, before any styling."""

    units: dict[str, Unit] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    # cluster path ("" for the whole graph) -> its contents in forward order: ("unit", key)
    # or ("cluster", module path)
    children: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    module_params: dict[str, int] = field(default_factory=dict)
    collapsed_repeats: set[str] = field(default_factory=set)

    @property
    def edge_kinds(self) -> set[str]:
        return {edge.kind for edge in self.edges}


def shape_text(tensor: TensorType | None) -> str:
    """A tensor's shape for one sample, as diagrams print it: ``64×56×56``, ``T×768 int64``.

    >>> shape_text(TensorType(("N", 64, 56, 56)))
    '64×56×56'
    """
    if tensor is None:
        return "?"
    text = "×".join(dims.show(d) for d in tensor.shape[1:]) or "scalar"
    return text if tensor.dtype == "float32" else f"{text} {tensor.dtype}"


def _parent(path: str) -> str:
    return path.rpartition(".")[0]


def _instance(home: str, repeat: str) -> tuple[int, str] | None:
    """For a path inside instance k of the repeat at ``repeat``: k and the rest of the path."""
    if not home.startswith(repeat + "."):
        return None
    index, _, rest = home[len(repeat) + 1 :].partition(".")
    return (int(index), rest) if index.isdigit() else None


def _home(network: Network, node: Node) -> str:
    """The node's path, except that the join of a named residual (``residual(...) as b``)
    moves inside it: elaboration names it in the enclosing scope (the residual's module is
    its body), but a reader sees it as part of the block. The two ends of a scan's loop are
    drawn inside the cell's cluster."""
    if node.kind == "scan":
        return join_path(node.path, node.op.partition(".")[2])
    if node.kind == "input" or node.named or _family(node) != "merge":
        return node.path
    parent = _parent(node.path)
    for ref in node.inputs:
        producer = network.node(ref.node).path
        if parent and not producer.startswith(parent + "."):
            continue
        child = join_path(parent, producer[len(parent) + 1 if parent else 0 :].split(".")[0])
        module = network.modules.get(child)
        if module is not None and module.combinator == "residual":
            return f"{child}.{node.path.rpartition('.')[2]}"
    return node.path


def _family(node: Node) -> str:
    if node.kind == "scan":  # it cuts the sequences into steps, or stacks the steps' outputs
        return "shape"
    op = lookup(node.op)
    return op.family if op is not None else "input"


class _Builder:
    """Decides the boxes, clusters and edges of one network's diagram."""

    def __init__(
        self, network: Network, depth: int | None, collapse: bool, hide: tuple[str, ...]
    ) -> None:
        self.network = network
        self.depth = depth
        self.hide = hide
        self.view = View()
        self.homes = {node.id: _home(network, node) for node in network.nodes()}
        self.repeats = self._collapsible_repeats() if collapse else []
        self.view.collapsed_repeats = set(self.repeats)
        by_home = {home: node_id for node_id, home in self.homes.items()}
        # a layer of a later instance of a collapsed repeat -> the same layer of the first one
        self.alias = {
            node_id: by_home[canonical]
            for node_id, home in self.homes.items()
            if (canonical := self._canonical(home)) != home and canonical in by_home
        }
        self.outputs = {ref.node for ref in network.outputs.values()}
        self.tied = network.tied_targets()
        self.unit_of: dict[int, str] = {}
        self.pending: dict[int, list[Node]] = {}  # hidden ops waiting for the op they feed

    def _collapsible_repeats(self) -> list[str]:
        """Named repeats whose instances hold the same layers, outermost first."""
        found = []
        for path, module in sorted(self.network.modules.items(), key=lambda i: i[0].count(".")):
            if module.repeat is None or module.repeat < 2:
                continue
            layers: list[list[tuple[str, str]]] = [[] for _ in range(module.repeat)]
            for node in self.network.nodes():
                place = _instance(self.homes[node.id], path)
                if place is not None and place[0] < module.repeat:
                    layers[place[0]].append((place[1], node.op))
            if all(sorted(layers[0]) == sorted(other) for other in layers[1:]):
                found.append(path)
        return found

    def _canonical(self, home: str) -> str:
        """The path of the same layer in the first instance of every collapsed repeat."""
        for repeat in self.repeats:
            place = _instance(home, repeat)
            if place is not None and place[0] > 0:
                home = join_path(repeat, "0", place[1])
        return home

    def build(self) -> View:
        names = {ref.node: name for name, ref in self.network.inputs.items()}
        for node in self.network.nodes():
            own = self._own_params(node)
            parts = self.homes[node.id].split(".")
            for cut in range(1, len(parts)):
                path = ".".join(parts[:cut])
                self.view.module_params[path] = self.view.module_params.get(path, 0) + own
            if node.id in self.alias:
                continue
            if node.kind == "input":
                self._add(Unit(f"n{node.id}", "", "input", name=names.get(node.id, node.path)))
                self._attach(node, f"n{node.id}")
            elif (module := self._collapsed(self.homes[node.id])) is not None:
                key = f"m.{module.path}"
                if key not in self.view.units:
                    self._add(Unit(key, _parent(module.path), "block", module=module))
                self._attach(node, key)
                outputs = module.scan.outputs if module.scan is not None else module.outputs
                if outputs:
                    self.view.units[key].output = self.network.type_of(outputs[0])
            else:
                self._into_op(node)
        for node_id, representative in self.alias.items():
            self.unit_of[node_id] = self.unit_of[representative]
        self._edges()
        return self.view

    def _own_params(self, node: Node) -> int:
        """Parameters of ``node``, a tied tensor counted at its source only, a shared layer's
        at its instance only."""
        if self.network.application_of(node.path) is not None:
            return 0
        return sum(
            dims.numel(shape)
            for name, shape in node.params.items()
            if join_path(node.path, name) not in self.tied
        )

    def _collapsed(self, home: str) -> Module | None:
        """The module drawn as a single box that holds the layer at ``home``, if any."""
        if self.depth is None:
            return None
        parts = home.split(".")
        for cut in range(self.depth, len(parts)):
            module = self.network.modules.get(".".join(parts[:cut]))
            if module is not None:
                return module
        return None

    def _add(self, unit: Unit) -> None:
        """Add a box, opening the clusters of the modules around it on first use."""
        self.view.units[unit.key] = unit
        parent = ""
        parts = unit.home.split(".") if unit.home else []
        for cut in range(1, len(parts) + 1):
            path = ".".join(parts[:cut])
            if path not in self.network.modules:
                continue
            if path not in self.view.children:
                self.view.children.setdefault(parent, []).append(("cluster", path))
                self.view.children[path] = []
            parent = path
        self.view.children.setdefault(parent, []).append(("unit", unit.key))

    def _attach(self, node: Node, key: str) -> None:
        unit = self.view.units[key]
        unit.nodes.append(node)
        unit.output = node.outputs[0] if node.outputs else None
        unit.params += self._own_params(node)
        self.unit_of[node.id] = key

    def _into_op(self, node: Node) -> None:
        if _family(node) in self.hide:
            tail = self._fold_target(node)
            if tail is not None:
                self._attach(node, tail)
                self._retitle(self.view.units[tail])
                return
            consumer = self._sole_consumer(node)
            if consumer is not None:
                self.pending[consumer] = [*self.pending.pop(node.id, []), node]
                return
        key = f"n{node.id}"
        self._add(Unit(key, _parent(self.homes[node.id]), _family(node)))
        for member in [*self.pending.pop(node.id, []), node]:
            self._attach(member, key)
        self._retitle(self.view.units[key])

    def _fold_target(self, node: Node) -> str | None:
        """The box a hidden op folds into: the box of the op before it, when that op feeds
        only this one, sits in the same module and is not an output of the network."""
        producers = {ref.node for ref in node.inputs}
        if len(producers) != 1:
            return None
        (producer,) = producers
        key = self.unit_of.get(producer)
        unit = self.view.units.get(key or "")
        if unit is None or unit.family in ("input", "block") or unit.nodes[-1].id != producer:
            return None
        alone = self.network.consumers(producer) == [node.id] and producer not in self.outputs
        same = _parent(self.homes[producer]) == _parent(self.homes[node.id])
        return key if alone and same else None

    def _sole_consumer(self, node: Node) -> int | None:
        """The op a hidden op folds into when it cannot join the op before it (a pre-norm
        ``layernorm`` before ``attention``): the one op it feeds, when that reads nothing else."""
        consumers = self.network.consumers(node.id)
        if len(consumers) != 1 or node.id in self.outputs:
            return None
        (consumer,) = consumers
        home = self.homes[consumer]
        if {ref.node for ref in self.network.node(consumer).inputs} != {node.id}:
            return None
        if consumer in self.alias or self._collapsed(home) is not None:
            return None
        return consumer if _parent(home) == _parent(self.homes[node.id]) else None

    def _retitle(self, unit: Unit) -> None:
        shown = [n for n in unit.nodes if _family(n) not in self.hide] or unit.nodes
        main = shown[0]
        unit.family = _family(main)
        unit.name = main.path.rpartition(".")[2] if main.named else ""
        labels = []
        for node in unit.nodes:
            if node.kind == "scan":
                labels.append(self._scan_label(node))
                continue
            op = lookup(node.op)
            assert op is not None
            labels.append(op.label(node.args, inferred_of(node)))
        unit.title = " → ".join(labels)
        # an operator alone (+, ×, @) is drawn as a small circle; a scale by 22.6274 is a box
        unit.symbol = len(labels) == 1 and unit.family == "merge" and len(unit.title) == 1

    def _scan_label(self, node: Node) -> str:
        """`scan: T steps along dim 1` where the loop starts, `stack T steps` where it ends."""
        scan = self.network.modules[node.path].scan
        assert scan is not None
        steps = dims.show(scan.steps)
        backwards = ", reversed" if scan.reverse else ""
        if node.op == "scan.step":
            return f"scan: {steps} steps along dim {scan.dim}{backwards}"
        return f"stack {steps} steps"

    def _edges(self) -> None:
        levels: dict[int, int] = {}
        for node in self.network.nodes():
            levels[node.id] = 1 + max((levels[r.node] for r in node.inputs), default=-1)
        edges: dict[tuple[str, str, str], Edge] = {}
        for node in self.network.nodes():
            head = self.unit_of[node.id]
            for ref in dict.fromkeys(node.inputs):
                tail = self.unit_of[ref.node]
                if tail == head or self._across_instances(ref.node, node.id):
                    continue
                label = shape_text(self.network.type_of(ref))
                kind = _edge_kind(self.network, node, ref, levels)
                known = edges.get((tail, head, label))
                # one arrow per tensor between two boxes; the main path wins over a side edge
                if known is None or (kind == "main" and known.kind != "main"):
                    edges[tail, head, label] = Edge(tail, head, label, kind)
        fans = Counter(edge.tail for edge in edges.values())
        # A side edge leaving a fork (the identity of a residual block, the input of a dense
        # block) is routed beside the main path; one ending a branch of its own (a projection
        # shortcut) already runs beside it and keeps its place in the layout.
        self.view.edges = [
            replace(edge, aside=edge.kind != "main" and fans[edge.tail] > 1)
            for edge in edges.values()
        ]
        for name, ref in self.network.outputs.items():
            output = self.network.type_of(ref)
            self._add(Unit(f"out.{name}", "", "output", name=name, output=output))
            self.view.edges.append(
                Edge(self.unit_of[ref.node], f"out.{name}", shape_text(output), "main")
            )

    def _across_instances(self, tail: int, head: int) -> bool:
        """Whether an edge joins two instances of a collapsed repeat (drawn once, so dropped)."""
        for repeat in self.repeats:
            a = _instance(self.homes[tail], repeat)
            b = _instance(self.homes[head], repeat)
            if a is not None and b is not None and a[0] != b[0]:
                return True
        return False


def _edge_kind(network: Network, node: Node, ref: Ref, levels: dict[int, int]) -> Kind:
    """How the edge carrying ``ref`` into ``node`` is drawn.

    Into a join of several producers, the input that went through the most layers is the main
    path; the others are skips when the join keeps their shape (add, mul) and dense edges when
    it grows it (concat). Nothing here names an op: the shapes tell.
    """
    op = lookup(node.op)
    producers = {r.node for r in node.inputs}
    if op is None or op.family != "merge" or len(producers) < 2:
        return "main"
    if ref.node == max(producers, key=lambda p: (levels[p], p)):
        return "main"
    if any(network.type_of(r) == node.outputs[0] for r in node.inputs):
        return "skip"
    return "dense" if op.variadic else "main"


def build_view(
    network: Network, depth: int | None, collapse_repeats: bool, hide: tuple[str, ...]
) -> View:
    """What the diagram of ``network`` holds, see the module docstring for the options."""
    return _Builder(network, depth, collapse_repeats, hide).build()


# --- fitting a large network ---------------------------------------------------------------------

# Boxes along the longest path of a drawing that still reads on a screen or a page: a box and
# its edge take about 100 pixels at 96 dpi, so 48 make some 5,000. Drawn in full, FCN-8s is 45,
# ResNet-18 65, a 6+6-layer Transformer 161, DenseNet-121 487.
MAX_RANKS = 48


def ranks(view: View) -> int:
    """How many boxes tall the drawing is: the longest path of edges that set the layout (side
    edges arc beside the main path and rank nothing)."""
    heads: dict[str, list[str]] = {key: [] for key in view.units}
    waiting = dict.fromkeys(view.units, 0)
    for edge in view.edges:
        if not edge.aside:
            heads[edge.tail].append(edge.head)
            waiting[edge.head] += 1
    level = dict.fromkeys(view.units, 1)
    ready = [key for key, count in waiting.items() if count == 0]
    while ready:
        key = ready.pop()
        for head in heads[key]:
            level[head] = max(level[head], level[key] + 1)
            waiting[head] -= 1
            if waiting[head] == 0:
                ready.append(head)
    return max(level.values(), default=0)


@dataclass(frozen=True)
class Fit:
    """What a drawing that nobody sized shows: ``depth`` and ``collapse_repeats`` as chosen,
    how many boxes tall that is, and how tall every layer would have been."""

    depth: int | None
    collapse_repeats: bool
    ranks: int
    full_ranks: int


def fit(network: Network, collapse_repeats: bool, hide: tuple[str, ...]) -> Fit:
    """Every layer when that is at most MAX_RANKS boxes tall; otherwise one instance of each
    repeat, and then the deepest level of the module tree that fits (level 1 at the least)."""
    full = ranks(build_view(network, None, collapse_repeats, hide))
    if full <= MAX_RANKS:
        return Fit(None, collapse_repeats, full, full)
    deepest = max((path.count(".") + 1 for path in network.modules if path), default=1)
    for depth in (None, *range(deepest, 0, -1)):
        view = build_view(network, depth, True, hide)
        tall = ranks(view)
        if tall <= MAX_RANKS or depth == 1:
            break
    return Fit(depth, collapse_repeats or bool(view.collapsed_repeats), tall, full)


# --- words ---------------------------------------------------------------------------------------


def short_path(path: str) -> str:
    """The last part of a module path, with the one before it when the last is an index:
    ``denselayer1`` for ``features.denseblock1.denselayer1``, ``layer1.0`` for ``layer1.0``."""
    parts = path.split(".")
    cut = len(parts) - 1
    while cut > 0 and parts[cut].isdigit():
        cut -= 1
    return ".".join(parts[cut:])


def module_title(network: Network, module: Module) -> str:
    """``Bottleneck(planes=128, stride=2)`` for a block, ``layer1: Bottleneck ×3`` for a
    sequence of instances of one block, the sequence's name otherwise; a shared layer's
    instance and each later call of it say so, and are otherwise drawn alike."""
    title = _module_title(network, module)
    if module.path in network.applications:
        return f"{title} · shared, call {module.path.rpartition('@')[2]}"
    if module.path in network.applications.values():
        return f"{title} · shared"
    return title


def _module_title(network: Network, module: Module) -> str:
    if module.kind == "block":
        names = [p.name for p in module.signature.params] if module.signature else []
        written = ", ".join(f"{n}={spec_text(module.args[n])}" for n in names if n in module.given)
        return f"{module.name}({written})" if written else module.name
    children = [m for p, m in network.modules.items() if p and _parent(p) == module.path]
    blocks = {m.name if m.kind == "block" else "" for m in children}
    if len(children) > 1 and len(blocks) == 1 and "" not in blocks:
        return f"{module.name}: {blocks.pop()} ×{len(children)}"
    return module.name if module.repeat is None else f"{module.name} ×{module.repeat}"


def spec_text(value: Any) -> str:
    """A block argument as a spec writes it: ``true``, ``"same"``, ``(3, 3)``, ``H//2`` and, for
    a layer, its op or block and arguments (``leaky_relu(0.2)``, ``conv2d(64, 3) -> relu``).

    >>> spec_text((2, True, "same", None, 0.5))
    '(2, true, "same", none, 0.5)'
    """
    if isinstance(value, tuple):
        inner = ", ".join(spec_text(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, Tensor):
        return f"tensor {value.type}" if value.type else "tensor"
    if isinstance(value, Layer):
        text = _layer_text(value)
        return f"{text} as {value.name.name}" if value.name is not None else text
    return spec_value(value)


def _layer_text(layer: Layer) -> str:
    if isinstance(layer, OpLayer | BlockLayer):
        callee = layer.op.name if isinstance(layer, OpLayer) else layer.block.name
        if not layer.called:
            return callee
        args = (
            f"{arg.name}={spec_text(arg.value)}" if arg.name else spec_text(arg.value)
            for arg in layer.args
        )
        return f"{callee}({', '.join(args)})"
    if isinstance(layer, SequenceLayer):
        chain = " -> ".join(_operand(part) for part in layer.layers)
        return f"[{chain}]" if layer.grouped else chain
    if isinstance(layer, RepeatLayer):
        return f"{_operand(layer.layer)} * {layer.count}" if layer.layer else "?"
    if isinstance(layer, CombinatorLayer):
        return f"{layer.kind}({spec_text(layer.body)})"
    if isinstance(layer, BranchesLayer):
        return f"branches({', '.join(spec_text(branch) for branch in layer.layers)})"
    return "?"


def _operand(layer: Layer | None) -> str:
    """A layer inside ``->`` or ``*``: a chain or a repeat in parentheses."""
    text = spec_text(layer)
    grouped = isinstance(layer, SequenceLayer) and layer.grouped
    return f"({text})" if isinstance(layer, SequenceLayer | RepeatLayer) and not grouped else text


# --- an encoder-decoder drawn as a U -------------------------------------------------------------

# Symbols stand for this size when spatial sizes are compared: `H//4` is below `H//2` for any
# large H, and the U's levels do not depend on which.
_LARGE = 2**12


@dataclass(frozen=True)
class ULayout:
    """An encoder-decoder as papers draw it: the encoder down the left, the smallest maps along
    the bottom, the decoder up the right, and each long skip straight across.

    ``rows`` are the boxes drawn side by side (each long skip's two ends, and the bottom);
    ``rising`` the boxes of the decoder, whose edges point up; ``across`` the long skips."""

    rows: tuple[tuple[str, ...], ...]
    rising: frozenset[str]
    across: frozenset[tuple[str, str]]


def _spatial(tensor: TensorType | None) -> int | None:
    """The number of positions of a map (the product of the sizes after the channels), with
    every symbol large; None for a tensor without spatial axes."""
    if tensor is None or len(tensor.shape) < 3:
        return None
    sizes = tensor.shape[2:]
    symbols = {str(s) for d in sizes if isinstance(d, dims.Sym) for s in d.expr.free_symbols}
    return dims.numel(tuple(dims.evaluate(d, dict.fromkeys(symbols, _LARGE)) for d in sizes))


def _main_path(view: View) -> list[str]:
    """The longest chain of main edges from an input to an output of the drawing."""
    order = list(view.units)
    best: dict[str, tuple[int, str | None]] = {key: (0, None) for key in order}
    into: dict[str, list[str]] = {key: [] for key in order}
    for edge in view.edges:
        if edge.kind == "main":
            into[edge.head].append(edge.tail)
    for key in order:
        for tail in into[key]:
            if best[tail][0] + 1 > best[key][0]:
                best[key] = (best[tail][0] + 1, tail)
    end: str | None = max(order, key=lambda k: best[k][0])
    path = []
    while end is not None:
        path.append(end)
        end = best[end][1]
    return path[::-1]


def u_layout(view: View) -> ULayout | None:
    """The U of an encoder-decoder, found from spatial sizes alone: along the main path the maps
    shrink to a bottom and grow again, and a long skip joins a map of the encoder to a join of
    the decoder at the same size. None for a network without one."""
    path = _main_path(view)
    sizes = [_spatial(view.units[key].output) for key in path]
    known = [s for s in sizes if s is not None]
    if not known or min(known) == max(known):
        return None
    smallest = min(known)
    bottom = [i for i, s in enumerate(sizes) if s == smallest]
    first, last = bottom[0], bottom[-1]
    place = {key: index for index, key in enumerate(path)}
    producers: dict[str, list[str]] = {key: [] for key in view.units}
    for edge in view.edges:
        producers[edge.head].append(edge.tail)
    across = set()
    for edge in view.edges:
        if edge.kind == "main" or place.get(edge.head, -1) <= last:
            continue
        origin = edge.tail
        # a skip may pass through layers of its own (FCN's score layers) before it joins
        while origin not in place and len(producers[origin]) == 1:
            origin = producers[origin][0]
        joined = _spatial(view.units[edge.head].output)
        if place.get(origin, last) < first and _spatial(view.units[origin].output) == joined:
            across.add((origin, edge.head))
    if not across:
        return None
    rising = _reachable(view, path[last], exclude=set(path[first : last + 1]))
    rows = [tuple(path[first : last + 1])] if last > first else []
    rows += [pair for pair in sorted(across, key=lambda p: place[p[0]])]
    return ULayout(tuple(rows), frozenset(rising), frozenset(across))


def _reachable(view: View, start: str, exclude: set[str]) -> set[str]:
    """The boxes after ``start`` along edges that rank the layout, ``exclude`` left out."""
    heads: dict[str, list[str]] = {}
    for edge in view.edges:
        if not edge.aside:
            heads.setdefault(edge.tail, []).append(edge.head)
    found: set[str] = set()
    waiting = [start]
    while waiting:
        for head in heads.get(waiting.pop(), []):
            if head not in found and head not in exclude:
                found.add(head)
                waiting.append(head)
    return found
