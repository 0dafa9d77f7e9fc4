"""Reads of the warehouse for the gateway (tracking, publication, oversight, Open311), off the
event loop — here, not in sinks/: the sink writes the warehouse, the gateway only reads it.
Every read of a ReplacingMergeTree table uses FINAL; rows come back as dicts.

Nothing here decides who may see what: the gateway does (gateway/routes/public.py,
gateway/routes/open311.py).
The reads that serve the public never select ``sender_pseudonym``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from clickhouse_driver import Client

from pakn.settings import Settings
from processors.publication import PUBLISHED_STATUSES
from processors.tallies import TALLY_FIGURES

WAREHOUSE_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def clickhouse(settings: Settings) -> Client:
    """A read client of the warehouse (the gateway never writes there)."""
    return Client(
        host=settings.clickhouse_host,
        port=settings.clickhouse_port,
        user=settings.clickhouse_user,
        password=settings.clickhouse_password,
        database=settings.clickhouse_database,
        connect_timeout=3,
        send_receive_timeout=30,
    )


# Columns of `cases` the public may see (no sender_pseudonym, no confidential flag).
PUBLIC_CASE_COLUMNS = (
    "case_id",
    "status",
    "process",
    "category",
    "unit_code",
    "commune_code",
    "title",
    "submitted_at",
    "updated_at",
    "published_at",
    "level",
    "receive_due_at",
    "assign_due_at",
    "handle_due_at",
    "late_stages",
    "repeat_count",
    "lat",
    "lon",
    "confidential",
    "version",
)


def warehouse_time(t: datetime) -> str:
    """A parameter for a DateTime('Asia/Ho_Chi_Minh') column: local wall time, no zone."""
    if t.tzinfo is not None:
        t = t.astimezone(WAREHOUSE_TZ)
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _select(columns: Sequence[str]) -> str:
    return ", ".join(f"toString({c})" if c == "case_id" else c for c in columns)


class WarehouseReader:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def db(self) -> str:
        return self.settings.clickhouse_database

    def _query(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        client = clickhouse(self.settings)
        try:
            return client.execute(sql, params or {})
        finally:
            client.disconnect()

    async def _run(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return await asyncio.get_running_loop().run_in_executor(None, self._query, sql, params)

    async def _dicts(
        self, columns: Sequence[str], sql: str, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        rows = await self._run(sql, params)
        return [dict(zip(columns, row, strict=True)) for row in rows]

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

    # --- one case for its unit's officers, and where its sealed identity is ----------------
    AGENCY_CASE_COLUMNS = (
        "case_id",
        "status",
        "process",
        "category",
        "title",
        "unit_code",
        "commune_code",
        "level",
        "submitted_at",
        "receive_due_at",
        "assign_due_at",
        "handle_due_at",
        "updated_at",
        "confidential",
        "sender_pseudonym",
        "version",
    )

    async def agency_case(self, case_id: str) -> dict[str, Any] | None:
        """The case as its unit works on it; ``sender_pseudonym`` is for the gateway's checks
        only (never shown to a unit)."""
        rows = await self._dicts(
            self.AGENCY_CASE_COLUMNS,
            f"SELECT {_select(self.AGENCY_CASE_COLUMNS)} FROM {self.db}.cases FINAL "
            "WHERE case_id = toUUID(%(id)s)",
            {"id": case_id},
        )
        return rows[0] if rows else None

    async def submission_source(self, case_id: str) -> tuple[str, int, int] | None:
        """Topic, partition and offset of the case's ``case_submitted`` event on the event log:
        where its sealed identity is (the warehouse never holds it)."""
        rows = await self._run(
            f"SELECT source_topic, source_partition, source_offset FROM {self.db}.case_events "
            "FINAL WHERE case_id = toUUID(%(id)s) AND event_type = 'case_submitted' "
            "ORDER BY source_offset LIMIT 1",
            {"id": case_id},
        )
        return (rows[0][0], int(rows[0][1]), int(rows[0][2])) if rows else None

    async def pseudonym_of(self, case_id: str) -> str | None:
        rows = await self._run(
            f"SELECT sender_pseudonym FROM {self.db}.cases FINAL WHERE case_id = toUUID(%(id)s)",
            {"id": case_id},
        )
        return rows[0][0] if rows else None

    # --- one case, all of its events ------------------------------------------------------
    async def case_state(self, case_id: str, *, with_sender: bool = False) -> dict[str, Any] | None:
        """The current row of a case; ``sender_pseudonym`` only when asked (authorisation)."""
        cols = PUBLIC_CASE_COLUMNS + (("sender_pseudonym",) if with_sender else ())
        rows = await self._dicts(
            cols,
            f"SELECT {_select(cols)} FROM {self.db}.cases FINAL WHERE case_id = toUUID(%(id)s)",
            {"id": case_id},
        )
        return rows[0] if rows else None

    async def integrity_flags(self, case_id: str) -> list[dict[str, Any]]:
        """The integrity flags of a case, with their evidence (each once: FINAL), oldest first."""
        cols = ("kind", "code", "related_case_id", "media_sha256", "related_media_sha256")
        cols += ("distance", "detail", "raised_at")
        rows = await self._dicts(
            cols,
            f"SELECT {', '.join(cols)} FROM {self.db}.integrity_flags FINAL "
            "WHERE case_id = toUUID(%(id)s) ORDER BY raised_at, kind, code, related_case_id",
            {"id": case_id},
        )
        return [{k: (v or None) if k in cols[2:5] else v for k, v in r.items()} for r in rows]

    async def case_events(
        self, case_ids: Sequence[str], types: Sequence[str] | None = None
    ) -> list[dict[str, Any]]:
        """Events of these cases in order, payload parsed (each fact once: FINAL)."""
        if not case_ids:
            return []
        where = "case_id IN (SELECT toUUID(arrayJoin(%(ids)s)))"
        params: dict[str, Any] = {"ids": list(case_ids)}
        if types:
            where += " AND event_type IN %(types)s"
            params["types"] = tuple(types)
        cols = ("case_id", "event_id", "event_type", "occurred_at", "payload")
        rows = await self._dicts(
            cols,
            f"SELECT toString(case_id), toString(event_id), event_type, occurred_at, payload "
            f"FROM {self.db}.case_events FINAL WHERE {where} "
            "ORDER BY case_id, occurred_at, source_partition, source_offset",
            params,
        )
        for r in rows:
            r["payload"] = json.loads(r["payload"]) if r["payload"] else {}
        return rows

    # --- published results ----------------------------------------------------------------
    async def results(
        self,
        *,
        statuses: Sequence[str] = PUBLISHED_STATUSES,
        unit: str | None = None,
        category: str | None = None,
        process: str | None = None,
        area: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> tuple[int, datetime | None, list[dict[str, Any]]]:
        """Published results, newest first: (total matching, their latest change, one page)."""
        conds = ["status IN %(statuses)s", "isNotNull(published_at)"]
        params: dict[str, Any] = {"statuses": tuple(statuses), "offset": offset, "limit": limit}
        for name, value in (
            ("unit_code", unit),
            ("category", category),
            ("process", process),
            ("commune_code", area),
        ):
            if value is not None:
                conds.append(f"{name} = %({name})s")
                params[name] = value
        if since is not None:
            conds.append("published_at >= toDateTime(%(since)s, 'Asia/Ho_Chi_Minh')")
            params["since"] = warehouse_time(since)
        if until is not None:
            conds.append("published_at < toDateTime(%(until)s, 'Asia/Ho_Chi_Minh')")
            params["until"] = warehouse_time(until)
        where = " AND ".join(conds)
        [(total, latest)] = await self._run(
            f"SELECT count(), max(updated_at) FROM {self.db}.cases FINAL WHERE {where}", params
        )
        cols = PUBLIC_CASE_COLUMNS
        page = await self._dicts(
            cols,
            f"SELECT {_select(cols)} FROM {self.db}.cases FINAL WHERE {where} "
            "ORDER BY published_at DESC, case_id LIMIT %(offset)s, %(limit)s",
            params,
        )
        return int(total), (latest if total else None), page

    # --- Open311 listing ------------------------------------------------------------------
    async def requests(
        self,
        *,
        case_ids: Sequence[str] | None = None,
        categories: Sequence[str] | None = None,
        statuses: Sequence[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        bbox: tuple[float, float, float, float] | None = None,
        near: tuple[float, float, float] | None = None,
        offset: int = 0,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Cases by submission time, newest first (the public columns only). ``bbox`` is
        (min_lon, min_lat, max_lon, max_lat), ``near`` (lat, lon, radius in metres); a place
        filter never matches a confidential case (its place is not public)."""
        conds: list[str] = []
        params: dict[str, Any] = {"offset": offset, "limit": limit}
        if bbox is not None or near is not None:
            conds.append("confidential = 0 AND lat IS NOT NULL AND lon IS NOT NULL")
        if bbox is not None:
            conds.append("lon BETWEEN %(w)s AND %(e)s AND lat BETWEEN %(s)s AND %(n)s")
            # 7 decimals (1 cm): a subnormal float like 5e-324 is not a ClickHouse literal
            params |= dict(zip(("w", "s", "e", "n"), (round(v, 7) for v in bbox), strict=True))
        if near is not None:
            conds.append("greatCircleDistance(lon, lat, %(plon)s, %(plat)s) <= %(radius)s")
            lat, lon, radius = (round(v, 7) for v in near)
            params |= {"plat": lat, "plon": lon, "radius": radius}
        if case_ids is not None:
            conds.append("case_id IN (SELECT toUUID(arrayJoin(%(ids)s)))")
            params["ids"] = list(case_ids)
        if categories:
            conds.append("category IN %(categories)s")
            params["categories"] = tuple(categories)
        if statuses:
            conds.append("status IN %(statuses)s")
            params["statuses"] = tuple(statuses)
        if since is not None:
            conds.append("submitted_at >= toDateTime(%(since)s, 'Asia/Ho_Chi_Minh')")
            params["since"] = warehouse_time(since)
        if until is not None:
            conds.append("submitted_at <= toDateTime(%(until)s, 'Asia/Ho_Chi_Minh')")
            params["until"] = warehouse_time(until)
        where = f"WHERE {' AND '.join(conds)}" if conds else ""
        cols = PUBLIC_CASE_COLUMNS
        return await self._dicts(
            cols,
            f"SELECT {_select(cols)} FROM {self.db}.cases FINAL {where} "
            "ORDER BY submitted_at DESC, case_id LIMIT %(offset)s, %(limit)s",
            params,
        )

    # --- oversight ------------------------------------------------------------------------
    async def unit_months(self, month: str, unit: str | None = None) -> list[dict[str, Any]]:
        """The monthly figures of one unit (or of every unit) for a month 'YYYY-MM'."""
        cols = ("unit_code", "month", "version", *TALLY_FIGURES, "final", "updated_at")
        cond = "month = %(month)s" + (" AND unit_code = %(unit)s" if unit is not None else "")
        return await self._dicts(
            cols,
            f"SELECT {', '.join(cols)} FROM {self.db}.unit_month_tallies FINAL "
            f"WHERE {cond} ORDER BY unit_code",
            {"month": month, "unit": unit},
        )

    async def flags(self, month: str, unit: str | None = None) -> list[dict[str, Any]]:
        """The oversight flags raised for a month 'YYYY-MM' (of one unit, or of all)."""
        cols = ("unit_code", "month", "flag", "value", "threshold", "raised_at")
        cond = "month = %(month)s" + (" AND unit_code = %(unit)s" if unit is not None else "")
        return await self._dicts(
            cols,
            f"SELECT {', '.join(cols)} FROM {self.db}.oversight_flags FINAL "
            f"WHERE {cond} ORDER BY unit_code, flag",
            {"month": month, "unit": unit},
        )
