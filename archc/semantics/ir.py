"""The graph IR: one graph per network, one node per op instance.

Node ids are integers allocated in creation order, which elaboration makes a topological order
that follows the source; every pass and backend walks nodes in that order, so output is stable.
Each node names its inputs (``Ref``), so the nodes alone are the graph; :attr:`Network.graph`
is the same graph as a `networkx.DiGraph` for graph algorithms, built on first use because
importing networkx costs more than checking a ResNet, and `archc check` never needs it. Its edge
``u -> v`` carries ``ports``: the list of ``(output port of u, input port of v)`` pairs it stands
for (a node may consume the same tensor twice, as in ``x + x``).

The IR is internal and free to change; generated source is the contract.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from archc import dims
from archc.dims import Dim, SizeRule, TensorType
from archc.errors import Diagnostic, Span
from archc.ops.schema import Args
from archc.semantics import provenance
from archc.semantics.provenance import Expr

if TYPE_CHECKING:
    import networkx as nx


@dataclass(frozen=True, slots=True)
class Ref:
    """One output of one node: the IR's name for a tensor."""

    node: int
    port: int = 0


@dataclass(slots=True)
class Node:
    """One op instance, a network input, or one end of a scan's loop (kind "scan", see
    :class:`Scan`).

    ``path`` is the module path that names the instance in the generated module and its
    state_dict (``layer1.0.conv1``); ``scope`` is the path of the enclosing block instance.
    ``outputs`` holds None for an output whose type could not be inferred (after an error).
    """

    id: int
    kind: Literal["input", "op", "scan"]
    op: str
    args: Any
    inputs: tuple[Ref, ...]
    outputs: tuple[TensorType | None, ...]
    path: str
    scope: str
    span: Span
    call_sites: tuple[Span, ...] = ()
    params: dict[str, tuple[int, ...]] = field(default_factory=dict)
    buffers: dict[str, tuple[int, ...]] = field(default_factory=dict)
    macs: Dim = 0
    resolved: dict[str, Any] = field(default_factory=dict)
    named: bool = False  # the spec named this instance with `as`
    # the spec's variable names for the outputs, by (scope of the binding, port), so that
    # generated code can reuse them in the class where the binding was written
    value_names: dict[tuple[str, int], str] = field(default_factory=dict)
    # Provenance (archc/semantics/provenance.py), in the namespace of the definition whose
    # body applied the op (the block instance at ``scope``): of every hyperparameter, of every
    # ``resolved`` value, and of each size of each output (None where a size has none).
    arg_origins: dict[str, Expr] = field(default_factory=dict)
    resolved_origins: dict[str, Expr] = field(default_factory=dict)
    dims: tuple[tuple[Expr | None, ...], ...] = ()
    # pairs of sizes an elementwise op found equal (and not a broadcast 1): one size
    equal: tuple[tuple[Expr, Expr], ...] = ()
    # the inputs that are the value of a conditional which took an alternative of no layers
    # (`skip` in `y + skip` where `skip = if c then x -> ds else x`): (input port, index of
    # the choice in its block's Module.choices)
    via: tuple[tuple[int, int], ...] = ()
    # the parameter of the block at ``scope`` whose layer value this op is (`act` in `fc ->
    # act`), and the provenance of the arguments that value binds, in the namespace of the
    # block's caller, which wrote it (they have none in ``arg_origins``); None where the
    # value is no parameter's. Where the caller passed on a parameter of its own (`Inner(c,
    # act=act)`), ``passed`` names the parameters of the callers it came through, outermost
    # first, and ``given_origins`` are in the terms of the caller of the outermost
    given: str | None = None
    given_origins: dict[str, Expr] = field(default_factory=dict)
    passed: tuple[str, ...] = ()
    # the truth-value arguments read from parameters whose other value the provenance of the
    # sizes and resolved values covers as well (semantics/flags.py)
    flags: frozenset[str] = frozenset()
    # in a copy of a repeat, the provenance of each hyperparameter that reads the copy's
    # index, with the index as provenance.COPY_INDEX (values.BoundArg.index_origin), and
    # that of each resolved value and of the output sizes where they follow the index
    # (indexed_sizes.py; no output sizes where none does)
    index_origins: dict[str, Expr] = field(default_factory=dict)
    index_resolved: dict[str, Expr] = field(default_factory=dict)
    index_dims: tuple[tuple[Expr | None, ...], ...] = ()

    @property
    def ok(self) -> bool:
        return all(t is not None for t in self.outputs)

    @property
    def param_count(self) -> int:
        return sum(map(dims.numel, self.params.values()))

    @property
    def buffer_count(self) -> int:
        return sum(map(dims.numel, self.buffers.values()))


@dataclass(frozen=True)
class Parameter:
    """A parameter a definition declares. ``default`` is its default's provenance in the
    definition's own terms (a literal, or an expression of the parameters before it); None
    where it has no default, or one without provenance."""

    name: str
    default: Expr | None = None


@dataclass(frozen=True)
class Signature:
    """What a block or network definition declares, as backends need it: its parameters and
    inputs in order, and where it is written (``span`` is its name's)."""

    name: str
    kind: Literal["network", "block"]
    params: tuple[Parameter, ...]
    inputs: tuple[str, ...]
    span: Span = field(compare=False, repr=False)

    @property
    def key(self) -> tuple[str, int]:
        """The same for every instance of one definition, and for no other."""
        return (self.span.file, self.span.start)


@dataclass
class Module:
    """A block instance, a named sequence or a repeat: a level of the module tree.

    ``kind`` is "block" for a block instance (``name`` is the block, ``args`` its bound
    arguments), "sequence" for a named chain, repeat or combinator (``combinator`` says which
    of `residual`, `dense` and a `moe` over a block made it), or for `branches(...)`, whose
    children (``parallel``) each take the same input and give one of its outputs. The network
    itself is the module at path "".
    """

    path: str
    kind: Literal["network", "block", "sequence"]
    name: str
    args: dict[str, Any]
    span: Span
    call_sites: tuple[Span, ...] = ()
    repeat: int | None = None  # set for `layer * n`
    # for `dense(...) as name` and residual, and a `moe` over a block (routing.py)
    combinator: Literal["residual", "dense", "moe"] | None = None
    # the block's or network's program.Definition (for the front end's tools: the language
    # server's hover), and its signature, which is what backends read
    definition: Any = None
    signature: Signature | None = None
    given: tuple[str, ...] = ()  # the parameters the call gives, the others taking defaults
    # the provenance of the arguments a call gives and of the repeat count, in the caller's
    # namespace (archc/semantics/provenance.py)
    arg_origins: dict[str, Expr] = field(default_factory=dict)
    repeat_origin: Expr | None = None
    # for a copy of a repeat, the provenance of each argument that reads the copy's index,
    # with the index as provenance.COPY_INDEX (values.BoundArg.index_origin)
    index_origins: dict[str, Expr] = field(default_factory=dict)
    # and the provenance of its input sizes where they follow the index (indexed_sizes.py)
    index_input_dims: tuple[tuple[Expr | None, ...] | None, ...] = ()
    # the tests in the body that chose its structure (context.Body.guards), in its namespace
    guards: tuple[Expr | None, ...] = ()
    # the conditionals among them whose alternatives are tensors (`if c then x -> ds else x`)
    choices: tuple[Choice, ...] = ()
    # inputs, and for a block its outputs, that are a choice's value (as Node.via): (position,
    # index of the choice in the enclosing block's choices)
    via: tuple[tuple[int, int], ...] = ()
    outputs_via: tuple[tuple[int, int], ...] = ()
    inputs: tuple[Ref, ...] = ()  # the tensors that flow in, in the block's `in` order
    input_names: tuple[str, ...] = ()  # a block's names for them (`Size` provenance reads)
    # the provenance of each input's sizes in the caller's namespace
    input_dims: tuple[tuple[Expr | None, ...] | None, ...] = ()
    outputs: tuple[Ref, ...] = ()  # the tensors that flow out
    parallel: bool = False
    scan: Scan | None = None  # a block instance a `scan` runs once per step
    # for a named chain, the unnamed repeats among its children whose count the spec computes
    # (`[conv2d(e, 1) -> batchnorm2d] * (if e != x.channels then 1 else 0)`), in order
    counted: tuple[Counted, ...] = ()
    # for a block, the unnamed repeats of its own body whose count the spec computes
    # (`(conv2d(c, 3) -> relu) * convs`), in order
    looped: tuple[Looped, ...] = ()
    # the numbers the body computes and names (`width = int(planes * (base_width / 64))`),
    # with their provenance in its namespace, in the order it names them (context.named_values)
    locals: tuple[tuple[str, Expr], ...] = ()


@dataclass(frozen=True)
class Looped:
    """An unnamed repeat in a block's own body whose count the spec computes, every copy
    the same layer: the count's provenance in the block's namespace, and the names of the
    layers each copy made in the block (`conv1`, `relu1`), copy by copy; ``span``, the
    repeat's, tells it from the body's other repeats (Network.recounted). ``shared`` where
    the layer repeated is a shared one: each copy applies the same module again."""

    origin: Expr
    copies: tuple[tuple[str, ...], ...]
    span: Span
    shared: bool = False


@dataclass(frozen=True)
class Counted:
    """An unnamed repeat among a named chain's children: the count's provenance in the
    namespace of the block whose body wrote it, the index of the first child it made, how
    many children it made, how many copies, and the repeat's span (as Looped's)."""

    origin: Expr | None
    start: int
    children: int
    count: int
    span: Span


@dataclass(frozen=True)
class ScanArgs:
    """What both ends of a scan's loop know: the axis stepped along (the batch is axis 0),
    the direction, and how many sequences and carried states the cell takes."""

    dim: int
    reverse: bool
    sequences: int
    states: int


@dataclass(frozen=True)
class Scan:
    """The loop of a `scan` (archc/semantics/scanning.py), held by the cell's block instance.

    In the graph a ``scan.step`` node takes the sequences and the initial states (``inputs``)
    and gives the cell's inputs for one step (the instance's ``Module.inputs``); the body
    follows, each of its nodes run once per step; a ``scan.stack`` node takes the cell's
    outputs (``Module.outputs``) and gives the outputs stacked along ``dim``, then the final
    states (``outputs``). ``steps`` is the length of the sequences along ``dim``."""

    dim: int
    steps: Dim
    reverse: bool
    sequences: int
    states: int
    inputs: tuple[Ref, ...]
    outputs: tuple[Ref, ...]


# Ids of the nodes an alternative not taken would make (Alternative.nodes) are moved by this,
# so that they never equal a node of the graph, and keep their order.
SPECULATIVE = -(2**40)


@dataclass(frozen=True)
class Alternative:
    """One alternative of a conditional whose value is a tensor, as elaborated: it made the
    nodes with ids ``first < id <= last`` (none where they are equal) and gives ``value``.

    The alternative a network took is in the graph. The other is elaborated with the same
    values but left out of it (counts, summaries and diagrams never see it): ``nodes`` and
    ``modules`` hold what it made, its node ids moved by SPECULATIVE."""

    first: int
    last: int
    value: Ref
    nodes: tuple[Node, ...] = ()
    modules: tuple[Module, ...] = ()
    # where it made no layers and gave the value of another conditional of the body
    # (Tensor.via), that conditional's index in the body's choices when it gave it: the
    # tensor stands for that choice, not for itself
    via: int | None = None

    @property
    def empty(self) -> bool:
        return self.first == self.last

    def made(self, node_id: int) -> bool:
        return self.first < node_id <= self.last


@dataclass(frozen=True)
class Choice:
    """A conditional in a block's body that chose between tensors (`if stride != 1 then x ->
    (...) as downsample else x`): its test's provenance in the block's namespace, whether it
    held, the alternative taken, and the other one (None where these values cannot build
    it: it would raise a diagnostic)."""

    guard: Expr | None
    held: bool
    taken: Alternative
    other: Alternative | None


# A repeat given another count where a block instance is elaborated aside: the path of the
# block instance whose body writes it, the repeat's span there, and the count.
Recount = tuple[str, Span, int]
# A parameter of the instance elaborated aside given another value: its name and the value.
Rebind = tuple[str, Any]


@dataclass(frozen=True)
class Recounted:
    """A block instance elaborated aside with some of its repeats given other counts
    (Network.recounted): the network as it would be with it, and the instance there; or,
    where the spec refuses those counts, its diagnostic."""

    network: Network | None
    module: Module | None
    refusal: Diagnostic | None = None


class Recounter(Protocol):
    """What elaborates a network's block instance aside (archc/semantics/recount.py)."""

    def __call__(
        self, network: Network, path: str, counts: tuple[Recount, ...], values: tuple[Rebind, ...]
    ) -> Recounted: ...


@dataclass(frozen=True)
class Tie:
    """``target`` (a parameter path) is the very same tensor as ``source``."""

    target: str
    source: str
    span: Span


@dataclass
class Network:
    """An elaborated network: the graph, its inputs and outputs, modules, ties and init rules."""

    name: str
    args: dict[str, Any]
    span: Span
    inputs: dict[str, Ref] = field(default_factory=dict)
    outputs: dict[str, Ref] = field(default_factory=dict)
    modules: dict[str, Module] = field(default_factory=dict)
    ties: list[Tie] = field(default_factory=list)
    inits: list[Any] = field(default_factory=list)
    # what the network requires of its symbolic input sizes (archc/semantics/sizes.py)
    size_rules: list[SizeRule] = field(default_factory=list)
    # a shared layer's later applications (`encoder@2`) -> its instance's path (`encoder`),
    # whose weights they use (archc/semantics/sharing.py)
    applications: dict[str, str] = field(default_factory=dict)
    # the file's top-level constants elaboration evaluated, which provenance may name
    constants: tuple[provenance.Constant, ...] = ()
    # the `fn`s whose calls provenance remembers, which generated code may define and call
    functions: tuple[provenance.Function, ...] = ()
    # the types of the values each of them was given, parameter by parameter, and gave (the
    # last), as elaboration saw them: generated code annotates its functions with them
    function_types: dict[tuple[str, str], tuple[frozenset[type], ...]] = field(
        default_factory=dict
    )
    # elaborates a block instance of this network aside, with other counts or values
    # (recounted), each kept by its path, counts and values
    recounter: Recounter | None = field(default=None, repr=False, compare=False)
    _recounted: dict[tuple[Any, ...], Recounted | None] = field(
        default_factory=dict, repr=False, compare=False
    )
    _nodes: dict[int, Node] = field(default_factory=dict, repr=False)
    _consumers: dict[int, set[int]] = field(default_factory=dict, repr=False)
    # caches of the queries below, dropped whenever a node is added
    _order: list[Node] | None = field(default=None, repr=False, compare=False)
    _members: dict[str, list[Node]] | None = field(default=None, repr=False, compare=False)
    _graph: nx.DiGraph | None = field(default=None, repr=False, compare=False)

    def add(self, node: Node) -> Node:
        self._order = self._members = self._graph = None
        self._nodes[node.id] = node
        self._consumers[node.id] = set()
        for ref in node.inputs:
            self._consumers[ref.node].add(node.id)
        return node

    def replace(self, node: Node) -> None:
        """Put ``node`` in the place of the node with its id, which reads the same inputs."""
        self._order = self._members = self._graph = None
        self._nodes[node.id] = node

    def drop(self, ids: list[int]) -> None:
        """Take out the nodes ``ids``, the last ones added (an alternative not taken)."""
        self._order = self._members = self._graph = None
        for node_id in ids:
            for ref in self._nodes.pop(node_id).inputs:
                self._consumers.get(ref.node, set()).discard(node_id)
            del self._consumers[node_id]

    def aside(self, alternative: Alternative) -> Network:
        """The nodes and modules of an alternative set aside, with this network's modules:
        what a backend reads to write what the alternative would build."""
        view = Network(self.name, self.args, self.span)
        view.modules = {**self.modules, **{m.path: m for m in alternative.modules}}
        view._nodes = {node.id: node for node in alternative.nodes}
        return view

    def recounted(
        self, path: str, counts: tuple[Recount, ...], values: tuple[Rebind, ...] = ()
    ) -> Recounted | None:
        """The block instance at ``path`` as the spec elaborates it with the repeats
        ``counts`` name given those counts and its parameters ``values`` names given those
        values, aside: this network is left as it is. None where nothing can elaborate it (a
        network not made by elaboration)."""
        key = (path, counts, values)
        if key not in self._recounted:
            recounter = self.recounter
            self._recounted[key] = (
                None if recounter is None else recounter(self, path, counts, values)
            )
        return self._recounted[key]

    def with_instance(self, path: str, nodes: list[Node], modules: list[Module]) -> Network:
        """This network with the block instance at ``path`` made of ``nodes`` and ``modules``
        instead of its own (what a backend reads of an instance elaborated aside)."""

        def inside(at: str) -> bool:
            return at == path or at.startswith(f"{path}.")

        view = Network(self.name, self.args, self.span, dict(self.inputs), dict(self.outputs))
        view.modules = {p: m for p, m in self.modules.items() if not inside(p)}
        view.modules.update((m.path, m) for m in modules)
        view.applications = dict(self.applications)
        kept = [n for n in self._nodes.values() if not inside(n.path)]
        view._nodes = {n.id: n for n in [*kept, *nodes]}
        view._consumers = {node_id: set() for node_id in view._nodes}
        for node in view._nodes.values():
            for ref in node.inputs:
                view._consumers.get(ref.node, set()).add(node.id)
        return view

    def node(self, node_id: int) -> Node:
        return self._nodes[node_id]

    def has_node(self, node_id: int) -> bool:
        return node_id in self._nodes

    def nodes(self) -> Iterator[Node]:
        """Every node in the stable order (creation order, which is topological)."""
        if self._order is None:
            self._order = [self._nodes[i] for i in sorted(self._nodes)]
        return iter(self._order)

    @property
    def graph(self) -> nx.DiGraph:
        """The network as a `networkx.DiGraph`: node ids with a ``node`` attribute, and edges
        with their ``ports``. Built on first use; read-only by convention."""
        if self._graph is None:
            import networkx as nx

            graph = nx.DiGraph()
            for node in self.nodes():
                graph.add_node(node.id, node=node)
                for port, ref in enumerate(node.inputs):
                    if graph.has_edge(ref.node, node.id):
                        graph.edges[ref.node, node.id]["ports"].append((ref.port, port))
                    else:
                        graph.add_edge(ref.node, node.id, ports=[(ref.port, port)])
            self._graph = graph
        return self._graph

    def within(self, path: str) -> list[Node]:
        """The nodes inside the module at ``path`` ("" for the whole network), in order."""
        if self._members is None:
            members: dict[str, list[Node]] = {}
            for node in self.nodes():
                parts = node.path.split(".")
                for cut in range(len(parts)):
                    prefix = ".".join(parts[:cut])
                    if prefix in self.modules or not prefix:
                        members.setdefault(prefix, []).append(node)
            self._members = members
        return self._members.get(path, [])

    def type_of(self, ref: Ref) -> TensorType | None:
        return self.node(ref.node).outputs[ref.port]

    def consumers(self, node_id: int) -> list[int]:
        return sorted(self._consumers[node_id])

    # --- counts ----------------------------------------------------------------------------------

    def scans(self) -> bool:
        """Whether any module runs a scan, so that some node runs more than once."""
        return any(module.scan is not None for module in self.modules.values())

    def steps(self, node: Node) -> Dim:
        """How many times a run executes ``node``: the product of the steps of the scans whose
        bodies hold it (1 outside any)."""
        parts = node.path.split(".")
        scans = (self.modules.get(".".join(parts[:cut])) for cut in range(1, len(parts)))
        return dims.product([m.scan.steps for m in scans if m is not None and m.scan is not None])

    def tied_targets(self) -> set[str]:
        return {tie.target for tie in self.ties}

    def application_of(self, path: str) -> str | None:
        """The later application of a shared layer that ``path`` lies in, if any."""
        if not self.applications:
            return None
        parts = path.split(".")
        for cut in range(1, len(parts) + 1):
            prefix = ".".join(parts[:cut])
            if prefix in self.applications:
                return prefix
        return None

    def weights_path(self, path: str) -> str:
        """Where the layer at ``path`` holds its weights: in a later application of a shared
        layer, at the same place in the instance."""
        application = self.application_of(path)
        if application is None:
            return path
        return self.applications[application] + path[len(application) :]

    def holders(self) -> Iterator[Node]:
        """The nodes that hold their own weights: all but a shared layer's later
        applications."""
        return (node for node in self.nodes() if self.application_of(node.path) is None)

    @property
    def param_count(self) -> int:
        """Parameters, each tensor once: a tied parameter counts at its source only, a shared
        layer at its instance only."""
        tied = self.tied_targets()
        if not tied:  # most networks: no key to build per tensor
            return sum(node.param_count for node in self.holders())
        total = 0
        for node in self.holders():
            for name, shape in node.params.items():
                if tensor_key(node.path, name) not in tied:
                    total += dims.numel(shape)
        return total

    @property
    def trainable_count(self) -> int:
        """Parameters that training updates: all but the frozen ones."""
        return self.param_count - self.frozen_count

    @property
    def frozen_count(self) -> int:
        """Parameters an op holds frozen (``resolved["frozen"]``, the names of its tensors with
        requires_grad=False), each tensor once."""
        tied = self.tied_targets()
        return sum(
            dims.numel(node.params[name])
            for node in self.nodes()
            for name in node.resolved.get("frozen", ())
            if tensor_key(node.path, name) not in tied
        )

    @property
    def buffer_count(self) -> int:
        return sum(node.buffer_count for node in self.holders())

    @property
    def macs(self) -> Dim:
        return dims.total(node.macs for node in self.nodes())

    def parameters(self) -> dict[str, tuple[int, ...]]:
        """state_dict-style parameter names -> shapes, in order, tied targets included."""
        return {
            tensor_key(node.path, name): shape
            for node in self.holders()
            for name, shape in node.params.items()
        }

    def buffers(self) -> dict[str, tuple[int, ...]]:
        """state_dict-style buffer names -> shapes: those an op keeps out of the state_dict
        (``resolved["transient"]``, `buffer(persistent=false)`) are left out."""
        return {
            tensor_key(node.path, name): shape
            for node in self.holders()
            for name, shape in node.buffers.items()
            if name not in node.resolved.get("transient", ())
        }

    # --- invariants ------------------------------------------------------------------------------

    def verify(self) -> None:
        """Check the IR's invariants; raises AssertionError naming the first one broken."""
        seen_paths: set[str] = set()
        for node in self.nodes():
            assert self.graph.nodes[node.id]["node"] is node
            for ref in node.inputs:
                assert ref.node < node.id, f"node {node.id} uses later node {ref.node}"
                producer = self.node(ref.node)
                assert ref.port < len(producer.outputs), f"node {node.id}: bad port {ref}"
            if node.params or node.buffers:
                assert node.path not in seen_paths, f"two stateful nodes at `{node.path}`"
                seen_paths.add(node.path)
        for ref in [*self.inputs.values(), *self.outputs.values()]:
            assert self.has_node(ref.node)
        for module in self.modules.values():
            for choice in module.choices:  # the alternative taken is in the graph, the other not
                taken = range(choice.taken.first + 1, choice.taken.last + 1)
                assert all(self.has_node(i) for i in taken), f"`{module.path}`: lost choice"
                assert self.has_node(choice.taken.value.node), f"`{module.path}`: choice value"
                aside = choice.other.nodes if choice.other is not None else ()
                assert all(n.id < 0 for n in aside), f"`{module.path}`: a choice set aside"
        import networkx as nx

        assert nx.is_directed_acyclic_graph(self.graph)
        params = self.parameters()
        for tie in self.ties:
            assert tie.target in params and tie.source in params, f"dangling tie {tie}"
        for node in self.nodes():
            self._verify_provenance(node)

    def instance_of(self, node: Node) -> Module:
        """The block instance (or the network) whose body applied ``node``: the namespace of
        its provenance."""
        return self.instance_of_path(node.scope)

    def instance_of_path(self, path: str) -> Module:
        """The block instance (or the network) whose body holds the scope at ``path``."""
        while True:
            module = self.modules.get(path)
            if module is not None and module.kind != "sequence":
                return module
            path = path.rpartition(".")[0]

    def lift(self, expr: Expr, path: str, to: str = "") -> Expr | None:
        """``expr``, in the namespace of the block instance at ``path``, in that of the instance
        at ``to`` that holds it (the network's by default): moved out call by call
        (provenance.substitute); None where a call gives it no expression."""
        module = self.modules[path]
        while module.kind == "block" and module.path != to:
            sizes = module.input_dims
            names = module.input_names

            def size(name: str, axis: int, sizes: Any = sizes, names: Any = names) -> Expr | None:
                dims = sizes[names.index(name)]
                return None if dims is None else dims[axis]

            found = provenance.substitute(expr, module.arg_origins, size)
            if found is None:
                return None
            expr = found
            parent = module.path.rpartition(".")[0]
            while parent not in self.modules or self.modules[parent].kind == "sequence":
                parent = parent.rpartition(".")[0]
            module = self.modules[parent]
        return expr

    def _verify_provenance(self, node: Node) -> None:
        """Each value's provenance gives the value itself, with this instance's arguments."""
        if node.kind == "input":
            return
        instance = self.instance_of(node)
        sizes: dict[tuple[str, int], Dim] = {}
        if instance.kind == "block":
            for name, ref in zip(instance.input_names, instance.inputs, strict=True):
                sizes |= {(name, axis): d for axis, d in enumerate(self.type_of(ref).shape)}  # type: ignore[union-attr]

        def check(origin: Expr, value: Any, what: str) -> None:
            got = provenance.evaluate(origin, instance.args, sizes)
            assert provenance.same(got, value), (
                f"`{node.path}` {what}: {provenance.show(origin)} gives {got!r}, not {value!r}"
            )

        for name, origin in node.arg_origins.items():
            check(origin, getattr(node.args, name), name)
        for name, origin in node.resolved_origins.items():
            check(origin, node.resolved[name], name)
        for first, second in node.equal:
            assert provenance.same(
                provenance.evaluate(first, instance.args, sizes),
                provenance.evaluate(second, instance.args, sizes),
            ), f"`{node.path}`: {provenance.show(first)} != {provenance.show(second)}"
        for port, (dims_of, out) in enumerate(zip(node.dims, node.outputs, strict=True)):
            for axis, (origin, size) in enumerate(zip(dims_of, out.shape, strict=True)):  # type: ignore[union-attr]
                if origin is not None:
                    check(origin, size, f"output {port} axis {axis}")


def tensor_key(path: str, name: str) -> str:
    """A tensor's state_dict key: a layer's own tensor (name "", see ops.spec.HELD) is keyed by
    the layer's path."""
    return f"{path}.{name}" if path and name else path or name


def join_path(*parts: str) -> str:
    """Dotted path of the non-empty parts: join_path("", "layer1", "0") == "layer1.0"."""
    return ".".join(p for p in parts if p)


def dump(network: Network) -> str:
    """The IR one node per line, jaxpr style, in the order codegen uses.

    ``%3: (N, 64, 112, 112) = conv2d[out_channels=64, kernel_size=7](%2)  # conv1, 9,408 params``

    A value computed in a block from its parameters or input sizes is followed by its
    provenance: ``out_channels=256 {planes * 4}``, and ``in_channels {x.shape[1]}`` in the
    comment for a size the op inferred.
    """
    lines = [f"network {network.name}("]
    for name, ref in network.inputs.items():
        lines.append(f"  %{ref.node}: {network.type_of(ref)}  # in {name}")
    lines.append(") {")
    for node in network.nodes():
        if node.kind == "input":
            continue
        outs = ", ".join(
            f"%{node.id}.{i}" if len(node.outputs) > 1 else f"%{node.id}"
            for i in range(len(node.outputs))
        )
        types = ", ".join(str(t) if t is not None else "?" for t in node.outputs)
        args = _show_args(node.args, node.arg_origins)
        operands = ", ".join(_show_ref(ref) for ref in node.inputs)
        note = node.path
        if node.params:
            note += f", {node.param_count:,} params"
        for name, origin in node.resolved_origins.items():
            if not isinstance(origin, provenance.Lit):
                note += f", {name} {{{provenance.show(origin)}}}"
        lines.append(f"  {outs}: {types} = {node.op}{args}({operands})  # {note}")
    outs = ", ".join(f"{name}={_show_ref(ref)}" for name, ref in network.outputs.items())
    lines.append(f"  out {outs}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _show_ref(ref: Ref) -> str:
    return f"%{ref.node}" if ref.port == 0 else f"%{ref.node}.{ref.port}"


def _show_args(args: Any, origins: dict[str, Expr]) -> str:
    if args is None:
        return ""
    if isinstance(args, Args):
        values = args.values()
        defaults = {name: spec.default for name, spec in type(args).fields.items()}
    else:
        values = dataclasses.asdict(args) if dataclasses.is_dataclass(args) else dict(args)
        defaults = {}
    shown = [
        f"{k}={v!r}" + _show_origin(origins.get(k))
        for k, v in values.items()
        if k not in defaults or defaults[k] != v
    ]
    return f"[{', '.join(shown)}]" if shown else ""


def _show_origin(origin: Expr | None) -> str:
    return (
        ""
        if origin is None or isinstance(origin, provenance.Lit)
        else f" {{{provenance.show(origin)}}}"
    )
