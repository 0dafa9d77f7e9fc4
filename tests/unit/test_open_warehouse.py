"""Pure parts of the warehouse for analysts and the public: typed facts of any event type,
dimension rows from the data files, open-data formats without personal data, access names."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import pytest

from gateway.stores.opendata import (
    RESULT_FIELDS,
    ExportError,
    csv_chunks,
    geojson_chunks,
    month_bounds,
    result_record,
)
from processors.calendar import WorkingCalendar
from processors.catalogue import CATEGORIES
from processors.units import shipped_directory
from sinks.access import unit_role, user_statements
from sinks.dimensions import calendar_rows, category_rows, removed_unit_rows, unit_rows
from sinks.rows import FACT_COLUMNS, FACT_FIELDS, case_event_fact_row
from tests.factories import submitted_record

AT = datetime(2026, 2, 3, 2, 0, tzinfo=UTC)


def _env(event_type: str) -> dict:
    return {
        "event_id": "e1",
        "case_id": "c1",
        "event_type": event_type,
        "occurred_at": AT,
        "producer": "t",
        "schema_version": 1,
    }


def facts(record: dict) -> dict:
    return dict(zip(FACT_COLUMNS, case_event_fact_row(record, now=AT), strict=True))


def test_a_completed_stage_becomes_typed_columns() -> None:
    row = facts(
        {
            "envelope": _env("stage_completed"),
            "stage": "handle",
            "level": "urgent",
            "due_at": 1_770_000_000_000,
            "on_time": False,
            "late_working_minutes": 75,
            "used_working_minutes": 315,
            "unit_code": "00070",
        }
    )
    assert (row["stage"], row["level"], row["on_time"], row["late_working_minutes"]) == (
        "handle",
        "urgent",
        0,
        75,
    )
    assert row["due_at"] == datetime.fromtimestamp(1_770_000_000, tz=UTC)
    assert row["rating"] is None and row["command"] is None  # not a field of this event: NULL


def test_a_submission_gives_its_place_and_category_but_no_pseudonym() -> None:
    row = facts(submitted_record(AT))
    assert row["event_type"] == "case_submitted" and row["process"] and row["category"]
    assert row["commune_code"] == submitted_record(AT)["location"]["commune_code"]
    assert not any("pseudonym" in c for c in FACT_COLUMNS)
    assert "ab" * 32 not in json.dumps([str(v) for v in row.values()])


def test_a_new_event_type_fills_the_columns_it_shares_by_name() -> None:
    """Another engineer's event types (an alert withdrawn, a clock paused) need no code here."""
    row = facts(
        {"envelope": _env("clock_paused"), "stage": "handle", "reason": "awaiting_sender"}
        | {"unit_code": "00004", "paused_minutes": 30}
    )
    assert (row["stage"], row["reason"], row["unit_code"]) == ("handle", "awaiting_sender", "00004")
    assert all(row[c] is None for c in FACT_FIELDS if c not in ("stage", "reason", "unit_code"))


def test_unit_rows_carry_names_parents_area_and_the_directorys_validity() -> None:
    d = shipped_directory()
    rows = {r[1]: r for r in unit_rows(d, in_use=True, version=7, at=AT)}
    assert len(rows) == len(d)
    hk = rows["00070"]
    assert hk[0] == "hanoi-2025" and hk[4] == "Phường Hoàn Kiếm" and hk[6] == "01"
    assert hk[9] == date(2025, 7, 1) and hk[10] is None and hk[11] == 1 and hk[12] == 0
    dept = next(r for r in rows.values() if r[2] == "department")
    assert dept[7] == "01"  # a department works over the city's area
    old = shipped_directory("hanoi-pre2025")
    assert unit_rows(old, in_use=False, version=7, at=AT)[0][10] == date(2025, 6, 30)
    gone = removed_unit_rows("hanoi-2025", ["00004"], version=8, at=AT)
    assert gone[0][1] == "00004" and gone[0][12] == 1


def test_category_rows_name_every_category_in_both_languages() -> None:
    rows = category_rows(CATEGORIES.values(), version=1, at=AT)
    assert {r[0] for r in rows} == set(CATEGORIES)
    assert (
        "road_damage",
        "field_feedback",
        "Hư hỏng đường, vỉa hè",
        "Damaged road or pavement",
    ) in {r[:4] for r in rows}


def test_calendar_rows_say_why_a_day_is_off_or_worked() -> None:
    rows = calendar_rows(WorkingCalendar(), date(2026, 1, 1), date(2026, 1, 12), version=1, at=AT)
    by_day = {r[0]: r for r in rows}
    assert len(rows) == 12
    assert by_day[date(2026, 1, 2)][1:4] == (0, 0, "holiday")  # swapped day off
    assert by_day[date(2026, 1, 10)][1:4] == (1, 480, "makeup")  # make-up Saturday
    assert by_day[date(2026, 1, 11)][1:4] == (0, 0, "weekend")
    assert by_day[date(2026, 1, 12)][1:5] == (1, 480, "workday", "")
    assert "12729/VPCP-KGVX" in by_day[date(2026, 1, 10)][5]


def _record(**kw: object) -> dict:
    row = ("c1", "Ổ gà", "road_damage", "field_feedback", "00070", "00070", "published")
    row += (datetime(2026, 2, 3, 10), kw.get("confidential", 0), 21.02, 105.85)
    return result_record(row, shipped_directory(), "https://pakn.example")


def test_a_published_result_as_open_data_shows_what_the_publication_api_shows() -> None:
    rec = _record()
    assert tuple(rec) == RESULT_FIELDS
    assert rec["unit_vi"] == "Phường Hoàn Kiếm" and rec["category_en"] == "Damaged road or pavement"
    assert rec["published_at"] == "2026-02-03T10:00:00+07:00"
    assert rec["url"] == "https://pakn.example/v1/results/c1"
    assert (rec["lat"], rec["lon"]) == (21.02, 105.85)
    hidden = _record(confidential=1)
    assert hidden["lat"] is None and hidden["lon"] is None and hidden["commune_vi"]
    assert not any(k in RESULT_FIELDS for k in ("confidential", "description", "pseudonym"))


def test_csv_and_geojson_stream_in_chunks_and_parse_whole() -> None:
    recs = [_record() | {"case_id": f"c{i}"} for i in range(7)] + [_record(confidential=1)]
    chunks = list(csv_chunks(recs, RESULT_FIELDS, every=3))
    assert len(chunks) == 3  # header + 3 rows, 3 rows, the last 2
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))
    assert len(rows) == 8 and rows[-1]["lat"] == ""
    parts = list(geojson_chunks(recs, {"licence": "CC-BY-4.0"}, every=3))
    assert len(parts) > 2
    doc = json.loads(b"".join(parts))
    assert doc["licence"] == "CC-BY-4.0" and len(doc["features"]) == 8
    assert doc["features"][0]["geometry"] == {"type": "Point", "coordinates": [105.85, 21.02]}
    assert doc["features"][-1]["geometry"] is None
    assert "lat" not in doc["features"][0]["properties"]
    assert json.loads(b"".join(geojson_chunks([], {})))["features"] == []


def test_months_are_checked_before_anything_is_read() -> None:
    assert month_bounds("2026-12") == (datetime(2026, 12, 1), datetime(2027, 1, 1))
    for bad in ("2026-13", "2026-1", "", "Feb 2026"):
        with pytest.raises(ExportError) as caught:
            month_bounds(bad)
        assert caught.value.code == "invalid_month"


def test_access_names_are_identifiers_and_passwords_travel_hashed() -> None:
    assert unit_role("01-STC") == "pakn_unit_01_STC"
    with pytest.raises(ValueError):
        unit_role("x'; DROP")
    with pytest.raises(ValueError):
        user_statements("bob; DROP", "ab" * 32)
    with pytest.raises(ValueError):
        user_statements("bob", "plain password")
    create, grant = user_statements("bob", "ab" * 32, "00070")
    assert "sha256_hash" in create and grant == "GRANT pakn_unit_analyst, pakn_unit_00070 TO bob"
