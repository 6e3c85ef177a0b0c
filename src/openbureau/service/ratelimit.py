"""Per-partner token buckets: a burst up to the minute's allowance, refilled continuously.

In-process: with several server processes (``openbureau serve --workers N``) each enforces
an equal share of the allowance (``RateLimiter.share``), so together they never let more
through than the setting; a partner whose requests all reach one process is held to that
process's share, the safe side of the limit.
"""

from __future__ import annotations

import math
import threading
import time


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._buckets: dict[object, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._now = time.monotonic

    @classmethod
    def share(cls, per_minute: int, processes: int) -> RateLimiter:
        """One of ``processes`` equal shares of ``per_minute`` (0 stays 0: no limit)."""
        if processes < 1:
            raise ValueError(f"processes must be at least 1, got {processes}")
        if per_minute <= 0:
            return cls(0)
        return cls(max(1, per_minute // processes))

    def take(self, key: object) -> float:
        """0 when allowed (a token is spent), else the seconds until a token is there."""
        if self.capacity <= 0:
            return 0.0
        with self._lock:
            now = self._now()
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
