"""Multi-head attention: self and cross, grouped-query heads, causal masks, rotary positions.

Parameters mirror ``torch.nn.MultiheadAttention``'s state_dict, so that a spec loads torch and
torchvision checkpoints unchanged: one packed ``in_proj_weight`` when queries, keys and values
come from inputs of one width with one head count each, else ``q_proj_weight``,
``k_proj_weight`` and ``v_proj_weight``; then ``in_proj_bias`` (q, k, v rows in that order) and
``out_proj``. Configurations torch's module cannot express (grouped-query heads, a head width
other than ``embed_dim / heads``, rotary positions) keep the same names, so one layout serves
every case.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from archc.dims import Dim, TensorType
from archc.ops.position import check_rotary_width, rotate, sequence_width
from archc.ops.registry import register
from archc.ops.spec import (
    DIVISIBILITY,
    Args,
    Ctor,
    Execution,
    Inferred,
    Op,
    PositiveFloat,
    PositiveInt,
    Probability,
    divisors,
    fail,
)


class AttentionArgs(Args):
    heads: PositiveInt
    dropout: Probability = 0.0
    bias: bool = True
    head_dim: PositiveInt | None = None
    kv_heads: PositiveInt | None = None
    causal: bool = False
    rotary: bool = False
    rotary_base: PositiveFloat = 10000.0


@dataclass(frozen=True)
class Geometry:
    """The sizes an attention instance works with, derived from its arguments and inputs."""

    embed_dim: int  # width of the queries' input x, and of the output
    kv_dim: int  # width of the keys' and values' input (memory, or x itself)
    heads: int
    kv_heads: int
    head_dim: int

    @property
    def inner(self) -> int:
        return self.heads * self.head_dim

    @property
    def kv_inner(self) -> int:
        return self.kv_heads * self.head_dim

    @property
    def packed(self) -> bool:
        """Whether q, k and v projections have equal shapes, so one tensor holds all three."""
        return self.kv_dim == self.embed_dim and self.kv_heads == self.heads


def nearby_divisors(number: int, near: int, per_side: int = 2) -> list[int]:
    """The divisors of `number` closest to `near`: up to `per_side` below it and above it.

    >>> nearby_divisors(768, 10)
    [6, 8, 12, 16]
    """
    found = divisors(number)
    below = [d for d in found if d < near][-per_side:]
    return below + [d for d in found if d > near][:per_side]


def _head_dim(args: AttentionArgs, embed_dim: int) -> int:
    if args.head_dim is not None:
        return args.head_dim
    if embed_dim % args.heads:
        shown = ", ".join(map(str, nearby_divisors(embed_dim, args.heads)))
        raise fail(
            DIVISIBILITY,
            f"attention heads={args.heads} do not divide the embedding width {embed_dim}",
            rule="embed_dim % heads == 0",
            with_=f"{embed_dim} % {args.heads} = {embed_dim % args.heads}",
            arg="heads",
            label=f"{args.heads} does not divide {embed_dim}",
            help=f"head counts dividing {embed_dim} near {args.heads}: {shown}; "
            "or give `head_dim` explicitly",
        )
    return embed_dim // args.heads


def _kv_heads(args: AttentionArgs) -> int:
    if args.kv_heads is None:
        return args.heads
    if args.heads % args.kv_heads:
        shown = ", ".join(map(str, divisors(args.heads)))
        raise fail(
            DIVISIBILITY,
            f"attention kv_heads={args.kv_heads} does not divide heads={args.heads}: "
            "each key/value head serves a whole group of query heads",
            rule="heads % kv_heads == 0",
            with_=f"{args.heads} % {args.kv_heads} = {args.heads % args.kv_heads}",
            arg="kv_heads",
            label=f"{args.kv_heads} does not divide {args.heads}",
            help=f"kv_heads dividing {args.heads}: {shown}",
        )
    return args.kv_heads


def geometry(args: AttentionArgs, inputs: Sequence[TensorType]) -> Geometry:
    embed_dim = sequence_width(inputs[0], "attention", "`x`")
    kv_dim = sequence_width(inputs[1], "attention", "`memory`") if len(inputs) > 1 else embed_dim
    head_dim = _head_dim(args, embed_dim)
    if args.rotary:
        check_rotary_width(head_dim, "head_dim", arg="rotary")
    return Geometry(embed_dim, kv_dim, args.heads, _kv_heads(args), head_dim)


def parameters(g: Geometry, bias: bool) -> dict[str, tuple[int, ...]]:
    """Parameter shapes in ``nn.MultiheadAttention``'s registration order."""
    params: dict[str, tuple[int, ...]] = {}
    if g.packed:
        params["in_proj_weight"] = (3 * g.inner, g.embed_dim)
    else:
        params["q_proj_weight"] = (g.inner, g.embed_dim)
        params["k_proj_weight"] = (g.kv_inner, g.kv_dim)
        params["v_proj_weight"] = (g.kv_inner, g.kv_dim)
    if bias:
        params["in_proj_bias"] = (g.inner + 2 * g.kv_inner,)
    params["out_proj.weight"] = (g.embed_dim, g.inner)
    if bias:
        params["out_proj.bias"] = (g.embed_dim,)
    return params


def macs(g: Geometry, queries: Dim, keys: Dim) -> Dim:
    """Projections, plus QK^T and AV: each T*S*head_dim per head, the causal half included
    (fused kernels skip masked blocks, the reference computation does not)."""
    projections = queries * 2 * g.embed_dim * g.inner + keys * 2 * g.kv_dim * g.kv_inner
    return projections + queries * keys * 2 * g.inner


@register
class Attention(Op):
    name = "attention"
    aliases = ("multihead_attention",)
    family = "attention"
    summary = (
        "multi-head scaled dot-product attention over (N, T, E): self-attention on x, "
        "cross-attention when `memory` (N, S, E_kv) is given; `head_dim` defaults to "
        "E / heads, `kv_heads` < heads shares each key/value head among heads / kv_heads query "
        "heads, `causal` lets position i attend to positions <= i only, `rotary` rotates queries "
        "and keys per head as the `rotary` op does; the output has the input's width E"
    )
    Args = AttentionArgs
    positional = ("heads", "dropout", "bias")
    inputs = ("x", "memory")
    min_inputs = 1
    rule = (
        "(N, T, E), memory (N, S, E_kv) -> (N, T, E); embed_dim % heads == 0 unless head_dim "
        "is given; heads % kv_heads == 0"
    )
    params_rule = (
        "q_proj_weight h·d·E + k_proj_weight h_kv·d·E_kv + v_proj_weight h_kv·d·E_kv (one "
        "in_proj_weight 3·h·d·E when all three have one shape) + in_proj_bias (h + 2·h_kv)·d "
        "(bias=true) + out_proj.weight E·h·d + out_proj.bias E (bias=true); h = heads, "
        "h_kv = kv_heads, d = head_dim, E_kv = memory's width (E without memory)"
    )

    def infer(self, args: AttentionArgs, inputs: Sequence[TensorType]) -> Inferred:
        x = inputs[0]
        g = geometry(args, inputs)
        keys = inputs[1].shape[1] if len(inputs) > 1 else x.shape[1]
        return Inferred(
            outputs=(x,),
            params=parameters(g, args.bias),
            macs=macs(g, x.shape[1], keys),
            resolved={
                "embed_dim": g.embed_dim,
                "kv_dim": g.kv_dim,
                "head_dim": g.head_dim,
                "kv_heads": g.kv_heads,
                "cross": len(inputs) > 1,
            },
        )

    def label(self, args: AttentionArgs, inferred: Inferred) -> str:
        resolved = inferred.resolved
        parts = [f"attention {args.heads} heads"]
        if resolved["kv_heads"] != args.heads:
            parts.append(f"{resolved['kv_heads']} kv heads")
        if resolved["head_dim"] * args.heads != resolved["embed_dim"]:
            parts.append(f"head_dim {resolved['head_dim']}")
        parts += [flag for flag, on in (("causal", args.causal), ("rotary", args.rotary)) if on]
        return ", ".join(parts)

    def torch_module(self, args: AttentionArgs, inferred: Inferred) -> Ctor:
        # archc's MultiheadAttention (archc/torch_helpers.py), copied into generated code:
        # nn.MultiheadAttention's parameter names, computed by scaled_dot_product_attention
        resolved = inferred.resolved
        kwargs: list[tuple[str, object]] = []
        if resolved["head_dim"] * args.heads != resolved["embed_dim"]:
            kwargs.append(("head_dim", resolved["head_dim"]))
        if resolved["kv_dim"] != resolved["embed_dim"]:
            kwargs.append(("kv_dim", resolved["kv_dim"]))
        if resolved["kv_heads"] != args.heads:
            kwargs.append(("kv_heads", resolved["kv_heads"]))
        kwargs += args.changed("bias", "dropout", "causal")
        if args.rotary:
            kwargs.append(("rotary_base", args.rotary_base))
        call = "{m}({0}, {1})" if resolved["cross"] else "{m}({0})"
        return Ctor("MultiheadAttention", (resolved["embed_dim"], args.heads), tuple(kwargs), call)

    def execute(self, args: AttentionArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        torch, state = run.torch, run.state
        x = run.inputs[0]
        source = run.inputs[-1]  # the memory, or x itself
        resolved = inferred.resolved
        head_dim, kv_heads = resolved["head_dim"], resolved["kv_heads"]
        inner, kv_inner = args.heads * head_dim, kv_heads * head_dim
        if "in_proj_weight" in state:
            weights = state["in_proj_weight"].split([inner, kv_inner, kv_inner])
        else:
            weights = tuple(state[f"{part}_proj_weight"] for part in "qkv")
        biases = (0.0, 0.0, 0.0)
        if args.bias:
            biases = state["in_proj_bias"].split([inner, kv_inner, kv_inner])

        def heads(inputs: Any, part: int, count: int) -> Any:
            projected = inputs @ weights[part].T + biases[part]  # (N, T, count * head_dim)
            split = projected.reshape(*projected.shape[:2], count, head_dim)
            return split.permute(0, 2, 1, 3)  # (N, count, T, head_dim)

        q, k, v = heads(x, 0, args.heads), heads(source, 1, kv_heads), heads(source, 2, kv_heads)
        if args.rotary:
            q, k = rotate(torch, q, args.rotary_base), rotate(torch, k, args.rotary_base)
        # each key/value head serves heads / kv_heads consecutive query heads
        k = k.repeat_interleave(args.heads // kv_heads, dim=1)
        v = v.repeat_interleave(args.heads // kv_heads, dim=1)
        scores = q @ k.transpose(-2, -1) / math.sqrt(head_dim)
        if args.causal:
            # query i sees keys 0..i, counted from the first of each
            allowed = torch.ones(scores.shape[-2:], dtype=torch.bool).tril()
            scores = scores.masked_fill(~allowed, float("-inf"))
        attended = scores.softmax(dim=-1)
        p = run.drop_rate(args.dropout)
        if p:
            attended = run.F.dropout(attended, p, training=True)
        mixed = (attended @ v).permute(0, 2, 1, 3).flatten(2)  # (N, T, heads * head_dim)
        out = mixed @ state["out_proj.weight"].T
        return (out + state["out_proj.bias"] if args.bias else out,)
