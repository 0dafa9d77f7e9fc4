"""The senders' data keys, as the compacted topic ``privacy.sender-keys`` holds them.

``SenderKeyStore`` follows the topic from its beginning in a thread (no consumer group: every
gateway reads all of it) and keeps a ``pakn.privacy.SenderKeyring``. A tombstone removes a key
from the ring the moment it is read — that is the shred, as far as a running gateway goes; the
broker drops the old value at the next compaction (docs/privacy.md, topic settings in
pakn/topics.py). Memory: about 200 bytes per sender.

``load_keyring`` reads the topic once, up to its end (the ``pakn privacy`` commands).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from pakn.privacy import SenderKey, SenderKeyring
from pakn.settings import Settings
from pakn.topics import SENDER_KEYS
from schemas.codec import DecodeError, get_codec

log = logging.getLogger("pakn.sender_keys")


class SenderKeyStore:
    def __init__(self, settings: Settings) -> None:
        self.topic = SENDER_KEYS.name(settings)
        self.ring = SenderKeyring()
        self._lock = threading.Lock()
        self._progress = threading.Condition(self._lock)
        self._positions: dict[int, int] = {}
        self._consumer = Consumer(
            {
                "bootstrap.servers": settings.kafka_bootstrap,
                "group.id": f"pakn-sender-keys-{uuid.uuid4().hex[:8]}",  # never committed
                "enable.auto.commit": False,
                "enable.partition.eof": False,
                "fetch.wait.max.ms": 100,
            }
        )
        # a second client for the topic's ends: a watermark query on the follower's own
        # consumer waits behind its fetches (seen here: blocked for good)
        self._probe = Consumer(
            {"bootstrap.servers": settings.kafka_bootstrap, "group.id": "pakn-sender-keys-probe"}
        )
        self._probe_lock = threading.Lock()
        self._partitions: list[int] = []  # known once the topic's metadata was read
        self._warned_at = -60.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="sender-keys", daemon=True)

    def start(self) -> SenderKeyStore:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        self._consumer.close()
        self._probe.close()

    # --- reads ----------------------------------------------------------------------------
    def get(self, ref: str) -> SenderKey | None:
        with self._lock:
            return self.ring.get(ref)

    def current(self, pseudonym: str) -> SenderKey | None:
        with self._lock:
            return self.ring.current(pseudonym)

    def add(self, key: SenderKey) -> None:
        """A key this process has just written (and Kafka acknowledged): usable at once."""
        with self._lock:
            self.ring.apply(key.topic_key, key)

    def caught_up(self, timeout: float = 5.0) -> bool:
        """Wait until everything written to the topic before this call has been read."""
        deadline = time.monotonic() + timeout
        with self._progress:  # the follower may not have read the topic's metadata yet
            while not self._partitions:
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return False
                self._progress.wait(min(left, 0.2))
        ends = {}
        with self._probe_lock:
            for p in self._partitions:
                _low, high = self._probe.get_watermark_offsets(
                    TopicPartition(self.topic, p), timeout=timeout, cached=False
                )
                ends[p] = high
        with self._progress:
            while any(self._positions.get(p, 0) < end for p, end in ends.items()):
                left = deadline - time.monotonic()
                if left <= 0 or not self._thread.is_alive():
                    return False
                self._progress.wait(min(left, 0.2))
        return True

    # --- the follower thread --------------------------------------------------------------
    def _assign(self) -> bool:
        """Assign every partition from the beginning (False while Kafka does not answer)."""
        try:
            meta = self._consumer.list_topics(self.topic, timeout=5).topics[self.topic]
        except Exception as exc:  # broker down at start: try again, the gateway answers 503
            log.warning("sender keys: topic not readable yet", extra={"reason": str(exc)})
            return False
        if meta.error is not None or not meta.partitions:
            log.warning("sender keys: %s (run `pakn topics`)", meta.error)
            return False
        partitions = sorted(meta.partitions)
        self._consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in partitions])
        with self._progress:
            self._partitions = partitions
            self._progress.notify_all()
        return True

    def _follow(self) -> None:
        codec = get_codec()
        while not self._stop.is_set() and not self._assign():
            self._stop.wait(1.0)
        while not self._stop.is_set():
            msgs = self._consumer.consume(500, timeout=0.2)
            with self._progress:
                for msg in msgs:
                    if msg.error() is not None:
                        if msg.error().code() != KafkaError._PARTITION_EOF:
                            self._warn(str(msg.error()))
                        continue
                    self._apply(codec, msg.key(), msg.value())
                    self._positions[msg.partition()] = msg.offset() + 1
                if not msgs:  # idle: the positions may have moved past compacted gaps
                    for tp in self._consumer.position(
                        [TopicPartition(self.topic, p) for p in self._partitions]
                    ):
                        if tp.offset >= 0:
                            self._positions[tp.partition] = max(
                                self._positions.get(tp.partition, 0), tp.offset
                            )
                self._progress.notify_all()

    def _warn(self, what: str) -> None:
        """At most one warning a minute while the broker is away (librdkafka retries)."""
        now = time.monotonic()
        if now - self._warned_at >= 60:
            self._warned_at = now
            log.warning("sender keys: %s", what)

    def _apply(self, codec: object, key: bytes | None, value: bytes | None) -> None:
        if not key:
            return
        topic_key = key.decode()
        if value is None:
            self.ring.apply(topic_key, None)
            return
        try:
            name, record = codec.decode(value)  # type: ignore[attr-defined]
        except DecodeError as exc:
            log.warning("sender keys: undecodable value", extra={"reason": exc.reason})
            return
        if name == "SenderKey":
            self.ring.apply(topic_key, SenderKey.from_record(record))


def load_keyring(settings: Settings, timeout: float = 30.0) -> SenderKeyring:
    """Every live data key, read once to the end of the topic."""
    store = SenderKeyStore(settings).start()
    try:
        if not store.caught_up(timeout):
            raise TimeoutError(f"{store.topic} not read to its end within {timeout} s")
        return store.ring
    finally:
        store.close()
