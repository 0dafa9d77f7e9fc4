"""Rows for the warehouse never carry the sealed identity."""

from __future__ import annotations

import json

from sinks.rows import CASE_EVENT_COLUMNS, case_event_row
from tests.factories import submitted_record


def test_event_row_drops_sealed_identity_but_keeps_pseudonym() -> None:
    row = dict(zip(CASE_EVENT_COLUMNS, case_event_row(submitted_record(), "t", 0, 7), strict=True))
    payload = json.loads(row["payload"])
    assert "pii" not in payload["sender"]
    assert payload["sender"]["pseudonym"] == "ab" * 32
    assert row["event_type"] == "case_submitted" and row["source_offset"] == 7


def test_every_case_event_type_becomes_a_row() -> None:
    """Decoded Avro carries UUID and datetime objects: the payload JSON must take them all."""
    import uuid as _uuid

    from processors.workflow import apply_command
    from schemas.codec import get_codec
    from tests.unit.test_workflow import CAL, cmd, opened

    codec = get_codec()
    s = opened()
    d = apply_command(s, cmd(s, "receive"), CAL)
    for name, rec in d.emits:
        _, decoded = codec.decode(codec.encode(name, rec))
        row = dict(zip(CASE_EVENT_COLUMNS, case_event_row(decoded, "t", 0, 1), strict=True))
        assert isinstance(row["event_id"], _uuid.UUID | str) and json.loads(row["payload"])


def test_tally_rows_fit_their_columns() -> None:
    from processors.tallies import FACTS
    from sinks.rows import TALLY_COLUMNS, tally_row

    record = {
        "unit_code": "00070",
        "month": "2026-03",
        "version": 3,
        **dict.fromkeys(FACTS, 1),
        "late_share": 0.5,
        "flags": ["late_share"],
        "final": True,
        "updated_at": 0,
    }
    row = dict(zip(TALLY_COLUMNS, tally_row(record), strict=True))
    assert row["final"] == 1 and row["late_items"] == 1 and row["repeats"] == 1


def test_reception_booking_rows_are_figures_only() -> None:
    """Core snapshot -> Avro -> row: no identity, no subject, no pseudonym on the way."""
    from processors import reception as r
    from schemas.codec import get_codec
    from sinks.rows import RECEPTION_BOOKING_COLUMNS, reception_booking_row
    from tests.unit.test_reception import SEALED, booked, published

    state, code = booked(published(), "p" * 64)
    snapshot = r.booking_snapshot(state, state["bookings"][code])
    _, record = get_codec().decode(get_codec().encode("ReceptionBooking", snapshot))
    row = dict(zip(RECEPTION_BOOKING_COLUMNS, reception_booking_row(record), strict=True))
    assert row["booking_code"] == code and row["status"] == "booked" and row["version"] == 1
    assert str(row["session_date"]) == state["date"]
    assert not any(str(v) in ("p" * 64, SEALED["ciphertext"]) for v in row.values())
