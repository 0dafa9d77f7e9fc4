"""Request/reply over Kafka: wait for the worker's answer to a request this gateway sent.

Every gateway instance reads the whole of each results topic from its end (manual assignment, no
group rebalance, no commits) in a thread, resolves the waiting request's future by request id and
keeps the recent results for status lookups (`GET /v1/commands/{id}`). The answers it knows are
``ANSWERS``: a case command's CommandResult (by command id, on the command-results topic) and a
reception request's ReceptionResult (by request id, on the reception results topic).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from confluent_kafka import OFFSET_END, Consumer, TopicPartition

from schemas.codec import DecodeError, get_codec

if TYPE_CHECKING:
    from gateway.publisher import Publisher

log = logging.getLogger(__name__)

# Message type -> the field naming the request it answers (ids are UUIDs: they never collide).
ANSWERS = {"CommandResult": "command_id", "ReceptionResult": "request_id"}


class Replies:
    KEEP = 50_000  # recent results kept for status lookups

    def __init__(self, bootstrap: str, topics: str | Sequence[str]) -> None:
        self._topics = [topics] if isinstance(topics, str) else list(topics)
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": "pakn-gateway-replies",  # required by librdkafka; never committed
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 10,
            }
        )
        assigned = []
        for topic in self._topics:
            meta = self._consumer.list_topics(topic, timeout=10).topics[topic]
            assigned += [TopicPartition(topic, p, OFFSET_END) for p in meta.partitions]
        self._consumer.assign(assigned)
        self._waiting: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Future[Any]]] = {}
        self._recent: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="replies", daemon=True)
        self._thread.start()

    def expect(self, command_id: str) -> asyncio.Future[dict[str, Any]]:
        """Register interest before sending the command, so the answer cannot be missed."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[dict[str, Any]] = loop.create_future()
        with self._lock:
            known = self._recent.get(command_id)
            if known is None:
                self._waiting[command_id] = (loop, fut)
        if known is not None:
            fut.set_result(known)
        return fut

    def forget(self, command_id: str) -> None:
        with self._lock:
            self._waiting.pop(command_id, None)

    def recent(self, command_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._recent.get(command_id)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._consumer.close()

    def _serve(self) -> None:
        codec = get_codec()
        while not self._stop.is_set():
            for msg in self._consumer.consume(500, timeout=0.1):
                if msg.error():
                    continue
                try:
                    name, rec = codec.decode(msg.value())
                except DecodeError:
                    continue
                id_field = ANSWERS.get(name)
                if id_field is None:
                    continue
                rid = rec[id_field] = str(rec[id_field])
                if name == "CommandResult":
                    rec["envelope"]["case_id"] = str(rec["envelope"]["case_id"])
                else:
                    rec["session_id"] = str(rec["session_id"])
                with self._lock:
                    self._recent[rid] = rec
                    while len(self._recent) > self.KEEP:
                        self._recent.popitem(last=False)
                    waiting = self._waiting.pop(rid, None)
                if waiting is not None:
                    loop, fut = waiting
                    loop.call_soon_threadsafe(_settle, fut, rec)


def _settle(fut: asyncio.Future[dict[str, Any]], rec: dict[str, Any]) -> None:
    if not fut.done():
        fut.set_result(rec)


async def ask(
    replies: Replies,
    publisher: Publisher,
    topic: str,
    key: bytes,
    value: bytes,
    request_id: str,
    timeout: float,
) -> dict[str, Any] | None:
    """Publish a request and wait for the worker's answer to it: the answer, or None when the
    wait runs out (the caller then answers 202 with a status URL). A failed publish
    (``Unavailable``) is raised; nothing is left waiting either way."""
    waiting = replies.expect(request_id)
    try:
        await publisher.publish(topic, key, value)
        return await asyncio.wait_for(waiting, timeout)
    except TimeoutError:
        return None
    finally:
        replies.forget(request_id)  # idempotent: an answered request is no longer waiting
