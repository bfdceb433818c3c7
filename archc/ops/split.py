"""Ops that cut one tensor into several along an axis: split and chunk, family "shape".

Each piece is an output of its own, so `left, right = chunk(h, 2)` unpacks them; pieces follow
torch's rule (equal pieces, the last one holding the rest), and a cut that gives unequal pieces
or fewer pieces than asked for is reported before the network runs. Neither op has parameters
or counts MACs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from archc import dims
from archc.dims import Dim, Sym, TensorType
from archc.ops.registry import register
from archc.ops.schema import Args
from archc.ops.shape import Axis, axis_index, exact_quotient
from archc.ops.spec import (
    INVALID,
    MAX_COUNT,
    SYMBOLIC,
    UNEVEN,
    Execution,
    Finding,
    Inferred,
    Op,
    PositiveInt,
    Template,
    fail,
)


class SplitArgs(Args):
    # one section may be symbolic (`(4, T - 4)`): the rest of the axis when the module runs
    split_size_or_sections: PositiveInt | tuple[PositiveInt | Sym, ...]
    # dim=1 where torch defaults to 0: archc never cuts the batch
    dim: Axis = 1


class ChunkArgs(Args):
    chunks: PositiveInt
    dim: Axis = 1


def _fixed(size: Dim, op: str, x: TensorType) -> int:
    if not isinstance(size, int):
        raise fail(
            SYMBOLIC,
            f"{op} cannot tell how many pieces an axis of {size} in {x} gives",
            arg="dim",
            help="split a fixed-size axis, or chunk an axis whose size divides evenly",
            label=f"axis of size {size}",
        )
    return size


def _pieces(op: str, size: int, step: int) -> tuple[list[int], tuple[Finding, ...]]:
    """torch's cut of ``size`` into pieces of ``step``, the last one holding the rest."""
    _check_count(op, -(-size // step), "split_size_or_sections")
    pieces = [step] * (size // step) + ([size % step] if size % step else [])
    if len(set(pieces)) == 1:
        return pieces, ()
    uneven = Finding(
        UNEVEN,
        f"{op} of an axis of {size} gives unequal pieces: {tuple(pieces)}",
        rule="pieces of equal size, the last one holding the rest",
        with_=f"{size} = {' + '.join(map(str, pieces))}",
        severity="warning",
        label="the last piece is smaller",
    )
    return pieces, (uneven,)


def _check_count(op: str, count: int, arg: str) -> None:
    if count > MAX_COUNT:
        raise fail(
            INVALID,
            f"{op} would cut the axis into {count:,} pieces, more than {MAX_COUNT:,}",
            arg=arg,
            label="too many pieces",
            help="each piece is a tensor of its own; cut into fewer, larger pieces",
        )


def _cut(
    x: TensorType, index: int, pieces: Sequence[Dim], findings: tuple[Finding, ...] = ()
) -> Inferred:
    shapes = [(*x.shape[:index], p, *x.shape[index + 1 :]) for p in pieces]
    return Inferred(outputs=tuple(TensorType(s, x.dtype) for s in shapes), findings=findings)


def cut(x: Any, dim: int, sizes: Sequence[int]) -> tuple[Any, ...]:
    """``x`` cut along ``dim`` into consecutive pieces of ``sizes``."""
    starts = [sum(sizes[:k]) for k in range(len(sizes))]
    return tuple(x.narrow(dim, start, size) for start, size in zip(starts, sizes, strict=True))


def steps(size: int, step: int) -> list[int]:
    """Pieces of ``step`` positions, the last one holding the rest."""
    return [min(step, size - start) for start in range(0, size, step)]


@register
class Split(Op):
    name = "split"
    family = "shape"
    summary = (
        "cuts an axis into pieces of one size, or of the listed sizes: one output per piece; "
        "one listed size may depend on the symbols, the rest of the axis"
    )
    Args = SplitArgs
    positional = ("split_size_or_sections", "dim")
    rule = "d -> pieces of split_size, the last holding the rest; or sections summing to d"

    def infer(self, args: SplitArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        index = axis_index(args.dim, x, self.name)
        size = x.shape[index]
        sections = args.split_size_or_sections
        if isinstance(sections, int):
            pieces, findings = _pieces(self.name, _fixed(size, self.name, x), sections)
            return _cut(x, index, pieces, findings)
        symbolic = [k for k, section in enumerate(sections) if not isinstance(section, int)]
        if len(symbolic) > 1:
            raise fail(
                SYMBOLIC,
                f"split sections {sections} hold {len(symbolic)} sizes that depend on the "
                "symbols; the module can work out only one, as the rest of the axis",
                rule="at most one section is symbolic: the axis's size less the others",
                arg="split_size_or_sections",
                help="give every other section as a number",
                label="more than one section to work out",
            )
        verdict = dims.same(sum(sections), size)
        if not verdict:
            raise fail(
                INVALID if verdict is False else SYMBOLIC,
                f"split sections {sections} do not add up to axis {index} of {x}",
                rule="sum(sections) == size(dim)",
                with_=f"{' + '.join(map(str, sections))} = {sum(sections)}, but size = {size}",
                arg="split_size_or_sections",
                help=f"list sizes that add up to {size}",
                label=f"add up to {sum(sections)}, not {size}",
            )
        return _cut(x, index, sections)

    def label(self, args: SplitArgs, inferred: Inferred) -> str:
        return f"split {args.split_size_or_sections}"

    def torch_expr(self, args: SplitArgs, inferred: Inferred) -> Template:
        sections = args.split_size_or_sections
        if isinstance(sections, int) or all(isinstance(s, int) for s in sections):
            return Template(
                "torch.split({0}, {sections}, dim={dim})",
                (("sections", sections), ("dim", args.dim)),
            )
        # the symbolic section is what the numbered ones leave of the axis
        numbered = [k for k, section in enumerate(sections) if isinstance(section, int)]
        rest = " - ".join(["{0}.size({dim})", *(f"{{s{k}}}" for k in numbered)])
        parts = [f"{{s{k}}}" if k in numbered else rest for k in range(len(sections))]
        values = tuple((f"s{k}", sections[k]) for k in numbered)
        return Template(
            f"torch.split({{0}}, [{', '.join(parts)}], dim={{dim}})", (*values, ("dim", args.dim))
        )

    def execute(self, args: SplitArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        sections = args.split_size_or_sections
        if isinstance(sections, int):
            return cut(x, args.dim, steps(x.shape[args.dim], sections))
        numbered = sum(section for section in sections if isinstance(section, int))
        rest = x.shape[args.dim] - numbered  # the symbolic section, if any
        return cut(x, args.dim, [s if isinstance(s, int) else rest for s in sections])


@register
class Chunk(Op):
    name = "chunk"
    family = "shape"
    summary = "cuts an axis into a number of pieces of equal size: one output per piece"
    Args = ChunkArgs
    positional = ("chunks", "dim")
    rule = "d -> chunks pieces of ceil(d / chunks), the last one holding the rest"

    def infer(self, args: ChunkArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        index = axis_index(args.dim, x, self.name)
        size = x.shape[index]
        _check_count(self.name, args.chunks, "chunks")
        exact = exact_quotient(size, args.chunks)
        if exact is not None:
            return _cut(x, index, [exact] * args.chunks)
        fixed = _fixed(size, self.name, x)
        step = -(-fixed // args.chunks)
        pieces, findings = _pieces(self.name, fixed, step)
        if len(pieces) != args.chunks:
            # torch returns fewer pieces than asked for, which no unpacking expects
            raise fail(
                INVALID,
                f"chunk({args.chunks}) of an axis of {size} gives {len(pieces)} pieces, "
                f"not {args.chunks}",
                rule=self.rule,
                with_=f"ceil({size} / {args.chunks}) = {step}: {tuple(pieces)}",
                arg="chunks",
                help=f"use a number of chunks that divides {size}",
                label=f"gives {len(pieces)} pieces",
            )
        return _cut(x, index, pieces, findings)

    def label(self, args: ChunkArgs, inferred: Inferred) -> str:
        return f"chunk {args.chunks}"

    def torch_expr(self, args: ChunkArgs, inferred: Inferred) -> Template:
        values = (("chunks", args.chunks), ("dim", args.dim))
        return Template("torch.chunk({0}, {chunks}, dim={dim})", values)

    def execute(self, args: ChunkArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        size = x.shape[args.dim]
        return cut(x, args.dim, steps(size, -(-size // args.chunks)))
