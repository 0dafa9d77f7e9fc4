"""A submission opens a case and starts the receiving clock, exactly once."""

from __future__ import annotations

from datetime import UTC, datetime

from processors.calendar import WorkingCalendar
from processors.case import CaseState, open_case, to_ms
from tests.factories import submitted_record

CAL = WorkingCalendar()


def test_submission_opens_case_with_receipt_deadline_of_8_working_hours() -> None:
    # Fri 13 Feb 2026 16:00 Hanoi (09:00 UTC); Tết closes 16-20 Feb: due Mon 23 Feb 16:00.
    d = open_case(None, submitted_record(datetime(2026, 2, 13, 9, 0, tzinfo=UTC)), CAL)
    assert d.changed and d.forward
    assert d.state.status == "submitted" and d.state.version == 1
    due = datetime(2026, 2, 23, 9, 0, tzinfo=UTC)
    assert d.state.due_ms("receive") == to_ms(due)
    [(name, ev)] = d.emits
    assert name == "DeadlineSet" and ev["due_at"] == to_ms(due) and ev["stage"] == "receive"


def test_redelivered_submission_changes_nothing_and_repeats_the_same_outputs() -> None:
    rec = submitted_record()
    first = open_case(None, rec, CAL)
    again = open_case(CaseState.from_dict(first.state.to_dict()), rec, CAL)
    assert not again.changed and again.forward
    assert again.state == first.state
    assert again.emits == first.emits  # same derived event ids: consumers dedup them


def test_client_retry_with_same_idempotency_key_keeps_the_first_submission() -> None:
    rec = submitted_record(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    first = open_case(None, rec, CAL)
    retry = submitted_record(datetime(2026, 3, 2, 2, 5, tzinfo=UTC), rec["envelope"]["case_id"])
    d = open_case(first.state, retry, CAL)
    assert not d.changed and not d.forward and d.emits == []
    assert d.state.submitted_at_ms == first.state.submitted_at_ms


def test_snapshot_carries_no_personal_data() -> None:
    snap = open_case(None, submitted_record(), CAL).state.snapshot()
    assert "pii" not in snap and "sender" not in snap
    assert set(snap) >= {"case_id", "version", "status", "receive_due_at"}


def test_decoded_event_opens_a_case_whose_state_is_plain_json() -> None:
    """Avro decodes uuids as UUID objects; the table stores JSON, so the state must be text."""
    import json

    from schemas.codec import get_codec

    codec = get_codec()
    _, rec = codec.decode(codec.encode("CaseSubmitted", submitted_record()))
    d = open_case(None, rec, CAL)
    assert json.loads(json.dumps(d.state.to_dict())) == d.state.to_dict()
    codec.encode("CaseState", d.state.snapshot())
    for name, out in d.emits:
        codec.encode(name, out)


def test_to_dict_is_asdict_and_shares_nothing_mutable() -> None:
    """CaseState.to_dict is a fast asdict: the same value, and no container shared with the
    state (the worker stores it while the state may still change)."""
    import dataclasses

    state = open_case(None, submitted_record(), CAL).state
    assert state is not None and state.stages and state.outbox
    state.ratings.append("satisfied")
    state.past_stages.append({"receive": {"clock": None, "tags": ("a", ["b"])}})
    out = state.to_dict()
    assert out == dataclasses.asdict(state)
    before = dataclasses.asdict(state)
    out["stages"].clear()
    out["outbox"].clear()
    out["ratings"].append("x")
    out["past_stages"][0]["receive"]["tags"][1].append("c")
    assert dataclasses.asdict(state) == before
