"""Abuse limits: token buckets per client and per sender, answered with 429 and Retry-After.

Kept in the gateway process (each instance limits what it serves; behind N instances a client gets
up to N times the rate — put the per-client limit in the load balancer too when that matters).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict

from gateway.http.errors import ApiError


class RateLimiter:
    """`rate` tokens per second, bursts of `burst`; at most `keys` clients remembered (LRU)."""

    def __init__(self, rate: float, burst: float, keys: int = 100_000) -> None:
        self.rate, self.burst, self.keys = rate, burst, keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str, now: float | None = None) -> float:
        """0 when allowed; otherwise the seconds to wait before the next token."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        tokens, at = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
        self._buckets[key] = (tokens - 1 if wait == 0 else tokens, now)
        while len(self._buckets) > self.keys:
            self._buckets.popitem(last=False)
        return wait


def retry_after(wait_s: float) -> str:
    return str(max(1, math.ceil(wait_s)))


def take(limiter: RateLimiter, key: str) -> None:
    """One token of ``key``'s bucket, or 429 rate_limited with Retry-After."""
    wait = limiter.take(key)
    if wait:
        raise ApiError("rate_limited", headers={"Retry-After": retry_after(wait)})
