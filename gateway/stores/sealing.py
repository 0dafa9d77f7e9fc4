"""The gateway's side of the senders' data keys and sealed identities.

* ``sender_data_key`` — the key a new submission is sealed with: the sender's newest data key, or
  a new one, written to ``privacy.sender-keys`` (and acknowledged by Kafka) **before** anything
  sealed with it exists. Two gateways meeting a new sender at once each make one: both stay valid
  (the topic key is ``<pseudonym>/<key ref>``), an erasure destroys all of them.
* ``SealedReader`` — where a case's sealed identity is: the warehouse knows the topic, partition
  and offset of its ``case_submitted`` event (``case_events.source_*``); one point read on the
  event log (kept forever) fetches it. No other copy of the sealed identity is kept anywhere.
* ``open_identity`` — fetch and open; ``pakn.privacy.Erased`` when the sender's keys are gone.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from aiohttp import web
from confluent_kafka import Consumer, TopicPartition

from gateway.http.errors import unavailable
from gateway.keys import PRIVACY, PUBLISHER, READER, SEALED, SENDER_KEY_STORE, SETTINGS
from pakn.privacy import SenderKey
from pakn.topics import SENDER_KEYS
from schemas.codec import get_codec

_MAKING: dict[str, asyncio.Future[SenderKey]] = {}  # pseudonym -> its key being written


async def sender_data_key(app: web.Application, pseudonym: str) -> SenderKey:
    store = app[SENDER_KEY_STORE]
    key = store.current(pseudonym)
    if key is not None:
        return key
    making = _MAKING.get(pseudonym)
    if making is not None:  # the same sender's other request is writing one: share it
        return await asyncio.shield(making)
    fut: asyncio.Future[SenderKey] = asyncio.get_running_loop().create_future()
    _MAKING[pseudonym] = fut
    try:
        key = app[PRIVACY].new_sender_key(pseudonym)
        value = get_codec().encode("SenderKey", key.as_record())
        topic = SENDER_KEYS.name(app[SETTINGS])
        await app[PUBLISHER].publish(topic, key.topic_key.encode(), value)  # Unavailable: 503
        store.add(key)
        fut.set_result(key)
        return key
    except BaseException as exc:
        fut.set_exception(exc)
        fut.exception()  # retrieved: no "never retrieved" warning when nobody else waited
        raise
    finally:
        _MAKING.pop(pseudonym, None)


class SealedReader:
    """Point reads of single messages (one consumer, no group offsets, one read at a time)."""

    def __init__(self, bootstrap: str) -> None:
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": "pakn-gateway-point-reads",  # never subscribes, never commits
                "enable.auto.commit": False,
                "enable.partition.eof": True,
            }
        )
        self._lock = threading.Lock()

    def read(self, topic: str, partition: int, offset: int, timeout: float = 5.0) -> bytes | None:
        with self._lock:
            self._consumer.assign([TopicPartition(topic, partition, offset)])
            try:
                msg = self._consumer.poll(timeout)
                if msg is None or msg.error() is not None or msg.offset() != offset:
                    return None
                return msg.value()
            finally:
                self._consumer.unassign()

    def close(self) -> None:
        self._consumer.close()


async def sealed_sender(app: web.Application, case_id: str) -> dict[str, Any] | None:
    """The ``sender`` record (kind, confidential, pseudonym, sealed pii) of the case's
    submission, read from the event log; None when the warehouse has not seen it."""
    source = await app[READER].submission_source(case_id)
    if source is None:
        return None
    loop = asyncio.get_running_loop()
    value = await loop.run_in_executor(None, app[SEALED].read, *source)
    if value is None:
        return None
    name, record = get_codec().decode(value)
    if name != "CaseSubmitted" or str(record["envelope"]["case_id"]) != case_id:
        return None
    return record["sender"]


async def open_identity(app: web.Application, sender: dict[str, Any], case_id: str) -> dict:
    """The sender's identity; ``Erased`` when their data keys were destroyed."""
    store = app[SENDER_KEY_STORE]
    ref = sender["pii"]["key_id"]
    if store.get(ref) is None:  # made by another gateway a moment ago? read the topic's end
        loop = asyncio.get_running_loop()
        if not await loop.run_in_executor(None, store.caught_up, 5.0):
            # never "erased" on a guess: only a key store that read the whole topic says so
            raise unavailable("kafka_unavailable")
    return app[PRIVACY].unseal(sender["pii"], case_id, store.get)
