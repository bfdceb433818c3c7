"""What every example shares: its command line, the device, seeding and progress bars.

The examples import this as a sibling module (`import _common`): run as scripts, their folder
is on `sys.path`.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import torch

try:
    from tqdm import tqdm
except ImportError:  # the bars are a nicety; without tqdm the examples run the same, silently
    tqdm = None

T = TypeVar("T")

# Specs written for the examples; the zoo's own specs are reached as `zoo:NAME`.
SPECS = Path(__file__).resolve().parent / "specs"


def parser(doc: str | None) -> argparse.ArgumentParser:
    """The options every example takes; ``doc`` is its module docstring, shown by --help."""
    first = (doc or "").strip().splitlines()[0:1]
    cli = argparse.ArgumentParser(description=first[0] if first else None)
    cli.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds (tests)")
    cli.add_argument("--seed", type=int, default=0, help="seed for weights and data")
    cli.add_argument(
        "--device",
        default="cuda" if torch.cuda.is_available() else "cpu",
        help="torch device (default: cuda when available, else cpu)",
    )
    return cli


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's and torch's global generators; a generator of its own for the data.

    The data gets its own generator so that the batches do not depend on how many random
    numbers the model's layers (dropout, negative sampling) happen to draw.
    """
    random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def progress(items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
    """``items``, drawn as a progress bar on a terminal (tqdm) and passed through otherwise."""
    if tqdm is None:
        yield from items
        return
    # disable=None: no bar when stderr is not a terminal, so logs and tests stay clean
    yield from tqdm(items, desc=description, total=total, leave=False, disable=None)


def say(line: str) -> None:
    """Print ``line`` without tearing a progress bar that is being drawn."""
    if tqdm is None:
        print(line)
    else:
        tqdm.write(line)
