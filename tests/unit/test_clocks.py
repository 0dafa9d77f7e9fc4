"""Warnings and breaches: each once per stage, never for a stage done in time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from processors.calendar import WorkingCalendar
from processors.case import CaseState, open_case, to_ms
from processors.clocks import apply_tick, due_entries
from processors.due_index import DueIndex
from processors.workflow import apply_command
from tests.factories import submitted_record
from tests.unit.test_workflow import cmd

HN = ZoneInfo("Asia/Ho_Chi_Minh")
CAL = WorkingCalendar()


def opened() -> CaseState:
    return open_case(None, submitted_record(datetime(2026, 3, 2, 9, 0, tzinfo=HN)), CAL).state


def tick(state: CaseState, stage: str, kind: str) -> dict:
    return {
        "case_id": state.case_id,
        "stage": stage,
        "kind": kind,
        "at": due_entries(state)[(stage, kind)],
    }


def test_receipt_warning_is_due_at_75_percent_of_the_allowance() -> None:
    s = opened()
    assert due_entries(s) == {
        ("receive", "warning"): to_ms(datetime(2026, 3, 2, 16, 0, tzinfo=HN)),
        # the first instant past the due: used time exceeds the 8 h (1 ms: the tick resolution)
        ("receive", "breach"): to_ms(datetime(2026, 3, 3, 9, 0, tzinfo=HN)) + 1,
    }


def test_a_due_at_the_end_of_the_day_breaches_at_the_next_working_instant() -> None:
    s = open_case(None, submitted_record(datetime(2026, 3, 7, 20, 0, tzinfo=HN)), CAL).state
    assert s.clock("receive").due_at == datetime(2026, 3, 9, 17, 0, tzinfo=HN)
    assert (
        due_entries(s)[("receive", "breach")] == to_ms(datetime(2026, 3, 10, 8, 0, tzinfo=HN)) + 1
    )


def test_a_due_warning_is_raised_once_even_when_the_tick_is_redelivered() -> None:
    s = opened()
    t = tick(s, "receive", "warning")
    first = apply_tick(s, t)
    assert [r["envelope"]["event_type"] for _, r in first.emits] == ["sla_warning"]
    again = apply_tick(CaseState.from_dict(first.state.to_dict()), t)
    assert not again.changed and again.emits == first.emits  # same ids: deduplicated downstream
    assert ("receive", "warning") not in due_entries(first.state)


def test_a_breach_without_a_prior_warning_raises_both_once() -> None:
    s = opened()
    d = apply_tick(s, tick(s, "receive", "breach"))
    assert [r["envelope"]["event_type"] for _, r in d.emits] == ["sla_warning", "sla_breached"]
    assert due_entries(d.state) == {}


def test_ticks_for_a_stage_completed_in_time_change_nothing() -> None:
    s = opened()
    stale = tick(s, "receive", "breach")
    s = apply_command(s, cmd(s, "receive", datetime(2026, 3, 2, 10, 0, tzinfo=HN)), CAL).state
    d = apply_tick(s, stale)
    assert d.emits == [] and not d.changed


def test_due_index_pops_in_time_order_and_skips_superseded_entries() -> None:
    idx = DueIndex()
    idx.set("a", {("receive", "breach"): 30, ("receive", "warning"): 10})
    idx.set("b", {("receive", "warning"): 20})
    idx.set("a", {("receive", "breach"): 40})  # the warning went, the deadline moved
    assert idx.pop_due(35) == [(20, "b", "receive", "warning")]
    assert idx.next_at() == 40 and len(idx) == 1
    idx.set("a", {})
    assert idx.pop_due(10**15) == [] and len(idx) == 0


@given(
    st.lists(st.tuples(st.sampled_from("abcdef"), st.integers(0, 100), st.booleans()), max_size=60),
    st.integers(0, 100),
)
def test_due_index_returns_exactly_the_current_entries_that_are_due(ops, now) -> None:
    idx = DueIndex()
    current: dict[str, int] = {}
    for case, at, remove in ops:
        if remove:
            idx.set(case, {})
            current.pop(case, None)
        else:
            idx.set(case, {("handle", "breach"): at})
            current[case] = at
    got = sorted((c, at) for at, c, _, _ in idx.pop_due(now))
    assert got == sorted((c, at) for c, at in current.items() if at <= now)
