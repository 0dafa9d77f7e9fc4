"""The worker in production: readiness with table-recovery progress, and a watchdog for
partitions that stop moving.

- ``GET /ready`` (faust web, ``PAKN_WORKER_WEB_PORT``): 200 once the worker owns partitions and
  its tables are recovered, else 503; both with the recovery's remaining changelog messages.
- ``GET /metrics``: Prometheus text — stalled partitions, lag, table recovery remaining.
- Watchdog (timer): an assigned partition that has lag but whose read position has not moved
  for ``PAKN_WORKER_STALL_S`` is logged (once per stall) and counted. faust-streaming users
  report recovery that hangs and partitions never fetched after a rebalance; this makes such a
  worker visible instead of silently late.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, generate_latest

from streams.runtime import Runtime

log = logging.getLogger("worker.health")


def recovery_status(app: Any) -> dict[str, Any]:
    recovery = app.tables.recovery
    return {
        "in_recovery": bool(recovery.in_recovery),
        "active_remaining": int(recovery.active_remaining_total()),
        "standby_remaining": int(recovery.standby_remaining_total()),
        "rebalancing": bool(app.rebalancing),
        "assigned": len(app.consumer.assignment()) if app.consumer else 0,
    }


class Watchdog:
    """Per partition: the last read position, and since when it has not moved while lagging."""

    def __init__(self, stall_s: float) -> None:
        self.stall_s = stall_s
        self._seen: dict[Any, tuple[int | None, float]] = {}
        self.stalled: set[Any] = set()
        self.lag: dict[Any, int] = {}

    def observe(self, tp: Any, position: int | None, highwater: int | None, now: float) -> bool:
        """Record one look; True when ``tp`` has just been found stalled."""
        lag = max(0, (highwater or 0) - ((position or -1) + 1)) if highwater is not None else 0
        self.lag[tp] = lag
        last = self._seen.get(tp)
        if last is None or last[0] != position or lag == 0:
            self._seen[tp] = (position, now)
            self.stalled.discard(tp)
            return False
        if now - last[1] >= self.stall_s and tp not in self.stalled:
            self.stalled.add(tp)
            return True
        return False

    def forget_except(self, assigned: set[Any]) -> None:
        for tp in list(self._seen):
            if tp not in assigned:
                self._seen.pop(tp, None)
                self.lag.pop(tp, None)
                self.stalled.discard(tp)


def install(rt: Runtime) -> Watchdog:
    app = rt.app
    dog = Watchdog(rt.settings.worker_stall_s)
    registry = CollectorRegistry()
    stalled = Gauge(
        "pakn_worker_stalled_partitions",
        "Assigned partitions with lag whose position did not move for PAKN_WORKER_STALL_S.",
        registry=registry,
    )
    lag = Gauge(
        "pakn_worker_lag", "Messages not yet read, all assigned partitions.", registry=registry
    )
    remaining = Gauge(
        "pakn_worker_recovery_remaining",
        "Changelog messages the table recovery still has to read (active partitions).",
        registry=registry,
    )

    @app.timer(interval=max(1.0, min(10.0, rt.settings.worker_stall_s / 4)), name="watchdog")
    async def watchdog() -> None:
        consumer = app.consumer
        if consumer is None or app.rebalancing:
            return
        assigned = set(consumer.assignment())
        dog.forget_except(assigned)
        now = time.monotonic()
        for tp in assigned:
            position = consumer._read_offset.get(tp)  # faust's own last-read offset
            if dog.observe(tp, position, consumer.highwater(tp), now):
                log.warning(
                    "partition stalled: lag but no progress",
                    extra={"topic": tp.topic, "partition": tp.partition, "lag": dog.lag[tp]},
                )
        stalled.set(len(dog.stalled))
        lag.set(sum(dog.lag.values()))
        remaining.set(recovery_status(app)["active_remaining"])

    @app.page("/ready/")
    async def ready(web: Any, request: Any) -> Any:
        status = recovery_status(app)
        ok = status["assigned"] > 0 and not status["in_recovery"] and not status["rebalancing"]
        return web.json({"ready": ok, **status}, status=200 if ok else 503)

    @app.page("/metrics/")
    async def metrics(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(registry), content_type="text/plain; version=0.0.4")

    return dog
