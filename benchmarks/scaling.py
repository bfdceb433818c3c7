"""Scaling: how `archc check` and `archc summary` grow with the size of a network.

Three families of generated specs, each written out with its sizes as literals:

* chain: ``Stage(64, 100) * k``, a stage being ``Unit * 100`` and a unit ``linear -> relu``
  (one long chain built from nested repeats, so 100,000 layers fit in a few hundred bytes;
  a single ``*`` may repeat at most 10,000 times);
* dense stages: ``DenseStage * k``, a stage being ``dense(DenseLayer * 8) -> linear``, the
  DenseNet pattern of bounded dense blocks in a long network;
* dense block: one ``dense(DenseLayer * n)``, whose concatenations grow quadratically: layer i
  reads every earlier output, so the graph has about n**2 / 2 edges.

For each size it times ``archc.api.analyse`` (what `archc check` does after the import),
``summary.render_table`` on the result (what `archc summary` adds), the median of the mode's
repeats; then ``analyse`` once with every block instance elaborated afresh (no replay: the
families repeat identical blocks, which elaboration otherwise copies, see
archc/semantics/replay.py), and the peak traced memory (tracemalloc) of one analyse + table in
a run of its own. The exponent b of
time ~ layers**b is the least-squares slope in log-log space; for the dense block it is also
fitted against the edges.

Run from the repository root: ``python -m benchmarks.scaling [--mode quick]``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import tracemalloc
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from archc import api
from archc.backends import summary
from archc.semantics import replay
from archc.semantics.ir import Network
from benchmarks.common import (
    Mode,
    Options,
    Section,
    Table,
    Target,
    fit_exponent,
    seconds,
    secs,
    standalone,
)

LAYER_BLOCKS = """\
block Unit(width) {
    in x
    out x -> linear(width) -> relu
}

block Stage(width, units) {
    in x
    out x -> Unit(width) * units
}

block DenseLayer(growth) {
    in x
    out x -> linear(growth) -> relu
}

block DenseStage(growth, width) {
    in x
    out x -> dense(DenseLayer(growth) * 8) -> linear(width)
}

"""


def chain(count: int) -> str:
    return f"network Chain {{\n    in x: [64]\n    out y = x -> Stage(64, 100) * {count}\n}}\n"


def dense_stages(count: int) -> str:
    return f"network Stages {{\n    in x: [32]\n    out y = x -> DenseStage(8, 32) * {count}\n}}\n"


def dense_block(count: int) -> str:
    return (
        f"network Dense {{\n    in x: [16]\n    out y = x -> dense(DenseLayer(8) * {count})\n}}\n"
    )


@dataclass(frozen=True)
class Family:
    name: str
    network: Callable[[int], str]  # the network for a repeat count

    def spec(self, count: int) -> str:
        return LAYER_BLOCKS + self.network(count)


CHAIN = Family("chain", chain)
STAGES = Family("dense stages", dense_stages)
DENSE = Family("dense block", dense_block)


@dataclass(frozen=True)
class Settings:
    layers: tuple[int, ...]  # target layer counts of the chain and dense-stage families
    dense_layers: tuple[int, ...]  # and of the dense block, whose edges grow quadratically
    repeat: int


SETTINGS: dict[Mode, Settings] = {
    "smoke": Settings((200, 400), (10, 30), 1),  # a chain stage is 200 layers
    "quick": Settings((1_000, 10_000), (100, 300), 2),
    "full": Settings((1_000, 10_000, 100_000), (300, 1_000, 3_000), 3),
}


@dataclass(frozen=True)
class Point:
    family: Family
    layers: int
    edges: int
    spec_bytes: int
    check: float
    table: float
    check_without_replay: float
    peak_bytes: int

    @property
    def summary(self) -> float:
        return self.check + self.table


def graph_size(network: Network) -> tuple[int, int]:
    """Layers (every node but the inputs) and edges (inputs read by them)."""
    nodes = [node for node in network.nodes() if node.kind != "input"]
    return len(nodes), sum(len(node.inputs) for node in nodes)


def analysed(path: Path) -> Network:
    networks, diagnostics = api.analyse(str(path))
    errors = [d for d in diagnostics if d.is_error]
    if errors or not networks:
        raise RuntimeError(f"{path.name}: {errors[0].message if errors else 'no network'}")
    return networks[0]


def layers_per_count(family: Family, folder: Path) -> int:
    """Layers one more repeat adds, from networks of one and two repeats."""
    sizes = []
    for count in (1, 2):
        path = folder / f"calibrate_{count}.arch"
        path.write_text(family.spec(count), encoding="utf-8")
        sizes.append(graph_size(analysed(path))[0])
    return sizes[1] - sizes[0]


def without_replay(path: Path) -> Network:
    """Analyse with every block instance elaborated afresh: the cost of elaboration itself."""
    with replay.disabled():
        return analysed(path)


def peak_memory(path: Path) -> int:
    """Peak bytes traced while analysing ``path`` and rendering its table."""
    tracemalloc.start()
    try:
        summary.render_table(analysed(path))
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def measure(family: Family, count: int, folder: Path, repeat: int) -> Point:
    text = family.spec(count)
    path = folder / f"{family.name.replace(' ', '_')}_{count}.arch"
    path.write_text(text, encoding="utf-8")
    checks, tables, sizes = [], [], set()
    for _ in range(repeat):
        took, network = seconds(lambda: analysed(path))
        checks.append(took)
        tables.append(seconds(partial(summary.render_table, network))[0])
        sizes.add(graph_size(network))
    ((layers, edges),) = sizes
    return Point(
        family,
        layers,
        edges,
        len(text.encode("utf-8")),
        statistics.median(checks),
        statistics.median(tables),
        seconds(lambda: without_replay(path))[0],
        peak_memory(path),
    )


def sweep(settings: Settings, folder: Path) -> list[Point]:
    points = []
    plan = ((CHAIN, settings.layers), (STAGES, settings.layers), (DENSE, settings.dense_layers))
    for family, targets in plan:
        step = layers_per_count(family, folder)  # also builds the parser before any timing
        points += [measure(family, max(1, n // step), folder, settings.repeat) for n in targets]
    return points


# --- report --------------------------------------------------------------------------------------


def points_table(points: Sequence[Point], repeat: int) -> Table:
    headers = (
        "family",
        "layers",
        "edges",
        "spec bytes",
        "check s",
        "summary s",
        "check s, no replay (1 run)",
        "µs/layer (check)",
        "peak MiB",
        "KiB/layer",
    )
    rows = [
        (
            p.family.name,
            f"{p.layers:,}",
            f"{p.edges:,}",
            f"{p.spec_bytes:,}",
            secs(p.check),
            secs(p.summary),
            secs(p.check_without_replay),
            f"{1e6 * p.check / p.layers:,.0f}",
            f"{p.peak_bytes / 2**20:,.1f}",
            f"{p.peak_bytes / 1024 / p.layers:,.1f}",
        )
        for p in points
    ]
    return Table(f"Check and summary time against size (median of {repeat})", headers, rows)


def exponents(points: Sequence[Point]) -> dict[str, dict[str, float]]:
    """For each family: the exponents of check (with and without replay), summary and peak
    memory against layers, and of check against edges."""
    fitted: dict[str, dict[str, float]] = {}
    for family in (CHAIN, STAGES, DENSE):
        mine = [p for p in points if p.family is family]
        layers = [p.layers for p in mine]
        fitted[family.name] = {
            "check": fit_exponent(layers, [p.check for p in mine]),
            "summary": fit_exponent(layers, [p.summary for p in mine]),
            "memory": fit_exponent(layers, [p.peak_bytes for p in mine]),
            "check vs edges": fit_exponent([p.edges for p in mine], [p.check for p in mine]),
            "check, no replay": fit_exponent(layers, [p.check_without_replay for p in mine]),
        }
    return fitted


def exponents_table(fitted: dict[str, dict[str, float]]) -> Table:
    keys = ("check", "check, no replay", "summary", "memory", "check vs edges")
    headers = ("family", "check", "check, no replay", "summary", "peak memory", "check vs edges")
    rows = [(name, *(f"{values[key]:.2f}" for key in keys)) for name, values in fitted.items()]
    return Table("Fitted exponent b of cost ~ size^b (against layers unless said)", headers, rows)


# Below this many layers, the fixed costs of a call (reading files, first allocations) dominate
# and a fitted exponent says little.
FITTED_FROM = 10_000


def exponent_target(fitted: dict[str, dict[str, float]], points: Sequence[Point]) -> Target:
    linear = {name: fitted[name]["check"] for name in (CHAIN.name, STAGES.name)}
    worst = max(linear.values())
    measured = ", ".join(f"{name} {b:.2f}" for name, b in linear.items())
    dense = fitted[DENSE.name]
    bare = ", ".join(f"{name} {fitted[name]['check, no replay']:.2f}" for name in linear)
    growth = (
        "time is proportional to the number of layers"
        if worst <= 1.1
        else "the cost per layer rises with the size of the network"
    )
    why = (
        f"{growth} (with every block instance elaborated afresh: {bare}); the single dense "
        f"block fits {dense['check']:.2f} against layers, "
        f"because its edges grow quadratically, and {dense['check vs edges']:.2f} against edges"
    )
    goal = "check time exponent <= 1.1 (layers)"
    if max(p.layers for p in points) < FITTED_FROM:
        return Target(goal, measured, None, "the sizes of this mode are too small for a fit")
    return Target(goal, measured, worst <= 1.1, why)


def ten_thousand_target(points: Sequence[Point]) -> Target:
    goal = "check of a 10,000-layer network < 2 s"
    near = [p for p in points if p.family is not DENSE and 9_000 <= p.layers <= 11_000]
    if not near:
        return Target(goal, "not run", None, "no 10,000-layer network in this mode")
    slowest = max(near, key=lambda p: p.check)
    measured = ", ".join(f"{p.family.name} {secs(p.check)} s ({p.layers:,} layers)" for p in near)
    why = (
        f"about {1e6 * slowest.check / slowest.layers:.0f} µs a layer in the slowest family, "
        "most of it copying the nodes of replayed blocks (the graph's edges, paths, names); "
        f"{secs(slowest.check_without_replay)} s when every block instance is elaborated "
        "afresh (argument binding, shape rules, naming)"
    )
    return Target(goal, measured, slowest.check < 2, why)


def run(options: Options) -> Section:
    settings = SETTINGS[options.mode]
    with tempfile.TemporaryDirectory(prefix="archc-scaling-") as folder:
        points = sweep(settings, Path(folder))
    fitted = exponents(points)
    section = Section(
        "Scaling",
        "Generated specs of growing size (families described in benchmarks/scaling.py): "
        "`archc check` = analyse, `archc summary` = analyse + table, in process; peak memory by "
        "tracemalloc in a separate run.",
        [points_table(points, settings.repeat), exponents_table(fitted)],
        [exponent_target(fitted, points), ten_thousand_target(points)],
    )
    section.notes.append(
        "Layers are the network's nodes (every op, concat included); the specs stay small "
        "because repeats multiply them, far below the 4 MiB file limit."
    )
    return section


def main(argv: Sequence[str] | None = None) -> int:
    return standalone(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
