"""Provision, start, stop and check the project's native services (no Docker needed).

Layout under ``settings.home``::

    kafka/libs/          broker jars from Maven Central (survive --reset)
    kafka/data/          KRaft metadata + topic logs (log.dirs)
    kafka/config/        server.properties, log4j2.yaml (rewritten on every start)
    kafka/logs/          server.log (log4j), kafka.out (JVM output), provision.log (mvn)
    kafka/kafka.pid
    clickhouse/data/     tables, tmp, user_files, format_schemas
    clickhouse/config.xml, clickhouse/users.xml (rewritten on every start)
    clickhouse/logs/     clickhouse-server.log, clickhouse-server.err.log, stdout.log
    clickhouse/clickhouse.pid
    s3/data/             buckets and objects of the S3 store (s3s-fs: one folder per bucket)
    s3/logs/             s3s-fs.log
    s3/s3.pid

The s3s-fs binary is built once into ``settings.tools_dir`` (shared by every home, kept by
--reset).

The processes run detached, so they outlive ``pakn services start``; pid files (checked against
the command line) let ``stop`` find them again.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import time
from collections.abc import Iterator
from pathlib import Path

from pakn.services import process
from pakn.services.base import Service
from pakn.services.clickhouse import ClickHouse
from pakn.services.kafka import Kafka
from pakn.services.s3 import S3Store
from pakn.settings import Settings

__all__ = [
    "SERVICES",
    "clickhouse_ready",
    "describe",
    "kafka_ready",
    "start",
    "status",
    "stop",
]

log = logging.getLogger(__name__)

SERVICES = ("kafka", "clickhouse", "s3")
START_TIMEOUT_S = 60.0
STATUS_TIMEOUT_S = 1.5


def _services(settings: Settings, only: str | None) -> list[Service]:
    if only is not None and only not in SERVICES:
        raise ValueError(f"only must be one of {SERVICES} or None, got {only!r}")
    all_: dict[str, Service] = {
        "kafka": Kafka(settings),
        "clickhouse": ClickHouse(settings),
        "s3": S3Store(settings),
    }
    return [svc for name, svc in all_.items() if only in (None, name)]


@contextlib.contextmanager
def _lock(settings: Settings) -> Iterator[None]:
    """Serialise start/stop across processes (parallel test workers, a second terminal)."""
    home = Path(settings.home)
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "services.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


# --- public API ------------------------------------------------------------------------------
def start(
    settings: Settings,
    reset: bool = False,
    only: str | None = None,
    *,
    timeout: float = START_TIMEOUT_S,
) -> None:
    """Install what is missing, start, and wait until each service answers.

    Idempotent: a service already running and answering is left alone. ``reset`` stops the
    service and wipes its data folder first (downloaded jars are kept). Raises RuntimeError, with
    the tail of the service's log, if one does not answer within ``timeout`` seconds.
    """
    services = _services(settings, only)
    with _lock(settings):
        if reset:
            for svc in services:
                _stop_one(svc)
                svc.wipe_data()
        launched: list[tuple[Service, int]] = []
        for svc in services:
            pid = svc.find_pid()
            if pid is None:
                if _foreign_answers(svc):
                    continue
                svc.install()
                svc.prepare()
                pid = svc.launch()
                log.info("%s started (pid %d)", svc.name, pid)
            launched.append((svc, pid))
        # Both were launched before waiting on either: their start-ups overlap.
        deadline = time.monotonic() + timeout
        for svc, pid in launched:
            _wait_up(svc, pid, deadline, timeout)


def stop(settings: Settings, only: str | None = None) -> None:
    """SIGTERM, wait, SIGKILL if needed. Data is kept; no error if a service is not running."""
    with _lock(settings):
        for svc in _services(settings, only):
            _stop_one(svc)


def status(settings: Settings) -> dict[str, bool]:
    """Whether each service answers right now: one attempt each (instant when the port is closed,
    at most ~1.5 s when something listens but does not answer)."""
    return {svc.name: svc.answers_now(STATUS_TIMEOUT_S) for svc in _services(settings, None)}


def kafka_ready(settings: Settings, timeout: float) -> bool:
    """Poll until a Kafka metadata request answers, up to ``timeout`` seconds."""
    return Kafka(settings).ready(timeout)


def clickhouse_ready(settings: Settings, timeout: float) -> bool:
    """Poll until ClickHouse answers ``SELECT 1`` on the native port, up to ``timeout`` seconds."""
    return ClickHouse(settings).ready(timeout)


def describe(settings: Settings) -> str:
    """Where each service answers, whether it is up, and where its data and logs are."""
    up = status(settings)
    kafka, ch, s3 = Kafka(settings), ClickHouse(settings), S3Store(settings)
    lines = []
    for svc in (kafka, ch, s3):
        pid = svc.find_pid()
        state = "up" if up[svc.name] else "down"
        owner = f"pid {pid}" if pid else ("not started by pakn" if up[svc.name] else "not running")
        lines.append(f"{svc.name:<11} {state:<5} {svc.where()} ({owner})")
    lines.append(f"{'data':<11} {kafka.data_dir}  {ch.data_dir}  {s3.data_dir}")
    lines.append(f"{'logs':<11} {kafka.server_log}  {ch.server_log}  {s3.server_log}")
    return "\n".join(lines)


# --- internals -------------------------------------------------------------------------------
def _foreign_answers(svc: Service) -> bool:
    """Our process is not running, but is the port taken? If something answers like the service
    (started outside pakn), use it; if something else holds the port, fail now, not in 60 s."""
    host, port = svc.endpoint
    if not process.port_open(host, port):
        return False
    if svc.answers(timeout=2.0):
        log.warning(
            "%s already answers on %s:%d (not started by pakn): using it", svc.name, host, port
        )
        return True
    raise RuntimeError(
        f"cannot start {svc.name}: {host}:{port} is already taken by another program "
        f"that does not answer as {svc.name}; free the port or change the PAKN_* port settings"
    )


def _wait_up(svc: Service, pid: int, deadline: float, timeout: float) -> None:
    while True:
        if svc.ready(timeout=max(0.5, min(2.0, deadline - time.monotonic()))):
            return
        if not process.alive(pid, svc.marker):
            raise RuntimeError(
                f"{svc.name} exited during start-up (pid {pid}); log tail:\n{svc.log_tail()}"
            )
        if time.monotonic() >= deadline:
            raise RuntimeError(
                f"{svc.name} did not answer within {timeout:.0f} s (pid {pid} still running; "
                f"`pakn services stop` stops it); log tail:\n{svc.log_tail()}"
            )


def _stop_one(svc: Service) -> None:
    pid = svc.find_pid()
    if pid is None:
        svc.pidfile.unlink(missing_ok=True)
        return
    killed = process.terminate(pid, svc.marker, svc.stop_grace)
    if killed:
        log.warning("%s (pid %d) ignored SIGTERM for %.0f s: killed", svc.name, pid, svc.stop_grace)
    else:
        log.info("%s (pid %d) stopped", svc.name, pid)
    svc.pidfile.unlink(missing_ok=True)
