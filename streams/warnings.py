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
from streams.runtime import Runtime

log = logging.getLogger("worker.warnings")


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


async def _sent(pending: list[Awaitable[Any] | None]) -> None:
    """Wait until Kafka acknowledged every send (``topic.send`` returns a delivery future)."""
    for fut in pending:
        if fut is not None:
            await fut


def install(rt: Runtime) -> tuple[Any, ...]:
    app, settings = rt.app, rt.settings
    geo = shipped_geo()
    results_topic = rt.topic(WARNING_RESULTS)
    state_topic = rt.topic(WARNING_STATE)
    by_commune_topic = rt.topic(WARNINGS_BY_COMMUNE)
    deliveries_topic = rt.topic(WARNING_DELIVERIES)
    warnings_table = rt.json_table("warnings", "processors.warnings state by warning id.")
    subscriptions_table = rt.json_table(
        "warning-subscriptions", "Latest subscription by pseudonym."
    )
    subscribers_table = rt.json_table(
        "warning-subscribers",
        'Subscribers of one bucket of one commune ("commune/bucket" -> processors.fanout row).',
    )

    def cap_url(warning_id: str) -> str:
        return f"{settings.public_url}/v1/warnings/{warning_id}.cap"

    async def apply_command(event: faust.EventT) -> None:
        cmd = rt.decode_one(event, WARNING_COMMANDS)
        wid = cmd["warning_id"]
        d = core.apply(warnings_table.get(wid), cmd, geo, cmd["at"])
        key = wid.encode()
        pending = []
        if d.changed and d.state is not None:
            pending.append(
                await rt.send_acked(state_topic, key, "WarningState", state_record(d.state))
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
                        await rt.send_acked(by_commune_topic, commune.encode(), "FanoutTask", task)
                    )
        pending.append(await rt.send_acked(results_topic, key, "WarningResult", d.result))
        await _sent(pending)
        if d.changed and d.state is not None:
            warnings_table[wid] = d.state
        log.info("warning command", extra={"warning": wid, **d.result})

    async def apply_subscription(event: faust.EventT) -> None:
        sub = rt.decode_one(event, SUBSCRIPTIONS)
        old = subscriptions_table.get(sub["pseudonym"])
        rows = fanout.subscription_rows(old, sub)
        if not rows:
            return  # stale (older than what we have)
        pending = [
            await rt.send_acked(by_commune_topic, commune.encode(), "SubscriberRow", row)
            for commune, row in rows
        ]
        await _sent(pending)
        subscriptions_table[sub["pseudonym"]] = sub

    async def apply_by_commune(event: faust.EventT) -> None:
        name, rec = rt.decode(event, WARNINGS_BY_COMMUNE)
        if name == "SubscriberRow":
            key = fanout.bucket_key(rec["commune"], fanout.bucket_of(rec["pseudonym"]))
            updated = fanout.apply_row(subscribers_table.get(key), rec)
            if updated is not None:
                subscribers_table[key] = updated
            return
        bucket = subscribers_table.get(fanout.bucket_key(rec["commune"], rec["bucket"]))
        for delivery in fanout.deliveries(rec, bucket):
            await rt.send(
                deliveries_topic,
                delivery["pseudonym"].encode(),
                "WarningDelivery",
                delivery,
                headers={"event_id": uuid.UUID(delivery["event_id"]).bytes},
            )

    @app.agent(rt.topic(WARNING_COMMANDS), name="warning-commands")
    async def warning_commands(stream: faust.StreamT[Any]) -> None:
        await rt.each(stream, apply_command, lock=False)

    @app.agent(rt.topic(SUBSCRIPTIONS), name="warning-subscriptions")
    async def warning_subscriptions(stream: faust.StreamT[Any]) -> None:
        await rt.each(stream, apply_subscription, lock=False)

    @app.agent(by_commune_topic, name="warning-fanout")
    async def warning_fanout(stream: faust.StreamT[Any]) -> None:
        await rt.each(stream, apply_by_commune, lock=False)

    return warning_commands, warning_subscriptions, warning_fanout
