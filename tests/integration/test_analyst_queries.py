"""The analyst queries of docs/analyst-queries.md, run as they are written, by a read-only analyst
user limited to the analysts' database, on the real ClickHouse — and what that user cannot do.

The user is the shipped ``analyst`` of pakn/services/templates/clickhouse-users.xml, renamed and
pointed at this test's database, added to the running server through its ``users.d`` folder
(ClickHouse 18.16 has users only in files; it reloads them within seconds).
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from string import Template
from typing import Any

import pytest
from clickhouse_driver.errors import ServerException

from pakn.services.clickhouse import ClickHouse
from pakn.settings import PROJECT_ROOT, Settings
from processors.calendar import TZ, WorkingCalendar
from processors.units import shipped_directory
from sinks.connection import clickhouse
from sinks.dimensions import load_dimensions
from sinks.rows import CASE_EVENT_COLUMNS, FACT_COLUMNS, case_event_fact_row, case_event_row

pytestmark = pytest.mark.integration

DOC = PROJECT_ROOT / "docs" / "analyst-queries.md"
BI_DOC = PROJECT_ROOT / "docs" / "bi.md"
CHART_RE = re.compile(r"```sql\n-- chart: ([a-z0-9-]+)\n(.*?)```", re.S)
TEMPLATE = PROJECT_ROOT / "pakn" / "services" / "templates" / "clickhouse-users.xml"
QUERY_RE = re.compile(r"```sql\n-- query: ([a-z0-9-]+)\n(.*?)```", re.S)
ACCESS_DENIED, UNKNOWN_IDENTIFIER, READONLY = 291, 47, 164
PSEUDONYM = "5e" * 32


def doc_queries() -> dict[str, str]:
    return dict(QUERY_RE.findall(DOC.read_text()))


def doc_charts() -> dict[str, str]:
    return dict(CHART_RE.findall(BI_DOC.read_text()))


def shipped_analyst() -> ET.Element:
    root = ET.fromstring(Template(TEMPLATE.read_text()).substitute(extra_users=""))
    user = root.find("users/analyst")
    assert user is not None
    return user


def test_the_shipped_analyst_is_read_only_and_sees_only_the_analysts_database() -> None:
    user = shipped_analyst()
    root = ET.fromstring(Template(TEMPLATE.read_text()).substitute(extra_users=""))
    profile = root.find(f"profiles/{user.findtext('profile')}")
    assert profile is not None and profile.findtext("readonly") == "1"
    assert [d.text for d in user.findall("allow_databases/database")] == ["pakn_analytics"]


def run(settings: Settings, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    client = clickhouse(settings)
    try:
        return client.execute(sql, params) if params is not None else client.execute(sql)
    finally:
        client.disconnect()


@pytest.fixture
def analyst(env: Settings, engines: Settings) -> Iterator[Settings]:
    """Settings of a read-only analyst limited to this test's ``<db>_analytics``."""
    users = ClickHouse(engines).users
    if not users.is_file():
        pytest.skip("no native ClickHouse users.xml here (containers): users need SQL grants")
    db = env.clickhouse_database
    name = f"analyst_{db}"
    user = shipped_analyst()
    user.tag = name
    databases = user.find("allow_databases")
    assert databases is not None
    for d in databases:
        d.text = f"{db}_analytics"
    path: Path = users.parent / "users.d" / f"{name}.xml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(f"<yandex><users>{ET.tostring(user, encoding='unicode')}</users></yandex>")
    settings = env.model_copy(
        update={"clickhouse_user": name, "clickhouse_database": f"{db}_analytics"}
    )

    def known() -> bool:
        try:
            return run(settings, "SELECT 1") == [(1,)]
        except Exception:
            return False

    try:
        from tests.harness import wait_for

        wait_for(known, 30, "ClickHouse to load the analyst user", every=0.3)
        yield settings
    finally:
        path.unlink(missing_ok=True)
        run(env, f"DROP DATABASE IF EXISTS {db}_analytics")


# --- fixture rows, written to the warehouse the way the sink writes them ---------------------
CASE_COLUMNS = (
    "case_id, version, status, process, category, unit_code, commune_code, lat, lon, title, "
    "sender_pseudonym, confidential, submitted_at, updated_at, last_event_id, level, "
    "late_stages, repeat_count, rating"
)
TALLY_COLUMNS = "unit_code, month, version, received, late_items, late_share, updated_at"

# name: unit, category, submitted, late stages, repeats, (lat, lon)
CASES = {
    "A1": ("00070", "road_damage", datetime(2026, 2, 3, 9), [], 0, (21.0241, 105.8531)),
    "A2": ("00070", "road_damage", datetime(2026, 2, 5, 9), ["receive"], 2, (21.0243, 105.8534)),
    "A3": ("00070", "waste", datetime(2026, 2, 10, 9), ["handle"], 1, (21.0242, 105.8533)),
    "A4": ("00070", "waste", datetime(2026, 3, 2, 9), [], 0, (21.0301, 105.8401)),
    "B1": ("00004", "road_damage", datetime(2026, 2, 11, 9), ["assign"], 0, (21.0341, 105.8142)),
    "B2": ("00004", "road_damage", datetime(2026, 2, 12, 9), [], 5, (21.0342, 105.8143)),
    "B3": ("00004", "waste", datetime(2026, 3, 3, 9), ["receive", "handle"], 0, (21.04, 105.82)),
}
# completed stages: case, stage, level, on time, late working minutes, used working minutes
STAGES = [
    ("A1", "receive", None, True, 0, 100),
    ("A1", "handle", "normal", True, 0, 480),
    ("A2", "receive", None, False, 220, 700),
    ("A2", "handle", "normal", False, 90, 1200),
    ("A3", "handle", "urgent", False, 36, 3000),
    ("A4", "receive", None, True, 0, 60),
    ("A4", "handle", "urgent", True, 0, 240),
    ("B1", "handle", "complex", True, 0, 600),
    ("B3", "handle", "normal", False, 150, 900),
]
# ratings and reopenings: case, the repeats it reached (each: rate not satisfied, then reopen)
REPEATS = {"A2": 2, "A3": 1, "B2": 5}


def _ms(t: datetime) -> int:
    return int(t.replace(tzinfo=TZ).timestamp() * 1000)


def _event(case_id: str, event_type: str, at: datetime, **fields: Any) -> dict[str, Any]:
    envelope = {
        "event_id": str(uuid.uuid4()),
        "case_id": case_id,
        "event_type": event_type,
        "occurred_at": _ms(at),
        "producer": "test",
        "schema_version": 1,
    }
    return {"envelope": envelope, **fields}


def fixture_events(ids: dict[str, str]) -> list[dict[str, Any]]:
    """Decoded case events as the sink receives them (sender with a pseudonym, stages, rates)."""
    events = []
    for name, stage, level, on_time, late, used in STAGES:
        unit, _, at = CASES[name][:3]
        events.append(
            _event(
                ids[name],
                "stage_completed",
                at + timedelta(days=1),
                stage=stage,
                level=level,
                due_at=_ms(datetime(2026, 2, 20, 17)),
                on_time=on_time,
                late_working_minutes=late,
                used_working_minutes=used,
                unit_code=unit,
            )
        )
    for name, repeats in REPEATS.items():
        unit, _, at = CASES[name][:3]
        for n in range(1, repeats + 1):
            common = {"command_id": str(uuid.uuid4()), "unit_code": unit, "actor_role": "sender"}
            common |= {"reason": None, "target_unit": None, "level": "normal", "assignee": None}
            common |= {"result_text": None, "evidence": []}
            when = at + timedelta(days=2, hours=n)
            events.append(
                _event(
                    ids[name],
                    "case_transition",
                    when,
                    command="rate",
                    from_status="published",
                    to_status="rated_unsatisfied",
                    rating="not_satisfied",
                    repeat=n - 1,
                    **common,
                )
            )
            events.append(
                _event(
                    ids[name],
                    "case_transition",
                    when + timedelta(minutes=5),
                    command="reopen",
                    from_status="rated_unsatisfied",
                    to_status="received",
                    rating=None,
                    repeat=n,
                    **common,
                )
            )
    a1 = CASES["A1"]
    events.append(
        _event(
            ids["A1"],
            "case_submitted",
            a1[2],
            process="field_feedback",
            category="road_damage",
            title="Ổ gà A1",
            description="Ổ gà",
            location={"lat": 21.0241, "lon": 105.8531, "address": None, "commune_code": "00070"},
            observed_at=None,
            media=[],
            sender={"kind": "person", "confidential": False, "pseudonym": PSEUDONYM, "pii": b"x"},
            channel="app",
            unit_code="00070",
        )
    )
    return events


def load_fixture(env: Settings) -> dict[str, str]:
    db = env.clickhouse_database
    ids = {name: str(uuid.uuid4()) for name in CASES}
    rows = []
    for name, (unit, category, at, late, repeats, (lat, lon)) in CASES.items():
        row = [ids[name], 3, "closed", "field_feedback", category, unit, unit, lat, lon]
        row += [f"Ổ gà {name}", PSEUDONYM, 0, at, at, str(uuid.uuid4()), "normal"]
        rows.append((*row, late, repeats, "satisfied"))
    # an older version of A1 that the views must hide (it was late then)
    a1 = CASES["A1"]
    rows.append((ids["A1"], 1, "received", "field_feedback", "road_damage", "00070", "00070"))
    rows[-1] += (*a1[5], "Ổ gà A1", PSEUDONYM, 0, a1[2], a1[2], str(uuid.uuid4()), "normal")
    rows[-1] += (["receive", "handle"], 0, "")
    run(env, f"INSERT INTO {db}.cases ({CASE_COLUMNS}) VALUES", rows)

    events = fixture_events(ids)
    events.append(events[3])  # A2's handle stage delivered twice: the views count it once
    run(
        env,
        f"INSERT INTO {db}.case_events ({', '.join(CASE_EVENT_COLUMNS)}) VALUES",
        [case_event_row(e, "pakn.case.events", 0, n) for n, e in enumerate(events)],
    )
    run(
        env,
        f"INSERT INTO {db}.case_event_facts ({', '.join(FACT_COLUMNS)}) VALUES",
        [case_event_fact_row(e) for e in events],
    )
    at = datetime(2026, 3, 1)
    run(
        env,
        f"INSERT INTO {db}.unit_month_tallies ({TALLY_COLUMNS}) VALUES",
        [
            ("00070", "2026-02", 1, 5, 1, 0.2, at),
            ("00070", "2026-02", 2, 5, 2, 0.4, at),
            ("00004", "2026-02", 1, 10, 1, 0.1, at),
            ("00070", "2026-03", 1, 20, 7, 0.35, at),
        ],
    )
    load_dimensions(env, shipped_directory(), WorkingCalendar(), years=(2026, 2026))
    return ids


EXPECTED: dict[str, list[tuple[Any, ...]]] = {
    "late-share-by-unit-and-month": [
        ("00004", "Phường Ba Đình", "2026-02", 2, 0, 0.0),
        ("00004", "Phường Ba Đình", "2026-03", 1, 1, 1.0),
        ("00070", "Phường Hoàn Kiếm", "2026-02", 3, 2, 0.667),
        ("00070", "Phường Hoàn Kiếm", "2026-03", 1, 0, 0.0),
    ],
    "deadline-compliance-by-stage-and-level": [
        ("handle", "complex", 1, 1.0, 0.0),
        ("handle", "normal", 3, 0.333, 1.3),
        ("handle", "urgent", 2, 0.5, 0.3),
        ("receive", "", 3, 0.667, 1.2),
    ],
    "on-time-share-by-unit-and-stage": [
        ("00004", "handle", 2, 0.5),
        ("00070", "handle", 4, 0.5),
        ("00070", "receive", 3, 0.667),
    ],
    "median-handling-time-by-category": [
        ("road_damage", "Damaged road or pavement", 3, 10.0),
        ("waste", "Waste and sanitation", 3, 15.0),
    ],
    "dissatisfied-repeats": [
        ("00004", "2026-02", 5, 5, 1),
        ("00070", "2026-02", 3, 3, 0),
    ],
    "top-repeat-locations": [
        ("00004", 21.034, 105.814, 1, 5),
        ("00070", 21.024, 105.853, 2, 3),
    ],
    "units-over-the-late-threshold": [
        ("00070", "2026-02", 5, 2, 0.4),
        ("00070", "2026-03", 20, 7, 0.35),
    ],
    # Jan 2026: 22 weekdays, 1-2 Jan off, Sat 10 Jan worked; Feb: 20 weekdays, Tết 16-20 Feb
    "working-days-by-month": [("2026-01", 21, 2, 1), ("2026-02", 15, 5, 0)],
}


def test_every_analyst_query_of_the_doc_answers_right(analyst: Settings, env: Settings) -> None:
    queries = doc_queries()
    assert set(queries) == set(EXPECTED), "each query in the doc has its expected answer here"
    load_fixture(env)
    for name, sql in queries.items():
        got = run(analyst, sql)
        want = EXPECTED[name]
        assert len(got) == len(want), (name, got)
        for g, w in zip(got, want, strict=True):
            assert tuple(g) == pytest.approx(w) if name == "top-repeat-locations" else g == w, (
                name,
                got,
            )


CHARTS: dict[str, list[tuple[Any, ...]]] = {
    "late-share-by-unit-and-month": [
        (date(2026, 2, 1), "00004", 2, 0.0),
        (date(2026, 2, 1), "00070", 3, 0.667),
        (date(2026, 3, 1), "00004", 1, 1.0),
        (date(2026, 3, 1), "00070", 1, 0.0),
    ],
    "deadline-compliance-by-stage": [
        (date(2026, 2, 1), "handle", 4, 0.5),
        (date(2026, 2, 1), "receive", 2, 0.5),
        (date(2026, 3, 1), "handle", 2, 0.5),
        (date(2026, 3, 1), "receive", 1, 1.0),
    ],
    "dissatisfied-repeats": [
        (date(2026, 2, 1), "00004", 5, 1),
        (date(2026, 2, 1), "00070", 3, 0),
    ],
}


def test_the_bi_charts_of_the_doc_answer_right(analyst: Settings, env: Settings) -> None:
    charts = doc_charts()
    assert set(charts) == set(CHARTS), "each chart in docs/bi.md has its expected answer here"
    load_fixture(env)
    for name, sql in charts.items():
        assert run(analyst, sql) == CHARTS[name], name


def test_the_analyst_cannot_read_pseudonyms_nor_write(analyst: Settings, env: Settings) -> None:
    ids = load_fixture(env)
    db = env.clickhouse_database

    def refused(sql: str, code: int) -> None:
        with pytest.raises(ServerException) as caught:
            run(analyst, sql)
        assert caught.value.code == code, caught.value

    # the warehouse itself is out of reach, whatever the route to it
    refused(f"SELECT sender_pseudonym FROM {db}.cases", ACCESS_DENIED)
    refused(f"SELECT count() FROM {db}.case_events", ACCESS_DENIED)
    refused(f"SELECT count() FROM {db}.privacy_audit", ACCESS_DENIED)  # who re-identified whom
    refused(
        f"SELECT count() FROM cases WHERE case_id IN (SELECT case_id FROM {db}.cases)",
        ACCESS_DENIED,
    )
    refused(f"SELECT * FROM remote('127.0.0.1', {db}, cases, 'default', '')", READONLY)
    refused(f"SELECT * FROM merge('{db}', 'cases')", READONLY)
    assert run(analyst, f"SELECT name FROM system.columns WHERE database = '{db}'") == []
    # why the analysts' database holds copies: 18.16 checks a view's underlying tables against
    # the reader's databases, so a view without the pseudonym column would not be readable
    run(env, f"CREATE VIEW {db}_analytics.cases_view AS SELECT case_id, status FROM {db}.cases")
    refused("SELECT count() FROM cases_view", ACCESS_DENIED)
    # the copies have no pseudonym column, and the payloads none left
    refused("SELECT sender_pseudonym FROM cases", UNKNOWN_IDENTIFIER)
    # the v_ views of the analysts' database are readable (their tables are in it), without
    # pseudonyms, and present each case and event once
    refused("SELECT sender_pseudonym FROM v_cases", UNKNOWN_IDENTIFIER)
    assert run(analyst, "SELECT count() FROM v_cases") == [(len(CASES),)]
    events = len(STAGES) + 2 * sum(REPEATS.values()) + 1
    assert run(analyst, "SELECT count() FROM v_case_events") == [(events,)]
    assert run(analyst, "SELECT count() FROM v_event_facts") == [(events,)]
    facts = [
        c
        for (c,) in run(
            analyst,
            "SELECT name FROM system.columns "
            "WHERE table = 'v_event_facts' AND database = currentDatabase()",
        )
    ]
    assert facts and not any("pseudonym" in c for c in facts)
    assert run(analyst, "SELECT count() FROM cases FINAL") == [(len(CASES),)]
    payloads = [p for (p,) in run(analyst, "SELECT payload FROM case_events FINAL")]
    assert len(payloads) == len(STAGES) + 2 * sum(REPEATS.values()) + 1
    assert all(PSEUDONYM not in p for p in payloads)
    assert any('"pseudonym":null' in p for p in payloads)
    # and it writes nothing, changes no setting
    refused(
        f"INSERT INTO cases (case_id, version) VALUES ('{ids['A1']}', 9)",
        READONLY,
    )
    refused("CREATE TABLE mine (x UInt8) ENGINE = Memory", READONLY)
    refused("DROP TABLE cases", READONLY)
    refused("SET readonly = 0", READONLY)
    # the copies follow the warehouse as the sink writes it (a newer version of a case)
    a1 = CASES["A1"]
    run(
        env,
        f"INSERT INTO {db}.cases ({CASE_COLUMNS}) VALUES",
        [
            (
                *(ids["A1"], 4, "rated_unsatisfied", "field_feedback", "road_damage", "00070"),
                *("00070", *a1[5], "Ổ gà A1", PSEUDONYM, 0, a1[2], a1[2], str(uuid.uuid4())),
                *("normal", [], 0, "not_satisfied"),
            )
        ],
    )
    got = run(analyst, f"SELECT status FROM cases FINAL WHERE case_id = toUUID('{ids['A1']}')")
    assert got == [("rated_unsatisfied",)]
