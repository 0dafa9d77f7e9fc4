"""Open data: published results (CSV, GeoJSON) and monthly oversight figures (CSV), streamed.

What is published is what the publication APIs already show (gateway/public.py ``/v1/results``,
gateway/open311.py): no sender's name, contact, identity number, pseudonym or confidentiality
flag, no free-text description, no file names, no officers; coordinates only where Open311 shows
them (never for a confidential sender: the commune is the finest place then). Licence and field
descriptions: docs/open-data.md.

Every export is a generator of ``bytes`` chunks, so a caller streams it (``pakn export`` to a
file or stdout; an HTTP handler to ``StreamResponse.write``) without holding the month in memory:
rows are read in keyset pages of ``batch`` rows, each its own short query. ``page`` and
``page_size`` cut one page instead (HTTP paging), with the same order.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from gateway.stores.warehouse import TALLY_FIGURES, clickhouse
from pakn.settings import Settings
from processors.catalogue import CATEGORIES
from processors.units import UnitDirectory, load_directory

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
FORMATS = ("csv", "geojson")
PUBLISHED_STATUSES = ("published", "closed", "rated_unsatisfied")
LICENCE = "CC-BY-4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
ATTRIBUTION = "Hanoi PAKN pipeline (phản ánh, kiến nghị) — published results"
MONTH_RE = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")
UNIT_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
# The fields of one published result, in CSV column order (GeoJSON: the feature's properties,
# with lat/lon as its geometry).
RESULT_FIELDS = (
    "case_id",
    "title",
    "category",
    "category_vi",
    "category_en",
    "process",
    "unit_code",
    "unit_vi",
    "unit_en",
    "commune_code",
    "commune_vi",
    "status",
    "published_at",
    "url",
    "lat",
    "lon",
)
_RESULT_COLUMNS = (
    "toString(case_id)",
    "title",
    "category",
    "process",
    "unit_code",
    "commune_code",
    "status",
    "published_at",
    "confidential",
    "lat",
    "lon",
)
OVERSIGHT_FIELDS = (
    "unit_code",
    "unit_vi",
    "unit_en",
    "month",
    *TALLY_FIGURES,
    "flags",
    "final",
    "updated_at",
)


class ExportError(ValueError):
    """A bad export parameter; ``code`` is stable (the HTTP endpoint answers 400 with it)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The month ``YYYY-MM`` in Hanoi: [first instant, first instant of the next month)."""
    m = MONTH_RE.fullmatch(month or "")
    if m is None:
        raise ExportError("invalid_month", f"month must be YYYY-MM, not {month!r}")
    y, mo = int(m.group(1)), int(m.group(2))
    nxt = (y + 1, 1) if mo == 12 else (y, mo + 1)
    try:
        return datetime(y, mo, 1), datetime(*nxt, 1)
    except ValueError:  # year 0, or past 9999: a month no calendar has
        raise ExportError("invalid_month", f"no such month: {month!r}") from None


def _check(fmt: str, unit: str | None) -> None:
    if fmt not in FORMATS:
        raise ExportError("invalid_format", f"format must be one of {', '.join(FORMATS)}")
    if unit is not None and not UNIT_RE.fullmatch(unit):
        raise ExportError("invalid_unit", f"not a unit code: {unit!r}")


def _iso(t: datetime | None) -> str | None:
    """ISO-8601 in Hanoi time (the driver gives the column's wall time, naive)."""
    if t is None:
        return None
    return (t.astimezone(TZ) if t.tzinfo else t.replace(tzinfo=TZ)).isoformat()


# --- reading ---------------------------------------------------------------------------------
Query = Callable[[str, dict[str, Any]], list[tuple[Any, ...]]]


def _query(settings: Settings) -> tuple[Query, Callable[[], None]]:
    client = clickhouse(settings)
    return (lambda sql, params: client.execute(sql, params)), client.disconnect


def published_rows(
    query: Query,
    db: str,
    month: str,
    unit: str | None = None,
    *,
    page: int | None = None,
    page_size: int | None = None,
    batch: int = 5000,
) -> Iterator[tuple[Any, ...]]:
    """Published results of a month (by publication time, Hanoi), oldest first, then by case id
    (as text)."""
    start, end = month_bounds(month)
    conds = [
        "status IN %(statuses)s",
        "isNotNull(published_at)",
        "published_at >= toDateTime(%(start)s, 'Asia/Ho_Chi_Minh')",
        "published_at < toDateTime(%(end)s, 'Asia/Ho_Chi_Minh')",
    ]
    params: dict[str, Any] = {
        "statuses": PUBLISHED_STATUSES,
        "start": start.strftime("%Y-%m-%d %H:%M:%S"),
        "end": end.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if unit is not None:
        conds.append("unit_code = %(unit)s")
        params["unit"] = unit
    base = f"SELECT {', '.join(_RESULT_COLUMNS)} FROM {db}.cases FINAL WHERE "
    # case ids as text: the order a reader of the file sees (ClickHouse orders UUIDs otherwise)
    order = " ORDER BY published_at, toString(case_id)"
    if page is not None or page_size is not None:
        size = page_size or 1000
        params |= {"offset": ((page or 1) - 1) * size, "limit": size}
        yield from query(
            base + " AND ".join(conds) + order + " LIMIT %(offset)s, %(limit)s", params
        )
        return
    after: tuple[datetime, str] | None = None
    while True:
        where = list(conds)
        if after is not None:
            where.append(
                "(published_at > toDateTime(%(at)s, 'Asia/Ho_Chi_Minh') OR "
                "(published_at = toDateTime(%(at)s, 'Asia/Ho_Chi_Minh') "
                "AND toString(case_id) > %(id)s))"
            )
            params |= {"at": after[0].strftime("%Y-%m-%d %H:%M:%S"), "id": after[1]}
        rows = query(base + " AND ".join(where) + order + f" LIMIT {int(batch)}", params)
        yield from rows
        if len(rows) < batch:
            return
        last = rows[-1]
        after = (last[7], last[0])


def result_record(
    row: tuple[Any, ...], directory: UnitDirectory, public_url: str
) -> dict[str, Any]:
    """One published result as open data (the same fields as ``GET /v1/results``, plus the
    place where Open311 shows it)."""
    case_id, title, category, process, unit, commune, status, published_at, conf, lat, lon = row
    c = CATEGORIES.get(category)
    u = directory.find(unit) if unit else None
    cm = directory.find(commune) if commune else None
    hide = bool(conf)  # a confidential sender's place can point at them: commune only
    return {
        "case_id": case_id,
        "title": title,
        "category": category,
        "category_vi": c.vi if c else None,
        "category_en": c.en if c else None,
        "process": process,
        "unit_code": unit or None,
        "unit_vi": u.name_vi if u else None,
        "unit_en": (u.name_en or u.name_vi) if u else None,
        "commune_code": commune or None,
        "commune_vi": cm.name_vi if cm else None,
        "status": status,
        "published_at": _iso(published_at),
        "url": f"{public_url}/v1/results/{case_id}",
        "lat": None if hide else lat,
        "lon": None if hide else lon,
    }


# --- formats (pure) --------------------------------------------------------------------------
def csv_chunks(
    records: Iterable[dict[str, Any]], fields: tuple[str, ...], every: int = 500
) -> Iterator[bytes]:
    """RFC 4180 CSV, UTF-8, a header row; one chunk per ``every`` records."""
    buf = io.StringIO()
    out = csv.DictWriter(buf, fieldnames=fields, lineterminator="\r\n", extrasaction="ignore")
    out.writeheader()
    for n, rec in enumerate(records, start=1):
        out.writerow({k: ("" if v is None else v) for k, v in rec.items()})
        if n % every == 0:
            yield buf.getvalue().encode()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue().encode()


def geojson_chunks(
    records: Iterable[dict[str, Any]], meta: dict[str, Any], every: int = 500
) -> Iterator[bytes]:
    """A GeoJSON FeatureCollection (RFC 7946), streamed; a record without a place has a null
    geometry. ``meta`` becomes foreign members of the collection (licence, month...)."""
    head = {"type": "FeatureCollection", **meta}
    text = json.dumps(head, ensure_ascii=False)
    yield (text[:-1] + ', "features": [').encode()
    parts: list[str] = []
    first = True
    for rec in records:
        props = {k: v for k, v in rec.items() if k not in ("lat", "lon")}
        geometry = (
            {"type": "Point", "coordinates": [rec["lon"], rec["lat"]]}
            if rec.get("lat") is not None and rec.get("lon") is not None
            else None
        )
        feature = {"type": "Feature", "id": rec["case_id"], "geometry": geometry}
        feature["properties"] = props
        parts.append(("" if first else ",") + json.dumps(feature, ensure_ascii=False))
        first = False
        if len(parts) >= every:
            yield "".join(parts).encode()
            parts = []
    yield ("".join(parts) + "]}").encode()


# --- the exports -----------------------------------------------------------------------------
def export_results(
    settings: Settings,
    fmt: str,
    month: str,
    unit: str | None = None,
    *,
    page: int | None = None,
    page_size: int | None = None,
    directory: UnitDirectory | None = None,
    batch: int = 5000,
) -> Iterator[bytes]:
    """Published results of ``month`` (and ``unit``) as ``csv`` or ``geojson`` byte chunks.

    Parameters are checked before anything is read (``ExportError``); the warehouse is read
    while the chunks are consumed.
    """
    _check(fmt, unit)
    month_bounds(month)
    directory = directory or load_directory(settings.units_file or None)

    def gen() -> Iterator[bytes]:
        query, close = _query(settings)
        try:
            rows = published_rows(
                query,
                settings.clickhouse_database,
                month,
                unit,
                page=page,
                page_size=page_size,
                batch=batch,
            )
            records = (result_record(r, directory, settings.public_url) for r in rows)
            if fmt == "csv":
                yield from csv_chunks(records, RESULT_FIELDS)
            else:
                meta = {
                    "name": f"pakn-results-{month}" + (f"-{unit}" if unit else ""),
                    "licence": LICENCE,
                    "licence_url": LICENCE_URL,
                    "attribution": ATTRIBUTION,
                    "month": month,
                    "unit": unit,
                }
                yield from geojson_chunks(records, meta)
        finally:
            close()

    return gen()


def oversight_records(
    query: Query, db: str, month: str, unit: str | None, directory: UnitDirectory
) -> Iterator[dict[str, Any]]:
    month_bounds(month)
    cols = ("unit_code", "month", *TALLY_FIGURES, "flags", "final", "updated_at")
    where = "month = %(month)s" + (" AND unit_code = %(unit)s" if unit else "")
    rows = query(
        f"SELECT {', '.join(cols)} FROM {db}.unit_month_tallies FINAL WHERE {where} "
        "ORDER BY unit_code",
        {"month": month, "unit": unit},
    )
    for row in rows:
        rec = dict(zip(cols, row, strict=True))
        u = directory.find(rec["unit_code"])
        rec["unit_vi"] = u.name_vi if u else None
        rec["unit_en"] = (u.name_en or u.name_vi) if u else None
        rec["flags"] = ";".join(rec["flags"])
        rec["updated_at"] = _iso(rec["updated_at"])
        yield rec


def export_oversight(
    settings: Settings,
    month: str,
    unit: str | None = None,
    *,
    directory: UnitDirectory | None = None,
) -> Iterator[bytes]:
    """The oversight center's monthly figures of every unit (or one) as CSV byte chunks."""
    _check("csv", unit)
    month_bounds(month)
    directory = directory or load_directory(settings.units_file or None)

    def gen() -> Iterator[bytes]:
        query, close = _query(settings)
        try:
            recs = oversight_records(query, settings.clickhouse_database, month, unit, directory)
            yield from csv_chunks(recs, OVERSIGHT_FIELDS)
        finally:
            close()

    return gen()
