"""Token buckets, one per API key."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class TokenBuckets:
    """``rate_per_s`` tokens per second up to ``burst``; :meth:`take` returns 0 or the seconds to wait."""

    def __init__(
        self, rate_per_s: float, burst: int, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        self.rate, self.burst, self._now = float(rate_per_s), float(burst), monotonic
        self._state: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> int:
        """Spend one token of ``key``; 0 when allowed, else whole seconds until one is available (≥1)."""
        with self._lock:
            now = self._now()
            tokens, last = self._state.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._state[key] = (tokens - 1.0, now)
                return 0
            self._state[key] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.rate))
