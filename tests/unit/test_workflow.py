"""The life of a case (domain.md §4-§5): every state × every command; any sequence stays sane."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors.calendar import WorkingCalendar
from processors.case import CaseState, open_case, to_ms
from processors.clocks import due_entries
from processors.workflow import COMMANDS, MACHINES, STATUSES, TERMINAL, apply_command
from schemas.codec import get_codec
from tests.factories import command_record, submitted_record

HN = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkingCalendar()
MON_9 = datetime(2026, 3, 2, 9, 0, tzinfo=HN)  # Monday 2 Mar 2026, an ordinary working day
PHOTO = {"sha256": "ab" * 32, "content_type": "image/jpeg", "size": 1234, "filename": "a.jpg"}

# Valid arguments of each command (a refusal then says something about the state, not the args).
ARGS: dict[str, dict] = {
    "receive": {"level": "normal"},
    "reject": {"reason": "duplicate"},
    "assign": {"assignee": "officer-17"},
    "forward": {"target_unit": "00004"},
    "propose_transfer": {"target_unit": "SXD"},
    "request_extension": {
        "new_due_at": datetime(2026, 3, 20, 17, 0, tzinfo=HN),
        "legal_basis": "Luật Đất đai 2024, Điều 236",
    },
    "propose_result": {"result_text": "Đã vá ổ gà.", "evidence": [PHOTO]},
    "return_result": {"reason": "thiếu ảnh sau xử lý"},
    "classify": {"level": "complex"},
    "rate": {"rating": "not_satisfied"},
    "request_info": {"reason": "cần ảnh chụp rõ vị trí"},
    "resume": {"reason": "đã xác minh tại chỗ"},
}
# A path from `submitted` to each status.
PATHS: dict[str, list[str | tuple[str, dict]]] = {
    "submitted": [],
    "received": ["receive"],
    "rejected": ["reject"],
    "withdrawn": ["withdraw"],
    "assigned": ["receive", "assign"],
    "forwarded": ["receive", "forward"],
    "transfer_proposed": ["receive", "propose_transfer"],
    "transferred": ["receive", "propose_transfer", "approve_transfer"],
    "awaiting_info": ["receive", "request_info"],
    "result_proposed": ["receive", "assign", "propose_result"],
    "published": ["receive", "assign", "propose_result", "approve_result"],
    "rated_unsatisfied": ["receive", "assign", "propose_result", "approve_result", "rate"],
    "closed": [
        "receive",
        "assign",
        "propose_result",
        "approve_result",
        ("rate", {"rating": "satisfied"}),
    ],
}


def opened(process: str = "field_feedback", at: datetime = MON_9) -> CaseState:
    rec = submitted_record(at)
    rec["process"] = process
    rec["unit_code"] = "00070"
    d = open_case(None, rec, CAL)
    assert d.state is not None
    d.state.unit_code = "00070"
    return d.state


_minutes = iter(range(10**9))


def cmd(state: CaseState, command: str, at: datetime | None = None, **kw: object) -> dict:
    at = at or MON_9 + timedelta(minutes=next(_minutes) % 120 + 1)
    return command_record(state.case_id, command, at, **{**ARGS.get(command, {}), **kw})


def walk(process: str, status: str) -> CaseState:
    s = opened(process)
    for step in PATHS[status]:
        name, kw = (step, {}) if isinstance(step, str) else step
        d = apply_command(s, cmd(s, name, **kw), CAL)
        assert d.result["accepted"], (process, status, name, d.result)
        s = d.state
    assert s.status == status
    return s


def names(d) -> list[str]:  # type: ignore[no-untyped-def]
    return [rec["envelope"]["event_type"] for _, rec in d.emits]


def reachable(process: str) -> list[str]:
    return [
        st_
        for st_ in STATUSES
        if all(
            (step if isinstance(step, str) else step[0])
            in {c for m in MACHINES[process].values() for c in m}
            for step in PATHS[st_]
        )
    ]


CASES = [(p, status, c) for p in MACHINES for status in reachable(p) for c in sorted(COMMANDS)]


@pytest.mark.parametrize(("process", "status", "command"), CASES)
def test_every_state_and_command(process: str, status: str, command: str) -> None:
    """Allowed: accepted, or refused for a reason other than the transition. Otherwise refused
    as invalid_transition. A refusal never changes the case."""
    s = walk(process, status)
    before = s.snapshot()
    d = apply_command(s, cmd(s, command), CAL)
    allowed = command in MACHINES[process][status]
    if d.result["accepted"]:
        assert allowed and d.state.version == before["version"] + 1
        assert names(d)[0] == "case_transition"
    else:
        assert (
            d.result["code"] != "invalid_transition"
            if allowed
            else (d.result["code"] == "invalid_transition")
        )
        assert d.state.snapshot() == before and d.emits == []


def test_receipt_within_8_working_hours_is_on_time_and_starts_assign_and_handle_clocks() -> None:
    s = opened()
    d = apply_command(s, cmd(s, "receive", datetime(2026, 3, 2, 15, 0, tzinfo=HN)), CAL)
    assert d.result["accepted"] and d.state.status == "received"
    assert names(d) == ["case_transition", "stage_completed", "deadline_set", "deadline_set"]
    completed = d.emits[1][1]
    assert completed["on_time"] and completed["used_working_minutes"] == 5 * 60
    # assign ≤ 4 working hours from receipt (15:00 + 2h today + 2h tomorrow), handle 7 days
    assert d.state.due_ms("assign") == to_ms(datetime(2026, 3, 3, 10, 0, tzinfo=HN))
    assert d.state.due_ms("handle") == to_ms(datetime(2026, 3, 11, 15, 0, tzinfo=HN))


def test_late_receipt_is_a_breach_detected_from_the_receipt_itself() -> None:
    s = opened()
    d = apply_command(s, cmd(s, "receive", datetime(2026, 3, 3, 11, 0, tzinfo=HN)), CAL)
    assert names(d)[:4] == ["case_transition", "sla_warning", "sla_breached", "stage_completed"]
    assert d.emits[3][1]["on_time"] is False and d.emits[3][1]["late_working_minutes"] == 120
    assert d.state.snapshot()["late_stages"] == ["receive"]


def test_a_redelivered_command_gets_the_same_answer_and_the_same_events() -> None:
    s = opened()
    c = cmd(s, "receive")
    first = apply_command(s, c, CAL)
    again = apply_command(CaseState.from_dict(first.state.to_dict()), c, CAL)
    assert not again.changed and again.result == first.result
    assert again.emits == first.emits
    refused = cmd(s, "resume")
    r1 = apply_command(first.state, refused, CAL)
    apply_command(r1.state, cmd(s, "assign"), CAL)
    r2 = apply_command(r1.state, refused, CAL)  # still refused, even though the state moved
    assert r2.result == r1.result and r2.result["code"] == "invalid_transition"


def test_command_for_an_unknown_case_is_refused() -> None:
    s = opened()
    d = apply_command(None, cmd(s, "receive"), CAL)
    assert d.state is None and d.result["code"] == "unknown_case"


def test_rejection_needs_a_reason_from_the_regulation() -> None:
    s = opened()
    d = apply_command(s, cmd(s, "reject", reason="không thích"), CAL)
    assert d.result["code"] == "rejection_reason_required"
    d = apply_command(s, cmd(s, "reject", reason="out_of_scope_complaint"), CAL)
    assert d.state.status == "rejected" and due_entries(d.state) == {}


def test_result_without_evidence_is_refused() -> None:
    s = walk("field_feedback", "assigned")
    d = apply_command(s, cmd(s, "propose_result", evidence=[]), CAL)
    assert d.result["code"] == "evidence_required" and d.state.status == "assigned"


def test_request_for_information_stops_the_handling_clock_until_resumed() -> None:
    from tests.unit.test_sla_legal import PAUSING  # a city policy with pauses enabled

    s = opened()
    s = apply_command(
        s, cmd(s, "receive", datetime(2026, 3, 2, 10, 0, tzinfo=HN)), CAL, PAUSING
    ).state
    due_before = s.due_ms("handle")
    at = datetime(2026, 3, 3, 10, 0, tzinfo=HN)
    s = apply_command(s, cmd(s, "request_info", at), CAL, PAUSING).state
    # paused: a breach only once the policy's pause budget (16 working hours) is used up
    assert s.status == "awaiting_info" and due_entries(s)[("handle", "breach")] > due_before + 1
    d = apply_command(s, cmd(s, "resume", datetime(2026, 3, 4, 10, 0, tzinfo=HN)), CAL, PAUSING)
    assert d.state.status == "received" and names(d) == ["case_transition", "deadline_set"]
    assert d.state.due_ms("handle") - due_before == 24 * 3600 * 1000  # one working day later


def test_reclassifying_as_complex_recomputes_handling_from_receipt() -> None:
    s = opened()
    s = apply_command(s, cmd(s, "receive", datetime(2026, 3, 2, 10, 0, tzinfo=HN)), CAL).state
    d = apply_command(s, cmd(s, "classify", datetime(2026, 3, 5, 9, 0, tzinfo=HN)), CAL)
    assert d.state.level == "complex"
    assert d.state.due_ms("handle") == to_ms(datetime(2026, 3, 23, 10, 0, tzinfo=HN))


def test_extension_needs_a_legal_basis_stays_within_30_days_and_a_head_approves_it() -> None:
    s = walk("field_feedback", "assigned")
    no_basis = apply_command(s, cmd(s, "request_extension", legal_basis=""), CAL)
    assert no_basis.result["code"] == "extension_without_legal_basis"
    too_far = datetime(2026, 4, 2, 10, 0, tzinfo=HN)  # 31 days after receipt
    capped = apply_command(s, cmd(s, "request_extension", new_due_at=too_far), CAL)
    assert capped.result["code"] == "extension_beyond_cap"
    s = apply_command(s, cmd(s, "request_extension"), CAL).state
    assert s.due_ms("handle") != to_ms(ARGS["request_extension"]["new_due_at"])  # not yet
    d = apply_command(s, cmd(s, "approve_extension"), CAL)
    assert d.result["accepted"] and names(d) == ["case_transition", "deadline_set"]
    assert d.state.due_ms("handle") == to_ms(ARGS["request_extension"]["new_due_at"])


def test_forwarding_to_a_commune_hands_the_case_over_and_ends_coordination() -> None:
    s = walk("field_feedback", "received")
    d = apply_command(s, cmd(s, "forward", target_unit="00004"), CAL)
    assert d.state.unit_code == "00004" and d.state.status == "forwarded"
    assert "stage_completed" in names(d)
    refused = apply_command(walk("administrative_procedure", "received"), cmd(s, "forward"), CAL)
    assert refused.result["code"] == "invalid_transition"  # the owner of the procedure answers


def test_transfer_moves_the_case_only_when_the_department_accepts() -> None:
    s = walk("field_feedback", "assigned")
    s = apply_command(s, cmd(s, "propose_transfer"), CAL).state
    assert s.unit_code == "00070" and s.status == "transfer_proposed"
    other = apply_command(s, cmd(s, "approve_transfer", actor_role="head", actor_unit="00070"), CAL)
    assert other.result["code"] == "not_your_unit"  # the receiving department decides
    d = apply_command(s, cmd(s, "approve_transfer", actor_role="head", actor_unit="SXD"), CAL)
    assert d.state.unit_code == "SXD" and d.state.status == "transferred"


def test_declined_transfer_returns_the_case_where_it_was() -> None:
    s = walk("field_feedback", "assigned")
    s = apply_command(s, cmd(s, "propose_transfer"), CAL).state
    d = apply_command(s, cmd(s, "decline_transfer"), CAL)
    assert d.state.status == "assigned" and d.state.pending_transfer is None


def test_an_officer_of_another_unit_is_refused() -> None:
    s = opened()
    d = apply_command(s, cmd(s, "receive", actor_role="receiving_officer", actor_unit="00004"), CAL)
    assert d.result["code"] == "not_your_unit" and d.state.status == "submitted"
    ok = apply_command(
        s, cmd(s, "receive", actor_role="receiving_officer", actor_unit="00070"), CAL
    )
    assert ok.result["accepted"]


def test_only_the_sender_rates_reopens_or_withdraws() -> None:
    s = walk("field_feedback", "published")
    officer = apply_command(s, cmd(s, "rate", actor_role="head", actor_unit="00070"), CAL)
    assert officer.result["code"] == "role_not_allowed"  # rating is the sender's step
    stranger = apply_command(s, cmd(s, "rate", actor_role="sender", actor_pseudonym="x"), CAL)
    assert stranger.result["code"] == "not_your_case"
    mine = apply_command(
        s, cmd(s, "rate", actor_role="sender", actor_pseudonym=s.sender_pseudonym), CAL
    )
    assert mine.result["accepted"] and mine.state.status == "rated_unsatisfied"


def test_not_satisfied_sender_reopens_a_repeat_with_fresh_clocks_and_alert_ids() -> None:
    s = walk("field_feedback", "rated_unsatisfied")
    first_round = {k: v["clock"]["due_at"] for k, v in s.stages.items()}
    d = apply_command(s, cmd(s, "reopen"), CAL)
    assert d.state.status == "received" and d.state.repeat_count == 1
    assert d.state.snapshot()["repeat_count"] == 1 and d.state.result is None
    assert d.state.stages["handle"]["outcome"] is None
    assert d.state.stages["handle"]["clock"]["due_at"] != first_round["handle"]
    assert d.state.stage_key("handle") == "handle#1"


def test_waste_report_five_steps() -> None:
    """§4.2: head receives; assigns a division (or forwards to the commune); the handling person
    researches and records the proposed result; the head approves and notifies."""
    s = opened("waste_report")
    for name in ("receive", "assign", "propose_result", "approve_result"):
        d = apply_command(s, cmd(s, name), CAL)
        assert d.result["accepted"], (name, d.result)
        s = d.state
    assert s.status == "published" and s.late_stages() == []


@st.composite
def command_sequences(draw: st.DrawFn) -> list[tuple[str, dict]]:
    names_ = sorted(COMMANDS)
    out = []
    for _ in range(draw(st.integers(0, 14))):
        name = draw(st.sampled_from(names_))
        kw = {}
        if name == "rate":
            kw["rating"] = draw(st.sampled_from(["satisfied", "not_satisfied"]))
        out.append((name, kw))
    return out


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(MACHINES)), command_sequences())
def test_any_sequence_of_commands_keeps_the_case_consistent(process: str, seq: list) -> None:
    s = opened(process)
    codec = get_codec()
    for name, kw in seq:
        before = s.snapshot()
        d = apply_command(s, cmd(s, name, **kw), CAL)
        s = d.state
        if not d.result["accepted"]:
            assert s.snapshot() == before
            continue
        assert s.version == before["version"] + 1
        for out_name, rec in d.emits:
            codec.encode(out_name, rec)
        codec.encode("CaseState", s.snapshot())
        handle = s.stages.get("handle")
        assert s.status in STATUSES
        if s.status not in TERMINAL:
            # the shipped policy has no pause: waiting for the sender never stops the clock
            assert not (handle and handle["clock"]["paused_at"])
        else:
            assert due_entries(s) == {}  # a closed case raises no alert any more
        assert (s.status == "transfer_proposed") == (s.pending_transfer is not None)
        if s.status in ("published", "closed", "rated_unsatisfied"):
            assert s.result and s.published_at_ms and handle["outcome"] is not None
        if s.status in ("received", "assigned", "forwarded", "transferred", "result_proposed"):
            assert handle is not None and handle["outcome"] is None
