"""`pakn up`: the whole pipeline on one machine — services, topics, migrations, and the processes.

The gateway, the faust worker and the sink run as child processes (`pakn gateway|worker|sink`),
exactly as they run in production; Ctrl-C (or SIGTERM) stops them. Kafka and ClickHouse keep
running until `pakn services stop`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from pakn.settings import Settings

PROCESSES = ("worker", "router", "notifier", "sender-notices", "sink", "gateway")


def run_all(settings: Settings, reset: bool = False) -> None:
    from pakn.directory_topic import ensure_published
    from pakn.services import manager
    from pakn.topics import create_topics, describe
    from sinks.migrate import migrate

    manager.start(settings, reset=reset)
    click.echo(manager.describe(settings))
    create_topics(settings)
    click.echo(describe(settings))
    published = ensure_published(settings)  # a fresh pipeline routes with the shipped units
    if published is not None:
        click.echo(published.summary())
    applied = migrate(settings)
    click.echo(f"migrations applied: {', '.join(applied) or 'none new'}")
    from pakn.warehouse_cli import refresh_dimensions

    click.echo(refresh_dimensions(settings))

    logs = settings.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    pakn = str(Path(sys.executable).with_name("pakn"))
    children: dict[str, subprocess.Popen[bytes]] = {}
    for name in PROCESSES:
        out = (logs / f"{name}.log").open("ab")
        children[name] = subprocess.Popen([pakn, name], stdout=out, stderr=subprocess.STDOUT)

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    click.echo(
        f"\nPAKN pipeline is up.\n"
        f"  submit:   POST {settings.public_url}/v1/feedback\n"
        f"  API:      {settings.public_url}/openapi.json\n"
        f"  health:   {settings.public_url}/readyz   metrics: {settings.public_url}/metrics\n"
        f"  data:     clickhouse-client --port {settings.clickhouse_port} -d "
        f"{settings.clickhouse_database}\n"
        f"  logs:     {logs}/{{gateway,worker,router,notifier,sender-notices,sink}}.log\n"
        f"Ctrl-C stops the processes; `pakn services stop` stops Kafka and ClickHouse."
    )
    try:
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    click.echo(
                        f"{name} exited with {child.returncode}; see {logs}/{name}.log", err=True
                    )
                    stopping = True
            time.sleep(0.5)
    finally:
        for child in children.values():
            if child.poll() is None:
                os.kill(child.pid, signal.SIGTERM)
        for child in children.values():
            try:
                child.wait(20)
            except subprocess.TimeoutExpired:
                child.kill()
