"""The ClickHouse sink: case events and case states from Kafka into the warehouse.

Contract (as Quix Streams' sinks): rows are added per message and flushed per batch — thousands of
rows per insert, at most about one insert per second per table at low load. Offsets are committed
only after ClickHouse acknowledged every insert of the batch. While ClickHouse fails, the consumer
pauses and retries with back-off: the backlog waits in Kafka, never in memory. A redelivered event
lands in a ReplacingMergeTree under the same key, so queries (FINAL) see it once.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from clickhouse_driver.errors import Error as ClickHouseError
from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition

from pakn.deadletters import dead_letter
from pakn.logs import setup_logging
from pakn.settings import Settings
from pakn.topics import (
    CASE_EVENTS,
    CASE_STATE,
    DEAD_LETTERS,
    NOTIFICATIONS,
    OVERSIGHT_FLAGS,
    PRIVACY_AUDIT,
    RECEPTION_BOOKINGS,
    UNIT_TALLIES,
    WARNING_STATE,
)
from schemas.codec import DecodeError, get_codec
from sinks.connection import clickhouse
from sinks.rows import (
    AUDIT_COLUMNS,
    CASE_COLUMNS,
    CASE_EVENT_COLUMNS,
    DELIVERY_COLUMNS,
    FACT_COLUMNS,
    FLAG_COLUMNS,
    INTEGRITY_FLAG_COLUMNS,
    RECEPTION_BOOKING_COLUMNS,
    TALLY_COLUMNS,
    WARNING_AREA_COLUMNS,
    WARNING_COLUMNS,
    audit_row,
    case_event_fact_row,
    case_event_row,
    case_row,
    delivery_row,
    flag_row,
    integrity_flag_row,
    reception_booking_row,
    tally_row,
    warning_area_rows,
    warning_row,
)

log = logging.getLogger("sink")
CONSUMER_NAME = "sink-clickhouse"


@dataclass
class Batch:
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    dead: list[tuple[bytes, bytes]] = field(default_factory=list)
    started: float = 0.0
    size: int = 0

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        self.rows.setdefault(table, []).append(row)
        self.size += 1

    def done(self, msg: Message) -> None:
        if not self.offsets:
            self.started = time.monotonic()
        self.offsets[(msg.topic(), msg.partition())] = msg.offset() + 1


@dataclass(frozen=True)
class Route:
    """Where the messages of one topic go: a table, its columns, and the row of a record."""

    table: str
    message: str | None  # the only message type accepted (None: any case event)
    columns: tuple[str, ...]
    row: Callable[[dict[str, Any], Message], tuple[Any, ...]]
    # rows of a second table from the same record (a warning's communes, an integrity flag)
    more_table: str | None = None
    more_columns: tuple[str, ...] = ()
    more: Callable[[dict[str, Any]], list[tuple[Any, ...]]] | None = None
    # one row of another table per record (the typed facts of a case event)
    also_table: str | None = None
    also_columns: tuple[str, ...] = ()
    also: Callable[[dict[str, Any]], tuple[Any, ...]] | None = None


def routes(settings: Settings) -> dict[str, Route]:
    return {
        CASE_EVENTS.name(settings): Route(
            "case_events",
            None,
            CASE_EVENT_COLUMNS,
            lambda rec, msg: case_event_row(rec, msg.topic(), msg.partition(), msg.offset()),
            "integrity_flags",  # an IntegrityFlag is also a row of its own table
            INTEGRITY_FLAG_COLUMNS,
            _integrity_flag_rows,
            "case_event_facts",  # the payload's typed columns (no JSON parsing for analysts)
            FACT_COLUMNS,
            case_event_fact_row,
        ),
        CASE_STATE.name(settings): Route(
            "cases", "CaseState", CASE_COLUMNS, lambda rec, _: case_row(rec)
        ),
        UNIT_TALLIES.name(settings): Route(
            "unit_month_tallies", "UnitMonthTally", TALLY_COLUMNS, lambda rec, _: tally_row(rec)
        ),
        OVERSIGHT_FLAGS.name(settings): Route(
            "oversight_flags", "OversightFlag", FLAG_COLUMNS, lambda rec, _: flag_row(rec)
        ),
        WARNING_STATE.name(settings): Route(
            "warnings",
            "WarningState",
            WARNING_COLUMNS,
            lambda rec, _: warning_row(rec),
            "warning_areas",
            WARNING_AREA_COLUMNS,
            warning_area_rows,
        ),
        NOTIFICATIONS.name(settings): Route(
            "warning_deliveries",
            "WarningDelivery",
            DELIVERY_COLUMNS,
            lambda rec, msg: delivery_row(rec, msg.timestamp()[1]),
        ),
        PRIVACY_AUDIT.name(settings): Route(
            "privacy_audit", "PrivacyAudit", AUDIT_COLUMNS, lambda rec, _: audit_row(rec)
        ),
        RECEPTION_BOOKINGS.name(settings): Route(
            "reception_bookings",
            "ReceptionBooking",
            RECEPTION_BOOKING_COLUMNS,
            lambda rec, _: reception_booking_row(rec),
        ),
    }


def _integrity_flag_rows(record: dict[str, Any]) -> list[tuple[Any, ...]]:
    if record["envelope"]["event_type"] != "integrity_flag":
        return []
    return [integrity_flag_row(record)]


class ClickHouseSink:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.routes = routes(settings)
        self.columns = {r.table: r.columns for r in self.routes.values()}
        self.columns |= {r.more_table: r.more_columns for r in self.routes.values() if r.more_table}
        self.columns |= {r.also_table: r.also_columns for r in self.routes.values() if r.also_table}
        self._dlq_topic = DEAD_LETTERS.name(settings)
        self.consumer = Consumer(
            {
                "bootstrap.servers": settings.kafka_bootstrap,
                "group.id": settings.sink_group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "session.timeout.ms": int(settings.worker_session_timeout_s * 1000),
                "max.poll.interval.ms": 600_000,
                "fetch.wait.max.ms": 100,
                # the notifications topic is transactional: never count an aborted copy
                "isolation.level": "read_committed",
            }
        )
        self.producer = Producer(
            {"bootstrap.servers": settings.kafka_bootstrap, "enable.idempotence": True}
        )
        self.client = clickhouse(settings)
        self.batch = Batch()
        self.running = True
        self.codec = get_codec()

    # --- one message ---------------------------------------------------------------------
    def add(self, msg: Message) -> None:
        topic, value = msg.topic(), msg.value()
        try:
            name, record = self.codec.decode(value)
            route = self.routes[topic]
            if name != route.message and not (route.message is None and "envelope" in record):
                raise DecodeError("invalid_event", f"{name} does not belong on {topic}")
            # every row of the record first: one that fails leaves none of them in the batch
            rows = [(route.table, route.row(record, msg))]
            if route.more is not None and route.more_table is not None:
                rows += [(route.more_table, row) for row in route.more(record)]
            if route.also is not None and route.also_table is not None:
                rows.append((route.also_table, route.also(record)))
            for table, row in rows:
                self.batch.add(table, row)
        except (DecodeError, KeyError, TypeError, ValueError) as exc:
            reason = exc.reason if isinstance(exc, DecodeError) else "invalid_event"
            log.warning(
                "dead letter", extra={"topic": topic, "offset": msg.offset(), "reason": reason}
            )
            self.batch.dead.append(
                dead_letter(
                    topic,
                    msg.partition(),
                    msg.offset(),
                    msg.key(),
                    value,
                    reason,
                    str(exc),
                    CONSUMER_NAME,
                )
            )
        self.batch.done(msg)

    # --- flush ---------------------------------------------------------------------------
    def due(self) -> bool:
        b = self.batch
        return bool(b.offsets) and (
            b.size >= self.settings.sink_batch_rows
            or time.monotonic() - b.started >= self.settings.sink_flush_interval_s
        )

    def flush(self) -> None:
        """Write the batch (retrying while ClickHouse fails), then commit its offsets."""
        b = self.batch
        if not b.offsets:
            return
        delay = 0.2
        paused = False
        while True:
            try:
                self._write(b)
                break
            except (ClickHouseError, OSError, EOFError) as exc:
                log.warning(
                    "clickhouse write failed; retrying",
                    extra={"error": str(exc)[:300], "retry_in_s": delay},
                )
                if not paused:
                    self.consumer.pause(self.consumer.assignment())
                    paused = True
                self._sleep_serving(delay)
                delay = min(delay * 2, self.settings.sink_retry_max_s)
                self.client.disconnect()
                if not self.running or self.batch is not b:
                    # stopping, or a rebalance dropped the batch: its offsets stay
                    # uncommitted and whoever owns the partitions reads it again
                    return
        if b.dead:
            for key, value in b.dead:
                self.producer.produce(self._dlq_topic, key=key, value=value)
            if self.producer.flush(30) > 0:
                raise RuntimeError("dead letters not confirmed by Kafka")
        self._commit(b)
        if paused:
            self.consumer.resume(self.consumer.assignment())
        log.debug("flushed", extra={"rows": b.size})
        self.batch = Batch()

    def _commit(self, b: Batch) -> None:
        self.consumer.commit(
            offsets=[TopicPartition(t, p, o) for (t, p), o in b.offsets.items()],
            asynchronous=False,
        )

    def _write(self, b: Batch) -> None:
        db = self.settings.clickhouse_database
        for table, rows in b.rows.items():
            if rows:
                cols = ", ".join(self.columns[table])
                self.client.execute(f"INSERT INTO {db}.{table} ({cols}) VALUES", rows)
                b.rows[table] = []  # written: a retry of the batch does not write it again

    def _sleep_serving(self, seconds: float) -> None:
        """Wait while keeping the group membership alive (paused partitions return nothing)."""
        end = time.monotonic() + seconds
        while self.running and time.monotonic() < end:
            msg = self.consumer.poll(min(0.2, max(0.0, end - time.monotonic())))
            if msg is not None and msg.error() is None:
                # A partition assigned during the outage is not paused: put the message back.
                tp = TopicPartition(msg.topic(), msg.partition(), msg.offset())
                self.consumer.seek(tp)
                self.consumer.pause([tp])

    # --- loop ----------------------------------------------------------------------------
    def _on_revoke(self, _consumer: Consumer, _partitions: list[TopicPartition]) -> None:
        # Whatever is buffered belongs to partitions that may move: write it now or drop it
        # (uncommitted, so the new owner reads it again; the warehouse dedups).
        try:
            if self.batch.offsets and not self.batch.dead:
                self._write(self.batch)
                self._commit(self.batch)
        except Exception as exc:
            log.warning("dropping buffered batch on revoke", extra={"error": str(exc)[:300]})
        self.batch = Batch()

    def run(self) -> None:
        self.consumer.subscribe(list(self.routes), on_revoke=self._on_revoke)
        try:
            while self.running:
                for msg in self.consumer.consume(num_messages=2000, timeout=0.1):
                    err = msg.error()
                    if err is None:
                        self.add(msg)
                    elif err.code() != KafkaError._PARTITION_EOF:
                        log.warning("consumer error", extra={"error": err.str()})
                if self.due():
                    self.flush()
            self.flush()
        finally:
            self.consumer.close()
            self.client.disconnect()

    def stop(self, *_: Any) -> None:
        self.running = False


def run_sink(settings: Settings) -> None:
    setup_logging(settings.log_level, "sink")
    sink = ClickHouseSink(settings)
    signal.signal(signal.SIGTERM, sink.stop)
    signal.signal(signal.SIGINT, sink.stop)
    log.info("sink started", extra={"database": settings.clickhouse_database})
    sink.run()
