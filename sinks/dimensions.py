"""Dimensions of the warehouse: units, categories, the working-day calendar (migration 0011).

Loaded from the pipeline's own data — the unit directory files (processors/units.py), the
catalogue (processors/catalogue.py) and the working calendar with its override table
(processors/calendar.py) — so a chart's unit names and working days are the ones the workers
count with. Every load writes all rows again with a higher ``version`` (ReplacingMergeTree);
a unit or category no longer in the data gets a ``removed = 1`` row, as the units.directory
topic gets a tombstone. The row builders are pure; ``load_dimensions`` does the I/O.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pakn.settings import Settings
from processors.calendar import WorkingCalendar
from processors.catalogue import CATEGORIES, Category
from processors.units import SHIPPED, UnitDirectory, shipped_directory
from sinks.connection import clickhouse

UNIT_COLUMNS = (
    "directory",
    "code",
    "kind",
    "subtype",
    "name_vi",
    "name_en",
    "parent",
    "area_code",
    "domains",
    "valid_from",
    "valid_until",
    "in_use",
    "removed",
    "version",
    "loaded_at",
)
CATEGORY_COLUMNS = ("code", "process", "name_vi", "name_en", "removed", "version", "loaded_at")
CALENDAR_COLUMNS = (
    "day",
    "working",
    "working_minutes",
    "day_kind",
    "reason",
    "source",
    "confirmed",
    "version",
    "loaded_at",
)


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def unit_rows(
    directory: UnitDirectory, *, in_use: bool, version: int, at: datetime
) -> list[tuple[Any, ...]]:
    """One row per unit; validity is the directory's (a unit lives as long as its shape)."""
    valid_from, valid_until = _day(directory.valid_from), _day(directory.valid_until)
    return [
        (
            directory.name,
            u.code,
            u.kind,
            u.subtype,
            u.name_vi,
            u.name_en,
            u.parent,
            directory.area_of(u.code).code,
            list(u.domains),
            valid_from,
            valid_until,
            int(in_use),
            0,
            version,
            at,
        )
        for u in directory
    ]


def removed_unit_rows(
    directory: str, codes: Iterable[str], *, version: int, at: datetime
) -> list[tuple[Any, ...]]:
    """Tombstone rows for units that left ``directory``."""
    return [
        (directory, c, "", "", "", "", None, "", [], None, None, 0, 1, version, at)
        for c in sorted(codes)
    ]


def category_rows(
    categories: Iterable[Category], *, version: int, at: datetime
) -> list[tuple[Any, ...]]:
    return [(c.code, c.process, c.vi, c.en, 0, version, at) for c in categories]


def calendar_rows(
    calendar: WorkingCalendar, first: date, last: date, *, version: int, at: datetime
) -> list[tuple[Any, ...]]:
    """Every date from ``first`` to ``last``: working or not, and why.

    ``day_kind``: ``workday`` (a regular working day), ``weekend`` (a regular rest day),
    ``holiday`` (a day off by the package or the override table), ``makeup`` (a rest day made a
    working day). ``reason`` names the holiday or make-up day; ``source`` cites its act.
    """
    rows = []
    d = first
    while d <= last:
        info = calendar.day_info(d)
        weekly = bool(calendar.office_hours.weekly[d.weekday()])
        if info.working:
            kind = "workday" if weekly else "makeup"
        else:
            kind = "holiday" if weekly or info.name else "weekend"
        minutes = sum(e - s for s, e in info.periods)
        confirmed = int(info.confirmed)
        row = (d, int(info.working), minutes, kind, info.name, info.source, confirmed)
        rows.append((*row, version, at))
        d += timedelta(days=1)
    return rows


@dataclass(frozen=True)
class Loaded:
    units: int
    removed_units: int
    categories: int
    days: int
    directories: tuple[str, ...]

    def summary(self) -> str:
        return (
            f"dimensions loaded: {self.units} units ({', '.join(self.directories)}; "
            f"{self.removed_units} removed), {self.categories} categories, {self.days} days"
        )


def _insert(client: Any, db: str, table: str, columns: Sequence[str], rows: list[Any]) -> None:
    if rows:
        client.execute(f"INSERT INTO {db}.{table} ({', '.join(columns)}) VALUES", rows)


def load_dimensions(
    settings: Settings,
    directory: UnitDirectory,
    calendar: WorkingCalendar,
    *,
    years: tuple[int, int] | None = None,
    history: Sequence[UnitDirectory] | None = None,
) -> Loaded:
    """Write the dimensions of ``settings.clickhouse_database`` (its analysts' copy follows
    through the materialized views of migration 0011).

    ``directory`` is the one in use (``in_use = 1``); ``history`` the other shapes kept for
    older cases (default: every shipped directory of another name). ``years``: the calendar's
    first and last year (default: 2025 to next year).
    """
    now = datetime.now(UTC)
    version = time.time_ns()
    if history is None:
        history = [d for d in map(shipped_directory, SHIPPED) if d.name != directory.name]
    first, last = years or (2025, now.year + 1)
    db = settings.clickhouse_database
    client = clickhouse(settings)
    try:
        units: list[tuple[Any, ...]] = []
        removed: list[tuple[Any, ...]] = []
        names = []
        for d, in_use in [(directory, True), *((h, False) for h in history)]:
            names.append(d.name)
            units += unit_rows(d, in_use=in_use, version=version, at=now)
            had = client.execute(
                f"SELECT code FROM {db}.dim_units FINAL WHERE directory = %(d)s AND removed = 0",
                {"d": d.name},
            )
            gone = {c for (c,) in had} - set(d.units)
            removed += removed_unit_rows(d.name, gone, version=version, at=now)
        cats = category_rows(CATEGORIES.values(), version=version, at=now)
        had_cats = {c for (c,) in client.execute(f"SELECT code FROM {db}.dim_categories FINAL")}
        cats += [(c, "", "", "", 1, version, now) for c in sorted(had_cats - set(CATEGORIES))]
        days = calendar_rows(
            calendar, date(first, 1, 1), date(last, 12, 31), version=version, at=now
        )
        _insert(client, db, "dim_units", UNIT_COLUMNS, units + removed)
        _insert(client, db, "dim_categories", CATEGORY_COLUMNS, cats)
        _insert(client, db, "dim_calendar", CALENDAR_COLUMNS, days)
        return Loaded(len(units), len(removed), len(CATEGORIES), len(days), tuple(names))
    finally:
        client.disconnect()
