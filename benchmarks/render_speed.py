"""How long `archc render` takes to draw a large network as SVG.

Generates a spec of about ``--nodes`` layers: residual blocks (conv, batchnorm, relu and the add,
four layers each) in named stages of 25, so the diagram has nested clusters and a skip edge per
block, as real networks do. It then times the three steps of ``archc render net.arch -o
net.svg``: analysing the spec, building the DOT text, and layout by the engine (the system
``dot`` or graphviz-pure, whichever archc picks). Each is the median of ``--repeat`` runs.

Run from the repository root::

    python -m benchmarks.render_speed                   # 1,000 layers, 3 repeats
    python -m benchmarks.render_speed --nodes 5000 --repeat 1 --save /tmp/bench
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import archc
from archc import api
from archc.backends.graphviz import Options, to_dot
from archc.backends.render import find_engine, layout
from archc.errors import UsageError

BLOCK = """\
block Residual(channels) {
    in x
    out x + (x -> conv2d(channels, 3, padding=1, bias=false) -> batchnorm2d -> relu)
}

"""
T = TypeVar("T")
LAYERS_PER_BLOCK = 4
BLOCKS_PER_STAGE = 25


def generate(nodes: int) -> str:
    """A spec whose network has at least ``nodes`` layers (its input included)."""
    blocks = max(1, -(-(nodes - 1) // LAYERS_PER_BLOCK))
    stages = []
    for index, start in enumerate(range(0, blocks, BLOCKS_PER_STAGE), 1):
        count = min(BLOCKS_PER_STAGE, blocks - start)
        stages.append(f"Residual(16) * {count} as stage{index}")
    chain = "\n        -> ".join(stages)
    return (
        BLOCK
        + f"network Generated {{\n    in image: [16, 32, 32]\n    out y = image -> {chain}\n}}\n"
    )


def timed(run: Callable[[], T], repeat: int) -> tuple[float, T]:
    """The median wall time of ``repeat`` calls of ``run``, and what the last call returned."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main(argv: Sequence[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--nodes", type=int, default=1000, help="layers in the network")
    options.add_argument("--repeat", type=int, default=3, help="timed runs per step")
    options.add_argument("--save", type=Path, help="also write the spec and the SVG here")
    args = options.parse_args(argv)
    if args.nodes < 2 or args.repeat < 1:
        options.error("--nodes must be at least 2 and --repeat positive")
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.save or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        spec = folder / "generated.arch"
        spec.write_text(generate(args.nodes), encoding="utf-8")
        analyse_s, analysed = timed(lambda: api.analyse(str(spec)), args.repeat)
    network = analysed[0][0]
    dot_s, dot = timed(lambda: to_dot(network, Options()), args.repeat)
    print(
        f"archc {archc.__version__}, {platform.python_implementation()} "
        f"{platform.python_version()}, {sys.platform}; median of {args.repeat} run(s)"
    )
    print(
        f"network: {sum(1 for _ in network.nodes()):,} nodes, {len(network.modules) - 1} modules"
    )
    print(f"analyse:  {analyse_s:8.3f} s")
    print(f"DOT text: {dot_s:8.3f} s  ({len(dot):,} characters)")
    try:
        engine = find_engine("svg")
    except UsageError as exc:
        print(f"layout:   skipped: {exc}")
        return 0
    layout_s, svg = timed(lambda: layout(dot, "svg", engine), args.repeat)
    if args.save:
        (args.save / "generated.svg").write_bytes(svg)
    print(f"layout:   {layout_s:8.3f} s  ({engine.name}, {len(svg):,} bytes of SVG)")
    print(f"total:    {analyse_s + dot_s + layout_s:8.3f} s  to SVG")
    return 0


if __name__ == "__main__":
    sys.exit(main())
