"""Reads of the warehouse for the gateway (tracking a case, readiness), off the event loop."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from pakn.settings import Settings
from sinks.connection import clickhouse


class WarehouseReader:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def _query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        client = clickhouse(self.settings)
        try:
            return client.execute(sql, params or {})
        finally:
            client.disconnect()

    async def _run(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return await asyncio.get_running_loop().run_in_executor(None, self._query, sql, params)

    async def ping(self) -> bool:
        try:
            return (await self._run("SELECT 1")) == [(1,)]
        except Exception:
            return False

    async def case(self, case_id: str) -> dict[str, Any] | None:
        db = self.settings.clickhouse_database
        rows = await self._run(
            f"SELECT case_id, status, process, category, title, submitted_at, receive_due_at, "
            f"updated_at, version FROM {db}.cases FINAL WHERE case_id = toUUID(%(id)s)",
            {"id": case_id},
        )
        if not rows:
            return None
        keys = (
            "case_id",
            "status",
            "process",
            "category",
            "title",
            "submitted_at",
            "receive_due_at",
            "updated_at",
            "version",
        )
        return {
            k: v.isoformat() if isinstance(v, datetime) else str(v) if k == "case_id" else v
            for k, v in zip(keys, rows[0], strict=True)
        }
