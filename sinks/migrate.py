"""Versioned ClickHouse migrations: ``migrations/NNNN_name.sql``, applied once each, in order.

Every statement must run on Debian's ClickHouse 18.16 and on current ClickHouse (the tests check
the DDL with chdb). ``{db}`` stands for the warehouse database.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pakn.settings import Settings
from sinks.connection import clickhouse

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def migration_files() -> list[Path]:
    return sorted(MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.sql"))


def statements(path: Path, db: str) -> list[str]:
    lines = [ln for ln in path.read_text().splitlines() if not ln.lstrip().startswith("--")]
    return [s.strip().format(db=db) for s in "\n".join(lines).split(";") if s.strip()]


def migrate(settings: Settings) -> list[str]:
    """Apply the migrations not applied yet; return their names."""
    db = settings.clickhouse_database
    client = clickhouse(settings, database=False)
    try:
        client.execute(f"CREATE DATABASE IF NOT EXISTS {db}")
        client.execute(
            f"CREATE TABLE IF NOT EXISTS {db}.schema_migrations "
            "(version String, applied_at DateTime) ENGINE = MergeTree ORDER BY version"
        )
        done = {r[0] for r in client.execute(f"SELECT version FROM {db}.schema_migrations")}
        applied = []
        for path in migration_files():
            if path.stem in done:
                continue
            for stmt in statements(path, db):
                client.execute(stmt)
            client.execute(
                f"INSERT INTO {db}.schema_migrations (version, applied_at) VALUES",
                [(path.stem, datetime.now())],
            )
            applied.append(path.stem)
        return applied
    finally:
        client.disconnect()
