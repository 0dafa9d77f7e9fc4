"""When a case's stage clocks next need attention, and what a due clock means.

A worker keeps the instants of its cases' open clocks in a time-ordered index (``DueIndex``);
when one comes due its timer emits a ClockTick, and the agent owning the case applies it here.
A tick is acted on only if it still matches the case (the stage is open, and the instant is the
clock's current warning or breach instant): stale ticks — after completion, a reclassification or
a pause — change nothing. Each stage warns once and breaches once.

The breach instant is the first instant at which the stage has used more working time than its
allowance: the next working instant after the due (Mon 08:00 for a due at Fri 17:00), stored
with the stage when its clock is set (``CaseState.set_clock`` with the calendar). A paused clock
only breaches if the policy bounds the pause and the bound runs out first. A breach is a fact of
processing time; the completion's own time (event time) decides the outcome, and withdraws a
breach alert it contradicts (processors/case.py ``complete_stage``).
"""

from __future__ import annotations

from typing import Any

from processors.case import CaseState, Decision, as_datetime, raise_alerts, replay, to_ms
from processors.sla import StageClock

WARNING, BREACH = "warning", "breach"


def tick_id(case_id: str, stage: str, kind: str, at_ms: int) -> str:
    return f"tick/{case_id}/{stage}/{kind}/{at_ms}"


def due_entries(state: CaseState) -> dict[tuple[str, str], int]:
    """(stage, kind) -> instant (ms) of every alert this case may still raise."""
    out: dict[tuple[str, str], int] = {}
    for stage, entry in state.stages.items():
        if entry["outcome"] is not None:
            continue
        paused = entry["clock"]["paused_at"] is not None
        if "breach_at_ms" in entry:
            breach_ms = entry["breach_at_ms"]  # None: paused without a bound
        else:  # stored before breach instants: the due instant, not while paused
            breach_ms = None if paused else to_ms(_clock(state, stage).due_at)
        if not entry["warned"] and not paused:
            out[(stage, WARNING)] = to_ms(_clock(state, stage).warn_at)
        if not entry["breached"] and breach_ms is not None:
            out[(stage, BREACH)] = breach_ms
    return out


def _clock(state: CaseState, stage: str) -> StageClock:
    clk = state.clock(stage)
    assert clk is not None
    return clk


def apply_tick(state: CaseState | None, tick: dict[str, Any]) -> Decision:
    """Apply a ClockTick record (case_id, stage, kind, at)."""
    if state is None:
        return Decision(None, changed=False, emits=[])
    at_ms = to_ms(as_datetime(tick["at"]))
    input_id = tick_id(state.case_id, tick["stage"], tick["kind"], at_ms)
    again = replay(state, input_id)
    if again is not None:
        return again
    if due_entries(state).get((tick["stage"], tick["kind"])) != at_ms:
        return Decision(state, changed=False, emits=[])  # stale: nothing is due any more
    kinds = ("breached",) if tick["kind"] == BREACH else ("warning",)
    emits = raise_alerts(state, tick["stage"], kinds, as_datetime(at_ms))
    state.version += 1
    state.remember(input_id, emits, None)
    return Decision(state, changed=True, emits=emits, snapshot=True)
