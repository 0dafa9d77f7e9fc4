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
