"""When the language server collects garbage, so that a collection never lands in a check.

A check after an edit leaves garbage behind: the trees of the pieces that moved, the graphs it
elaborated again, the previous version's loaded file. A loaded file and its definitions refer to
each other, so only Python's cyclic collector frees them, and a full collection walks every
object of the process: on a 2,000-line spec, a few hundred thousand, taking longer than the
check itself. Left to itself, Python starts one every few checks, in the middle of whichever
check happens to allocate. So the server

* keeps the collector off while a check runs and until its diagnostics are published, then
  collects (:class:`Quiet`);
* when the documents have not changed for :data:`IDLE_S`, collects everything and freezes what
  survives (:func:`collect_all`): later collections leave those objects out, and walk only what
  the checks since made.
"""

from __future__ import annotations

import gc

IDLE_S = 1.0


class Quiet:
    """The collector stays off while any check is under way, and collects after the last one.

    Entered and left on the server's event loop, around a check and the publication of its
    result; checks of several documents may overlap.
    """

    def __init__(self) -> None:
        self.running = 0
        self.was_enabled = True

    def __enter__(self) -> None:
        if self.running == 0:
            self.was_enabled = gc.isenabled()
            gc.disable()
        self.running += 1

    def __exit__(self, *exc: object) -> None:
        self.running -= 1
        if self.running == 0 and self.was_enabled:
            gc.collect()  # the garbage of the checks just finished, and no more
            gc.enable()


def collect_all() -> None:
    """Free all garbage, then keep what survives out of later collections."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def release() -> None:
    """Hand what :func:`collect_all` froze back to the collector (the server is stopping)."""
    gc.unfreeze()
