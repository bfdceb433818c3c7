"""A sparse mixture of experts, `moe`: a router sends each token to top_k of many experts.

Parameters count every expert; MACs count the router and the top_k experts a token runs
through, which is what makes the layer sparse. Written with sizes, the experts are MLPs whose
weights are stored the way transformers 5 stores them (`layout="fused"`: two 3-D tensors) or as
one module per expert (`layout="modules"`: `experts.{i}.gate_proj`, as Mixtral- and
Qwen2-MoE-style checkpoints). Written with a block, `moe(Expert(d), experts=8, top_k=2)`, the
experts are copies of the block (archc/semantics/routing.py), between two parts of the op:
`moe.route`, the router, which gives the tokens and each token's weight for each expert, and
`moe.combine`, the weighted sum of the experts' outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from archc import dims
from archc.dims import TensorType
from archc.ops.registry import register, register_part
from archc.ops.schema import Args, Field
from archc.ops.spec import (
    DTYPE,
    MAX_COUNT,
    RANK,
    SYMBOLIC,
    Ctor,
    Execution,
    Inferred,
    Op,
    PositiveInt,
    fail,
)

# Diagnostic codes of this module.
TOO_MANY_CHOSEN = "A365"  # top_k above the number of experts
NORMALISED_TWICE = "A366"  # norm_topk where the softmax after the choice already sums to one
EXPERT_SHAPE = "A387"  # an expert block that does not give back one tensor of its input's type

FLOAT_DTYPES = ("float32", "float64", "float16", "bfloat16")


class RoutingArgs(Args):
    """How tokens are sent to experts, whatever the experts are."""

    experts: Annotated[int, Field(gt=0, le=MAX_COUNT)]
    top_k: PositiveInt
    softmax: Literal["before", "after"] = "before"
    norm_topk: bool = False


class MoEArgs(Args):
    hidden: PositiveInt
    experts: Annotated[int, Field(gt=0, le=MAX_COUNT)]
    top_k: PositiveInt
    activation: Literal["silu", "gelu", "relu"] = "silu"
    gated: bool = True
    softmax: Literal["before", "after"] = "before"
    norm_topk: bool = False
    layout: Literal["fused", "modules"] = "fused"


# the arguments of either form that say how tokens are routed
Routed = RoutingArgs | MoEArgs


def _features(x: TensorType) -> int:
    """The width of each token: the last axis, fixed, of a floating-point input."""
    if x.dtype not in FLOAT_DTYPES:
        raise fail(
            DTYPE,
            f"moe routes floating-point features, but its input {dims.show_shape(x.shape)} "
            f"holds {x.dtype}",
            rule="input dtype = a floating-point type",
            help="integer ids are looked up with `embedding(vocab, width)` first",
            label=f"{x.dtype} input",
        )
    if x.rank < 2:
        raise fail(RANK, f"moe needs at least a 2-d input (N, features), got {x}")
    features = x.shape[-1]
    if not isinstance(features, int):
        raise fail(
            SYMBOLIC,
            f"moe needs a fixed number of features, but the last axis is {features}",
            help="the router and every expert take the last axis: give it a fixed size",
            label=f"the last axis {features} is not fixed",
        )
    return features


def _check_routing(args: Routed) -> None:
    if args.top_k > args.experts:
        raise fail(
            TOO_MANY_CHOSEN,
            f"moe sends each token to top_k={args.top_k} experts, but there are only "
            f"{args.experts}",
            rule="top_k <= experts",
            with_=f"top_k = {args.top_k}, experts = {args.experts}",
            help=f"choose at most {args.experts} experts per token, or add experts",
            arg="top_k",
            label=f"{args.top_k} chosen, {args.experts} experts",
        )
    if args.norm_topk and args.softmax == "after":
        raise fail(
            NORMALISED_TWICE,
            'moe with softmax="after" already gives the chosen experts weights that sum to '
            "one, so norm_topk=true has nothing to normalise",
            rule='norm_topk only with softmax="before"',
            help='drop norm_topk, or take the softmax over all experts with softmax="before"',
            arg="norm_topk",
            label="weights already normalised",
        )


def projections(args: MoEArgs) -> int:
    """How many weight matrices each expert holds: gate, up and down, or up and down."""
    return 3 if args.gated else 2


def expert_params(args: MoEArgs, features: int) -> dict[str, tuple[int, ...]]:
    """The experts' weights under their state_dict names, in torch's order."""
    if args.layout == "fused":
        up = ("gate_up_proj", 2 * args.hidden) if args.gated else ("up_proj", args.hidden)
        return {
            f"experts.{up[0]}": (args.experts, up[1], features),
            "experts.down_proj": (args.experts, features, args.hidden),
        }
    names = ("gate_proj", "up_proj") if args.gated else ("up_proj",)
    params = {}
    for i in range(args.experts):
        for name in names:
            params[f"experts.{i}.{name}.weight"] = (args.hidden, features)
        params[f"experts.{i}.down_proj.weight"] = (features, args.hidden)
    return params


@register
class MoE(Op):
    name = "moe"
    family = "linear"
    summary = (
        "sparse mixture of experts: a bias-free linear router (`gate`) picks top_k of "
        "`experts` MLPs of width `hidden`, down(act(gate(x)) * up(x)), or down(act(up(x))) with "
        "`gated=false`, for each token, "
        "and sums their outputs weighted by its softmax, taken over all experts before the "
        'choice (`softmax="before"`, renormalised over the chosen with `norm_topk=true`) or '
        'over the chosen after it (`softmax="after"`); `layout="fused"` stores the experts as '
        "transformers 5 does (experts.gate_up_proj, or up_proj ungated, and experts.down_proj), "
        '`layout="modules"` as one module each (experts.{i}.gate_proj, up_proj, down_proj); '
        "MACs count the router and the top_k experts each token runs through; written with a "
        "block first, `moe(Expert(d), experts, top_k)`, the experts are copies of the block "
        "(experts.{i}), given the tokens (N·*, d)"
    )
    Args = MoEArgs
    positional = ("hidden", "experts", "top_k")
    block_parts = ("moe.route", "moe.combine")
    rule = "(N, *, d) -> (N, *, d); top_k <= experts"
    params_rule = (
        "gate.weight E·d + experts P·E·hidden·d (E = experts, d = the input's last axis, P = 3 "
        "projections gated, else 2); MACs per token d·E + top_k·P·d·hidden"
    )

    def infer(self, args: MoEArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        features = _features(x)
        _check_routing(args)
        tokens = dims.product(list(x.shape[1:-1]))
        expert = projections(args) * features * args.hidden
        per_token = features * args.experts + args.top_k * expert
        return Inferred(
            outputs=(x,),
            params={"gate.weight": (args.experts, features), **expert_params(args, features)},
            macs=tokens * per_token,
            resolved={"in_features": features},
        )

    def label(self, args: MoEArgs, inferred: Inferred) -> str:
        features = inferred.resolved["in_features"]
        return f"moe {args.top_k} of {args.experts}, {features}→{args.hidden}→{features}"

    def torch_submodules(self, args: MoEArgs, inferred: Inferred) -> dict[str, str]:
        # the router, and the experts: one module of 3-d weights, or a list of MLPs
        if args.layout == "fused":
            return {"gate": "nn.Linear", "experts": "FusedExperts"}
        modules = {"gate": "nn.Linear", "experts": "ExpertList"}
        for i in range(args.experts):
            modules[f"experts.{i}"] = "ExpertMLP"
            for name in ("gate_proj", "up_proj") if args.gated else ("up_proj",):
                modules[f"experts.{i}.{name}"] = "nn.Linear"
            modules[f"experts.{i}.down_proj"] = "nn.Linear"
        return modules

    def torch_module(self, args: MoEArgs, inferred: Inferred) -> Ctor:
        return Ctor(
            "SparseMoE",
            (inferred.resolved["in_features"], args.hidden),
            (
                ("experts", args.experts),
                ("top_k", args.top_k),
                *args.changed("activation", "gated", "softmax", "norm_topk", "layout"),
            ),
        )

    def execute(self, args: MoEArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        # Every expert on every token, then each token's sum over experts weighted by a dense
        # (tokens, experts) matrix that is zero off its top_k: the same sum as the generated
        # loop over routed tokens, computed another way.
        torch, state = run.torch, run.state
        (x,) = run.inputs
        tokens = x.reshape(-1, x.shape[-1])
        dense = _dense_gates(torch, args, tokens @ state["gate.weight"].T)
        activation = getattr(run.F, args.activation)
        out = torch.zeros_like(tokens)
        for i, (gate, up, down) in enumerate(_expert_weights(args, state)):
            if gate is None:
                hidden = activation(tokens @ up.T)
            else:
                hidden = activation(tokens @ gate.T) * (tokens @ up.T)
            out = out + dense[:, i, None] * (hidden @ down.T)
        return (out.reshape(x.shape),)


def _dense_gates(torch: Any, args: Routed, scores: Any) -> Any:
    """Each token's weight for each expert, (tokens, experts): the router's, zero off the
    token's top_k."""
    if args.softmax == "after":
        chosen_scores, chosen = torch.topk(scores, args.top_k, dim=-1)
        weights = torch.softmax(chosen_scores, dim=-1)
    else:
        weights, chosen = torch.topk(torch.softmax(scores, dim=-1), args.top_k, dim=-1)
        if args.norm_topk:
            weights = weights / weights.sum(dim=-1, keepdim=True)
    return torch.zeros_like(scores).scatter(1, chosen, weights)


def tokens_of(x: TensorType) -> TensorType:
    """The tokens a block expert takes, every axis but the features flattened into one:
    (N·*, d), the batch of tokens first."""
    return TensorType((dims.product(list(x.shape[:-1])), x.shape[-1]), x.dtype)


@register_part
class Route(Op):
    absent_as_none = ("bias",)  # a bias-free nn.Linear
    name = "moe.route"
    family = "linear"
    summary = (
        "the router of a `moe` over a block's experts: a bias-free linear layer (`gate`) scores "
        "the experts for each token; gives the tokens, flattened to (tokens, d), and each "
        "token's weight for each expert, zero off its top_k"
    )
    Args = RoutingArgs
    positional = ("experts", "top_k")
    rule = "(N, *, d) -> (N·*, d), (N·*, experts); top_k <= experts"
    params_rule = "weight E·d (E = experts); MACs per token d·E"

    def infer(self, args: RoutingArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        features = _features(x)
        _check_routing(args)
        tokens = tokens_of(x)
        return Inferred(
            outputs=(tokens, TensorType((tokens.shape[0], args.experts), x.dtype)),
            params={"weight": (args.experts, features)},
            macs=dims.product(list(x.shape[1:-1])) * features * args.experts,
            resolved={"in_features": features},
        )

    def label(self, args: RoutingArgs, inferred: Inferred) -> str:
        return f"route {args.top_k} of {args.experts}"

    def torch_module(self, args: RoutingArgs, inferred: Inferred) -> Ctor:
        features = inferred.resolved["in_features"]
        return Ctor("nn.Linear", (features, args.experts), (("bias", False),))

    def torch_construct(self, args: RoutingArgs, inferred: Inferred) -> Ctor:
        return Ctor(
            "MixtureOfExperts",
            (inferred.resolved["in_features"],),
            (("top_k", args.top_k), *args.changed("softmax", "norm_topk")),
        )

    def execute(self, args: RoutingArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        # the weights as a dense (tokens, experts) matrix: every expert then runs on every
        # token, where the generated loop runs each on the tokens routed to it
        (x,) = run.inputs
        tokens = x.reshape(-1, x.shape[-1])
        return tokens, _dense_gates(run.torch, args, tokens @ run.state["weight"].T)


@register_part
class Combine(Op):
    name = "moe.combine"
    family = "linear"
    summary = (
        "the end of a `moe` over a block's experts: each token's sum of the experts' outputs "
        "weighted by its gates, in the shape of the moe's input; its MACs are the top_k "
        "experts each token runs through"
    )
    inputs = ("x", "gates", "expert")
    min_inputs = 3
    variadic = True
    rule = "x (N, *, d), gates (N·*, E), E experts' outputs (N·*, d) -> (N, *, d)"

    def infer(self, args: Any, inputs: Sequence[TensorType]) -> Inferred:
        x, _, *outputs = inputs
        tokens = tokens_of(x)
        for made in outputs:
            if not _same_type(made, tokens):
                raise fail(
                    EXPERT_SHAPE,
                    f"an expert gives {made}, but the moe sums outputs of its tokens' shape "
                    f"{tokens}",
                    rule="expert: (N·*, d) -> (N·*, d)",
                    with_=f"d = {tokens.shape[-1]}",
                )
        return Inferred(outputs=(x,))

    def label(self, args: Any, inferred: Inferred) -> str:
        return "weighted sum"

    def execute(self, args: Any, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        x, gates, *outputs = run.inputs
        out = sum(gates[:, i, None] * made for i, made in enumerate(outputs))
        return (out.reshape(x.shape),)


def _same_type(a: TensorType, b: TensorType) -> bool:
    return (
        a.dtype == b.dtype
        and a.rank == b.rank
        and all(dims.same(p, q) for p, q in zip(a.shape, b.shape, strict=True))
    )


def _expert_weights(args: MoEArgs, state: Any) -> list[tuple[Any, Any, Any]]:
    """Each expert's gate (None where not gated), up and down weights as (out, in) matrices,
    either layout."""
    weights = []
    for i in range(args.experts):
        if args.layout == "modules":
            gate = state[f"experts.{i}.gate_proj.weight"] if args.gated else None
            up = state[f"experts.{i}.up_proj.weight"]
            down = state[f"experts.{i}.down_proj.weight"]
        elif args.gated:
            gate_up = state["experts.gate_up_proj"][i]
            gate, up = gate_up[: args.hidden], gate_up[args.hidden :]
            down = state["experts.down_proj"][i]
        else:
            gate, up, down = None, state["experts.up_proj"][i], state["experts.down_proj"][i]
        weights.append((gate, up, down))
    return weights
