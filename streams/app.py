"""The faust app: topics, tables, agents and the timer side by side — the topology in one screen.

Agents are thin: decode -> call the pure core (processors/) -> emit. Delivery is at-least-once;
every state update is idempotent by input id and every output has a stable event id, so a
redelivery after a crash changes nothing downstream (sinks dedup on event id).

SLA clocks: each worker keeps the due instants of the cases in the partitions it owns in an
in-memory time-ordered index (rebuilt from the table after every rebalance). The timer pops what
is due and emits ClockTicks keyed by case; timers never write tables — the tick agent does.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
import uuid
from typing import Any

import faust
from faust.exceptions import PartitionsMismatch

from pakn.deadletters import dead_letter
from pakn.settings import Settings, get_settings
from pakn.topics import (
    CASE_EVENTS,
    CASE_STATE,
    CLOCK_TICKS,
    COMMAND_RESULTS,
    COMMANDS,
    DEAD_LETTERS,
    INTAKE,
    OVERSIGHT_FLAGS,
    UNIT_FACTS,
    UNIT_RETENTION_S,
    UNIT_TALLIES,
    unit_topic_name,
)
from processors.calendar import OfficeHours, calendar_for_unit, configure_calendars
from processors.case import CaseState, Decision, open_case
from processors.clocks import apply_tick, due_entries
from processors.disclosure import for_unit_stream
from processors.due_index import DueIndex
from processors.routing import default_router
from processors.tallies import (
    Thresholds,
    apply_shard_facts,
    close_month,
    current_month,
    facts_messages,
    flag_threshold,
    flag_value,
    fold_shard,
    item_flags,
    late_share,
    shard_of,
    split_legacy,
)
from processors.units import install_hours_resolver
from processors.workflow import apply_command
from schemas.codec import DecodeError, get_codec
from streams.directory import LiveRouter, follow

log = logging.getLogger("worker")
FLAGS_NS = uuid.UUID("c0a8e3f2-7d41-4b6a-9e55-3f1d2b8a6c07")
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
configure_calendars(
    OfficeHours.from_mapping(json.loads(settings.calendar_office_hours))
    if settings.calendar_office_hours
    else None,
    public_holidays=settings.calendar_public_holidays,
)
install_hours_resolver()  # units with office hours of their own count deadlines in them
# The directory and rules of units.directory's latest publication (followed from run_worker);
# the files until there is one. docs/units-and-routing.md.
router = LiveRouter(default_router())
app = create_app(settings)
codec = get_codec()

intake_topic = app.topic(INTAKE.name(settings), key_type=bytes, value_type=bytes)
commands_topic = app.topic(COMMANDS.name(settings), key_type=bytes, value_type=bytes)
ticks_topic = app.topic(CLOCK_TICKS.name(settings), key_type=bytes, value_type=bytes)
events_topic = app.topic(CASE_EVENTS.name(settings), key_type=bytes, value_type=bytes)
state_topic = app.topic(CASE_STATE.name(settings), key_type=bytes, value_type=bytes)
results_topic = app.topic(COMMAND_RESULTS.name(settings), key_type=bytes, value_type=bytes)
dlq_topic = app.topic(DEAD_LETTERS.name(settings), key_type=bytes, value_type=bytes)
facts_topic = app.topic(UNIT_FACTS.name(settings), key_type=bytes, value_type=bytes)
tallies_topic = app.topic(UNIT_TALLIES.name(settings), key_type=bytes, value_type=bytes)
flags_topic = app.topic(OVERSIGHT_FLAGS.name(settings), key_type=bytes, value_type=bytes)
thresholds = Thresholds(settings.oversight_late_share, settings.oversight_repeat_not_satisfied)


def json_table(name: str, help: str) -> Any:
    """A rocksdb table of JSON keys and values. No key/value *types*: faust would try
    Model.from_data on them; JSON gives str and dict. Values are replaced, never edited in place
    (an in-place edit writes nothing to the changelog)."""
    return app.Table(
        name,
        default=None,
        schema=faust.Schema(key_serializer="json", value_serializer="json"),
        help=help,
    )


# Authoritative case state, keyed by case id; the three input topics are co-partitioned by it.
cases = json_table(
    "cases", "Authoritative case state by case id (processors.case.CaseState as a dict)."
)
# Unit-month figures, keyed "unit/month"; fed by the facts topic, which is keyed by unit.
tallies = json_table(
    "unit-month-tallies", "processors.tallies: the counts and flags of a unit's month."
)
# The cases of a unit-month in SHARDS shards, keyed "unit/month/shard" (same partition as the
# month: by unit); an update rewrites one shard, not every case of the month.
tally_shards = json_table(
    "unit-month-shards", "processors.tallies: one shard's cases ([mask, version]) and their counts."
)
due = DueIndex()  # this worker's open clocks, by due instant
_rebuilding: set[str] | None = None  # cases the agents touched while the index is rebuilt
_unit_topics: dict[str, faust.TopicT] = {}


async def unit_topic(code: str) -> faust.TopicT:
    """The per-unit work stream `<prefix>unit.<code>`, declared on first use (1 partition: the
    unit's events in order)."""
    topic = _unit_topics.get(code)
    if topic is None:
        topic = app.topic(
            unit_topic_name(settings, code),
            key_type=bytes,
            value_type=bytes,
            partitions=1,
            retention=UNIT_RETENTION_S,
            deleting=True,
        )
        await topic.maybe_declare()
        _unit_topics[code] = topic
    return topic


async def _dead_letter(event: faust.EventT, reason: str, detail: str) -> None:
    msg = event.message
    key, value = dead_letter(
        msg.topic, msg.partition, msg.offset, msg.key, msg.value, reason, detail, CONSUMER_NAME
    )
    log.warning("dead letter", extra={"topic": msg.topic, "offset": msg.offset, "reason": reason})
    await dlq_topic.send(key=key, value=value)


def _decode(event: faust.EventT, expected: str) -> dict[str, Any]:
    name, record = codec.decode(event.value)
    if name != expected:
        raise DecodeError("invalid_event", f"{name} does not belong on {event.message.topic}")
    return record


def _load(case_id: str) -> CaseState | None:
    stored = cases.get(case_id)
    return CaseState.from_dict(stored) if stored else None


async def _publish(
    case_id: str, d: Decision, raw: bytes | None = None, before_unit: str | None = None
) -> None:
    """Store the decision's state, then emit its events, result and snapshot — on the case
    log and on the work stream of the responsible unit (and of the unit it left, if it moved)."""
    # Facts also on a replay (idempotent by version): a crash between the state write and their
    # send would otherwise leave the unit-month a version behind until the case changes again.
    repeat_times = thresholds.repeat_not_satisfied
    facts = facts_messages(d.state, repeat_times) if d.state is not None else []
    if d.changed and d.state is not None:
        cases[case_id] = d.state.to_dict()  # reassign: in-place edits are not logged
    if d.state is not None:
        due.set(case_id, due_entries(d.state))
        if _rebuilding is not None:
            _rebuilding.add(case_id)  # fresher than what the index rebuild is reading
    key = case_id.encode()
    unit = d.state.unit_code if d.state is not None else None
    headers = {"unit": unit.encode()} if unit else None
    events = [raw] if d.forward and raw is not None else []
    events += [codec.encode(name, record) for name, record in d.emits]
    snapshot = None
    if d.snapshot and d.state is not None:
        snapshot = codec.encode("CaseState", d.state.snapshot())
    for value in events:
        await events_topic.send(key=key, value=value, headers=headers)
    if snapshot is not None:
        await state_topic.send(key=key, value=snapshot, headers=headers)
    if d.result is not None:
        await results_topic.send(key=key, value=codec.encode("CommandResult", d.result))
    for unit_code, month, mask, version in facts:  # repartition by unit for the tallies
        record = {
            "unit_code": unit_code,
            "month": month,
            "case_id": case_id,
            "mask": mask,
            "version": version,
        }
        await facts_topic.send(key=unit_code.encode(), value=codec.encode("UnitFacts", record))
    if d.state is not None and any(
        name == "CaseTransition" and rec["command"] == "reopen" for name, rec in d.emits
    ):  # §6 per item: the reopening that reaches 5 times flags the unit (id: unit/month/case)
        for flag in item_flags(d.state, repeat_times):
            await flags_topic.send(
                key=flag["unit_code"].encode(), value=codec.encode("OversightFlag", flag)
            )
    work = events + ([snapshot] if snapshot is not None else [])
    if settings.unit_streams and work:
        work = [_for_unit(value) for value in work]
        for code in dict.fromkeys(c for c in (before_unit, unit) if c):
            topic = await unit_topic(code)
            for value in work:
                await topic.send(key=key, value=value, headers=headers)


def _for_unit(value: bytes) -> bytes:
    """A unit stream carries no sealed identity, nor a confidential sender's pseudonym."""
    if codec.type_of(value) not in ("CaseSubmitted", "CaseState"):
        return value  # nothing of the sender in it: no decoding
    name, record = codec.decode(value)
    redacted = for_unit_stream(name, record)
    return value if redacted is record else codec.encode(name, redacted)


# One input at a time per worker from load to the last send: the agents of different topics
# share the loop, and a case's events must reach its log in the order they were decided (a
# command applied while the submission's events are still being sent would interleave them).
_apply_lock = asyncio.Lock()


async def _each(
    stream: faust.StreamT[Any], apply: Any, lock: asyncio.Lock | None = _apply_lock
) -> None:
    """Run ``apply`` per event; a bad event is parked on the dead-letter topic, never fatal.
    ``lock=None`` for agents that touch no case state (they need not wait for the case lock)."""
    async for event in stream.events():
        try:
            if lock is None:
                await apply(event)
            else:
                async with lock:
                    await apply(event)
        except DecodeError as exc:
            await _dead_letter(event, exc.reason, exc.detail)
        except PartitionsMismatch:
            # The worker's topics are wrong, not the event: stop at once (offsets uncommitted,
            # the events are read again after a restart) rather than park every event.
            log.critical("partitions mismatch: stopping the worker", exc_info=True)
            os._exit(70)
        except Exception as exc:
            log.exception("processing failed")
            await _dead_letter(event, "processing_failed", f"{type(exc).__name__}: {exc}")


async def _apply_submission(event: faust.EventT) -> None:
    record = _decode(event, "CaseSubmitted")
    case_id = str(record["envelope"]["case_id"])
    unit = router.route(
        record["process"],
        record["category"],
        commune_code=record["location"].get("commune_code"),
        unit_code=record.get("unit_code"),
    ).code
    decision = open_case(_load(case_id), record, calendar_for_unit(unit), unit_code=unit)
    await _publish(case_id, decision, raw=event.value)
    await after_submission(record, decision)  # streams/integrity.py: reuse, duplicates, edits


async def _apply_command(event: faust.EventT) -> None:
    record = _decode(event, "CaseCommand")
    case_id = str(record["envelope"]["case_id"])
    state = _load(case_id)
    before = state.unit_code if state else None
    decision = apply_command(
        state,
        record,
        calendar_for_unit(before),
        check_target=_check_target,
    )
    await _publish(case_id, decision, before_unit=before)


def _check_target(command: str, unit: str, state: CaseState) -> str | None:
    """Forwarding and transfer follow the routing rules (processors/routing.py)."""
    if command == "forward":
        verdict = router.can_forward(
            state.unit_code or "", unit, commune_code=state.commune_code, category=state.category
        )
    else:
        verdict = router.can_transfer(state.unit_code or "", unit, category=state.category)
    return None if verdict else verdict.code


async def _apply_tick(event: faust.EventT) -> None:
    record = _decode(event, "ClockTick")
    case_id = str(record["case_id"])
    await _publish(case_id, apply_tick(_load(case_id), record))


@app.agent(intake_topic)
async def submissions(stream: faust.StreamT[Any]) -> None:
    await _each(stream, _apply_submission)


@app.agent(commands_topic)
async def commands(stream: faust.StreamT[Any]) -> None:
    await _each(stream, _apply_command)


@app.agent(ticks_topic)
async def ticks(stream: faust.StreamT[Any]) -> None:
    await _each(stream, _apply_tick)


async def _apply_facts(event: faust.EventT) -> None:
    name, f = codec.decode(event.value)
    key = f"{f['unit_code']}/{f['month']}"
    if name == "MonthClose":
        stored = tallies.get(key)
        if stored is None:
            return
        tally, changed, raised = close_month(stored, thresholds)
    elif name == "UnitFacts":
        stored = tallies.get(key)
        if stored is not None and "cases" in stored:  # kept before the shards: split it once
            stored, legacy = split_legacy(stored)
            for no, value in legacy.items():
                tally_shards[f"{key}/{no}"] = value
            tallies[key] = stored  # split once, even if this fact changes no count
        no = shard_of(str(f["case_id"]))
        shard_key = f"{key}/{no}"
        # the shard first (masks and counts in one write), then the month value set from it
        shard, shard_changed = apply_shard_facts(
            tally_shards.get(shard_key), str(f["case_id"]), f["mask"], f["version"]
        )
        if shard_changed:
            tally_shards[shard_key] = shard
        tally, changed, raised = fold_shard(
            stored, f["unit_code"], f["month"], no, shard["counts"], thresholds
        )
    else:
        raise DecodeError("invalid_event", f"{name} does not belong on {event.message.topic}")
    if changed:
        tallies[key] = tally
    # Unchanged (a redelivery): publish the same figures and flags again; consumers dedup.
    now = int(time.time() * 1000)
    counts = tally["counts"]
    snapshot = {
        "unit_code": tally["unit"],
        "month": tally["month"],
        "version": tally["version"],
        **counts,
        "late_share": late_share(counts),
        "flags": tally["flags"],
        "final": tally["closed"],
        "updated_at": now,
    }
    await tallies_topic.send(key=key.encode(), value=codec.encode("UnitMonthTally", snapshot))
    for flag in raised if changed else tally["flags"]:
        record = {
            "event_id": str(uuid.uuid5(FLAGS_NS, f"{key}/{flag}")),
            "unit_code": tally["unit"],
            "month": tally["month"],
            "flag": flag,
            "value": flag_value(flag, counts),
            "threshold": flag_threshold(flag, thresholds),
            "raised_at": now,
        }
        await flags_topic.send(
            key=tally["unit"].encode(), value=codec.encode("OversightFlag", record)
        )


@app.agent(facts_topic)
async def unit_tallies(stream: faust.StreamT[Any]) -> None:
    await _each(stream, _apply_facts)


@app.on_rebalance_complete.connect
async def rebuild_due_index(sender: faust.App, **_: Any) -> None:
    """After a rebalance (tables recovered), index the open clocks of the owned partitions."""
    global _rebuilding
    started = time.monotonic()
    due.clear()
    _rebuilding = touched = set()
    n = 0
    try:
        for case_id, stored in cases.items():
            if case_id not in touched:  # an agent already indexed its newer state
                due.set(case_id, due_entries(CaseState.from_dict(stored)))
            n += 1
            if n % 2000 == 0:
                await asyncio.sleep(0)  # a big store takes seconds: let heartbeats and agents run
    finally:
        _rebuilding = None
    log.info(
        "due index rebuilt",
        extra={
            "cases": n,
            "open_clocks": len(due),
            "seconds": round(time.monotonic() - started, 3),
        },
    )


@app.timer(interval=settings.sla_tick_interval_s)
async def emit_due_ticks() -> None:
    if app.rebalancing:
        return  # the index is rebuilt when the rebalance completes
    for at_ms, case_id, stage, kind in due.pop_due(int(time.time() * 1000)):
        tick = {"case_id": case_id, "stage": stage, "kind": kind, "at": at_ms}
        await ticks_topic.send(key=case_id.encode(), value=codec.encode("ClockTick", tick))


@app.timer(interval=settings.month_close_check_s)
async def close_past_months() -> None:
    """Month-close reports: ask the tally agent to close each local unit-month that ended.
    (A timer reads tables but never writes them.)"""
    if app.rebalancing:
        return
    this_month = current_month(int(time.time() * 1000))
    for key, tally in list(tallies.items()):
        if tally["month"] < this_month and not tally["closed"]:
            record = {"unit_code": tally["unit"], "month": tally["month"]}
            await facts_topic.send(
                key=tally["unit"].encode(), value=codec.encode("MonthClose", record)
            )
            log.info("closing month", extra={"tally": key})


# --- submission integrity: its topics, tables and agents live in streams/integrity.py ----------
from streams.integrity import after_submission  # noqa: E402


def run_worker(settings: Settings) -> None:
    from pakn.logs import setup_logging
    from pakn.topics import create_compacted, create_topics

    setup_logging(settings.log_level, "worker")
    settings.worker_dir.mkdir(parents=True, exist_ok=True)
    create_topics(settings)  # our topics exist with their documented config before faust looks
    create_compacted(settings, [t.changelog_topic.get_topic_name() for t in app.tables.values()])
    follow(settings, router)  # the published directory is read before the first submission
    web = "--with-web" if settings.worker_web_port else "--without-web"  # the CLI flag wins
    sys.argv = ["pakn-worker", "worker", web, "--loglevel", settings.log_level.lower()]
    app.main()


import streams.reception  # noqa: E402  (reception booking agents on this app)
import streams.warnings  # noqa: E402,F401  (warnings to citizens: agents on this same app)
