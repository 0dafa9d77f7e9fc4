"""What the sender is told (processors/sender_notices.py): once per change, from the case log."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from processors.calendar import WorkingCalendar
from processors.case import open_case
from processors.sender_notices import CaseMemory, decide
from processors.workflow import apply_command
from schemas.codec import get_codec
from tests.factories import command_record, submitted_record

HN = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkingCalendar()
PHOTO = {"sha256": "ab" * 32, "content_type": "image/jpeg", "size": 1, "filename": "a.jpg"}


def case_log() -> tuple[list[tuple[str, dict]], str]:
    """The case events (as on case.events) of one case's life, and the sender's pseudonym."""
    t = datetime(2026, 3, 2, 9, tzinfo=HN)
    sub = submitted_record(t)
    sub["unit_code"] = "00070"
    d = open_case(None, sub, CAL, unit_code="00070")
    s = d.state
    log: list[tuple[str, dict]] = [("CaseSubmitted", sub), *d.emits]
    sender = {"actor_role": "sender", "actor_pseudonym": s.sender_pseudonym}
    steps = [
        ("receive", {"level": "normal"}),
        ("request_info", {"reason": "thiếu ảnh"}),
        ("provide_info", sender),
        ("assign", {"assignee": "o"}),
        ("propose_result", {"result_text": "xong", "evidence": [PHOTO]}),
        ("approve_result", {}),
        ("rate", {"rating": "not_satisfied", **sender}),
        ("reopen", sender),
    ]
    for i, (name, kw) in enumerate(steps):
        d = apply_command(s, command_record(s.case_id, name, t + timedelta(hours=i + 1), **kw), CAL)
        assert d.result["accepted"], (name, d.result)
        s = d.state
        log += d.emits
    codec = get_codec()  # as a consumer sees them: encoded and decoded
    return [codec.decode(codec.encode(n, r)) for n, r in log], s.sender_pseudonym


def run(log: list[tuple[str, dict]]) -> list[dict]:
    memory: CaseMemory | None = None
    out = []
    for offset, (name, record) in enumerate(log):
        memory, notice = decide(memory, name, record, position=(3, offset))
        if notice is not None:
            out.append(notice)
    return out


def test_each_change_is_told_once_in_order_with_the_due_time_and_no_personal_data() -> None:
    log, pseudonym = case_log()
    notices = run(log)
    assert [n["kind"] for n in notices] == [
        "received",
        "information_requested",
        "result_published",
        "reopened",
    ]
    received, _, published, reopened = notices
    assert received["due_at"] is not None and reopened["due_at"] > received["due_at"]
    assert published["rating_requested"] and not received["rating_requested"]
    codec = get_codec()
    for n in notices:
        assert n["pseudonym"] == pseudonym
        raw = codec.encode("SenderNotice", n)
        assert b"sealed" not in raw and b"example.vn" not in raw


def test_a_rejection_is_told_as_answered_with_its_reason() -> None:
    sub = submitted_record(datetime(2026, 3, 2, 9, tzinfo=HN))
    d = open_case(None, sub, CAL, unit_code="00070")
    rej = apply_command(
        d.state,
        command_record(d.state.case_id, "reject", datetime(2026, 3, 2, 10, tzinfo=HN),
                       reason="duplicate"),
        CAL,
    )  # fmt: skip
    [n] = run([("CaseSubmitted", sub), *d.emits, *rej.emits])
    assert n["kind"] == "answered" and n["reason_code"] == "duplicate"


@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), max_size=6))
def test_redelivered_events_tell_nothing_twice(cuts: list[tuple[int, int]]) -> None:
    """At least once upstream: after a crash the log is read again from an earlier offset (and
    the worker re-emits a redelivered input's events): a stretch [j, k) comes again after k."""
    log, _ = case_log()
    redelivered = list(log)
    for a, b in cuts:
        j, k = sorted((a % (len(redelivered) + 1), b % (len(redelivered) + 1)))
        redelivered = redelivered[:k] + redelivered[j:k] + redelivered[k:]
    assert [n["notice_id"] for n in run(redelivered)] == [n["notice_id"] for n in run(log)]


def test_the_memory_survives_its_topic_and_holds_no_identity() -> None:
    log, _ = case_log()
    memory, _ = decide(None, *log[0], position=(2, 41))
    assert memory is not None and (memory.submission_partition, memory.submission_offset) == (2, 41)
    codec = get_codec()
    raw = codec.encode("SenderNoticeCase", memory.as_record())
    assert CaseMemory.from_record(codec.decode(raw)[1]) == memory
    assert b"sealed" not in raw


def test_events_of_a_case_never_seen_submitted_tell_nothing() -> None:
    log, _ = case_log()
    assert run(log[1:]) == []
