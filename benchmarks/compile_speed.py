"""How long `archc compile` takes for GPT-2: the baseline a faster code generator is measured by.

Times ``archc compile specs/gpt2.arch -o FILE`` as a new process, end to end (interpreter start,
imports, reading, elaboration and code generation), and ``archc.api.compile_source`` in process,
the median of a few runs each, the first in-process run (which builds the parser and imports
the code generator) left out. It also splits the in-process time into analysis and the rest, so
that a speed-up can be told apart by phase. Run it before and after a change, on one machine::

    python -m benchmarks.compile_speed               # quick: 3 processes, 5 in-process runs
    python -m benchmarks.compile_speed --mode full   # 5 processes, 15 in-process runs
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from archc import api
from benchmarks.common import (
    Options,
    Section,
    Table,
    command_seconds,
    secs,
    standalone,
    timed,
)

SPEC = "specs/gpt2.arch"
# (processes, in-process runs) per mode
REPEATS = {"smoke": (1, 1), "quick": (3, 5), "full": (5, 15)}


def run(options: Options) -> Section:
    processes, runs = REPEATS[options.mode]
    with tempfile.TemporaryDirectory() as folder:
        output = str(Path(folder) / "gpt2.py")
        # this checkout's archc (the `archc` script may belong to another install)
        argv = [sys.executable, "-m", "archc", "compile", SPEC, "-o", output]
        command = command_seconds(argv, processes)
    api.compile_source(SPEC)  # the parser, the grammar and the code generator, once
    whole = timed(lambda: api.compile_source(SPEC), runs)
    analysis = timed(lambda: api.analyse(SPEC), runs)
    table = Table(
        f"archc compile {SPEC}, median seconds",
        ("what", "seconds", "runs"),
        [
            (f"`python -m archc compile {SPEC}`, a new process", secs(command), str(processes)),
            ("`archc.api.compile_source`, in process", secs(whole), str(runs)),
            ("of which `archc.api.analyse` (read, parse, elaborate)", secs(analysis), str(runs)),
            ("of which code generation", secs(whole - analysis), ""),
        ],
    )
    return Section(
        "Compile",
        "The time to compile GPT-2 small to PyTorch source, the figure a faster code generator "
        "is compared with.",
        tables=[table],
    )


def main(argv: Sequence[str] | None = None) -> int:
    return standalone(run, __doc__, argv)


if __name__ == "__main__":
    sys.exit(main())
