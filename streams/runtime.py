"""What every feature of the worker shares: the app, the settings and rules, the codec, the
topics of the catalogue, decoding at the edge, dead letters, tables and the one way out.

A feature module (cases, oversight, integrity, reception, warnings) exposes ``install(rt, ...)``
which declares its topics, tables, agents and timers on ``rt.app`` and returns what other
features may call. Features import this module and the pure core, never each other's internals
and never the entry module; ``streams.worker`` wires them together.

Sends go through ``rt.out`` — a function — so an agent tested in process (faust's
``test_context`` with the memory store) records what it would send instead of needing a broker.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import faust
from faust.exceptions import PartitionsMismatch

from pakn.deadletters import dead_letter
from pakn.settings import Settings
from pakn.topics import DEAD_LETTERS, TopicSpec
from processors.rules import Rules
from schemas.codec import Codec, DecodeError, get_codec
from streams.directory import LiveRouter

log = logging.getLogger("worker")
CONSUMER_NAME = "worker"

# (topic, key, value, headers, partition) -> awaitable of the send
Out = Callable[[faust.TopicT, bytes, bytes, dict[str, bytes] | None, int | None], Awaitable[Any]]
Apply = Callable[[faust.EventT], Awaitable[None]]


async def send_to_kafka(
    topic: faust.TopicT,
    key: bytes,
    value: bytes,
    headers: dict[str, bytes] | None = None,
    partition: int | None = None,
) -> Any:
    return await topic.send(key=key, value=value, headers=headers, partition=partition)


@dataclass
class Sent:
    topic: str
    key: bytes
    value: bytes
    headers: dict[str, bytes] | None
    partition: int | None


@dataclass
class Recorder:
    """``rt.out`` for in-process tests: what the agents would have sent, in order."""

    sent: list[Sent] = field(default_factory=list)

    async def __call__(
        self,
        topic: faust.TopicT,
        key: bytes,
        value: bytes,
        headers: dict[str, bytes] | None = None,
        partition: int | None = None,
    ) -> None:
        self.sent.append(Sent(topic.get_topic_name(), key, value, headers, partition))

    def on(self, topic: str, codec: Codec | None = None) -> list[tuple[str, dict[str, Any]]]:
        """The decoded (type, record) of what went to ``topic``."""
        codec = codec or get_codec()
        return [codec.decode(s.value) for s in self.sent if s.topic == topic]

    def clear(self) -> None:
        self.sent.clear()


@dataclass
class Runtime:
    app: faust.App
    settings: Settings
    base_rules: Rules
    codec: Codec = field(default_factory=get_codec)
    out: Out = send_to_kafka
    # sends whose acknowledgement a table write waits for (warnings): faust's, awaitable
    acked_out: Out = send_to_kafka
    # One input at a time per worker from load to the last send: agents of different topics
    # share the loop, and a case's events must reach its log in the order they were decided.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # the published unit directory (streams/directory.py); None: the rules' own router
    live: LiveRouter | None = None
    _topics: dict[str, faust.TopicT] = field(default_factory=dict)

    @property
    def rules(self) -> Rules:
        """The rules now: a newer publication of the unit directory is swapped in here, on the
        event loop, before the input that first sees it."""
        live = self.live
        if live is not None:
            router = live.router
            if router is not self.base_rules.router:
                self.base_rules = self.base_rules.with_router(router)
        return self.base_rules

    # -- topics ---------------------------------------------------------------------------------
    def topic(self, spec: TopicSpec | str, **kw: Any) -> faust.TopicT:
        """The faust topic of a catalogue entry (or of a name), declared once."""
        name = spec.name(self.settings) if isinstance(spec, TopicSpec) else spec
        found = self._topics.get(name)
        if found is None:
            found = self._topics[name] = self.app.topic(
                name, key_type=bytes, value_type=bytes, **kw
            )
        return found

    def decode(self, event: faust.EventT, spec: TopicSpec) -> tuple[str, dict[str, Any]]:
        """Decode at the edge: the value must be one of the types the catalogue allows there."""
        name, record = self.codec.decode(event.value)
        if name not in spec.values:
            raise DecodeError("invalid_event", f"{name} does not belong on {spec.suffix}")
        return name, record

    def decode_one(self, event: faust.EventT, spec: TopicSpec) -> dict[str, Any]:
        return self.decode(event, spec)[1]

    async def send(
        self,
        topic: faust.TopicT,
        key: bytes,
        name: str,
        record: dict[str, Any],
        headers: dict[str, bytes] | None = None,
        partition: int | None = None,
    ) -> Any:
        return await self.out(topic, key, self.codec.encode(name, record), headers, partition)

    async def send_acked(
        self,
        topic: faust.TopicT,
        key: bytes,
        name: str,
        record: dict[str, Any],
        headers: dict[str, bytes] | None = None,
    ) -> Any:
        """A send whose delivery future is returned (await it before a dependent table write)."""
        return await self.acked_out(topic, key, self.codec.encode(name, record), headers, None)

    # -- tables ---------------------------------------------------------------------------------
    def json_table(self, name: str, help: str, **kw: Any) -> Any:
        """A table of JSON keys and values. No key/value *types*: faust would try
        Model.from_data on them; JSON gives str and dict. Values are replaced, never edited in
        place (an in-place edit writes nothing to the changelog)."""
        return self.app.Table(
            name,
            default=None,
            schema=faust.Schema(key_serializer="json", value_serializer="json"),
            help=help,
            **kw,
        )

    # -- running agents -------------------------------------------------------------------------
    async def dead_letter(self, event: faust.EventT, reason: str, detail: str) -> None:
        msg = event.message
        key, value = dead_letter(
            msg.topic, msg.partition, msg.offset, msg.key, msg.value, reason, detail, CONSUMER_NAME
        )
        log.warning(
            "dead letter", extra={"topic": msg.topic, "offset": msg.offset, "reason": reason}
        )
        await self.out(self.topic(DEAD_LETTERS), key, value, None, None)

    async def each(self, stream: faust.StreamT[Any], apply: Apply, *, lock: bool = True) -> None:
        """Run ``apply`` per event; a bad event is parked on the dead-letter topic, never fatal.
        ``lock=False`` for agents that touch no case state (they need not wait for the lock)."""
        async for event in stream.events():
            try:
                if lock:
                    async with self.lock:
                        await apply(event)
                else:
                    await apply(event)
            except DecodeError as exc:
                await self.dead_letter(event, exc.reason, exc.detail)
            except PartitionsMismatch:
                # The worker's topics are wrong, not the event: stop at once (offsets
                # uncommitted, the events are read again after a restart).
                log.critical("partitions mismatch: stopping the worker", exc_info=True)
                os._exit(70)
            except Exception as exc:
                log.exception("processing failed")
                await self.dead_letter(event, "processing_failed", f"{type(exc).__name__}: {exc}")


class KafkaOut:
    """``rt.out`` of a running worker: sends through librdkafka (confluent-kafka), a few
    microseconds a message where faust's own send costs about a third of a millisecond.

    At-least-once still holds: faust commits an input's offset only after ``producer.flush()``,
    which ``attach`` extends to wait for these deliveries too; a delivery that fails for good
    stops the worker (its inputs are read again by whoever takes the partitions). Messages of one
    key keep their order (one idempotent producer, murmur2 keys as faust's)."""

    def __init__(self, settings: Settings) -> None:
        import threading

        from confluent_kafka import Producer

        from pakn.topics import producer_config

        self.failed: str | None = None
        self.producer = Producer(
            producer_config(
                settings.kafka_bootstrap,
                **{"linger.ms": 5, "batch.num.messages": 10_000, "error_cb": self._on_error},
            )
        )
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="kafka-out", daemon=True)
        self._poller.start()

    def _on_error(self, err: Any) -> None:
        if err.fatal():
            self.failed = str(err)

    def _delivered(self, err: Any, msg: Any) -> None:
        if err is not None:
            self.failed = f"{msg.topic()}: {err}"

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.producer.poll(0.1)

    async def __call__(
        self,
        topic: faust.TopicT,
        key: bytes,
        value: bytes,
        headers: dict[str, bytes] | None = None,
        partition: int | None = None,
    ) -> None:
        if self.failed:
            log.critical("a send failed for good: stopping the worker (%s)", self.failed)
            os._exit(71)
        kw: dict[str, Any] = {"key": key, "value": value, "on_delivery": self._delivered}
        if headers:
            kw["headers"] = list(headers.items())
        if partition is not None:
            kw["partition"] = partition
        name = topic.get_topic_name()
        while True:
            try:
                self.producer.produce(name, **kw)
                return
            except BufferError:  # the local queue is full: let it drain, then retry
                await asyncio.sleep(0.01)

    async def flush(self) -> None:
        loop = asyncio.get_running_loop()
        left = await loop.run_in_executor(None, self.producer.flush, 30.0)
        if left or self.failed:
            log.critical("sends not delivered (%s left, %s): stopping", left, self.failed)
            os._exit(71)

    def attach(self, app: faust.App) -> None:
        """faust flushes its producer before every offset commit: flush ours with it."""
        producer = app.producer
        own_flush = producer.flush

        async def flush() -> None:
            await own_flush()
            await self.flush()

        producer.flush = flush  # type: ignore[method-assign]

    def close(self) -> None:
        self.producer.flush(30)
        self._stop.set()
