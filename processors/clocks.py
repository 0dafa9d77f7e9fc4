"""When a case's stage clocks next need attention, and what a due clock means.

A worker keeps the instants of its cases' open clocks in a time-ordered index (``DueIndex``);
when one comes due its timer emits a ClockTick, and the agent owning the case applies it here.
A tick is acted on only if it still matches the case (the stage is open, not paused, and the
instant is the clock's current warning or deadline): stale ticks — after completion, a
reclassification or a pause — change nothing. Each stage warns once and breaches once.
"""

from __future__ import annotations

from typing import Any

from processors.case import CaseState, Decision, as_datetime, raise_alerts, replay, to_ms

WARNING, BREACH = "warning", "breach"


def tick_id(case_id: str, stage: str, kind: str, at_ms: int) -> str:
    return f"tick/{case_id}/{stage}/{kind}/{at_ms}"


def due_entries(state: CaseState) -> dict[tuple[str, str], int]:
    """(stage, kind) -> instant (ms) of every alert this case may still raise."""
    out: dict[tuple[str, str], int] = {}
    for stage, entry in state.stages.items():
        clock = entry["clock"]
        if entry["outcome"] is not None or clock["paused_at"] is not None:
            continue
        clk = state.clock(stage)
        assert clk is not None
        if not entry["warned"]:
            out[(stage, WARNING)] = to_ms(clk.warn_at)
        if not entry["breached"]:
            out[(stage, BREACH)] = to_ms(clk.due_at)
    return out


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
