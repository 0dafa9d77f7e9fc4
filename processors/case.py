"""The authoritative state of a case and how a submission opens it.

Pure functions: (state, event) -> decision. Every output event id is derived from the input event
id (uuid5), so applying the same input twice yields the same outputs, and consumers that
deduplicate by event id see each fact once (at-least-once delivery, exactly-once effect).
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from processors.sla import Calendar, StageDeadline, receive_deadline

EVENTS_NS = uuid.UUID("6f1c3c52-5d0b-4f0e-9a51-2a4f3b1d7e10")
PRODUCER = "worker/0.1.0"


def derived_event_id(source_event_id: str, what: str) -> str:
    return str(uuid.uuid5(EVENTS_NS, f"{source_event_id}/{what}"))


def to_ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


@dataclass
class CaseState:
    case_id: str
    version: int
    status: str
    process: str
    category: str
    title: str
    sender_pseudonym: str
    confidential: bool
    submitted_at_ms: int
    updated_at_ms: int
    last_event_id: str
    submission_event_id: str
    unit_code: str | None = None
    commune_code: str | None = None
    lat: float | None = None
    lon: float | None = None
    deadlines_ms: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CaseState:
        return cls(**d)

    def snapshot(self) -> dict[str, Any]:
        """The CaseState Avro record (no personal data)."""
        return {
            "case_id": self.case_id,
            "version": self.version,
            "status": self.status,
            "process": self.process,
            "category": self.category,
            "unit_code": self.unit_code,
            "commune_code": self.commune_code,
            "lat": self.lat,
            "lon": self.lon,
            "title": self.title,
            "sender_pseudonym": self.sender_pseudonym,
            "confidential": self.confidential,
            "submitted_at": self.submitted_at_ms,
            "receive_due_at": self.deadlines_ms.get("receive"),
            "updated_at": self.updated_at_ms,
            "last_event_id": self.last_event_id,
        }


@dataclass(frozen=True)
class Decision:
    state: CaseState
    changed: bool  # False: nothing new; the state stays as it was
    forward: bool  # re-publish the input event itself on the case event log
    emits: list[tuple[str, dict[str, Any]]]


def envelope(event_id: str, case_id: str, event_type: str, at_ms: int) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "case_id": case_id,
        "event_type": event_type,
        "occurred_at": at_ms,
        "producer": PRODUCER,
        "schema_version": 1,
    }


def _opening_events(
    submission_event_id: str, case_id: str, submitted_at: datetime, calendar: Calendar
) -> tuple[StageDeadline, list[tuple[str, dict[str, Any]]]]:
    deadline = receive_deadline(submitted_at, calendar)
    event = {
        "envelope": envelope(
            derived_event_id(submission_event_id, "deadline/receive"),
            case_id,
            "deadline_set",
            to_ms(submitted_at),
        ),
        "stage": deadline.stage,
        "counted_from": to_ms(deadline.counted_from),
        "due_at": to_ms(deadline.due_at),
        "working_minutes": deadline.working_minutes,
        "policy": deadline.policy,
    }
    return deadline, [("DeadlineSet", event)]


def open_case(state: CaseState | None, submitted: dict[str, Any], calendar: Calendar) -> Decision:
    """Apply a CaseSubmitted record: open the case and start the receiving clock."""
    env = submitted["envelope"]
    event_id, case_id = str(env["event_id"]), str(env["case_id"])  # Avro uuid -> text
    submitted_at = env["occurred_at"]
    if isinstance(submitted_at, int):
        submitted_at = from_ms(submitted_at)
    if state is not None:
        if state.submission_event_id == event_id and state.submitted_at_ms == to_ms(submitted_at):
            # A redelivery of the very event that opened the case (crash before the offset
            # commit): the outputs are emitted again, identical, and consumers dedup them.
            _, emits = _opening_events(event_id, case_id, submitted_at, calendar)
            return Decision(state, changed=False, forward=True, emits=emits)
        # The client retried with the same idempotency key: the first submission stands.
        return Decision(state, changed=False, forward=False, emits=[])
    deadline, emits = _opening_events(event_id, case_id, submitted_at, calendar)
    loc = submitted["location"]
    sender = submitted["sender"]
    new = CaseState(
        case_id=case_id,
        version=1,
        status="submitted",
        process=submitted["process"],
        category=submitted["category"],
        title=submitted["title"],
        sender_pseudonym=sender["pseudonym"],
        confidential=sender["confidential"],
        submitted_at_ms=to_ms(submitted_at),
        updated_at_ms=to_ms(submitted_at),
        last_event_id=event_id,
        submission_event_id=event_id,
        unit_code=submitted.get("unit_code"),
        commune_code=loc.get("commune_code"),
        lat=loc.get("lat"),
        lon=loc.get("lon"),
        deadlines_ms={"receive": to_ms(deadline.due_at)},
    )
    return Decision(new, changed=True, forward=True, emits=emits)
