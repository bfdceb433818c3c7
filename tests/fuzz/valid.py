"""Valid specs, written layer by layer with the shape of every tensor tracked as they go.

The writer knows the shape each stage receives and picks only stages that fit it, so every spec
it writes must check without errors: a spec it writes that archc refuses is a bug in one of the
two, and a spec archc accepts must build a PyTorch module that agrees with the static model
(`tests/test_differential.py`).

Shapes leave out the batch. Images are (C, H, W), sequences (T, E), vectors (F); H, W and T may
be symbols, whose sizes are tracked at `SIZE`, the value the differential test gives them.
Blocks, parameters, layers and values are often given hostile names (`tests/fuzz/names.py`):
names the generated module relies on, or close to them.
The units here are the convolutional and sequence networks' own (blocks, skips, concat, dense,
recurrent and transformer units); `tensor_units`, `sequence_units` and `definition_units` add
the newer constructs: elementwise math and masks, constants and buffers, selection and experts,
attention's variants, shared layers, recurrent states, functions, copy indices, conditional
blocks and conditional ties. What a unit receives and gives is a `tracked.Shape`.
The hypothesis strategy is `tests.fuzz.cases.cases("valid")`.
"""

from __future__ import annotations

from dataclasses import replace

from tests.fuzz import definition_units, sequence_units, tensor_units
from tests.fuzz.choices import Choices, chance, pick
from tests.fuzz.names import HOSTILE, LAYER_NAMES
from tests.fuzz.tracked import SIZE, Body, Shape, Unit

CHANNELS = (2, 4, 6, 8, 12, 16)
ACTIVATIONS = ("relu", "gelu", "silu", "tanh", "sigmoid", "leaky_relu(0.1)", "elu", "hardswish")
# The names the writer uses itself, which a hostile name must not take.
OWN_NAMES = (
    "x", "y", "image", "extra", "tokens", "memory", "classes", "width", "p", "q", "scale",
    "planes", "stride", "heads", "expansion", "growth", "logits", "scores", "skip", "H", "W",
    "T", "S", "Net0", "Net1",
)  # fmt: skip
HOSTILE_PERCENT = 25  # how often a name is drawn from the hostile pools
# The units of the other modules, by name: the shapes they take, and the unit.
NEWER_UNITS: dict[str, tuple[tuple[str, ...], Unit]] = {
    **tensor_units.UNITS,
    **sequence_units.UNITS,
    **definition_units.UNITS,
}
# The writer's own units (its `unit_` methods) for each kind of tensor.
OWN_UNITS = {
    "image": ("chain", "skip", "concat", "dense", "block", "residual_block", "down",
              "sequence_of", "named", "scaled", "learned"),
    "sequence": ("chain", "skip", "block", "transformer", "recurrent", "named", "convolve",
                 "scaled", "learned"),
    "vector": ("chain", "skip", "concat", "dense", "block", "named", "scaled", "learned"),
}  # fmt: skip


def units_for(kind: str) -> tuple[str, ...]:
    """The names of the units that take a tensor of ``kind``."""
    newer = (name for name, (kinds, _) in NEWER_UNITS.items() if kind in kinds)
    return (*OWN_UNITS[kind], *newer)


class SpecWriter:
    """Writes one spec: constants, `init` rules, networks and the blocks they use."""

    def __init__(self, choices: Choices) -> None:
        self.choices = choices
        self.blocks: list[str] = []
        self.ops: set[str] = set()  # op kinds used, so that `init` rules always match
        self.constants = {"width": pick(choices, (4, 8, 16))}
        self.taken = set(OWN_NAMES)  # every name of the spec's own namespace
        self.functions: list[str] = []  # `fn` definitions
        self.units: set[str] = set()  # the units written, which the tests count
        self.function = ("", "")  # the one `definition_units` writes: its name and `k`

    def hostile(self, pool: tuple[str, ...], used: set[str]) -> str | None:
        """Sometimes a name from ``pool`` that is not in ``used``."""
        if not self.chance(HOSTILE_PERCENT):
            return None
        name = self.pick(pool)
        return None if name in used else name

    def fresh(self, plain: str) -> str:
        """A name in the spec's namespace (a block, parameter or value): a hostile one, or
        ``plain`` (the writer's own names may repeat, in different definitions)."""
        name = self.hostile(HOSTILE, self.taken)
        if name is None:
            name = plain
            while name in self.taken and name not in OWN_NAMES:
                name += "_"
        self.taken.add(name)
        return name

    def layer_names(self, used: set[str]) -> str | None:
        return self.hostile(LAYER_NAMES, used)

    # --- small decisions -------------------------------------------------------------------------

    def integer(self, low: int, high: int) -> int:
        return self.choices.integer(low, high)

    def chance(self, percent: int) -> bool:
        return chance(self.choices, percent)

    def pick(self, options: tuple[str, ...] | list[str]) -> str:
        return pick(self.choices, options)

    def number(self, value: int, body: Body) -> str:
        """``value`` written as a literal or as arithmetic on a name in scope."""
        ways = [str(value)]
        for name, known in body.scope.items():
            if known == value:
                ways.append(name)
            elif known and value % known == 0 and value // known <= 8:
                ways.append(f"{value // known} * {name}")
            elif value and known % value == 0 and known // value <= 8:
                ways.append(f"{name} // {known // value}")
            elif 0 < value - known <= 8:
                ways.append(f"{name} + {value - known}")
        return self.pick(ways)

    def count(self, value: int, body: Body) -> str:
        """A repeat count: a number in scope, bracketed where it is arithmetic."""
        written = self.number(value, body)
        return written if written.isidentifier() or written.isdigit() else f"({written})"

    def op(self, text: str) -> str:
        self.ops.add(text.split("(")[0])
        return text

    def named(self, stage: str, body: Body, stem: str) -> str:
        """``stage``, sometimes with an `as` name (a bare layer, never a chain)."""
        return f"{stage} as {body.name(stem)}" if self.chance(30) else stage

    # --- the file --------------------------------------------------------------------------------

    def spec(self) -> str:
        networks = [self.network(index) for index in range(self.integer(1, 2))]
        head = [f"{name} = {value}" for name, value in self.constants.items()]
        head += self.functions
        head += self.init_rules()
        items = ["\n".join(head), *networks]
        if self.chance(50):
            items = [items[0], *self.blocks, *items[1:]]
        else:
            items += self.blocks
        return "\n\n".join(items) + "\n"

    def init_rules(self) -> list[str]:
        rules = {
            "conv2d": 'init conv2d.weight: kaiming_normal(mode="fan_out", nonlinearity="relu")',
            "linear": "init linear.bias: zeros",
            "batchnorm2d": "init batchnorm2d: weight=1, bias=0",
            "embedding": "init embedding.weight: normal(std=0.02)",
            "lstm": 'init "*.weight_hh_l*": orthogonal',
        }
        return [rule for op, rule in rules.items() if op in self.ops and self.chance(30)]

    def network(self, index: int) -> str:
        classes = self.integer(2, 10)
        parameter = self.fresh("classes")
        body = Body({parameter: classes, **self.constants}, self.layer_names)
        kind = self.pick(("image", "image", "sequence", "sequence", "vector"))
        shape = getattr(self, f"{kind}_input")(body)
        for _ in range(self.integer(1, 5)):
            shape = self.unit(body, shape)
        self.outputs(body, shape)
        lines = "\n".join(f"    {line}" for line in body.lines)
        return f"network Net{index}({parameter}={classes}) {{\n{lines}\n}}"

    # --- inputs ----------------------------------------------------------------------------------

    def image_input(self, body: Body) -> Shape:
        channels = self.integer(1, 4)
        if self.chance(50):
            shape = Shape("image", channels, SIZE, SIZE, symbolic=True)
            sizes = "H, W"
        else:
            shape = Shape("image", channels, self.integer(4, 16), self.integer(4, 16))
            sizes = f"{shape.height}, {shape.width}"
        body.lines.append(f"in image: [{channels}, {sizes}]")
        if self.chance(20):
            extra = self.integer(1, 3)
            body.lines.append(f"in extra: [{extra}, {sizes}]")
            body.lines.append("x = concat(image, extra, dim=1)")
            return shape.features_to(channels + extra)
        body.lines.append("x = image")
        return shape

    def sequence_input(self, body: Body) -> Shape:
        symbolic = self.chance(60)
        length = SIZE if symbolic else self.integer(1, 12)
        size = "T" if symbolic else str(length)
        features = self.pick(CHANNELS)
        shape = Shape("sequence", int(features), length=length, symbolic=symbolic)
        if self.chance(50):
            vocab = self.integer(2, 50)
            body.lines.append(f"in tokens: int64[{size}]")
            embed = self.named(self.op(f"embedding({vocab}, {features})"), body, "embed")
            body.lines.append(f"x = tokens -> {embed}")
        else:
            body.lines.append(f"in x: [{size}, {features}]")
        if self.chance(20):
            width = int(self.pick(CHANNELS))
            body.memory = width
            body.lines.append(f"in memory: [S, {width}]")
            heads = self.heads(shape.features)
            body.lines.append(f"x = x -> attention(memory, heads={heads}) as cross")
        return shape

    def vector_input(self, body: Body) -> Shape:
        features = self.integer(1, 24)
        body.lines.append(f"in x: [{features}]")
        return Shape("vector", features)

    def heads(self, features: int) -> int:
        return int(self.pick([str(h) for h in (1, 2, 4) if features % h == 0]))

    # --- outputs ---------------------------------------------------------------------------------

    def outputs(self, body: Body, shape: Shape) -> None:
        for index in range(self.integer(1, 2)):
            head = self.head(body, shape)
            name = ("logits", "scores")[index]
            body.lines.append(
                f"out {name} = x -> {head}" if self.chance(70) else f"out x -> {head}"
            )

    def head(self, body: Body, shape: Shape) -> str:
        classes = self.number(next(iter(body.scope.values())), body)
        linear = self.op(f"linear({classes})")
        if shape.kind == "image":
            small = not shape.symbolic and shape.features * shape.height * shape.width <= 2048
            if small and self.chance(50):
                return f"flatten -> {linear}"
            if self.chance(30):
                return self.op(f"conv2d({classes}, 1)")
            pool = self.pick(("adaptive_avgpool2d(1) -> flatten", "global_avgpool"))
            return f"{pool} -> {linear}"
        if shape.kind == "sequence" and self.chance(40):
            hidden = self.pick(CHANNELS)
            cell = self.op(self.pick(("lstm", "gru", "rnn")))
            return f'{cell}({hidden}, output="last") -> {linear}'
        return f"{linear} as {body.name('head')}" if self.chance(50) else linear

    # --- units: one or a few statements that rebind x ---------------------------------------------

    def unit(self, body: Body, shape: Shape) -> Shape:
        name = self.pick(units_for(shape.kind))
        self.units.add(name)
        if name in NEWER_UNITS:
            return NEWER_UNITS[name][1](self, body, shape)
        return getattr(self, f"unit_{name}")(body, shape)

    def unit_chain(self, body: Body, shape: Shape) -> Shape:
        stages, shape = self.stages(body, shape, self.integer(1, 4), keep_size=False)
        body.lines.append(f"x = x -> {' -> '.join(stages)}")
        return shape

    def unit_named(self, body: Body, shape: Shape) -> Shape:
        """A named chain, or a named repeat of a chain that keeps the shape (each copy one
        child, or several)."""
        if self.chance(30):
            stages = self.preserving(body, shape, self.integer(1, 2))
            # a stage named with `as` would name every copy alike (A212): one copy then
            copies = 1 if any(" as " in stage for stage in stages) else self.integer(1, 4)
            count = self.count(copies, body)
            body.lines.append(f"x = x -> ({' -> '.join(stages)}) * {count} as {body.name('rep')}")
            return shape
        stages, shape = self.stages(body, shape, self.integer(1, 4), keep_size=False)
        if len(stages) > 1 and self.chance(30):  # a numbered child: `[a -> b]`
            cut = self.integer(1, len(stages) - 1)
            stages = [f"[{' -> '.join(stages[:cut])}]", *stages[cut:]]
        body.lines.append(f"x = x -> ({' -> '.join(stages)}) as {body.name('seq')}")
        return shape

    def unit_skip(self, body: Body, shape: Shape) -> Shape:
        stages = self.preserving(body, shape, self.integer(1, 3))
        chain = " -> ".join(stages)
        form = self.integer(0, 4)
        if form == 4:
            body.lines.append(f"x = x -> residual({chain})")
            return shape
        branch = self.fresh(body.temporary())
        body.lines.append(f"{branch} = x -> {chain}")
        body.lines.append(
            (
                f"x = {branch} + x",
                f"x = x + {branch}",
                f"x = relu(x + {branch})",
                f"x = ({branch} + x) -> relu",
            )[form]
        )
        return shape

    def unit_concat(self, body: Body, shape: Shape) -> Shape:
        """Branches joined: bound to names, or written as `branches(...)`, perhaps named."""
        chains = []
        total = 0
        keep = self.chance(30)
        if keep:
            chains.append("x")
            total += shape.features
        while len(chains) < 2 or (len(chains) < 3 and self.chance(30)):
            stages, out = self.stages(body, shape, self.integer(1, 3), keep_size=True)
            chains.append(" -> ".join(stages))
            total += out.features
        dim = "-1" if shape.kind == "vector" and self.chance(50) else "1"
        if not keep and self.chance(40):
            named = f" as {body.name('branches')}" if self.chance(50) else ""
            body.lines.append(
                f"x = x -> branches({', '.join(chains)}){named} -> concat(dim={dim})"
            )
            return shape.features_to(total)
        names = []
        for chain in chains:
            if chain == "x":
                names.append(chain)
                continue
            names.append(self.fresh(body.temporary()))
            body.lines.append(f"{names[-1]} = x -> {chain}")
        body.lines.append(f"x = concat({', '.join(names)}, dim={dim})")
        return shape.features_to(total)

    def unit_dense(self, body: Body, shape: Shape) -> Shape:
        growth = self.integer(1, 4)
        count = self.integer(1, 4)
        if shape.kind == "image":
            inner = "batchnorm2d -> relu -> conv2d(growth, 3, padding=1)"
            self.ops.update({"batchnorm2d", "conv2d"})
        else:
            inner = "linear(growth) -> relu"
            self.ops.add("linear")
        if self.chance(50):
            name = self.block_name("DenseLayer")
            self.blocks.append(f"block {name}(growth) {{\n    in x\n    out x -> {inner}\n}}")
            layer = f"{name}({self.number(growth, body)})"
        else:
            layer = "(" + inner.replace("growth", self.number(growth, body)) + ")"
        named = f" as {body.name('dense')}" if self.chance(50) else ""
        body.lines.append(f"x = x -> dense({layer} * {count}){named}")
        return shape.features_to(shape.features + count * growth)

    def unit_down(self, body: Body, shape: Shape) -> Shape:
        if shape.height < 4 or shape.width < 4:
            return self.unit_chain(body, shape)
        if self.chance(50):
            stage = self.op(self.pick(("maxpool2d(2)", "avgpool2d(2)", "maxpool2d(2, stride=2)")))
            height, width = shape.height // 2, shape.width // 2
        else:
            channels = int(self.pick(CHANNELS))
            stage = self.op(f"conv2d({self.number(channels, body)}, 3, stride=2, padding=1)")
            height, width = (shape.height - 1) // 2 + 1, (shape.width - 1) // 2 + 1
            shape = shape.features_to(channels)
        body.lines.append(f"x = x -> {stage}")
        return replace(shape, height=height, width=width)

    def unit_sequence_of(self, body: Body, shape: Shape) -> Shape:
        """An image as a sequence of its pixels, ViT style: (C, H, W) -> (H*W, C)."""
        if shape.height * shape.width > 1024:
            return self.unit_down(body, shape)
        body.lines.append("x = x -> flatten(2) -> transpose(1, 2)")
        return Shape(
            "sequence",
            shape.features,
            length=shape.height * shape.width,
            symbolic=shape.symbolic,
        )

    def unit_recurrent(self, body: Body, shape: Shape) -> Shape:
        hidden = int(self.pick(CHANNELS))
        cell = self.op(self.pick(("lstm", "gru", "rnn")))
        layers = self.integer(1, 2)
        both = self.chance(40)
        args = [self.number(hidden, body)]
        if layers > 1:
            args.append(f"num_layers={layers}")
        if both:
            args.append("bidirectional=true")
        stage = self.named(f"{cell}({', '.join(args)})", body, "rnn")
        body.lines.append(f"x = x -> {stage}")
        return shape.features_to(hidden * (2 if both else 1))

    def unit_convolve(self, body: Body, shape: Shape) -> Shape:
        """A convolution along the time axis of a sequence, between two transposes."""
        channels = int(self.pick(CHANNELS))
        conv = self.op(f"conv1d({self.number(channels, body)}, 3, padding=1)")
        body.lines.append(f"x = x -> transpose(1, 2) -> {conv} -> transpose(1, 2)")
        return shape.features_to(channels)

    # --- blocks ----------------------------------------------------------------------------------

    def block_name(self, stem: str) -> str:
        return self.fresh(f"{stem}{len(self.blocks) + 1}")

    def unit_block(self, body: Body, shape: Shape) -> Shape:
        """A block with parameters (some with defaults) written for the shape it receives;
        repeated with `* n` when it keeps the shape."""
        p, q = self.fresh("p"), self.fresh("q")
        values = {p: int(self.pick(CHANNELS)), q: self.integer(1, 3)}
        default = values[q] if self.chance(50) else values[q] + 1
        params = [p, f"{q}={default}"] if self.chance(50) else [p, q]
        inner = Body(dict(values), self.layer_names)
        keep = self.chance(50)
        if keep:
            stages = self.preserving(inner, shape, self.integer(1, 3))
            out = shape
        else:
            stages, out = self.stages(inner, shape, self.integer(1, 3), keep_size=False)
        if self.chance(40):
            inner.lines.append(f"y = x -> {' -> '.join(stages)}")
            inner.lines.append("out y + x" if keep else "out y")
        else:
            inner.lines.append(f"out x -> {' -> '.join(stages)}")
        name = self.block_name("Block")
        lines = "\n".join(f"    {line}" for line in ["in x", *inner.lines])
        self.blocks.append(f"block {name}({', '.join(params)}) {{\n{lines}\n}}")
        args = [self.number(values[p], body)]
        if params[1] == q or values[q] != default:
            written = self.number(values[q], body)
            args.append(f"{q}={written}" if self.chance(50) else written)
        call = f"{name}({', '.join(args)})"
        if keep and self.chance(60):
            call = f"{call} * {self.count(self.integer(1, 4), body)}"
        if self.chance(50):
            call = f"{call} as {body.name('stage')}"
        body.lines.append(f"x = x -> {call}")
        return out

    def unit_scaled(self, body: Body, shape: Shape) -> Shape:
        """Inception-ResNet's scaled residual, a block whose scale is its parameter, used with
        one or two scales (the class keeps the scale as an attribute), or a scale in place."""
        if self.chance(30):
            stages = self.preserving(body, shape, self.integer(1, 2))
            factor = self.pick(("0.5", "2", "0.17"))
            scaled = self.pick((f"x * {factor}", f"{factor} * x", f"x / {factor}"))
            body.lines.append(f"x = {scaled} -> {' -> '.join(stages)}")
            return shape
        stages = self.preserving(
            Body({}, self.layer_names), shape, self.integer(1, 2)
        )  # the block's own names
        name = self.block_name("Scaled")
        self.blocks.append(
            f"block {name}(scale=0.17) {{\n    in x\n"
            f"    out x + scale * (x -> {' -> '.join(stages)})\n}}"
        )
        calls = [f"{name}", f"{name}(0.1)", f"{name}(scale=0.5)"][: self.integer(1, 3)]
        body.lines.append(f"x = x -> {' -> '.join(calls)}")
        return shape

    def unit_learned(self, body: Body, shape: Shape) -> Shape:
        """A learned tensor added to every sample (ViT's position embeddings); its shape must be
        fixed, so a symbolic shape takes another unit."""
        if shape.symbolic:
            return self.unit_chain(body, shape)
        sizes = {
            "image": (shape.features, shape.height, shape.width),
            "sequence": (shape.length, shape.features),
            "vector": (shape.features,),
        }[shape.kind]
        std = ", std=0.02" if self.chance(50) else ""
        learned = f"parameter({', '.join(map(str, sizes))}{std}) as {body.name('table')}"
        body.lines.append(f"x = x + (x -> {learned})")
        return shape

    def unit_residual_block(self, body: Body, shape: Shape) -> Shape:
        """ResNet's basic block: a projection on the shortcut when the shape changes, so a
        repetition holds two structures (the first instance projects, the others do not)."""
        name = self.block_name("Residual")
        self.ops.update({"conv2d", "batchnorm2d"})
        self.blocks.append(
            f"block {name}(planes, stride=1) {{\n"
            "    in x\n"
            "    y = x -> conv2d(planes, 3, stride=stride, padding=1, bias=false) as conv1\n"
            "          -> batchnorm2d as bn1 -> relu\n"
            "          -> conv2d(planes, 3, padding=1, bias=false) as conv2 -> batchnorm2d as bn2\n"
            "    skip = if stride != 1 or x.channels != planes\n"
            "           then x -> (conv2d(planes, 1, stride=stride, bias=false)\n"
            "                      -> batchnorm2d) as downsample\n"
            "           else x\n"
            "    out relu(y + skip)\n"
            "}"
        )
        planes = int(self.pick(CHANNELS))
        written = self.number(planes, body)
        stride = 2 if shape.height >= 4 and shape.width >= 4 and self.chance(40) else 1
        first = f"{name}({written}, stride=2)" if stride == 2 else f"{name}({written})"
        count = self.integer(1, 3)
        if stride == 2:
            call = f"({first} -> {name}({written}))" if count > 1 else first
        else:
            call = f"{first} * {count}"
        body.lines.append(f"x = x -> {call} as {body.name('layer')}")
        if stride == 2:
            shape = replace(
                shape, height=(shape.height - 1) // 2 + 1, width=(shape.width - 1) // 2 + 1
            )
        return shape.features_to(planes)

    def unit_transformer(self, body: Body, shape: Shape) -> Shape:
        name = self.block_name("Layer")
        self.ops.update({"layernorm", "attention", "linear"})
        causal = ", causal=true" if self.chance(30) else ""
        self.blocks.append(
            f"block {name}(heads, expansion=2) {{\n"
            "    in x\n"
            f"    x = x + (x -> layernorm as ln_1 -> attention(heads=heads{causal}) as attn)\n"
            "    out x + (x -> layernorm as ln_2\n"
            "                -> (linear(expansion * x.features) -> gelu -> linear(x.features))"
            " as mlp)\n"
            "}"
        )
        heads = self.number(self.heads(shape.features), body)
        call = f"{name}({heads}) * {self.integer(1, 2)}"
        body.lines.append(f"x = x -> {call} as {body.name('blocks')}")
        return shape

    # --- stages: single layers inside a chain ----------------------------------------------------

    def stages(
        self, body: Body, shape: Shape, count: int, keep_size: bool
    ) -> tuple[list[str], Shape]:
        """``count`` stages from ``shape``; with ``keep_size`` only the feature axis changes."""
        stages = []
        for _ in range(count):
            stage, shape = self.stage(body, shape, keep_size)
            stages.append(stage)
        return stages, shape

    def preserving(self, body: Body, shape: Shape, count: int) -> list[str]:
        """Stages that give back exactly ``shape``."""
        stages, out = self.stages(body, shape, count, keep_size=True)
        if out.features != shape.features:
            stages.append(self.resize(body, out, shape.features)[0])
        return stages

    def stage(self, body: Body, shape: Shape, keep_size: bool) -> tuple[str, Shape]:
        roll = self.integer(0, 9)
        if roll < 3:
            return self.resize(body, shape, int(self.pick(CHANNELS)))
        if roll < 5:
            return self.named(self.op(self.pick(ACTIVATIONS)), body, "act"), shape
        if roll < 7:
            return self.norm(body, shape), shape
        if roll == 7:
            drop = self.pick(("dropout(0.1)", "dropout(p=0.25)", "identity"))
            if shape.kind == "image" and self.chance(30):
                drop = "dropout2d(0.1)"
            return self.op(drop), shape
        if shape.kind == "sequence" and roll == 8:
            heads = self.number(self.heads(shape.features), body)
            causal = ", causal=true" if self.chance(30) else ""
            return self.named(self.op(f"attention({heads}{causal})"), body, "attn"), shape
        if shape.kind == "image" and not keep_size and shape.height >= 4 and shape.width >= 4:
            pool = self.op(self.pick(("maxpool2d(2)", "avgpool2d(2)")))
            return pool, replace(shape, height=shape.height // 2, width=shape.width // 2)
        return self.resize(body, shape, int(self.pick(CHANNELS)))

    def resize(self, body: Body, shape: Shape, features: int) -> tuple[str, Shape]:
        """A layer that changes the feature axis to ``features`` and keeps every other size."""
        written = self.number(features, body)
        if shape.kind != "image":
            bias = ", bias=false" if self.chance(20) else ""
            return self.named(self.op(f"linear({written}{bias})"), body, "fc"), shape.features_to(
                features
            )
        kernel = self.pick(("1", "3", "3", "5"))
        args = [written, kernel]
        if kernel != "1":
            args.append(f"padding={int(kernel) // 2}" if self.chance(70) else 'padding="same"')
        common = [g for g in (2, 4) if shape.features % g == 0 and features % g == 0]
        if common and self.chance(20):
            args.append(f"groups={self.pick([str(g) for g in common])}")
        if self.chance(20):
            args.append("bias=false")
        conv = self.op(f"conv2d({', '.join(args)})")
        return self.named(conv, body, "conv"), shape.features_to(features)

    def norm(self, body: Body, shape: Shape) -> str:
        if shape.kind == "image":
            groups = [g for g in (1, 2, 4) if shape.features % g == 0]
            options = ["batchnorm2d", f"groupnorm({self.pick([str(g) for g in groups])})"]
            return self.named(self.op(self.pick(options)), body, "norm")
        if shape.kind == "sequence":
            return self.named(self.op(self.pick(("layernorm", "rmsnorm"))), body, "norm")
        return self.named(self.op(self.pick(("layernorm", "batchnorm1d"))), body, "norm")


def valid_spec(choices: Choices) -> str:
    """One spec that must check without errors."""
    return SpecWriter(choices).spec()
