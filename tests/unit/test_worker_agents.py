"""The worker's agents in process: faust's test_context, the memory store, sends recorded.

Each test builds the whole worker (streams.worker.build) with ``store="memory://"`` and a
``Recorder`` as its way out, puts events on an agent's channel and reads what it decided: the
table, the partition sums, and the messages it would have sent — counted, since every message
costs the worker about a quarter of a millisecond.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pakn.settings import Settings
from pakn.topics import (
    CASE_EVENTS,
    COMMAND_RESULTS,
    DEAD_LETTERS,
    INTEGRITY_FINDINGS,
    UNIT_FACTS,
    UNIT_TALLIES,
)
from processors.case import to_ms
from processors.clocks import due_entries
from processors.tallies import BIT, FACTS
from schemas.codec import get_codec
from streams.cases import partition_of
from streams.runtime import Recorder
from streams.worker import Worker, build
from tests.factories import command_record, submitted_record

CODEC = get_codec()
FEB = datetime(2026, 2, 13, 9, 0, tzinfo=UTC)  # a Friday, 16:00 in Hanoi


@dataclass
class InProcess:
    worker: Worker
    out: Recorder
    settings: Settings

    def topic(self, spec: Any) -> str:
        return spec.name(self.settings)

    def sent(self, spec: Any) -> list[tuple[str, dict[str, Any]]]:
        return self.out.on(self.topic(spec), CODEC)

    def kinds(self, spec: Any) -> list[str]:
        return [name for name, _ in self.sent(spec)]

    def agent(self, name: str) -> Any:
        return self.worker.app.agents[name]


@pytest.fixture
async def w() -> AsyncIterator[InProcess]:
    settings = Settings(topic_prefix="inproc.", worker_app_id="inproc-worker", topic_partitions=6)
    out = Recorder()
    worker = build(settings, store="memory://", out=out)
    worker.app.finalize()
    worker.app.flow_control.resume()
    yield InProcess(worker, out, settings)


async def put(w: InProcess, agent: str, name: str, record: dict, key: str, partition: int = 0):
    async with w.agent(agent).test_context() as a:
        return await a.put(CODEC.encode(name, record), key=key.encode(), partition=partition)


async def submit(w: InProcess, record: dict[str, Any], partition: int = 0) -> str:
    case_id = str(record["envelope"]["case_id"])
    await put(w, "submissions", "CaseSubmitted", record, case_id, partition)
    return case_id


# --- cases -------------------------------------------------------------------------------------
async def test_a_submission_opens_its_case_with_two_events_and_one_state_write(
    w: InProcess,
) -> None:
    case_id = await submit(w, submitted_record(FEB))
    state = w.worker.cases.load(case_id)
    assert state.status == "submitted" and state.unit_code == "00070"
    # nothing else is sent: the state's record is the table's changelog, the unit streams are
    # the router's, the sums leave on the timer, the integrity checks ran in memory
    assert [s.topic for s in w.out.sent] == [w.topic(CASE_EVENTS)] * 2
    assert w.kinds(CASE_EVENTS) == ["CaseSubmitted", "DeadlineSet"]
    counts = w.worker.cases.sums.counts(0, "00070", "2026-02")
    assert counts is not None and counts[FACTS.index("received")] == 1
    # the events carry the unit for the router
    assert all(s.headers == {"unit": b"00070"} for s in w.out.sent if "case.events" in s.topic)


async def test_a_redelivered_submission_sends_the_same_events_and_counts_once(
    w: InProcess,
) -> None:
    rec = submitted_record(FEB)
    case_id = await submit(w, rec)
    first = [s.value for s in w.out.sent if s.topic == w.topic(CASE_EVENTS)]
    version = w.worker.cases.load(case_id).version
    w.out.clear()
    await submit(w, rec)  # redelivered after a crash before the offset commit
    again = [s.value for s in w.out.sent if s.topic == w.topic(CASE_EVENTS)]
    assert again == first
    assert w.worker.cases.load(case_id).version == version
    assert w.worker.cases.sums.counts(0, "00070", "2026-02")[FACTS.index("received")] == 1


async def test_a_crash_between_the_state_write_and_the_sends_is_repaired_by_the_redelivery(
    w: InProcess,
) -> None:
    """The table (and its changelog) kept the new state, the events were lost with the
    process: the redelivered input finds its outputs in the state's outbox and sends them."""
    rec = submitted_record(FEB)
    case_id = await submit(w, rec)
    lost = [s.value for s in w.out.sent if s.topic == w.topic(CASE_EVENTS)]
    w.out.clear()  # the crash: nothing of it reached Kafka
    await submit(w, rec)
    assert [s.value for s in w.out.sent if s.topic == w.topic(CASE_EVENTS)] == lost
    assert w.worker.cases.load(case_id).status == "submitted"


async def test_a_client_retry_under_the_same_case_id_changes_nothing(w: InProcess) -> None:
    rec = submitted_record(FEB)
    case_id = await submit(w, rec)
    w.out.clear()
    retry = dict(rec, envelope=dict(rec["envelope"], event_id=str(uuid.uuid4())))
    await submit(w, retry)
    assert w.out.sent == []
    assert w.worker.cases.load(case_id).submission_event_id == rec["envelope"]["event_id"]


async def test_a_command_is_answered_and_its_events_follow_the_state(w: InProcess) -> None:
    case_id = await submit(w, submitted_record(FEB))
    w.out.clear()
    cmd = command_record(
        case_id,
        "receive",
        FEB + timedelta(hours=1),
        actor_role="receiving_officer",
        actor_unit="00070",
    )
    await put(w, "commands", "CaseCommand", cmd, case_id)
    assert w.worker.cases.load(case_id).status == "received"
    assert w.kinds(CASE_EVENTS)[:2] == ["CaseTransition", "StageCompleted"]
    [(_name, result)] = w.sent(COMMAND_RESULTS)
    assert result["accepted"] and result["code"] == "ok"
    counts = w.worker.cases.sums.counts(0, "00070", "2026-02")
    assert counts[FACTS.index("receive_late")] == 0


async def test_a_command_for_an_unknown_case_is_refused_not_lost(w: InProcess) -> None:
    case_id = str(uuid.uuid4())
    await put(w, "commands", "CaseCommand", command_record(case_id, "receive", FEB), case_id)
    [(_, result)] = w.sent(COMMAND_RESULTS)
    assert not result["accepted"] and result["code"] == "unknown_case"
    assert w.kinds(CASE_EVENTS) == []


async def test_a_due_tick_breaches_once_and_a_stale_tick_changes_nothing(w: InProcess) -> None:
    case_id = await submit(w, submitted_record(FEB))
    due = due_entries(w.worker.cases.load(case_id))[("receive", "breach")]  # past the allowance
    w.out.clear()
    tick = {"case_id": case_id, "stage": "receive", "kind": "breach", "at": due}
    await put(w, "ticks", "ClockTick", tick, case_id)
    kinds = [r["envelope"]["event_type"] for _, r in w.sent(CASE_EVENTS)]
    assert kinds == ["sla_warning", "sla_breached"]
    assert w.worker.cases.sums.counts(0, "00070", "2026-02")[FACTS.index("receive_late")] == 1
    w.out.clear()
    stale = dict(tick, at=due - 60_000)
    await put(w, "ticks", "ClockTick", stale, case_id)
    assert w.sent(CASE_EVENTS) == []


async def test_a_value_of_the_wrong_type_is_parked_as_a_dead_letter(w: InProcess) -> None:
    case_id = str(uuid.uuid4())
    await put(
        w,
        "submissions",
        "ClockTick",
        {"case_id": case_id, "stage": "receive", "kind": "breach", "at": 0},
        case_id,
    )
    [(name, dl)] = w.sent(DEAD_LETTERS)
    assert name == "DeadLetter" and dl["reason"] == "invalid_event"
    assert w.worker.cases.load(case_id) is None


async def test_the_sums_are_sent_once_per_interval_and_only_when_changed(w: InProcess) -> None:
    for i in range(5):
        await submit(w, submitted_record(FEB + timedelta(minutes=i)), partition=i % 2)
    w.out.clear()
    assert await w.worker.cases.send_sums(1_000) == 1  # one message for the unit, 2 partitions
    [(name, rec)] = w.sent(UNIT_FACTS)
    assert name == "UnitPartials" and rec["unit_code"] == "00070"
    by_partition = {s["partition"]: s["counts"][FACTS.index("received")] for s in rec["sums"]}
    assert by_partition == {0: 3, 1: 2}
    assert await w.worker.cases.send_sums(2_000) == 0  # nothing changed since


async def test_the_rebuild_after_a_rebalance_recounts_the_sums_from_the_table(
    w: InProcess,
) -> None:
    ids = [await submit(w, submitted_record(FEB + timedelta(minutes=i))) for i in range(3)]
    await w.worker.cases.rebuild()
    sums = w.worker.cases.sums
    received = {p: (sums.counts(p, "00070", "2026-02") or [0])[0] for p in range(6)}
    assert sum(received.values()) == len(ids)  # recounted once each, in the case's partition
    assert all(received[partition_of(cid, 6)] >= 1 for cid in ids)


# --- oversight tallies -------------------------------------------------------------------------
def partials(unit: str, sums: list[tuple[int, int, int]]) -> dict[str, Any]:
    """(partition, received, late) triples -> an UnitPartials record of 2026-02."""
    out = []
    for partition, received, late in sums:
        counts = [0] * len(FACTS)
        counts[FACTS.index("received")] = received
        counts[FACTS.index("late")] = late
        out.append(
            {
                "month": "2026-02",
                "partition": partition,
                "counts": counts,
                "stamp": 1000 + partition,
            }
        )
    return {"unit_code": unit, "sums": out}


async def test_a_tally_adds_the_partitions_up_and_a_resend_changes_no_figure(
    w: InProcess,
) -> None:
    rec = partials("00070", [(0, 6, 1), (1, 4, 3)])
    await put(w, "unit-tallies", "UnitPartials", rec, "00070")
    await put(w, "unit-tallies", "UnitPartials", rec, "00070")  # redelivered
    figures = [r for _, r in w.sent(UNIT_TALLIES)]
    assert [(f["received"], f["late"]) for f in figures] == [(10, 4), (10, 4)]
    assert figures[0]["flags"] == ["late_share"]  # 40 % > 30 %
    older = partials("00070", [(1, 0, 0)])
    older["sums"][0]["stamp"] = 5  # an older sum of partition 1 arriving late
    await put(w, "unit-tallies", "UnitPartials", older, "00070")
    assert w.sent(UNIT_TALLIES)[-1][1]["received"] == 10


# --- integrity: a hot spot stays O(1) per submission -----------------------------------------
async def test_a_hot_spot_costs_each_submission_a_bounded_number_of_links_and_messages(
    w: InProcess,
) -> None:
    """40 reports of one flooded street: each new case is linked to the nearest earlier one in
    its own opening (no message), sends nothing else, and the index keeps a bounded cell."""
    ir = w.worker.rt.rules.integrity
    for i in range(40):
        rec = submitted_record(FEB + timedelta(minutes=i))
        rec["category"] = "flooding"
        rec["location"] = {**rec["location"], "lat": 21.0285 + i * 1e-6, "lon": 105.8542}
        w.out.clear()
        case_id = await submit(w, rec)
        flags = w.worker.cases.load(case_id).integrity_flags
        assert len(flags) == (0 if i == 0 else 1)  # the nearest earlier report
        assert w.kinds(CASE_EVENTS) == ["CaseSubmitted", "DeadlineSet"] + (
            ["IntegrityFlag"] if i else []
        )
        assert w.sent(INTEGRITY_FINDINGS) == []  # in order: nothing about another case
    cells = w.worker.integrity.index.cells
    assert max(len(v) for v in cells.values()) <= ir.place_entries_per_category


async def test_a_later_report_seen_first_is_linked_through_the_findings_topic(
    w: InProcess,
) -> None:
    later = submitted_record(FEB + timedelta(minutes=5))
    earlier = submitted_record(FEB)
    for rec in (later, earlier):
        rec["category"] = "flooding"
    later_id = await submit(w, later)
    w.out.clear()
    await submit(w, earlier)  # its partition ran behind
    [(_, flag)] = w.sent(INTEGRITY_FINDINGS)
    assert str(flag["envelope"]["case_id"]) == later_id and flag["kind"] == "likely_duplicate"


async def test_a_case_keeps_a_bounded_number_of_duplicate_links(w: InProcess) -> None:
    case_id = await submit(w, submitted_record(FEB))
    limit = w.worker.rt.rules.integrity.duplicate_flags_per_case
    for i in range(limit + 3):
        flag = {
            "envelope": {
                "event_id": str(uuid.uuid4()),
                "case_id": case_id,
                "event_type": "integrity_flag",
                "occurred_at": to_ms(FEB),
                "producer": "test",
                "schema_version": 1,
            },
            "kind": "likely_duplicate",
            "code": "likely_duplicate",
            "related_case_id": str(uuid.uuid4()),
            "media_sha256": None,
            "related_media_sha256": None,
            "distance": float(i),
            "detail": "",
            "unit_code": None,
        }
        await put(w, "integrity-flags", "IntegrityFlag", flag, case_id)
    flags = w.worker.cases.load(case_id).integrity_flags
    assert len([f for f in flags if f["kind"] == "likely_duplicate"]) == limit


def test_the_fact_bits_are_stable() -> None:
    assert BIT["received"] == 1  # the sums' counts are indexed by FACTS order
