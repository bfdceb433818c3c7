"""How fast archc reads a large spec, next to Python reading the same networks written in PyTorch.

Generates a spec of about ``--lines`` lines (ResNet, GPT, DenseNet, GAN and LSTM tagger
definitions, renamed and resized round after round) and the same networks as hand-written
PyTorch modules, about as many lines long. It then times ``archc.syntax.parse.parse`` on the
spec and ``ast.parse`` on the PyTorch source: the median of ``--repeat`` runs each, with archc's
parser already built (its one-time construction cost is reported on its own line).

``ast.parse`` is the floor for "what people would otherwise use": reading a PyTorch model means at
least parsing its source, and CPython's parser is written in C. The ratio says how far archc's
pure-Python LALR front end is from that floor. Both inputs are generated deterministically, so
every run on a machine measures the same text.

Run from the repository root (``python -m benchmarks`` runs it with the other benchmarks)::

    python -m benchmarks.parse_speed                 # 10,000 lines, 5 repeats
    python -m benchmarks.parse_speed --lines 2000 --repeat 3 --save /tmp/bench
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template

from archc.errors import SourceFile
from archc.syntax import parse as parse_module
from archc.syntax.parse import parse
from benchmarks.common import Mode, Options, Section, Table, Target, timed

# One round of networks; `$n` makes every name unique, the other fields vary the sizes.
ARCH_ROUND = Template("""\
# Residual network $n: two 3x3 convolutions per block, with a projection when the shape changes.
block ResBlock$n(planes, stride=1) {
    in x
    y = x -> conv2d(planes, 3, stride=stride, padding=1, bias=false) as conv1
          -> batchnorm2d as bn1 -> relu
          -> conv2d(planes, 3, padding=1, bias=false) as conv2 -> batchnorm2d as bn2
    skip = if stride != 1 or x.channels != planes
           then x -> (conv2d(planes, 1, stride=stride, bias=false) -> batchnorm2d) as downsample
           else x
    out relu(y + skip)
}

network ResNet$n(classes=$classes, width=$width) {
    in image: [3, 224, 224]
    init conv2d.weight: kaiming_normal(mode="fan_out", nonlinearity="relu")
    x = image -> conv2d(width, 7, stride=2, padding=3, bias=false) as conv1
              -> batchnorm2d as bn1 -> relu -> maxpool2d(3, stride=2, padding=1)
    x = x -> ResBlock$n(width) * 2 as layer1
    x = x -> (ResBlock$n(2 * width, stride=2) -> ResBlock$n(2 * width)) as layer2
    x = x -> (ResBlock$n(4 * width, stride=2) -> ResBlock$n(4 * width)) as layer3
    out logits = x -> adaptive_avgpool2d(1) -> flatten -> linear(classes) as fc
}

# Decoder-only transformer $n with causal self-attention and tied embeddings.
block Layer$n(width, heads, p_drop=0.1) {
    in x
    assert width % heads == 0, "width must be a multiple of heads"
    x = x + (x -> layernorm as ln_1 -> attention(heads, causal=true, dropout=p_drop) as attn
               -> dropout(p_drop))
    out x + (x -> layernorm as ln_2
                -> (linear(4 * width) as c_fc -> gelu -> linear(width) as c_proj
                    -> dropout(p_drop)) as mlp)
}

network GPT$n(vocab=50_257, context=1024, layers=$layers, heads=12, width=768) {
    in tokens: int64[T]
    x = tokens -> embedding(vocab, width) as wte -> learned_positions(context) as wpe
               -> dropout(0.1)
    x = x -> Layer$n(width, heads) * layers as h -> layernorm as ln_f
    out logits = x -> linear(vocab, bias=false) as lm_head
    tie lm_head.weight = wte.weight
    init linear.weight: normal(std=0.02)
    init "h.*.attn.out_proj.weight": normal(std=0.02 / sqrt(2 * layers))
}

# Densely connected network $n: each layer sees every earlier output of its block.
block DenseLayer$n(growth=32, bn_size=4) {
    in x
    out x -> batchnorm2d as norm1 -> relu -> conv2d(bn_size * growth, 1, bias=false) as conv1
          -> batchnorm2d as norm2 -> relu -> conv2d(growth, 3, padding=1, bias=false) as conv2
}

block Transition$n {
    in x
    out x -> batchnorm2d as norm -> relu -> conv2d(x.channels // 2, 1, bias=false) as conv
          -> avgpool2d(2, stride=2) as pool
}

network DenseNet$n(growth=32, layers=$layers, classes=$classes) {
    in image: [3, 224, 224]
    init batchnorm2d: weight=1, bias=0
    x = image -> conv2d(2 * growth, 7, stride=2, padding=3, bias=false) as conv0
              -> batchnorm2d as norm0 -> relu -> maxpool2d(3, stride=2, padding=1)
    x = x -> dense(DenseLayer$n(growth) * layers) as denseblock1 -> Transition$n as transition1
    x = x -> dense(DenseLayer$n(growth) * (2 * layers)) as denseblock2
    out logits = x -> batchnorm2d as norm5 -> relu -> adaptive_avgpool2d(1) -> flatten
                   -> linear(classes) as classifier
}

# Adversarial pair $n on flattened 28x28 images.
network Generator$n(latent=$latent, pixels=784) {
    in z: [latent]
    out image = z -> linear(256) -> leaky_relu(0.2)
                  -> linear(512) -> leaky_relu(0.2)
                  -> linear(pixels) -> tanh
}

network Discriminator$n(pixels=784) {
    in image: [pixels]
    out p_real = image -> linear(512) -> leaky_relu(0.2)
                       -> linear(256) -> leaky_relu(0.2)
                       -> linear(1) -> sigmoid
}

# Part-of-speech tagger $n: a bidirectional LSTM over word embeddings.
network Tagger$n(vocab=20_000, embed=100, hidden=$hidden, tags=17) {
    in sentence: int64[T]
    init "encoder.weight_hh_l*": orthogonal
    h = sentence -> embedding(vocab, embed) as word_embeddings
                 -> lstm(hidden, num_layers=2, bidirectional=true) as encoder
    out tag_scores = h -> linear(tags) as hidden2tag -> log_softmax(dim=-1)
}

""")

TORCH_HEADER = """\
import math

import torch
import torch.nn.functional as F
from torch import nn

"""

# The same round as ARCH_ROUND, written the way torchvision and nanoGPT write these modules.
TORCH_ROUND = Template("""\
# Residual network $n: two 3x3 convolutions per block, with a projection when the shape changes.
class ResBlock$n(nn.Module):
    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        return self.relu(out + identity)


class ResNet$n(nn.Module):
    def __init__(self, classes: int = $classes, width: int = $width) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = nn.Sequential(ResBlock$n(width, width), ResBlock$n(width, width))
        self.layer2 = nn.Sequential(
            ResBlock$n(width, 2 * width, stride=2), ResBlock$n(2 * width, 2 * width)
        )
        self.layer3 = nn.Sequential(
            ResBlock$n(2 * width, 4 * width, stride=2), ResBlock$n(4 * width, 4 * width)
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4 * width, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(x)


# Decoder-only transformer $n with causal self-attention and tied embeddings.
class Attention$n(nn.Module):
    def __init__(self, width: int, heads: int, p_drop: float = 0.1) -> None:
        super().__init__()
        assert width % heads == 0, "width must be a multiple of heads"
        self.heads = heads
        self.p_drop = p_drop
        self.c_attn = nn.Linear(width, 3 * width)
        self.c_proj = nn.Linear(width, width)
        self.dropout = nn.Dropout(p_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        k = k.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        v = v.view(B, T, self.heads, C // self.heads).transpose(1, 2)
        p = self.p_drop if self.training else 0.0
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=p, is_causal=True)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.dropout(self.c_proj(y))


class MLP$n(nn.Module):
    def __init__(self, width: int, p_drop: float = 0.1) -> None:
        super().__init__()
        self.c_fc = nn.Linear(width, 4 * width)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * width, width)
        self.dropout = nn.Dropout(p_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Layer$n(nn.Module):
    def __init__(self, width: int, heads: int, p_drop: float = 0.1) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = Attention$n(width, heads, p_drop)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp = MLP$n(width, p_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT$n(nn.Module):
    def __init__(
        self, vocab: int = 50_257, context: int = 1024, layers: int = $layers, heads: int = 12,
        width: int = 768,
    ) -> None:
        super().__init__()
        self.wte = nn.Embedding(vocab, width)
        self.wpe = nn.Embedding(context, width)
        self.h = nn.ModuleList([Layer$n(width, heads) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(width)
        self.lm_head = nn.Linear(width, vocab, bias=False)
        self.lm_head.weight = self.wte.weight
        for module in self.modules():
            if isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, mean=0.0, std=0.02)
        for name, p in self.named_parameters():
            if name.endswith("attn.c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * layers))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(tokens.size(1), device=tokens.device)
        x = self.wte(tokens) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


# Densely connected network $n: each layer sees every earlier output of its block.
class DenseLayer$n(nn.Module):
    def __init__(self, in_channels: int, growth: int = 32, bn_size: int = 4) -> None:
        super().__init__()
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_channels, bn_size * growth, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(bn_size * growth)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bn_size * growth, growth, 3, padding=1, bias=False)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        x = torch.cat(features, 1)
        x = self.conv1(self.relu1(self.norm1(x)))
        return self.conv2(self.relu2(self.norm2(x)))


class DenseBlock$n(nn.ModuleDict):
    def __init__(self, layers: int, in_channels: int, growth: int = 32) -> None:
        super().__init__()
        for i in range(layers):
            self.add_module(f"denselayer{i + 1}", DenseLayer$n(in_channels + i * growth, growth))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class Transition$n(nn.Sequential):
    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(in_channels, in_channels // 2, 1, bias=False)
        self.pool = nn.AvgPool2d(2, stride=2)


class DenseNet$n(nn.Module):
    def __init__(self, growth: int = 32, layers: int = $layers, classes: int = $classes) -> None:
        super().__init__()
        channels = 2 * growth
        self.conv0 = nn.Conv2d(3, channels, 7, stride=2, padding=3, bias=False)
        self.norm0 = nn.BatchNorm2d(channels)
        self.relu0 = nn.ReLU(inplace=True)
        self.pool0 = nn.MaxPool2d(3, stride=2, padding=1)
        self.denseblock1 = DenseBlock$n(layers, channels, growth)
        channels += layers * growth
        self.transition1 = Transition$n(channels)
        channels //= 2
        self.denseblock2 = DenseBlock$n(2 * layers, channels, growth)
        channels += 2 * layers * growth
        self.norm5 = nn.BatchNorm2d(channels)
        self.classifier = nn.Linear(channels, classes)
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool0(self.relu0(self.norm0(self.conv0(x))))
        x = self.transition1(self.denseblock1(x))
        x = F.relu(self.norm5(self.denseblock2(x)))
        x = torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)
        return self.classifier(x)


# Adversarial pair $n on flattened 28x28 images.
class Generator$n(nn.Module):
    def __init__(self, latent: int = $latent, pixels: int = 784) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent, 256), nn.LeakyReLU(0.2),
            nn.Linear(256, 512), nn.LeakyReLU(0.2),
            nn.Linear(512, pixels), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class Discriminator$n(nn.Module):
    def __init__(self, pixels: int = 784) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(pixels, 512), nn.LeakyReLU(0.2),
            nn.Linear(512, 256), nn.LeakyReLU(0.2),
            nn.Linear(256, 1), nn.Sigmoid(),
        )

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.net(image)


# Part-of-speech tagger $n: a bidirectional LSTM over word embeddings.
class Tagger$n(nn.Module):
    def __init__(
        self, vocab: int = 20_000, embed: int = 100, hidden: int = $hidden, tags: int = 17
    ) -> None:
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, embed)
        self.encoder = nn.LSTM(embed, hidden, num_layers=2, bidirectional=True, batch_first=True)
        self.hidden2tag = nn.Linear(2 * hidden, tags)
        for name, p in self.encoder.named_parameters():
            if name.startswith("weight_hh"):
                nn.init.orthogonal_(p)

    def forward(self, sentence: torch.Tensor) -> torch.Tensor:
        h, _ = self.encoder(self.word_embeddings(sentence))
        return F.log_softmax(self.hidden2tag(h), dim=-1)


""")

# Both sources describe these many complete networks per round (plus the blocks they use).
NETWORKS_PER_ROUND = len(re.findall(r"^network ", ARCH_ROUND.template, re.M))


def _sizes(n: int) -> dict[str, int]:
    """Hyperparameters for round ``n``: varied, so the text is not one paragraph copied."""
    return {
        "n": n,
        "classes": (10, 100, 1000)[n % 3],
        "width": 32 * (1 + n % 4),
        "layers": 4 + n % 9,
        "latent": 64 + 8 * (n % 8),
        "hidden": 128 * (1 + n % 3),
    }


def generate(header: str, round_: Template, lines: int) -> tuple[str, int]:
    """``header`` then whole rounds until the text has at least ``lines`` lines; the text and
    the number of rounds."""
    parts = [header]
    count = header.count("\n")
    rounds = 0
    while count < lines:
        text = round_.substitute(_sizes(rounds))
        parts.append(text)
        count += text.count("\n")
        rounds += 1
    return "".join(parts), rounds


def parser_construction() -> tuple[float, float]:
    """Seconds to build the parser ``parse`` uses from the grammar, and to load it from Lark's
    cache.

    Lark keeps its cache in the temporary directory, so pointing that at a fresh, empty one
    forces a full build the first time and a cache load the second.
    """
    build = parse_module.ast_parser.__wrapped__  # past the per-process memo
    saved = tempfile.tempdir
    with tempfile.TemporaryDirectory() as empty:
        tempfile.tempdir = empty
        try:
            return timed(build, 1), timed(build, 1)
        finally:
            tempfile.tempdir = saved


@dataclass(frozen=True)
class Row:
    label: str
    text: str
    networks: int
    seconds: float

    @property
    def lines(self) -> int:
        return self.text.count("\n")

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.seconds


def format_table(rows: Sequence[Row], repeat: int) -> Table:
    headers = ("input", "lines", "bytes", "networks", "median s", "lines/s")
    cells = [
        (
            row.label,
            f"{row.lines:,}",
            f"{len(row.text.encode('utf-8')):,}",
            f"{row.networks:,}",
            f"{row.seconds:.4f}",
            f"{row.lines_per_second:,.0f}",
        )
        for row in rows
    ]
    return Table(f"Parsing a large spec and its PyTorch twin (median of {repeat})", headers, cells)


def measure(lines: int, repeat: int, save: Path | None = None) -> Section:
    spec, spec_rounds = generate("", ARCH_ROUND, lines)
    torch_source, torch_rounds = generate(TORCH_HEADER, TORCH_ROUND, lines)
    if save:
        save.mkdir(parents=True, exist_ok=True)
        (save / "generated.arch").write_text(spec, encoding="utf-8")
        (save / "generated.py").write_text(torch_source, encoding="utf-8")

    cold, cached = parser_construction()
    parse_module.ast_parser()  # built before timing starts, as in any process that parses twice
    source = SourceFile("generated.arch", spec)
    archc_row = Row(
        ".arch  archc parse()",
        spec,
        spec_rounds * NETWORKS_PER_ROUND,
        timed(lambda: parse(source), repeat),
    )
    python_row = Row(
        ".py    ast.parse()",
        torch_source,
        torch_rounds * NETWORKS_PER_ROUND,
        timed(lambda: ast.parse(torch_source), repeat),
    )
    per_line = python_row.lines_per_second / archc_row.lines_per_second
    per_network = (archc_row.seconds / archc_row.networks) / (
        python_row.seconds / python_row.networks
    )
    return Section(
        "Parsing",
        "archc's front end (lexing, layout, LALR parse, AST) on a generated spec, next to "
        "CPython's C parser (`ast.parse`) on the same networks written as PyTorch modules: the "
        "floor of reading a model from source.",
        [format_table([archc_row, python_row], repeat)],
        [parse_target(archc_row)],
        notes=[
            f"archc parse() / ast.parse(): {per_line:.1f}x the time per line, "
            f"{per_network:.1f}x the time per network described",
            f"archc parser construction (once per process): {cold:.3f} s from the grammar, "
            f"{cached:.3f} s from Lark's on-disk cache",
        ],
    )


# The target is about a spec of this many lines; smaller runs only check the plumbing.
TARGET_LINES = 10_000


def parse_target(row: Row) -> Target:
    goal = f"parsing a {TARGET_LINES:,}-line spec < 1 s"
    if row.lines < TARGET_LINES:
        return Target(goal, "not run", None, f"this mode parses {row.lines:,} lines")
    why = (
        "lexing, the layout rules, the LALR loop over Lark's tables (archc/syntax/fast_lalr.py) "
        "and the AST builder's callbacks all run in Python; spans work out their lines only "
        "when asked"
    )
    return Target(goal, f"{row.seconds:.3f} s ({row.lines:,} lines)", row.seconds < 1, why)


# Lines of spec and timed runs per mode.
SIZES: dict[Mode, tuple[int, int]] = {"smoke": (200, 1), "quick": (2_000, 3), "full": (10_000, 5)}


def run(options: Options) -> Section:
    return measure(*SIZES[options.mode])


def main(argv: Sequence[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--lines", type=int, default=10_000, help="size of each input")
    options.add_argument("--repeat", type=int, default=5, help="timed runs per input")
    options.add_argument("--save", type=Path, help="also write the two inputs to this folder")
    args = options.parse_args(argv)
    if args.lines < 1 or args.repeat < 1:
        options.error("--lines and --repeat must be positive")
    print(measure(args.lines, args.repeat, args.save).text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
