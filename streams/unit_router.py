"""`pakn router`: copies each case's events and states to the work stream of its unit
(``<prefix>unit.<code>``, docs/agency-streams.md), outside the faust worker.

    case.events (header unit, from_unit) ─┐                      ┌─> unit.<code>
    case.state  (record unit_code)       ─┴─ redact (disclosure) ─┴─> unit.<from_unit> (events)

A stateless transform in Kafka transactions that also commit the consumer offsets
(consume-transform-produce, exactly once): a router killed at any point leaves either a whole
batch (copied and consumed) or none of it. It costs the worker nothing — the worker used to send
these copies itself, three messages per submission at faust's price per message.

A case that moves (forward, transfer) has its events sent to both units (the worker marks them
with ``from_unit``); its state goes to the unit that holds it now.
"""

from __future__ import annotations

import logging
import os
import uuid
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from pakn.loops import commit_batch, run_until_stopped
from pakn.settings import Settings
from pakn.topics import CASE_EVENTS, CASE_STATE, UNIT_RETENTION_S, unit_topic_name
from processors.disclosure import for_unit_stream
from schemas.codec import Codec, DecodeError, get_codec

log = logging.getLogger("router")
REDACTED_TYPES = ("CaseSubmitted", "CaseState")


def targets(headers: dict[str, bytes], state_unit: str | None) -> list[str]:
    """The units whose streams get a message: its unit (header, else the state's), and the
    unit it left (events of a move)."""
    unit = headers.get("unit", b"").decode() or (state_unit or "")
    out = [unit] if unit else []
    left = headers.get("from_unit", b"").decode()
    if left and left != unit:
        out.append(left)
    return out


def for_units(codec: Codec, value: bytes) -> tuple[bytes, str | None]:
    """The value as a unit stream carries it, and the unit of a CaseState (None otherwise)."""
    name = codec.type_of(value)
    if name not in REDACTED_TYPES:
        return value, None  # nothing of the sender in it: no decoding
    name, record = codec.decode(value)
    redacted = for_unit_stream(name, record)
    unit = record.get("unit_code") if name == "CaseState" else None
    return (value if redacted is record else codec.encode(name, redacted)), unit


class UnitRouter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.codec = get_codec()
        self.sources = [CASE_EVENTS.name(settings), CASE_STATE.name(settings)]
        self.group = f"{settings.worker_app_id}-router"
        self.running = True
        self.known: set[str] = set()
        self.admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
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
        # One transactional id per process: zombies are fenced by the group's generation
        # (send_offsets_to_transaction with the group metadata, KIP-447).
        self.producer = Producer(
            {
                "bootstrap.servers": settings.kafka_bootstrap,
                "transactional.id": f"{self.group}-{os.getpid()}-{uuid.uuid4().hex[:8]}",
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                "compression.type": "lz4",
            }
        )

    def ensure_topic(self, name: str) -> None:
        """A unit's stream: one partition (its events in order), kept 90 days."""
        if name in self.known:
            return
        if name not in self.admin.list_topics(timeout=10).topics:
            spec = NewTopic(
                name,
                1,
                self.settings.topic_replication,
                config={"cleanup.policy": "delete", "retention.ms": str(UNIT_RETENTION_S * 1000)},
            )
            try:
                self.admin.create_topics([spec])[name].result(30)
            except KafkaException as exc:
                if "TOPIC_ALREADY_EXISTS" not in str(exc):
                    raise
        self.known.add(name)

    def copies(self, msg: Any) -> list[tuple[str, bytes, bytes, dict[str, bytes]]]:
        headers = {k: v for k, v in (msg.headers() or []) if v is not None}
        try:
            value, state_unit = for_units(self.codec, msg.value())
        except DecodeError as exc:
            log.warning("not copied: %s", exc, extra={"offset": msg.offset()})
            return []
        out = []
        for code in targets(headers, state_unit):
            out.append(
                (unit_topic_name(self.settings, code), msg.key(), value, {"unit": code.encode()})
            )
        return out

    def run(self) -> None:
        self.producer.init_transactions(30)
        self.consumer.subscribe(self.sources)
        while self.running:
            msgs = [m for m in self.consumer.consume(2000, 0.5) if not m.error()]
            if not msgs:
                continue
            batch = [c for m in msgs for c in self.copies(m)]
            for topic, *_ in batch:
                self.ensure_topic(topic)
            self.producer.begin_transaction()
            for topic, key, value, headers in batch:
                self.producer.produce(topic, key=key, value=value, headers=headers)
            commit_batch(self.producer, self.consumer)
        self.consumer.close()


def run_router(settings: Settings) -> None:
    run_until_stopped(settings, "router", UnitRouter)
