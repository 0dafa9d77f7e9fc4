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
