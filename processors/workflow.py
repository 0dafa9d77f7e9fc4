"""Officers' commands on a case: accepted (state changes, events follow) or refused with a code.

The stage clocks of domain.md §5: receipt ends the receiving stage and starts the assigning and
handling clocks (counted from receipt); a request for supplementary information pauses handling;
reclassification recomputes the handling deadline from receipt. Refused commands change nothing
but are remembered, so a redelivered command gets the same answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from processors.case import (
    CaseState,
    Decision,
    Emit,
    as_datetime,
    complete_stage,
    deadline_set,
    derived_event_id,
    envelope,
    replay,
    to_ms,
)
from processors.sla import LEVELS, Calendar, SlaError, SlaPolicy, default_policy

# command -> statuses it may be applied in
ALLOWED_FROM: dict[str, frozenset[str]] = {
    "receive": frozenset({"submitted"}),
    "reject": frozenset({"submitted"}),
    "assign": frozenset({"received"}),
    "classify": frozenset({"received", "assigned", "awaiting_info"}),
    "request_info": frozenset({"received", "assigned"}),
    "resume": frozenset({"awaiting_info"}),
    "extend": frozenset({"received", "assigned"}),
    "complete_handling": frozenset({"assigned"}),
}


class Refused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def command_result(
    cmd: dict[str, Any], accepted: bool, code: str, state: CaseState | None
) -> dict[str, Any]:
    env = cmd["envelope"]
    command_id = str(env["event_id"])
    return {
        "envelope": envelope(
            derived_event_id(command_id, "result"),
            str(env["case_id"]),
            "command_result",
            to_ms(as_datetime(env["occurred_at"])),
        ),
        "command_id": command_id,
        "command": cmd["command"],
        "accepted": accepted,
        "code": code,
        "status": state.status if state else None,
        "version": state.version if state else 0,
    }


def apply_command(
    state: CaseState | None,
    cmd: dict[str, Any],
    calendar: Calendar,
    policy: SlaPolicy | None = None,
) -> Decision:
    """Apply a decoded CaseCommand to the case (None: the case is not known here)."""
    command_id = str(cmd["envelope"]["event_id"])
    if state is None:
        result = command_result(cmd, False, "unknown_case", None)
        return Decision(None, changed=False, emits=[], result=result)
    again = replay(state, command_id)
    if again is not None:
        return again
    at = as_datetime(cmd["envelope"]["occurred_at"])
    try:
        if state.status not in ALLOWED_FROM.get(cmd["command"], frozenset()):
            raise Refused(
                "unknown_command" if cmd["command"] not in ALLOWED_FROM else "invalid_transition"
            )
        emits = _APPLY[cmd["command"]](state, cmd, at, calendar, policy or default_policy())
    except (Refused, SlaError) as exc:
        result = command_result(cmd, False, exc.code, state)
        state.remember(command_id, [], result)
        return Decision(state, changed=True, emits=[], result=result)
    state.version += 1
    state.updated_at_ms = to_ms(at)
    state.last_event_id = command_id
    result = command_result(cmd, True, "ok", state)
    state.remember(command_id, emits, result)
    return Decision(state, changed=True, emits=emits, snapshot=True, result=result)


# --- one function per command ----------------------------------------------------------------
def _receive(
    s: CaseState, cmd: dict[str, Any], at: datetime, cal: Calendar, pol: SlaPolicy
) -> list[Emit]:
    level = cmd.get("level") or "normal"
    if level not in LEVELS:
        raise Refused("invalid_level")
    emits = complete_stage(s, "receive", at, cal)
    submitted = as_datetime(s.submitted_at_ms)
    cid = str(cmd["envelope"]["event_id"])
    s.level = level
    for stage, lvl in (("assign", None), ("handle", level)):
        clock = pol.deadline(s.process, stage, lvl, at, cal, submitted_at=submitted)
        s.set_clock(stage, clock)
        emits.append(deadline_set(cid, s.case_id, clock, at))
    s.status = "received"
    return emits


def _reject(
    s: CaseState, cmd: dict[str, Any], at: datetime, cal: Calendar, _pol: SlaPolicy
) -> list[Emit]:
    if not cmd.get("reason"):
        raise Refused("reason_required")
    emits = complete_stage(s, "receive", at, cal)
    s.status = "rejected"
    return emits


def _assign(
    s: CaseState, _cmd: dict[str, Any], at: datetime, cal: Calendar, _pol: SlaPolicy
) -> list[Emit]:
    s.status = "assigned"
    return complete_stage(s, "assign", at, cal)


def _classify(
    s: CaseState, cmd: dict[str, Any], at: datetime, cal: Calendar, pol: SlaPolicy
) -> list[Emit]:
    level = cmd.get("level")
    if level not in LEVELS:
        raise Refused("invalid_level")
    clock = s.clock("handle")
    assert clock is not None  # received cases always have a handling clock
    clock = pol.reclassify(clock, level, cal, submitted_at=as_datetime(s.submitted_at_ms))
    s.set_clock("handle", clock)
    s.level = level
    return [deadline_set(str(cmd["envelope"]["event_id"]), s.case_id, clock, at)]


def _request_info(
    s: CaseState, _cmd: dict[str, Any], at: datetime, _cal: Calendar, _pol: SlaPolicy
) -> list[Emit]:
    clock = s.clock("handle")
    assert clock is not None
    s.set_clock("handle", clock.pause(at))
    s.resume_status, s.status = s.status, "awaiting_info"
    return []


def _resume(
    s: CaseState, cmd: dict[str, Any], at: datetime, cal: Calendar, _pol: SlaPolicy
) -> list[Emit]:
    clock = s.clock("handle")
    assert clock is not None
    clock = clock.resume(at, cal)
    s.set_clock("handle", clock)
    s.status, s.resume_status = s.resume_status or "received", None
    return [deadline_set(str(cmd["envelope"]["event_id"]), s.case_id, clock, at)]


def _extend(
    s: CaseState, cmd: dict[str, Any], at: datetime, _cal: Calendar, _pol: SlaPolicy
) -> list[Emit]:
    """Only where a legal procedure must be followed, and never past the cap (SlaError codes)."""
    entry = s.stages["handle"]
    if entry["breached"]:
        raise Refused("extension_after_breach")  # an extension cannot undo lateness
    if cmd.get("new_due_at") is None:
        raise Refused("new_due_required")
    clock = s.clock("handle")
    assert clock is not None
    clock = clock.extend(as_datetime(cmd["new_due_at"]), cmd.get("legal_basis") or "")
    s.set_clock("handle", clock)
    return [deadline_set(str(cmd["envelope"]["event_id"]), s.case_id, clock, at)]


def _complete_handling(
    s: CaseState, _cmd: dict[str, Any], at: datetime, cal: Calendar, _pol: SlaPolicy
) -> list[Emit]:
    s.status = "handled"
    return complete_stage(s, "handle", at, cal)


_APPLY = {
    "receive": _receive,
    "reject": _reject,
    "assign": _assign,
    "classify": _classify,
    "request_info": _request_info,
    "resume": _resume,
    "extend": _extend,
    "complete_handling": _complete_handling,
}
