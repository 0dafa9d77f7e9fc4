"""Session-wide real engines, per-test topics and database.

Kafka and ClickHouse start once per test session: with testcontainers where a Docker engine
answers, otherwise with the project's own native services (`pakn services start`). Every test that
uses them gets its own topic prefix, ClickHouse database, consumer groups and state folder.
"""

from __future__ import annotations

import base64
import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pakn.settings import Settings
from tests.harness import Proc, free_port

TEST_KEYS = {
    # Fixed test keys, so tests can open what the gateway sealed.
    "pii_keys": "test1:" + base64.b64encode(b"k" * 32).decode(),
    "pseudonym_key": base64.b64encode(b"p" * 32).decode(),
}


def _docker_engine() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:
        return False
    return True


@contextlib.contextmanager
def _containers(base: Settings) -> Iterator[Settings]:
    from testcontainers.clickhouse import ClickHouseContainer
    from testcontainers.kafka import KafkaContainer

    with (
        KafkaContainer("confluentinc/cp-kafka:7.6.0").with_kraft() as kafka,
        ClickHouseContainer("clickhouse/clickhouse-server:24.8") as ch,
    ):
        yield base.model_copy(
            update={
                "kafka_bootstrap": kafka.get_bootstrap_server(),
                "clickhouse_host": ch.get_container_host_ip(),
                "clickhouse_port": int(ch.get_exposed_port(9000)),
                "clickhouse_user": ch.username,
                "clickhouse_password": ch.password,
            }
        )


@pytest.fixture(scope="session")
def engines() -> Iterator[Settings]:
    """Settings pointing at a running Kafka broker and ClickHouse server for the session."""
    base = Settings()
    if _docker_engine():
        with _containers(base) as settings:
            yield settings
        return
    from pakn.services import manager

    was_up = manager.status(base)
    manager.start(base)
    yield base
    if os.environ.get("PAKN_TEST_KEEP_SERVICES") != "1":
        for name, up in was_up.items():
            if not up:
                manager.stop(base, only=name)


@pytest.fixture
def env(engines: Settings, tmp_path: Path) -> Iterator[Settings]:
    """Settings of one test: its own topics, database, groups, state folder and ports."""
    from pakn.topics import CATALOGUE, create_topics
    from sinks.connection import clickhouse
    from sinks.migrate import migrate

    tag = f"t{uuid.uuid4().hex[:10]}"
    settings = engines.model_copy(
        update={
            "home": tmp_path / "home",
            "topic_prefix": f"{tag}.",
            "clickhouse_database": tag,
            "worker_app_id": f"{tag}-worker",
            "sink_group": f"{tag}-sink",
            "gateway_port": free_port(),
            "worker_web_port": 0,
            "worker_session_timeout_s": 6.0,
            "sink_flush_interval_s": 0.5,
            "tally_interval_s": 0.5,  # unit-month sums leave the workers twice a second
            "gateway_client_rate": 0.0,  # load-like tests post from one address
            "log_level": "INFO",
            **TEST_KEYS,
        }
    )
    settings.home.mkdir(parents=True)
    create_topics(settings)
    migrate(settings)
    yield settings
    with contextlib.suppress(Exception):
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
        names = [spec.name(settings) for spec in CATALOGUE]
        names += [t for t in admin.list_topics(timeout=5).topics if t.startswith(tag)]
        admin.delete_topics(list(set(names)), operation_timeout=10)
    with contextlib.suppress(Exception):
        client = clickhouse(settings, database=False)
        client.execute(f"DROP DATABASE IF EXISTS {tag}")
        client.execute(f"DROP DATABASE IF EXISTS {tag}_analytics")
        client.disconnect()


@pytest.fixture
def procs(env: Settings, tmp_path: Path) -> Iterator[dict[str, Proc]]:
    """The pipeline's processes for one test (started by the test, stopped after it)."""
    running = {name: Proc(name, env, tmp_path) for name in ("gateway", "worker", "sink", "router")}
    yield running
    for p in running.values():
        p.stop()


@pytest.fixture(autouse=True)
def _show_logs_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print the tails of the test's process logs when it failed."""
    yield
    rep = getattr(request.node, "rep_call", None)
    tmp_path = request.node.funcargs.get("tmp_path")
    if rep is not None and rep.failed and tmp_path is not None:
        for log in sorted(tmp_path.glob("*.log")):
            print(f"\n----- {log.name} (tail) -----")
            print("\n".join(log.read_text(errors="replace").splitlines()[-60:]))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    rep = yield
    setattr(item, f"rep_{rep.when}", rep)
    return rep


SECONDS_POLICY = Path(__file__).resolve().parent / "data" / "sla_policy_seconds.json"


@pytest.fixture
def clock_env(env: Settings) -> Settings:
    """Second-scale SLA policy (receive: 20 s, warning at 50 %) on a 24/7 calendar, so clock
    tests do not depend on the hour and day they run."""
    return env.model_copy(
        update={
            "sla_policy": str(SECONDS_POLICY),
            "calendar_office_hours": '{"mon-sun": "00:00-24:00"}',
            "calendar_public_holidays": False,
            "sla_tick_interval_s": 0.2,
        }
    )


@pytest.fixture
def clock_procs(clock_env: Settings, tmp_path: Path) -> Iterator[dict[str, Proc]]:
    """gateway, worker and sink on the clock-test settings, started; stopped after the test."""
    from tests.pipeline import wait_gateway

    running = {n: Proc(n, clock_env, tmp_path).start() for n in ("gateway", "worker", "sink")}
    try:
        wait_gateway(clock_env, running["gateway"])
        yield running
    finally:
        for p in running.values():
            p.stop()
