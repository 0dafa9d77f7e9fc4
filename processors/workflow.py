"""The life of a case: one state machine per process, sharing the common flow (domain.md §4).

submitted → received | rejected → assigned | forwarded (to a lower unit) | transfer proposed →
transferred (to a department) → [awaiting information: clock paused] → result proposed (with
evidence) → published → rated; not satisfied → reopened as a repeat; extension requested and
approved; withdrawn by the sender. Every command is accepted (state changes, events follow) or
refused with a stable code; a refusal never changes the case. Refusals are remembered so that a
redelivered command gets the same answer.

The stage clocks of §5 ride on the transitions: receipt ends the receiving stage and starts the
assigning and handling clocks; assignment (or forwarding, or an accepted transfer) ends the
assigning stage; approval of the result ends handling; a reopened case starts both again.
"""

from __future__ import annotations

from collections.abc import Callable
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

KEEP, BACK = "=", "<"  # keep the status / return to the status before (pause, transfer proposal)

# status -> command -> next status: the common machine of every process.
COMMON: dict[str, dict[str, str]] = {
    "submitted": {"receive": "received", "reject": "rejected", "withdraw": "withdrawn"},
    "received": {
        "assign": "assigned",
        "forward": "forwarded",
        "propose_transfer": "transfer_proposed",
        "request_info": "awaiting_info",
        "classify": KEEP,
        "request_extension": KEEP,
        "approve_extension": KEEP,
        "withdraw": "withdrawn",
    },
    "forwarded": {
        "assign": "assigned",
        "propose_transfer": "transfer_proposed",
        "classify": KEEP,
        "withdraw": "withdrawn",
    },
    "transferred": {
        "assign": "assigned",
        "forward": "forwarded",
        "classify": KEEP,
        "withdraw": "withdrawn",
    },
    "assigned": {
        "propose_result": "result_proposed",
        "propose_transfer": "transfer_proposed",
        "request_info": "awaiting_info",
        "classify": KEEP,
        "request_extension": KEEP,
        "approve_extension": KEEP,
        "withdraw": "withdrawn",
    },
    "transfer_proposed": {
        "approve_transfer": "transferred",
        "decline_transfer": BACK,
        "withdraw": "withdrawn",
    },
    # waiting for the sender: the sender answers (provide_info) or the unit ends it (resume)
    "awaiting_info": {
        "provide_info": BACK,
        "resume": BACK,
        "classify": KEEP,
        "withdraw": "withdrawn",
    },
    "result_proposed": {
        "approve_result": "published",
        "return_result": "assigned",
        "withdraw": "withdrawn",
    },
    "published": {"rate": KEEP},  # the rating decides: closed or rated_unsatisfied
    "rated_unsatisfied": {"reopen": "received"},
    "closed": {},
    "rejected": {},
    "withdrawn": {},
}
STATUSES = tuple(COMMON)
TERMINAL = frozenset({"closed", "rejected", "withdrawn"})
# The unit has answered: nothing is awaited from it (a reopened case is open again).
ANSWERED = frozenset({"published", "rated_unsatisfied", *TERMINAL})

# What each process leaves out of the common machine (§4.2, §4.3; choices in docs/workflow.md).
EXCLUDED: dict[str, frozenset[str]] = {
    "field_feedback": frozenset(),
    "waste_report": frozenset(),  # step 2: the head assigns a division or forwards to a commune
    "administrative_procedure": frozenset({"forward"}),  # the unit owning the procedure answers
    "investor_business": frozenset({"forward"}),  # the handling unit's head answers itself
    "initiative": frozenset({"forward"}),
}


def machine(process: str) -> dict[str, dict[str, str]]:
    excluded = EXCLUDED.get(process, frozenset())
    return {s: {c: t for c, t in cmds.items() if c not in excluded} for s, cmds in COMMON.items()}


MACHINES = {p: machine(p) for p in EXCLUDED}
COMMANDS = frozenset(c for cmds in COMMON.values() for c in cmds)
SENDER_COMMANDS = frozenset({"rate", "reopen", "withdraw", "provide_info"})

# --- who does each step (domain.md §1, §4) ----------------------------------------------------
RECEIVING, HANDLING, HEAD, SENDER = "receiving_officer", "handling_officer", "head", "sender"
_RECEIVERS = frozenset({RECEIVING, HEAD})
_HANDLERS = frozenset({HANDLING, HEAD})
_HEAD = frozenset({HEAD})
# command -> roles that may give it, for every process (a head may do what the unit's officers do;
# only a head approves). Mirrors gateway/auth.py RULES, which checks the role at the door; the
# worker checks it again with the process, which only it knows.
STEP_ROLES: dict[str, frozenset[str]] = {
    "receive": _RECEIVERS,
    "reject": _RECEIVERS,
    "assign": _RECEIVERS,
    "forward": _RECEIVERS,
    "propose_transfer": _RECEIVERS,
    "classify": frozenset({RECEIVING, HANDLING, HEAD}),
    "request_info": _HANDLERS,
    "resume": _HANDLERS,
    "request_extension": _HANDLERS,
    "propose_result": _HANDLERS,
    "approve_transfer": _HEAD,
    "decline_transfer": _HEAD,
    "approve_extension": _HEAD,
    "approve_result": _HEAD,
    "return_result": _HEAD,
    **{c: frozenset({SENDER}) for c in ("rate", "reopen", "withdraw", "provide_info")},
}
# §4.2, the waste report's five steps: (1) the head (thủ trưởng) checks and receives; (2) the head
# assigns a division or forwards to the commune, where the commune leader (its head) assigns an
# officer; (3) the handling person researches; (4) the handling person records the proposed
# result; (5) the head approves and notifies.
PROCESS_STEP_ROLES: dict[str, dict[str, frozenset[str]]] = {
    "waste_report": {
        "receive": _HEAD,
        "reject": _HEAD,
        "assign": _HEAD,
        "forward": _HEAD,
        "propose_transfer": _HEAD,
        "propose_result": frozenset({HANDLING}),
        "approve_result": _HEAD,
    },
}


def step_roles(process: str, command: str) -> frozenset[str]:
    """The roles that may give ``command`` on a case of ``process``."""
    return PROCESS_STEP_ROLES.get(process, {}).get(command) or STEP_ROLES.get(command, frozenset())


REJECTION_REASONS = frozenset(
    {
        "out_of_scope_complaint",  # complaints and denunciations: another channel by law
        "state_secret",
        "insufficient_information",
        "offensive",
        "reused_or_edited_media",
        "duplicate",
    }
)
RATINGS = frozenset({"satisfied", "not_satisfied"})

# Checks a target unit for forward / propose_transfer: returns None or a refusal code.
TargetCheck = Callable[[str, str, CaseState], str | None]


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


def _authorise(state: CaseState, cmd: dict[str, Any]) -> None:
    """Bind the actor to this case: an officer acts on their unit's cases (a transfer is
    accepted by the target unit), a sender only on their own case. Roles are checked at the
    gateway, where the token is verified."""
    role = cmd.get("actor_role")
    if role is None:
        return  # a trusted system producer (agency integration) acting for the unit
    if role not in step_roles(state.process, cmd["command"]):
        raise Refused("role_not_allowed")  # this step of this process is another role's
    if role == "sender" or cmd["command"] in SENDER_COMMANDS:
        if role != "sender" or cmd.get("actor_pseudonym") != state.sender_pseudonym:
            raise Refused("not_your_case")
        return
    unit = (
        state.pending_transfer
        if cmd["command"] in ("approve_transfer", "decline_transfer")
        else state.unit_code
    )
    if cmd.get("actor_unit") != unit:
        raise Refused("not_your_unit")


def apply_command(
    state: CaseState | None,
    cmd: dict[str, Any],
    calendar: Calendar,
    policy: SlaPolicy | None = None,
    check_target: TargetCheck | None = None,
) -> Decision:
    """Apply a decoded CaseCommand to the case (None: the case is not known here)."""
    command_id = str(cmd["envelope"]["event_id"])
    if state is None:
        return Decision(None, False, [], result=command_result(cmd, False, "unknown_case", None))
    again = replay(state, command_id)
    if again is not None:
        return again
    at = as_datetime(cmd["envelope"]["occurred_at"])
    name = cmd["command"]
    before = state.status
    try:
        if name not in COMMANDS:
            raise Refused("unknown_command")
        target = MACHINES.get(state.process, COMMON)[state.status].get(name)
        if target is None:
            raise Refused("invalid_transition")
        _authorise(state, cmd)
        ctx = _Ctx(state, cmd, at, calendar, policy or default_policy(), check_target)
        emits = _EFFECTS[name](ctx)
        if target == BACK:
            state.status, state.resume_status = state.resume_status or "received", None
        elif target != KEEP and state.status == before:
            state.status = target
    except (Refused, SlaError) as exc:
        result = command_result(cmd, False, exc.code, state)
        state.remember(command_id, [], result)
        return Decision(state, changed=True, emits=[], result=result)
    state.version += 1
    state.updated_at_ms = to_ms(at)
    state.last_event_id = command_id
    if state.status not in ANSWERED:
        state.answered_at_ms = None
    elif before not in ANSWERED:
        state.answered_at_ms = state.updated_at_ms
    emits.insert(0, _transition(state, cmd, before, at))
    result = command_result(cmd, True, "ok", state)
    state.remember(command_id, emits, result)
    return Decision(state, changed=True, emits=emits, snapshot=True, result=result)


def _transition(state: CaseState, cmd: dict[str, Any], before: str, at: datetime) -> Emit:
    command_id = str(cmd["envelope"]["event_id"])
    return (
        "CaseTransition",
        {
            "envelope": envelope(
                derived_event_id(command_id, "transition"),
                state.case_id,
                "case_transition",
                to_ms(at),
            ),
            "command": cmd["command"],
            "command_id": command_id,
            "from_status": before,
            "to_status": state.status,
            "unit_code": state.unit_code,
            "actor_role": cmd.get("actor_role"),
            "actor_unit": cmd.get("actor_unit"),
            "reason": cmd.get("reason"),
            "target_unit": cmd.get("target_unit"),
            "level": state.level,
            "assignee": cmd.get("assignee"),
            "result_text": cmd.get("result_text"),
            "evidence": list(cmd.get("evidence") or []),
            "rating": cmd.get("rating"),
            "repeat": state.repeat_count,
        },
    )


# --- effects: one function per command -------------------------------------------------------
class _Ctx:
    __slots__ = ("at", "cal", "check_target", "cmd", "pol", "s")

    def __init__(
        self,
        s: CaseState,
        cmd: dict[str, Any],
        at: datetime,
        cal: Calendar,
        pol: SlaPolicy,
        check_target: TargetCheck | None,
    ) -> None:
        self.s, self.cmd, self.at, self.cal, self.pol = s, cmd, at, cal, pol
        self.check_target = check_target

    @property
    def command_id(self) -> str:
        return str(self.cmd["envelope"]["event_id"])

    def end(self, stage: str) -> list[Emit]:
        """End a stage if it is still open (assignment may end by forward or transfer)."""
        entry = self.s.stages.get(stage)
        if entry is None or entry["outcome"] is not None:
            return []
        return complete_stage(self.s, stage, self.at, self.cal)

    def start(self, stage: str, level: str | None) -> Emit:
        s = self.s
        submitted = as_datetime(s.submitted_at_ms)
        clock = self.pol.deadline(
            s.process, stage, level, self.at, self.cal, submitted_at=submitted
        )
        s.set_clock(stage, clock, self.cal)
        return deadline_set(self.command_id, s.case_id, clock, self.at)

    def target(self) -> str:
        unit = self.cmd.get("target_unit")
        if not unit:
            raise Refused("target_unit_required")
        if unit == self.s.unit_code:
            raise Refused("target_is_current_unit")
        if self.check_target is not None:
            code = self.check_target(self.cmd["command"], unit, self.s)
            if code:
                raise Refused(code)
        return unit


def _receive(c: _Ctx) -> list[Emit]:
    level = c.cmd.get("level") or "normal"
    if level not in LEVELS:
        raise Refused("invalid_level")
    emits = c.end("receive")
    c.s.level = level
    return [*emits, c.start("assign", None), c.start("handle", level)]


def _reject(c: _Ctx) -> list[Emit]:
    if c.cmd.get("reason") not in REJECTION_REASONS:
        raise Refused("rejection_reason_required")
    c.s.rejection_reason = c.cmd["reason"]
    return c.end("receive")


def _assign(c: _Ctx) -> list[Emit]:
    if not c.cmd.get("assignee"):
        raise Refused("assignee_required")
    c.s.assignee = c.cmd["assignee"]
    return c.end("assign")


def _forward(c: _Ctx) -> list[Emit]:
    c.s.unit_code = c.target()
    return c.end("assign")  # directing a lower unit is the coordination step (điều phối)


def _propose_transfer(c: _Ctx) -> list[Emit]:
    c.s.pending_transfer = c.target()
    c.s.resume_status = c.s.status
    return []


def _approve_transfer(c: _Ctx) -> list[Emit]:
    c.s.unit_code, c.s.pending_transfer, c.s.resume_status = c.s.pending_transfer, None, None
    c.s.assignee = None
    return c.end("assign")


def _decline_transfer(c: _Ctx) -> list[Emit]:
    c.s.pending_transfer = None
    return []


def _request_info(c: _Ctx) -> list[Emit]:
    """Ask the sender for information, saying what is missing. The handling clock stops only
    where the SLA policy lets it (off in the shipped policy: the seed has no pause), within the
    policy's bounds (pause_limit_reached, pause_budget_used, pause_after_due)."""
    if not (c.cmd.get("reason") or "").strip():
        raise Refused("reason_required")
    clock = c.s.clock("handle")
    assert clock is not None  # received cases always have a handling clock
    if clock.pausable:
        c.s.set_clock("handle", clock.pause(c.at), c.cal)
    c.s.resume_status = c.s.status
    return []


def _resume(c: _Ctx) -> list[Emit]:
    """The unit ends the wait (with a reason); ``provide_info``: the sender's answer ends it."""
    if c.cmd["command"] == "resume" and not (c.cmd.get("reason") or "").strip():
        raise Refused("reason_required")
    clock = c.s.clock("handle")
    assert clock is not None
    if not clock.paused:
        return []  # the clock never stopped (the policy has no pause)
    clock = clock.resume(c.at, c.cal)
    c.s.set_clock("handle", clock, c.cal)
    return [deadline_set(c.command_id, c.s.case_id, clock, c.at)]


def _classify(c: _Ctx) -> list[Emit]:
    level = c.cmd.get("level")
    if level not in LEVELS:
        raise Refused("invalid_level")
    clock = c.s.clock("handle")
    assert clock is not None
    clock = c.pol.reclassify(clock, level, c.cal, submitted_at=as_datetime(c.s.submitted_at_ms))
    c.s.set_clock("handle", clock, c.cal)
    c.s.level = level
    return [deadline_set(c.command_id, c.s.case_id, clock, c.at)]


def _extended_clock(c: _Ctx, new_due: Any, legal_basis: str | None) -> Any:
    if c.s.stages["handle"]["breached"]:
        raise Refused("extension_after_breach")  # an extension cannot undo lateness
    if new_due is None:
        raise Refused("new_due_required")
    clock = c.s.clock("handle")
    assert clock is not None
    return clock.extend(as_datetime(new_due), legal_basis or "")  # SlaError: basis, cap


def _request_extension(c: _Ctx) -> list[Emit]:
    _extended_clock(c, c.cmd.get("new_due_at"), c.cmd.get("legal_basis"))  # valid now?
    c.s.pending_extension = {
        "new_due_ms": to_ms(as_datetime(c.cmd["new_due_at"])),
        "legal_basis": c.cmd.get("legal_basis"),
    }
    return []


def _approve_extension(c: _Ctx) -> list[Emit]:
    pending = c.s.pending_extension
    if pending is None:
        raise Refused("no_extension_requested")
    clock = _extended_clock(c, pending["new_due_ms"], pending["legal_basis"])
    c.s.set_clock("handle", clock, c.cal)
    c.s.pending_extension = None
    return [deadline_set(c.command_id, c.s.case_id, clock, c.at)]


def _propose_result(c: _Ctx) -> list[Emit]:
    if not c.cmd.get("evidence"):
        raise Refused("evidence_required")  # §4.1 step 3: at least one photo or document
    if not c.cmd.get("result_text"):
        raise Refused("result_text_required")
    c.s.result = {
        "text": c.cmd["result_text"],
        "evidence": [e["sha256"] for e in c.cmd["evidence"]],
    }
    return []


def _return_result(c: _Ctx) -> list[Emit]:
    if not c.cmd.get("reason"):
        raise Refused("reason_required")
    c.s.result = None
    return []


def _approve_result(c: _Ctx) -> list[Emit]:
    c.s.published_at_ms = to_ms(c.at)
    return c.end("handle")


def _rate(c: _Ctx) -> list[Emit]:
    rating = c.cmd.get("rating")
    if rating not in RATINGS:
        raise Refused("invalid_rating")
    c.s.rating = rating
    c.s.ratings = [*c.s.ratings, rating]
    c.s.status = "closed" if rating == "satisfied" else "rated_unsatisfied"
    return []


def _reopen(c: _Ctx) -> list[Emit]:
    """A repeat (phản ánh lại): handling starts over from now, counted as a new round."""
    s = c.s
    s.repeat_count += 1
    s.reopened_at_ms = [*s.reopened_at_ms, to_ms(c.at)]
    s.round += 1
    s.result, s.rating, s.published_at_ms, s.assignee = None, None, None, None
    s.past_stages = [
        *s.past_stages,
        {k: s.stages.pop(k) for k in ("assign", "handle") if k in s.stages},
    ]
    return [c.start("assign", None), c.start("handle", s.level or "normal")]


def _withdraw(c: _Ctx) -> list[Emit]:
    c.s.pending_transfer = c.s.pending_extension = c.s.resume_status = None
    for entry in c.s.stages.values():
        if entry["outcome"] is None:
            entry["outcome"] = {
                "on_time": True,
                "withdrawn": True,
                "at_ms": to_ms(c.at),
                "late_working_minutes": 0,
                "used_working_minutes": 0,
            }
    return []


_EFFECTS: dict[str, Callable[[_Ctx], list[Emit]]] = {
    "receive": _receive,
    "reject": _reject,
    "assign": _assign,
    "forward": _forward,
    "propose_transfer": _propose_transfer,
    "approve_transfer": _approve_transfer,
    "decline_transfer": _decline_transfer,
    "request_info": _request_info,
    "resume": _resume,
    "provide_info": _resume,
    "classify": _classify,
    "request_extension": _request_extension,
    "approve_extension": _approve_extension,
    "propose_result": _propose_result,
    "return_result": _return_result,
    "approve_result": _approve_result,
    "rate": _rate,
    "reopen": _reopen,
    "withdraw": _withdraw,
}
