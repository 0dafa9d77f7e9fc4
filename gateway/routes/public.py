"""Reads for the public, the sender and the oversight center, from the warehouse (ClickHouse).

* ``GET /v1/results`` and ``GET /v1/results/{case_id}`` — published results (domain.md §4.1
  step 4). **Nothing about the sender** is ever in these answers: no name, no pseudonym, no
  confidentiality flag, no free-text description, no coordinates, no file names; a confidential
  case's result is published like any other. Cached by ETag / Last-Modified (304).
* ``GET /v1/cases/{case_id}/tracking`` — the sender follows their own case (action ``track``):
  the timeline, the deadline of every stage and whether it was met.
* ``GET /v1/oversight/units/{unit}/months/{yyyy-mm}`` and ``GET /v1/oversight/flags?month=`` —
  the monthly figures and flags of domain.md §6 (action ``oversight_read``).

The reads run off the event loop (gateway/stores/warehouse.py); a warehouse that cannot be read
is a 503 ``warehouse_unavailable``, never a 500.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Awaitable
from datetime import UTC, date, datetime, time, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any, TypeVar

from aiohttp import web

from gateway.http.auth import UNIT_RE, CaseView, principal_of, require
from gateway.http.errors import ApiError, FieldError, dumps, unavailable
from gateway.http.responses import json_response
from gateway.http.table import query_of
from gateway.http.validation import case_id_of
from gateway.keys import READER, SETTINGS
from gateway.live_rules import default_directory
from gateway.stores.warehouse import TALLY_FIGURES, WAREHOUSE_TZ
from processors import publication
from processors.catalogue import CATEGORIES
from processors.publication import PUBLISHED_STATUSES
from processors.workflow import TERMINAL

log = logging.getLogger("gateway.routes.public")

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20
MONTH_RE = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
COMMUNE_RE = re.compile(r"\d{5}")
PUBLIC_CACHE = "public, max-age=60"
# Reasons a sender sees on their own case (they must act on them); other reasons stay internal.
REASONS_FOR_SENDER = frozenset({"reject", "request_info"})

T = TypeVar("T")


# --- shared helpers ---------------------------------------------------------------------------
async def read(what: Awaitable[T]) -> T:
    """A warehouse read; ClickHouse down or not migrated is a clear 503, not a 500."""
    try:
        return await what
    except Exception as exc:
        log.warning("warehouse read failed", extra={"error": str(exc)[:300]})
        raise unavailable("warehouse_unavailable") from exc


def iso(t: Any) -> str | None:
    """A datetime (or the ISO text of one) as ISO-8601 in Asia/Ho_Chi_Minh time."""
    if t is None or t == "":
        return None
    if isinstance(t, str):
        try:
            t = datetime.fromisoformat(t)
        except ValueError:
            return t
    if isinstance(t, datetime):
        if t.tzinfo is None:
            t = t.replace(tzinfo=WAREHOUSE_TZ)
        return t.astimezone(WAREHOUSE_TZ).isoformat()
    return str(t)


def _aware(t: Any) -> datetime | None:
    text = iso(t)
    return datetime.fromisoformat(text) if text else None


def unit_ref(code: str | None) -> dict[str, Any] | None:
    if not code:
        return None
    unit = default_directory().find(code)
    return {
        "code": code,
        "name": {"vi": unit.name_vi, "en": unit.name_en or unit.name_vi} if unit else None,
    }


def category_ref(code: str) -> dict[str, Any]:
    c = CATEGORIES.get(code)
    return {"code": code, "name": {"vi": c.vi, "en": c.en} if c else None}


def conditional(
    request: web.Request, body: Any, last_modified: datetime | None, cache: str = PUBLIC_CACHE
) -> web.Response:
    """200 with ETag / Last-Modified, or 304 when the client's copy is current.

    If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2); the ETag is a hash of the body,
    so any change of the answer (a case leaving a list included) changes it.
    """
    text = dumps(body, sort_keys=True)
    etag = f'"{hashlib.sha256(text.encode()).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": cache}
    if last_modified is not None:
        headers["Last-Modified"] = format_datetime(last_modified.astimezone(UTC), usegmt=True)
    inm = request.headers.get("If-None-Match")
    if inm is not None:
        tags = {t.strip().removeprefix("W/") for t in inm.split(",")}
        if "*" in tags or etag in tags:
            return web.Response(status=304, headers=headers)
    elif last_modified is not None and (ims := request.headers.get("If-Modified-Since")):
        try:
            since = parsedate_to_datetime(ims)
        except (TypeError, ValueError):
            since = None
        if (
            since is not None
            and since.tzinfo is not None
            and last_modified.replace(microsecond=0) <= since
        ):
            return web.Response(status=304, headers=headers)
    return web.Response(
        text=text, content_type="application/json", charset="utf-8", headers=headers
    )


# --- what the events say ----------------------------------------------------------------------
def published_result(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The published result (processors/publication.py), with ISO times."""
    return publication.published_result(events, when=iso)


def status_timeline(case: dict[str, Any], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every status the case went through and when (nothing about who did it)."""
    out = [{"status": "submitted", "at": iso(case["submitted_at"])}]
    for e in events:
        if e["event_type"] == "case_transition":
            p = e["payload"]
            if p.get("to_status") and p.get("to_status") != out[-1]["status"]:
                out.append({"status": p["to_status"], "at": iso(e["occurred_at"])})
    return out


def sender_timeline(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the sender sees happen to their case, in order."""
    out: list[dict[str, Any]] = []
    for e in events:
        p, kind, at = e["payload"], e["event_type"], iso(e["occurred_at"])
        if kind == "case_submitted":
            out.append({"at": at, "event": "submitted", "status": "submitted"})
        elif kind == "case_transition":
            item = {
                "at": at,
                "event": "status_changed",
                "command": p.get("command"),
                "from_status": p.get("from_status"),
                "status": p.get("to_status"),
            }
            if p.get("command") in REASONS_FOR_SENDER and p.get("reason"):
                item["reason"] = p["reason"]
            if p.get("command") == "rate":
                item["rating"] = p.get("rating")
            out.append(item)
        elif kind == "deadline_set":
            out.append(
                {
                    "at": at,
                    "event": "deadline_set",
                    "stage": p.get("stage"),
                    "due_at": iso(p.get("due_at")),
                }
            )
        elif kind == "stage_completed":
            out.append(
                {
                    "at": at,
                    "event": "stage_completed",
                    "stage": p.get("stage"),
                    "due_at": iso(p.get("due_at")),
                    "on_time": p.get("on_time"),
                    "late_working_minutes": p.get("late_working_minutes"),
                }
            )
        elif kind in ("sla_warning", "sla_breached", "sla_alert_withdrawn"):
            out.append(
                {"at": at, "event": kind, "stage": p.get("stage"), "due_at": iso(p.get("due_at"))}
            )
    return out


def stage_outcomes(
    case: dict[str, Any], events: list[dict[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """Each stage of each handling round: its deadline, when it ended, on time or not.

    From the events: ``deadline_set`` opens a stage (again: a new deadline after classify or an
    extension), ``stage_completed`` ends it on time or late, ``sla_warning``/``sla_breached``
    mark it; a reopened case (a repeat) starts a new round. ``state`` is ``on_time``, ``late``,
    ``open`` (running, within its deadline), ``overdue`` (running, past it) or ``stopped`` (the
    case ended without the stage: rejected or withdrawn).
    """
    stages: list[dict[str, Any]] = []
    current: dict[str, dict[str, Any]] = {}
    round_ = 0
    for e in events:
        p, kind = e["payload"], e["event_type"]
        if kind == "case_transition" and p.get("command") == "reopen":
            round_ += 1
            continue
        stage = p.get("stage")
        if not stage:
            continue
        entry = current.get(stage)
        if kind == "deadline_set":
            if entry is None or entry["completed_at"] is not None or entry["round"] != round_:
                entry = {
                    "stage": stage,
                    "round": round_,
                    "started_at": iso(p.get("counted_from")),
                    "due_at": None,
                    "level": p.get("level"),
                    "completed_at": None,
                    "on_time": None,
                    "late_working_minutes": None,
                    "warned": False,
                    "breached": False,
                }
                current[stage] = entry
                stages.append(entry)
            entry["due_at"] = iso(p.get("due_at"))
            entry["level"] = p.get("level") or entry["level"]
        elif entry is None:
            continue  # an alert without its deadline: the stream was cut, nothing to say
        elif kind == "stage_completed":
            entry["completed_at"] = iso(e["occurred_at"])
            entry["due_at"] = iso(p.get("due_at")) or entry["due_at"]
            entry["on_time"] = bool(p.get("on_time"))
            entry["late_working_minutes"] = p.get("late_working_minutes")
        elif kind == "sla_warning":
            entry["warned"] = True
        elif kind == "sla_breached":
            entry["breached"] = True
        elif kind == "sla_alert_withdrawn":  # a completion stamped in time contradicted it
            entry["breached"] = False
    for entry in stages:
        due = _aware(entry["due_at"])
        if entry["completed_at"] is not None:
            entry["state"] = "on_time" if entry["on_time"] else "late"
        elif case["status"] in TERMINAL:
            entry["state"] = "stopped"
        elif entry["breached"] or (due is not None and now > due):
            entry["state"] = "overdue"
        else:
            entry["state"] = "open"
    return stages


# --- handlers: publication --------------------------------------------------------------------
def _result_item(row: dict[str, Any], base: str) -> dict[str, Any]:
    return {
        "case_id": row["case_id"],
        "title": row["title"],
        "category": category_ref(row["category"]),
        "process": row["process"],
        "unit": unit_ref(row["unit_code"]),
        "commune": unit_ref(row["commune_code"]),
        "status": row["status"],
        "published_at": iso(row["published_at"]),
        "url": f"{base}/v1/results/{row['case_id']}",
    }


# The warehouse's DateTime range: a filter beyond it is the same filter at its edge.
EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)
LATEST = datetime(2105, 12, 31, tzinfo=UTC)


def clamped(t: datetime | None) -> datetime | None:
    return None if t is None else min(max(t, EARLIEST), LATEST)


def instant(value: date | datetime | None, *, end_of_day: bool = False) -> datetime | None:
    """A day (the whole day in Asia/Ho_Chi_Minh) or an instant (naive: Hanoi time)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        if value >= LATEST.date():
            return LATEST
        day = value + timedelta(days=1) if end_of_day else value
        return clamped(datetime.combine(day, time(), tzinfo=WAREHOUSE_TZ))
    return clamped(value if value.tzinfo else value.replace(tzinfo=WAREHOUSE_TZ))


async def list_results(request: web.Request) -> web.StreamResponse:
    q = query_of(request)  # ResultsQuery, validated by the route table
    statuses = q.status.split(",") if q.status else list(PUBLISHED_STATUSES)
    filters = {
        "unit": q.unit,
        "category": q.category,
        "process": q.process,
        "area": q.area,
        "since": instant(q.from_),
        "until": instant(q.to, end_of_day=True),
    }
    page, size = q.page, q.page_size
    reader = request.app[READER]
    total, latest, rows = await read(
        reader.results(statuses=statuses, offset=(page - 1) * size, limit=size, **filters)
    )
    base = request.app[SETTINGS].public_url
    body = {
        "items": [_result_item(r, base) for r in rows],
        "page": page,
        "page_size": size,
        "total": total,
    }
    return conditional(request, body, _aware(latest))


async def get_result(request: web.Request) -> web.StreamResponse:
    case_id = case_id_of(request)
    reader = request.app[READER]
    case = await read(reader.case_state(case_id))
    if case is None or case["status"] not in PUBLISHED_STATUSES or case["published_at"] is None:
        raise ApiError("not_found")
    events = await read(reader.case_events([case_id], ["case_transition"]))
    body = {
        "case_id": case_id,
        "title": case["title"],
        "category": category_ref(case["category"]),
        "process": case["process"],
        "unit": unit_ref(case["unit_code"]),
        "commune": unit_ref(case["commune_code"]),
        "status": case["status"],
        "submitted_at": iso(case["submitted_at"]),
        "published_at": iso(case["published_at"]),
        "repeat_count": case["repeat_count"],
        "result": published_result(events),
        "timeline": status_timeline(case, events),
    }
    return conditional(request, body, _aware(case["updated_at"]))


# --- handlers: the sender's tracking view ------------------------------------------------------
async def tracking(request: web.Request) -> web.Response:
    principal_of(request)  # 401 before anything is read
    case_id = case_id_of(request)
    reader = request.app[READER]
    case = await read(reader.case_state(case_id, with_sender=True))
    if case is None:
        raise ApiError("not_found")
    require(
        request,
        "track",
        CaseView(case["unit_code"] or None, case["sender_pseudonym"] or None, case_id=case_id),
    )
    events = await read(reader.case_events([case_id]))
    now = datetime.now(UTC)
    body = {
        "case_id": case_id,
        "status": case["status"],
        "process": case["process"],
        "category": category_ref(case["category"]),
        "title": case["title"],
        "unit": unit_ref(case["unit_code"]),
        "level": case["level"] or None,
        "submitted_at": iso(case["submitted_at"]),
        "updated_at": iso(case["updated_at"]),
        "repeat_count": case["repeat_count"],
        "deadlines": {
            "receive": iso(case["receive_due_at"]),
            "assign": iso(case["assign_due_at"]),
            "handle": iso(case["handle_due_at"]),
        },
        "late_stages": list(case["late_stages"]),
        "stages": stage_outcomes(case, events, now),
        "timeline": sender_timeline(events),
        "result": published_result(events) if case["published_at"] is not None else None,
    }
    return json_response(body, headers={"Cache-Control": "private, no-store"})


# --- handlers: the officer's integrity view -----------------------------------------------------
async def integrity(request: web.Request) -> web.Response:
    """The integrity flags of a case with their evidence (docs/integrity.md §4), for the officers
    of the responsible unit: signals to look at before receiving the case, not verdicts."""
    principal_of(request)
    case_id = case_id_of(request)
    reader = request.app[READER]
    case = await read(reader.case_state(case_id))
    if case is None:
        raise ApiError("not_found")
    require(request, "read_integrity", CaseView(case["unit_code"] or None, case_id=case_id))
    flags = await read(reader.integrity_flags(case_id))
    body = {
        "case_id": case_id,
        "status": case["status"],
        "integrity_flags": [dict(f, raised_at=iso(f["raised_at"])) for f in flags],
    }
    return json_response(body, headers={"Cache-Control": "private, no-store"})


# --- handlers: oversight ----------------------------------------------------------------------
def _month(value: str | None) -> str:
    if value is None or not MONTH_RE.fullmatch(value):
        raise ApiError("invalid_month", [FieldError("month", "invalid")])
    return value


def _figures(tally: dict[str, Any]) -> dict[str, Any]:
    figures = {k: tally[k] for k in TALLY_FIGURES}
    handled = tally["handle_on_time"] + tally["handle_late"]
    rated = tally["satisfied"] + tally["not_satisfied"]
    figures["handle_on_time_share"] = tally["handle_on_time"] / handled if handled else None
    figures["satisfied_share"] = tally["satisfied"] / rated if rated else None
    return figures


def _flag(f: dict[str, Any]) -> dict[str, Any]:
    return {
        "flag": f["flag"],
        "value": f["value"],
        "threshold": f["threshold"],
        "raised_at": iso(f["raised_at"]),
    }


async def unit_month(request: web.Request) -> web.Response:
    require(request, "oversight_read")
    unit = request.match_info["unit"]
    month = _month(request.match_info["month"])
    if not UNIT_RE.fullmatch(unit):
        raise ApiError("not_found")
    reader = request.app[READER]
    tallies = await read(reader.unit_months(month, unit))
    if not tallies:
        raise ApiError("not_found")
    flags = await read(reader.flags(month, unit))
    [tally] = tallies
    return json_response(
        {
            "unit": unit_ref(unit),
            "month": month,
            "figures": _figures(tally),
            "flags": [_flag(f) for f in flags],
            "final": bool(tally["final"]),  # the month is over (month-close report)
            "version": tally["version"],
            "updated_at": iso(tally["updated_at"]),
        },
        headers={"Cache-Control": "private, no-store"},
    )


async def oversight_flags(request: web.Request) -> web.Response:
    require(request, "oversight_read")
    month = _month(request.query.get("month"))
    unit = request.query.get("unit") or None
    if unit is not None and not UNIT_RE.fullmatch(unit):
        raise ApiError("invalid_query", [FieldError("unit", "invalid")])
    reader = request.app[READER]
    flags = await read(reader.flags(month, unit))
    tallies = {t["unit_code"]: t for t in await read(reader.unit_months(month, unit))}
    out = []
    for f in flags:
        tally = tallies.get(f["unit_code"])
        out.append(
            {
                "unit": unit_ref(f["unit_code"]),
                **_flag(f),
                "figures": _figures(tally) if tally else None,
            }
        )
    return json_response(
        {"month": month, "flags": out},
        headers={"Cache-Control": "private, no-store"},
    )
