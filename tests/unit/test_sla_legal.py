"""Issue 14: deadlines and oversight figures as the regulation counts them.

On time by working time used (not by the clock), by event time (not by processing order), urgent
"4 giờ" in clock hours, pauses only where a city policy enables them (bounded, never moving the
30-day cap), repeats counted as times per item, the waste report's five steps by their actors.
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processors.calendar import WorkingCalendar, load_shipped_overrides
from processors.case import CaseState, open_case, to_ms
from processors.clocks import BREACH, apply_tick, due_entries
from processors.sla import SlaPolicy, breach_instant
from processors.tallies import (
    BIT,
    case_contributions,
    case_facts,
    facts_messages,
    item_flags,
    not_satisfied_times,
)
from processors.workflow import apply_command
from schemas.codec import get_codec
from tests.factories import command_record, submitted_record

HN = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkingCalendar(overrides=load_shipped_overrides())
SHIPPED = SlaPolicy.shipped()
ROOT = Path(__file__).parents[2]
PHOTO = {"sha256": "ab" * 32, "content_type": "image/jpeg", "size": 1234, "filename": "a.jpg"}
UNIT = "00070"


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=HN)


def _pausing_doc() -> dict[str, Any]:
    doc = json.loads((ROOT / "processors/data/sla_policy.json").read_text(encoding="utf-8"))
    doc["version"] = "v2-pauses"
    doc["defaults"]["handle"]["pausable"] = True
    doc["defaults"]["handle"]["pauses"] = {"max_count": 2, "max_working": "16h"}
    return doc


# A city policy that enables bounded pauses: 2 pauses, 16 working hours in all.
PAUSING = SlaPolicy.from_mapping(_pausing_doc(), "test-pauses")


def opened(submitted: datetime, process: str = "field_feedback") -> CaseState:
    rec = submitted_record(submitted)
    rec["process"], rec["unit_code"] = process, UNIT
    state = open_case(None, rec, CAL, unit_code=UNIT).state
    assert state is not None
    return state


def run(s: CaseState, command: str, when: datetime, pol: SlaPolicy = SHIPPED, **kw: Any) -> Any:
    d = apply_command(s, command_record(s.case_id, command, when, **kw), CAL, pol)
    return d


def ok(s: CaseState, command: str, when: datetime, pol: SlaPolicy = SHIPPED, **kw: Any) -> Any:
    d = run(s, command, when, pol, **kw)
    assert d.result["accepted"], (command, d.result["code"])
    return d


def kinds(d: Any) -> list[str]:
    return [rec["envelope"]["event_type"] for _, rec in d.emits]


# --- 1. on time iff the working time used does not exceed the allowance -----------------------
def test_weekend_submission_received_monday_after_hours_used_exactly_8_hours_and_is_on_time() -> (
    None
):
    s = opened(at(2026, 3, 7, 20))  # Saturday evening
    d = ok(s, "receive", at(2026, 3, 9, 17, 20), level="normal")  # Monday, after hours
    done = next(r for n, r in d.emits if n == "StageCompleted")
    assert done["on_time"] and done["used_working_minutes"] == 480
    assert done["late_working_minutes"] == 0
    assert d.state.late_stages() == []
    assert not case_facts(d.state)[UNIT] & (BIT["receive_late"] | BIT["late"])


def test_assignment_at_lunch_after_a_12_00_due_is_on_time() -> None:
    s = ok(opened(at(2026, 3, 2, 8)), "receive", at(2026, 3, 2, 8), level="normal").state
    assert s.clock("assign").due_at == at(2026, 3, 2, 12)
    d = ok(s, "assign", at(2026, 3, 2, 12, 40), assignee="officer-1")
    assert next(r for n, r in d.emits if n == "StageCompleted")["on_time"]


def test_one_working_minute_over_is_late_by_that_minute() -> None:
    s = opened(at(2026, 3, 7, 20))
    d = ok(s, "receive", at(2026, 3, 10, 8, 1), level="normal")
    done = next(r for n, r in d.emits if n == "StageCompleted")
    assert not done["on_time"] and done["late_working_minutes"] == 1
    assert done["used_working_minutes"] == 481
    assert d.state.late_stages() == ["receive"]


def test_breach_alert_is_due_at_the_first_working_instant_past_the_due() -> None:
    s = opened(at(2026, 3, 7, 20))
    assert breach_instant(s.clock("receive"), CAL) == at(2026, 3, 10, 8) + timedelta(milliseconds=1)
    assert due_entries(s)[("receive", BREACH)] == to_ms(at(2026, 3, 10, 8)) + 1


# --- 2. event time -----------------------------------------------------------------------------
PROPS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(
    submitted=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 20)),
    share=st.floats(min_value=0.0, max_value=1.0),
    tick_first=st.booleans(),
    warned_first=st.booleans(),
)
def test_a_completion_stamped_before_its_due_is_never_late_in_any_processing_order(
    submitted: datetime, share: float, tick_first: bool, warned_first: bool
) -> None:
    s = opened(submitted.replace(tzinfo=HN))
    clock = s.clock("receive")
    done_at = clock.counted_from + (clock.due_at - clock.counted_from) * share
    done_at = min(done_at.replace(microsecond=0), clock.due_at)
    ticks = [(k, v) for k, v in due_entries(s).items() if warned_first or k[1] == BREACH]
    if tick_first:  # the backlog: the breach tick was processed before the completion
        for (stage, kind), ms in ticks:
            s = apply_tick(s, {"case_id": s.case_id, "stage": stage, "kind": kind, "at": ms}).state
        assert s.stages["receive"]["breached"]
    d = ok(s, "receive", done_at, level="normal")
    done = next(r for n, r in d.emits if n == "StageCompleted")
    assert done["on_time"] and done["late_working_minutes"] == 0
    assert ("sla_alert_withdrawn" in kinds(d)) == tick_first
    assert d.state.late_stages() == []
    mask = case_facts(d.state)[UNIT]
    assert not mask & (BIT["receive_late"] | BIT["late"])
    # a stale breach tick after the completion changes nothing
    again = apply_tick(d.state, {"case_id": s.case_id, "stage": "receive", "kind": BREACH, "at": 0})
    assert again.emits == [] and again.state.late_stages() == []


def test_the_withdrawal_is_an_event_of_its_own_with_a_stable_id() -> None:
    s = opened(at(2026, 3, 2, 9))
    ms = due_entries(s)[("receive", BREACH)]
    s = apply_tick(s, {"case_id": s.case_id, "stage": "receive", "kind": BREACH, "at": ms}).state
    assert s.snapshot()["late_stages"] == ["receive"]
    d = ok(s, "receive", at(2026, 3, 3, 8, 30), level="normal")
    name, rec = next((n, r) for n, r in d.emits if n == "SlaAlertWithdrawn")
    codec = get_codec()
    assert codec.decode(codec.encode(name, rec))[0] == "SlaAlertWithdrawn"
    assert rec["completed_at"] == to_ms(at(2026, 3, 3, 8, 30))
    assert rec["envelope"]["occurred_at"] >= ms  # after the alert it withdraws
    assert d.state.snapshot()["late_stages"] == []
    # redelivered: the same outputs (same ids)
    again = apply_command(d.state, d.result and _same_cmd(d), CAL, SHIPPED)
    assert again.emits == d.emits


def _same_cmd(d: Any) -> dict:
    """The command a decision came from, rebuilt from its transition (same id)."""
    t = next(r for n, r in d.emits if n == "CaseTransition")
    return command_record(
        t["envelope"]["case_id"],
        t["command"],
        datetime.fromtimestamp(t["envelope"]["occurred_at"] / 1000, tz=HN),
        command_id=t["command_id"],
        level="normal",
    )


def test_a_completion_stamped_after_the_due_keeps_its_breach() -> None:
    s = opened(at(2026, 3, 2, 9))
    ms = due_entries(s)[("receive", BREACH)]
    s = apply_tick(s, {"case_id": s.case_id, "stage": "receive", "kind": BREACH, "at": ms}).state
    d = ok(s, "receive", at(2026, 3, 3, 9, 30), level="normal")
    assert "sla_alert_withdrawn" not in kinds(d) and d.state.late_stages() == ["receive"]


# --- 3. urgent = 4 clock hours (the seed's "4 giờ") ---------------------------------------------
def test_an_accident_reported_on_the_friday_before_tet_is_due_four_clock_hours_later() -> None:
    clock = SHIPPED.deadline("field_feedback", "handle", "urgent", at(2026, 2, 13, 15), CAL)
    assert clock.due_at == at(2026, 2, 13, 19) and clock.allowance_is_calendar
    out = clock.complete(at(2026, 2, 13, 20), CAL)
    assert not out.on_time and out.late_working_minutes == 60  # clock minutes for a clock allowance


def test_the_working_hours_reading_of_urgent_is_kept_as_a_policy_variant() -> None:
    variant = SlaPolicy.load(ROOT / "processors/data/sla_policy_urgent_working_hours.json")
    clock = variant.deadline("field_feedback", "handle", "urgent", at(2026, 2, 13, 15), CAL)
    assert clock.due_at == at(2026, 2, 23, 10) and not clock.allowance_is_calendar
    assert variant.id == "hanoi-1207-2025/v2-urgent-working-hours"


def test_docs_quote_the_seed_word_for_word() -> None:
    seed_dir = ROOT.parent / "shared" / "seed"
    quote = (
        "Thời gian xử lý phản ánh, kiến nghị với mức độ khẩn thực hiện trong 4 giờ; mức độ "
        "thường từ 4 giờ cho đến không quá 7 ngày làm việc; mức độ phức tạp thì không quá 15 "
        "ngày làm việc kể từ khi tiếp nhận."
    )
    if seed_dir.is_dir():  # the seed sits beside the project on the team's machines
        assert any(quote in p.read_text(encoding="utf-8") for p in seed_dir.glob("*.txt"))
    assert quote in (ROOT / "docs/sla.md").read_text(encoding="utf-8")
    repeat = "đánh giá không hài lòng nhiều lần (5 lần trở lên)"
    assert repeat in (ROOT / "docs/oversight.md").read_text(encoding="utf-8")


# --- 4. pauses: off by default, bounded where a city enables them ------------------------------
def received(pol: SlaPolicy = SHIPPED) -> CaseState:
    s = opened(at(2026, 3, 2, 8))
    return ok(s, "receive", at(2026, 3, 2, 8), pol, level="normal").state


def test_the_shipped_policy_never_stops_a_clock_while_waiting_for_the_sender() -> None:
    s = received()
    due = s.due_ms("handle")
    assert run(s, "request_info", at(2026, 3, 3, 9)).result["code"] == "reason_required"
    s = ok(s, "request_info", at(2026, 3, 3, 9), reason="thiếu ảnh").state
    assert s.status == "awaiting_info" and not s.clock("handle").paused
    assert ("handle", BREACH) in due_entries(s)
    d = ok(s, "provide_info", at(2026, 3, 5, 9), actor_role="sender",
           actor_pseudonym=s.sender_pseudonym, reason="ảnh đã gửi")  # fmt: skip
    assert d.state.status == "received" and d.state.due_ms("handle") == due


def test_a_city_policy_pauses_only_while_waiting_and_the_sender_ends_it() -> None:
    s = received(PAUSING)
    due = s.clock("handle").due_at
    s = ok(s, "request_info", at(2026, 3, 3, 9), PAUSING, reason="thiếu ảnh").state
    assert s.clock("handle").paused
    stranger = run(s, "provide_info", at(2026, 3, 3, 10), PAUSING, actor_role="sender",
                   actor_pseudonym="cd" * 32)  # fmt: skip
    assert stranger.result["code"] == "not_your_case"
    d = ok(s, "provide_info", at(2026, 3, 3, 13), PAUSING, actor_role="sender",
           actor_pseudonym=s.sender_pseudonym)  # fmt: skip
    assert kinds(d) == ["case_transition", "deadline_set"]
    assert due == at(2026, 3, 10, 17)
    assert d.state.clock("handle").due_at == at(2026, 3, 11, 11)  # 3 working hours later
    transition = d.emits[0][1]
    assert transition["command"] == "provide_info" and transition["to_status"] == "received"


def test_the_unit_ends_a_pause_only_with_a_reason() -> None:
    s = ok(received(PAUSING), "request_info", at(2026, 3, 3, 9), PAUSING, reason="x").state
    assert run(s, "resume", at(2026, 3, 3, 10), PAUSING).result["code"] == "reason_required"
    ok(s, "resume", at(2026, 3, 3, 10), PAUSING, reason="xác minh tại chỗ")


def test_at_most_n_pauses() -> None:
    s = received(PAUSING)
    for day in (3, 4):
        s = ok(s, "request_info", at(2026, 3, day, 9), PAUSING, reason="x").state
        s = ok(s, "resume", at(2026, 3, day, 10), PAUSING, reason="y").state
    d = run(s, "request_info", at(2026, 3, 5, 9), PAUSING, reason="x")
    assert d.result["code"] == "pause_limit_reached" and d.state.status == "received"


def test_at_most_m_working_hours_paused_in_all() -> None:
    s = received(PAUSING)
    assert s.clock("handle").due_at == at(2026, 3, 10, 17)
    s = ok(s, "request_info", at(2026, 3, 3, 8), PAUSING, reason="x").state
    # the budget (16 working hours) runs out Thu 5 Mar 08:00: the clock runs again then, and a
    # breach alert is armed for the due moved by the budget only
    moved = s.clock("handle")
    assert due_entries(s)[("handle", BREACH)] == to_ms(breach_instant(moved, CAL))
    s = ok(s, "resume", at(2026, 3, 20, 8), PAUSING, reason="y").state
    clock = s.clock("handle")
    assert clock.paused_working == timedelta(hours=16)
    assert clock.due_at == at(2026, 3, 12, 17)  # 7 working days + 2, not + 17 days


def test_a_pause_never_moves_the_30_day_cap() -> None:
    s = received(PAUSING)
    cap = s.clock("handle").cap_at
    s = ok(s, "request_info", at(2026, 3, 3, 9), PAUSING, reason="x").state
    s = ok(s, "resume", at(2026, 3, 4, 9), PAUSING, reason="y").state
    assert s.clock("handle").cap_at == cap == at(2026, 4, 1, 8)


def test_pause_bounds_need_a_pausable_stage() -> None:
    doc = _pausing_doc()
    doc["defaults"]["handle"]["pausable"] = False
    with pytest.raises(ValueError, match="pausable"):
        SlaPolicy.from_mapping(doc)


# --- 5. repeats: times per item, across months ---------------------------------------------------
def rated_and_reopened(s: CaseState, times: int, start: datetime) -> CaseState:
    sender = {"actor_role": "sender", "actor_pseudonym": s.sender_pseudonym}
    when = start
    for _ in range(times):
        s = ok(s, "assign", when, assignee="o").state
        s = ok(s, "propose_result", when + timedelta(minutes=10), result_text="r",
               evidence=[PHOTO]).state  # fmt: skip
        s = ok(s, "approve_result", when + timedelta(minutes=20)).state
        s = ok(s, "rate", when + timedelta(minutes=30), rating="not_satisfied", **sender).state
        s = ok(s, "reopen", when + timedelta(minutes=40), **sender).state
        when += timedelta(days=7)
    return s


def test_one_item_rated_not_satisfied_six_times_flags_its_unit_once_in_the_month_of_the_fifth() -> (
    None
):
    s = ok(opened(at(2026, 3, 2, 9)), "receive", at(2026, 3, 2, 10), level="normal").state
    s = rated_and_reopened(s, 6, at(2026, 3, 3, 9))  # reopenings 3, 10, 17, 24, 31 Mar, 7 Apr
    assert not_satisfied_times(s) == 6
    flags = item_flags(s)
    assert len(flags) == 1
    flag = flags[0]
    assert flag["unit_code"] == UNIT and flag["month"] == "2026-03"
    assert flag["flag"] == f"repeat_not_satisfied_item:{s.case_id}"
    assert flag["raised_at"] == to_ms(at(2026, 3, 31, 9, 40))
    assert item_flags(s) == flags  # the same id whenever it is derived again
    msgs = {(u, m): mask for u, m, mask, _ in facts_messages(s)}
    assert msgs[(UNIT, "2026-03")] & BIT["repeat_times_reached"]
    assert msgs[(UNIT, "2026-03")] & BIT["repeat_times_at_or_above"]
    assert case_contributions(s)[(UNIT, "2026-03")]["not_satisfied_times"] == 6


def test_the_fifth_time_in_a_later_month_counts_in_that_month() -> None:
    s = ok(opened(at(2026, 3, 20, 9)), "receive", at(2026, 3, 20, 10), level="normal").state
    s = rated_and_reopened(s, 5, at(2026, 3, 23, 9))  # the fifth: Mon 20 Apr
    assert item_flags(s)[0]["month"] == "2026-04"
    msgs = {(u, m): mask for u, m, mask, _ in facts_messages(s)}
    assert msgs[(UNIT, "2026-04")] == BIT["repeat_times_reached"]
    assert not msgs[(UNIT, "2026-03")] & BIT["repeat_times_reached"]
    assert s.tally_units == [UNIT, f"{UNIT}@2026-04"]


def test_four_times_raise_nothing() -> None:
    s = ok(opened(at(2026, 3, 2, 9)), "receive", at(2026, 3, 2, 10), level="normal").state
    s = rated_and_reopened(s, 4, at(2026, 3, 3, 9))
    assert item_flags(s) == [] and not case_facts(s)[UNIT] & BIT["repeat_times_at_or_above"]


# --- 6. the waste report's five steps, each by its actor -----------------------------------------
def _as(role: str) -> dict[str, str]:
    return {"actor_role": role, "actor_unit": UNIT}


WASTE_STEPS = [
    # step, command, extra args, who may, who may not
    (1, "receive", {"level": "normal"}, "head", "receiving_officer"),
    (2, "assign", {"assignee": "phòng Kinh tế"}, "head", "receiving_officer"),
    (4, "propose_result", {"result_text": "Đã kiểm tra", "evidence": [PHOTO]},
     "handling_officer", "head"),
    (5, "approve_result", {}, "head", "handling_officer"),
]  # fmt: skip


def test_waste_report_five_steps_each_by_its_actor() -> None:
    s = opened(at(2026, 3, 2, 9), process="waste_report")
    when = at(2026, 3, 2, 10)
    for step, command, args, allowed, refused in WASTE_STEPS:
        no = run(s, command, when, **args, **_as(refused))
        assert no.result["code"] == "role_not_allowed", (step, refused)
        s = ok(s, command, when, **args, **_as(allowed)).state
        when += timedelta(hours=1)
    assert s.status == "published"


def test_waste_report_forwarded_to_a_commune_whose_leader_assigns_an_officer() -> None:
    s = opened(at(2026, 3, 2, 9), process="waste_report")
    s = ok(s, "receive", at(2026, 3, 2, 10), level="normal", **_as("head")).state
    refused = run(s, "forward", at(2026, 3, 2, 11), target_unit="00004", **_as("receiving_officer"))
    assert refused.result["code"] == "role_not_allowed"
    s = ok(s, "forward", at(2026, 3, 2, 11), target_unit="00004", **_as("head")).state
    commune = {"actor_unit": "00004"}
    no = run(s, "assign", at(2026, 3, 2, 14), assignee="cán bộ địa chính",
             actor_role="receiving_officer", **commune)  # fmt: skip
    assert no.result["code"] == "role_not_allowed"
    s = ok(s, "assign", at(2026, 3, 2, 14), assignee="cán bộ địa chính", actor_role="head",
           **commune).state  # fmt: skip
    assert s.status == "assigned" and s.unit_code == "00004"


def test_field_feedback_keeps_the_receiving_officer_for_steps_1_and_2() -> None:
    s = opened(at(2026, 3, 2, 9))
    s = ok(s, "receive", at(2026, 3, 2, 10), level="normal", **_as("receiving_officer")).state
    s = ok(s, "assign", at(2026, 3, 2, 11), assignee="o", **_as("receiving_officer")).state
    assert s.status == "assigned"


def test_an_operator_or_oversight_cannot_act_for_a_unit() -> None:
    s = opened(at(2026, 3, 2, 9))
    for role in ("operator", "oversight"):
        d = run(s, "receive", at(2026, 3, 2, 10), level="normal", actor_role=role)
        assert d.result["code"] == "role_not_allowed"


def test_case_state_from_before_the_issue_still_loads() -> None:
    s = opened(at(2026, 3, 2, 9))
    d = copy.deepcopy(s.to_dict())
    del d["reopened_at_ms"]
    for e in d["stages"].values():
        e.pop("breach_at_ms", None)
        for k in ("allowance_is_calendar", "pause_limit", "pause_budget_seconds"):
            e["clock"].pop(k)
    old = CaseState.from_dict(d)
    assert due_entries(old)[("receive", BREACH)] == s.due_ms("receive")  # the old rule
    assert old.clock("receive") == s.clock("receive")
