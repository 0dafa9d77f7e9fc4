"""The watchdog: a partition with lag whose position does not move is reported, once."""

from __future__ import annotations

from streams.health import Watchdog


def test_a_partition_that_does_not_move_while_lagging_is_stalled_once() -> None:
    dog = Watchdog(stall_s=60)
    assert not dog.observe("tp", 10, 100, now=0)
    assert not dog.observe("tp", 10, 100, now=59)
    assert dog.observe("tp", 10, 100, now=61)
    assert not dog.observe("tp", 10, 100, now=120)  # reported once
    assert dog.stalled == {"tp"} and dog.lag["tp"] == 89


def test_progress_or_no_lag_is_healthy() -> None:
    dog = Watchdog(stall_s=60)
    dog.observe("a", 10, 100, now=0)
    assert not dog.observe("a", 11, 100, now=100)  # it moved
    dog.observe("b", 99, 100, now=0)
    assert not dog.observe("b", 99, 100, now=100)  # caught up: nothing to read
    dog.forget_except({"a"})
    assert "b" not in dog.lag
