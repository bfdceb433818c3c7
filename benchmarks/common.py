"""What every benchmark module shares: modes, timing, tables, targets and the machine.

Each module has ``run(options) -> Section``; ``python -m benchmarks`` prints the sections and
writes them to ``BENCHMARKS.md``. A section holds plain data (tables of formatted cells, targets
with their verdicts, notes), so the same figures go to the terminal and to the Markdown file.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeVar

ROOT = Path(__file__).resolve().parent.parent

# smoke: seconds, for the test suite; quick: under three minutes; full: the published figures.
Mode = Literal["smoke", "quick", "full"]
MODES: tuple[Mode, ...] = ("smoke", "quick", "full")

T = TypeVar("T")


# --- timing --------------------------------------------------------------------------------------


def seconds(run: Callable[[], T]) -> tuple[float, T]:
    """Wall time of one call of ``run``, after a collection so that earlier garbage is not
    charged to it; and what it returned."""
    gc.collect()
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def timed(run: Callable[[], object], repeat: int) -> float:
    """The median wall time of ``repeat`` calls of ``run``, in seconds."""
    return statistics.median(seconds(run)[0] for _ in range(repeat))


def interleaved_times(
    runs: dict[str, Callable[[], object]], repeat: int
) -> dict[str, list[float]]:
    """Seconds of each call of each run, called in turn (A B A B ...) so that a machine that
    slows down or speeds up during the measurement affects every run alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            times[name].append(seconds(run)[0])
    return times


def interleaved(runs: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    """Median seconds of each run, called in turn (A B A B ...)."""
    times = interleaved_times(runs, repeat)
    return {name: statistics.median(values) for name, values in times.items()}


def command_seconds(argv: Sequence[str], repeat: int) -> float:
    """Median wall time of running ``argv`` as a new process, end to end; it must succeed."""

    def once() -> None:
        subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)

    return timed(once, repeat)


def archc_command(*args: str) -> list[str]:
    """The ``archc`` console script of this environment, as a user would type it."""
    script = Path(sys.executable).with_name("archc")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "archc", *args]


def fit_exponent(sizes: Sequence[float], values: Sequence[float]) -> float:
    """The least-squares slope of log(value) against log(size): ``b`` in value ~ size**b;
    nan when the sizes do not differ (tiny smoke runs can round two sizes to one)."""
    xs = [math.log(s) for s in sizes]
    ys = [math.log(v) for v in values]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return math.nan
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread


# --- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Table:
    title: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]

    def _is_numeric(self, column: int) -> bool:
        cells = [row[column] for row in self.rows if row[column] not in ("", "-")]
        return bool(cells) and all(_looks_numeric(cell) for cell in cells)

    def text(self) -> str:
        """Fixed width, numbers right-aligned, for a terminal."""
        widths = [
            max(len(h), *(len(r[i]) for r in self.rows)) if self.rows else len(h)
            for i, h in enumerate(self.headers)
        ]
        right = [self._is_numeric(i) for i in range(len(self.headers))]

        def line(cells: Sequence[str]) -> str:
            return "  ".join(
                c.rjust(w) if r else c.ljust(w)
                for c, w, r in zip(cells, widths, right, strict=True)
            ).rstrip()

        rule = "-" * len(line(["-" * w for w in widths]))
        return "\n".join([self.title, rule, line(self.headers), rule, *map(line, self.rows)])

    def markdown(self) -> str:
        align = ["---:" if self._is_numeric(i) else ":---" for i in range(len(self.headers))]
        lines = [f"**{self.title}**", "", _md_row(self.headers), _md_row(align)]
        return "\n".join(lines + [_md_row(row) for row in self.rows])


def _looks_numeric(cell: str) -> bool:
    return cell.lstrip("~≈<>+-").rstrip("x%sKMGB ").replace(",", "").replace(".", "").isdigit()


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


@dataclass(frozen=True)
class Target:
    """A stated goal and what this run measured; ``met`` is None when the run could not say."""

    goal: str
    measured: str
    met: bool | None
    why: str

    @property
    def verdict(self) -> str:
        return {True: "met", False: "NOT met", None: "not measured"}[self.met]

    @property
    def reason(self) -> str:
        """``why`` as a sentence of its own."""
        return self.why[:1].upper() + self.why[1:]


@dataclass
class Section:
    name: str
    about: str
    tables: list[Table] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float | None = None  # how long the whole section took, when run by the suite

    def text(self) -> str:
        took = f" ({self.seconds:.0f} s)" if self.seconds is not None else ""
        parts = [f"== {self.name}{took} =="]
        parts += [table.text() for table in self.tables]
        parts += [f"[{t.verdict}] {t.goal}: {t.measured}. {t.reason}." for t in self.targets]
        parts += [f"* {note}" for note in self.notes]
        return "\n\n".join(parts)


def ratio(slow: float, fast: float) -> str:
    return f"{slow / fast:,.1f}x" if fast > 0 else "-"


def secs(value: float) -> str:
    """Seconds with three significant figures or more: 0.00123, 0.0456, 1.23, 45.6."""
    if value >= 10:
        return f"{value:,.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}" if value >= 0.001 else f"{value:.2g}"


# --- the machine ---------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError, AttributeError):
        return None


def version_of(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def load_average() -> str:
    try:
        return " / ".join(f"{load:.2f}" for load in os.getloadavg())
    except OSError:
        return "unknown"


def machine_table(load_before: str) -> Table:
    """The machine, with its load average (1, 5, 15 minutes) before and after the run: a busy
    machine slows everything measured, which the ratios largely cancel."""
    import torch

    memory = memory_gib()
    rows = [
        ("CPU", cpu_model()),
        ("cores (os.cpu_count)", str(os.cpu_count())),
        ("memory", f"{memory:.1f} GiB" if memory is not None else "unknown"),
        ("OS", platform.platform()),
        ("torch threads", str(torch.get_num_threads())),
        ("GPU", torch.cuda.get_device_name() if torch.cuda.is_available() else "none"),
        ("load average before the run", load_before),
        ("load average after the run", load_average()),
    ]
    return Table("Machine", ("what", "value"), rows)


# Distributions whose versions the figures depend on: the language, archc and its parser, and
# every tool compared.
VERSIONED = ("archc", "lark", "torch", "torchinfo", "fvcore", "thop")


def versions_table() -> Table:
    rows = [("Python", f"{platform.python_implementation()} {platform.python_version()}")]
    rows += [(name, version_of(name)) for name in VERSIONED]
    return Table("Versions", ("package", "version"), rows)


# --- running -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    mode: Mode = "quick"
    compile: bool = False  # also race the generated code under torch.compile
    threads: int = 1
    gpu_only: bool = False  # race the generated code on the GPU alone


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument(
        "--compile", action="store_true", help="also time the generated code under torch.compile"
    )
    parser.add_argument(
        "--gpu-only", action="store_true", help="race the generated code on the GPU, not the CPU"
    )


def configure(threads: int) -> None:
    """One thread count for every torch measurement of a run.

    One thread by default: on a machine whose cores other work shares, torch's thread pool waits
    on its slowest thread, and a two-thread step was measured 10 to 20 times slower than a
    one-thread step there; ratios are what this suite reports, and one thread keeps them stable.
    """
    import torch

    torch.set_num_threads(threads)


def standalone(
    run: Callable[[Options], Section], doc: str | None, argv: Sequence[str] | None
) -> int:
    """``main`` of a benchmark module run on its own: print its section."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--mode", choices=MODES, default="quick", help="sizes and repeats")
    add_options(parser)
    args = parser.parse_args(argv)
    configure(args.threads)
    options = Options(args.mode, args.compile, args.threads, args.gpu_only)
    print(run_section(run, options).text())
    return 0


def run_section(run: Callable[[Options], Section], options: Options) -> Section:
    took, section = seconds(lambda: run(options))
    section.seconds = took
    return section
