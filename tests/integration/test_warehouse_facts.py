"""The warehouse for analysts and the public, on the real ClickHouse: typed facts written by the
sink (once per event id), the migration's backfill of older events, dimensions refreshed when the
unit directory changes, and the open-data exports streamed in pages."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from confluent_kafka import Producer

from gateway.stores.opendata import (
    RESULT_FIELDS,
    ExportError,
    export_oversight,
    export_results,
)
from pakn.settings import Settings
from pakn.topics import CASE_EVENTS
from processors.calendar import WorkingCalendar
from processors.units import UnitDirectory, shipped_directory
from schemas.codec import get_codec
from sinks.connection import clickhouse
from sinks.dimensions import load_dimensions
from sinks.migrate import MIGRATIONS, statements
from sinks.rows import (
    CASE_EVENT_COLUMNS,
    FACT_COLUMNS,
    FACT_FIELDS,
    case_event_fact_row,
    case_event_row,
)
from tests.harness import Proc, wait_for

pytestmark = pytest.mark.integration
PSEUDONYM = "7a" * 32
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


def run(settings: Settings, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    client = clickhouse(settings)
    try:
        return client.execute(sql, params) if params is not None else client.execute(sql)
    finally:
        client.disconnect()


def lifecycle_events() -> list[tuple[str, dict[str, Any]]]:
    """A real case's events from the core: submitted, received (deadlines, a completed stage),
    assigned, result proposed and approved, rated not satisfied, reopened."""
    from processors.case import open_case
    from processors.workflow import apply_command
    from tests.factories import command_record, submitted_record
    from tests.unit.test_workflow import ARGS, CAL, MON_9

    rec = submitted_record(MON_9)
    rec["unit_code"] = "00070"
    opened = open_case(None, rec, CAL)
    s = opened.state
    assert s is not None
    out = list(opened.emits)
    steps = [
        ("receive", {}),
        ("assign", {}),
        ("propose_result", {}),
        ("approve_result", {}),
        ("rate", {"rating": "not_satisfied"}),
        ("reopen", {}),
    ]
    for n, (command, kw) in enumerate(steps, start=1):
        at = MON_9 + timedelta(minutes=20 * n)
        c = command_record(s.case_id, command, at, **{**ARGS.get(command, {}), **kw})
        d = apply_command(s, c, CAL)
        assert d.result["accepted"], (command, d.result)
        s = d.state
        out += d.emits
    return out


def test_the_sink_writes_typed_facts_once_per_event(env: Settings, tmp_path) -> None:
    codec = get_codec()
    emitted = lifecycle_events()
    producer = Producer({"bootstrap.servers": env.kafka_bootstrap})
    for _ in range(2):  # delivered twice: at-least-once
        for name, rec in emitted:
            producer.produce(
                CASE_EVENTS.name(env),
                key=rec["envelope"]["case_id"].encode(),
                value=codec.encode(name, rec),
            )
    producer.flush(10)
    sink = Proc("sink", env, tmp_path).start()
    try:
        db = env.clickhouse_database
        wait_for(
            lambda: (
                run(env, f"SELECT count() FROM {db}.case_event_facts")[0][0] >= 2 * len(emitted)
            ),
            60,
            "the sink to write both deliveries",
        )
    finally:
        sink.stop()
    an = f"{db}_analytics"
    assert run(env, f"SELECT count() FROM {an}.v_event_facts") == [(len(emitted),)]
    by_type = dict(
        run(env, f"SELECT event_type, count() FROM {an}.v_event_facts GROUP BY event_type")
    )
    assert by_type["stage_completed"] >= 1 and by_type["case_transition"] == 6
    # the typed columns hold what the payload holds, with no JSON parsing
    stages = run(
        env,
        f"SELECT stage, on_time, late_working_minutes, unit_code FROM {an}.v_stage_completions "
        "ORDER BY completed_at",
    )
    want = [
        (r["stage"], int(r["on_time"]), r["late_working_minutes"], r["unit_code"])
        for n, r in emitted
        if n == "StageCompleted"
    ]
    assert stages == want
    rate = run(
        env,
        f"SELECT command, rating, repeat_count, level FROM {an}.v_transitions "
        "WHERE command IN ('rate', 'reopen') ORDER BY occurred_at",
    )
    assert rate == [("rate", "not_satisfied", 0, "normal"), ("reopen", None, 1, "normal")]
    # a field an event type does not have is NULL, not a default
    [(nulls,)] = run(
        env,
        f"SELECT countIf(isNull(stage)) FROM {an}.v_event_facts "
        "WHERE event_type = 'case_transition'",
    )
    assert nulls == 6


def test_the_backfill_of_older_events_gives_the_sinks_facts(env: Settings) -> None:
    """Migration 0012 copies the events stored before it from their JSON: same columns, same
    values as the sink's row builder (times to the second)."""
    db = env.clickhouse_database
    codec = get_codec()
    decoded = [codec.decode(codec.encode(n, r))[1] for n, r in lifecycle_events()]
    run(
        env,
        f"INSERT INTO {db}.case_events ({', '.join(CASE_EVENT_COLUMNS)}) VALUES",
        [case_event_row(r, "t", 0, i) for i, r in enumerate(decoded)],
    )
    backfill = statements(MIGRATIONS / "0012_case_event_facts.sql", db)[-1]
    assert backfill.startswith(f"INSERT INTO {db}.case_event_facts")
    run(env, backfill)
    cols = ", ".join(["toString(event_id)", *FACT_FIELDS])
    got = {r[0]: r[1:] for r in run(env, f"SELECT {cols} FROM {db}.case_event_facts FINAL")}
    assert len(got) == len(decoded)
    for rec in decoded:
        row = dict(zip(FACT_COLUMNS, case_event_fact_row(rec), strict=True))
        want = tuple(row[c] for c in FACT_FIELDS)
        have = got[str(rec["envelope"]["event_id"])]
        for c, w, h in zip(FACT_FIELDS, want, have, strict=True):
            if isinstance(w, datetime):  # the warehouse keeps seconds, in Hanoi wall time
                w = w.astimezone(HANOI).replace(tzinfo=None, microsecond=0)
                h = h.replace(tzinfo=None) if isinstance(h, datetime) else h
            assert h == w, (rec["envelope"]["event_type"], c, h, w)


def test_dimensions_follow_a_republished_directory(env: Settings) -> None:
    an = f"{env.clickhouse_database}_analytics"
    shipped = shipped_directory()
    cal = WorkingCalendar()
    load_dimensions(env, shipped, cal, years=(2026, 2026))
    [(n,)] = run(env, f"SELECT count() FROM {an}.v_units WHERE in_use = 1")
    assert n == len(shipped)
    assert run(
        env,
        f"SELECT name_vi, kind, area_code FROM {an}.v_units WHERE code = '00070' AND in_use = 1",
    ) == [("Phường Hoàn Kiếm", "commune", "00070")]
    # the directory is republished without one commune and with a renamed one
    doc = json.loads((shipped_source()).read_text("utf-8"))
    doc["units"] = [u for u in doc["units"] if u["code"] != "00004"]
    for u in doc["units"]:
        if u["code"] == "00070":
            u["name_en"] = "Hoan Kiem Ward (renamed)"
    changed = UnitDirectory.from_dict(doc, "test")
    load_dimensions(env, changed, cal, years=(2026, 2026))
    assert run(env, f"SELECT count() FROM {an}.v_units WHERE code = '00004' AND in_use = 1") == [
        (0,)
    ]
    assert run(env, f"SELECT name_en FROM {an}.v_units WHERE code = '00070' AND in_use = 1") == [
        ("Hoan Kiem Ward (renamed)",)
    ]
    # the pre-2025 shape stays for older cases, and the calendar says why a day is off
    assert run(
        env, f"SELECT count() > 500 FROM {an}.v_units WHERE directory = 'hanoi-pre2025'"
    ) == [(1,)]
    assert run(env, f"SELECT working, day_kind FROM {an}.v_calendar WHERE day = '2026-01-10'") == [
        (1, "makeup")
    ]
    assert run(env, f"SELECT count() FROM {an}.v_categories") == [(11,)]


def shipped_source():
    from importlib import resources

    return resources.files("processors").joinpath("data", "units_hanoi_2025.json")


# --- open data -------------------------------------------------------------------------------
CASE_COLUMNS = (
    "case_id, version, status, process, category, unit_code, commune_code, lat, lon, title, "
    "sender_pseudonym, confidential, submitted_at, updated_at, last_event_id, published_at"
)


def _published(env: Settings) -> dict[str, dict[str, Any]]:
    """Seven published results (Feb and Mar 2026, two units, one confidential), one case not
    published yet, and an older version of one that must not show."""
    rows, cases = [], {}
    specs = [
        ("00070", datetime(2026, 2, 3, 10), "published", 0),
        ("00070", datetime(2026, 2, 3, 10), "closed", 0),  # same second: ordered by case id
        ("00070", datetime(2026, 2, 9, 15), "rated_unsatisfied", 1),  # confidential
        ("00004", datetime(2026, 2, 14, 8), "closed", 0),
        ("00070", datetime(2026, 2, 27, 16), "published", 0),
        ("00004", datetime(2026, 2, 28, 23, 59), "published", 0),
        ("00070", datetime(2026, 3, 1, 0, 0), "published", 0),  # March in Hanoi
    ]
    for n, (unit, at, status, conf) in enumerate(specs):
        cid = str(uuid.uuid4())
        cases[cid] = {"unit": unit, "at": at, "status": status, "confidential": conf, "n": n}
        rows.append(
            (
                cid,
                5,
                status,
                "field_feedback",
                "road_damage",
                unit,
                unit,
                21.02 + n / 1000,
                105.85,
                f"Ổ gà {n}",
                PSEUDONYM,
                conf,
                at,
                at,
                str(uuid.uuid4()),
                at,
            )
        )
    older = (*rows[0][:1], 4, "result_proposed", *rows[0][3:15], None)
    rows.append(older)
    pending = (str(uuid.uuid4()), 2, "assigned", "field_feedback", "waste", "00070", "00070")
    rows.append(
        (
            *pending,
            21.0,
            105.8,
            "chưa xong",
            PSEUDONYM,
            0,
            specs[0][1],
            specs[0][1],
            str(uuid.uuid4()),
            None,
        )
    )
    run(env, f"INSERT INTO {env.clickhouse_database}.cases ({CASE_COLUMNS}) VALUES", rows)
    return cases


def test_published_results_export_as_csv_and_geojson_in_pages(env: Settings) -> None:
    cases = _published(env)
    feb = sorted(
        (c for c, v in cases.items() if v["at"].month == 2), key=lambda c: (cases[c]["at"], c)
    )
    body = b"".join(export_results(env, "csv", "2026-02", batch=2))  # keyset pages of 2 rows
    text = body.decode()
    assert PSEUDONYM not in text and "sender" not in text
    records = list(csv.DictReader(io.StringIO(text)))
    assert tuple(records[0]) == RESULT_FIELDS
    assert [r["case_id"] for r in records] == feb  # each once, oldest first, no older version
    first = records[0]
    assert (
        first["unit_vi"] == "Phường Hoàn Kiếm"
        and first["category_en"] == "Damaged road or pavement"
    )
    assert first["published_at"] == "2026-02-03T10:00:00+07:00"
    assert first["url"].endswith(f"/v1/results/{first['case_id']}")
    hidden = next(r for r in records if cases[r["case_id"]]["confidential"])
    assert hidden["lat"] == "" and hidden["lon"] == "" and hidden["commune_vi"]

    geo = json.loads(b"".join(export_results(env, "geojson", "2026-02", "00004", batch=1)))
    assert geo["type"] == "FeatureCollection" and geo["licence"] == "CC-BY-4.0"
    ids = [f["id"] for f in geo["features"]]
    assert ids == [c for c in feb if cases[c]["unit"] == "00004"]
    assert all(f["geometry"]["type"] == "Point" for f in geo["features"])
    lon, lat = geo["features"][0]["geometry"]["coordinates"]
    assert lon == 105.85 and 21.0 < lat < 21.1

    geo_all = json.loads(b"".join(export_results(env, "geojson", "2026-02")))
    nulls = [f for f in geo_all["features"] if f["geometry"] is None]
    assert [f["id"] for f in nulls] == [c for c in feb if cases[c]["confidential"]]

    page2 = b"".join(export_results(env, "csv", "2026-02", page=2, page_size=2)).decode()
    assert [r["case_id"] for r in csv.DictReader(io.StringIO(page2))] == feb[2:4]
    march = b"".join(export_results(env, "csv", "2026-03")).decode()
    assert len(list(csv.DictReader(io.StringIO(march)))) == 1

    for bad in (("xml", "2026-02"), ("csv", "2026-13"), ("csv", "Feb")):
        with pytest.raises(ExportError):
            export_results(env, *bad)


def test_monthly_oversight_figures_export_as_csv(env: Settings) -> None:
    db = env.clickhouse_database
    at = datetime(2026, 3, 1)
    run(
        env,
        f"INSERT INTO {db}.unit_month_tallies (unit_code, month, version, received, late_items, "
        "late_share, flags, final, updated_at) VALUES",
        [
            ("00070", "2026-02", 1, 5, 1, 0.2, [], 0, at),
            ("00070", "2026-02", 2, 10, 4, 0.4, ["late_share"], 1, at),
            ("00004", "2026-02", 1, 8, 0, 0.0, [], 1, at),
            ("00070", "2026-03", 1, 3, 0, 0.0, [], 0, at),
        ],
    )
    text = b"".join(export_oversight(env, "2026-02")).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [
        (r["unit_code"], r["received"], r["late_share"], r["flags"], r["final"]) for r in rows
    ] == [
        ("00004", "8", "0.0", "", "1"),
        ("00070", "10", "0.4", "late_share", "1"),
    ]
    assert rows[1]["unit_vi"] == "Phường Hoàn Kiếm" and "handle_late_complex" in rows[1]


def test_open_data_over_http_streams_the_same_bytes_as_pakn_export(env: Settings, tmp_path) -> None:
    """GET /v1/open-data/results.{csv,geojson} and /oversight.csv: the export's own bytes,
    streamed by the real gateway; a bad month is a problem with its stable code."""
    import urllib.error
    import urllib.request

    from tests.pipeline import wait_gateway

    _published(env)
    gateway = Proc("gateway", env, tmp_path).start()
    try:
        wait_gateway(env, gateway)
        base = f"http://127.0.0.1:{env.gateway_port}/v1/open-data"
        for fmt, ctype in (("csv", "text/csv"), ("geojson", "application/geo+json")):
            with urllib.request.urlopen(f"{base}/results.{fmt}?month=2026-02", timeout=30) as r:
                assert r.status == 200 and r.headers["Content-Type"].startswith(ctype)
                assert r.read() == b"".join(export_results(env, fmt, "2026-02"))
        with urllib.request.urlopen(f"{base}/oversight.csv?month=2026-02", timeout=30) as r:
            assert r.status == 200 and r.read().startswith(b"unit_code")
        with pytest.raises(urllib.error.HTTPError) as bad:
            urllib.request.urlopen(f"{base}/results.csv?month=2026-13", timeout=30)
        problem = json.loads(bad.value.read())
        assert bad.value.code == 400 and problem["code"] == "invalid_query"  # the route table's
    finally:
        gateway.stop()
