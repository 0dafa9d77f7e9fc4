"""Publish to Kafka from asyncio without serialising requests.

One idempotent confluent-kafka producer (acks=all, murmur2 like faust's aiokafka) is shared by all
requests. A dedicated thread serves librdkafka's callbacks; each delivery report resolves the
request's asyncio future on the event loop. When every broker is down the publisher says so at
once (so the gateway answers 503 within a second) and a probe notices when the broker is back.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Producer

from pakn.topics import producer_config  # the one definition; importable from here too

log = logging.getLogger(__name__)


class Unavailable(Exception):
    """Kafka did not (or cannot now) confirm the write: nothing was accepted."""


class Publisher:
    PROBE_INTERVAL_S = 0.5

    def __init__(self, bootstrap: str, delivery_timeout_s: float) -> None:
        self._timeout = delivery_timeout_s
        self._producer = Producer(
            producer_config(
                bootstrap,
                **{
                    "message.timeout.ms": int(delivery_timeout_s * 1000),
                    "socket.connection.setup.timeout.ms": 1000,
                    "reconnect.backoff.max.ms": 500,
                    "error_cb": self._on_error,
                },
            )
        )
        self._available = True
        self._suspect = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="kafka-poll", daemon=True)
        self._thread.start()

    @property
    def available(self) -> bool:
        return self._available

    async def publish(self, topic: str, key: bytes, value: bytes) -> None:
        """Return once Kafka acknowledged the write (all in-sync replicas); else Unavailable."""
        if not self._available:
            raise Unavailable("all brokers down")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()

        def delivered(err: KafkaError | None, _msg: Any) -> None:
            if err is not None and err.code() != KafkaError._PURGE_QUEUE:
                self._suspect.set()  # a failed write is reason enough to check the broker now
            loop.call_soon_threadsafe(_settle, fut, err)

        try:
            self._producer.produce(topic, value=value, key=key, on_delivery=delivered)
        except BufferError as exc:  # local queue full: shed load rather than wait unbounded
            raise Unavailable("producer queue full") from exc
        except KafkaException as exc:
            raise Unavailable(str(exc)) from exc
        try:
            await asyncio.wait_for(fut, self._timeout + 1.0)
        except TimeoutError as exc:
            self._suspect.set()
            raise Unavailable("delivery not confirmed in time") from exc

    def probe(self, timeout: float = 1.0) -> bool:
        try:
            self._producer.list_topics(timeout=timeout)
        except KafkaException:
            return False
        return True

    def close(self, timeout: float = 5.0) -> None:
        self._producer.flush(timeout)
        self._stop.set()
        self._thread.join(timeout)

    # --- librdkafka thread ---------------------------------------------------------------
    def _on_error(self, err: KafkaError) -> None:
        # librdkafka reports _ALL_BROKERS_DOWN only when the last connection goes down: a broker
        # that hangs with its connections open is noticed by failed deliveries instead.
        if err.code() == KafkaError._ALL_BROKERS_DOWN:
            self._suspect.set()  # confirmed (or not) by a probe in the poll thread

    def _serve(self) -> None:
        last_probe = 0.0
        while not self._stop.is_set():
            self._producer.poll(0.05)
            now = time.monotonic()
            if self._suspect.is_set() and self._available:
                # An idle disconnect also reports "all brokers down": only a failed probe counts.
                self._suspect.clear()
                if not self.probe(0.3):
                    log.warning("kafka unreachable: refusing submissions until it is back")
                    self._available = False
                    # Queued, never-sent messages fail now so their requests get 503 at once.
                    self._producer.purge(in_queue=True, in_flight=False, blocking=False)
            elif not self._available and now - last_probe >= self.PROBE_INTERVAL_S:
                last_probe = now
                if self.probe(0.5):
                    log.info("kafka reachable again: accepting submissions")
                    self._available = True


def _settle(fut: asyncio.Future[None], err: KafkaError | None) -> None:
    if fut.done():
        return
    if err is None:
        fut.set_result(None)
    else:
        fut.set_exception(Unavailable(err.str()))
