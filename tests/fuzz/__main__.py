"""Fuzz archc for a while: `python -m tests.fuzz --minutes 10 --save DIR`.

By default the cases are checked with `archc check`; `--kind oracle` builds generated valid
specs and compares their values with the reference interpreter instead.

Each case draws a fresh random seed, so every run explores new inputs. A failing input is
saved in DIR (outside the checkout; `archc-fuzz` in the temporary folder without `--save`) with the failure
beside it; once fixed, it belongs in `tests/fuzz/regressions/`, which `tests/test_fuzz.py`
checks on every run.
"""

from __future__ import annotations

import argparse
import collections
import random
import sys
import tempfile
import time
from pathlib import Path

from tests.fuzz.cases import CHECKS, KINDS, make_case, run_case
from tests.fuzz.choices import RandomChoices
from tests.fuzz.harness import FuzzFailure

CHECKOUT = Path(__file__).resolve().parents[2]
# A runaway input should fail with MemoryError (an internal error, saved like any other) long
# before it could take the machine down.
MEMORY_LIMIT = 4 * 1024**3


def _limit_memory() -> None:
    try:
        import resource
    except ImportError:  # not on Windows: the time limit still holds
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = MEMORY_LIMIT if hard == resource.RLIM_INFINITY else min(MEMORY_LIMIT, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__)
    parser.add_argument("--minutes", type=float, default=1.0, help="how long to run")
    parser.add_argument("--kind", choices=KINDS, action="append", help="only these kinds")
    parser.add_argument(
        "--seed", type=int, help="replay one case (with --kind, as its file is named), then stop"
    )
    parser.add_argument(
        "--save", type=Path, metavar="DIR", help="where failing inputs go (not in the checkout)"
    )
    args = parser.parse_args(argv)
    save = (args.save or Path(tempfile.gettempdir()) / "archc-fuzz").resolve()
    if save.is_relative_to(CHECKOUT):
        parser.error(f"--save {args.save}: choose a folder outside the checkout {CHECKOUT}")
    kinds = args.kind or list(CHECKS)
    _limit_memory()
    counts: collections.Counter[str] = collections.Counter()
    failures: list[Path] = []
    deadline = time.monotonic() + args.minutes * 60
    seeds = random.SystemRandom()
    with tempfile.TemporaryDirectory() as directory:
        while time.monotonic() < deadline:
            seed = args.seed if args.seed is not None else seeds.getrandbits(63)
            kind = kinds[counts.total() % len(kinds)]
            case = make_case(kind, RandomChoices(seed))
            counts[kind] += 1
            try:
                run_case(case, Path(directory))
            except FuzzFailure as exc:
                failures.append(_save(save, kind, seed, case.data, str(exc)))
                print(f"FAILED {kind} seed {seed}: {str(exc).splitlines()[0]}", flush=True)
            if args.seed is not None:
                break
    shown = ", ".join(f"{counts[k]} {k}" for k in kinds)
    print(f"{counts.total()} cases ({shown}) in {args.minutes:g} min; {len(failures)} failed")
    for path in failures:
        print(f"  saved {path}")
    return 1 if failures else 0


def _save(folder: Path, kind: str, seed: int, data: bytes, failure: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}-{seed}.arch"
    path.write_bytes(data)
    path.with_suffix(".txt").write_text(failure + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    sys.exit(main())
