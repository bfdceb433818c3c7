"""`python -m benchmarks`: run every benchmark, print the tables, and write the report where
asked: to a file (`--output PATH`) or over the published BENCHMARKS.md (`--update`).

python -m benchmarks --update     # full: the published figures (tens of minutes)
python -m benchmarks --quick      # smaller sizes, fewer repeats: a few minutes
python -m benchmarks --smoke      # tiny sizes, seconds: the test suite's run
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks import (
    codegen_speed,
    compile_speed,
    lsp_speed,
    parse_speed,
    report,
    scaling,
    static_speed,
)
from benchmarks.common import (
    ROOT,
    Options,
    Section,
    add_options,
    configure,
    load_average,
    machine_table,
    run_section,
    versions_table,
)

# The report the README quotes; only --update rewrites it.
PUBLISHED = ROOT / "BENCHMARKS.md"
BENCHMARKS: tuple[tuple[str, Callable[[Options], Section]], ...] = (
    ("Parsing", parse_speed.run),
    ("Static analysis", static_speed.run),
    ("Compile", compile_speed.run),
    ("Scaling", scaling.run),
    ("Generated code", codegen_speed.run),
    ("Language server", lsp_speed.run),
)


def failed(name: str, error: Exception) -> Section:
    """A section saying that a benchmark stopped, and where, so the report still says it."""
    where = traceback.extract_tb(error.__traceback__)[-1]
    return Section(
        name,
        f"**Did not complete**: {type(error).__name__}: {error} "
        f"(at {Path(where.filename).name}:{where.lineno}).",
    )


def run_all(options: Options) -> tuple[list[Section], bool]:
    sections, complete = [], True
    for name, run in BENCHMARKS:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        try:
            section = run_section(run, options)
        except Exception as error:  # one broken benchmark must not hide the others' figures
            section, complete = failed(name, error), False
        print(section.text() + "\n", flush=True)
        sections.append(section)
    return sections, complete


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="smaller sizes, under three minutes")
    sizes.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds")
    destination = parser.add_mutually_exclusive_group()
    destination.add_argument("--output", type=Path, metavar="PATH", help="write the report here")
    destination.add_argument(
        "--update", action="store_true", help=f"rewrite the published report, {PUBLISHED.name}"
    )
    add_options(parser)
    args = parser.parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    options = Options(mode, args.compile, args.threads, args.gpu_only)
    configure(options.threads)

    load_before = load_average()
    start = time.perf_counter()
    sections, complete = run_all(options)
    minutes = (time.perf_counter() - start) / 60
    environment = [machine_table(load_before), versions_table()]
    for table in (report.targets_table(sections), *environment):
        print(table.text() + "\n")
    output = PUBLISHED if args.update else args.output
    if output is not None:
        output.write_text(
            report.markdown(sections, environment, options, minutes), encoding="utf-8"
        )
        print(f"wrote {output}")
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
