"""The layer reference (docs/layers.md), generated from the op registry so it cannot drift.

For every op: its names, summary, signature in spec syntax, tensor inputs, argument table, shape
rule, parameter formula and a worked example whose result the op itself computes. Regenerate
with ``python -m archc.backends.reference > docs/layers.md``.
"""

from __future__ import annotations

import types
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from archc import dims
from archc.dims import BATCH, Sym, TensorType
from archc.ops import all_ops
from archc.ops.schema import Field, FieldSpec
from archc.ops.spec import Op, ShapeError

REGENERATE = "python -m archc.backends.reference > docs/layers.md"

FAMILIES = {
    "activation": "Elementwise nonlinearities and math (`exp`, `sqrt`, `pow`, `clamp`), and "
    "softmax-like functions along an axis. None changes the shape except `glu`, which halves "
    "its axis; only `prelu` learns parameters.",
    "attention": "Multi-head attention over sequences (N, T, E): self-attention on one input, "
    "cross-attention when a second input gives the keys and values.",
    "conv": "Convolutions and transposed convolutions over channels-first inputs. The input "
    "channel count C_in is read from the input, so a spec names only the output channels.",
    "dropout": "Random zeroing during training, the identity at inference. No parameters.",
    "embedding": "Lookup tables from integer ids to learned vectors.",
    "linear": "Fully connected layers acting on the last axis.",
    "merge": "Ops that combine tensors: arithmetic with torch's broadcasting, comparisons "
    "giving boolean tensors, masks (`where`, `masked_fill`, `tril`), concatenation and matrix "
    "products. No parameters.",
    "norm": "Normalisation layers. The feature count they need is read from the input; when a "
    "spec spells it out, as torch does, it is checked against the input.",
    "pool": "Pooling over spatial windows, to a fixed output size, or over everything.",
    "position": "Position information for sequences: position indices, fixed and learned "
    "tables, and rotary embeddings.",
    "recurrent": "Recurrent layers over batch-first sequences (N, T, features).",
    "resample": "Changes of spatial resolution: interpolation and pixel (un)shuffling.",
    "shape": "Ops that regroup elements without computing anything. Axes count the batch as "
    "axis 0, as torch's `dim` does.",
}

INTRO = f"""\
# Layer reference

<!-- Generated from the op registry by `{REGENERATE}`; do not edit. -->

Every layer kind archc knows, by family. A signature lists the arguments that may be given by
position first, then, after `*`, those that must be named; `*name` gathers the remaining
positional values into a tuple. Values are written as in a spec: `true`, `false`, `none`,
strings in double quotes, tuples in parentheses. Shape rules include the batch axis `N`; the
shapes in the examples leave it out, as a spec does.
"""


# --- values and types in spec syntax --------------------------------------------------------


def spec_value(value: Any) -> str:
    """A Python value as a spec writes it.

    >>> spec_value((3, None, True, "same", 0.5))
    '(3, none, true, "same", 0.5)'
    >>> spec_value((3,))
    '(3,)'
    """
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, tuple):
        inner = ", ".join(spec_value(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def _or(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _alternatives(annotation: Any) -> list[str]:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _alternatives(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [word for arm in get_args(annotation) for word in _alternatives(arm)]
    if origin is Literal:
        return [spec_value(value) for value in get_args(annotation)]
    if origin is tuple:
        items = get_args(annotation)
        if len(items) == 2 and items[1] is Ellipsis:
            inner = _alternatives(items[0])
            return [f"tuple of {inner[0]}" if len(inner) == 1 else f"tuple of ({_or(inner)})"]
        words = [type_words(item) for item in items]
        return ["(" + ", ".join(words) + ("," if len(words) == 1 else "") + ")"]
    if annotation is type(None):
        return ["none"]
    # a symbolic size is written as the input's size it is, `x.shape[1]`
    plain = {int: "int", float: "float", bool: "bool", str: "string", Sym: "symbolic size"}
    return [plain.get(annotation, getattr(annotation, "__name__", str(annotation)))]


def type_words(annotation: Any) -> str:
    """``int | tuple[int, ...] | Literal["same"]`` -> ``int, tuple of int or "same"``."""
    return _or(_alternatives(annotation))


def _constraint_groups(annotation: Any) -> Iterator[list[Field]]:
    """The constraints of each Annotated part of a (nested) annotation."""
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *extras = get_args(annotation)
        yield [extra for extra in extras if isinstance(extra, Field)]
        yield from _constraint_groups(base)
    elif origin is not Literal:
        for arm in get_args(annotation):
            if arm is not Ellipsis:
                yield from _constraint_groups(arm)


# Each constraint in words, in the order they are listed.
_WORDS = {
    "gt": lambda bound: f"> {bound}",
    "ge": lambda bound: f"≥ {bound}",
    "le": lambda bound: f"≤ {bound}",
    "min_length": lambda count: f"at least {count} item" + "s" * (count != 1),
}


def _describe(group: list[Field]) -> str:
    found = {k: v for f in group for k, v in [*f.bounds().items(), *f.lengths().items()]}
    if "ge" in found and "le" in found:
        return f"in [{found['ge']}, {found['le']}]"
    return " and ".join(_WORDS[kind](value) for kind, value in found.items() if kind in _WORDS)


def constraint_words(spec: FieldSpec) -> str:
    """The numeric bounds of a field, wherever its type declares them."""
    found = [text for text in map(_describe, _constraint_groups(spec.annotation)) if text]
    return "; ".join(dict.fromkeys(found))


def signature(op: Op) -> str:
    """``conv2d(out_channels, kernel_size, stride=1, padding=0, *, dilation=1, ...)``."""
    fields = op.Args.fields

    def param(name: str) -> str:
        spec = fields[name]
        return name if spec.required else f"{name}={spec_value(spec.default)}"

    parts = [param(name) for name in op.positional]
    keywords = [param(name) for name in fields if name not in op.positional]
    if op.varargs:
        parts[-1] = "*" + op.positional[-1]
    elif keywords:
        parts.append("*")
    return f"{op.name}({', '.join(parts + keywords)})"


def inputs_words(op: Op) -> str:
    names = [f"`{name}`" for name in op.inputs]
    if op.variadic:
        return f"{', '.join(names)}, ... ({op.min_inputs} or more)"
    required, optional = names[: op.min_inputs], names[op.min_inputs :]
    return ", ".join(required + [f"{name} (optional)" for name in optional])


# --- examples -------------------------------------------------------------------------------

Shape = tuple[int | str, ...]
IMAGE: Shape = (64, 32, 32)
SEQUENCE: Shape = ("T", 512)


@dataclass(frozen=True)
class Example:
    """A call of an op on inputs of the given shapes (batch left out; strings are symbols)."""

    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    inputs: tuple[Shape, ...] = (IMAGE,)
    dtype: str = "float32"
    # one element type per input where they differ (a mask beside scores)
    dtypes: tuple[str, ...] = ()
    # inputs the spec computes rather than declares, by position: their statement (a constant
    # that `buffer` holds, a table `lookup` reads); their batch axis is 1
    made: Mapping[int, str] = field(default_factory=dict)

    def dtype_of(self, index: int) -> str:
        return self.dtypes[index] if self.dtypes else self.dtype


# Ops missing here are shown applied to an IMAGE with their defaults.
EXAMPLES: dict[str, Example] = {
    "adaptive_avgpool1d": Example((1,), inputs=((64, 100),)),
    "adaptive_avgpool2d": Example((1,), inputs=((512, 7, 7),)),
    "adaptive_avgpool3d": Example((1,), inputs=((64, 8, 16, 16),)),
    "adaptive_maxpool1d": Example((8,), inputs=((64, 100),)),
    "adaptive_maxpool2d": Example(((7, 7),), inputs=((512, 14, 14),)),
    "adaptive_maxpool3d": Example((2,), inputs=((64, 8, 16, 16),)),
    "add": Example(inputs=(IMAGE, IMAGE)),
    "alpha_dropout": Example((0.1,), inputs=((512,),)),
    "amax": Example((-1,), inputs=(SEQUENCE,)),
    "attention": Example((8,), {"causal": True}, inputs=(SEQUENCE,)),
    "arange": Example((7,), inputs=()),
    "avgpool1d": Example((2,), inputs=((64, 100),)),
    "avgpool2d": Example((2,)),
    "avgpool3d": Example((2,), inputs=((64, 8, 16, 16),)),
    "batchnorm1d": Example(inputs=((256,),)),
    "batchnorm3d": Example(inputs=((32, 8, 16, 16),)),
    "clamp": Example(kwargs={"min": -1.0, "max": 1.0}, inputs=(SEQUENCE,)),
    "compare": Example((">",), inputs=(SEQUENCE, (1, 512))),
    "chunk": Example((2,), {"dim": 1}, inputs=((128, 32, 32),)),
    "concat": Example(kwargs={"dim": 1}, inputs=(IMAGE, (32, 32, 32))),
    "conv1d": Example((32, 5), {"padding": 2}, inputs=((16, 100),)),
    "conv2d": Example((64, 3), {"padding": 1}, inputs=((3, 32, 32),)),
    "conv3d": Example((32, 3), {"padding": 1}, inputs=((3, 16, 32, 32),)),
    "conv_transpose1d": Example((16, 4), {"stride": 2, "padding": 1}, inputs=((32, 50),)),
    "conv_transpose2d": Example((64, 4), {"stride": 2, "padding": 1}, inputs=((128, 16, 16),)),
    "conv_transpose3d": Example((16, 2), {"stride": 2}, inputs=((32, 8, 16, 16),)),
    "buffer": Example(inputs=((225,),), dtype="int64", made={0: "arange(225)"}),
    "cumsum": Example((1,), inputs=(("T", 1),), dtype="bool"),
    "div": Example(inputs=(IMAGE, (64, 1, 1))),
    "expand": Example(inputs=((1, 768), (196, 768)), made={0: "zeros(1, 768)"}),
    "dropout": Example((0.1,), inputs=(SEQUENCE,)),
    "dropout1d": Example((0.1,), inputs=((64, 100),)),
    "dropout3d": Example((0.1,), inputs=((32, 8, 16, 16),)),
    "embedding": Example((50257, 768), inputs=(("T",),), dtype="int64"),
    "flatten": Example(inputs=((512, 1, 1),)),
    "gather": Example((1,), inputs=(("T", 512), (4, 512)), dtypes=("float32", "int64")),
    "lookup": Example(
        inputs=((225, 3), (225,)),
        dtypes=("float32", "int64"),
        made={0: 'arange(675, dtype="float32") -> reshape(225, 3)', 1: "arange(225)"},
    ),
    "groupnorm": Example((32,), inputs=((256, 32, 32),)),
    "gru": Example((128,), {"num_layers": 2}, inputs=(("T", 64),)),
    "instancenorm1d": Example(inputs=((64, 100),)),
    "instancenorm2d": Example(kwargs={"affine": True}),
    "instancenorm3d": Example(inputs=((32, 8, 16, 16),)),
    "masked_fill": Example(
        (float("-inf"),), inputs=((8, "T", "T"), (1, "T", "T")), dtypes=("float32", "bool")
    ),
    "layernorm": Example(inputs=(SEQUENCE,)),
    "layernorm2d": Example(kwargs={"eps": 1e-6}, inputs=((96, 56, 56),)),
    "learned_positions": Example((1024,), inputs=(("T", 768),)),
    "linear": Example((10,), inputs=((512,),)),
    "local_response_norm": Example((5,), inputs=((96, 55, 55),)),
    "log_softmax": Example(inputs=((10,),)),
    "lstm": Example((256,), {"bidirectional": True}, inputs=(("T", 128),)),
    "matmul": Example(inputs=((8, "T", 64), (8, 64, "T"))),
    "maxpool1d": Example((2,), inputs=((64, 100),)),
    "maxpool2d": Example((3,), {"stride": 2, "padding": 1}, inputs=((64, 112, 112),)),
    "maxpool3d": Example((2,), inputs=((32, 8, 16, 16),)),
    "mean": Example((1,), inputs=(SEQUENCE,)),
    "moe": Example((1024,), {"experts": 64, "top_k": 8}, inputs=(("T", 2048),)),
    "mul": Example(inputs=(IMAGE, (64, 1, 1))),
    "neg": Example(inputs=(SEQUENCE,)),
    "permute": Example((0, 2, 1), inputs=(SEQUENCE,)),
    "positions": Example((1,), inputs=(("T",),), dtype="int64"),
    "pow": Example((2,), inputs=(SEQUENCE,)),
    "pixel_shuffle": Example((2,), inputs=((64, 16, 16),)),
    "pixel_unshuffle": Example((2,), inputs=((3, 32, 32),)),
    "prelu": Example(("channels",)),
    "one_hot": Example((10,), inputs=(("T",),), dtype="int64"),
    "pad": Example((1, 1, 1, 1), {"mode": "reflect"}),
    "parameter": Example((1, 768), inputs=((196, 768),)),
    "rsqrt": Example(inputs=((1,),)),
    "scalar": Example(("-",), {"number": 1.0, "number_first": True}, inputs=(SEQUENCE,)),
    "reshape": Example((16, -1), inputs=((64, 7, 7),)),
    "scale": Example((0.5,), inputs=(SEQUENCE,)),
    "scaled_dot_product_attention": Example(
        kwargs={"is_causal": True}, inputs=((12, "T", 64), (12, "T", 64), (12, "T", 64))
    ),
    "scatter_add": Example(
        (1,), inputs=((8, 64), (16, 64), (16, 64)), dtypes=("float32", "int64", "float32")
    ),
    "select": Example((1, 0), inputs=((197, 768),)),
    "resize": Example(kwargs={"mode": "bilinear"}, inputs=((64, 16, 16), (32, "H", "W"))),
    "tril": Example(inputs=((8, "T", "T"),)),
    "triu": Example((1,), inputs=((8, "T", "T"),)),
    "rmsnorm": Example(inputs=(SEQUENCE,)),
    "roll": Example(((-3, -3), (1, 2)), inputs=((56, 56, 96),)),
    "rnn": Example((64,), {"output": "last"}, inputs=(("T", 32),)),
    "rotary": Example(inputs=((8, "T", 64),)),
    "sinusoidal_positions": Example(inputs=(SEQUENCE,)),
    "slice": Example(kwargs={"dim": 2, "start": 1, "step": 2}),
    "softmax": Example(inputs=((10,),)),
    "split": Example(((16, 48),), {"dim": 1}),
    "squeeze": Example((2,), inputs=((512, 1),)),
    "stochastic_depth": Example((0.1,)),
    "sub": Example(inputs=(IMAGE, IMAGE)),
    "sum": Example((1,), inputs=(SEQUENCE,)),
    "topk": Example((8,), inputs=(("T", 64),)),
    "transpose": Example((1, 2), inputs=(SEQUENCE,)),
    "unflatten": Example((1, 8, 64), inputs=((512,),)),
    "unsqueeze": Example((1,), inputs=((512,),)),
    "upsample": Example(kwargs={"scale_factor": 2.0, "mode": "bilinear"}),
    "where": Example(
        inputs=(("T", 1), ("T", 512), ("T", 512)), dtypes=("bool", "float32", "float32")
    ),
    "zeros": Example((1, 50265), inputs=()),
}


@dataclass(frozen=True)
class WorkedExample:
    """An example call in spec syntax and the op's own answer for it."""

    inputs: tuple[tuple[str, str], ...]  # (name, type in spec syntax), e.g. ("x", "[3, 32, 32]")
    made: tuple[tuple[str, str], ...]  # (name, expression): inputs the spec computes
    expression: str
    outputs: tuple[str, ...]
    params: int
    buffers: int


def spec_type(shape: Sequence[Any], dtype: str) -> str:
    sizes = "[" + ", ".join(str(d) for d in shape) + "]"
    return sizes if dtype == "float32" else dtype + sizes


def _bind(op: Op, example: Example) -> dict[str, Any]:
    """Hyperparameters by name, positional values bound as the language binds them."""
    named = dict(zip(op.positional, example.args, strict=False))
    extra = example.args[len(op.positional) :]
    if extra:
        if not op.varargs:
            raise ValueError(f"{op.name} takes at most {len(op.positional)} positional values")
        last = op.positional[-1]
        named[last] = (named[last], *extra)
    return {**named, **example.kwargs}


def work(op: Op, example: Example | None = None) -> WorkedExample:
    """An example of ``op`` (by default its own) and what the op infers for it."""
    example = example or EXAMPLES.get(op.name, Example())
    count = len(example.inputs)
    names = op.inputs[:count] if count <= len(op.inputs) else [f"x{i}" for i in range(count)]
    sizes = [[dims.Sym.named(d) if isinstance(d, str) else d for d in s] for s in example.inputs]
    tensors = [
        TensorType((1 if i in example.made else BATCH, *shape), example.dtype_of(i))
        for i, shape in enumerate(sizes)
    ]
    try:
        inferred = op.infer(op.Args(**_bind(op, example)), tensors)
    except (ValueError, ShapeError) as exc:  # an ArgumentError is a ValueError
        raise ValueError(
            f"the example of `{op.name}` is invalid ({exc}); give it one in EXAMPLES in {__name__}"
        ) from exc
    values = [spec_value(v) for v in example.args]
    values += [f"{key}={spec_value(value)}" for key, value in example.kwargs.items()]
    if count != 1:
        expression = f"{op.name}({', '.join([*names, *values])})"
    else:
        call = [*names[1:], *values]
        expression = f"{names[0]} -> {op.name}" + (f"({', '.join(call)})" if call else "")
    return WorkedExample(
        inputs=tuple(
            (name, spec_type(shape, example.dtype_of(i)))
            for i, (name, shape) in enumerate(zip(names, example.inputs, strict=True))
            if i not in example.made
        ),
        made=tuple((names[i], written) for i, written in sorted(example.made.items())),
        expression=expression,
        outputs=tuple(spec_type(t.shape[1:], t.dtype) for t in inferred.outputs),
        params=sum(dims.numel(shape) for shape in inferred.params.values()),
        buffers=sum(dims.numel(shape) for shape in inferred.buffers.values()),
    )


# --- the document ---------------------------------------------------------------------------


def _code(text: str) -> str:
    """A Markdown code span; a longer fence when the text holds backticks itself."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _prose(text: str) -> str:
    """Escape Markdown emphasis outside code spans, so `(N, *)` prints as written."""
    parts = text.split("`")
    return "`".join(p if i % 2 else p.replace("*", r"\*") for i, p in enumerate(parts))


def _example_line(worked: WorkedExample) -> str:
    given = ", ".join(
        [f"`{name}: {type_}`" for name, type_ in worked.inputs]
        + [f"`{name} = {written}`" for name, written in worked.made]
    )
    result = ", ".join(f"`{t}`" for t in worked.outputs)
    counts = [f"{worked.params:,} parameters"] if worked.params else []
    counts += [f"{worked.buffers:,} buffer values"] if worked.buffers else []
    tail = "; " + ", ".join(counts) if counts else ""
    taking = f" with {given}" if given else ""
    return f"`{worked.expression}`{taking} gives {result}{tail}"


def _argument_table(op: Op) -> list[str]:
    fields = op.Args.fields
    if not fields:
        return ["No arguments."]
    rows = ["| argument | type | default | constraint |", "|---|---|---|---|"]
    for name, spec in fields.items():
        shown = f"`{name}`" + "".join(f" (or `{o}`)" for o in spec.aliases)
        default = "required" if spec.required else f"`{spec_value(spec.default)}`"
        cells = [shown, type_words(spec.annotation), default, constraint_words(spec)]
        rows.append("| " + " | ".join(cell.replace("|", r"\|") for cell in cells) + " |")
    return rows


def render_op(op: Op) -> list[str]:
    summary = _prose(op.summary)
    lines = [f"### `{op.name}`", "", summary if summary.endswith(".") else summary + ".", ""]
    lines += ["```text", signature(op), "```", ""]
    if op.aliases:
        lines.append("- Also called: " + ", ".join(f"`{a}`" for a in op.aliases))
    lines += [
        f"- Inputs: {inputs_words(op)}",
        f"- Shape: {_code(op.rule)}",
        f"- Parameters: {_code(op.params_rule)}",
        f"- Example: {_example_line(work(op))}",
        "",
        *_argument_table(op),
        "",
    ]
    return lines


def render_layers_markdown() -> str:
    """The whole layer reference, identical from run to run."""
    # all_ops() comes sorted by family, then name
    families = {family: list(ops) for family, ops in groupby(all_ops(), lambda op: op.family)}
    missing = sorted(set(families) - set(FAMILIES))
    if missing:
        raise ValueError(f"no introduction for the families {missing}: add them to FAMILIES")
    lines = [INTRO, "## Contents", ""]
    for family, members in families.items():
        links = ", ".join(f"[`{op.name}`](#{op.name})" for op in members)
        lines.append(f"- **{family}**: {links}")
    for family, members in families.items():
        lines += ["", f"## {family}", "", _prose(FAMILIES[family]), ""]
        for op in members:
            lines += render_op(op)
    return "\n".join(lines).rstrip("\n") + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(render_layers_markdown())
