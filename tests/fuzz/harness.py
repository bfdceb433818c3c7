"""Running one fuzz input through `archc check` and judging the result.

The input goes through the command line's own entry point, in-process, so that it meets
exactly the exception handling a user meets. It passes when archc exits 0 or 1, prints no
internal error, gives every diagnostic a location, and finishes within `TIME_LIMIT`.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from archc import cli
from tests.fuzz.mutate import ROOT

# Generous: a spec of the zoo checks in well under a second; this catches hangs, not slowness.
TIME_LIMIT = 10.0
HEADER = re.compile(r"^(?:error|warning)\[A\d{3}\]", re.MULTILINE)
LOCATION = re.compile(r"^ *--> ", re.MULTILINE)


class FuzzFailure(AssertionError):
    """An input broke one of the promises; the message says which."""


class Hang(BaseException):
    """Raised by the alarm; a BaseException, so that no handler in archc swallows it."""


@dataclass(frozen=True)
class Outcome:
    code: int
    stderr: str
    seconds: float


def workspace(directory: Path) -> Path:
    """A copy of `specs/` in ``directory``, so that damaged specs still find what they `use`."""
    target = directory / "specs"
    if not target.exists():
        shutil.copytree(ROOT / "specs", target)
    return target


@contextlib.contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Interrupt the body after ``seconds`` where signals allow it: on Unix, in the main
    thread, and when nobody else (pytest-timeout, libFuzzer) owns SIGALRM."""
    usable = (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGALRM) == signal.SIG_DFL
    )
    if not usable:
        yield
        return

    def ring(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"still running after {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_check(path: Path) -> Outcome:
    """`archc check PATH` in-process: exit code, stderr and wall time."""
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    try:
        with _alarm(TIME_LIMIT), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["check", str(path)])
    except Hang as exc:
        raise FuzzFailure(str(exc)) from None
    return Outcome(code, err.getvalue(), time.perf_counter() - start)


def judge(outcome: Outcome, must_pass: bool = False) -> None:
    """Raise :class:`FuzzFailure` unless ``outcome`` keeps every promise (and, for a spec
    written to be valid, ``must_pass``, checks without errors)."""
    problems = []
    if outcome.code not in (0, 1):
        problems.append(f"exit code {outcome.code}")
    if "internal error" in outcome.stderr or "Traceback" in outcome.stderr:
        problems.append("internal error")
    shown, located = len(HEADER.findall(outcome.stderr)), len(LOCATION.findall(outcome.stderr))
    if shown != located:
        problems.append(f"{shown - located} of {shown} diagnostics have no location")
    if outcome.seconds > TIME_LIMIT:
        problems.append(f"took {outcome.seconds:.1f} s")
    if must_pass and outcome.code != 0:
        problems.append("a spec written to be valid has errors")
    if problems:
        raise FuzzFailure("; ".join(problems) + "\n" + outcome.stderr[-4000:])


def check_input(data: bytes, path: Path, must_pass: bool = False) -> Outcome:
    """Write ``data`` to ``path``, check it and judge the result."""
    path.write_bytes(data)
    outcome = run_check(path)
    judge(outcome, must_pass)
    return outcome
