"""Keeping Python's cycle collector out of the way of a large batch.

Training and batch scoring hold hundreds of thousands of small objects alive at
once (event facts, windows, baselines, verdicts). Every few hundred allocations the
cycle collector walks the young ones, and ever more often the whole heap: on a
batch of a few hundred thousand events that doubled the cost of features and rules.
None of these objects form reference cycles, so reference counting frees them
anyway; the collector is paused for the batch and runs once at its end.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cycle collector for the block; collect once after it.

    Nested use is safe: only the outermost block turns the collector back on.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()
