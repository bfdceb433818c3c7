"""Embedding: a lookup table from integer ids to learned vectors, and a learned tensor that
every sample shares (a class token, a table of positions).

A lookup multiplies nothing, so these cost 0 MACs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from archc.dims import TensorType
from archc.ops.registry import register
from archc.ops.schema import Args, Field, checks
from archc.ops.shape import Sizes
from archc.ops.spec import (
    DTYPE,
    HELD,
    INVALID,
    Ctor,
    Execution,
    Inferred,
    Op,
    PositiveFloat,
    PositiveInt,
    fail,
)

# the index types torch's embedding lookup accepts
INDEX_DTYPES = ("int64", "int32")


class EmbeddingArgs(Args):
    num_embeddings: PositiveInt
    embedding_dim: PositiveInt
    # negative counts from the end, as in torch: -1 is the last row
    padding_idx: int | None = None
    max_norm: PositiveFloat | None = None
    norm_type: PositiveFloat = 2.0
    scale_grad_by_freq: bool = False
    sparse: bool = False


@register
class Embedding(Op):
    name = "embedding"
    family = "embedding"
    positionwise = True
    summary = "looks up a learned vector for each integer id: (N, *) -> (N, *, embedding_dim)"
    Args = EmbeddingArgs
    positional = ("num_embeddings", "embedding_dim", "padding_idx", "max_norm")
    torch_positional = positional
    rule = "(N, *) int64 -> (N, *, embedding_dim); weight (num_embeddings, embedding_dim)"
    params_rule = "weight num_embeddings·embedding_dim"

    def infer(self, args: EmbeddingArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        if x.dtype not in INDEX_DTYPES:
            raise fail(
                DTYPE,
                f"embedding looks up integer ids, but its input {x} holds {x.dtype}",
                rule="input dtype = int64",
                help="declare the input as integer ids, e.g. `in tokens: int64[T]`",
                label=f"{x.dtype} input",
            )
        count = args.num_embeddings
        if args.padding_idx is not None and not -count <= args.padding_idx < count:
            raise fail(
                INVALID,
                f"embedding padding_idx={args.padding_idx} is not a row of the {count}-row table",
                rule="-num_embeddings <= padding_idx < num_embeddings",
                with_=f"padding_idx={args.padding_idx}, num_embeddings={count}",
                help=f"use a padding_idx from {-count} to {count - 1}",
                arg="padding_idx",
            )
        resolved: dict[str, Any] = {}
        if args.padding_idx is not None:
            # torch zeroes the padding row after drawing the others, and an `init` rule that
            # draws them again must too: by tensor, the module's attribute naming the row, the row
            resolved["zero_rows"] = {"weight": ("padding_idx", args.padding_idx % count)}
        return Inferred(
            outputs=(TensorType((*x.shape, args.embedding_dim)),),
            params={"weight": (count, args.embedding_dim)},
            resolved=resolved,
        )

    def label(self, args: EmbeddingArgs, inferred: Inferred) -> str:
        return f"embedding {args.num_embeddings}×{args.embedding_dim}"

    def torch_module(self, args: EmbeddingArgs, inferred: Inferred) -> Ctor:
        optional = ("padding_idx", "max_norm", "norm_type", "scale_grad_by_freq", "sparse")
        return Ctor(
            "nn.Embedding",
            (args.num_embeddings, args.embedding_dim),
            args.changed(*optional),
        )

    def execute(self, args: EmbeddingArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (ids,) = run.inputs
        rows = run.state["weight"][ids]
        if args.max_norm is None:
            return (rows,)
        # rows longer than max_norm are looked up scaled down to it (torch renormalises them
        # in the table itself, in place; the values looked up are the same)
        norms = run.torch.linalg.vector_norm(rows, ord=args.norm_type, dim=-1, keepdim=True)
        scale = run.torch.where(norms > args.max_norm, args.max_norm / (norms + 1e-7), 1.0)
        return (rows * scale,)


class ParameterArgs(Args):
    finite = True  # a learned tensor starts at numbers it can learn from
    shape: Sizes
    std: Annotated[float, Field(ge=0.0)] = 0.0  # 0: zeros; else normal(0, std)
    fill: float | None = None  # every element this value, as ConvNeXt's layer scale starts
    # stored with exactly the shape written, and seen in the network with a batch axis of 1
    # that broadcasts, as Swin V2 holds `logit_scale` (heads, 1, 1)
    exact: bool = False
    frozen: bool = False  # requires_grad=False: loaded and saved, never trained

    @checks("shape")
    def _positive(shape: tuple[int, ...]) -> tuple[int, ...]:
        if not shape or any(size < 1 for size in shape):
            raise ValueError("a learned tensor's shape is one or more sizes of at least 1")
        return shape

    @checks()
    def _one_start(self) -> None:
        if self.fill is not None and self.std > 0.0:
            raise ValueError(
                f"a learned tensor starts filled (fill={self.fill}) or drawn "
                f"(std={self.std}), not both"
            )


@register
class Parameter(Op):
    name = "parameter"
    family = "embedding"
    summary = (
        "a learned tensor of the given shape, the same for every sample: the output is "
        "(N, *shape), the tensor expanded over the batch of its input, whose values it ignores. "
        "The module holds it directly as an nn.Parameter (1, *shape) under the layer's name, as "
        "ViT holds `class_token` and `pos_embedding`; zeros, or normal(0, std) with std > 0, "
        "or every element `fill` (ConvNeXt's layer scale), or as an `init` rule says. With "
        "exact=true it is held with exactly the shape written and the output is (1, *shape), "
        "which broadcasts over the batch; frozen=true keeps it out of training "
        "(requires_grad=False)"
    )
    Args = ParameterArgs
    positional = ("shape",)
    varargs = True
    rule = "(N, ...) -> (N, *shape); exact=true: (N, ...) -> (1, *shape)"
    params_rule = "the tensor itself 1·∏shape (exact=true: ∏shape)"

    def infer(self, args: ParameterArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        batch, held = (1, args.shape) if args.exact else (x.shape[0], (1, *args.shape))
        return Inferred(
            outputs=(TensorType((batch, *args.shape)),),
            params={HELD: held},
            resolved={"frozen": (HELD,)} if args.frozen else {},
        )

    def label(self, args: ParameterArgs, inferred: Inferred) -> str:
        frozen = " (frozen)" if args.frozen else ""
        return "parameter " + "×".join(str(size) for size in args.shape) + frozen

    def torch_module(self, args: ParameterArgs, inferred: Inferred) -> Ctor:
        keep = ", ".join(["-1"] * len(args.shape))
        return Ctor(
            "nn.Parameter",
            args.shape if args.exact else (1, *args.shape),
            args.changed("std", "fill", "frozen"),
            call="{m}.unsqueeze(0)" if args.exact else f"{{m}}.expand({{0}}.shape[0], {keep})",
            held=True,
        )

    def execute(self, args: ParameterArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        if args.exact:
            return (run.state[HELD].unsqueeze(0),)
        return (run.state[HELD].expand(x.shape[0], *args.shape),)
