"""The faust app: topics, tables and agents side by side, so the topology reads in one screen.

Agents are thin: decode -> call the pure core (processors/) -> emit. Delivery is at-least-once;
every state update is idempotent by event id and every output has a derived, stable event id, so
a redelivery after a crash changes nothing downstream (sinks dedup on event id).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import faust

from pakn.deadletters import dead_letter
from pakn.settings import Settings, get_settings
from pakn.topics import CASE_EVENTS, CASE_STATE, DEAD_LETTERS, INTAKE
from processors.calendar import calendar_for_unit
from processors.case import CaseState, open_case
from schemas.codec import DecodeError, get_codec

log = logging.getLogger("worker")
CONSUMER_NAME = "worker"


def create_app(settings: Settings) -> faust.App:
    return faust.App(
        settings.worker_app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="rocksdb://",
        datadir=str(settings.worker_dir),
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        broker_session_timeout=settings.worker_session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.worker_session_timeout_s / 3),
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=settings.worker_web_port != 0,
        web_port=settings.worker_web_port or 6066,
        web_host="127.0.0.1",
        table_standby_replicas=0,
    )


settings = get_settings()
app = create_app(settings)
codec = get_codec()

intake_topic = app.topic(INTAKE.name(settings), key_type=bytes, value_type=bytes)
events_topic = app.topic(CASE_EVENTS.name(settings), key_type=bytes, value_type=bytes)
state_topic = app.topic(CASE_STATE.name(settings), key_type=bytes, value_type=bytes)
dlq_topic = app.topic(DEAD_LETTERS.name(settings), key_type=bytes, value_type=bytes)

# Authoritative case state, keyed by case id (co-partitioned with the intake topic).
cases = app.Table(
    "cases",
    default=None,
    # No key/value *types*: faust would try Model.from_data on them; JSON gives str and dict.
    schema=faust.Schema(key_serializer="json", value_serializer="json"),
    help="Authoritative case state by case id (processors.case.CaseState as a dict).",
)


async def _dead_letter(event: faust.EventT, reason: str, detail: str) -> None:
    msg = event.message
    key, value = dead_letter(
        msg.topic, msg.partition, msg.offset, msg.key, msg.value, reason, detail, CONSUMER_NAME
    )
    log.warning("dead letter", extra={"topic": msg.topic, "offset": msg.offset, "reason": reason})
    await dlq_topic.send(key=key, value=value)


@app.agent(intake_topic)
async def apply_submissions(stream: faust.StreamT[Any]) -> None:
    async for event in stream.events():
        try:
            await _apply_submission(event)
        except DecodeError as exc:
            await _dead_letter(event, exc.reason, exc.detail)
        except Exception as exc:  # a bad event must not stop the stream: park it, go on
            log.exception("processing failed")
            await _dead_letter(event, "processing_failed", f"{type(exc).__name__}: {exc}")


async def _apply_submission(event: faust.EventT) -> None:
    name, record = codec.decode(event.value)
    if name != "CaseSubmitted":
        raise DecodeError("invalid_event", f"{name} does not belong on the intake topic")
    case_id = str(record["envelope"]["case_id"])
    stored = cases.get(case_id)
    decision = open_case(
        CaseState.from_dict(stored) if stored else None,
        record,
        calendar_for_unit(record.get("unit_code")),
    )
    if decision.changed:
        cases[case_id] = decision.state.to_dict()  # reassign: in-place edits are not logged
    key = case_id.encode()
    if decision.forward:
        await events_topic.send(key=key, value=event.value)
    for out_name, out in decision.emits:
        await events_topic.send(key=key, value=codec.encode(out_name, out))
    if decision.forward:
        snapshot = codec.encode("CaseState", decision.state.snapshot())
        await state_topic.send(key=key, value=snapshot)


def run_worker(settings: Settings) -> None:
    from pakn.logs import setup_logging
    from pakn.topics import create_topics

    setup_logging(settings.log_level, "worker")
    settings.worker_dir.mkdir(parents=True, exist_ok=True)
    create_topics(settings)  # our topics exist with their documented config before faust looks
    web = "--with-web" if settings.worker_web_port else "--without-web"  # the CLI flag wins
    sys.argv = ["pakn-worker", "worker", web, "--loglevel", settings.log_level.lower()]
    app.main()
