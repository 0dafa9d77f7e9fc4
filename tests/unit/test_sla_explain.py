"""`pakn sla outcome` / `pakn sla explain`: the worker's own clock code, as an auditor reads it."""

from __future__ import annotations

import json
from datetime import datetime

from click.testing import CliRunner

from pakn.sla_cli import explain_record, sla
from processors.calendar import WorkingCalendar, load_shipped_overrides
from processors.case import CaseState, to_ms
from processors.clocks import BREACH, apply_tick, due_entries
from processors.sla import SlaPolicy
from processors.sla_explain import explain, outcome
from tests.unit.test_sla_legal import PAUSING, UNIT, at, ok, opened

CAL = WorkingCalendar(overrides=load_shipped_overrides())
SHIPPED = SlaPolicy.shipped()


def last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def test_outcome_prints_the_verdict_as_json_on_its_last_line() -> None:
    r = CliRunner().invoke(
        sla, ["outcome", "field_feedback", "receive", "-", "2026-03-07T20:00", "2026-03-09T17:20"]
    )
    assert r.exit_code == 0, r.output
    v = last_json(r.output)
    assert v["due_at"] == "2026-03-09T17:00:00+07:00"
    assert v["on_time"] is True
    assert (v["used_working_minutes"], v["late_working_minutes"]) == (480, 0)


def test_outcome_with_an_offset_and_a_level() -> None:
    r = CliRunner().invoke(
        sla,
        ["outcome", "field_feedback", "handle", "urgent", "2026-02-13T08:00:00Z",
         "2026-02-13T12:30:00+07:00"],
    )  # fmt: skip
    v = last_json(r.output)  # received 15:00 Hanoi, urgent: 4 clock hours → 19:00
    assert v["due_at"] == "2026-02-13T19:00:00+07:00" and v["on_time"]


def test_outcome_is_the_workers_verdict() -> None:
    s = opened(at(2026, 3, 2, 9))
    d = ok(s, "receive", at(2026, 3, 3, 10), level="normal")
    done = next(r for n, r in d.emits if n == "StageCompleted")
    v = outcome("field_feedback", "receive", None, at(2026, 3, 2, 9), at(2026, 3, 3, 10), CAL,
                SHIPPED)  # fmt: skip
    assert v["on_time"] == done["on_time"] is False
    assert v["late_working_minutes"] == done["late_working_minutes"] == 60
    assert v["used_working_minutes"] == done["used_working_minutes"] == 540
    assert v["due_at"] == datetime.fromtimestamp(done["due_at"] / 1000, CAL_TZ).isoformat()


CAL_TZ = at(2026, 1, 1).tzinfo


def test_outcome_refuses_a_level_where_the_stage_has_none() -> None:
    r = CliRunner().invoke(
        sla, ["outcome", "field_feedback", "receive", "urgent", "2026-03-02T09:00",
              "2026-03-02T10:00"],
    )  # fmt: skip
    assert r.exit_code != 0 and "level_not_applicable" in r.output


def test_explain_shows_each_clock_its_pauses_and_verdict() -> None:
    s = opened(at(2026, 3, 2, 9))
    ms = due_entries(s)[("receive", BREACH)]
    s = apply_tick(s, {"case_id": s.case_id, "stage": "receive", "kind": BREACH, "at": ms}).state
    s = ok(s, "receive", at(2026, 3, 3, 8, 30), PAUSING, level="normal").state
    s = ok(s, "request_info", at(2026, 3, 4, 9), PAUSING, reason="thiếu ảnh").state
    s = ok(s, "resume", at(2026, 3, 4, 11), PAUSING, reason="đã xác minh").state
    out = explain(s.to_dict(), CAL)
    stages = {x["stage"]: x for x in out["stages"]}
    assert out["late_stages"] == [] and out["unit_code"] == UNIT
    receive = stages["receive"]
    assert receive["verdict"]["state"] == "on_time" and receive["verdict"]["breach_alert_withdrawn"]
    assert receive["verdict"]["used_working_minutes"] == 450
    handle = stages["handle"]
    assert handle["pauses"] == [
        {"from": at(2026, 3, 4, 9).isoformat(), "to": at(2026, 3, 4, 11).isoformat()}
    ]
    assert handle["paused_working_minutes"] == 120 and handle["pause_limit"] == 2
    assert handle["cap_at"] == at(2026, 4, 2, 8, 30).isoformat()
    assert handle["verdict"]["state"] == "open"
    assert (
        handle["breach_at"]
        == datetime.fromtimestamp((to_ms(s.clock("handle").due_at) + 1) / 1000, CAL_TZ).isoformat()
    )


def test_explain_reads_state_json_when_the_record_has_it() -> None:
    s = ok(opened(at(2026, 3, 2, 9)), "receive", at(2026, 3, 4, 9), level="normal").state
    record = s.snapshot() | {"state_json": json.dumps(s.to_dict())}
    full = explain_record(record)
    assert full["late_stages"] == ["receive"]
    assert {x["stage"] for x in full["stages"]} == {"receive", "assign", "handle"}
    bare = explain_record(s.snapshot())  # a worker that does not publish its full state
    assert bare["late_stages"] == ["receive"] and "note" in bare
    assert CaseState.from_dict(json.loads(record["state_json"])).case_id == s.case_id
