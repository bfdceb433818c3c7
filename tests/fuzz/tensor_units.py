"""Units of the spec writer on tensors themselves: elementwise math and masks, build-time
constants and buffers, tables read with `lookup`, selection (`topk`, `gather`, `scatter_add`,
`one_hot`), sparse experts (MLPs, or copies of a block), held parameters, and symbolic `split` and `unflatten`.

Values stay finite in any network the writer makes: a logarithm reads a softplus plus one, an
exponential a clamped input, a reciprocal square root a square plus one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.fuzz.tracked import SIZE, Body, Shape, Unit

if TYPE_CHECKING:
    from tests.fuzz.valid import SpecWriter

ALL = ("image", "sequence", "vector")


def unit_math(w: SpecWriter, body: Body, shape: Shape) -> Shape:
    """One elementwise function, a number on either side of an operator, or a comparison
    choosing values; the shape is kept."""
    forms = [
        "log((x -> softplus) + 1.0)",
        'x -> softplus -> scalar("+", 1.0) -> log',
        "sqrt(abs(x) + 0.5)",
        "x -> abs -> sqrt",
        "rsqrt(x ** 2 + 1.0)",
        "x -> clamp(min=-2.0, max=2.0) -> exp",
        "exp(x -> clamp(max=1.5))",
        "x -> clamp(min=-1.0, max=1.0) -> pow(3)",
        "-x",
        "x -> neg",
        "1.0 - x",
        "0.5 * x + 0.25",
        "x - 0.5",
        "2.0 / (abs(x) + 1.0)",
        "where(x > 0.0, x, x * 0.1)",
        "where(x <= 0.5, x, 0.5 - x)",
        "masked_fill(x, x < -1.0, 0.0)",
        "x -> masked_fill(x >= 1, 1.0)",
        "x -> masked_fill(x != x, 0.0)",
        # sign jumps at 0, where a normalised constant lands up to rounding (a channel's mean,
        # a batch of equal samples): the jump is moved to a value no norm or clamp gives
        "sign(x - 0.3183)",
    ]
    if shape.kind != "vector":  # the last two axes are not the batch's
        forms += ["x -> tril", "x -> triu(diagonal=1)", "tril(x, diagonal=-1)", "x -> cumsum(1)"]
    if shape.kind == "sequence":
        forms += ["x -> cumsum(-1) -> scale(0.1)", "triu(x, -2)"]
    form = w.pick(forms)
    if "where(" in form and w.chance(40):  # between two tensors: the other a chain of x
        other = w.fresh(body.temporary())
        body.lines.append(f"{other} = x -> {' -> '.join(w.preserving(body, shape, 1))}")
        form = w.pick((f"where(x > {other}, x, {other})", f"where({other} < x, {other}, x)"))
    body.lines.append(f"x = {form}")
    return shape


def unit_constant(w: SpecWriter, body: Body, shape: Shape) -> Shape:
    """A build-time constant made with `arange`, often held as a buffer, added to x."""
    if shape.kind == "image":
        count, axes = shape.features, " -> unsqueeze(2) -> unsqueeze(3)"
    elif shape.kind == "vector":
        count, axes = shape.features, ""
    elif shape.symbolic:  # T is not a number a constant may have: positions count it instead
        scale = w.pick(("0.01", "0.125"))
        body.lines.append(f"x = x + positions(x, dim=1) * {scale}")  # (1, T, 1)
        return shape
    else:
        count, axes = shape.length, " -> unsqueeze(2)"
    bounds = w.pick(
        (f"{count}", f"0, {count}", f"1, {count + 1}", f"0, {2 * count}, 2", f"{-count}, 0")
    )
    if shape.kind == "sequence" and w.chance(40):  # ids of positions, embedded
        ids = f"arange({bounds})"
        if w.chance(50):
            ids += f" -> buffer as {body.name('ids')}"
        table = w.op(f"embedding({3 * count}, {shape.features})")
        offset = " + " + str(count) if bounds.startswith("-") else ""
        body.lines.append(f"x = x + (({ids}){offset} -> {w.named(table, body, 'wpe')})")
        return shape
    value = f'arange({bounds}, dtype="float32"){axes}'
    if w.chance(60):
        persistent = w.pick(("", "(persistent=false)", "(persistent=true)"))
        value += f" -> buffer{persistent} as {body.name('table')}"
    constant = w.fresh(body.temporary())
    body.lines.append(f"{constant} = {value}")
    body.lines.append(
        w.pick((f"x = x + {constant} * 0.05", f"x = x * ({constant} / {2 * count} + 0.5)"))
    )
    return shape


def unit_lookup(w: SpecWriter, body: Body, shape: Shape) -> Shape:
    """Rows of a held table picked by position, `table[index]` or `lookup(..., positions=)`,
    added to a sequence."""
    if shape.kind != "sequence" or shape.length > 2 * SIZE:
        return unit_math(w, body, shape)
    rows = shape.length + w.integer(0, 3)  # what positions reach at SIZE, and a few more
    table = w.fresh(body.temporary())
    frozen = ", frozen=true" if w.chance(30) else ""
    body.lines.append(
        f"{table} = x -> parameter({rows}, {shape.features}, exact=true, std=0.1{frozen})"
        f" as {body.name('rows')}"
    )
    if shape.symbolic:
        index = "positions(x, dim=1) -> flatten(1)"  # (1, T)
    elif w.chance(40):
        picked = [str(w.integer(-rows, rows - 1)) for _ in range(shape.length)]
        comma = "," if len(picked) == 1 else ""
        body.lines.append(f"x = x + lookup({table}, positions=({', '.join(picked)}{comma}))")
        return shape
    else:
        index = w.pick((f"arange({shape.length})", f"arange({rows - shape.length}, {rows})"))
    body.lines.append(f"x = x + {table}[{index}]")
    return shape


def unit_select(w: SpecWriter, body: Body, shape: Shape) -> Shape:
    """The k largest features of each position, and what is made of them: spread back with
    `scatter_add`, read again with `gather`, or counted with `one_hot`."""
    if shape.kind != "sequence":
        return unit_math(w, body, shape)
    k = w.integer(1, min(4, shape.features))
    top, chosen = w.fresh(body.temporary()), w.fresh(body.temporary())
    largest = ", largest=false" if w.chance(30) else ""
    # Which of several equal values torch.topk picks is unspecified, and the picked indices
    # flow on, so the scores must never tie: x saturates, or is all zeros, often enough. tanh
    # keeps them in [-1, 1], and a ramp of steps 1 / (2E + 1) adds less than a half, so it
    # parts equal values and never makes two different ones of {-1, 0, 1} equal; any other
    # tie would need two tanh values to differ by a rational exactly.
    features = shape.features
    ramp = f'(arange({features}, dtype="float32") -> unsqueeze(1)) / {2 * features + 1}'
    body.lines.append(f"{top}, {chosen} = tanh(x) + {ramp} -> topk({k}{largest})")
    form = w.integer(0, 2)
    if form == 0:
        body.lines.append(f"x = x + scatter_add(x * 0.0, {chosen}, {top} -> softmax(-1), -1)")
    elif form == 1:
        picked = w.fresh(body.temporary())
        body.lines.append(f"{picked} = gather(x, {chosen}, -1)")
        fc = w.named(w.op(f"linear({shape.features})"), body, "fc")
        body.lines.append(f"x = x + ({picked} -> {fc})")
    else:
        body.lines.append(f"x = x + (one_hot({chosen}, {shape.features}) -> sum(dim=2)) * 0.5")
    return shape


def unit_moe(w: SpecWriter, body: Body, shape: Shape) -> Shape:
    """A sparse mixture of experts, MLPs in either layout or copies of a block, with either
    way of weighing."""
    if shape.kind == "image":
        return unit_math(w, body, shape)
    experts = w.integer(1, 5)
    routing = [f"experts={experts}", f"top_k={w.integer(1, experts)}"]
    if w.chance(40):
        routing.append('softmax="after"')
    elif w.chance(40):
        routing.append("norm_topk=true")
    if w.chance(40):
        args = [expert_block(w, shape), *routing]
    else:
        args = [str(w.pick((2, 4, 6))), *routing]
        if w.chance(40):
            args.append('layout="modules"')
        if w.chance(30):
            args.append("gated=false")
        if w.chance(30):
            args.append(f'activation="{w.pick(("gelu", "relu", "silu"))}"')
    moe = w.named(w.op(f"moe({', '.join(args)})"), body, "moe")
    body.lines.append(w.pick((f"x = x -> {moe}", f"x = x + (x -> {moe})")))
    return shape


def expert_block(w: SpecWriter, shape: Shape) -> str:
    """The name of a new block that `moe` copies: it gives back the tokens' width, (tokens,
    F), computing each token on its own."""
    inner = Body({}, w.layer_names)
    tokens = Shape("vector", shape.features)
    up, wide = w.resize(inner, tokens, int(w.pick((4, 8, 12))))
    act = w.named(w.op(w.pick(("relu", "gelu", "silu", "tanh"))), inner, "act")
    down, _ = w.resize(inner, wide, shape.features)
    stages = [up, act, down]
    if w.chance(40):
        stages.insert(0, w.named(w.op(w.pick(("layernorm", "rmsnorm"))), inner, "norm"))
    chain = " -> ".join(stages)
    out = f"x + (x -> {chain})" if w.chance(40) else f"x -> {chain}"
    name = w.block_name("Expert")
    w.blocks.append(f"block {name} {{\n    in x\n    out {out}\n}}")
    return name


def unit_held(w: SpecWriter, body: Body, shape: Shape) -> Shape:
    """A parameter held with exactly the shape written, which broadcasts over x."""
    sizes = {
        "image": (shape.features, 1, 1),
        "sequence": (1, shape.features),
        "vector": (shape.features,),
    }[shape.kind]
    args = [*map(str, sizes), "exact=true"]
    if w.chance(50):
        args.append("std=0.1")
    if w.chance(40):
        args.append("frozen=true")
    held = w.fresh(body.temporary())
    body.lines.append(f"{held} = x -> parameter({', '.join(args)}) as {body.name('gain')}")
    body.lines.append(w.pick((f"x = x * ({held} -> exp)", f"x = x + {held}", f"x = {held} * x")))
    return shape


def unit_cut(w: SpecWriter, body: Body, shape: Shape) -> Shape:
    """A sequence cut in two along time or features and joined the other way round, or an
    axis unflattened and flattened again; a size may be the symbolic rest."""
    if shape.kind != "sequence":
        return unit_math(w, body, shape)
    first, second = w.fresh(body.temporary()), w.fresh(body.temporary())
    length = "x.shape[1]" if shape.symbolic else str(shape.length)
    if w.chance(40) and shape.features > 1:
        cut = w.integer(1, shape.features - 1)
        rest = w.pick((str(shape.features - cut), f"x.features - {cut}"))
        body.lines.append(f"{first}, {second} = x -> split(({cut}, {rest}), dim=-1)")
        body.lines.append(f"x = concat({second}, {first}, dim=2)")
        return shape
    if w.chance(50) and shape.length > 1:
        cut = w.integer(1, min(shape.length - 1, 4))
        body.lines.append(f"{first}, {second} = split(x, ({cut}, {length} - {cut}), dim=1)")
        body.lines.append(f"x = concat({second}, {first}, dim=1)")
        return shape
    sizes = w.pick(((length, "1"), ("1", length)))
    unflat = f"unflatten(1, ({sizes[0]}, {sizes[1]}))"
    body.lines.append(f"x = x -> {unflat} -> flatten(1, 2)")
    return shape


# By name: the kinds of tensor each takes, and the unit (math twice, to be drawn more often).
UNITS: dict[str, tuple[tuple[str, ...], Unit]] = {
    "math": (ALL, unit_math),
    "more_math": (ALL, unit_math),
    "constant": (ALL, unit_constant),
    "lookup": (("sequence",), unit_lookup),
    "select": (("sequence",), unit_select),
    "moe": (("sequence", "vector"), unit_moe),
    "held": (ALL, unit_held),
    "cut": (("sequence",), unit_cut),
}
