"""Rows of a table picked by index: `table[index]`.

The table is shared by every sample (a batch axis of 1: a learned `parameter`, a `buffer`, or
what is computed from them), and its axis 1 is what the index picks from, as torch's
`table[index]` picks rows of an unbatched table. The index is an integer tensor, whose shape
the rows take (Swin's relative-position bias reads a table of (2w-1)² rows at w⁴ positions), or
a tuple of whole numbers written in the spec, each checked against the table's length. A lookup
multiplies nothing: 0 MACs, as `embedding`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archc.dims import TensorType
from archc.ops.embedding import INDEX_DTYPES
from archc.ops.registry import register
from archc.ops.schema import Args
from archc.ops.spec import (
    DTYPE,
    INVALID,
    RANK,
    Execution,
    Inferred,
    Op,
    Template,
    fail,
)

OUT_OF_RANGE = "A260"


class LookupArgs(Args):
    # the rows as written, where no index tensor is given: `lookup(table, positions=(0, 2))`
    positions: tuple[int, ...] | None = None


@register
class Lookup(Op):
    name = "lookup"
    family = "embedding"
    summary = (
        "the rows of a shared table (batch axis 1) that an integer index tensor names, "
        "`table[index]`: (1, V, *rest) and (N, *idx) give (N, *idx, *rest); or the rows a "
        "tuple of whole numbers names, `lookup(table, positions=(0, 2))`, each checked to lie "
        "in -V..V-1"
    )
    Args = LookupArgs
    inputs = ("table", "index")
    rule = "(1, V, *rest)[(N, *idx)] -> (N, *idx, *rest); positions: (1, len(positions), *rest)"

    def infer(self, args: LookupArgs, inputs: Sequence[TensorType]) -> Inferred:
        table = inputs[0]
        if table.rank < 2 or table.shape[0] != 1:
            raise fail(
                RANK,
                f"lookup reads a table shared by every sample, (1, rows, ...), got {table}",
                rule=self.rule,
                help="index a `parameter(..., exact=true)`, a `buffer`, or a value computed "
                "from them; to look up per-sample rows use `embedding`",
                label="not a shared table",
            )
        rows, rest = table.shape[1], tuple(table.shape[2:])
        if len(inputs) == 2:
            if args.positions is not None:
                raise fail(
                    INVALID,
                    "lookup takes an index tensor or positions, not both",
                    arg="positions",
                    help="leave out `positions`",
                    label="positions beside an index tensor",
                )
            index = inputs[1]
            if index.dtype not in INDEX_DTYPES:
                raise fail(
                    DTYPE,
                    f"lookup's index is whole numbers ({' or '.join(INDEX_DTYPES)}), got "
                    f"{index.dtype}",
                    help="index with an arange, or a buffer made from one",
                    label=f"a {index.dtype} index",
                )
            shape = (*index.shape, *rest)
            return Inferred(outputs=(TensorType(shape, table.dtype),))
        if args.positions is None:
            raise fail(
                INVALID,
                "lookup needs the rows to pick: an index tensor, or positions=(...)",
                help="write `table[index]`, or `lookup(table, positions=(0, 2))`",
                label="no rows named",
            )
        self._check_positions(args.positions, rows)
        shape = (1, len(args.positions), *rest)
        return Inferred(outputs=(TensorType(shape, table.dtype),))

    def _check_positions(self, positions: tuple[int, ...], rows: Any) -> None:
        if not isinstance(rows, int):
            return
        for position in positions:
            if not -rows <= position < rows:
                raise fail(
                    OUT_OF_RANGE,
                    f"lookup position {position} is out of range for a table of {rows} rows",
                    rule="-V <= position < V",
                    with_=f"V={rows}, position={position}",
                    arg="positions",
                    help=f"pick rows -{rows} to {rows - 1}",
                    label=f"only {rows} rows",
                )

    def label(self, args: LookupArgs, inferred: Inferred) -> str:
        return "lookup" if args.positions is None else f"lookup {list(args.positions)}"

    def torch_expr(self, args: LookupArgs, inferred: Inferred) -> Template:
        if args.positions is None:
            return Template("{0}[0][{1}]")
        written = ", ".join(str(position) for position in args.positions)
        return Template(f"{{0}}[:, [{written}]]")

    def execute(self, args: LookupArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        # index_select on the flattened index, written apart from the emitted `table[0][index]`
        table = run.inputs[0]
        rows = table.shape[1]
        if args.positions is None:
            index = run.inputs[1]
            picked = run.torch.index_select(table[0], 0, index.flatten())
            return (picked.reshape(*index.shape, *table.shape[2:]),)
        index = run.torch.tensor([position % rows for position in args.positions])
        return (run.torch.index_select(table, 1, index),)
