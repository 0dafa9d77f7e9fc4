"""The worker's feed of recent submissions and of the image blocklist, for its in-memory
``SightingIndex`` (processors/reuse.py; docs/integrity.md §4).

A consumer thread (confluent-kafka, no consumer group: every worker reads everything) reads
``case.events`` from the start of the longest window (365 days of images) and follows it, keeping
only the ``CaseSubmitted`` records (their type is in the message header: nothing else is
decoded), and reads the compacted blocklist topic whole. It hands the records to the event loop
through a queue; the agent drains it before each lookup, so the index is only ever touched by
the loop. ``wait_ready`` returns once the topics were read to the end they had at start: a worker
consumes nothing before its index holds the window.

Why not the faust tables of before: every lookup and store was a Kafka message and a changelog
write per bucket — 10 of the 16 messages a submission cost. Reading the case log once per worker
costs a few microseconds a message in librdkafka; the price is that two reports of one spot
opened on *different* workers within the feed's delay (well under a second) do not see each
other (each worker sees its own at once).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from typing import Any

from confluent_kafka import Consumer, TopicPartition

from pakn.settings import Settings
from pakn.topics import CASE_EVENTS, INTEGRITY_MEDIA
from schemas.codec import DecodeError, get_codec

log = logging.getLogger("worker.sightings")
Item = tuple[str, dict[str, Any]]  # ("CaseSubmitted" | "MediaSighting", record)


class SightingsFollower:
    def __init__(self, settings: Settings, window_ms: int) -> None:
        self.settings = settings
        self.window_ms = window_ms
        self.queue: collections.deque[Item] = collections.deque()
        self._ready = threading.Event()
        self._stop = threading.Event()
        self.read = 0
        self._thread = threading.Thread(target=self._run, name="sightings", daemon=True)

    def start(self) -> SightingsFollower:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    def drain(self) -> list[Item]:
        out = []
        q = self.queue
        while q:
            out.append(q.popleft())
        return out

    def _assignment(self, consumer: Consumer) -> tuple[list[TopicPartition], dict[Any, int]]:
        """Where to start (the window's first offset per partition; the blocklist from its
        beginning) and the end offsets to reach before the worker is ready."""
        since = int(time.time() * 1000) - self.window_ms
        parts, ends = [], {}
        for spec, start in ((CASE_EVENTS, since), (INTEGRITY_MEDIA, 0)):
            name = spec.name(self.settings)
            meta = consumer.list_topics(name, timeout=30).topics[name]
            tps = [TopicPartition(name, p, start) for p in meta.partitions]
            for tp in consumer.offsets_for_times(tps, timeout=30):
                lo, hi = consumer.get_watermark_offsets(TopicPartition(name, tp.partition), 30)
                begin = tp.offset if tp.offset >= 0 else hi  # nothing that recent: the end
                parts.append(TopicPartition(name, tp.partition, max(begin, lo)))
                if hi > max(begin, lo):
                    ends[(name, tp.partition)] = hi
        return parts, ends

    def _run(self) -> None:
        codec = get_codec()
        consumer = Consumer(
            {
                "bootstrap.servers": self.settings.kafka_bootstrap,
                "group.id": f"{self.settings.worker_app_id}-sightings",  # never committed
                "enable.auto.commit": False,
                "fetch.min.bytes": 1,
            }
        )
        try:
            parts, ends = self._assignment(consumer)
            consumer.assign(parts)
            if not ends:
                self._ready.set()
            while not self._stop.is_set():
                for m in consumer.consume(5000, timeout=0.2):
                    if m.error():
                        continue
                    key = (m.topic(), m.partition())
                    if key in ends and m.offset() + 1 >= ends[key]:
                        del ends[key]
                        if not ends:
                            self._ready.set()
                    kind = codec.type_of(m.value())
                    if kind not in ("CaseSubmitted", "MediaSighting"):
                        continue
                    try:
                        self.queue.append(codec.decode(m.value()))
                        self.read += 1
                    except DecodeError as exc:
                        log.warning("sighting not read: %s", exc)
        except Exception:
            log.exception(
                "the sightings feed stopped: duplicate and reuse checks see only "
                "what this worker opens"
            )
            self._ready.set()
        finally:
            consumer.close()
