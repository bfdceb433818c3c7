"""Fuzz archc for a while: `python -m tests.fuzz --minutes 10 --save DIR`.

By default the cases are checked with `archc check`; `--kind oracle` builds generated valid
specs and compares their values with the reference interpreter instead, and `--kind replay`
analyses generated and damaged specs with repeated block instances replayed and elaborated,
which must agree.

Each case draws a fresh random seed, so every run explores new inputs; `--jobs N` runs N
processes side by side, each drawing its own seeds, and adds up what they ran and found. A
failing input is saved in DIR (outside the checkout; `archc-fuzz` in the temporary folder
without `--save`) with the failure beside it; once fixed, it belongs in
`tests/fuzz/regressions/`, which `tests/test_fuzz.py` checks on every run. An oracle case whose
outputs differ only as far as rounding moves them at its input (`tests/oracle.py`) is no
failure: it is counted as ill-conditioned and saved in DIR/ill-conditioned with its figures.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
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
    parser.add_argument(
        "--jobs", type=int, default=1, metavar="N", help="fuzz in N processes at once"
    )
    args = parser.parse_args(argv)
    save = (args.save or Path(tempfile.gettempdir()) / "archc-fuzz").resolve()
    if save.is_relative_to(CHECKOUT):
        parser.error(f"--save {args.save}: choose a folder outside the checkout {CHECKOUT}")
    if args.jobs < 1:
        parser.error(f"--jobs {args.jobs}: at least 1")
    kinds = args.kind or list(CHECKS)
    # A case's tensors are small: more than one thread of torch's each only contend for the
    # cores (with each other and with the other jobs), which made cases over twice as slow.
    # Set before anything imports torch.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if args.seed is not None or args.jobs == 1:
        counts, failures, ill = _fuzz(kinds, args.minutes, save, args.seed)
    else:
        counts, failures, ill = collections.Counter(), [], []
        # each process draws its own seeds from the system, so no two run the same case
        with ProcessPoolExecutor(args.jobs) as pool:
            runs = [pool.submit(_fuzz, kinds, args.minutes, save) for _ in range(args.jobs)]
            for run in runs:
                counted, failed, excused = run.result()
                counts.update(counted)
                failures += failed
                ill += excused
    shown = ", ".join(f"{counts[k]} {k}" for k in kinds)
    totals = f"{counts.total()} cases ({shown}) in {args.minutes:g} min; {len(failures)} failed"
    if "oracle" in kinds:
        totals += f"; {len(ill)} ill-conditioned"
    print(totals)
    for path in failures:
        print(f"  saved {path}")
    for path in ill:
        print(f"  ill-conditioned {path}")
    return 1 if failures else 0


def _fuzz(
    kinds: list[str], minutes: float, save: Path, seed: int | None = None
) -> tuple[collections.Counter[str], list[Path], list[Path]]:
    """Cases of ``kinds`` for ``minutes`` (only the one of ``seed``, given one): how many of
    each ran, where the failing ones were saved, and where the ill-conditioned ones were."""
    _limit_memory()
    counts: collections.Counter[str] = collections.Counter()
    failures: list[Path] = []
    ill: list[Path] = []
    deadline = time.monotonic() + minutes * 60
    seeds = random.SystemRandom()
    with tempfile.TemporaryDirectory() as directory:
        while time.monotonic() < deadline:
            case_seed = seed if seed is not None else seeds.getrandbits(63)
            kind = kinds[counts.total() % len(kinds)]
            case = make_case(kind, RandomChoices(case_seed))
            counts[kind] += 1
            try:
                verdict = run_case(case, Path(directory))
            except FuzzFailure as exc:
                failures.append(_save(save, kind, case_seed, case.data, str(exc)))
                print(f"FAILED {kind} seed {case_seed}: {str(exc).splitlines()[0]}", flush=True)
            else:
                if verdict is not None and verdict.ill_conditioned:
                    folder = save / "ill-conditioned"
                    ill.append(_save(folder, kind, case_seed, case.data, str(verdict)))
                    print(f"ill-conditioned {kind} seed {case_seed}: {verdict}", flush=True)
            if seed is not None:
                break
    return counts, failures, ill


def _save(folder: Path, kind: str, seed: int, data: bytes, failure: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}-{seed}.arch"
    path.write_bytes(data)
    path.with_suffix(".txt").write_text(failure + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":
    sys.exit(main())
