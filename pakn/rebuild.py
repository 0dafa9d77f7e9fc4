"""`pakn rebuild`: recreate the warehouse from the Kafka topics alone.

The topics are the source of truth (``pakn.case.events`` is kept forever, ``pakn.case.state`` and
the oversight tallies are compacted to the latest value per key), the warehouse is derived:

1. create a fresh database ``<db>_rebuild_<time>`` and apply every migration to it (which also
   makes its analysts' database ``<new>_analytics``);
2. run the sink itself (sinks/clickhouse.py ``ClickHouseSink``, not a copy of it) into that
   database with a consumer group of its own, from the earliest offsets, until the group's
   committed offsets reach the high watermarks taken at the start;
3. compare row counts (FINAL) with the live warehouse;
4. optionally (``--swap``) exchange the tables of the two databases by name (``RENAME TABLE``,
   the analysts' copies too), then let the rebuild's group catch up once more into the live
   names, so that whatever the live sink wrote to the old tables while the rebuild ran is there
   too. The old tables stay, under the rebuild's database name, until dropped.

Without ``--swap`` the new database stands beside the live one: point readers at it
(``PAKN_CLICKHOUSE_DATABASE``, with ``PAKN_SINK_GROUP`` = the rebuild's group so the sink goes on
from where the rebuild stopped), or drop it. docs/warehouse.md, "Rebuilding".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from confluent_kafka import Consumer, TopicPartition

from pakn.settings import Settings
from pakn.topics import watermarks as partition_watermarks
from sinks.clickhouse import ClickHouseSink
from sinks.connection import clickhouse
from sinks.migrate import migrate

log = logging.getLogger("rebuild")

Watermarks = dict[tuple[str, int], tuple[int, int]]  # (topic, partition) -> (low, high)


class RebuildError(RuntimeError):
    pass


@dataclass
class Rebuilt:
    database: str
    group: str
    messages: int  # messages in the topics up to the high watermarks taken at the start
    seconds: float  # migrate + catch up (the swap not included)
    rows: dict[str, tuple[int, int]] = field(default_factory=dict)  # table -> (live, rebuilt)
    swapped: bool = False
    swap_seconds: float = 0.0


def _with(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update=changes)


def sink_topics(sink: ClickHouseSink) -> list[str]:
    """The topics this sink reads (its routing table)."""
    routes = getattr(sink, "routes", None)
    if routes:
        return list(routes)
    return [sink._events_topic, sink._state_topic]  # type: ignore[attr-defined]


def watermarks(settings: Settings, topics: list[str]) -> Watermarks:
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": "watermarks"})
    try:
        meta = consumer.list_topics(timeout=10).topics
        out: Watermarks = {}
        for topic in topics:
            if topic not in meta or meta[topic].error is not None:
                continue  # a topic not created (yet): nothing to read from it
            for p in meta[topic].partitions:
                lo, hi = partition_watermarks(consumer, topic, p)
                out[(topic, p)] = (lo, hi)
        return out
    finally:
        consumer.close()


def lagging(settings: Settings, group: str, marks: Watermarks) -> dict[tuple[str, int], int]:
    """Partitions whose committed offset (for ``group``) is still below the watermark."""
    wanted = [TopicPartition(t, p) for (t, p), (lo, hi) in marks.items() if hi > lo]
    if not wanted:
        return {}
    consumer = Consumer(
        {"bootstrap.servers": settings.kafka_bootstrap, "group.id": group, "enable.auto.commit": 0}
    )
    try:
        committed = consumer.committed(wanted, timeout=10)
    finally:
        consumer.close()
    out = {}
    for tp in committed:
        high = marks[(tp.topic, tp.partition)][1]
        if tp.offset < high:  # negative: nothing committed yet
            out[(tp.topic, tp.partition)] = high - max(tp.offset, 0)
    return out


def catch_up(settings: Settings, timeout_s: float, every_s: float = 0.5) -> tuple[int, float]:
    """Run the sink with ``settings`` (database, group) until it committed everything that was
    in its topics when it started; return (messages, seconds)."""
    started = time.monotonic()
    sink = ClickHouseSink(settings)
    marks = watermarks(settings, sink_topics(sink))
    total = sum(hi - lo for lo, hi in marks.values())
    failure: list[BaseException] = []

    def run() -> None:
        try:
            sink.run()
        except BaseException as exc:  # reported by the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=run, name="rebuild-sink", daemon=True)
    thread.start()
    try:
        while True:
            if failure:
                raise RebuildError(f"the sink failed: {failure[0]!r}") from failure[0]
            left = lagging(settings, settings.sink_group, marks)
            if not left:
                break
            if time.monotonic() - started > timeout_s:
                raise RebuildError(
                    f"not caught up after {timeout_s:.0f} s: "
                    f"{sum(left.values())} messages left in {len(left)} partitions"
                )
            time.sleep(every_s)
    finally:
        sink.stop()
        thread.join(60)
    return total, time.monotonic() - started


def tables(settings: Settings, database: str) -> list[str]:
    client = clickhouse(settings, database=False)
    try:
        rows = client.execute(
            "SELECT name FROM system.tables WHERE database = %(db)s "
            "AND engine NOT IN ('MaterializedView', 'View') ORDER BY name",
            {"db": database},
        )
    finally:
        client.disconnect()
    return [r[0] for r in rows]


def row_counts(settings: Settings, database: str) -> dict[str, int]:
    """Rows per table as queries see them (FINAL where the engine replaces)."""
    client = clickhouse(settings, database=False)
    try:
        out = {}
        for name, engine in client.execute(
            "SELECT name, engine FROM system.tables WHERE database = %(db)s "
            "AND engine NOT IN ('MaterializedView', 'View') ORDER BY name",
            {"db": database},
        ):
            final = " FINAL" if "Replacing" in engine or "Collapsing" in engine else ""
            [(n,)] = client.execute(f"SELECT count() FROM {database}.{name}{final}")
            out[name] = n
        return out
    finally:
        client.disconnect()


def database_exists(settings: Settings, database: str) -> bool:
    client = clickhouse(settings, database=False)
    try:
        return bool(
            client.execute("SELECT 1 FROM system.databases WHERE name = %(db)s", {"db": database})
        )
    finally:
        client.disconnect()


def swap(settings: Settings, live: str, other: str) -> None:
    """Exchange the tables of two databases by name (both ways, one table at a time).

    Materialized views stay where they are: on 18.16 they find their source and target by name,
    so after the swap the live view copies the rebuilt tables into the rebuilt analysts' copies.
    """
    client = clickhouse(settings, database=False)
    try:
        mine = set(tables(settings, live))
        for name in tables(settings, other):
            if name in mine:
                client.execute(
                    f"RENAME TABLE {live}.{name} TO {other}.{name}__swap, "
                    f"{other}.{name} TO {live}.{name}, "
                    f"{other}.{name}__swap TO {other}.{name}"
                )
            else:
                client.execute(f"RENAME TABLE {other}.{name} TO {live}.{name}")
    finally:
        client.disconnect()


def rebuild(
    settings: Settings,
    *,
    database: str | None = None,
    group: str | None = None,
    do_swap: bool = False,
    timeout_s: float = 3600.0,
    say: Callable[[str], None] = lambda _: None,
) -> Rebuilt:
    live = settings.clickhouse_database
    stamp = datetime.now().strftime("%Y%m%d%H%M%S")
    database = database or f"{live}_rebuild_{stamp}"
    group = group or f"{settings.sink_group}-rebuild-{stamp}"
    if database == live:
        raise RebuildError("the rebuild needs a database other than the live one")
    if database_exists(settings, database) and tables(settings, database):
        raise RebuildError(f"database {database} exists and is not empty: choose another name")
    target = _with(settings, clickhouse_database=database, sink_group=group)
    started = time.monotonic()
    say(f"migrating {database}")
    migrate(target)
    from pakn.warehouse_cli import refresh_dimensions

    say(refresh_dimensions(target))
    say(f"reading the topics from the start (consumer group {group})")
    messages, _ = catch_up(target, timeout_s)
    out = Rebuilt(database, group, messages, time.monotonic() - started)
    live_rows, new_rows = row_counts(settings, live), row_counts(settings, database)
    out.rows = {t: (live_rows.get(t, 0), n) for t, n in new_rows.items()}
    if do_swap:
        began = time.monotonic()
        say(f"swapping the tables of {live} and {database}")
        swap(settings, live, database)
        swap(settings, f"{live}_analytics", f"{database}_analytics")
        # what the live sink wrote into the old tables meanwhile: once more, into the live names
        catch_up(_with(settings, sink_group=group), timeout_s)
        out.swapped, out.swap_seconds = True, time.monotonic() - began
    return out
