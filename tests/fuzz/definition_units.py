"""Units of the spec writer that exercise definitions rather than ops: `fn` functions giving
sizes, a repeat reading its copy's index `i` (and naming its copies with a pattern), blocks
whose structure depends on a parameter, with instances taking each alternative, and a `tie`
that holds only where its condition does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.fuzz.tracked import Body, Shape, Unit

if TYPE_CHECKING:
    from tests.fuzz.valid import SpecWriter

ALL = ("image", "sequence", "vector")


def _function(w: SpecWriter) -> tuple[str, str]:
    """The spec's function of sizes (written once): `v` times `k`, or `v` itself below 2."""
    if not w.functions:
        name, v, k = w.fresh("widen"), w.fresh("v"), w.fresh("k")
        w.functions.append(f"fn {name}({v}, {k}=2) = if {k} < 2 then {v} else {v} * {k}")
        w.function = (name, k)
    return w.function


def unit_function(w: SpecWriter, body: Body, shape: Shape) -> Shape:
    """A layer whose width a function computes."""
    name, k = _function(w)
    half = w.pick((1, 2, 3, 4))
    factor = w.pick((0, 1, 2, 3))
    features = half * factor if factor >= 2 else half
    call = w.pick((f"{name}({half}, {factor})", f"{name}({half}, {k}={factor})"))
    if factor == 2 and w.chance(50):
        call = f"{name}({half})"
    layer = w.op(f"conv2d({call}, 1)" if shape.kind == "image" else f"linear({call})")
    body.lines.append(f"x = x -> {w.named(layer, body, 'fn')}")
    return shape.features_to(features)


def unit_copy_index(w: SpecWriter, body: Body, shape: Shape) -> Shape:
    """A repeat whose copies differ by their index: a scale, a width that comes back, named
    one by one with a pattern or numbered under one name."""
    count = w.integer(1, 4)
    inner = w.pick(("scale(1.0 + 0.5 * i)", "scale(0.5 + i, divide=true)", "identity"))
    features = shape.features
    if shape.kind != "image":
        resize = w.op(f"linear({features} + 2 * i) -> linear({features})")
    else:
        resize = w.op(f"conv2d({features} + i, 1) -> conv2d({features}, 1)")
    chain = w.pick((inner, resize, f"{resize} -> {inner}"))
    form = w.integer(0, 2)
    if form == 0:  # copies named `copy3_0`, `copy3_1`, ... or from another start
        body.layer_names += 1
        start = w.integer(0, 2)
        offset = f" + {start}" if start else ""
        body.lines.append(f"x = x -> ({chain}) * {count} as copy{body.layer_names}_{{i{offset}}}")
    elif form == 1:
        body.lines.append(f"x = x -> ({chain}) * {count} as {body.name('copies')}")
    else:
        body.lines.append(f"x = x -> [{chain}] * {count}")
    return shape


def unit_conditional(w: SpecWriter, body: Body, shape: Shape) -> Shape:
    """A block that holds layers for one value of its parameter and passes x through for the
    other, used so that both alternatives are built."""
    flag, extra = w.fresh("flag"), w.fresh("extra")
    inner = Body({}, w.layer_names)
    stages = w.preserving(inner, shape, w.integer(1, 2))
    chain = " -> ".join(stages)
    name = w.block_name("Maybe")
    test = w.pick((f"{flag} != 1", f"{flag} % 2 == 0", f"not {flag} == 1"))
    if w.chance(50):
        lines = [f"out if {test} then x -> {chain} else x"]
    else:
        lines = [
            f"y = if {test}",
            f"    then x -> ({chain}) as {inner.name('branch')}",
            "    else x",
        ]
        lines.append(f"out y -> scale({extra})" if w.chance(30) else "out y")
    params = f"{flag}, {extra}=1.0"
    text = "\n".join(f"    {line}" for line in ["in x", *lines])
    w.blocks.append(f"block {name}({params}) {{\n{text}\n}}")
    form = w.integer(0, 2)
    if form == 0:
        call = f"{name}(i) * {w.integer(2, 4)}"
    elif form == 1:
        call = f"{name}(1) -> {name}(0) -> {name}({extra}=2.0, {flag}=1)"
    else:
        call = f"({name}(2) -> {name}(1))"
    named = f" as {body.name('maybe')}" if w.chance(50) else ""
    body.lines.append(f"x = x -> {call}{named}")
    return shape


def unit_tie(w: SpecWriter, body: Body, shape: Shape) -> Shape:
    """Two layers of one shape, the second's weight tied to the first's where a condition on
    the network's sizes holds."""
    if shape.kind == "image":
        layer = w.op(f"conv2d({shape.features}, 3, padding=1)")
    else:
        layer = w.op(f"linear({shape.features})")
    first, second = body.name("tied"), body.name("tied")
    body.lines.append(f"x = x -> {layer} as {first} -> tanh -> {layer} as {second}")
    size = next(iter(body.scope))
    condition = w.pick((f" if {size} > {w.integer(1, 10)}", " if true", " if false", ""))
    body.lines.append(f"tie {second}.weight = {first}.weight{condition}")
    return shape


# By name: the kinds of tensor each takes, and the unit.
UNITS: dict[str, tuple[tuple[str, ...], Unit]] = {
    "function": (ALL, unit_function),
    "copy_index": (ALL, unit_copy_index),
    "conditional": (ALL, unit_conditional),
    "tie": (ALL, unit_tie),
}
