"""The authoritative state of a case, and the events that describe its changes.

Pure: (state, input) -> Decision. Every output event id is derived from stable facts (uuid5 of the
input or of the case and stage), and the outputs of the last few inputs are kept with the state
(the outbox), so a redelivered input re-emits exactly what it emitted the first time. Consumers
that deduplicate by event id then see every fact once (at-least-once delivery, exactly-once effect).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from processors.sla import (
    Calendar,
    SlaPolicy,
    StageClock,
    StageOutcome,
    breach_instant,
    default_policy,
)

EVENTS_NS = uuid.UUID("6f1c3c52-5d0b-4f0e-9a51-2a4f3b1d7e10")
PRODUCER = "worker/0.1.0"
NOTE_FIELDS = ("kind", "code", "related_case_id", "media_sha256", "detail")
HN = ZoneInfo("Asia/Ho_Chi_Minh")  # naive instants in stored clocks are Hanoi time
OUTBOX_SIZE = 8  # inputs whose outputs are kept: covers any uncommitted redelivery window

Emit = tuple[str, dict[str, Any]]  # (Avro message type, record)


def derived_event_id(source_id: str, what: str) -> str:
    return str(uuid.uuid5(EVENTS_NS, f"{source_id}/{what}"))


def to_ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def as_datetime(t: datetime | int) -> datetime:
    return from_ms(t) if isinstance(t, int) else t


def envelope(event_id: str, case_id: str, event_type: str, at_ms: int) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "case_id": case_id,
        "event_type": event_type,
        "occurred_at": at_ms,
        "producer": PRODUCER,
        "schema_version": 1,
    }


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
    level: str | None = None
    # stage -> {"clock": StageClock dict, "warned": bool, "breached": bool, "outcome": dict|None,
    #           "breach_at_ms": int|None (when its breach alert is due), "breach_withdrawn": bool,
    #           "unit": the unit answerable for it}
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    resume_status: str | None = None  # status to return to after a pause / transfer proposal
    assignee: str | None = None  # handling officer or division (agency reference)
    pending_transfer: str | None = None  # department proposed, awaiting its acceptance
    pending_extension: dict[str, Any] | None = None  # {"new_due_ms", "legal_basis"}
    result: dict[str, Any] | None = None  # {"text", "evidence": [sha256...]}
    rating: str | None = None
    published_at_ms: int | None = None
    repeat_count: int = 0  # reopened by the sender as not satisfied
    ratings: list[str] = field(default_factory=list)  # every rating, in order
    past_stages: list[dict[str, Any]] = field(default_factory=list)  # earlier handling rounds
    tally_units: list[str] = field(default_factory=list)  # units this case counted for
    round: int = 0  # handling rounds: a reopened case clocks its stages again
    rejection_reason: str | None = None  # the regulation's reason, when rejected at receipt
    answered_at_ms: int | None = None  # when it was last answered (published/rejected/withdrawn)
    # integrity flags raised on the case (processors/integrity.py), each once by flag id
    integrity_flags: list[dict[str, Any]] = field(default_factory=list)
    # when each reopening after a not-satisfied rating happened (the "times" of §6, per item)
    reopened_at_ms: list[int] = field(default_factory=list)
    # input id -> {"emits": [[type, record], ...], "result": record|None} of the last inputs
    outbox: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        # as dataclasses.asdict, ~9x faster: asdict deep-copies every leaf (the worker stores the
        # state, outbox included, for every input)
        return {name: _plain_copy(getattr(self, name)) for name in _STATE_FIELDS}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CaseState:
        return cls(**d)

    # --- stage clocks ---------------------------------------------------------------------
    def clock(self, stage: str) -> StageClock | None:
        entry = self.stages.get(stage)
        return StageClock.from_dict(entry["clock"]) if entry else None

    def set_clock(self, stage: str, clock: StageClock, calendar: Calendar | None = None) -> None:
        """Store the clock; with the ``calendar`` that counts it, also the instant its breach
        alert is due (the first working instant past the due: processors/clocks.py)."""
        entry = self.stages.setdefault(stage, {"warned": False, "breached": False, "outcome": None})
        entry["clock"] = clock.to_dict()
        if calendar is not None:
            breach = breach_instant(clock, calendar)
            entry["breach_at_ms"] = None if breach is None else to_ms(breach)
        else:
            entry.pop("breach_at_ms", None)  # unknown: clocks.py falls back to the due instant

    def due_ms(self, stage: str) -> int | None:
        entry = self.stages.get(stage)
        if entry is None:
            return None
        # the one field, not the whole clock: a snapshot is taken on every state write
        due = datetime.fromisoformat(entry["clock"]["due_at"])
        return to_ms(due if due.tzinfo is not None else due.replace(tzinfo=HN))

    def late_stages(self) -> list[str]:
        """Stages late by the latest facts: a completed stage by its outcome (event time), an
        open one by its breach alert."""
        return [s for s, e in self.stages.items() if stage_late(e)]

    def remember(self, input_id: str, emits: list[Emit], result: dict[str, Any] | None) -> None:
        self.outbox[input_id] = {"emits": [list(e) for e in emits], "result": result}
        while len(self.outbox) > OUTBOX_SIZE:
            del self.outbox[next(iter(self.outbox))]  # dicts keep insertion order

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
            "receive_due_at": self.due_ms("receive"),
            "updated_at": self.updated_at_ms,
            "last_event_id": self.last_event_id,
            "level": self.level,
            "assign_due_at": self.due_ms("assign"),
            "handle_due_at": self.due_ms("handle"),
            "late_stages": self.late_stages(),
            "repeat_count": self.repeat_count,
            "rating": self.rating,
            "published_at": self.published_at_ms,
            "integrity_flags": [
                {k: n.get(k) for k in NOTE_FIELDS} | {"detail": n.get("detail") or ""}
                for n in self.integrity_flags
            ],
        }

    def stage_key(self, stage: str) -> str:
        """Stage name in derived event ids: each handling round raises its own alerts."""
        return stage if self.round == 0 else f"{stage}#{self.round}"


@dataclass(frozen=True)
class Decision:
    state: CaseState | None  # None: no case (a command for an unknown case id)
    changed: bool  # write the state back to the table
    emits: list[Emit]  # case events, in order
    snapshot: bool = False  # publish the (current) CaseState
    result: dict[str, Any] | None = None  # CommandResult, for commands
    forward: bool = False  # re-publish the input event itself (submissions)


def stage_late(entry: dict[str, Any]) -> bool:
    """A completed stage is late iff its outcome says so (judged at the completion's own time,
    whatever a breach tick processed before it said); an open stage iff it breached."""
    outcome = entry.get("outcome")
    if outcome is not None:
        return not outcome.get("on_time", True)
    return bool(entry.get("breached"))


def replay(state: CaseState, input_id: str) -> Decision | None:
    """A redelivered input: the same outputs as the first time, and nothing changes."""
    kept = state.outbox.get(input_id)
    if kept is None:
        return None
    emits = [(name, rec) for name, rec in kept["emits"]]
    return Decision(state, changed=False, emits=emits, snapshot=True, result=kept["result"])


# --- events ----------------------------------------------------------------------------------
def deadline_set(source_id: str, case_id: str, clock: StageClock, at: datetime) -> Emit:
    return (
        "DeadlineSet",
        {
            "envelope": envelope(
                derived_event_id(source_id, f"deadline/{clock.stage}"),
                case_id,
                "deadline_set",
                to_ms(at),
            ),
            "stage": clock.stage,
            "counted_from": to_ms(clock.counted_from),
            "due_at": to_ms(clock.due_at),
            "working_minutes": clock.working_minutes,
            "policy": clock.policy,
            "warn_at": to_ms(clock.warn_at),
            "level": clock.level,
        },
    )


def stage_completed(
    state: CaseState, clock: StageClock, outcome: StageOutcome, at: datetime
) -> Emit:
    return (
        "StageCompleted",
        {
            "envelope": envelope(
                derived_event_id(state.case_id, f"completed/{state.stage_key(clock.stage)}"),
                state.case_id,
                "stage_completed",
                to_ms(at),
            ),
            "stage": clock.stage,
            "level": clock.level,
            "due_at": to_ms(clock.due_at),
            "on_time": outcome.on_time,
            "late_working_minutes": outcome.late_working_minutes,
            "used_working_minutes": outcome.used_working_minutes,
            "unit_code": state.unit_code,
        },
    )


def sla_alert(state: CaseState, clock: StageClock, kind: str, at: datetime) -> Emit:
    """kind: "warning" | "breached" — one of each per stage of a case, ever."""
    return (
        "SlaAlert",
        {
            "envelope": envelope(
                derived_event_id(state.case_id, f"{kind}/{state.stage_key(clock.stage)}"),
                state.case_id,
                f"sla_{kind}",
                to_ms(at),
            ),
            "stage": clock.stage,
            "level": clock.level,
            "due_at": to_ms(clock.due_at),
            "unit_code": state.unit_code,
        },
    )


def sla_alert_withdrawn(
    state: CaseState, clock: StageClock, at: datetime, completed_at: datetime
) -> Emit:
    """The breach alert of this stage (and round) is contradicted by its completion's time."""
    key = state.stage_key(clock.stage)
    return (
        "SlaAlertWithdrawn",
        {
            "envelope": envelope(
                derived_event_id(state.case_id, f"withdrawn/{key}"),
                state.case_id,
                "sla_alert_withdrawn",
                to_ms(at),
            ),
            "stage": clock.stage,
            "level": clock.level,
            "due_at": to_ms(clock.due_at),
            "completed_at": to_ms(completed_at),
            "alert_event_id": derived_event_id(state.case_id, f"breached/{key}"),
            "unit_code": state.unit_code,
        },
    )


def raise_alerts(state: CaseState, stage: str, kinds: tuple[str, ...], at: datetime) -> list[Emit]:
    """Mark the stage warned/breached (each once); a breach implies its warning."""
    entry = state.stages[stage]
    entry.setdefault("unit", state.unit_code)  # lateness belongs to the unit responsible then
    clock = StageClock.from_dict(entry["clock"])
    out: list[Emit] = []
    if ("warning" in kinds or "breached" in kinds) and not entry["warned"]:
        entry["warned"] = True
        out.append(sla_alert(state, clock, "warning", at))
    if "breached" in kinds and not entry["breached"]:
        entry["breached"] = True
        out.append(sla_alert(state, clock, "breached", at))
    return out


def complete_stage(state: CaseState, stage: str, at: datetime, calendar: Calendar) -> list[Emit]:
    """End a stage at ``at`` (the command's own time): on time or late is decided by the working
    time used up to that instant, so a late completion is a breach even if no timer fired yet,
    and a completion in time withdraws a breach alert raised before it was processed."""
    entry = state.stages[stage]
    entry.setdefault("unit", state.unit_code)  # the unit that completed the stage answers for it
    clock = StageClock.from_dict(entry["clock"])
    outcome = clock.complete(at, calendar)
    entry["outcome"] = {
        "on_time": outcome.on_time,
        "late_working_minutes": outcome.late_working_minutes,
        "used_working_minutes": outcome.used_working_minutes,
        "at_ms": to_ms(at),
    }
    out: list[Emit] = []
    if not outcome.on_time:
        out = raise_alerts(state, stage, ("breached",), at)
    elif entry["breached"]:
        # event time: the tick came first, the facts say on time (issue 14)
        entry["breached"] = False
        entry["breach_withdrawn"] = True
        # stamped no earlier than the alert it withdraws (its tick's instant), so the log reads
        # in order; the completion's own time is in the record
        alert_ms = entry.get("breach_at_ms") or to_ms(clock.due_at)
        out = [sla_alert_withdrawn(state, clock, max(at, from_ms(alert_ms)), at)]
    return [*out, stage_completed(state, clock, outcome, at)]


# --- opening ---------------------------------------------------------------------------------
def open_case(
    state: CaseState | None,
    submitted: dict[str, Any],
    calendar: Calendar,
    policy: SlaPolicy | None = None,
    unit_code: str | None = None,
) -> Decision:
    """Apply a CaseSubmitted record: open the case at its responsible unit (``unit_code``, from
    routing; else the unit the sender chose) and start the receiving clock."""
    env = submitted["envelope"]
    event_id, case_id = str(env["event_id"]), str(env["case_id"])  # Avro uuid -> text
    submitted_at = as_datetime(env["occurred_at"])
    if state is not None:
        if state.submission_event_id == event_id and state.submitted_at_ms == to_ms(submitted_at):
            # A redelivery of the very event that opened the case (crash before the offset
            # commit): the outputs are emitted again, identical, and consumers dedup them.
            again = replay(state, event_id)
            emits = again.emits if again else []
            return Decision(state, changed=False, emits=emits, snapshot=True, forward=True)
        # The client retried with the same idempotency key: the first submission stands.
        return Decision(state, changed=False, emits=[])
    pol = policy or default_policy()
    process = submitted["process"]
    clock = pol.deadline(process, "receive", None, submitted_at, calendar)
    loc = submitted["location"]
    sender = submitted["sender"]
    new = CaseState(
        case_id=case_id,
        version=1,
        status="submitted",
        process=process,
        category=submitted["category"],
        title=submitted["title"],
        sender_pseudonym=sender["pseudonym"],
        confidential=sender["confidential"],
        submitted_at_ms=to_ms(submitted_at),
        updated_at_ms=to_ms(submitted_at),
        last_event_id=event_id,
        submission_event_id=event_id,
        unit_code=unit_code or submitted.get("unit_code"),
        commune_code=loc.get("commune_code"),
        lat=loc.get("lat"),
        lon=loc.get("lon"),
    )
    new.set_clock("receive", clock, calendar)
    emits = [deadline_set(event_id, case_id, clock, submitted_at)]
    new.remember(event_id, emits, None)
    return Decision(new, changed=True, emits=emits, snapshot=True, forward=True)


_STATE_FIELDS = tuple(f.name for f in fields(CaseState))


def _plain_copy(value: Any) -> Any:
    """A copy of nested dicts, lists and tuples; their leaves (str, numbers, None) are immutable."""
    kind = type(value)
    if kind is dict:
        return {k: _plain_copy(v) for k, v in value.items()}
    if kind is list:
        return [_plain_copy(v) for v in value]
    if kind is tuple:
        return tuple(_plain_copy(v) for v in value)
    return value
