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
from datetime import datetime
from pathlib import Path
from string import Template
from typing import Any

import pytest
from clickhouse_driver.errors import ServerException

from pakn.services.clickhouse import ClickHouse
from pakn.settings import PROJECT_ROOT, Settings
from sinks.connection import clickhouse

pytestmark = pytest.mark.integration

DOC = PROJECT_ROOT / "docs" / "analyst-queries.md"
TEMPLATE = PROJECT_ROOT / "pakn" / "services" / "templates" / "clickhouse-users.xml"
QUERY_RE = re.compile(r"```sql\n-- query: ([a-z0-9-]+)\n(.*?)```", re.S)
ACCESS_DENIED, UNKNOWN_IDENTIFIER, READONLY = 291, 47, 164
PSEUDONYM = "5e" * 32


def doc_queries() -> dict[str, str]:
    return dict(QUERY_RE.findall(DOC.read_text()))


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
EVENT_COLUMNS = (
    "event_id, case_id, event_type, occurred_at, producer, schema_version, payload, "
    "source_topic, source_partition, source_offset, ingested_at"
)
TALLY_COLUMNS = "unit_code, month, version, received, late_items, late_share, updated_at"

# name: unit, category, submitted, late stages, repeats, (lat, lon)
CASES = {
    "A1": ("00070", "road_damage", datetime(2026, 2, 3, 9), [], 0, (21.0241, 105.8531)),
    "A2": ("00070", "road_damage", datetime(2026, 2, 5, 9), ["receive"], 2, (21.0243, 105.8534)),
    "A3": ("00070", "waste", datetime(2026, 2, 10, 9), ["handle"], 1, (21.0242, 105.8533)),
    "A4": ("00070", "waste", datetime(2026, 3, 2, 9), [], 0, (21.0301, 105.8401)),
    "B1": ("00004", "road_damage", datetime(2026, 2, 11, 9), ["assign"], 0, (21.0341, 105.8142)),
    "B2": ("00004", "road_damage", datetime(2026, 2, 12, 9), [], 1, (21.0342, 105.8143)),
    "B3": ("00004", "waste", datetime(2026, 3, 3, 9), ["receive", "handle"], 0, (21.04, 105.82)),
}
# completed stages: case, stage, on time, used working minutes
STAGES = [
    ("A1", "receive", True, 100),
    ("A1", "handle", True, 480),
    ("A2", "receive", False, 700),
    ("A2", "handle", False, 1200),
    ("A3", "handle", False, 3000),
    ("A4", "receive", True, 60),
    ("A4", "handle", True, 240),
    ("B1", "handle", True, 600),
    ("B3", "handle", False, 900),
]


def load_fixture(env: Settings) -> dict[str, str]:
    db = env.clickhouse_database
    ids = {name: str(uuid.uuid4()) for name in CASES}
    rows = []
    for name, (unit, category, at, late, repeats, (lat, lon)) in CASES.items():
        row = [ids[name], 3, "closed", "field_feedback", category, unit, unit, lat, lon]
        row += [f"Ổ gà {name}", PSEUDONYM, 0, at, at, str(uuid.uuid4()), "normal"]
        rows.append((*row, late, repeats, "satisfied"))
    # an older version of A1 that FINAL must hide (it was late then)
    a1 = CASES["A1"]
    rows.append((ids["A1"], 1, "received", "field_feedback", "road_damage", "00070", "00070"))
    rows[-1] += (*a1[5], "Ổ gà A1", PSEUDONYM, 0, a1[2], a1[2], str(uuid.uuid4()), "normal")
    rows[-1] += (["receive", "handle"], 0, "")
    run(env, f"INSERT INTO {db}.cases ({CASE_COLUMNS}) VALUES", rows)

    events = []
    for n, (name, stage, on_time, used) in enumerate(STAGES):
        unit, _, at = CASES[name][:3]
        payload = (
            f'{{"stage":"{stage}","level":"normal","due_at":"2026-02-20T10:00:00+00:00",'
            f'"on_time":{"true" if on_time else "false"},"late_working_minutes":0,'
            f'"used_working_minutes":{used},"unit_code":"{unit}"}}'
        )
        events.append((str(uuid.uuid4()), ids[name], "stage_completed", at, payload, n))
    events.append(events[3])  # A2's handle stage delivered twice: FINAL counts it once
    submitted = (
        '{"process":"field_feedback","category":"road_damage","title":"Ổ gà A1",'
        f'"sender":{{"kind":"person","confidential":false,"pseudonym":"{PSEUDONYM}"}},'
        '"channel":"app"}'
    )
    events.append((str(uuid.uuid4()), ids["A1"], "case_submitted", a1[2], submitted, 99))
    run(
        env,
        f"INSERT INTO {db}.case_events ({EVENT_COLUMNS}) VALUES",
        [
            (eid, cid, kind, at, "test", 1, payload, "pakn.case.events", 0, offset, at)
            for eid, cid, kind, at, payload, offset in events
        ],
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
    return ids


EXPECTED: dict[str, list[tuple[Any, ...]]] = {
    "late-share-by-unit-and-month": [
        ("00004", "2026-02", 2, 0, 0.0),
        ("00004", "2026-03", 1, 1, 1.0),
        ("00070", "2026-02", 3, 2, 0.667),
        ("00070", "2026-03", 1, 0, 0.0),
    ],
    "median-handling-time-by-category": [("road_damage", 3, 10.0), ("waste", 3, 15.0)],
    "top-repeat-locations": [
        ("00070", 21.024, 105.853, 2, 3),
        ("00004", 21.034, 105.814, 1, 1),
    ],
    "on-time-share-by-unit-and-stage": [
        ("00004", "handle", 2, 0.5),
        ("00070", "handle", 4, 0.5),
        ("00070", "receive", 3, 0.667),
    ],
    "units-over-the-late-threshold": [
        ("00070", "2026-02", 5, 2, 0.4),
        ("00070", "2026-03", 20, 7, 0.35),
    ],
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
    assert run(analyst, "SELECT count() FROM cases FINAL") == [(len(CASES),)]
    payloads = [p for (p,) in run(analyst, "SELECT payload FROM case_events FINAL")]
    assert len(payloads) == len(STAGES) + 1
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
