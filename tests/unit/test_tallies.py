"""Monthly figures per unit (domain.md §6): exact under redelivery, flags raised once."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from processors.tallies import (
    BIT,
    FACTS,
    Thresholds,
    apply_facts,
    case_facts,
    counts_of,
    month_of,
)
from processors.workflow import apply_command
from tests.unit.test_workflow import CAL, cmd, opened, walk

HN = ZoneInfo("Asia/Ho_Chi_Minh")
TH = Thresholds()


def facts(mask: int) -> set[str]:
    return {f for f in FACTS if mask & BIT[f]}


def test_a_case_counts_in_the_month_it_was_submitted_in_hanoi_time() -> None:
    assert (
        month_of(int(datetime(2026, 1, 31, 17, 30, tzinfo=ZoneInfo("UTC")).timestamp() * 1000))
        == "2026-02"
    )


def test_late_receipt_counts_against_the_unit_that_received() -> None:
    s = opened()
    s = apply_command(s, cmd(s, "receive", datetime(2026, 3, 3, 11, 0, tzinfo=HN)), CAL).state
    assert facts(case_facts(s)["00070"]) == {"received", "receive_late", "late"}


def test_handling_on_time_after_a_transfer_counts_for_the_department() -> None:
    s = walk("field_feedback", "transferred")
    s.stages["handle"]["unit"] = None  # not completed yet: belongs to the current unit
    for name in ("assign", "propose_result", "approve_result"):
        s = apply_command(s, cmd(s, name), CAL).state
    by_unit = {u: facts(m) for u, m in case_facts(s).items()}
    assert "handle_on_time" in by_unit["SXD"] and "handle_on_time" not in by_unit["00070"]
    assert "received" in by_unit["00070"] and "received" in by_unit["SXD"]


def test_repeats_rated_not_satisfied_again_are_counted() -> None:
    s = walk("field_feedback", "rated_unsatisfied")
    s = apply_command(s, cmd(s, "reopen"), CAL).state
    for name in ("assign", "propose_result", "approve_result", "rate"):
        s = apply_command(s, cmd(s, name), CAL).state
    assert {"repeat", "repeat_not_satisfied", "not_satisfied"} <= facts(case_facts(s)["00070"])


def test_the_same_facts_twice_or_an_older_version_change_nothing() -> None:
    t, changed, _ = apply_facts(None, "u", "2026-03", "c1", BIT["received"], 3, TH)
    assert changed and t["counts"]["received"] == 1
    for version in (3, 2):
        t2, changed, raised = apply_facts(t, "u", "2026-03", "c1", 0, version, TH)
        assert not changed and not raised and t2["counts"]["received"] == 1


def test_late_share_above_30_percent_raises_one_flag() -> None:
    t = None
    raised_all = []
    late = BIT["received"] | BIT["late"] | BIT["handle_late"]
    for i, mask in enumerate([BIT["received"]] * 2 + [late]):
        t, _, raised = apply_facts(t, "u", "2026-03", f"c{i}", mask, 1, TH)
        raised_all += raised
    assert raised_all == ["late_share"]  # 1 of 3 = 33 % > 30 %
    t, _, raised = apply_facts(t, "u", "2026-03", "c9", late, 1, TH)
    assert raised == [] and t["flags"] == ["late_share"]


def test_five_repeats_rated_not_satisfied_raise_the_repeat_flag() -> None:
    t = None
    raised_all = []
    for i in range(5):
        mask = BIT["received"] | BIT["repeat"] | BIT["repeat_not_satisfied"]
        t, _, raised = apply_facts(t, "u", "2026-03", f"c{i}", mask, 1, TH)
        raised_all += raised
    assert "repeat_not_satisfied" in raised_all and raised_all.count("repeat_not_satisfied") == 1


updates = st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.integers(1, 6)), max_size=40)


def mask_of(case: str, version: int) -> int:
    """A case's facts at a version are fixed: the same version always carries the same facts."""
    return (hash((case, version)) & 0xFFFF) % (1 << len(FACTS))


@given(updates, st.randoms(use_true_random=False))
def test_any_order_with_redeliveries_ends_at_the_latest_facts_of_each_case(ups, rnd) -> None:
    replay = ups + ups[: len(ups) // 2]  # a redelivered part
    rnd.shuffle(replay)
    t = None
    for case, version in replay:
        t, _, _ = apply_facts(t, "u", "m", case, mask_of(case, version), version, TH)
    latest = {c: max(v for c2, v in ups if c2 == c) for c, _ in ups}
    if t is None:
        assert not ups
        return
    assert {c: v for c, (_, v) in t["cases"].items()} == latest
    assert t["counts"] == counts_of({c: [mask_of(c, v), v] for c, v in latest.items()})


def test_closing_a_month_marks_it_final_once_and_raises_what_is_still_due() -> None:
    from processors.tallies import close_month

    t, _, _ = apply_facts(None, "u", "2026-03", "c1", BIT["received"] | BIT["late"], 1, TH)
    t["flags"] = []  # as if the flag had not been raised during the month
    closed, changed, raised = close_month(t, TH)
    assert changed and closed["closed"] and raised == ["late_share"]
    again, changed, raised = close_month(closed, TH)
    assert not changed and raised == [] and again is closed


@given(updates, st.randoms(use_true_random=False))
def test_facts_kept_beside_the_tally_give_the_same_figures(ups, rnd) -> None:
    """The worker keeps each case's facts in a table of its own (apply_case_facts): same counts
    as the tally that carries them, and no stored value is edited in place."""
    from processors.tallies import apply_case_facts

    replay = ups + ups[: len(ups) // 2]
    rnd.shuffle(replay)
    inside, beside = None, None
    kept: dict[str, list[int]] = {}
    for case, version in replay:
        mask = mask_of(case, version)
        inside, _, _ = apply_facts(inside, "u", "m", case, mask, version, TH)
        before = repr(beside)
        new, changed, _ = apply_case_facts(beside, "u", "m", kept.get(case), mask, version, TH)
        assert repr(beside) == before  # the stored value is untouched
        if changed:
            kept[case] = [mask, version]
        beside = new
    if ups:
        assert beside is not None and inside is not None and "cases" not in beside
        assert beside["counts"] == inside["counts"] and beside["flags"] == inside["flags"]
        assert kept == inside["cases"]
