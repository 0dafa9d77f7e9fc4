"""Decoded events -> ClickHouse rows (pure: no I/O). Personal data never becomes a row."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

from processors.case import from_ms
from processors.tallies import BREAKDOWN_FIGURES, FACTS, TALLY_FIGURES  # noqa: F401  (re-exported)

CASE_EVENT_COLUMNS = (
    "event_id",
    "case_id",
    "event_type",
    "occurred_at",
    "producer",
    "schema_version",
    "payload",
    "source_topic",
    "source_partition",
    "source_offset",
    "ingested_at",
)
CASE_COLUMNS = (
    "case_id",
    "version",
    "status",
    "process",
    "category",
    "unit_code",
    "commune_code",
    "lat",
    "lon",
    "title",
    "sender_pseudonym",
    "confidential",
    "submitted_at",
    "receive_due_at",
    "updated_at",
    "last_event_id",
    "level",
    "assign_due_at",
    "handle_due_at",
    "late_stages",
    "repeat_count",
    "rating",
    "published_at",
)

# Fields dropped before an event's payload is stored: sealed identity stays in Kafka only.
_PRIVATE = {"pii"}


def _public(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if k not in _PRIVATE}
    if isinstance(value, list):
        return [_public(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _dt(value: datetime | int | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return from_ms(value)


def case_event_row(
    record: dict[str, Any], topic: str, partition: int, offset: int, now: datetime | None = None
) -> tuple[Any, ...]:
    env = record["envelope"]
    payload = {k: v for k, v in record.items() if k != "envelope"}
    return (
        env["event_id"],
        env["case_id"],
        env["event_type"],
        _dt(env["occurred_at"]),
        env["producer"],
        env["schema_version"],
        json.dumps(_public(payload), ensure_ascii=False, separators=(",", ":")),
        topic,
        partition,
        offset,
        now or datetime.now(UTC),
    )


# --- typed facts of case events (sinks/migrations/0012_case_event_facts.sql) ----------------
# column -> (payload field, kind). Found by field name whatever the event type, so a new event
# type fills the columns it shares; a field an event lacks (or holds as null) is NULL.
FACT_FIELDS: dict[str, tuple[str, str]] = {
    "unit_code": ("unit_code", "text"),
    "stage": ("stage", "text"),
    "level": ("level", "text"),
    "due_at": ("due_at", "time"),
    "on_time": ("on_time", "flag"),
    "late_working_minutes": ("late_working_minutes", "count"),
    "used_working_minutes": ("used_working_minutes", "count"),
    "working_minutes": ("working_minutes", "count"),
    "command": ("command", "text"),
    "from_status": ("from_status", "text"),
    "to_status": ("to_status", "text"),
    "reason": ("reason", "text"),
    "target_unit": ("target_unit", "text"),
    "rating": ("rating", "text"),
    "repeat_count": ("repeat", "count"),
    "process": ("process", "text"),
    "category": ("category", "text"),
    "commune_code": ("commune_code", "text"),
    "channel": ("channel", "text"),
}
FACT_COLUMNS = (
    "event_id",
    "case_id",
    "event_type",
    "occurred_at",
    *FACT_FIELDS,
    "ingested_at",
)
# fields also looked for one level down (the submission's place)
_NESTED = {"commune_code": "location"}


def _fact(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "time":
        return _dt(value) if isinstance(value, (int, datetime)) else None
    if kind == "flag":
        return int(bool(value))
    if kind == "count":
        return int(value)
    return value if isinstance(value, str) else str(value)


def case_event_fact_row(record: dict[str, Any], now: datetime | None = None) -> tuple[Any, ...]:
    """The typed columns of one case event (the same record as its case_events row)."""
    env = record["envelope"]
    values = []
    for column, (name, kind) in FACT_FIELDS.items():
        value = record.get(name)
        if value is None and column in _NESTED:
            value = (record.get(_NESTED[column]) or {}).get(name)
        values.append(_fact(kind, value))
    return (
        env["event_id"],
        env["case_id"],
        env["event_type"],
        _dt(env["occurred_at"]),
        *values,
        now or datetime.now(UTC),
    )


def case_row(state: dict[str, Any]) -> tuple[Any, ...]:
    return (
        state["case_id"],
        state["version"],
        state["status"],
        state["process"],
        state["category"],
        state["unit_code"] or "",
        state["commune_code"] or "",
        state["lat"],
        state["lon"],
        state["title"],
        state["sender_pseudonym"],
        int(state["confidential"]),
        _dt(state["submitted_at"]),
        _dt(state["receive_due_at"]),
        _dt(state["updated_at"]),
        state["last_event_id"],
        state["level"] or "",
        _dt(state["assign_due_at"]),
        _dt(state["handle_due_at"]),
        state["late_stages"],
        state["repeat_count"],
        state["rating"] or "",
        _dt(state["published_at"]),
    )


TALLY_COLUMNS = ("unit_code", "month", "version", *TALLY_FIGURES, "flags", "final", "updated_at")
FLAG_COLUMNS = ("unit_code", "month", "flag", "value", "threshold", "raised_at", "event_id")


def tally_row(t: dict[str, Any]) -> tuple[Any, ...]:
    return (
        t["unit_code"],
        t["month"],
        t["version"],
        t["received"],
        t["receive_late"],
        t["assign_late"],
        t["handle_on_time"],
        t["handle_late"],
        t["extended"],
        t["rejected"],
        t["satisfied"],
        t["not_satisfied"],
        t["repeat"],
        t["repeat_not_satisfied"],
        t["late"],
        t["late_share"],
        *(t[f] for f in BREAKDOWN_FIGURES),
        t["flags"],
        int(t["final"]),
        _dt(t["updated_at"]),
    )


def flag_row(f: dict[str, Any]) -> tuple[Any, ...]:
    return (
        f["unit_code"],
        f["month"],
        f["flag"],
        f["value"],
        f["threshold"],
        _dt(f["raised_at"]),
        f["event_id"],
    )


# --- warnings to citizens (sinks/migrations/0010_citizen_warnings.sql) ------------------------
WARNING_COLUMNS = (
    "warning_id",
    "version",
    "revision",
    "status",
    "issuing_unit",
    "category",
    "severity",
    "urgency",
    "certainty",
    "headline_vi",
    "headline_en",
    "effective",
    "expires",
    "communes",
    "audience",
    "circles",
    "polygons",
    "superseded_by",
    "created_at",
    "updated_at",
)
WARNING_AREA_COLUMNS = ("warning_id", "version", "commune", "in_area", "updated_at")
DELIVERY_COLUMNS = (
    "event_id",
    "warning_id",
    "version",
    "kind",
    "channel",
    "language",
    "category",
    "severity",
    "delivered_at",
)


def warning_row(s: dict[str, Any]) -> tuple[Any, ...]:
    c = s["content"]
    return (
        s["warning_id"],
        s["version"],
        s["updated_at"],
        s["status"],
        s["issuing_unit"],
        c["category"],
        c["severity"],
        c["urgency"],
        c["certainty"],
        c["headline_vi"],
        c.get("headline_en") or "",
        _dt(c["effective"]),
        _dt(c["expires"]),
        list(s["communes"]),
        list(s["audience"]),
        len(c["area"]["circles"]),
        len(c["area"]["polygons"]),
        s.get("superseded_by") or "",
        _dt(s["created_at"]),
        _dt(s["updated_at"]),
    )


def warning_area_rows(s: dict[str, Any]) -> list[tuple[Any, ...]]:
    """One row per commune the version reaches (audience); in_area: the current area's."""
    touched = set(s["communes"])
    at = _dt(s["updated_at"])
    return [
        (s["warning_id"], s["version"], c, int(c in touched), at)
        for c in sorted(touched | set(s["audience"]))
    ]


def delivery_row(d: dict[str, Any], at_ms: int) -> tuple[Any, ...]:
    return (
        uuid.UUID(d["event_id"]),
        d["warning_id"],
        d["version"],
        d["kind"],
        d["channel"],
        d["language"],
        d["category"],
        d["severity"],
        _dt(at_ms),
    )


AUDIT_COLUMNS = (
    "audit_id",
    "action",
    "at",
    "actor_subject",
    "actor_role",
    "case_id",
    "pseudonym",
    "justification",
    "outcome",
    "detail",
)


def audit_row(a: dict[str, Any]) -> tuple[Any, ...]:
    """A PrivacyAudit record (who re-identified or erased whom: docs/privacy.md)."""
    return (
        uuid.UUID(str(a["audit_id"])),
        a["action"],
        _dt(a["at"]),
        a["actor_subject"],
        a["actor_role"],
        a["case_id"] or "",
        a["pseudonym"] or "",
        a["justification"],
        a["outcome"],
        a.get("detail") or "",
    )


RECEPTION_BOOKING_COLUMNS = (
    "session_id",
    "session_date",
    "booking_code",
    "slot_id",
    "status",
    "version",
    "moves",
    "booked_at",
    "updated_at",
)


def reception_booking_row(b: dict[str, Any]) -> tuple[Any, ...]:
    """A reception booking's figures (schemas ReceptionBooking: no identity in it)."""
    return (
        b["session_id"],
        date.fromisoformat(b["session_date"]),
        b["booking_code"],
        b["slot_id"],
        b["status"],
        b["version"],
        b["moves"],
        _dt(b["booked_at"]),
        _dt(b["updated_at"]),
    )


INTEGRITY_FLAG_COLUMNS = (
    "event_id",
    "case_id",
    "kind",
    "code",
    "related_case_id",
    "media_sha256",
    "related_media_sha256",
    "distance",
    "detail",
    "unit_code",
    "raised_at",
)


def integrity_flag_row(f: dict[str, Any]) -> tuple[Any, ...]:
    env = f["envelope"]
    return (
        env["event_id"],
        env["case_id"],
        f["kind"],
        f["code"],
        f["related_case_id"] or "",
        f["media_sha256"] or "",
        f["related_media_sha256"] or "",
        f["distance"],
        f["detail"],
        f["unit_code"] or "",
        _dt(env["occurred_at"]),
    )
