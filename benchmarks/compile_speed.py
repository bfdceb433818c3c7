"""How long `archc compile` takes for GPT-2, next to the code generator it replaced.

The baseline is this repository at ``BASELINE``, the last commit before code generation read
provenance instead of probing ops and recompiling. It is extracted with ``git archive`` into a
temporary folder, and both versions are timed in the same run, in turn (A B A B ...):

* ``python -m archc compile specs/gpt2.arch -o FILE`` as a new process, end to end (interpreter
  start, imports, reading, elaboration and code generation), bytecode caches written first;
* ``archc.api.compile_source`` in a process of its own for each version, the median of several
  calls after one that builds the parser and imports the code generator;
* what both versions pay before any of their own work: starting Python (``python -c pass``).
  The baseline then imports pydantic, whose models checked its ops' arguments; this version
  checks them with its own schemas (`archc/ops/schema.py`).

Without git, in a clone that lacks the baseline commit, or where the baseline cannot run (it
checks op arguments with pydantic, which only the `bench` extra installs), only this version is
timed and the report says why. Run from the repository root::

    python -m benchmarks.compile_speed               # quick: 5 processes, 9 in-process runs
    python -m benchmarks.compile_speed --mode full   # 15 processes, 25 in-process runs
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from io import BytesIO
from pathlib import Path

from benchmarks.common import ROOT, Options, Section, Table, Target, secs, standalone

SPEC = "specs/gpt2.arch"
BASELINE = "b76d31d"
# (processes, in-process runs) per mode
REPEATS = {"smoke": (1, 2), "quick": (5, 9), "full": (15, 25)}
GOAL = 3.0  # times faster than the baseline, as a whole command

# Times `compile_source` in a process importing archc from the checkout given as argv[1].
IN_PROCESS = """
import statistics, sys, time
sys.path.insert(0, sys.argv[1])
from archc import api
spec, runs = sys.argv[2], int(sys.argv[3])
api.compile_source(spec)
times = []
for _ in range(runs):
    start = time.perf_counter()
    api.compile_source(spec)
    times.append(time.perf_counter() - start)
print(statistics.median(times))
"""


def _environment() -> dict[str, str]:
    # both versions run from bytecode caches, as an installed archc does
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _extract(commit: str, folder: Path) -> str | None:
    """The checkout of ``commit`` under ``folder``, or why there is none."""
    try:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", commit],
            check=True,
            capture_output=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as error:
        return f"the baseline {commit} is not available here ({type(error).__name__})"
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return None


def _unrunnable(checkout: Path, output: Path) -> str | None:
    """Why the version at ``checkout`` cannot compile here, or None: the baseline needs
    pydantic, which this version no longer installs (the `bench` extra does)."""
    try:
        _process_seconds(checkout, output)
    except subprocess.CalledProcessError as error:
        last = error.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        return f"the baseline {BASELINE} cannot run here: {last[0]}"
    return None


# The process every `archc compile` starts with, whatever the version.
FLOOR = [sys.executable, "-c", "pass"]


def _process_seconds(checkout: Path, output: Path) -> float:
    """One `python -m archc compile` run from ``checkout``, whose archc comes first on the path."""
    argv = [sys.executable, "-m", "archc", "compile", str(ROOT / SPEC), "-o", str(output)]
    return _seconds(argv, checkout)


def _seconds(argv: list[str], folder: Path) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=folder, env=_environment(), check=True, capture_output=True)
    return time.perf_counter() - start


def _in_process(checkout: Path, runs: int) -> float:
    result = subprocess.run(
        [sys.executable, "-c", IN_PROCESS, str(checkout), str(ROOT / SPEC), str(runs)],
        cwd=checkout,
        env=_environment(),
        check=True,
        capture_output=True,
        text=True,
    )
    return float(result.stdout.split()[-1])


def run(options: Options) -> Section:
    processes, runs = REPEATS[options.mode]
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder) / "baseline"
        output = Path(folder) / "gpt2.py"
        missing = _extract(BASELINE, base) or _unrunnable(base, output)  # and writes its caches
        checkouts = {"this version": ROOT} | ({} if missing else {f"at {BASELINE}": base})
        _process_seconds(ROOT, output)  # writes the bytecode caches
        whole: dict[str, list[float]] = {name: [] for name in checkouts}
        floor: list[float] = []
        for _ in range(processes):
            for name, checkout in checkouts.items():
                whole[name].append(_process_seconds(checkout, output))
            floor.append(_seconds(FLOOR, ROOT))
        inside = {name: _in_process(checkout, runs) for name, checkout in checkouts.items()}
    command = {name: statistics.median(times) for name, times in whole.items()}
    shared = statistics.median(floor)
    table = Table(
        f"archc compile {SPEC}, median seconds",
        ("version", "whole command", "compile_source in process"),
        [(name, secs(command[name]), secs(inside[name])) for name in checkouts],
    )
    section = Section(
        "Compile",
        "The time to compile GPT-2 small to PyTorch source, as a command and in process, next "
        f"to the code generator of {BASELINE}, which probed ops and recompiled to find classes "
        "and parameters.",
        tables=[table],
    )
    goal = f"`archc compile {SPEC}` >= {GOAL:g}x faster than at {BASELINE}"
    if missing:
        section.targets.append(Target(goal, "not run", None, missing))
        return section
    ratio = command[f"at {BASELINE}"] / command["this version"]
    inner = inside[f"at {BASELINE}"] / inside["this version"]
    mine, theirs = command["this version"] - shared, command[f"at {BASELINE}"] - shared
    why = (
        f"in process it is {inner:.1f}x faster ({secs(inside['this version'])} s against "
        f"{secs(inside[f'at {BASELINE}'])} s). Both processes first start Python, "
        f"{secs(shared)} s that neither version avoids; what each version adds to it (the "
        f"baseline's import of pydantic included) takes {secs(mine)} s against {secs(theirs)} s "
        f"({ratio_of(theirs, mine)} less), and {GOAL:g}x as a whole would take this version's own "
        f"part down to {secs(max(command[f'at {BASELINE}'] / GOAL - shared, 0))} s"
    )
    section.targets.append(Target(goal, f"{ratio:.1f}x", ratio >= GOAL, why))
    return section


def ratio_of(slow: float, fast: float) -> str:
    return f"{slow / fast:.1f}x" if fast > 0 else "no"


def main(argv: Sequence[str] | None = None) -> int:
    return standalone(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
