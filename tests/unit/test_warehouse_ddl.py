"""The migrations run on current ClickHouse (chdb, in-process) as they do on Debian's 18.16."""

from __future__ import annotations

import uuid

import pytest

from sinks.migrate import migration_files, statements

chdb = pytest.importorskip("chdb")


def test_every_migration_applies_on_current_clickhouse(tmp_path) -> None:
    from chdb import session

    s = session.Session(str(tmp_path / "chdb"))
    s.query("CREATE DATABASE IF NOT EXISTS w")
    for path in migration_files():
        for stmt in statements(path, "w"):
            s.query(stmt)
    case = uuid.uuid4()
    for version in (1, 2, 2):
        s.query(
            "INSERT INTO w.cases (case_id, version, status, process, category, unit_code, "
            "commune_code, title, sender_pseudonym, confidential, submitted_at, updated_at, "
            f"last_event_id) VALUES ('{case}', {version}, 's{version}', 'field_feedback', "
            "'waste', '', '', 't', 'p', 0, '2026-02-13 16:00:00', '2026-02-13 16:00:00', "
            f"'{uuid.uuid4()}')"
        )
    out = s.query("SELECT status, toYYYYMM(submitted_at) FROM w.cases FINAL", "CSV")
    assert str(out).strip() == '"s2",202602'
    s.close()


def _chdb_warehouse(tmp_path):  # type: ignore[no-untyped-def]
    from chdb import session

    s = session.Session(str(tmp_path / "chdb"))
    s.query("CREATE DATABASE IF NOT EXISTS w")
    for path in migration_files():
        for stmt in statements(path, "w"):
            s.query(stmt)
    return s


def _rows(s, sql: str) -> list[list[str]]:  # type: ignore[no-untyped-def]
    out = str(s.query(sql, "TSV")).strip()
    return [line.split("\t") for line in out.splitlines()] if out else []


def test_the_analyst_views_and_final_setting_deduplicate_on_current_clickhouse(tmp_path) -> None:
    s = _chdb_warehouse(tmp_path)
    case = uuid.uuid4()
    for version in (1, 2, 2):
        s.query(
            "INSERT INTO w.cases (case_id, version, status, process, category, unit_code, "
            "commune_code, title, sender_pseudonym, confidential, submitted_at, updated_at, "
            f"last_event_id) VALUES ('{case}', {version}, 's{version}', 'field_feedback', "
            "'waste', '00070', '', 't', 'p', 0, '2026-02-13 16:00:00', '2026-02-13 16:00:00', "
            f"'{uuid.uuid4()}')"
        )
    # copied by the materialized view; the v_ view shows the case once, without its pseudonym
    assert _rows(s, "SELECT status FROM w_analytics.v_cases") == [["s2"]]
    cols = {r[0] for r in _rows(s, "SELECT name FROM system.columns WHERE table = 'v_cases'")}
    assert "sender_pseudonym" not in cols and "status" in cols
    # the analyst profile's final = 1: a table read directly is deduplicated too
    assert _rows(s, "SELECT count() FROM w_analytics.cases") == [["3"]]
    assert _rows(s, "SELECT count() FROM w_analytics.cases SETTINGS final = 1") == [["1"]]
    s.close()


def test_the_access_control_ddl_fits_the_migrated_warehouse_on_current_clickhouse(
    tmp_path,
) -> None:
    """chdb runs without access storage, so the statements are parsed by the current engine
    (formatQuery) and checked against the migrated schema: every granted table and column
    exists, the pseudonym is never granted, every row policy's condition runs on its table."""
    import re

    from sinks.access import (
        PERSON_LINKED,
        access_statements,
        unit_statements,
        user_statements,
    )

    s = _chdb_warehouse(tmp_path)

    def columns_of(table: str) -> list[str]:
        sql = f"SELECT name FROM system.columns WHERE database = 'w' AND table = '{table}'"
        return [r[0] for r in _rows(s, sql)]

    stmts = access_statements("w", columns_of) + unit_statements("w", "01-STC")
    stmts += user_statements("bi_reader", "ab" * 32) + user_statements("u1", "cd" * 32, "00070")
    for stmt in stmts:
        quoted = stmt.replace("\\", "\\\\").replace("'", "\\'")
        assert _rows(s, f"SELECT formatQuery('{quoted}')"), stmt

    grants = [
        re.fullmatch(r"GRANT (SELECT(?:\((.*)\))?) ON (\w+)\.(\w+|\*) TO (\w+)", g)
        for g in stmts
        if g.startswith("GRANT SELECT")
    ]
    assert grants and all(grants)
    for m in grants:
        db, table = m.group(3), m.group(4)
        if table == "*":
            continue
        names = {r[0] for r in _rows(s, f"SELECT name FROM system.tables WHERE database = '{db}'")}
        assert table in names, (db, table)
        if m.group(2):
            granted = [c.strip() for c in m.group(2).split(",")]
            have = set(columns_of(table))
            assert set(granted) <= have
            assert not set(granted) & PERSON_LINKED.get(table, frozenset())
            assert set(granted) | PERSON_LINKED[table] == have  # every other column granted
    assert any("SELECT(" in g and "ON w.cases " in g and "sender_pseudonym" not in g for g in stmts)
    assert not any(" ON w.case_events " in g or " ON w.privacy_audit " in g for g in stmts)
    policies = [
        re.fullmatch(r"CREATE ROW POLICY IF NOT EXISTS \w+ ON (\S+) FOR SELECT USING (.+) TO .+", p)
        for p in stmts
        if "ROW POLICY" in p
    ]
    assert len(policies) == 8 and all(policies)
    for m in policies:
        _rows(s, f"SELECT count() FROM {m.group(1)} WHERE {m.group(2)}")
    profile = next(p for p in stmts if "SETTINGS PROFILE" in p)
    assert "readonly = 2" in profile and "final = 1" in profile
    s.close()
