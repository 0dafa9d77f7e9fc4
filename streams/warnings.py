"""Warnings to citizens on the worker's faust app: commands, subscriptions and the fan-out.

    warnings.commands (by warning)  -> warnings table -> warnings.state, warnings.results,
                                       one FanoutTask per (audience commune, bucket)
    warnings.subscriptions (by citizen) -> subscriptions table -> SubscriberRow per commune
    warnings.by-commune (by commune): rows -> subscribers table ("commune/bucket");
                                       tasks -> read that one bucket -> warnings.deliveries
    warnings.deliveries (by citizen) -> `pakn notifier` (transactional dedup) -> notifications

Rows and tasks share one topic so a commune sees them in the order they were sent: a fan-out
reaches every subscription row written before it. Outputs that a table write depends on are
awaited (acked by Kafka) *before* the write, so a crash between the two replays the input
against the old state and sends the same outputs again (ids are stable; the notifier dedups).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable
from typing import Any

import faust

from pakn.topics import (
    SUBSCRIPTIONS,
    WARNING_COMMANDS,
    WARNING_DELIVERIES,
    WARNING_RESULTS,
    WARNING_STATE,
    WARNINGS_BY_COMMUNE,
)
from processors import fanout
from processors import warnings as core
from processors.areas import shipped_geo
from schemas.codec import DecodeError
from streams.app import _each, app, codec, json_table, settings

log = logging.getLogger("worker.warnings")
GEO = shipped_geo()

commands_topic = app.topic(WARNING_COMMANDS.name(settings), key_type=bytes, value_type=bytes)
results_topic = app.topic(WARNING_RESULTS.name(settings), key_type=bytes, value_type=bytes)
state_topic = app.topic(WARNING_STATE.name(settings), key_type=bytes, value_type=bytes)
subscriptions_topic = app.topic(SUBSCRIPTIONS.name(settings), key_type=bytes, value_type=bytes)
by_commune_topic = app.topic(WARNINGS_BY_COMMUNE.name(settings), key_type=bytes, value_type=bytes)
deliveries_topic = app.topic(WARNING_DELIVERIES.name(settings), key_type=bytes, value_type=bytes)

warnings_table = json_table("warnings", "processors.warnings state by warning id.")
subscriptions_table = json_table("warning-subscriptions", "Latest subscription by pseudonym.")
subscribers_table = json_table(
    "warning-subscribers",
    'Subscribers of one bucket of one commune ("commune/bucket" -> processors.fanout row).',
)
TABLES = (warnings_table, subscriptions_table, subscribers_table)


def cap_url(warning_id: str) -> str:
    return f"{settings.public_url}/v1/warnings/{warning_id}.cap"


def state_record(state: dict[str, Any]) -> dict[str, Any]:
    """The core's state as a WarningState record (what the public may read)."""
    return {
        **{k: state[k] for k in ("warning_id", "version", "status", "issuing_unit", "content")},
        "communes": state["communes"],
        "audience": state["audience"],
        "sent": [{"version": v, "sent": at} for v, at in state["sent"]],
        **{k: state.get(k) for k in ("drafted_by", "approved_by", "superseded_by")},
        "created_at": state["created_at"],
        "updated_at": state["updated_at"],
    }


async def _sent(pending: list[Awaitable[Any]]) -> None:
    """Wait until Kafka acknowledged every send (``topic.send`` returns a delivery future)."""
    for fut in pending:
        await fut


async def _apply_command(value: bytes) -> None:
    name, cmd = codec.decode(value)
    if name != "WarningCommand":
        raise DecodeError("invalid_event", f"{name} does not belong on the warnings commands")
    wid = cmd["warning_id"]
    d = core.apply(warnings_table.get(wid), cmd, GEO, cmd["at"])
    key = wid.encode()
    pending = []
    if d.changed and d.state is not None:
        pending.append(
            await state_topic.send(
                key=key, value=codec.encode("WarningState", state_record(d.state))
            )
        )
    if d.outgoing is not None and d.state is not None:
        c = d.state["content"]
        for commune in d.outgoing.communes:
            for bucket in range(fanout.BUCKETS):
                task = {
                    "warning_id": wid,
                    "version": d.outgoing.version,
                    "kind": d.outgoing.kind,
                    "commune": commune,
                    "bucket": bucket,
                    "category": c["category"],
                    "severity": c["severity"],
                    "headline_vi": c["headline_vi"],
                    "headline_en": c.get("headline_en"),
                    "expires": c["expires"],
                    "cap_url": cap_url(wid),
                }
                pending.append(
                    await by_commune_topic.send(
                        key=commune.encode(), value=codec.encode("FanoutTask", task)
                    )
                )
    pending.append(await results_topic.send(key=key, value=codec.encode("WarningResult", d.result)))
    await _sent(pending)
    if d.changed and d.state is not None:
        warnings_table[wid] = d.state
    log.info("warning command", extra={"warning": wid, **d.result})


async def _apply_subscription(value: bytes) -> None:
    name, sub = codec.decode(value)
    if name != "Subscription":
        raise DecodeError("invalid_event", f"{name} does not belong on the subscriptions")
    old = subscriptions_table.get(sub["pseudonym"])
    rows = fanout.subscription_rows(old, sub)
    if not rows:
        return  # stale (older than what we have)
    pending = [
        await by_commune_topic.send(key=commune.encode(), value=codec.encode("SubscriberRow", row))
        for commune, row in rows
    ]
    await _sent(pending)
    subscriptions_table[sub["pseudonym"]] = sub


async def _apply_by_commune(value: bytes) -> None:
    name, rec = codec.decode(value)
    if name == "SubscriberRow":
        key = fanout.bucket_key(rec["commune"], fanout.bucket_of(rec["pseudonym"]))
        updated = fanout.apply_row(subscribers_table.get(key), rec)
        if updated is not None:
            subscribers_table[key] = updated
    elif name == "FanoutTask":
        bucket = subscribers_table.get(fanout.bucket_key(rec["commune"], rec["bucket"]))
        for delivery in fanout.deliveries(rec, bucket):
            await deliveries_topic.send(
                key=delivery["pseudonym"].encode(),
                value=codec.encode("WarningDelivery", delivery),
                headers={"event_id": uuid.UUID(delivery["event_id"]).bytes},
            )
    else:
        raise DecodeError("invalid_event", f"{name} does not belong on warnings.by-commune")


@app.agent(commands_topic)
async def warning_commands(stream: faust.StreamT[Any]) -> None:
    await _each(stream, lambda event: _apply_command(event.value), lock=None)


@app.agent(subscriptions_topic)
async def warning_subscriptions(stream: faust.StreamT[Any]) -> None:
    await _each(stream, lambda event: _apply_subscription(event.value), lock=None)


@app.agent(by_commune_topic)
async def warning_fanout(stream: faust.StreamT[Any]) -> None:
    await _each(stream, lambda event: _apply_by_commune(event.value), lock=None)
