"""A token bucket per API key: N requests a minute, up to N at once.

Buckets live in the server process, so with several workers each enforces the
limit on its own share of the traffic (docs/deploy.md).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Decides whether a key may make one more request now."""

    def __init__(self, *, clock=time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[int, _Bucket] = {}
        self._lock = threading.Lock()

    def acquire(self, key_id: int, per_minute: int) -> float:
        """0 when the request may go ahead; otherwise the seconds to wait."""
        now = self._clock()
        refill = per_minute / 60.0
        with self._lock:
            bucket = self._buckets.get(key_id)
            if bucket is None:
                bucket = self._buckets[key_id] = _Bucket(float(per_minute), now)
            bucket.tokens = min(
                float(per_minute), bucket.tokens + (now - bucket.updated) * refill
            )
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / refill


def retry_after(wait: float) -> str:
    """A `Retry-After` value: whole seconds, at least one."""
    return str(max(1, math.ceil(wait)))
