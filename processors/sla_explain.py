"""An auditor's view of stage clocks: the verdict of one stage, and every clock of one case.

Pure, and the same code as the worker: ``outcome`` starts a clock with ``SlaPolicy.deadline``
and judges it with ``StageClock.complete`` (what ``processors/case.py`` does on a completion);
``explain`` reads a case's state as ``CaseState.to_dict()`` gives it (the worker's table, or the
``state_json`` of a ``case.state`` record). The policy and the calendar are arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from processors.calendar import TZ
from processors.sla import Calendar, Level, SlaPolicy, Stage, StageClock, breach_instant


def _iso(t: datetime | None) -> str | None:
    return None if t is None else t.isoformat()


def _iso_ms(ms: int | None, tz: Any) -> str | None:
    return (
        None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(tz).isoformat()
    )


def _local(t: datetime) -> datetime:
    return t.replace(tzinfo=TZ) if t.tzinfo is None else t.astimezone(TZ)


def outcome(
    process: str,
    stage: Stage,
    level: Level | None,
    started: datetime,
    done: datetime,
    calendar: Calendar,
    policy: SlaPolicy,
    *,
    submitted_at: datetime | None = None,
) -> dict[str, Any]:
    """The verdict of a stage started at ``started`` and completed at ``done``: due instant, on
    time or not, working minutes used and late (clock minutes for a clock-hour allowance)."""
    started, done = _local(started), _local(done)  # no offset: Asia/Ho_Chi_Minh
    clock = policy.deadline(
        process, stage, level, started, calendar, submitted_at=_local(submitted_at or started)
    )
    out = clock.complete(done, calendar)
    breach = breach_instant(clock, calendar)
    return {
        "process": process,
        "stage": stage,
        "level": level,
        "policy": clock.policy,
        "counted_from": _iso(clock.counted_from),
        "done_at": _iso(done),
        "allowance_minutes": clock.allowance_seconds // 60,
        "allowance_is_clock_time": clock.allowance_is_calendar,
        "warn_at": _iso(clock.warn_at),
        "due_at": _iso(clock.due_at),
        "breach_at": _iso(breach),
        "on_time": out.on_time,
        "used_working_minutes": out.used_working_minutes,
        "late_working_minutes": out.late_working_minutes,
    }


def _stage(name: str, entry: Mapping[str, Any], calendar: Calendar, round_: int) -> dict[str, Any]:
    clock = StageClock.from_dict(entry["clock"])
    tz = clock.due_at.tzinfo
    verdict: dict[str, Any]
    outcome_ = entry.get("outcome")
    if outcome_ is not None and outcome_.get("withdrawn"):
        verdict = {"state": "stopped", "reason": "the sender withdrew the case"}
    elif outcome_ is not None:
        verdict = {
            "state": "on_time" if outcome_.get("on_time") else "late",
            "completed_at": _iso_ms(outcome_.get("at_ms"), tz),
            "used_working_minutes": outcome_.get("used_working_minutes"),
            "late_working_minutes": outcome_.get("late_working_minutes"),
        }
    elif entry.get("breached"):
        verdict = {"state": "overdue"}
    else:
        verdict = {"state": "paused" if clock.paused else "open"}
    if entry.get("breach_withdrawn"):
        verdict["breach_alert_withdrawn"] = True  # the completion's own time contradicted it
    breach_ms = entry.get("breach_at_ms")
    breach = (
        _iso_ms(breach_ms, tz) if "breach_at_ms" in entry else _iso(breach_instant(clock, calendar))
    )
    return {
        "stage": name,
        "round": round_,
        "level": clock.level,
        "policy": clock.policy,
        "unit": entry.get("unit"),
        "counted_from": _iso(clock.counted_from),
        "allowance_minutes": clock.allowance_seconds // 60,
        "allowance_is_clock_time": clock.allowance_is_calendar,
        "warn_at": _iso(clock.warn_at),
        "due_at": _iso(clock.due_at),
        "breach_at": breach,
        "warned": bool(entry.get("warned")),
        "breached": bool(entry.get("breached")),
        "pauses": [{"from": _iso(p), "to": _iso(r)} for p, r in clock.pauses],
        "paused_since": _iso(clock.paused_at),
        "paused_working_minutes": int(clock.paused_working.total_seconds() // 60),
        "pause_limit": clock.pause_limit,
        "pause_budget_minutes": (
            None if clock.pause_budget_seconds is None else clock.pause_budget_seconds // 60
        ),
        "extension": (
            None
            if clock.legal_basis is None
            else {"legal_basis": clock.legal_basis, "due_at": _iso(clock.due_at)}
        ),
        "cap_at": _iso(clock.cap_at),
        "limit_at": _iso(clock.limit_at),
        "verdict": verdict,
    }


def explain(state: Mapping[str, Any], calendar: Calendar) -> dict[str, Any]:
    """Every stage clock of a case — earlier handling rounds first — with its pauses,
    extension and verdict, from ``CaseState.to_dict()``."""
    stages = []
    for i, past in enumerate(state.get("past_stages") or []):
        stages += [_stage(n, e, calendar, i) for n, e in past.items()]
    current = state.get("round", 0)
    stages += [_stage(n, e, calendar, current) for n, e in (state.get("stages") or {}).items()]
    late = [s["stage"] for s in stages if s["round"] == current and _late(s)]
    return {
        "case_id": state["case_id"],
        "status": state["status"],
        "process": state["process"],
        "unit_code": state.get("unit_code"),
        "level": state.get("level"),
        "version": state.get("version"),
        "repeat_count": state.get("repeat_count", 0),
        "late_stages": late,
        "stages": stages,
    }


def _late(stage: Mapping[str, Any]) -> bool:
    return stage["verdict"]["state"] in ("late", "overdue")


def explain_snapshot(record: Mapping[str, Any]) -> dict[str, Any]:
    """What a ``CaseState`` record without ``state_json`` tells (due instants, late stages):
    written by a worker that does not publish its full state."""

    def iso(value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.isoformat()
        return datetime.fromtimestamp(value / 1000, tz=UTC).isoformat()

    return {
        "case_id": str(record["case_id"]),
        "status": record["status"],
        "process": record["process"],
        "unit_code": record.get("unit_code"),
        "level": record.get("level"),
        "version": record.get("version"),
        "repeat_count": record.get("repeat_count", 0),
        "late_stages": list(record.get("late_stages") or []),
        "stages": [
            {"stage": s, "due_at": iso(record.get(f"{s}_due_at"))}
            for s in ("receive", "assign", "handle")
            if record.get(f"{s}_due_at") is not None
        ],
        "note": "this record carries no state_json: pauses, extension and verdicts are not shown",
    }
