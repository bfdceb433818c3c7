"""Shape ops: flatten, unflatten, reshape (view), permute, transpose, squeeze, unsqueeze, expand.

They regroup elements without computing anything: no parameters, 0 MACs. Axis arguments count the
batch as axis 0, exactly like torch's `dim`, and may be negative; `axis=` is accepted as another
spelling of `dim=`. The batch size is not part of a spec, so an axis argument that names the batch
axis is refused (A309) instead of silently moving, merging or splitting it. The helpers for axes
and exact division here serve every op that takes an axis.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, ClassVar

from archc import dims
from archc.dims import Dim, Shape, Sym, TensorType
from archc.ops.registry import register
from archc.ops.schema import Args, Before, Field, checks
from archc.ops.spec import (
    INVALID,
    RANK,
    SYMBOLIC,
    Ctor,
    Execution,
    Finding,
    Inferred,
    NoArgs,
    Op,
    Template,
    fail,
)

_OR_AXIS = Field(aliases=("axis",))
Axis = Annotated[int, _OR_AXIS]
Axes = Annotated[int | Annotated[tuple[int, ...], Field(min_length=1)], _OR_AXIS]


def _as_tuple(value: Any) -> Any:
    """A lone size stands for a 1-tuple, as in torch's `x.reshape(-1)`."""
    lone = isinstance(value, int | Sym) and not isinstance(value, bool)
    return (value,) if lone else value


Sizes = Annotated[tuple[int, ...], Before(_as_tuple)]
# sizes that may be an input's symbolic size (`reshape(x.shape[1], heads, -1)` on (N, T, E))
SymbolicSizes = Annotated[tuple[int | Sym, ...], Before(_as_tuple)]


def normalize(dim: int, x: TensorType, op: str, arg: str = "dim", extra: int = 0) -> int:
    """``dim`` as an index into a shape of ``x.rank + extra`` axes, checked to exist."""
    rank = x.rank + extra
    if not -rank <= dim < rank:
        hint = f"axes count the batch as 0: use 1 to {rank - 1}, or -{rank - 1} to -1"
        raise fail(
            RANK,
            f"{op} {arg}={dim} is out of range for the {x.rank}-d input {x}",
            rule=f"-{rank} <= {arg} < {rank} (axis 0 is the batch)",
            arg=arg,
            help=hint if rank > 1 else f"{x} has no axis besides the batch",
            label=f"no axis {dim} in a {rank}-d tensor",
        )
    return dim % rank


def axis_index(dim: int, x: TensorType, op: str, arg: str = "dim", extra: int = 0) -> int:
    """Like :func:`normalize`, and refuses the batch axis."""
    index = normalize(dim, x, op, arg, extra)
    if index == 0:
        raise fail(
            INVALID,
            f"{op} {arg}={dim} names the batch axis of {x}",
            rule="axis arguments name axes 1 and up; axis 0 is the batch",
            arg=arg,
            help="archc keeps the batch axis: the batch size is not part of a spec",
            label="the batch axis",
        )
    return index


def exact_quotient(total: Dim, divisor: Dim) -> Dim | None:
    """``total / divisor`` when it is provably a whole number, else None."""
    if isinstance(total, int):
        if not isinstance(divisor, int):
            return None
        return total // divisor if total % divisor == 0 else None
    quotient = total / divisor
    if isinstance(quotient, int) or quotient.expr.is_integer:
        return quotient
    return None


def count(sizes: Sequence[Dim]) -> str:
    """`64*7*7 = 3136`: a product with its value, or just the value when it is one factor."""
    factors = "*".join(str(d) for d in sizes) or "1"
    total = str(dims.product(list(sizes)))
    return factors if factors == total else f"{factors} = {total}"


def _fill(
    target: tuple[Dim, ...], sizes: Sequence[Dim], op: str, arg: str, source: str
) -> tuple[Shape, tuple[Finding, ...]]:
    """``target`` with its -1 worked out, so that it holds exactly the elements of ``sizes``.
    Where that depends on the remainder of one symbol (`(-1, 16)` of `8*T` elements, for even
    T), the -1 is the whole rows and the finding says which sizes must agree: elaboration
    makes it a rule on the input sizes (archc/semantics/sizes.py), as it does for joins."""
    total = dims.product(list(sizes))
    known = dims.product([t for t in target if not _is_rest(t)])
    shown = "*".join(str(t) for t in target if not _is_rest(t)) or "1"
    if any(_is_rest(t) for t in target):
        rest = exact_quotient(total, known)
        fits = None if rest is None and dims.is_symbolic(total) else rest is not None
        with_ = f"{count(sizes)}, not divisible by {shown} = {known}"
        hint = f"choose sizes whose product divides {total}"
        label = f"{total} is not a multiple of {known}"
        undecided = f"keep the symbolic axes out of the {op}, or make them multiples of {known}"
    else:
        rest, fits = None, _same_count(known, total)
        with_ = f"{count(target)}, but {source} has {count(sizes)}"
        hint = f"the sizes must multiply to {total}; write -1 for one of them to have it computed"
        label = f"{known} elements, not {total}"
        undecided = "write -1 for the size that depends on the symbols"
    if fits is None and any(_is_rest(t) for t in target):
        rows = total // known
        if dims.agreement(total, known * rows) is not None:
            shape = tuple(rows if _is_rest(t) else t for t in target)
            return shape, (_uneven_rows(op, target, sizes, source, known, arg),)
    if fits is None:
        raise fail(
            SYMBOLIC,
            f"{op} cannot decide whether {target} fits the {count(sizes)} elements of {source}",
            arg=arg,
            help=undecided,
            label="depends on the input size",
        )
    if not fits:
        raise fail(
            INVALID,
            f"{op} to {target} does not fit the {total} elements of {source}",
            rule="product of the new sizes = product of the old; one -1 takes the rest",
            with_=with_,
            arg=arg,
            help=hint,
            label=label,
        )
    return tuple(rest if _is_rest(t) and rest is not None else t for t in target), ()


def _uneven_rows(
    op: str, target: tuple[Dim, ...], sizes: Sequence[Dim], source: str, known: Dim, arg: str
) -> Finding:
    total = dims.product(list(sizes))
    return Finding(
        SYMBOLIC,
        f"{op} to {target} needs the {total} elements of {source} to be a multiple of {known}",
        with_=f"{count(sizes)} elements, in rows of {known}",
        arg=arg,
        severity="warning",
        label=f"{total} must be a multiple of {known}",
        help=f"choose sizes whose product divides {total} for every input size",
        equal=(total, known * (total // known)),
        claim=f"the {total} elements of {source} fill rows of {known}",
    )


def _same_count(known: Dim, total: Dim) -> bool | None:
    """Whether two element counts are equal; sizes are positive, so counts whose ratio is a
    number other than 1 (`256*T` and `512*T`) differ for every value of the symbols."""
    verdict = dims.same(known, total)
    if verdict is None and dims.is_symbolic(known) and dims.is_symbolic(total):
        ratio = known / total
        constant = ratio.expr.is_number if isinstance(ratio, Sym) else True
        if constant:
            return bool(ratio == 1)
    return verdict


def _is_rest(size: Dim) -> bool:
    """Whether a written size is the -1 that takes the remaining elements."""
    return isinstance(size, int) and size == -1


def _check_target(sizes: tuple[Dim, ...]) -> tuple[Dim, ...]:
    if not sizes:
        raise ValueError("give at least one size")
    if any(isinstance(s, int) and (s < -1 or s == 0) for s in sizes):
        raise ValueError("sizes are positive, or -1 for the one to compute")
    if sizes.count(-1) > 1:
        raise ValueError("only one size can be -1")
    return sizes


class ReshapeArgs(Args):
    shape: SymbolicSizes

    _target = checks("shape")(_check_target)


class UnflattenArgs(Args):
    dim: Axis
    sizes: SymbolicSizes

    _target = checks("sizes")(_check_target)


class FlattenArgs(Args):
    start_dim: int = 1
    end_dim: int = -1


class PermuteArgs(Args):
    dims: Sizes


class TransposeArgs(Args):
    dim0: int
    dim1: int


class AxisArgs(Args):
    dim: Axis


class _Shape(Op):
    family = "shape"
    # the forward expression, formatted with the arguments; None where a module is emitted
    call: ClassVar[str | None] = None

    def output(self, args: Any, x: TensorType) -> Shape:
        raise NotImplementedError

    def infer(self, args: Any, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        return Inferred(outputs=(TensorType(self.output(args, x), x.dtype),))

    def label(self, args: Any, inferred: Inferred) -> str:
        shown = ", ".join(str(value) for _, value in args.changed(*type(args).fields))
        return f"{self.name} {shown}".strip()

    def torch_expr(self, args: Any, inferred: Inferred) -> Template | None:
        if self.call is None:
            return None
        return Template(
            self.call, tuple((name, getattr(args, name)) for name in type(args).fields)
        )


@register
class Flatten(_Shape):
    name = "flatten"
    summary = "merges the axes start_dim..end_dim into one (default: everything after the batch)"
    Args = FlattenArgs
    positional = ("start_dim", "end_dim")
    rule = "(N, ..., d_s, ..., d_e, ...) -> (N, ..., d_s*...*d_e, ...)"

    def output(self, args: FlattenArgs, x: TensorType) -> Shape:
        start = axis_index(args.start_dim, x, self.name, "start_dim")
        end = normalize(args.end_dim, x, self.name, "end_dim")
        if end < start:
            raise fail(
                INVALID,
                f"flatten end_dim={args.end_dim} comes before start_dim={args.start_dim} on {x}",
                arg="end_dim",
                help="end_dim names the last axis to merge; it must not precede start_dim",
                label=f"before start_dim={args.start_dim}",
            )
        merged = dims.product(list(x.shape[start : end + 1]))
        return (*x.shape[:start], merged, *x.shape[end + 1 :])

    def torch_module(self, args: FlattenArgs, inferred: Inferred) -> Ctor:
        return Ctor("nn.Flatten", (), args.changed("start_dim", "end_dim"))

    def execute(self, args: FlattenArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        return (x.flatten(args.start_dim, args.end_dim),)


@register
class Unflatten(_Shape):
    name = "unflatten"
    summary = (
        "splits one axis into several: (N, 64) -> (N, 4, 4, 4); one size may be -1 or depend "
        "on the symbols, the rest of the axis"
    )
    Args = UnflattenArgs
    positional = ("dim", "sizes")
    varargs = True
    rule = "(N, ..., d, ...) -> (N, ..., s1, ..., sk, ...) with s1*...*sk = d"

    def infer(self, args: UnflattenArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        index = axis_index(args.dim, x, self.name)
        size = x.shape[index]
        symbolic = [s for s in args.sizes if not isinstance(s, int)]
        if symbolic and (len(symbolic) > 1 or -1 in args.sizes):
            raise fail(
                SYMBOLIC,
                f"unflatten to {args.sizes} has {len(symbolic) + (-1 in args.sizes)} sizes "
                "that depend on the symbols; the module can work out only one",
                rule="at most one size is symbolic or -1: torch computes it as the rest",
                arg="sizes",
                help="give every other size as a number",
                label="more than one size to work out",
            )
        filled, findings = _fill(args.sizes, (size,), self.name, "sizes", f"axis {index} of {x}")
        shape = (*x.shape[:index], *filled, *x.shape[index + 1 :])
        return Inferred(outputs=(TensorType(shape, x.dtype),), findings=findings)

    def torch_module(self, args: UnflattenArgs, inferred: Inferred) -> Ctor:
        return Ctor("nn.Unflatten", (args.dim, _runtime_sizes(args.sizes)))

    def execute(self, args: UnflattenArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        index = args.dim % x.dim()
        sizes = _runtime_sizes(args.sizes)
        return (x.reshape(*x.shape[:index], *sizes, *x.shape[index + 1 :]),)


def _runtime_sizes(sizes: tuple[Dim, ...]) -> tuple[int, ...]:
    """Sizes as the module is given them: a symbolic one, which the check proved to be the
    rest of the axis, is -1."""
    return tuple(s if isinstance(s, int) else -1 for s in sizes)


@register
class Reshape(_Shape):
    name = "reshape"
    aliases = ("view",)
    summary = (
        "gives each sample a new shape with the same elements; one size may be -1, and a "
        "size may be one of the input's symbolic sizes (`x.shape[1]`), read when it runs"
    )
    Args = ReshapeArgs
    positional = ("shape",)
    varargs = True
    rule = "(N, *in) -> (N, *shape), product(shape) = product(in); one -1 takes the rest"

    def infer(self, args: ReshapeArgs, inputs: Sequence[TensorType]) -> Inferred:
        (x,) = inputs
        filled, findings = _fill(
            args.shape, x.shape[1:], self.name, "shape", f"each sample of {x}"
        )
        if all(isinstance(d, int) for d in args.shape):
            return Inferred(
                outputs=(TensorType((x.shape[0], *filled), x.dtype),), findings=findings
            )
        return Inferred(
            outputs=(TensorType((x.shape[0], *filled), x.dtype),),
            resolved={"sources": _sources(args.shape, x)},
            findings=findings,
        )

    def label(self, args: ReshapeArgs, inferred: Inferred) -> str:
        return f"reshape {dims.show_shape(inferred.outputs[0].shape[1:])}"

    def torch_expr(self, args: ReshapeArgs, inferred: Inferred) -> Template:
        sizes = inferred.outputs[0].shape[1:]
        if "sources" in inferred.resolved:
            # a size the spec read from the input is read from it when the module runs
            sources = inferred.resolved["sources"]
            parts = [
                f"{{0}}.shape[{axis}]" if axis else f"{{size{k}}}" if written != -1 else "-1"
                for k, (written, axis) in enumerate(zip(args.shape, sources, strict=True))
            ]
            values = tuple(
                (f"size{k}", written)
                for k, (written, axis) in enumerate(zip(args.shape, sources, strict=True))
                if not axis and written != -1
            )
            return Template(f"torch.reshape({{0}}, ({{0}}.shape[0], {', '.join(parts)}))", values)
        if all(isinstance(d, int) for d in sizes):
            return Template("torch.reshape({0}, {shape})", (("shape", (-1, *sizes)),))
        # a size that depends on the symbols is left to torch as -1, so the batch needs a
        # different anchor: flatten the sample, then split it
        return Template("torch.flatten({0}, 1).unflatten(1, {shape})", (("shape", args.shape),))

    def execute(self, args: ReshapeArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        sources = inferred.resolved.get("sources", (0,) * len(args.shape))
        sizes = [
            x.shape[axis] if axis else written
            for written, axis in zip(args.shape, sources, strict=True)
        ]
        return (x.reshape(x.shape[0], *sizes),)


def _sources(shape: tuple[Dim, ...], x: TensorType) -> tuple[int, ...]:
    """For each written size of a reshape, the axis of ``x`` a symbolic one was read from (0
    for a number): generated code reads that axis when it runs."""
    free = list(range(1, x.rank))
    sources = []
    for size in shape:
        axis = 0
        if not isinstance(size, int):
            axis = next((i for i in free if dims.same(x.shape[i], size)), 0)
            if not axis:
                raise fail(
                    SYMBOLIC,
                    f"reshape to the size {size}, which no axis of {x} has",
                    rule="a symbolic size in shape is one of the input's axes",
                    arg="shape",
                    help="write -1 for the size that depends on the symbols",
                    label=f"{size} is not an axis of the input",
                )
            free.remove(axis)
        sources.append(axis)
    return tuple(sources)


@register
class Permute(_Shape):
    call = "torch.permute({0}, {dims})"
    name = "permute"
    summary = "reorders the axes; dims lists every axis, and the batch axis 0 stays first"
    Args = PermuteArgs
    positional = ("dims",)
    varargs = True
    rule = "(N, d1, ..., dk) -> (N, d_p1, ..., d_pk) for dims = (0, p1, ..., pk)"

    def output(self, args: PermuteArgs, x: TensorType) -> Shape:
        if len(args.dims) != x.rank:
            raise fail(
                RANK,
                f"permute got {len(args.dims)} dims for the {x.rank}-d input {x}",
                rule="dims names every axis once, the batch axis 0 included",
                arg="dims",
                help=f"list all {x.rank} axes, starting with 0",
                label=f"{len(args.dims)} axes for a {x.rank}-d input",
            )
        order = [normalize(d, x, self.name, "dims") for d in args.dims]
        if sorted(order) != list(range(x.rank)):
            raise fail(
                INVALID,
                f"permute dims={args.dims} is not a permutation of the axes of {x}",
                arg="dims",
                help="name every axis exactly once",
                label="not a permutation",
            )
        if order[0] != 0:
            raise fail(
                INVALID,
                f"permute dims={args.dims} moves the batch axis of {x}",
                rule="dims[0] == 0",
                arg="dims",
                help="archc keeps the batch axis first: start dims with 0",
                label="the batch axis moves",
            )
        return tuple(x.shape[i] for i in order)

    def execute(self, args: PermuteArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        return (x.permute(*args.dims),)


@register
class Transpose(_Shape):
    call = "torch.transpose({0}, {dim0}, {dim1})"
    name = "transpose"
    summary = "swaps two axes"
    Args = TransposeArgs
    positional = ("dim0", "dim1")
    rule = "(N, ..., a, ..., b, ...) -> (N, ..., b, ..., a, ...)"

    def output(self, args: TransposeArgs, x: TensorType) -> Shape:
        first = axis_index(args.dim0, x, self.name, "dim0")
        second = axis_index(args.dim1, x, self.name, "dim1")
        shape = list(x.shape)
        shape[first], shape[second] = shape[second], shape[first]
        return tuple(shape)

    def execute(self, args: TransposeArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        return (x.transpose(args.dim0, args.dim1),)


@register
class Squeeze(_Shape):
    call = "torch.squeeze({0}, {dim})"
    name = "squeeze"
    summary = "removes an axis of size 1"
    Args = AxisArgs
    positional = ("dim",)
    rule = "(N, ..., 1, ...) -> (N, ..., ...)"

    def output(self, args: AxisArgs, x: TensorType) -> Shape:
        index = axis_index(args.dim, x, self.name)
        size = x.shape[index]
        verdict = dims.same(size, 1)
        if not verdict:
            # torch leaves an axis of another size in place without a word
            raise fail(
                INVALID if verdict is False else SYMBOLIC,
                f"squeeze dim={args.dim} needs an axis of size 1, but axis {index} of {x} "
                f"has {size}",
                rule="size(dim) == 1",
                with_=f"size({args.dim}) = {size}",
                arg="dim",
                help="pick the axis of size 1, or reduce this one with mean or sum",
                label=f"axis {index} has size {size}",
            )
        return x.shape[:index] + x.shape[index + 1 :]

    def execute(self, args: AxisArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        return (x.squeeze(args.dim),)


class SelectArgs(Args):
    dim: Axis
    index: int


@register
class Select(_Shape):
    call = "torch.select({0}, {dim}, {index})"
    name = "select"
    summary = (
        "picks one position along an axis and drops the axis, as `x[:, 0]` does: ViT's "
        "classifier reads the class token this way; a negative index counts from the end"
    )
    Args = SelectArgs
    positional = ("dim", "index")
    rule = "(N, ..., d, ...) -> (N, ..., ...); -d <= index < d"

    def output(self, args: SelectArgs, x: TensorType) -> Shape:
        index = axis_index(args.dim, x, self.name)
        size = x.shape[index]
        if isinstance(size, int) and not -size <= args.index < size:
            raise fail(
                INVALID,
                f"select index={args.index} is outside axis {index} of {x}, which has {size} "
                "positions",
                rule="-size(dim) <= index < size(dim)",
                with_=f"size({args.dim}) = {size}, index = {args.index}",
                arg="index",
                help=f"pick an index from {-size} to {size - 1}",
                label=f"no position {args.index}",
            )
        return x.shape[:index] + x.shape[index + 1 :]

    def execute(self, args: SelectArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        return (x.select(args.dim, args.index),)


@register
class Unsqueeze(_Shape):
    call = "torch.unsqueeze({0}, {dim})"
    name = "unsqueeze"
    summary = "inserts an axis of size 1 at position dim of the result"
    Args = AxisArgs
    positional = ("dim",)
    rule = "(N, ...) -> (N, ..., 1, ...), the new axis at position dim"

    def output(self, args: AxisArgs, x: TensorType) -> Shape:
        index = axis_index(args.dim, x, self.name, extra=1)
        return (*x.shape[:index], 1, *x.shape[index:])

    def execute(self, args: AxisArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        return (x.unsqueeze(args.dim),)


@register
class Expand(Op):
    name = "expand"
    family = "shape"
    summary = (
        "x, whose batch axis is 1 (a learned tensor held exactly, a constant), repeated over "
        "the batch of `like` without copying, as `x.expand(like.shape[0], -1, ...)`: CLIP's "
        "class embedding, held as (E,), in front of each image's patches"
    )
    inputs = ("x", "like")
    min_inputs = 2
    rule = "(1, *shape) and (N, ...) -> (N, *shape)"

    def infer(self, args: NoArgs, inputs: Sequence[TensorType]) -> Inferred:
        x, like = inputs
        if x.shape[0] != 1:
            raise fail(
                RANK,
                f"expand repeats a batch axis of 1 over the batch of `like`, but {x} already "
                "has a batch of its own",
                rule="x is (1, *shape)",
                with_=f"x {x}",
                arg="x",
                help="expand a tensor every sample shares: an exact `parameter` or a constant",
                label="batch axis not 1",
            )
        return Inferred(outputs=(TensorType((like.shape[0], *x.shape[1:]), x.dtype),))

    def torch_expr(self, args: NoArgs, inferred: Inferred) -> Template:
        kept = ", -1" * (inferred.outputs[0].rank - 1)
        return Template(f"{{0}}.expand({{1}}.shape[0]{kept})")

    def execute(self, args: NoArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        x, like = run.inputs
        return (x.expand(like.shape[0], *x.shape[1:]),)


class ReduceArgs(Args):
    # required: torch's default reduces every axis, the batch included
    dim: Axes
    keepdim: bool = False


class _Reduce(_Shape):
    Args = ReduceArgs
    positional = ("dim", "keepdim")
    rule = "the axes in dim are removed (kept with size 1 when keepdim)"

    def output(self, args: ReduceArgs, x: TensorType) -> Shape:
        named = (args.dim,) if isinstance(args.dim, int) else args.dim
        axes = {axis_index(d, x, self.name) for d in named}
        if len(axes) != len(named):
            raise fail(
                INVALID,
                f"{self.name} dim={args.dim} names an axis of {x} twice",
                arg="dim",
                help="name each axis once",
                label="an axis named twice",
            )
        kept = (i for i in range(x.rank) if args.keepdim or i not in axes)
        return tuple(1 if i in axes else x.shape[i] for i in kept)

    def torch_expr(self, args: ReduceArgs, inferred: Inferred) -> Template:
        keepdim = ", keepdim=True" if args.keepdim else ""
        # each reduction is named after its torch function
        return Template(f"torch.{self.name}({{0}}, dim={{dim}}{keepdim})", (("dim", args.dim),))

    def execute(self, args: ReduceArgs, inferred: Inferred, run: Execution) -> tuple[Any, ...]:
        (x,) = run.inputs
        return (getattr(x, self.name)(dim=args.dim, keepdim=args.keepdim),)


@register
class Mean(_Reduce):
    name = "mean"
    summary = "average over the given axes: mean((2, 3)) is global average pooling"


@register
class Sum(_Reduce):
    name = "sum"
    summary = "sum over the given axes"


@register
class Amax(_Reduce):
    name = "amax"
    summary = "maximum over the given axes (values only)"
