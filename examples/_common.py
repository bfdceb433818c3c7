"""What the examples share: their command line, seeding and progress bars.

The examples import this as a sibling module (`import _common`): run as scripts, their folder
is on `sys.path`. torch is imported inside the functions that need it, so that drawing diagrams
(render_all.py) does not wait for it.
"""

from __future__ import annotations

import argparse
import random
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

try:
    from tqdm import tqdm
except ImportError:  # the bars are a nicety; without tqdm the examples run the same, silently
    tqdm = None

if TYPE_CHECKING:
    import torch

T = TypeVar("T")

# Specs written for the examples; the zoo's own specs are reached as `zoo:NAME`.
SPECS = Path(__file__).resolve().parent / "specs"


def parser(doc: str | None) -> argparse.ArgumentParser:
    """The --quick option; ``doc``, the example's docstring, is what --help shows."""
    cli = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    cli.add_argument("--quick", action="store_true", help="tiny sizes, a few seconds (tests)")
    return cli


def training_parser(doc: str | None) -> argparse.ArgumentParser:
    """:func:`parser` plus the seed and the device of an example that runs a network."""
    import torch

    cli = parser(doc)
    cli.add_argument("--seed", type=int, default=0, help="seed for weights and data")
    cli.add_argument(
        "--device",
        default="cuda" if torch.cuda.is_available() else "cpu",
        help="torch device (default: cuda when available, else cpu)",
    )
    return cli


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python's and torch's global generators; return a generator of its own for the data.

    The data get their own generator so that the batches do not depend on how many random
    numbers the layers (dropout, initialisation) happen to draw.
    """
    import torch

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
