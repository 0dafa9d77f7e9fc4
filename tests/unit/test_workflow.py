"""Officers' commands drive the stage clocks (domain.md §4-§5); refusals change nothing."""

from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from processors.calendar import WorkingCalendar
from processors.case import CaseState, open_case, to_ms
from processors.clocks import due_entries
from processors.workflow import apply_command
from tests.factories import submitted_record

HN = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkingCalendar()
MON_9 = datetime(2026, 3, 2, 9, 0, tzinfo=HN)  # Monday 2 Mar 2026, an ordinary working day


def opened(at: datetime = MON_9) -> CaseState:
    d = open_case(None, submitted_record(at), CAL)
    assert d.state is not None
    return d.state


def cmd(state: CaseState, command: str, at: datetime, **kw: object) -> dict:
    return {
        "envelope": {
            "event_id": str(uuid.uuid4()),
            "case_id": state.case_id,
            "event_type": "case_command",
            "occurred_at": at,
            "producer": "test",
            "schema_version": 1,
        },
        "command": command,
        "actor": "unit-00070",
        "level": kw.get("level"),
        "reason": kw.get("reason"),
        "legal_basis": kw.get("legal_basis"),
        "new_due_at": kw.get("new_due_at"),
    }


def names(d) -> list[str]:  # type: ignore[no-untyped-def]
    return [rec["envelope"]["event_type"] for _, rec in d.emits]


def test_receipt_within_8_working_hours_is_on_time_and_starts_assign_and_handle_clocks() -> None:
    s = opened()
    d = apply_command(s, cmd(s, "receive", datetime(2026, 3, 2, 15, 0, tzinfo=HN)), CAL)
    assert d.result["accepted"] and d.state.status == "received"
    assert names(d) == ["stage_completed", "deadline_set", "deadline_set"]
    completed = d.emits[0][1]
    assert completed["on_time"] and completed["used_working_minutes"] == 5 * 60
    # assign ≤ 4 working hours from receipt (15:00 + 2h today + 2h tomorrow), handle 7 days
    assert d.state.due_ms("assign") == to_ms(datetime(2026, 3, 3, 10, 0, tzinfo=HN))
    assert d.state.due_ms("handle") == to_ms(datetime(2026, 3, 11, 15, 0, tzinfo=HN))


def test_late_receipt_is_a_breach_detected_from_the_receipt_itself() -> None:
    s = opened()
    d = apply_command(s, cmd(s, "receive", datetime(2026, 3, 3, 11, 0, tzinfo=HN)), CAL)
    assert names(d)[:3] == ["sla_warning", "sla_breached", "stage_completed"]
    assert d.emits[2][1]["on_time"] is False and d.emits[2][1]["late_working_minutes"] == 120
    assert d.state.snapshot()["late_stages"] == ["receive"]


def test_assigning_before_receipt_is_refused_and_changes_nothing() -> None:
    s = opened()
    before = s.snapshot()
    d = apply_command(s, cmd(s, "assign", MON_9), CAL)
    assert d.result["accepted"] is False and d.result["code"] == "invalid_transition"
    assert d.emits == [] and d.state.snapshot() == before


def test_a_redelivered_command_gets_the_same_answer_and_the_same_events() -> None:
    s = opened()
    c = cmd(s, "receive", datetime(2026, 3, 2, 10, 0, tzinfo=HN))
    first = apply_command(s, c, CAL)
    again = apply_command(CaseState.from_dict(first.state.to_dict()), c, CAL)
    assert not again.changed and again.result == first.result
    assert [r["envelope"]["event_id"] for _, r in again.emits] == [
        r["envelope"]["event_id"] for _, r in first.emits
    ]
    refused = cmd(s, "resume", MON_9)
    r1 = apply_command(first.state, refused, CAL)
    apply_command(r1.state, cmd(s, "assign", datetime(2026, 3, 2, 11, 0, tzinfo=HN)), CAL)
    r2 = apply_command(r1.state, refused, CAL)  # still refused, even though the state moved
    assert r2.result == r1.result and r2.result["code"] == "invalid_transition"


def test_command_for_an_unknown_case_is_refused() -> None:
    s = opened()
    d = apply_command(None, cmd(s, "receive", MON_9), CAL)
    assert d.state is None and d.result["code"] == "unknown_case"


def test_rejection_needs_a_reason() -> None:
    s = opened()
    assert apply_command(s, cmd(s, "reject", MON_9), CAL).result["code"] == "reason_required"
    d = apply_command(s, cmd(s, "reject", MON_9, reason="complaint_out_of_scope"), CAL)
    assert d.state.status == "rejected" and due_entries(d.state) == {}


def test_request_for_information_stops_the_handling_clock_until_resumed() -> None:
    s = opened()
    s = apply_command(s, cmd(s, "receive", datetime(2026, 3, 2, 10, 0, tzinfo=HN)), CAL).state
    due_before = s.due_ms("handle")
    s = apply_command(s, cmd(s, "request_info", datetime(2026, 3, 3, 10, 0, tzinfo=HN)), CAL).state
    assert s.status == "awaiting_info" and ("handle", "breach") not in due_entries(s)
    d = apply_command(s, cmd(s, "resume", datetime(2026, 3, 4, 10, 0, tzinfo=HN)), CAL)
    assert d.state.status == "received" and names(d) == ["deadline_set"]
    assert d.state.due_ms("handle") - due_before == 24 * 3600 * 1000  # one working day later


def test_reclassifying_as_complex_recomputes_handling_from_receipt() -> None:
    s = opened()
    s = apply_command(s, cmd(s, "receive", datetime(2026, 3, 2, 10, 0, tzinfo=HN)), CAL).state
    d = apply_command(
        s, cmd(s, "classify", datetime(2026, 3, 5, 9, 0, tzinfo=HN), level="complex"), CAL
    )
    assert d.state.level == "complex"
    assert d.state.due_ms("handle") == to_ms(datetime(2026, 3, 23, 10, 0, tzinfo=HN))


def test_handling_completed_in_time_raises_no_alert() -> None:
    s = opened()
    for command, hour in (("receive", 10), ("assign", 11), ("complete_handling", 16)):
        d = apply_command(s, cmd(s, command, datetime(2026, 3, 2, hour, 0, tzinfo=HN)), CAL)
        assert d.result["accepted"], d.result
        s = d.state
        assert not any(n.startswith("sla_") for n in names(d))
    assert s.status == "handled" and due_entries(s) == {} and s.late_stages() == []


def test_extension_needs_a_legal_basis_and_stays_within_30_days_of_receipt() -> None:
    s = opened()
    s = apply_command(s, cmd(s, "receive", datetime(2026, 3, 2, 10, 0, tzinfo=HN)), CAL).state
    later = datetime(2026, 3, 20, 17, 0, tzinfo=HN)
    no_basis = apply_command(s, cmd(s, "extend", MON_9, new_due_at=later), CAL)
    assert no_basis.result["code"] == "extension_without_legal_basis"
    too_far = datetime(2026, 4, 2, 10, 0, tzinfo=HN)  # 31 days after receipt
    capped = apply_command(
        s, cmd(s, "extend", MON_9, new_due_at=too_far, legal_basis="Luật Đất đai 2024"), CAL
    )
    assert capped.result["code"] == "extension_beyond_cap"
    ok = apply_command(
        s, cmd(s, "extend", MON_9, new_due_at=later, legal_basis="Luật Đất đai 2024"), CAL
    )
    assert ok.result["accepted"] and ok.state.due_ms("handle") == to_ms(later)
    assert names(ok) == ["deadline_set"]
