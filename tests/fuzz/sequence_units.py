"""Units of the spec writer for sequence models: attention in its variants (layouts, grouped
keys and values, causal windows, ALiBi, normed queries and keys, rotary positions, a mask or an
additive bias, a memory of another width), shared layers applied at several places, and
recurrent layers given initial states and giving back their final ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.fuzz.names import LAYER_NAMES
from tests.fuzz.tracked import Body, Shape, Unit

if TYPE_CHECKING:
    from tests.fuzz.valid import SpecWriter

BOUND_NAMES = tuple(name for name in LAYER_NAMES if name.isidentifier())
NAMES = (
    ("q_proj", "k_proj", "v_proj", "o_proj"),
    ("query", "key", "value", "dense"),
    ("q", "k", "v", "o"),
)


def _rotary(w: SpecWriter, head_dim: int) -> list[str]:
    """Rotary arguments whose rotated width, int(head_dim * fraction), is even and not 0."""
    fractions = [f for f in (1.0, 0.5, 0.25) if int(head_dim * f) % 2 == 0 and head_dim * f >= 2]
    if not fractions:
        return []
    args = ["rotary=true"]
    fraction = w.pick(fractions)
    if fraction != 1.0 or w.chance(20):
        args.append(f"rotary_fraction={fraction}")
    if w.chance(30):
        args.append("rotary_interleaved=true")
    if w.chance(30):
        args.append(f"rotary_base={w.pick(('100.0', '500000.0', '10000'))}")
    return args


def _mask(w: SpecWriter, body: Body, shape: Shape, heads: int) -> str | None:
    """A mask or additive bias for self-attention over ``shape``, bound to a name: booleans
    that keep the diagonal, integers, or floats added to the scores."""
    rows, columns = "positions(x, dim=1)", "(positions(x, dim=1) -> transpose(1, 2))"
    pairs = f"{rows} - {columns}"  # (1, T, T): i - j
    form = w.integer(0, 3)
    if form == 0:
        value = f"{rows} >= {columns} -> unsqueeze(1)"
    elif form == 1:
        value = f"({pairs}) * -0.25 -> unsqueeze(1)"
    elif form == 2 and not shape.symbolic:
        value = (
            f"x -> parameter({heads}, {shape.length}, {shape.length}, exact=true, std=0.5)"
            f" as {body.name('bias')}"
        )
    elif form == 2:
        value = f"abs({pairs}) <= 2 -> unsqueeze(1)"
    else:
        return None
    name = w.fresh(body.temporary())
    body.lines.append(f"{name} = {value}")
    return name


def unit_attention(w: SpecWriter, body: Body, shape: Shape) -> Shape:
    """Self- or cross-attention with a random choice of its options; the output has the
    input's width, or heads·head_dim where the output projection is left out."""
    width = shape.features
    if w.chance(30):
        heads = w.integer(1, 4)
        head_dim = w.pick((2, 4, 6))
        args = [str(heads), f"head_dim={head_dim}"]
    else:
        heads = w.heads(width)
        head_dim = width // heads
        args = [w.number(heads, body) if w.chance(50) else f"heads={heads}"]
    layout = w.integer(0, 2)
    kv_heads = w.pick([h for h in (1, 2, 4) if heads % h == 0 and h <= heads])
    if layout == 2:  # the fused layout holds a key and a value for every head
        kv_heads = heads
    if kv_heads != heads or w.chance(10):
        args.append(f"kv_heads={kv_heads}")
    cross = body.memory and layout != 2 and w.chance(40)  # fused: q, k, v from x alone
    if cross:
        args.insert(0, "memory")
    else:
        if w.chance(40):  # a window and ALiBi need the causal mask
            args.append("causal=true")
            if w.chance(40):
                args.append(f"window={w.integer(1, 6)}")
            if w.chance(30):
                args.append("alibi=true")
        if w.chance(30):
            args += _rotary(w, head_dim)
    if w.chance(30):
        args.append("qk_norm=true")
    if w.chance(20):
        args.append(f"scale={w.pick(('1.0', '0.5'))}")
    if w.chance(20):  # only separate projections can each have a bias or not
        args.append(f"bias={w.pick(('false', '(true, false, true, false)'))}")
        if layout != 1:
            args[-1] = "bias=false"
    out = width
    if layout == 1:
        names = w.pick(NAMES)
        if w.chance(30):  # three names: no output projection, so heads·head_dim wide
            names, out = names[:3], heads * head_dim
        args.append('layout="linears"')
        if len(names) == 3 or w.chance(70):  # left out, the names are four
            args.append(f"names=({', '.join(f'{chr(34)}{n}{chr(34)}' for n in names)})")
    elif layout == 2:
        args.append('layout="fused"')
    if not cross and w.chance(30):
        mask = _mask(w, body, shape, heads)
        if mask is not None:
            args.append(f"mask={mask}")
    stage = w.named(w.op(f"attention({', '.join(args)})"), body, "attn")
    if out == width and w.chance(50):
        body.lines.append(f"x = x + (x -> {stage})")
    else:
        body.lines.append(f"x = x -> {stage}")
    return shape.features_to(out)


def unit_shared(w: SpecWriter, body: Body, shape: Shape) -> Shape:
    """One layer, `shared(...)`, applied at two or more places or repeated in a loop."""
    if w.chance(40):  # one layer, its name (if any) in the body that holds it
        stages = w.preserving(body, shape, 1)
        layer = stages[0] if len(stages) == 1 else f"[{' -> '.join(stages)}]"
    else:  # a chain in brackets, a scope of its own, even for one layer: its names its own
        stages = w.preserving(Body({}, w.layer_names), shape, w.integer(1, 2))
        layer = f"[{' -> '.join(stages)}]"
    # bound to a name, the instance is named after it: a value and a layer name at once (so an
    # attribute), new among the spec's values and the body's layers alike
    name = w.hostile(BOUND_NAMES, w.taken | body.named) or f"shared{body.temporary()}"
    w.taken.add(name)
    body.named.add(name)
    named = f" as {body.name('shared')}" if w.chance(30) else ""
    body.lines.append(f"{name} = shared({layer}){named}")
    for _ in range(w.integer(1, 3)):
        form = w.integer(0, 2)
        if form == 0:
            body.lines.append(f"x = x -> {name}")
        elif form == 1:
            body.lines.append(f"x = x -> {name} * {w.integer(0, 3)}")
        else:
            body.lines.append(f"x = x + (x -> {name})")
    return shape


def unit_stateful(w: SpecWriter, body: Body, shape: Shape) -> Shape:
    """A recurrent layer started from states (held parameters, or computed from x) that may
    give back its final states, which are then added to its output."""
    cell = w.op(w.pick(("lstm", "gru", "rnn")))
    hidden = int(w.pick(("2", "4", "6", "8")))
    layers = w.integer(1, 2)
    directions = 2 if w.chance(30) else 1
    args = [str(hidden)]
    if layers > 1:
        args.append(f"num_layers={layers}")
    if directions == 2:
        args.append("bidirectional=true")
    states = ["h0", "c0"] if cell == "lstm" else ["h0"]
    if cell == "lstm" or w.chance(70):
        for state in states:
            value = w.fresh(body.temporary())
            if w.chance(60):
                held = f"parameter({layers * directions}, {hidden}, std=0.1)"
                body.lines.append(f"{value} = x -> {held} as {body.name(state)}")
            else:  # from the sequence itself: its mean, once per layer and direction
                project = w.named(w.op(f"linear({layers * directions * hidden})"), body, "init")
                body.lines.append(
                    f"{value} = x -> mean(dim=1) -> {project}"
                    f" -> unflatten(1, ({layers * directions}, {hidden}))"
                )
            args.append(f"{state}={value}")
    returned = w.chance(60)
    if returned:
        args.append("return_state=true")
    stage = w.named(f"{cell}({', '.join(args)})", body, "rnn")
    out = hidden * directions
    if not returned:
        body.lines.append(f"x = x -> {stage}")
        return shape.features_to(out)
    finals = [w.fresh(body.temporary()) for _ in range(len(states))]
    body.lines.append(f"x, {', '.join(finals)} = x -> {stage}")
    summary = f"{w.pick(finals)} -> mean(dim=1, keepdim=true)"
    if hidden != out:
        summary += f" -> {w.named(w.op(f'linear({out})'), body, 'state')}"
    body.lines.append(f"x = x + ({summary})")
    return shape.features_to(out)


# By name: the kinds of tensor each takes, and the unit (attention twice, to be drawn more often).
UNITS: dict[str, tuple[tuple[str, ...], Unit]] = {
    "attention": (("sequence",), unit_attention),
    "more_attention": (("sequence",), unit_attention),
    "shared": (("image", "sequence", "vector"), unit_shared),
    "stateful": (("sequence",), unit_stateful),
}
