"""Read and publish the ``units.directory`` topic (the unit directory and routing rules as data).

What to send is decided by the pure core (``processors.unit_records.diff``); this module only
reads the topic to its end and produces the changes, the head last. See docs/units-and-routing.md.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pakn.settings import Settings
from pakn.topics import UNITS_DIRECTORY
from processors.datafile import DataFileError
from processors.routing import Router
from processors.unit_records import (
    Change,
    DirectoryNotReady,
    Entry,
    build_router,
    diff,
    directory_document,
    head_of,
    rules_document,
    snapshot_records,
)
from schemas.codec import Codec, DecodeError, get_codec

log = logging.getLogger("units.directory")
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
        deadline = time.monotonic() + timeout
        while True:  # a topic just created has no leader for a moment
            meta = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
            if meta is not None and meta.error is None and meta.partitions:
                break
            if time.monotonic() > deadline:
                raise KafkaException(f"topic {topic} is missing: run `pakn topics`")
            time.sleep(0.2)
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
                _apply(out, msg, codec)
                if msg.offset() + 1 >= ends.get(msg.partition(), 0):
                    ends.pop(msg.partition(), None)
        return out
    finally:
        consumer.close()


def _apply(entries: dict[str, Entry], msg: Any, codec: Codec) -> None:
    """One message of the compacted topic: the key's latest record, or gone (a tombstone)."""
    key = (msg.key() or b"").decode("utf-8", "replace")
    value = msg.value()
    if value is None:
        entries.pop(key, None)
        return
    try:
        entries[key] = codec.decode(value)
    except DecodeError:
        entries[key] = (UNREADABLE, {})


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
    file = file or (None if shipped else settings.units_file or None)
    directory_doc, dir_source = directory_document(file, shipped)
    rules_doc, rules_source = rules_document(rules or settings.routing_file or None)
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


class DirectoryFollower:
    """Follows the topic in a thread (the worker and the gateway) and calls
    ``on_router(router, generation)`` from that thread with each new complete publication —
    never with half of one (``processors.unit_records.build_router``). ``wait_ready`` returns
    once what the topic held at the start has been read."""

    def __init__(self, settings: Settings, on_router: Callable[[Router, int], Any]) -> None:
        self._settings = settings
        self._on_router = on_router
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="units-directory", daemon=True)
        self._problem = ""
        self.generation = 0

    def start(self) -> DirectoryFollower:
        self._thread.start()
        return self

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

        topic = UNITS_DIRECTORY.name(self._settings)
        consumer = Consumer(
            {
                "bootstrap.servers": self._settings.kafka_bootstrap,
                "group.id": f"pakn-units-follower-{time.time_ns()}",  # assign() only
                "enable.auto.commit": False,
            }
        )
        codec = get_codec()
        entries: dict[str, Entry] = {}
        try:
            try:
                _, end = _watermarks(consumer, TopicPartition(topic, 0), 10.0)
            except KafkaException as exc:
                log.warning(f"{topic}: {exc}; following it anyway")
                end = 0
            if end == 0:
                self._ready.set()
            consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
            while not self._stop.is_set():
                msgs = [m for m in consumer.consume(500, timeout=0.5) if not m.error()]
                for msg in msgs:
                    _apply(entries, msg, codec)
                if msgs:
                    self._rebuild(entries)
                if not msgs or msgs[-1].offset() + 1 >= end:  # nothing more: caught up
                    self._ready.set()
        except Exception:
            log.exception(f"following {topic} failed, staying with generation {self.generation}")
            self._ready.set()
        finally:
            consumer.close()

    def _rebuild(self, entries: dict[str, Entry]) -> None:
        try:
            router, generation = build_router(entries)
        except (DirectoryNotReady, DataFileError) as exc:
            what = "the files" if self.generation == 0 else f"generation {self.generation}"
            problem = f"units.directory not usable, staying with {what}: {exc}"
            if problem != self._problem:  # once per distinct state
                (log.warning if isinstance(exc, DataFileError) else log.info)(problem)
                self._problem = problem
            return
        self._problem = ""
        if generation != self.generation:
            self._on_router(router, generation)
            self.generation = generation
            log.info(
                f"units.directory generation {generation} read: {router.directory.describe()}",
                extra={"generation": generation},
            )
