"""Position information for sequences: fixed sinusoidal and learned tables, rotary embeddings.

All three act on positions along axis -2 and features along the last axis, so they apply to a
(N, T, E) sequence; rotary also applies per head to (N, heads, T, head_dim). Positions count
from 0. Adding a table costs additions only, so these ops count no MACs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from archc.dims import Dim, TensorType
from archc.ops.registry import register
from archc.ops.spec import (
    DIVISIBILITY,
    INVALID,
    RANK,
    SYMBOLIC,
    Args,
    Ctor,
    Execution,
    Inferred,
    Op,
    PositiveFloat,
    PositiveInt,
    fail,
)


def check_rotary_width(width: int, symbol: str, arg: str | None = None) -> None:
    """Rotations act on pairs of features, so the rotated width must be even."""
    if width % 2:
        shown = " or ".join(str(w) for w in (width - 1, width + 1) if w > 0)
        raise fail(
            DIVISIBILITY,
            f"rotary positions rotate pairs of features, but {symbol} = {width} is odd",
            rule=f"{symbol} % 2 == 0",
            with_=f"{width} % 2 = 1",
            arg=arg,
            help=f"use an even {symbol}: {shown}",
        )


def rotate(torch: Any, x: Any, base: float) -> Any:
    """Rotary positions on the last axis of ``x``, positions along axis -2 (see `Rotary`).

    The angles are computed in float32 whatever the input's type, as GPT-NeoX and LLaMA
    compute them, so that a float64 run gives a float32 run's rotation.
    """
    half = x.shape[-1] // 2
    frequencies = torch.exp(-math.log(base) * torch.arange(half, dtype=torch.float32) / half)
    positions = torch.arange(x.shape[-2], dtype=torch.float32)
    angles = torch.outer(positions, frequencies)
    cos, sin = (torch.cat([a, a], dim=-1).to(x.dtype) for a in (angles.cos(), angles.sin()))
    first, second = x[..., :half], x[..., half:]
    return x * cos + torch.cat([-second, first], dim=-1) * sin


_LAYOUTS = {3: "(N, T, E)", 4: "(N, heads, T, head_dim)"}


def sequence_width(
    x: TensorType, op: str, role: str = "the input", ranks: tuple[int, ...] = (3,)
) -> int:
    """The fixed feature width (last axis) of a sequence input such as (N, T, E)."""
    if x.rank not in ranks:
        expected = " or ".join(_LAYOUTS[rank] for rank in ranks)
        raise fail(
            RANK,
            f"{op} expects {role} of shape {expected}, got {x.rank}-d {x}",
            rule=f"input shape = {expected}",
            help="reshape it to a sequence (N, T, features) first",
            label=f"a {x.rank}-d input",
        )
    width = x.shape[-1]
    if not isinstance(width, int):
        raise fail(
            SYMBOLIC,
            f"{op} needs a fixed feature width, but {role} has {width} features",
            help="declare the last dimension of the input as a number",
            label=f"{width} features",
        )
    return width


def _check_length(length: Dim, max_len: int, op: str) -> None:
    """A table of `max_len` rows covers sequences up to that length; a symbol is not checked."""
    if isinstance(length, int) and length > max_len:
        raise fail(
            INVALID,
            f"{op} holds {max_len} positions, but the sequence has {length}",
            rule="T <= max_len",
            with_=f"T = {length} > max_len = {max_len}",
            arg="max_len",
            help=f"set max_len to at least {length}",
        )


class SinusoidalArgs(Args):
    max_len: PositiveInt = 5000
    base: PositiveFloat = 10000.0


class LearnedArgs(Args):
    max_len: PositiveInt


class RotaryArgs(Args):
    base: PositiveFloat = 10000.0


@register
class SinusoidalPositions(Op):
    name = "sinusoidal_positions"
    family = "position"
    summary = (
        "adds the fixed table of Vaswani et al. to (N, T, E): pe[t, 2i] = sin(t / base^(2i/E)), "
        "pe[t, 2i+1] = cos(t / base^(2i/E)), kept in a (max_len, E) buffer `pe`; y = x + pe[:T] "
        "(no scaling of x; no dropout)"
    )
    Args = SinusoidalArgs
    positional = ("max_len",)
    rule = "(N, T, E) -> (N, T, E); E % 2 == 0; T <= max_len"
    params_rule = "buffer pe max_len·E"

    def infer(self, args: SinusoidalArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        width = sequence_width(x, self.name)
        if width % 2:
            raise fail(
                DIVISIBILITY,
                f"{self.name} interleaves sines and cosines, so it needs an even width, "
                f"not {width}",
                rule="E % 2 == 0",
                with_=f"{width} % 2 = 1",
                help="project to an even width first",
            )
        _check_length(x.shape[1], args.max_len, self.name)
        return Inferred(
            outputs=(x,),
            buffers={"pe": (args.max_len, width)},
            resolved={"embed_dim": width},
        )

    def label(self, args: SinusoidalArgs, inferred: Inferred) -> str:
        return f"sinusoidal positions ≤{args.max_len}"

    def torch_module(self, args: SinusoidalArgs, inferred: Inferred) -> Ctor:
        # archc's SinusoidalPositions (archc/torch_helpers.py), copied into generated code
        width = inferred.resolved["embed_dim"]
        return Ctor("SinusoidalPositions", (args.max_len, width), args.changed("base"))

    def execute(self, args: SinusoidalArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        return (x + run.state["pe"][: x.shape[1]].to(x.dtype),)


@register
class LearnedPositions(Op):
    name = "learned_positions"
    family = "position"
    summary = (
        "adds a learned table to (N, T, E): y = x + weight[:T], where `weight` (max_len, E) is "
        "an nn.Embedding's, so `learned_positions(1024) as wpe` names it `wpe.weight` (GPT-2) "
        "and `as position_embeddings` names it as BERT does"
    )
    Args = LearnedArgs
    positional = ("max_len",)
    rule = "(N, T, E) -> (N, T, E); T <= max_len"
    params_rule = "weight max_len·E"

    def infer(self, args: LearnedArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        width = sequence_width(x, self.name)
        _check_length(x.shape[1], args.max_len, self.name)
        return Inferred(
            outputs=(x,),
            params={"weight": (args.max_len, width)},
            resolved={"embed_dim": width},
        )

    def label(self, args: LearnedArgs, inferred: Inferred) -> str:
        return f"learned positions ≤{args.max_len}"

    def torch_module(self, args: LearnedArgs, inferred: Inferred) -> Ctor:
        # looked up the way GPT-2 looks up `wpe`, so the module is a plain nn.Embedding
        return Ctor(
            "nn.Embedding",
            (args.max_len, inferred.resolved["embed_dim"]),
            call="{0} + {m}(torch.arange({0}.size(1), device={0}.device))",
        )

    def execute(self, args: LearnedArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        return (x + run.state["weight"][: x.shape[1]],)


@register
class Rotary(Op):
    name = "rotary"
    aliases = ("rope",)
    family = "position"
    summary = (
        "rotary position embedding (Su et al.), rotate-half convention of GPT-NeoX and LLaMA: "
        "with D the last axis, freq_i = base^(-2i/D) for i < D/2, angle = t * freq, "
        "y = x * cos + rotate_half(x) * sin where rotate_half([x1, x2]) = [-x2, x1] over the two "
        "halves of the last axis and cos, sin repeat the D/2 angles twice; positions t run "
        "along axis -2 of (N, T, E) or (N, heads, T, head_dim); no parameters"
    )
    Args = RotaryArgs
    positional = ("base",)
    rule = "(N, T, E) or (N, heads, T, head_dim) -> same shape; D % 2 == 0, D the last axis"

    def infer(self, args: RotaryArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        width = sequence_width(x, self.name, ranks=(3, 4))
        check_rotary_width(width, "D")
        return Inferred(outputs=(x,), resolved={"head_dim": width})

    def label(self, args: RotaryArgs, inferred: Inferred) -> str:
        return "rotary"

    def torch_module(self, args: RotaryArgs, inferred: Inferred) -> Ctor:
        # archc's Rotary (archc/torch_helpers.py), copied into generated code
        return Ctor("Rotary", (), args.changed("base"))

    def execute(self, args: RotaryArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        return (rotate(run.torch, x, args.base),)
