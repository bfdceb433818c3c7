"""BENCHMARKS.md: the sections of one run of the suite, with the machine and the versions."""

from __future__ import annotations

import datetime
from collections.abc import Sequence

from benchmarks.common import Options, Section, Table, Target

PREAMBLE = """\
Written by `python -m benchmarks` in {mode} mode{compiled} on {date}; the whole run took \
{minutes:.1f} minutes.

Every time is the median of repeated runs unless a table says otherwise, and every ratio compares \
figures measured in the same run on this machine: compare absolute numbers only with runs on the \
same machine. The modules in `benchmarks/` say exactly what they measure; `benchmarks/README.md` \
says how to run them. torch runs on {threads} CPU thread(s) (`--threads`): on a machine whose \
cores other work shares, a multi-threaded torch step waits on its slowest thread and its time \
swings by an order of magnitude, while one thread keeps the ratios steady.
"""


def targets_table(sections: Sequence[Section]) -> Table:
    rows = [
        (section.name, target.goal, target.measured, target.verdict)
        for section in sections
        for target in section.targets
    ]
    return Table("Targets", ("area", "target", "measured", "verdict"), rows)


def _target(target: Target) -> str:
    return f"- **{target.verdict}**: {target.goal}. Measured: {target.measured}. {target.reason}."


def section_markdown(section: Section) -> str:
    took = f" ({section.seconds:.0f} s)" if section.seconds is not None else ""
    parts = [f"## {section.name}{took}", section.about]
    parts += [table.markdown() for table in section.tables]
    if section.targets:
        parts.append("\n".join(_target(t) for t in section.targets))
    if section.notes:
        parts.append("\n".join(f"- {note}" for note in section.notes))
    return "\n\n".join(parts)


def markdown(
    sections: Sequence[Section], environment: Sequence[Table], options: Options, minutes: float
) -> str:
    preamble = PREAMBLE.format(
        mode=options.mode,
        threads=options.threads,
        compiled=" with torch.compile" if options.compile else "",
        date=datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
        minutes=minutes,
    )
    parts = ["# Benchmarks", preamble.rstrip(), targets_table(sections).markdown()]
    parts += [table.markdown() for table in environment]
    parts += [section_markdown(section) for section in sections]
    return "\n\n".join(parts) + "\n"
