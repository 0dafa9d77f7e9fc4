"""Read and publish the ``units.directory`` topic (the unit directory and routing rules as data).

What to send is decided by the pure core (``processors.unit_records.diff``); this module only
reads the topic to its end and produces the changes, the head last. See docs/units-and-routing.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pakn.settings import Settings
from pakn.topics import UNITS_DIRECTORY
from processors.unit_records import (
    Change,
    Entry,
    diff,
    directory_document,
    head_of,
    rules_document,
    snapshot_records,
)
from schemas.codec import DecodeError, get_codec

UNREADABLE = "?"  # the type of a value that does not decode: the next publication removes it


@dataclass(frozen=True)
class Published:
    changes: list[Change]
    generation: int
    source: str

    def summary(self) -> str:
        if not self.changes:
            return f"up to date: generation {self.generation} ({self.source})"
        units = sum(1 for c in self.changes if c.kind == "DirectoryUnit")
        gone = sum(1 for c in self.changes if c.record is None)
        rules = any(c.kind == "RoutingRules" for c in self.changes)
        return (
            f"published generation {self.generation} ({self.source}): {units} unit(s) written, "
            f"{gone} removed{', the rules' if rules else ''}, the head"
        )


def read_directory(settings: Settings, timeout: float = 30.0) -> dict[str, Entry]:
    """The latest record of every key on the topic (tombstoned keys absent), read to its end."""
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    topic = UNITS_DIRECTORY.name(settings)
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"pakn-units-{time.time_ns()}",  # assign() only: never commits
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        }
    )
    codec = get_codec()
    out: dict[str, Entry] = {}
    try:
        meta = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
        if meta is None or meta.error is not None:
            raise KafkaException(f"topic {topic} is missing: run `pakn topics`")
        ends: dict[int, int] = {}
        parts = []
        for p in meta.partitions:
            lo, hi = _watermarks(consumer, TopicPartition(topic, p), timeout)
            if hi > lo:
                ends[p] = hi
                parts.append(TopicPartition(topic, p, lo))
        if not parts:
            return out
        consumer.assign(parts)
        deadline = time.monotonic() + timeout
        while ends:
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end in {timeout:.0f} s")
            for msg in consumer.consume(500, timeout=0.5):
                if msg.error():
                    continue
                key = (msg.key() or b"").decode("utf-8", "replace")
                value = msg.value()
                if value is None:
                    out.pop(key, None)
                else:
                    try:
                        out[key] = codec.decode(value)
                    except DecodeError:
                        out[key] = (UNREADABLE, {})
                if msg.offset() + 1 >= ends.get(msg.partition(), 0):
                    ends.pop(msg.partition(), None)
        return out
    finally:
        consumer.close()


def _watermarks(consumer: Any, tp: Any, timeout: float) -> tuple[int, int]:
    """A topic created a moment ago has no leader yet: ask again until it has one."""
    from confluent_kafka import KafkaError, KafkaException

    not_yet = {
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError._UNKNOWN_PARTITION,
    }
    deadline = time.monotonic() + timeout
    while True:
        try:
            lo, hi = consumer.get_watermark_offsets(tp, timeout=timeout)
            return lo, hi
        except KafkaException as exc:
            if exc.args[0].code() not in not_yet or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def send_changes(settings: Settings, changes: list[Change], timeout: float = 30.0) -> None:
    """Produce in order (one partition, idempotent producer: the head stays last)."""
    from confluent_kafka import Producer

    from gateway.publisher import producer_config

    codec = get_codec()
    producer = Producer(producer_config(settings.kafka_bootstrap, **{"linger.ms": 0}))
    failed: list[Any] = []

    def delivered(err: Any, _msg: Any) -> None:
        if err is not None:
            failed.append(err)

    topic = UNITS_DIRECTORY.name(settings)
    for c in changes:
        value = None if c.record is None else codec.encode(c.kind or "", c.record)
        producer.produce(topic, key=c.key.encode(), value=value, on_delivery=delivered)
        producer.poll(0)
    left = producer.flush(timeout)
    if left or failed:
        raise RuntimeError(f"{topic}: {left} message(s) undelivered, errors: {failed[:3]}")


def publish(
    settings: Settings,
    file: str | None = None,
    shipped: str | None = None,
    rules: str | None = None,
    dry_run: bool = False,
) -> Published:
    """Make the topic hold this directory and these rules, sending only what differs."""
    directory_doc, dir_source = directory_document(file, shipped)
    rules_doc, rules_source = rules_document(rules)
    source = f"{dir_source} + {rules_source}"
    wanted = snapshot_records(directory_doc, rules_doc, published_by=source)
    changes, generation = diff(read_directory(settings), wanted)
    if changes and not dry_run:
        send_changes(settings, changes)
    return Published(changes, generation, source)


def ensure_published(settings: Settings) -> Published | None:
    """Publish the configured directory (``PAKN_UNITS_FILE``/``PAKN_ROUTING_FILE``, else the
    shipped files) if the topic holds none yet, so a fresh pipeline routes at once."""
    if head_of(read_directory(settings)) is not None:
        return None
    return publish(settings)
