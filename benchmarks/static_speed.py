"""Static analysis: archc's parameter and MAC counts next to what PyTorch users run for them.

For each zoo network (ResNet-50, DenseNet-121, ViT-B/16, GPT-2 small and XL) this times

* ``archc.api.analyse`` + ``summary.totals`` in process (parser built, one warm-up call), also
  with every block instance elaborated afresh (no replay, archc/semantics/replay.py) and split
  into its phases (reading and parsing, elaboration, totals), and a cold
  ``archc summary --json FILE`` process, end to end;
* instantiating the same model in PyTorch on the CPU and counting its parameters, and on the
  meta device (the model class is the one ``archc.runtime.build`` makes, which is the code a
  person would write by hand, so only the instantiation is timed);
* ``torchinfo.summary`` on the CPU model (a real forward pass with hooks),

then compares archc's MACs with torchinfo's, fvcore's and thop's on the image networks, op by
op against fvcore. It also times cold processes: ``archc check specs/resnet50.arch`` next to
``python -c pass`` and ``python -c "import torch"``, and breaks down the import of archc.

Run from the repository root: ``python -m benchmarks.static_speed [--mode quick]``.
"""

from __future__ import annotations

import compileall
import contextlib
import io
import logging
import re
import subprocess
import sys
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from archc import api, dims, runtime
from archc.backends import summary
from archc.errors import UsageError
from archc.semantics import replay
from archc.semantics.elaborate import elaborate
from archc.semantics.ir import Network
from archc.semantics.program import load_program
from benchmarks.common import (
    ROOT,
    Mode,
    Options,
    Section,
    Table,
    Target,
    archc_command,
    command_seconds,
    interleaved,
    ratio,
    secs,
    standalone,
    timed,
)

XL = {"layers": 48, "d_model": 1600, "heads": 25}
# Sequence length of the token inputs torchinfo runs on (archc's counts hold for every T).
TOKENS = 128


@dataclass(frozen=True)
class Subject:
    label: str
    path: str
    overrides: dict[str, Any] = field(default_factory=dict)
    torchinfo: bool = True
    macs: bool = False  # compare MACs with fvcore and thop
    slow_repeat: int | None = None  # fewer CPU builds and torchinfo runs than the mode's repeat

    def defines(self) -> list[str]:
        return [arg for name, value in self.overrides.items() for arg in ("-D", f"{name}={value}")]


RESNET50 = Subject("ResNet-50", "specs/resnet50.arch", macs=True)
GPT2_XL_QUICK = Subject("GPT-2 XL", "specs/gpt2.arch", XL, torchinfo=False, slow_repeat=1)
GPT2_XL = Subject("GPT-2 XL", "specs/gpt2.arch", XL, slow_repeat=3)
ZOO = (
    RESNET50,
    Subject("DenseNet-121", "specs/densenet121.arch", macs=True),
    Subject("ViT-B/16", "specs/vit_b_16.arch", macs=True),
    Subject("GPT-2 small", "specs/gpt2.arch"),
)
TINY_GPT = {"layers": 2, "d_model": 64, "heads": 2, "vocab": 1000, "context": 256}


@dataclass(frozen=True)
class Settings:
    subjects: tuple[Subject, ...]
    repeat: int
    cli_repeat: int  # 0: no cold `archc summary` per network
    process_repeat: int
    references: bool  # also time importing archc.cli and torch in fresh processes


SETTINGS: dict[Mode, Settings] = {
    "smoke": Settings(
        (
            Subject("NiN", "specs/nin.arch", macs=True),
            Subject("GPT-2 tiny", "specs/gpt2.arch", TINY_GPT),
        ),
        repeat=1,
        cli_repeat=0,
        process_repeat=1,
        references=False,
    ),
    "quick": Settings(
        (*ZOO, GPT2_XL_QUICK), repeat=3, cli_repeat=1, process_repeat=3, references=True
    ),
    "full": Settings((*ZOO, GPT2_XL), repeat=5, cli_repeat=5, process_repeat=10, references=True),
}


class Blocked(Exception):
    """archc could not analyse a spec; the message says what it reported."""


@dataclass
class Measured:
    subject: Subject
    network: Network
    times: dict[str, float]
    counts: dict[str, int]  # parameters counted by each tool
    macs: dict[str, int | None] = field(default_factory=dict)
    fvcore_ops: Counter[str] = field(default_factory=Counter)

    @property
    def layers(self) -> int:
        return sum(1 for node in self.network.nodes() if node.kind != "input")


# --- archc ---------------------------------------------------------------------------------------


def analysed(subject: Subject) -> Network:
    """The spec's network: the last one it defines, as ``runtime.build`` picks it."""
    try:
        networks, diagnostics = api.analyse(str(ROOT / subject.path), None, subject.overrides)
    except UsageError as error:  # a spec that cannot be read
        raise Blocked(str(error)) from None
    errors = [d for d in diagnostics if d.is_error]
    if errors or not networks:
        where = f"{errors[0].code} {errors[0].message}" if errors else "no network"
        raise Blocked(f"{subject.path}: {where}")
    return networks[-1]


def archc_totals(subject: Subject) -> dict[str, Any]:
    return summary.totals(analysed(subject))


def without_replay(subject: Subject) -> dict[str, Any]:
    with replay.disabled():
        return archc_totals(subject)


def phases(subject: Subject, repeat: int) -> dict[str, float]:
    """Median seconds of each phase of `archc_totals`, run on its own."""
    path = str(ROOT / subject.path)
    file, _ = load_program(path, None)
    (network, *_), _ = elaborate(file, None, subject.overrides)
    return {
        "read and parse": timed(lambda: load_program(path, None), repeat),
        "elaborate": timed(lambda: elaborate(file, None, subject.overrides), repeat),
        "totals": timed(lambda: summary.totals(network), repeat),
    }


# --- PyTorch -------------------------------------------------------------------------------------


def model_class(subject: Subject) -> type[torch.nn.Module]:
    """The generated class; building on the meta device costs no memory."""
    return type(runtime.build(str(ROOT / subject.path), device="meta", **subject.overrides))


def instantiate(cls: type[torch.nn.Module], device: str) -> int:
    """Build the model on ``device`` and count its parameters, as a PyTorch user would."""
    with torch.device(device):
        model = cls()
    return sum(p.numel() for p in model.parameters())


def sample(network: Network) -> torch.Tensor:
    """One input of batch 1 for the network's (single) input; T is TOKENS."""
    (ref,) = network.inputs.values()
    tensor = network.type_of(ref)
    shape = [dims.evaluate(d, {dims.BATCH_NAME: 1, "T": TOKENS}) for d in tensor.shape]
    if tensor.dtype.startswith("int"):
        return torch.zeros(shape, dtype=getattr(torch, tensor.dtype))
    return torch.randn(shape, dtype=getattr(torch, tensor.dtype))


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence the warnings, log lines and prints the counting tools emit on our models."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            yield
        finally:
            logging.disable(logging.NOTSET)


def torchinfo_summary(model: torch.nn.Module, x: torch.Tensor) -> Any:
    import torchinfo

    with quiet():
        return torchinfo.summary(model, input_data=[x], verbose=0)


def fvcore_macs(model: torch.nn.Module, x: torch.Tensor) -> Counter[str]:
    """fvcore's counts by operator (its "flops" are multiply-accumulates)."""
    from fvcore.nn import FlopCountAnalysis

    with quiet(), torch.no_grad():
        analysis = FlopCountAnalysis(model, (x,))
        analysis.unsupported_ops_warnings(False)
        analysis.uncalled_modules_warnings(False)
        return Counter(analysis.by_operator())


def thop_macs(model: torch.nn.Module, x: torch.Tensor) -> int:
    import thop

    with quiet(), torch.no_grad():
        macs, _ = thop.profile(model, inputs=(x,), verbose=False)
    return int(macs)


def installed(module: str) -> bool:
    with warnings.catch_warnings():  # thop and fvcore warn about deprecations on import
        warnings.simplefilter("ignore")
        try:
            __import__(module)
        except ImportError:
            return False
    return True


# --- one network ---------------------------------------------------------------------------------


def measure(subject: Subject, settings: Settings) -> Measured:
    network = analysed(subject)  # also the warm-up: the parser is built, the files are cached
    cls = model_class(subject)
    instantiate(cls, "meta")  # torch's first meta allocation initialises state once
    times = interleaved(
        {
            "archc": lambda: archc_totals(subject),
            "no replay": lambda: without_replay(subject),
            "meta": lambda: instantiate(cls, "meta"),
        },
        settings.repeat,
    )
    times |= {f"phase {name}": took for name, took in phases(subject, settings.repeat).items()}
    times["cpu"] = timed(lambda: instantiate(cls, "cpu"), subject.slow_repeat or settings.repeat)
    # archc.build end to end: analysis, writing the source, executing it and instantiating on
    # the meta device; the steps after analysis are also timed on their own
    build = lambda: runtime.build(subject.path, device="meta", **subject.overrides)  # noqa: E731
    build()
    times["build"] = timed(build, settings.repeat)
    times |= build_steps(subject, network, cls, settings.repeat)
    counts = {"archc": network.param_count, "torch": instantiate(cls, "meta")}
    measured = Measured(subject, network, times, counts)
    if settings.cli_repeat:
        command = archc_command("summary", "--json", subject.path, *subject.defines())
        times["cli"] = command_seconds(command, settings.cli_repeat)
    if subject.torchinfo or subject.macs:
        compare_tools(measured, cls().eval(), settings)
    return measured


def build_steps(
    subject: Subject, network: Network, cls: type[torch.nn.Module], repeat: int
) -> dict[str, float]:
    """Median seconds of the steps of `runtime.build` after analysis: writing the source,
    executing it, and, of instantiating the class, its `reset_parameters` (the spec's `init`
    rules) run again on a model built on the meta device."""
    source = api.render_source(subject.path, [network], [])
    times = {
        "source": timed(lambda: api.render_source(subject.path, [network], []), repeat),
        "exec": timed(lambda: runtime.load_source(source, "archc_benchmark_build"), repeat),
    }
    with torch.device("meta"):
        model = cls()
    if hasattr(model, "reset_parameters"):  # a class without `init` rules or tensors of its own
        times["meta init"] = timed(model.reset_parameters, repeat)
    return times


def compare_tools(measured: Measured, model: torch.nn.Module, settings: Settings) -> None:
    x = sample(measured.network)
    if measured.subject.torchinfo and installed("torchinfo"):
        repeat = measured.subject.slow_repeat or settings.repeat
        measured.times["torchinfo"] = timed(lambda: torchinfo_summary(model, x), repeat)
        result = torchinfo_summary(model, x)
        measured.counts["torchinfo"] = result.total_params
        measured.macs["torchinfo"] = result.total_mult_adds
    if not measured.subject.macs:
        return
    measured.macs["archc"] = dims.evaluate(measured.network.macs, {})
    if installed("fvcore"):
        measured.fvcore_ops = fvcore_macs(model, x)
        measured.macs["fvcore"] = sum(measured.fvcore_ops.values())
    if installed("thop"):
        measured.macs["thop"] = thop_macs(model, x)  # last: thop adds buffers to the model


# --- cold processes ------------------------------------------------------------------------------


# The cold check of the targets, in every mode: the zoo's usual example.
CHECKED = "specs/resnet50.arch"


def process_times(settings: Settings) -> dict[str, float]:
    # An installed archc has its bytecode (pip compiles a wheel's modules); without it every cold
    # process would compile archc's source, and PYTHONDONTWRITEBYTECODE would keep it that way.
    compileall.compile_dir(ROOT / "archc", quiet=1)
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        f"archc check {CHECKED}": archc_command("check", CHECKED),
    }
    if settings.references:
        commands['python -c "import archc.cli"'] = [sys.executable, "-c", "import archc.cli"]
        commands['python -c "import torch"'] = [sys.executable, "-c", "import torch"]
    return {
        label: command_seconds(argv, settings.process_repeat) for label, argv in commands.items()
    }


IMPORT_LINE = re.compile(r"import time:\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\S+)")


@dataclass(frozen=True)
class ImportProfile:
    """One ``python -X importtime -c "import archc.cli"``, in seconds (the instrumentation
    makes the total somewhat larger than a plain import's)."""

    total: float
    own: float  # self time of archc's own modules
    packages: list[tuple[str, float]]  # the largest top-level packages, cumulative; they nest


def import_profile() -> ImportProfile:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import archc.cli"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    own = 0
    packages: dict[str, int] = {}
    total = 0
    for self_us, cumulative, name in IMPORT_LINE.findall(result.stderr):
        if name == "archc.cli":
            total = int(cumulative)
        if name.split(".")[0] == "archc":
            own += int(self_us)
        elif "." not in name:
            packages[name] = int(cumulative)
    largest = sorted(packages.items(), key=lambda item: -item[1])[:6]
    return ImportProfile(total / 1e6, own / 1e6, [(name, us / 1e6) for name, us in largest])


# --- tables --------------------------------------------------------------------------------------


def _cell(times: dict[str, float], key: str) -> str:
    return secs(times[key]) if key in times else "-"


def _ratio_cell(times: dict[str, float], key: str) -> str:
    return ratio(times[key], times["archc"]) if key in times else "-"


def speed_table(rows: Sequence[Measured]) -> Table:
    headers = (
        "network",
        "layers",
        "params",
        "archc s",
        "no replay s",
        "archc CLI s",
        "meta s",
        "CPU s",
        "torchinfo s",
        "archc.build meta s",
        "meta/archc",
        "CPU/archc",
        "torchinfo/archc",
        "params agree",
    )
    body = [
        (
            m.subject.label,
            f"{m.layers:,}",
            f"{m.network.param_count:,}",
            _cell(m.times, "archc"),
            _cell(m.times, "no replay"),
            _cell(m.times, "cli"),
            _cell(m.times, "meta"),
            _cell(m.times, "cpu"),
            _cell(m.times, "torchinfo"),
            _cell(m.times, "build"),
            _ratio_cell(m.times, "meta"),
            _ratio_cell(m.times, "cpu"),
            _ratio_cell(m.times, "torchinfo"),
            agreement(m.counts),
        )
        for m in rows
    ]
    return Table("Static analysis against instantiation (median seconds)", headers, body)


PHASES = ("read and parse", "elaborate", "totals")


def phase_table(rows: Sequence[Measured]) -> Table:
    body = [
        (
            m.subject.label,
            *(secs(m.times[f"phase {name}"]) for name in PHASES),
            f"{1e6 * m.times['phase elaborate'] / m.layers:.0f}",
        )
        for m in rows
    ]
    headers = ("network", *(f"{name} s" for name in PHASES), "elaborate µs/layer")
    return Table(
        "Where archc's in-process time goes (median seconds, each phase alone)", headers, body
    )


def agreement(counts: dict[str, int]) -> str:
    """ "yes" when every tool counted archc's parameters, else each difference."""
    differences = [
        f"{tool} {count - counts['archc']:+,}"
        for tool, count in counts.items()
        if count != counts["archc"]
    ]
    return ", ".join(differences) or "yes"


def _macs_cell(macs: dict[str, int | None], tool: str) -> str:
    value, reference = macs.get(tool), macs.get("archc")
    if value is None:
        return "-"
    if tool == "archc" or not reference:
        return f"{value:,}"
    return f"{value:,} ({100 * (value - reference) / reference:+.2f}%)"


def macs_table(rows: Sequence[Measured]) -> Table:
    tools = ("archc", "torchinfo", "fvcore", "thop")
    body = [
        (m.subject.label, *(_macs_cell(m.macs, tool) for tool in tools))
        for m in rows
        if m.subject.macs
    ]
    return Table("MACs per sample (difference from archc)", ("network", *tools), body)


# archc op -> the fvcore operator that counts it.
FVCORE_OP = {
    "conv2d": "conv",
    "linear": "linear",
    "batchnorm2d": "batch_norm",
    "layernorm": "layer_norm",
    "maxpool2d": "max_pool2d",
    "avgpool2d": "avg_pool2d",
    "adaptive_avgpool2d": "adaptive_avg_pool2d",
    "global_avgpool": "adaptive_avg_pool2d",
    "attention": "scaled_dot_product_attention",
}


def archc_ops(network: Network) -> Counter[str]:
    found: Counter[str] = Counter()
    for node in network.nodes():
        if node.kind != "input" and node.macs:
            found[node.op] += dims.evaluate(node.macs, {})
    return found


def ops_table(rows: Sequence[Measured]) -> Table:
    body = []
    for m in rows:
        if not m.fvcore_ops:
            continue
        ours = archc_ops(m.network)
        theirs = Counter(m.fvcore_ops)
        for op, macs in ours.most_common():
            fvcore_op = FVCORE_OP.get(op, op)
            counted = theirs.pop(fvcore_op, 0)
            body.append((m.subject.label, op, f"{macs:,}", fvcore_op, f"{counted:,}"))
        body += [(m.subject.label, "-", "0", op, f"{n:,}") for op, n in theirs.most_common()]
    return Table(
        "MACs by op: archc and fvcore",
        ("network", "archc op", "archc", "fvcore op", "fvcore"),
        body,
    )


def process_table(times: dict[str, float], repeat: int) -> Table:
    rows = [(label, secs(value)) for label, value in times.items()]
    return Table(f"Cold processes, end to end (median of {repeat})", ("command", "s"), rows)


def import_table(profile: ImportProfile) -> Table:
    rows = [("import archc.cli", secs(profile.total))]
    rows.append(("archc's own modules (self time)", secs(profile.own)))
    rows += [(f"{name}, with what it imports", secs(took)) for name, took in profile.packages]
    title = "Where `import archc.cli` spends its time (python -X importtime)"
    return Table(title, ("part", "s"), rows)


# --- targets -------------------------------------------------------------------------------------


def block_configurations(network: Network) -> tuple[int, int]:
    """Block instances, and how many differ in block, arguments or input types."""
    blocks = [module for module in network.modules.values() if module.kind == "block"]
    keys = {
        (b.name, repr(b.args), tuple(str(network.type_of(ref)) for ref in b.inputs))
        for b in blocks
    }
    return len(blocks), len(keys)


def _find(rows: Sequence[Measured], label: str) -> Measured | None:
    return next((m for m in rows if m.subject.label == label), None)


def torchinfo_target(rows: Sequence[Measured]) -> Target:
    goal = "in-process archc summary >= 50x faster than torchinfo.summary on ResNet-50"
    m = _find(rows, "ResNet-50")
    if m is None or "torchinfo" not in m.times:
        return Target(goal, "not run", None, "ResNet-50 or torchinfo not in this run")
    speedup = m.times["torchinfo"] / m.times["archc"]
    parsing = m.times["phase read and parse"]
    instances, distinct = block_configurations(m.network)
    why = (
        f"a torchinfo summary runs a real forward pass at 224x224 with a hook on every module "
        f"({secs(m.times['torchinfo'])} s); archc analyses {m.layers} layers symbolically in "
        f"{secs(m.times['archc'])} s ({secs(m.times['no replay'])} s elaborating every block "
        f"instance afresh), where 50x leaves {secs(m.times['torchinfo'] / 50)} s. Reading and "
        f"parsing the spec and the blocks file it uses take {secs(parsing)} s on their own, "
        f"and elaboration {secs(m.times['phase elaborate'])} s: its {instances} block instances "
        f"come in {distinct} configurations of arguments and input types; an instance of a "
        "configuration seen before is replayed, and one that differs from a recorded instance "
        "only in numbers, with every test going the same way, is copied with its shape rules "
        "run again on plain values, so only the structures that differ are elaborated"
    )
    return Target(goal, f"{speedup:.1f}x", speedup >= 50, why)


def instantiation_target(rows: Sequence[Measured]) -> Target:
    goal = "in-process archc summary >= 100x faster than CPU instantiation of GPT-2 XL"
    m = _find(rows, "GPT-2 XL")
    if m is None:
        return Target(goal, "not run", None, "GPT-2 XL is not measured in this mode")
    speedup = m.times["cpu"] / m.times["archc"]
    why = (
        f"allocating and initialising {m.network.param_count:,} float32 parameters takes "
        f"{secs(m.times['cpu'])} s; archc counts them from shapes in {secs(m.times['archc'])} s"
    )
    return Target(goal, f"{speedup:,.0f}x", speedup >= 100, why)


def build_target(rows: Sequence[Measured]) -> Target:
    goal = "archc.build of GPT-2 XL on the meta device < 1 s"
    m = _find(rows, "GPT-2 XL")
    if m is None:
        return Target(goal, "not run", None, "GPT-2 XL is not measured in this mode")
    took = m.times["build"]
    why = (
        f"analysing the spec takes {secs(m.times['archc'])} s, writing the source "
        f"{secs(m.times['source'])} s (which parameters the network class may take is read off "
        f"the provenance the analysis recorded, not found by elaborating again), executing it "
        f"{secs(m.times['exec'])} s, and instantiating the class on meta "
        f"{secs(m.times['meta'])} s, of which {secs(m.times['meta init'])} s is its `init` "
        "rules: torch runs their `normal_` calls on the meta device through its Python reference "
        "implementations"
    )
    return Target(goal, f"{secs(took)} s (warm, median)", took < 1, why)


def cold_check_target(
    times: dict[str, float], profile: ImportProfile, rows: Sequence[Measured]
) -> Target:
    goal = f"cold `archc check {CHECKED}` < 0.5 s wall"
    check = times[f"archc check {CHECKED}"]
    imported = times.get('python -c "import archc.cli"', profile.total)
    others = ", ".join(name for name, _ in profile.packages[:3])
    resnet = _find(rows, "ResNet-50")
    work = (
        f"; the check itself takes {secs(resnet.times['archc'])} s in process"
        if resnet is not None
        else ""
    )
    why = (
        f"the interpreter starts in {secs(times['python -c pass'])} s and importing archc.cli "
        f"takes {secs(imported)} s, {profile.own / profile.total:.0%} of it in archc's own "
        f"modules (python -X importtime) and most of the rest in {others}{work}"
    )
    return Target(goal, f"{secs(check)} s", check < 0.5, why)


# --- the section ---------------------------------------------------------------------------------


def run(options: Options) -> Section:
    settings = SETTINGS[options.mode]
    section = Section(
        "Static analysis",
        "archc's in-process analysis and cold CLI against instantiating the PyTorch model "
        f"(CPU, meta) and torchinfo.summary; token inputs for torchinfo have T = {TOKENS}.",
    )
    rows = []
    for subject in settings.subjects:
        try:
            rows.append(measure(subject, settings))
        except Blocked as blocked:
            section.notes.append(f"{subject.label}: blocked, archc reported {blocked}")
    times = process_times(settings)
    profile = import_profile()
    section.tables = [speed_table(rows), phase_table(rows), macs_table(rows), ops_table(rows)]
    section.tables += [process_table(times, settings.process_repeat), import_table(profile)]
    section.targets = [
        torchinfo_target(rows),
        instantiation_target(rows),
        build_target(rows),
        cold_check_target(times, profile, rows),
    ]
    section.notes += tie_notes(rows) + MACS_NOTES + missing_tools()
    return section


def tie_notes(rows: Sequence[Measured]) -> list[str]:
    """Say why torchinfo's parameter count differs where a network ties weights."""
    return [
        f"{m.subject.label}: torchinfo counts the tied "
        f"{', '.join(tie.target for tie in m.network.ties)} a second time "
        f"({m.counts['torchinfo'] - m.counts['archc']:+,}); archc and torch count it once"
        for m in rows
        if m.network.ties and m.counts.get("torchinfo", m.counts["archc"]) != m.counts["archc"]
    ]


# What each tool counts, checked on single layers of each kind.
MACS_NOTES = [
    "Convolutions and linear layers are weights x output positions in archc, fvcore and thop, "
    "without the bias additions; torchinfo adds a convolution's bias per output element, but "
    "counts a linear layer, BatchNorm and LayerNorm as their parameter count whatever the "
    "number of positions, so it undercounts a transformer's linear layers by the sequence "
    "length. BatchNorm: archc 1 MAC per element, fvcore 2, thop 4. LayerNorm: archc and thop 4 "
    "per element, fvcore 5. Max pooling: archc k*k per output element, the others 0. Average "
    "pooling: archc 1 per input element; fvcore the same for adaptive pooling and 0 for fixed "
    "windows and for a mean; thop 1 per output (fixed window) or k+1 (adaptive). No tool counts "
    "ReLU, GELU, dropout or residual additions.",
    "Attention: archc's attention op includes its input and output projections, which fvcore "
    "files under linear, and the QK^T and AV products (2*T^2*d per layer and sample), which "
    "fvcore does not count (it has no handle for scaled_dot_product_attention): those "
    "products, and the fifth MAC per LayerNorm element that fvcore counts, are the whole of "
    "the ViT difference. thop counts only registered module types, so it sees the output "
    "projection (an nn.Linear) but not the input projection the generated attention applies "
    "with F.linear.",
]


def missing_tools() -> list[str]:
    absent = [name for name in ("torchinfo", "fvcore", "thop") if not installed(name)]
    if not absent:
        return []
    return [f"not installed, so not compared: {', '.join(absent)} (pip install -e '.[bench]')"]


def main(argv: Sequence[str] | None = None) -> int:
    return standalone(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
