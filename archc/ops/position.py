"""Position information for sequences: fixed sinusoidal and learned tables, rotary embeddings.

All three act on positions along axis -2 and features along the last axis, so they apply to a
(N, T, E) sequence; rotary also applies per head to (N, heads, T, head_dim). Positions count
from 0. Adding a table costs additions only, so these ops count no MACs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from archc.dims import Dim, TensorType
from archc.ops.registry import register
from archc.ops.schema import Args, Field
from archc.ops.spec import (
    BROADCAST,
    DIVISIBILITY,
    DTYPE,
    INVALID,
    RANK,
    SYMBOLIC,
    Ctor,
    Execution,
    Inferred,
    NonNegativeInt,
    Op,
    PositiveFloat,
    PositiveInt,
    fail,
)

ROTATES_NOTHING = "A349"  # a rotary fraction that leaves no feature pair to rotate
# The share of each head's (or the input's) features rotary positions rotate.
Fraction = Annotated[float, Field(gt=0.0, le=1.0)]


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


def rotated_width(width: int, fraction: float, arg: str | None = None) -> int:
    """How many features of ``width`` rotary positions rotate: ``int(width * fraction)``, as
    Hugging Face's partial rotary factor counts them, which must be even and positive."""
    rotated = int(width * fraction)
    if rotated == 0:
        raise fail(
            ROTATES_NOTHING,
            f"rotary positions would rotate int({width} * {fraction}) = 0 features",
            rule="rotary_dim = int(D * fraction) >= 2",
            with_=f"int({width} * {fraction}) = 0",
            arg=arg,
            label="no pair of features",
            help=f"use a fraction of at least {2 / width:.4g}",
        )
    if rotated != width:
        check_rotary_width(rotated, "rotary_dim", arg=arg)
    return rotated


def rotate(
    torch: Any,
    x: Any,
    base: float,
    dim: int,
    interleaved: bool = False,
    offset: int = 0,
    positions: Any = None,
) -> Any:
    """Rotary positions on the first ``dim`` features of the last axis of ``x``, positions
    along axis -2 counted from ``offset``, or the (N, T) ids ``positions`` (see `Rotary`).
    Feature pair i is (i, i + dim/2), or (2i, 2i + 1) interleaved, and turns by position *
    base^(-2i/dim).

    The angles are computed in float32 whatever the input's type, as Hugging Face's models
    compute them, so that a float64 run gives a float32 run's rotation.
    """
    half = dim // 2
    steps = torch.arange(0, dim, 2, dtype=torch.int64).float()
    frequencies = 1.0 / base ** (steps / dim)
    if positions is None:
        angles = torch.outer(
            torch.arange(offset, offset + x.shape[-2], dtype=torch.float32), frequencies
        )
    else:  # one row of angles per sample, the same for every head
        angles = positions.float()[..., None] * frequencies
        angles = angles[:, None] if x.dim() == 4 else angles
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    pair = torch.arange(half)
    first, second = (2 * pair, 2 * pair + 1) if interleaved else (pair, pair + half)
    out = x.clone()
    out[..., first] = x[..., first] * cos - x[..., second] * sin
    out[..., second] = x[..., second] * cos + x[..., first] * sin
    return out


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


def _check_length(length: Dim, max_len: int, op: str, offset: int = 0) -> None:
    """A table of `max_len` rows covers sequences up to that length, less the rows before
    position 0 (`offset`); a symbol is not checked."""
    if not isinstance(length, int) or length + offset <= max_len:
        return
    if offset:
        raise fail(
            INVALID,
            f"{op} holds {max_len} rows, the first at row {offset}, but the sequence has "
            f"{length} positions",
            rule="T + offset <= max_len",
            with_=f"T + offset = {length} + {offset} = {length + offset} > max_len = {max_len}",
            arg="max_len",
            help=f"set max_len to at least {length + offset}",
        )
    raise fail(
        INVALID,
        f"{op} holds {max_len} positions, but the sequence has {length}",
        rule="T <= max_len",
        with_=f"T = {length} > max_len = {max_len}",
        arg="max_len",
        help=f"set max_len to at least {length}",
    )


def check_position_ids(positions: TensorType, x: TensorType, op: str) -> None:
    """Position ids given as a tensor: integers, one for each position of ``x`` along axis
    -2, (N, T, E) or (N, heads, T, head_dim)."""
    if positions.dtype not in ("int64", "int32"):
        raise fail(
            DTYPE,
            f"{op} reads positions as integer ids, but they are {positions.dtype}",
            rule="positions: int64 (N, T)",
            help="declare the position ids as integers: `in position_ids: int64[T]`",
            label=f"{positions.dtype} positions",
        )
    if positions.rank != 2 or positions.shape[1] != x.shape[-2]:
        raise fail(
            BROADCAST,
            f"{op} needs one position id for each of the {x.shape[-2]} positions of {x}, "
            f"but the ids are {positions}",
            rule="positions (N, T) for x (N, T, E) or (N, heads, T, head_dim)",
            with_=f"x {x}, positions {positions}",
            help="give ids of shape (N, T), one per token: `in position_ids: int64[T]`",
        )


class SinusoidalArgs(Args):
    max_len: PositiveInt = 5000
    base: PositiveFloat = 10000.0
    # "interleaved": sin and cos alternate, as in "Attention Is All You Need" and PyTorch's
    # tutorial; "halves": all sines, then all cosines, as fairseq and tensor2tensor lay it out
    layout: Literal["interleaved", "halves"] = "interleaved"


class LearnedArgs(Args):
    max_len: PositiveInt
    # the row of position 0: OPT keeps two rows before it
    offset: NonNegativeInt = 0
    frozen: bool = False  # requires_grad=False: loaded and saved, never trained


class RotaryArgs(Args):
    base: PositiveFloat = 10000.0
    fraction: Fraction = 1.0
    interleaved: bool = False
    offset: NonNegativeInt = 0


@register
class SinusoidalPositions(Op):
    name = "sinusoidal_positions"
    family = "position"
    summary = (
        "adds the fixed table of Vaswani et al. to (N, T, E): pe[t, 2i] = sin(t / base^(2i/E)), "
        "pe[t, 2i+1] = cos(t / base^(2i/E)), kept in a (max_len, E) buffer `pe`, never trained; "
        'y = x + pe[:T] (no scaling of x; no dropout). `layout="halves"` lays it out as '
        "fairseq and tensor2tensor do: pe[t, i] = sin(t / base^(i/(h-1))) and pe[t, h+i] = "
        "cos(t / base^(i/(h-1))) for i < h = E/2"
    )
    Args = SinusoidalArgs
    positional = ("max_len",)
    rule = "(N, T, E) -> (N, T, E); E % 2 == 0 (E >= 4 in halves); T <= max_len"
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
        if args.layout == "halves" and width < 4:
            raise fail(
                INVALID,
                f"{self.name} in halves divides by h - 1 = E/2 - 1, which is 0 for E = {width}",
                rule="E >= 4",
                with_=f"E = {width}",
                arg="layout",
                help='use a width of at least 4, or layout="interleaved"',
            )
        _check_length(x.shape[1], args.max_len, self.name)
        return Inferred(
            outputs=(x,),
            buffers={"pe": (args.max_len, width)},
            resolved={"embed_dim": width},
        )

    def label(self, args: SinusoidalArgs, inferred: Inferred) -> str:
        halves = ", halves" if args.layout == "halves" else ""
        return f"sinusoidal positions ≤{args.max_len}{halves}"

    def torch_module(self, args: SinusoidalArgs, inferred: Inferred) -> Ctor:
        # archc's SinusoidalPositions (archc/torch_helpers.py), copied into generated code
        width = inferred.resolved["embed_dim"]
        return Ctor(
            "SinusoidalPositions",
            (args.max_len, width),
            args.changed("base", "layout"),
            cached_call="{m}({0}, offset=cached_length(cache))",
        )

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
        "and `as position_embeddings` names it as BERT does; given `positions`, integer ids "
        "(N, T) such as a network's `position_ids` input, y = x + weight[positions]; "
        "`offset` is the row of position 0, y = x + weight[offset + t], as OPT keeps two rows "
        "before its positions; frozen=true keeps the table out of training "
        "(requires_grad=False), as Whisper's encoder holds its sinusoids (`init ...: "
        "sinusoidal` fills it)"
    )
    Args = LearnedArgs
    positional = ("max_len",)
    inputs = ("x", "positions")
    rule = (
        "(N, T, E) -> (N, T, E); T + offset <= max_len; positions (N, T) integer, each < "
        "max_len - offset"
    )
    params_rule = "weight max_len·E"

    def infer(self, args: LearnedArgs, inputs: Sequence[TensorType]) -> Inferred:
        x = inputs[0]
        width = sequence_width(x, self.name)
        if args.offset >= args.max_len:
            raise fail(
                INVALID,
                f"{self.name} holds {args.max_len} rows, so no position is left after "
                f"offset={args.offset}",
                rule="offset < max_len",
                with_=f"offset = {args.offset}, max_len = {args.max_len}",
                arg="offset",
                help=f"set max_len above {args.offset}: the table's rows for the positions "
                "come after the offset",
            )
        if len(inputs) > 1:
            check_position_ids(inputs[1], x, self.name)
        else:
            _check_length(x.shape[1], args.max_len, self.name, args.offset)
        return Inferred(
            outputs=(x,),
            params={"weight": (args.max_len, width)},
            resolved={
                "embed_dim": width,
                "position_ids": len(inputs) > 1,
                **({"frozen": ("weight",)} if args.frozen else {}),
            },
        )

    def label(self, args: LearnedArgs, inferred: Inferred) -> str:
        start = f", from row {args.offset}" if args.offset else ""
        return f"learned positions ≤{args.max_len}{start}"

    def torch_module(self, args: LearnedArgs, inferred: Inferred) -> Ctor:
        # looked up the way GPT-2 looks up `wpe`, so the module is a plain nn.Embedding; an
        # offset is added to the positions in forward, as OPT adds its own (a value no
        # constructor argument carries, so -D changes it: faithful.py)
        table = (args.max_len, inferred.resolved["embed_dim"])
        shift = f" + {args.offset}" if args.offset else ""
        frozen = (("_freeze", True),) if args.frozen else ()
        if inferred.resolved["position_ids"]:  # ids given are the positions whatever is cached
            return Ctor("nn.Embedding", table, kwargs=frozen, call=f"{{0}} + {{m}}({{1}}{shift})")
        steps = "torch.arange({0}.size(1), device={0}.device)"
        return Ctor(
            "nn.Embedding",
            table,
            # torch's own switch for a table built without requires_grad
            kwargs=frozen,
            call=f"{{0}} + {{m}}({steps}{shift})",
            cached_call=f"{{0}} + {{m}}(cached_length(cache) + {steps}{shift})",
        )

    def execute(self, args: LearnedArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        x, *positions = run.inputs
        table = run.state["weight"][args.offset :]
        if positions:
            return (x + table[positions[0]],)
        return (x + table[: x.shape[1]],)


@register
class Rotary(Op):
    name = "rotary"
    aliases = ("rope",)
    family = "position"
    summary = (
        "rotary position embedding (Su et al.): with D the last axis and R = int(D * fraction) "
        "its rotated features, feature pair i < R/2 turns by the angle t * base^(-2i/R) at "
        "position t = offset, offset + 1, ... along axis -2; the pairs are (i, i + R/2), the "
        "rotate-half convention of GPT-NeoX and LLaMA, or (2i, 2i + 1) with `interleaved` "
        "(GPT-J); features from R on pass unchanged (partial rotary, GPT-NeoX's rotary_pct, "
        "Phi's partial_rotary_factor); acts on (N, T, E) or (N, heads, T, head_dim); angles in "
        "float32, as Hugging Face computes them; no parameters"
    )
    Args = RotaryArgs
    positional = ("base",)
    inputs = ("x", "positions")
    rule = (
        "(N, T, E) or (N, heads, T, head_dim) -> same shape; R = int(D * fraction), R % 2 == 0, "
        "R > 0, D the last axis; positions, if given, integer ids (N, T) in place of offset, "
        "offset + 1, ..."
    )

    def infer(self, args: RotaryArgs, inputs: Sequence[TensorType]) -> Inferred:
        x = inputs[0]
        width = sequence_width(x, self.name, ranks=(3, 4))
        if args.fraction == 1.0:
            check_rotary_width(width, "D")
        rotated = rotated_width(width, args.fraction, arg="fraction")
        if len(inputs) > 1:
            check_position_ids(inputs[1], x, self.name)
            if args.offset:
                raise fail(
                    INVALID,
                    f"{self.name} is given position ids, so offset={args.offset} counts nothing",
                    rule="offset only numbers positions that are not given",
                    arg="offset",
                    help="leave offset out, or add it to the ids",
                )
        return Inferred(outputs=(x,), resolved={"head_dim": width, "rotary_dim": rotated})

    def label(self, args: RotaryArgs, inferred: Inferred) -> str:
        resolved = inferred.resolved
        parts = ["rotary"]
        if resolved["rotary_dim"] != resolved["head_dim"]:
            parts.append(f"{resolved['rotary_dim']} of {resolved['head_dim']}")
        return " ".join(parts) + (", interleaved" if args.interleaved else "")

    def torch_module(self, args: RotaryArgs, inferred: Inferred) -> Ctor:
        # archc's Rotary (archc/torch_helpers.py), copied into generated code
        # the share rotated, not the count, so that the class follows the width it is given
        return Ctor("Rotary", (), args.changed("base", "fraction", "interleaved", "offset"))

    def execute(self, args: RotaryArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        x, *positions = run.inputs
        dim = inferred.resolved["rotary_dim"]
        turned = rotate(run.torch, x, args.base, dim, args.interleaved, args.offset, *positions)
        return (turned,)
