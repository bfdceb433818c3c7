"""`moe` over a block: a mixture whose experts are copies of any block.

`y = x -> moe(Expert(d, 4 * d), experts=8, top_k=2) as mlp` sends each token of `x` (every
position of its last axis, `d` features) to the `top_k` of `experts` copies of `Expert` its
router scores highest, and sums their outputs weighted by the router. The op's registry entry
holds what the routing is: its router, `moe.route`, and its end, `moe.combine`
(archc/ops/moe.py); here the construct is put together in the graph:

- the `moe.route` node (`mlp.gate`) reads `x` and gives its tokens, flattened to (N·*, d) so
  that an expert sees what the generated loop gives it, the tokens routed to it, and each
  token's weight for each expert;
- each expert is a block instance (`mlp.experts.0`, ...) applied to the tokens, elaborated
  once and replayed for the others; it must give back one tensor of the tokens' type;
- the `moe.combine` node (`mlp.combine`) reads `x`, the weights and every expert's output.

Parameters count every expert. An expert's layers count no MACs of their own: a token runs
through `top_k` experts, not all of them, so `moe.combine` counts `top_k` times one expert's
MACs per token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from archc import dims
from archc.ops import lookup
from archc.ops.spec import Op
from archc.semantics.context import Body, Place
from archc.semantics.ir import Module, Network, Node
from archc.semantics.values import (
    UNKNOWN,
    BlockLayer,
    BoundArg,
    Layer,
    MixtureLayer,
    OpLayer,
    Tensor,
    describe,
)
from archc.syntax import ast

if TYPE_CHECKING:
    from archc.semantics.workload import Workload

NOT_AN_EXPERT = "A264"  # the experts are not a block, or the block is given tensors
EXPERT_SHAPE = "A387"  # the expert does not give back one tensor of its tokens' type
BATCH_STATISTICS = "A388"  # the expert holds a layer whose output depends on other tokens

# the children of the construct's module: the router, the experts' container, the sum
GATE, EXPERTS, COMBINE = "gate", "experts", "combine"


def mixture_layer(
    op: Op, args: tuple[BoundArg, ...], expr: ast.Call, error: Callable[..., Exception]
) -> MixtureLayer:
    """The value of `moe(Expert(...), experts, top_k, ...)`: its first argument is a layer."""
    expert = args[0]
    example = f"`x -> {op.name}(Expert(d), experts=8, top_k=2)`"
    if not isinstance(expert.value, BlockLayer):
        raise error(
            NOT_AN_EXPERT,
            f"`{op.name}` given a layer makes its experts copies of a block, but this is "
            f"{describe(expert.value)}",
            expert.span,
            label="not a block",
            help=f"write a block that applies it, `block Expert(d) {{ in x  out x -> ... }}`, "
            f"then {example}",
        )
    given = [a for a in expert.value.args if isinstance(a.value, Tensor | tuple)]
    given += [a for a in args[1:] if isinstance(a.value, Tensor | Layer)]
    if given:
        raise error(
            NOT_AN_EXPERT,
            f"`{op.name}` gives each expert the tokens routed to it, and takes its own input "
            "by `->`; after the block come the routing's values",
            given[0].span,
            label=f"{describe(given[0].value)} given here",
            help=f"give the block its own arguments alone: {example}",
        )
    return MixtureLayer(expr.span, None, op, expert.value, args[1:])


class Routing:
    """Application of `moe` over a block; mixed into the Elaborator."""

    network: Network | None
    _next_id: int
    _workload: Workload

    if TYPE_CHECKING:  # the Elaborator's, which comes after this class in its bases

        def instantiate(
            self, layer: BlockLayer, inputs: list[Tensor], place: Place, path: str
        ) -> Any: ...

        def module(self, module: Module) -> None: ...

        def error(self, code: str, message: str, span: Any, **details: Any) -> Exception: ...

        def _check_fresh(self, layer: Layer, fresh: bool, place: Place) -> None: ...

        def one_input(self, what: str, inputs: list[Tensor], span: Any) -> Tensor: ...

        def _apply_op(
            self, layer: OpLayer, inputs: list[Tensor], place: Place, join: bool = False
        ) -> Any: ...

    def apply_mixture(
        self, layer: MixtureLayer, inputs: list[Tensor], body: Body, place: Place
    ) -> Any:
        assert self.network is not None and layer.op is not None and layer.expert is not None
        x = self.one_input(layer.op.name, inputs, layer.span)
        if x.type is None:
            return UNKNOWN
        body.shaped_by_values = True  # the number of experts is the number of copies
        path, fresh = place.name_child(layer.name, layer.op.name)
        self._check_fresh(layer, fresh, place)
        inner = place.child_sequence(path)
        container = Module(
            path,
            "sequence",
            path.rpartition(".")[2],
            {},
            layer.span,
            place.call_sites,
            combinator="moe",
        )
        self.module(container)
        assert layer.op.block_parts is not None
        route, combine = (lookup(part) for part in layer.op.block_parts)
        assert route is not None and combine is not None
        router_layer = OpLayer(layer.span, ast.Ident(GATE), route, layer.args)
        routed = self._apply_op(router_layer, [x], inner)
        if routed is UNKNOWN:
            return UNKNOWN
        tokens, gates = routed
        router = self.network.node(tokens.ref.node)
        outputs = self._experts(layer, router, tokens, inner)
        if outputs is None:
            return UNKNOWN
        summed = OpLayer(layer.span, ast.Ident(COMBINE), combine)
        out = self._apply_op(summed, [x, gates, *outputs], inner)
        if out is UNKNOWN:
            return UNKNOWN
        self._count_active(router, self.network.node(out.ref.node), x)
        container.inputs = (x.ref,)
        container.outputs = (out.ref,)
        return out

    def _experts(
        self, layer: MixtureLayer, router: Node, tokens: Tensor, inner: Place
    ) -> list[Tensor] | None:
        """Each expert applied to the tokens, in a container of one copy per expert."""
        assert layer.expert is not None
        path, _ = inner.name_child(ast.Ident(EXPERTS), EXPERTS)
        count = router.args.experts
        # application imports expressions, which imports this module
        from archc.semantics import application

        least = self._workload.least(layer.expert.block).layers
        if self._next_id + count * least > application.MAX_NODES:  # refused before making any
            raise application.TooLarge(
                f"this moe's experts would make at least {count * least:,} layers, past the "
                f"limit of {application.MAX_NODES:,} per network",
                layer.span,
                f"{count:,} experts * at least {least:,} layers each",
            )
        holder = Module(
            path,
            "sequence",
            EXPERTS,
            {},
            layer.span,
            inner.call_sites,
            repeat=count,
            repeat_origin=router.arg_origins.get(EXPERTS),
        )
        self.module(holder)
        copies = inner.child_sequence(path, repeat=True)
        outputs: list[Tensor] = []
        for _ in range(count):
            copy, _ = copies.name_child(None, EXPERTS)
            made = self.instantiate(replace(layer.expert, name=None), [tokens], copies, copy)
            if made is UNKNOWN:
                return None
            if not outputs:
                self._check_expert(layer, made, tokens)
                self._check_tokens_apart(layer, router, copy)
            outputs.append(made)
        holder.inputs = (tokens.ref,)
        holder.outputs = tuple(t.ref for t in outputs)
        return outputs

    def _check_expert(self, layer: MixtureLayer, made: Any, tokens: Tensor) -> None:
        assert layer.expert is not None and tokens.type is not None
        name = layer.expert.block.name
        if isinstance(made, Tensor) and made.type == tokens.type:
            return
        gives = (
            f"{len(made)} tensors"
            if isinstance(made, tuple)
            else str(made.type)
            if isinstance(made, Tensor)
            else describe(made)
        )
        features = tokens.type.shape[-1]
        raise self.error(
            EXPERT_SHAPE,
            f"the expert `{name}` maps the tokens {tokens.type} to {gives}, but the experts' "
            "outputs are summed in the tokens' place",
            layer.expert.span,
            label=f"gives {gives}",
            rule="an expert maps (tokens, d) to (tokens, d), one tensor of the same type",
            with_=f"d = {features}: {tokens.type} in, {gives} out",
            notes=(f"the expert's output is made at {made.span}",)
            if isinstance(made, Tensor)
            else (),
            help=f"end `{name}` with a layer back to {features} features, e.g. "
            f"`linear({features})`",
        )

    def _check_tokens_apart(self, layer: MixtureLayer, router: Node, path: str) -> None:
        """Refuse a layer that normalises over the batch: the expert's batch is the tokens
        routed to it, which its statistics would depend on."""
        assert self.network is not None and layer.expert is not None
        made = range(router.id + 1, self._next_id + 1)
        for node in (self.network.node(i) for i in made if self.network.has_node(i)):
            op = lookup(node.op) if node.kind == "op" else None
            if op is None or not op.batch_statistics:
                continue
            name = layer.expert.block.name
            raise self.error(
                BATCH_STATISTICS,
                f"the expert `{name}` holds `{node.op}`, whose statistics in training are over "
                "the batch, but an expert's batch is the tokens routed to it",
                layer.expert.span,
                label=f"`{node.path.removeprefix(path + '.')}` normalises over the tokens",
                rule="an expert computes each token on its own",
                notes=(f"`{node.op}` is applied at {node.span}",),
                help="normalise each token's features instead, with `layernorm` or `rmsnorm`",
            )

    def _count_active(self, router: Node, combine: Node, x: Tensor) -> None:
        """Moves the experts' MACs to the sum: `top_k` experts' per token, where the layers
        between the two ends counted every expert once per token. The nodes are replaced,
        never changed, since a recorded block instance holds them."""
        assert self.network is not None and x.type is not None
        first = f"{router.path.rpartition('.')[0]}.{EXPERTS}.0"
        per_token: list[dims.Dim] = []
        for node_id in range(router.id + 1, combine.id):
            if not self.network.has_node(node_id):
                continue
            node = self.network.node(node_id)
            if node.path == first or node.path.startswith(f"{first}."):
                per_token.append(node.macs)
            if node.macs:
                self.network.replace(replace(node, macs=0))
        tokens = dims.product(list(x.type.shape[1:-1]))
        active = dims.product((tokens, router.args.top_k, dims.total(per_token)))
        self.network.replace(replace(combine, macs=active))
