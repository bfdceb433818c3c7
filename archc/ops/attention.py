"""Multi-head attention: self and cross, grouped-query heads, masks, rotary positions, qk-norm.

Three parameter layouts, so that a spec loads checkpoints of each family unchanged:

- ``layout="torch"`` mirrors ``torch.nn.MultiheadAttention``'s state_dict: one packed
  ``in_proj_weight`` when queries, keys and values come from inputs of one width with one head
  count each, else ``q_proj_weight``, ``k_proj_weight`` and ``v_proj_weight``; then
  ``in_proj_bias`` (q, k, v rows in that order) and ``out_proj``. Configurations torch's module
  cannot express (grouped-query heads, a head width other than ``embed_dim / heads``, rotary
  positions) keep the same names.
- ``layout="linears"`` holds one ``nn.Linear`` per projection under names the spec chooses,
  by default Hugging Face's ``q_proj``, ``k_proj``, ``v_proj``, ``o_proj``, each with a bias
  flag of its own (Qwen2 has q, k and v biases and no o bias; Whisper's k_proj has none).
  With three names there is no output projection: BERT's lies in a module of its own.
- ``layout="fused"`` holds one ``nn.Linear`` for q, k and v whose rows are grouped by head,
  each head's query, key and value rows together, as BLOOM lays out ``query_key_value``, and
  one for the output, named ``names`` (``("query_key_value", "dense")`` by default; one name
  for no output projection).

After ``x`` (N, T, E) the op takes up to two tensors, told apart by their shapes: a memory
(N, S, E_kv) to attend over, and a mask, (N, S) for the keys of each sample or broadcastable to
(N, heads, T, S); a boolean or integer mask says which keys count (true, nonzero), a floating
one is added to the scores.

``relative_buckets`` adds T5's relative position bias (archc/ops/relative.py), its table named
``relative_attention_bias`` as Hugging Face names it, and ``return_position_bias`` gives what
was added to the scores as a second output, which T5's later layers take as their mask.
"""

from __future__ import annotations

import keyword
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from archc import dims
from archc.dims import Dim, TensorType
from archc.ops.position import Fraction, check_rotary_width, rotate, rotated_width
from archc.ops.position import sequence_width as _sequence_width
from archc.ops.registry import register
from archc.ops.relative import RULE as RELATIVE_RULE
from archc.ops.relative import bias as relative_bias
from archc.ops.relative import check as check_relative
from archc.ops.schema import Args
from archc.ops.spec import (
    CHANNELS,
    DIVISIBILITY,
    INPUTS,
    INVALID,
    RANK,
    Ctor,
    Execution,
    Inferred,
    NonNegativeInt,
    Op,
    PositiveFloat,
    PositiveInt,
    Probability,
    Template,
    divisors,
    fail,
)

TORCH_BIAS = "A345"  # per-projection biases the packed torch layout cannot hold
PROJECTION_NAMES = "A346"  # projection names a module cannot hold
CAUSAL = "A347"  # a sliding window or ALiBi without a causal mask
UNUSED = "A348"  # an argument of a feature that is off
MASK = "A350"  # a mask that does not broadcast to (N, heads, T, S)
NAME_COUNT = "A351"  # names that do not fit the layout's projections
FUSED = "A352"  # the fused layout with a memory or grouped-query heads

Bias = bool | tuple[bool, bool, bool, bool]
# Attributes archc's attention modules hold themselves (archc/torch_helpers.py): a projection
# must be named otherwise. tests/ops/test_attention.py reads them off the modules.
RESERVED = frozenset(
    {
        "alibi",
        "attend",
        "causal",
        "dropout",
        "head_dim",
        "heads",
        "k_norm",
        "kv_heads",
        "names",
        "q_norm",
        "relative_attention_bias",
        "return_position_bias",
        "returned",
        "rotary",
        "scale",
        "scores",
        "window",
    }
)
# Each layout's projections, Hugging Face's names: q, k, v and output, or fused qkv and output.
DEFAULT_NAMES = {
    "linears": ("q_proj", "k_proj", "v_proj", "o_proj"),
    "fused": ("query_key_value", "dense"),
}
# archc's module for each layout (archc/torch_helpers.py).
HELPERS = {"torch": "MultiheadAttention", "linears": "Attention", "fused": "FusedAttention"}
# What the help of a misnamed projection offers besides Hugging Face's names.
SHORT_NAMES = {"linears": ("q", "k", "v", "o"), "fused": ("qkv", "out")}
# Options whose value matters only when another is set: (option, what it needs).
NEEDS = (
    ("names", "layout", '`layout="linears"`'),
    ("qk_norm_eps", "qk_norm", "`qk_norm=true`"),
    ("rotary_base", "rotary", "`rotary=true`"),
    ("rotary_fraction", "rotary", "`rotary=true`"),
    ("rotary_interleaved", "rotary", "`rotary=true`"),
    ("rotary_offset", "rotary", "`rotary=true`"),
    ("relative_max_distance", "relative_buckets", "`relative_buckets`"),
)


class AttentionArgs(Args):
    heads: PositiveInt
    dropout: Probability = 0.0
    bias: Bias = True
    head_dim: PositiveInt | None = None
    kv_heads: PositiveInt | None = None
    causal: bool = False
    scale: PositiveFloat | None = None
    window: PositiveInt | None = None
    alibi: bool = False
    layout: Literal["torch", "linears", "fused"] = "torch"
    names: tuple[str, ...] | None = None
    qk_norm: bool = False
    qk_norm_eps: PositiveFloat = 1e-6
    rotary: bool = False
    rotary_base: PositiveFloat = 10000.0
    rotary_fraction: Fraction = 1.0
    rotary_interleaved: bool = False
    rotary_offset: NonNegativeInt = 0
    relative_buckets: PositiveInt | None = None
    relative_max_distance: PositiveInt = 128
    return_position_bias: bool = False

    def biases(self) -> tuple[bool, bool, bool, bool]:
        """The q, k, v and output projections' bias flags."""
        if isinstance(self.bias, tuple):
            return self.bias
        return (self.bias,) * 4

    def projection_names(self) -> tuple[str, ...]:
        """The projections' submodule names: the spec's, or the layout's defaults."""
        if self.names is not None:
            return self.names
        return DEFAULT_NAMES.get(self.layout, ())

    def projects_out(self) -> bool:
        """Whether the attention ends with an output projection back to the input's width."""
        return self.layout == "torch" or len(self.projection_names()) == len(
            DEFAULT_NAMES[self.layout]
        )


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


def check_options(args: AttentionArgs) -> None:
    """Arguments that contradict each other or that nothing would read."""
    for option, switch, needed in NEEDS:
        # a switch written as `none` is a feature a block turns off in some of its instances
        # (T5's relative bias, in its first layer only), whose options are written for all
        written_off = switch in args.given and getattr(args, switch) is None
        if (
            option in args.given
            and getattr(args, switch) == type(args).fields[switch].default
            and not written_off
        ):
            raise fail(
                UNUSED,
                f"attention's `{option}` has no effect without {needed}",
                arg=option,
                label="ignored",
                help=f"add {needed}, or leave `{option}` out",
            )
    if args.window is not None and not args.causal:
        raise fail(
            CAUSAL,
            f"a sliding window of {args.window} limits how far back a query looks, "
            "so it needs a causal mask",
            rule="window => causal",
            arg="window",
            label="a window without causal=true",
            help="add `causal=true`, as Mistral and Qwen2 have it",
        )
    if args.alibi and not args.causal:
        raise fail(
            CAUSAL,
            "ALiBi penalises a key by how far back it lies from the query, "
            "so it needs a causal mask",
            rule="alibi => causal",
            arg="alibi",
            label="ALiBi without causal=true",
            help="add `causal=true`, as BLOOM and MPT have it",
        )
    q, k, v, o = args.biases()
    if args.layout == "torch" and not q == k == v:
        shown = ", ".join("true" if flag else "false" for flag in (q, k, v, o))
        raise fail(
            TORCH_BIAS,
            "the torch layout keeps the q, k and v biases in one `in_proj_bias`, so they are "
            f"all on or all off, but bias=({shown})",
            rule='layout="torch": bias[0] == bias[1] == bias[2]',
            arg="bias",
            label="q, k and v differ",
            help='use `layout="linears"`, which gives each projection an nn.Linear of its own',
        )
    if args.layout == "fused" and not q == k == v:
        shown = ", ".join("true" if flag else "false" for flag in (q, k, v, o))
        raise fail(
            TORCH_BIAS,
            "the fused layout projects q, k and v with one nn.Linear, so their biases are all "
            f"on or all off, but bias=({shown})",
            rule='layout="fused": bias[0] == bias[1] == bias[2]',
            arg="bias",
            label="q, k and v differ",
            help='use `layout="linears"`, which gives each projection an nn.Linear of its own',
        )
    if args.layout != "torch":
        _check_names(args.layout, args.projection_names())
    if args.relative_buckets is not None:
        check_relative(args.relative_buckets, args.relative_max_distance, not args.causal)


COUNTS = {1: "one", 2: "two", 3: "three", 4: "four"}


def _check_names(layout: str, names: tuple[str, ...]) -> None:
    """Projection names are attributes of the generated module and state_dict keys, one per
    projection of the layout, the output projection's last and optional."""
    full = len(DEFAULT_NAMES[layout])
    if len(names) not in (full - 1, full):
        parts = "q, k, v and output" if layout == "linears" else "fused qkv and output"
        raise fail(
            NAME_COUNT,
            f'`layout="{layout}"` names its {parts} projections, {COUNTS[full]} names or '
            f"{COUNTS[full - 1]} without the output projection, but {len(names)} are given",
            rule=f'layout="{layout}": len(names) == {full} or {full - 1}',
            with_=f"len(names) = {len(names)}",
            arg="names",
            label=f"{len(names)} names",
            help=f"name them as the checkpoint does, e.g. {_shown(DEFAULT_NAMES[layout])}",
        )
    rule = f"names: {COUNTS[len(names)]} distinct identifiers, no keyword, no leading underscore"
    for name in names:
        usable = name.isidentifier() and not keyword.iskeyword(name)
        if usable and not name.startswith("_") and name not in RESERVED:
            continue
        why = (
            "is an attribute the attention module holds itself"
            if name in RESERVED
            else "is not a Python identifier a module attribute can have"
        )
        raise fail(
            PROJECTION_NAMES,
            f"attention cannot hold a projection named {name!r}: it {why}",
            rule=rule,
            arg="names",
            label=f"{name!r}",
            help=f"name them as the checkpoint does, e.g. {_shown(DEFAULT_NAMES[layout])} or "
            f"{_shown(SHORT_NAMES[layout])}",
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise fail(
            PROJECTION_NAMES,
            f"attention's projections need {COUNTS[len(names)]} names, but {repeated[0]!r} "
            "names two",
            rule=rule,
            arg="names",
            label=f"{repeated[0]!r} twice",
            help="give each projection a name of its own",
        )


def _shown(names: tuple[str, ...]) -> str:
    return "(" + ", ".join(f'"{name}"' for name in names) + ")"


def _check_fused(args: AttentionArgs, found: Roles) -> None:
    """The fused layout projects one input into every head's q, k and v at once."""
    if found.memory is not None:
        raise fail(
            FUSED,
            f"the fused layout projects q, k and v from x in one nn.Linear, so it cannot "
            f"attend over a memory {found.memory}",
            rule='layout="fused": self-attention, no memory',
            arg="layout",
            label="one projection for q, k and v",
            help='use `layout="linears"` for cross-attention',
        )
    if args.kv_heads is not None and args.kv_heads != args.heads:
        raise fail(
            FUSED,
            f"the fused layout holds a query, key and value per head, so kv_heads="
            f"{args.kv_heads} cannot differ from heads={args.heads}",
            rule='layout="fused": kv_heads == heads',
            with_=f"kv_heads = {args.kv_heads}, heads = {args.heads}",
            arg="kv_heads",
            label=f"{args.kv_heads} key/value heads",
            help='use `layout="linears"` for grouped-query heads',
        )


@dataclass(frozen=True)
class Roles:
    """Which of an attention's inputs is which: the queries' input, the memory, the mask."""

    x: TensorType
    memory: TensorType | None
    mask: TensorType | None
    memory_index: int | None
    mask_index: int | None


def roles(inputs: Sequence[TensorType]) -> Roles:
    """Tell the inputs after x apart by shape: a (N, S, E_kv) sequence is the memory, a tensor
    of rank 2 or 4 the mask."""
    found: dict[str, int] = {}
    for index, tensor in enumerate(inputs[1:], 1):
        role = "memory" if tensor.rank == 3 else "mask"
        if role in found:
            raise fail(
                INPUTS,
                f"attention takes one {role}, but inputs {found[role] + 1} and {index + 1} both "
                f"look like one ({inputs[found[role]]} and {tensor})",
                rule="x (N, T, E), memory (N, S, E_kv), mask (N, S) or (N, heads, T, S)",
                help="a memory is (N, S, E_kv); a mask is (N, S), or (N, heads, T, S) with 1 "
                "for any axis it broadcasts over",
            )
        found[role] = index
    memory, mask = found.get("memory"), found.get("mask")
    return Roles(
        inputs[0],
        inputs[memory] if memory is not None else None,
        inputs[mask] if mask is not None else None,
        memory,
        mask,
    )


def _check_mask(mask: TensorType, heads: int, queries: Dim, keys: Dim) -> None:
    """A mask broadcasts to (N, heads, T, S): (N, S), or rank 4 with 1 on any axis."""
    if mask.rank not in (2, 4):
        raise fail(
            MASK,
            f"an attention mask is (N, S) or (N, heads, T, S), not {mask.rank}-d {mask}",
            rule="mask (N, S) or broadcastable to (N, heads, T, S)",
            arg="mask",
            label=f"a {mask.rank}-d mask",
            help="a padding mask is (N, S); a bias per head and query is (N, heads, T, S)",
        )
    expected: tuple[tuple[str, str, Dim], ...] = (("S", "keys", keys),)
    if mask.rank == 4:
        expected = (("heads", "heads", heads), ("T", "queries", queries), ("S", "keys", keys))
    actual = mask.shape[mask.rank - len(expected) :]
    target = "(N, S)" if mask.rank == 2 else "(N, heads, T, S)"
    for (symbol, what, size), got in zip(expected, actual, strict=True):
        if (got == 1 and mask.rank == 4) or dims.same(got, size):
            continue
        allowed = f"{size}" if mask.rank == 2 else f"{size} (or 1)"
        raise fail(
            MASK,
            f"the attention mask {mask} does not fit {target}: its {symbol} axis is {got}, "
            f"but there are {allowed} {what}",
            rule=f"mask {target}, {symbol} = the number of {what}",
            with_=f"{symbol} = {size}, the mask has {got}",
            arg="mask",
            label=f"{got} where {size} {what}",
            help=f"build the mask for {size} {what}",
        )


def geometry(args: AttentionArgs, found: Roles) -> Geometry:
    embed_dim = _sequence_width(found.x, "attention", "`x`")
    kv_dim = embed_dim
    if found.memory is not None:
        kv_dim = _sequence_width(found.memory, "attention", "`memory`")
    head_dim = _head_dim(args, embed_dim)
    if args.rotary and args.rotary_fraction == 1.0:
        check_rotary_width(head_dim, "head_dim", arg="rotary")
    return Geometry(embed_dim, kv_dim, args.heads, _kv_heads(args), head_dim)


# The classes of the modules an attention holds other than its projections (nn.Linear)
_SUBMODULES = {
    "rotary": "Rotary",
    "q_norm": "nn.RMSNorm",
    "k_norm": "nn.RMSNorm",
    "relative_attention_bias": "RelativePositionBias",
}


def parameters(g: Geometry, args: AttentionArgs) -> dict[str, tuple[int, ...]]:
    """Parameter shapes in the generated module's registration order."""
    q, k, v, o = args.biases()
    params: dict[str, tuple[int, ...]] = {}
    if args.layout != "torch":
        shapes = [(g.inner, g.embed_dim), (g.kv_inner, g.kv_dim), (g.kv_inner, g.kv_dim)]
        flags = [q, k, v]
        if args.layout == "fused":  # one projection for all three
            shapes, flags = [(3 * g.inner, g.embed_dim)], [q]
        shapes.append((g.embed_dim, g.inner))  # the output's, unless its name is left out
        names = args.projection_names()
        for name, shape, bias in zip(names, shapes, [*flags, o], strict=False):
            params[f"{name}.weight"] = shape
            if bias:
                params[f"{name}.bias"] = shape[:1]
    else:
        if g.packed:
            params["in_proj_weight"] = (3 * g.inner, g.embed_dim)
        else:
            params["q_proj_weight"] = (g.inner, g.embed_dim)
            params["k_proj_weight"] = (g.kv_inner, g.kv_dim)
            params["v_proj_weight"] = (g.kv_inner, g.kv_dim)
        if q:
            params["in_proj_bias"] = (g.inner + 2 * g.kv_inner,)
        params["out_proj.weight"] = (g.embed_dim, g.inner)
        if o:
            params["out_proj.bias"] = (g.embed_dim,)
    if args.qk_norm:
        params["q_norm.weight"] = (g.head_dim,)
        params["k_norm.weight"] = (g.head_dim,)
    if args.relative_buckets is not None:
        params["relative_attention_bias.weight"] = (args.relative_buckets, g.heads)
    return params


def macs(g: Geometry, queries: Dim, keys: Dim, projects_out: bool) -> Dim:
    """Projections, plus QK^T and AV: each T*S*head_dim per head, the causal half included
    (fused kernels skip masked blocks, the reference computation does not)."""
    query_side = 2 if projects_out else 1  # the query projection, and the output's
    projections = queries * query_side * g.embed_dim * g.inner
    projections += keys * 2 * g.kv_dim * g.kv_inner
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
        "heads; `mask` is (N, S), which keys each sample has, or broadcastable to "
        "(N, heads, T, S), boolean or integer (true or nonzero: attend) or floating (added to "
        "the scores); `causal` lets position i attend to positions <= i only, `window` to the "
        "last `window` of them (i - j < window); `alibi` adds slope_h·(j - i) to head h's "
        "scores, ALiBi's slopes 2^(-8/n), 2^(-16/n), ... for n heads (Press et al.; BLOOM, "
        "MPT); scores are q·k scaled by `scale`, "
        "1/sqrt(head_dim) unless given (T5: 1.0); `bias` is one flag or one per projection, "
        '(q, k, v, out); `layout="torch"` holds nn.MultiheadAttention\'s parameters, '
        '`layout="linears"` one nn.Linear per projection named by `names` (q, k, v, out; '
        "leave out the last for no output projection, whose output is heads·head_dim wide), "
        '`layout="fused"` one nn.Linear for q, k and v grouped by head, each head\'s query, '
        "key and value rows in turn, as BLOOM's query_key_value, and one for the output "
        '(`names` ("query_key_value", "dense") by default); `qk_norm` applies '
        "an RMSNorm over head_dim to each head's queries and keys (q_norm, k_norm; Qwen3, "
        "OLMo 2); `rotary` rotates queries and keys per head as the `rotary` op does, with "
        "`rotary_base`, `rotary_fraction`, `rotary_interleaved` and `rotary_offset` as its "
        "arguments; `relative_buckets` adds T5's relative position bias, a learned value per "
        "head for the bucket of each key-minus-query offset (exact buckets for the nearest "
        "offsets, log-spaced ones up to `relative_max_distance`; keys after the query have "
        "their own buckets unless `causal`), its table `relative_attention_bias` as T5's; "
        "`return_position_bias` also gives what was added to the scores, (N, heads, T, S) with "
        "a mask, (1, heads, T, S) without, hidden keys at the lowest value, for later layers "
        "to take as their mask, as T5's reuse the first layer's bias; "
        "the output has the input's width E, heads·head_dim without an output "
        "projection. E.g. Qwen2's: `attention(14, "
        'kv_heads=2, bias=(true, true, true, false), causal=true, layout="linears", '
        "rotary=true, rotary_base=1000000.0)`"
    )
    Args = AttentionArgs
    positional = ("heads", "dropout", "bias")
    inputs = ("x", "memory", "mask")
    min_inputs = 1
    inputs_by_shape = True
    rule = (
        "(N, T, E), memory (N, S, E_kv), mask (N, S) or (N|1, heads|1, T|1, S) -> (N, T, E); "
        "embed_dim % heads == 0 unless head_dim is given; heads % kv_heads == 0; window needs "
        "causal; return_position_bias: also (N|1, heads, T, S); relative buckets: " + RELATIVE_RULE
    )
    params_rule = (
        'layout="torch": q_proj_weight h·d·E + k_proj_weight h_kv·d·E_kv + v_proj_weight '
        "h_kv·d·E_kv (one in_proj_weight 3·h·d·E when all three have one shape) + in_proj_bias "
        "(h + 2·h_kv)·d (q, k, v bias) + out_proj.weight E·h·d + out_proj.bias E (out bias); "
        'layout="linears": q.weight h·d·E + q.bias h·d + k.weight h_kv·d·E_kv + k.bias h_kv·d '
        "+ v.weight h_kv·d·E_kv + v.bias h_kv·d + o.weight E·h·d + o.bias E, each bias as its "
        "flag says, q, k, v, o as `names` says (no o without a fourth name); "
        'layout="fused": qkv.weight 3·h·d·E + qkv.bias 3·h·d + o.weight E·h·d + o.bias E; '
        "+ q_norm.weight d + k_norm.weight d "
        "(qk_norm=true) + relative_attention_bias.weight buckets·h (relative_buckets); "
        "h = heads, h_kv = kv_heads, d = head_dim, E_kv = memory's width (E "
        "without memory)"
    )

    def infer(self, args: AttentionArgs, inputs: Sequence[TensorType]) -> Inferred:
        check_options(args)
        found = roles(inputs)
        g = geometry(args, found)
        x = found.x
        keys = found.memory.shape[1] if found.memory is not None else x.shape[1]
        if found.mask is not None:
            _check_mask(found.mask, args.heads, x.shape[1], keys)
        rotary_dim = g.head_dim
        if args.rotary:
            rotary_dim = rotated_width(g.head_dim, args.rotary_fraction, arg="rotary_fraction")
        if args.layout == "fused":
            _check_fused(args, found)
        out = x if args.projects_out() else TensorType((*x.shape[:-1], g.inner), x.dtype)
        outputs = (out,)
        if args.return_position_bias:
            batch = found.mask.shape[0] if found.mask is not None else 1
            outputs += (TensorType((batch, args.heads, x.shape[1], keys), x.dtype),)
        return Inferred(
            outputs=outputs,
            params=parameters(g, args),
            macs=macs(g, x.shape[1], keys, args.projects_out()),
            resolved={
                "embed_dim": g.embed_dim,
                "kv_dim": g.kv_dim,
                "head_dim": g.head_dim,
                "kv_heads": g.kv_heads,
                "rotary_dim": rotary_dim,
                "memory": found.memory_index,
                "mask": found.mask_index,
            },
        )

    def label(self, args: AttentionArgs, inferred: Inferred) -> str:
        resolved = inferred.resolved
        parts = [f"attention {args.heads} heads"]
        if resolved["kv_heads"] != args.heads:
            parts.append(f"{resolved['kv_heads']} kv heads")
        if resolved["head_dim"] * args.heads != resolved["embed_dim"]:
            parts.append(f"head_dim {resolved['head_dim']}")
        if args.window is not None:
            parts.append(f"window {args.window}")
        flags = (
            ("causal", args.causal),
            ("alibi", args.alibi),
            ("rotary", args.rotary),
            ("qk-norm", args.qk_norm),
            ("relative bias", args.relative_buckets is not None),
        )
        parts += [flag for flag, on in flags if on]
        return ", ".join(parts)

    def torch_submodules(self, args: AttentionArgs, inferred: Inferred) -> dict[str, str]:
        owners = {name.rpartition(".")[0] for name in inferred.params if "." in name}
        if args.rotary:
            owners.add("rotary")
        return {owner: _SUBMODULES.get(owner, "nn.Linear") for owner in sorted(owners)}

    def torch_module(self, args: AttentionArgs, inferred: Inferred) -> Ctor:
        # archc's MultiheadAttention or Attention (archc/torch_helpers.py), copied into
        # generated code, computed by scaled_dot_product_attention
        resolved = inferred.resolved
        # a head width or key/value head count the spec gives is written from where it came
        # from (T5's d_kv, Llama's kv_heads), even where it equals embed_dim / heads or heads,
        # which other sizes need not keep
        kwargs: list[tuple[str, object]] = list(args.changed("head_dim"))
        if resolved["kv_dim"] != resolved["embed_dim"]:
            kwargs.append(("kv_dim", resolved["kv_dim"]))
        if args.layout != "fused":  # which holds as many key/value heads as heads
            kwargs += args.changed("kv_heads")
        q, _, _, o = args.biases()
        if args.layout == "linears":
            if args.biases() != (True,) * 4:
                kwargs.append(("bias", args.biases()))
        elif args.layout == "fused":
            if (q, o) != (True, True):
                kwargs.append(("bias", (q, o)))
        elif isinstance(args.bias, bool):
            kwargs += args.changed("bias")
        else:
            kwargs += [("bias", q)] if not q else []
            kwargs += [("out_bias", o)] if o != q else []
        if args.names is not None and args.names != DEFAULT_NAMES[args.layout]:
            kwargs.append(("names", args.names))
        kwargs += args.changed("dropout", "causal", "scale", "window", "alibi")
        if args.rotary:
            kwargs.append(("rotary_base", args.rotary_base))
            kwargs += args.changed("rotary_fraction", "rotary_interleaved", "rotary_offset")
        if args.qk_norm:
            kwargs.append(("qk_norm_eps", args.qk_norm_eps))
        kwargs += args.changed("relative_buckets", "relative_max_distance", "return_position_bias")
        call = ["{0}"]
        if resolved["memory"] is not None:
            call.append(f"{{{resolved['memory']}}}")
        if resolved["mask"] is not None:
            call.append(f"mask={{{resolved['mask']}}}")
        # causal self-attention carries on from the keys and values a KVCache holds
        plain = args.relative_buckets is None and not args.return_position_bias
        decodes = args.causal and len(call) == 1 and plain
        return Ctor(
            HELPERS[args.layout],
            (resolved["embed_dim"], args.heads),
            tuple(kwargs),
            "{m}(" + ", ".join(call) + ")",
            cached_call="{m}({0}, cache=cache)" if decodes else None,
        )

    def execute(self, args: AttentionArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        torch, state = run.torch, run.state
        resolved = inferred.resolved
        x = run.inputs[0]
        source = x if resolved["memory"] is None else run.inputs[resolved["memory"]]
        head_dim, kv_heads = resolved["head_dim"], resolved["kv_heads"]
        inner, kv_inner = args.heads * head_dim, kv_heads * head_dim
        weights, biases = _projections(args, state, [inner, kv_inner, kv_inner])

        def heads(inputs: Any, part: int, count: int) -> Any:
            projected = inputs @ weights[part].T
            if biases[part] is not None:
                projected = projected + biases[part]  # (N, T, count * head_dim)
            split = projected.reshape(*projected.shape[:2], count, head_dim)
            return split.permute(0, 2, 1, 3)  # (N, count, T, head_dim)

        q, k, v = heads(x, 0, args.heads), heads(source, 1, kv_heads), heads(source, 2, kv_heads)
        if args.qk_norm:
            q = _rms(q, state["q_norm.weight"], args.qk_norm_eps)
            k = _rms(k, state["k_norm.weight"], args.qk_norm_eps)
        if args.rotary:
            turn = (args.rotary_base, resolved["rotary_dim"])
            q = rotate(torch, q, *turn, args.rotary_interleaved, args.rotary_offset)
            k = rotate(torch, k, *turn, args.rotary_interleaved, args.rotary_offset)
        # each key/value head serves heads / kv_heads consecutive query heads
        k = k.repeat_interleave(args.heads // kv_heads, dim=1)
        v = v.repeat_interleave(args.heads // kv_heads, dim=1)
        scale = args.scale if args.scale is not None else 1 / math.sqrt(head_dim)
        scores = q @ k.transpose(-2, -1) * scale
        relative = None
        if args.relative_buckets is not None:
            table = state["relative_attention_bias.weight"]
            queries, keys = scores.shape[-2:]
            distance = args.relative_max_distance
            relative = relative_bias(torch, table, queries, keys, distance, not args.causal)
        scores, added = _masked(torch, scores, args, run.inputs, resolved["mask"], relative)
        attended = scores.softmax(dim=-1)
        p = run.drop_rate(args.dropout)
        if p:
            attended = run.F.dropout(attended, p, training=True)
        mixed = (attended @ v).permute(0, 2, 1, 3).flatten(2)  # (N, T, heads * head_dim)
        out = mixed
        if args.projects_out():
            out = mixed @ weights[3].T
            out = out + biases[3] if biases[3] is not None else out
        if not args.return_position_bias:
            return (out,)
        batch = 1 if resolved["mask"] is None else run.inputs[resolved["mask"]].shape[0]
        return (out, added.expand(batch, *scores.shape[1:]))


def _projections(
    args: AttentionArgs, state: Any, sizes: list[int]
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The q, k, v and output weights and biases (None where there is none), any layout."""
    names = args.projection_names() or ("out_proj",)
    output = names[-1] if args.projects_out() else None
    out_weight = state[f"{output}.weight"] if output else None
    out_bias = state.get(f"{output}.bias") if output else None
    if args.layout == "linears":
        weights = tuple(state[f"{name}.weight"] for name in names[:3])
        biases = tuple(state.get(f"{name}.bias") for name in names[:3])
        return (*weights, out_weight), (*biases, out_bias)
    if args.layout == "fused":
        # rows (heads, 3, head_dim): each head's query, key and value rows in turn
        weights = _unfused(state[f"{names[0]}.weight"], args.heads)
        bias = state.get(f"{names[0]}.bias")
        biases = _unfused(bias, args.heads) if bias is not None else (None,) * 3
        return (*weights, out_weight), (*biases, out_bias)
    if "in_proj_weight" in state:
        weights = tuple(state["in_proj_weight"].split(sizes))
    else:
        weights = tuple(state[f"{part}_proj_weight"] for part in "qkv")
    biases = (None,) * 3
    if "in_proj_bias" in state:
        biases = tuple(state["in_proj_bias"].split(sizes))
    return (*weights, out_weight), (*biases, out_bias)


def _unfused(tensor: Any, heads: int) -> tuple[Any, ...]:
    """The q, k and v rows of a fused projection's (heads * 3 * head_dim, ...) tensor."""
    by_head = tensor.unflatten(0, (heads, 3, -1))
    return tuple(by_head[:, part].flatten(0, 1) for part in range(3))


def _alibi(torch: Any, heads: int, dtype: Any) -> Any:
    """ALiBi's slopes as (heads, 1, 1): for the largest power of two n <= heads, head h < n
    has 2^(-8(h+1)/n); the heads beyond n take the slopes halfway between, 2^(-8(k+1/2)/n)
    for k = 0, 1, ... (Press et al., as BLOOM and MPT count them)."""
    n = 1 << (heads.bit_length() - 1)
    exponents = [8 * (h + 1) / n for h in range(n)] + [8 * (k + 0.5) / n for k in range(heads - n)]
    return torch.tensor([2.0**-e for e in exponents], dtype=dtype)[:, None, None]


def _rms(x: Any, weight: Any, eps: float) -> Any:
    """RMSNorm over the last axis (each head's features)."""
    return x / (x.square().mean(dim=-1, keepdim=True) + eps).sqrt() * weight


def _masked(
    torch: Any,
    scores: Any,
    args: AttentionArgs,
    inputs: Any,
    index: int | None,
    relative: Any = None,
) -> tuple[Any, Any]:
    """Scores (N, heads, T, S) with ALiBi, the ``relative`` position bias (heads, T, S) and a
    floating mask added and hidden keys at the lowest finite value, as Hugging Face masks
    them: a query with every key hidden attends evenly; and what was added, hidden keys at
    the lowest value, broadcastable to the scores."""
    queries, keys = scores.shape[-2:]
    query = torch.arange(queries)[:, None]
    key = torch.arange(keys)[None, :]
    # query i sees keys 0..i, counted from the first of each, and i - j < window of them
    hidden = key > query if args.causal else torch.zeros(queries, keys, dtype=torch.bool)
    if args.window is not None:
        hidden = hidden | (query - key >= args.window)
    added = torch.zeros((), dtype=scores.dtype)
    if args.alibi:
        added = added + _alibi(torch, args.heads, scores.dtype) * (key - query)
    if relative is not None:
        added = added + relative
    if index is not None:
        mask = inputs[index]
        if mask.dim() == 2:  # (N, S): the same keys for every head and query
            mask = mask[:, None, None, :]
        if mask.is_floating_point():
            added = added + mask
        else:
            hidden = hidden | (mask == 0)
    lowest = torch.finfo(scores.dtype).min
    added = added.to(scores.dtype)  # a float32 mask over float64 scores would promote to float32
    return (scores + added).masked_fill(hidden, lowest), added.masked_fill(hidden, lowest)


class ScaledDotProductArgs(Args):
    dropout_p: Probability = 0.0
    is_causal: bool = False
    scale: PositiveFloat | None = None


@register
class ScaledDotProductAttention(Op):
    name = "scaled_dot_product_attention"
    aliases = ("sdpa",)
    family = "attention"
    summary = (
        "attention over heads already split: softmax(q k^T · scale + mask) v for queries "
        "(N, *, L, E), keys (N, *, S, E) and values (N, *, S, E_v), as "
        "torch.nn.functional.scaled_dot_product_attention computes it; `scale` is "
        "1/sqrt(E) unless given; `is_causal` lets query i attend to keys j <= i only; `attn_mask` "
        "broadcasts to (N, *, L, S), boolean (true: attend) or floating (added to the "
        "scores); `dropout_p` drops attention weights while training"
    )
    Args = ScaledDotProductArgs
    inputs = ("query", "key", "value", "attn_mask")
    min_inputs = 3
    rule = "(N, *, L, E), (N, *, S, E), (N, *, S, E_v), mask (N|1, *|1, L|1, S) -> (N, *, L, E_v)"

    def infer(self, args: ScaledDotProductArgs, inputs: Sequence[TensorType]) -> Inferred:
        query, key, value, *mask = inputs
        for tensor in (query, key, value):
            if tensor.rank < 3 or tensor.rank != query.rank:
                raise fail(
                    RANK,
                    f"{self.name} takes queries, keys and values of one rank, at least 3 "
                    f"(N, *, length, features), got {query}, {key} and {value}",
                    rule=self.rule,
                    label=f"a {tensor.rank}-d input",
                )
        lead = query.shape[:-2]
        pairs = [
            ("the queries' and keys' leading axes", lead, key.shape[:-2]),
            ("the keys' and values' leading axes", key.shape[:-1], value.shape[:-1]),
            ("the queries' and keys' features", query.shape[-1:], key.shape[-1:]),
        ]
        for what, a, b in pairs:
            if not all(dims.same(x, y) is not False for x, y in zip(a, b, strict=True)):
                raise fail(
                    CHANNELS,
                    f"{self.name}: {what} differ, {dims.show_shape(a)} vs {dims.show_shape(b)}",
                    rule=self.rule,
                    with_=f"queries {query}, keys {key}, values {value}",
                    label="these differ",
                )
        if mask:
            self._check_mask(args, mask[0], (*lead, query.shape[-2], key.shape[-2]))
        length, keys = query.shape[-2], key.shape[-2]
        positions = dims.product(list(lead[1:]))
        return Inferred(
            outputs=(TensorType((*lead, length, value.shape[-1]), query.dtype),),
            macs=positions * length * keys * (query.shape[-1] + value.shape[-1]),
        )

    def _check_mask(
        self, args: ScaledDotProductArgs, mask: TensorType, scores: tuple[Dim, ...]
    ) -> None:
        if args.is_causal:
            raise fail(
                INVALID,
                f"{self.name} takes a mask or is_causal=true, not both",
                rule="is_causal: no mask",
                help="fold the causal pattern into the mask, or leave the mask out",
                label="a mask with is_causal",
            )
        fits = mask.rank <= len(scores) and all(
            size == 1 or dims.same(size, full) is not False
            for size, full in zip(reversed(mask.shape), reversed(scores), strict=False)
        )
        if not fits:
            raise fail(
                MASK,
                f"{self.name}'s mask {mask} does not broadcast to the scores "
                f"{dims.show_shape(scores)}",
                rule=self.rule,
                label="this mask",
            )

    def label(self, args: ScaledDotProductArgs, inferred: Inferred) -> str:
        return "attention (causal)" if args.is_causal else "attention"

    def torch_expr(self, args: ScaledDotProductArgs, inferred: Inferred) -> Template:
        values: list[tuple[str, Any]] = []
        text = "F.scaled_dot_product_attention({inputs}"
        if args.dropout_p:
            text += ", dropout_p={dropout_p} if self.training else 0.0"
            values.append(("dropout_p", args.dropout_p))
        if args.is_causal:
            text += ", is_causal=True"
        if args.scale is not None:
            text += ", scale={scale}"
            values.append(("scale", args.scale))
        return Template(text + ")", tuple(values))

    def execute(
        self, args: ScaledDotProductArgs, inferred: Inferred, run: Execution
    ) -> tuple[Any, ...]:
        torch = run.torch
        query, key, value, *mask = run.inputs
        scale = args.scale if args.scale is not None else 1 / math.sqrt(query.shape[-1])
        scores = (query @ key.transpose(-2, -1)) * scale
        length, keys = scores.shape[-2:]
        if args.is_causal:
            later = torch.ones(length, keys, dtype=torch.bool).triu(1)
            scores = scores.masked_fill(later, torch.finfo(scores.dtype).min)
        if mask and mask[0].dtype == torch.bool:
            scores = scores.masked_fill(~mask[0], torch.finfo(scores.dtype).min)
        elif mask:
            scores = scores + mask[0].to(scores.dtype)
        weights = run.F.dropout(scores.softmax(-1), run.drop_rate(args.dropout_p))
        return (weights @ value,)
