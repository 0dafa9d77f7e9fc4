"""`pakn notifier`: the dedup stage between the fan-out and the push provider.

Reads warnings.deliveries (at least once: a fan-out replayed after a crash, or a citizen seen
through two overlapping communes, gives the same delivery id twice) and writes each delivery id
once to warnings.notifications, in Kafka transactions that also commit the consumer offsets —
so a notifier killed at any point leaves either the whole batch (written and consumed) or none.

Its memory of the ids already written is rebuilt, for each partition it is given, from the
notifications topic itself (read_committed): the output is the state, nothing can drift. Both
topics are keyed by pseudonym with the same partition count; partition p of the deliveries goes
to partition p of the notifications, so one partition's ids live in one place.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from pakn.loops import commit_batch, run_until_stopped
from pakn.settings import Settings
from pakn.topics import NOTIFICATIONS, WARNING_DELIVERIES, watermarks
from processors.fanout import Seen
from schemas.codec import DecodeError, get_codec

log = logging.getLogger("notifier")


def _event_id(msg: Any) -> str:
    for name, value in msg.headers() or ():
        if name == "event_id" and value and len(value) == 16:
            return str(uuid.UUID(bytes=value))
    try:
        return str(uuid.UUID(get_codec().decode(msg.value())[1]["event_id"]))
    except (DecodeError, KeyError, ValueError):
        return ""


class Notifier:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.source = WARNING_DELIVERIES.name(settings)
        self.target = NOTIFICATIONS.name(settings)
        self.group = f"{settings.worker_app_id}-notifier"
        self.seen = Seen()
        self.running = True
        self.consumer = Consumer(
            {
                "bootstrap.servers": settings.kafka_bootstrap,
                "group.id": self.group,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "session.timeout.ms": int(settings.worker_session_timeout_s * 1000),
                "heartbeat.interval.ms": int(settings.worker_session_timeout_s * 1000 / 3),
            }
        )
        self.producer = Producer(
            {
                "bootstrap.servers": settings.kafka_bootstrap,
                "transactional.id": self.group,  # fences a previous instance on start
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                "compression.type": "lz4",
            }
        )

    def _rebuild(self, partition: int) -> int:
        """The ids already on notifications partition ``partition`` (committed data only)."""
        self.seen.reset(partition)
        reader = Consumer(
            {
                "bootstrap.servers": self.settings.kafka_bootstrap,
                "group.id": f"{self.group}-rebuild",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
            }
        )
        n = 0
        try:
            lo, hi = watermarks(reader, self.target, partition)
            if hi <= lo:
                return 0
            reader.assign([TopicPartition(self.target, partition, OFFSET_BEGINNING)])
            while True:
                msgs = reader.consume(5000, timeout=1.0)
                done = False
                for m in msgs:
                    if m.error():
                        if m.error().code() == KafkaError._PARTITION_EOF:
                            done = True
                        continue
                    event_id = _event_id(m)
                    if event_id:
                        self.seen.add(partition, event_id)
                        n += 1
                if done:
                    return n
        finally:
            reader.close()

    def _on_assign(self, consumer: Consumer, parts: list[TopicPartition]) -> None:
        started = time.monotonic()
        counts = {p.partition: self._rebuild(p.partition) for p in parts}
        log.info(
            "partitions assigned, ids rebuilt",
            extra={"ids": counts, "seconds": round(time.monotonic() - started, 3)},
        )

    def _on_revoke(self, consumer: Consumer, parts: list[TopicPartition]) -> None:
        for p in parts:
            self.seen.drop(p.partition)

    def run(self) -> None:
        self.producer.init_transactions(30)
        self.consumer.subscribe([self.source], on_assign=self._on_assign, on_revoke=self._on_revoke)
        written = dupes = 0
        while self.running:
            msgs = [m for m in self.consumer.consume(self.settings.notifier_batch, 0.5)]
            msgs = [m for m in msgs if not m.error()]
            if not msgs:
                continue
            self.producer.begin_transaction()
            for m in msgs:
                event_id = _event_id(m)
                if not event_id:  # not a delivery: nothing to notify (the worker dead-letters)
                    log.warning("delivery without an event id", extra={"offset": m.offset()})
                    continue
                if self.seen.add(m.partition(), event_id):
                    self.producer.produce(
                        self.target,
                        key=m.key(),
                        value=m.value(),
                        headers=m.headers(),
                        partition=m.partition(),
                    )
                    written += 1
                else:
                    dupes += 1
            # a restart rebuilds its memory from what was committed
            commit_batch(self.producer, self.consumer)
            log.debug("batch committed", extra={"written": written, "duplicates": dupes})
        self.consumer.close()


def run_notifier(settings: Settings) -> None:
    run_until_stopped(settings, "notifier", Notifier)
