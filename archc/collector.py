"""Pausing Python's cyclic garbage collector while archc builds structures that stay alive.

Parsing, relocating a syntax tree and elaborating a network allocate many small objects, nearly
all of which live on. The collector's passes meanwhile find nothing to free, and its full passes
walk the whole live heap, so their cost grows with the network: a quarter of a large parse, and
more than half of checking a 100,000-layer network. Whatever garbage does arise is collected
once the collector runs again.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """No collections inside the block; the collector's previous state after it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
