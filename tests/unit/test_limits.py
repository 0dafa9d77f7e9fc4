"""Abuse limits: bursts allowed, then 429 with a sensible Retry-After."""

from __future__ import annotations

from gateway.http.limits import RateLimiter, retry_after


def test_a_burst_passes_then_the_client_waits_for_the_next_token() -> None:
    rl = RateLimiter(rate=2.0, burst=3)
    assert [rl.take("ip", now=0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = rl.take("ip", now=0.0)
    assert 0.49 < wait <= 0.5 and retry_after(wait) == "1"
    assert rl.take("ip", now=0.5) == 0.0  # refilled
    assert rl.take("other", now=0.0) == 0.0  # every client has its own bucket


def test_zero_rate_means_no_limit_and_clients_are_forgotten_lru() -> None:
    assert RateLimiter(0, 0).take("x") == 0.0
    rl = RateLimiter(1.0, 1, keys=2)
    for k in "abc":
        rl.take(k, now=0.0)
    assert rl.take("a", now=0.0) == 0.0  # "a" was forgotten: a fresh bucket
