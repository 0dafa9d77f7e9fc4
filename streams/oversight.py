"""The oversight tallies: each unit's monthly figures and flags (domain.md §6).

    tallies.facts (UnitPartials, MonthClose; by unit) ─[unit-month-tallies]─┬─> oversight.tallies
                                                                             └─> oversight.flags
    timer (months that ended) ──> tallies.facts (MonthClose)

A tally keeps the newest sum of each case partition and adds them up (processors/tally_sums.py):
set, never incremented, so replays and resends change nothing.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import faust

from pakn.topics import OVERSIGHT_FLAGS, UNIT_FACTS, UNIT_TALLIES
from processors.tallies import close_month, current_month, flag_threshold, flag_value, late_share
from processors.tally_sums import fold_partition_sum
from streams.runtime import Runtime

log = logging.getLogger("worker.oversight")
FLAGS_NS = uuid.UUID("c0a8e3f2-7d41-4b6a-9e55-3f1d2b8a6c07")


def tally_record(tally: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """The public UnitMonthTally of a tally value."""
    counts = tally["counts"]
    return {
        "unit_code": tally["unit"],
        "month": tally["month"],
        "version": tally["version"],
        **counts,
        "late_share": late_share(counts),
        "flags": tally["flags"],
        "final": tally["closed"],
        "updated_at": now_ms,
    }


def install(rt: Runtime) -> Any:
    app, settings = rt.app, rt.settings
    facts_topic = rt.topic(UNIT_FACTS)
    tallies_topic = rt.topic(UNIT_TALLIES)
    flags_topic = rt.topic(OVERSIGHT_FLAGS)
    tallies = rt.json_table(
        "unit-month-tallies",
        "processors.tally_sums: a unit-month's sums by case partition, counts and flags.",
    )

    async def publish(key: str, tally: dict[str, Any], raised: list[str]) -> None:
        now = int(time.time() * 1000)
        await rt.send(tallies_topic, key.encode(), "UnitMonthTally", tally_record(tally, now))
        th = rt.rules.thresholds
        for flag in raised:
            record = {
                "event_id": str(uuid.uuid5(FLAGS_NS, f"{key}/{flag}")),
                "unit_code": tally["unit"],
                "month": tally["month"],
                "flag": flag,
                "value": flag_value(flag, tally["counts"]),
                "threshold": flag_threshold(flag, th),
                "raised_at": now,
            }
            await rt.send(flags_topic, tally["unit"].encode(), "OversightFlag", record)

    async def apply_facts(event: faust.EventT) -> None:
        name, f = rt.decode(event, UNIT_FACTS)
        th = rt.rules.thresholds
        if name == "MonthClose":
            key = f"{f['unit_code']}/{f['month']}"
            stored = tallies.get(key)
            if stored is None:
                return
            tally, changed, raised = close_month(stored, th)
            if changed:
                tallies[key] = tally
            # unchanged (a redelivery): the same figures and flags again; consumers dedup
            await publish(key, tally, raised if changed else tally["flags"])
            return
        if name == "UnitFacts":
            return  # a worker before the sums (an upgrade): its successor sends every sum whole
        unit = f["unit_code"]
        months: dict[str, list[dict[str, Any]]] = {}
        for s in f["sums"]:
            months.setdefault(s["month"], []).append(s)
        for month, sums in months.items():
            key = f"{unit}/{month}"
            tally, changed, raised = tallies.get(key), False, []
            for s in sums:
                tally, one, up = fold_partition_sum(
                    tally, unit, month, s["partition"], s["counts"], s["stamp"], th
                )
                changed, raised = changed or one, raised + up
            if changed:
                tallies[key] = tally
            # unchanged (a resend after a rebalance, a redelivery): the same figures and flags
            # again — a crash between the table write and these sends loses nothing; consumers
            # dedup (flags by event id, figures by version)
            await publish(key, tally, raised if changed else tally["flags"])

    @app.agent(facts_topic, name="unit-tallies")
    async def unit_tallies(stream: faust.StreamT[Any]) -> None:
        await rt.each(stream, apply_facts, lock=False)

    @app.timer(interval=settings.month_close_check_s, name="close-past-months")
    async def close_past_months() -> None:
        """Ask the tally agent to close each local unit-month that ended (a timer reads
        tables but never writes them)."""
        if app.rebalancing:
            return
        this_month = current_month(int(time.time() * 1000))
        for key, tally in list(tallies.items()):
            if tally["month"] < this_month and not tally["closed"]:
                record = {"unit_code": tally["unit"], "month": tally["month"]}
                await rt.send(facts_topic, tally["unit"].encode(), "MonthClose", record)
                log.info("closing month", extra={"tally": key})

    unit_tallies.table = tallies  # type: ignore[attr-defined]
    return unit_tallies
