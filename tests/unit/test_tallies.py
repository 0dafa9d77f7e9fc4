"""Monthly figures per unit (domain.md §6): exact under redelivery, flags raised once."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from processors.sla import LEVELS
from processors.tallies import (
    BIT,
    FACTS,
    REASONS,
    Thresholds,
    apply_facts,
    case_facts,
    counts_of,
    month_end_ms,
    month_of,
)
from processors.workflow import REJECTION_REASONS, apply_command
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
    assert facts(case_facts(s)["00070"]) == {
        "received",
        "receive_late",
        "late",
        "open_at_month_end",  # received, not answered yet
    }


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
    kept: dict[int, dict] = {}
    t, changed, _ = apply_facts(None, "u", "2026-03", "c1", BIT["received"], 3, TH, kept)
    assert changed and t["counts"]["received"] == 1
    for version in (3, 2):
        t2, changed, raised = apply_facts(t, "u", "2026-03", "c1", 0, version, TH, kept)
        assert not changed and not raised and t2["counts"]["received"] == 1


def test_late_share_above_30_percent_raises_one_flag() -> None:
    t = None
    raised_all = []
    kept: dict[int, dict] = {}
    late = BIT["received"] | BIT["late"] | BIT["handle_late"]
    for i, mask in enumerate([BIT["received"]] * 2 + [late]):
        t, _, raised = apply_facts(t, "u", "2026-03", f"c{i}", mask, 1, TH, kept)
        raised_all += raised
    assert raised_all == ["late_share"]  # 1 of 3 = 33 % > 30 %
    t, _, raised = apply_facts(t, "u", "2026-03", "c9", late, 1, TH, kept)
    assert raised == [] and t["flags"] == ["late_share"]


def test_five_cases_each_reopened_once_do_not_make_five_times() -> None:
    """§6 counts times per item (issue 14): five different cases rated not satisfied once each
    no longer raise a unit flag; see test_sla_legal.py for the per-item flag."""
    t = None
    raised_all = []
    kept: dict[int, dict] = {}
    for i in range(5):
        mask = BIT["received"] | BIT["repeat"] | BIT["repeat_not_satisfied"]
        t, _, raised = apply_facts(t, "u", "2026-03", f"c{i}", mask, 1, TH, kept)
        raised_all += raised
    assert "repeat_not_satisfied" not in raised_all


updates = st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.integers(1, 6)), max_size=40)


def mask_of(case: str, version: int) -> int:
    """A case's facts at a version are fixed: the same version always carries the same facts."""
    return (hash((case, version)) & 0xFFFF) % (1 << len(FACTS))


@given(updates, st.randoms(use_true_random=False))
def test_any_order_with_redeliveries_ends_at_the_latest_facts_of_each_case(ups, rnd) -> None:
    replay = ups + ups[: len(ups) // 2]  # a redelivered part
    rnd.shuffle(replay)
    t = None
    kept: dict[int, dict] = {}
    for case, version in replay:
        t, _, _ = apply_facts(t, "u", "m", case, mask_of(case, version), version, TH, kept)
    latest = {c: max(v for c2, v in ups if c2 == c) for c, _ in ups}
    if t is None:
        assert not ups
        return
    assert {c: v for sh in kept.values() for c, (_, v) in sh["cases"].items()} == latest
    assert t["counts"] == counts_of({c: [mask_of(c, v), v] for c, v in latest.items()})


def test_closing_a_month_marks_it_final_once_and_raises_what_is_still_due() -> None:
    from processors.tallies import close_month

    t, _, _ = apply_facts(None, "u", "2026-03", "c1", BIT["received"] | BIT["late"], 1, TH)
    t["flags"] = []  # as if the flag had not been raised during the month
    closed, changed, raised = close_month(t, TH)
    assert changed and closed["closed"] and raised == ["late_share"]
    again, changed, raised = close_month(closed, TH)
    assert not changed and raised == [] and again is closed


# --- breakdowns: handled per level, rejected per reason, open at month end ----------------------
BITS_OF_SESSION_1 = (
    "received",
    "receive_late",
    "assign_late",
    "handle_on_time",
    "handle_late",
    "extended",
    "rejected",
    "satisfied",
    "not_satisfied",
    "repeat",
    "repeat_not_satisfied",
    "late",
)


def test_bits_are_only_ever_appended_and_every_reason_and_level_has_its_fact() -> None:
    assert FACTS[: len(BITS_OF_SESSION_1)] == BITS_OF_SESSION_1  # masks on Kafka keep meaning
    assert set(REASONS) == REJECTION_REASONS
    assert {f"rejected_{r}" for r in REASONS} | {f"handle_on_time_{lv}" for lv in LEVELS} <= set(
        FACTS
    )
    assert len(FACTS) < 63  # an Avro long


@pytest.mark.parametrize("reason", sorted(REJECTION_REASONS))
def test_a_rejection_counts_once_under_its_reason(reason: str) -> None:
    s = opened()
    s = apply_command(s, cmd(s, "reject", reason=reason), CAL).state
    got = facts(case_facts(s)["00070"])
    assert {"rejected", f"rejected_{reason}"} <= got
    assert not {f for f in got if f.startswith("rejected_")} - {f"rejected_{reason}"}
    assert "open_at_month_end" not in got  # answered (rejected) the day it came


@pytest.mark.parametrize("level", LEVELS)
def test_handling_on_time_and_late_count_under_the_level_of_the_case(level: str) -> None:
    on_time = opened()
    for name, kw in (("receive", {"level": level}), ("assign", {}), ("propose_result", {})):
        on_time = apply_command(on_time, cmd(on_time, name, **kw), CAL).state
    late = on_time.from_dict(on_time.to_dict())
    on_time = apply_command(on_time, cmd(on_time, "approve_result"), CAL).state
    got = facts(case_facts(on_time)["00070"])
    assert {"handle_on_time", f"handle_on_time_{level}"} <= got
    assert not {f for f in got if f.startswith("handle_late")}
    # the same case approved a month later: late at its level
    late = apply_command(
        late, cmd(late, "approve_result", datetime(2026, 4, 20, 9, 0, tzinfo=HN)), CAL
    ).state
    got = facts(case_facts(late)["00070"])
    assert {"handle_late", f"handle_late_{level}"} <= got
    assert not {f for f in got if f.startswith("handle_on_time")}


def test_open_at_month_end_is_whether_the_case_was_answered_before_its_month_ended() -> None:
    def answered_on(day: datetime) -> set[str]:
        s = opened()  # submitted Monday 2 March 2026
        for name in ("receive", "assign", "propose_result"):
            s = apply_command(s, cmd(s, name), CAL).state
        s = apply_command(s, cmd(s, "approve_result", day), CAL).state
        return facts(case_facts(s)["00070"])

    assert "open_at_month_end" not in answered_on(datetime(2026, 3, 31, 23, 59, tzinfo=HN))
    assert "open_at_month_end" in answered_on(datetime(2026, 4, 1, 0, 0, tzinfo=HN))
    assert month_end_ms("2026-12") == int(datetime(2027, 1, 1, tzinfo=HN).timestamp() * 1000)


def test_a_reopened_case_is_open_again_and_a_withdrawn_one_is_answered() -> None:
    s = walk("field_feedback", "rated_unsatisfied")
    assert "open_at_month_end" not in facts(case_facts(s)["00070"])
    s = apply_command(s, cmd(s, "reopen"), CAL).state
    assert s.answered_at_ms is None and "open_at_month_end" in facts(case_facts(s)["00070"])
    w = walk("field_feedback", "withdrawn")
    assert "open_at_month_end" not in facts(case_facts(w)["00070"])


def test_states_stored_before_the_breakdowns_still_count() -> None:
    s = walk("field_feedback", "rejected")
    d = s.to_dict()
    del d["rejection_reason"], d["answered_at_ms"]  # a state kept by an older worker
    old = type(s).from_dict(d)
    got = facts(case_facts(old)["00070"])
    assert "rejected" in got and "open_at_month_end" not in got  # ended at its last update
    assert not {f for f in got if f.startswith("rejected_")}  # its reason was not kept


def test_shards_kept_before_new_facts_gain_their_counts() -> None:
    from processors.tallies import apply_shard_facts, shard_of

    kept: dict[int, dict] = {}
    t, _, _ = apply_facts(None, "u", "2026-03", "c1", BIT["received"], 1, TH, kept)
    for shard in kept.values():  # as an older worker kept them: 12 counts a shard
        shard["counts"] = shard["counts"][: len(BITS_OF_SESSION_1)]
    t["shards"] = {k: v[: len(BITS_OF_SESSION_1)] for k, v in t["shards"].items()}
    mask = BIT["received"] | BIT["rejected_offensive"]
    t, changed, _ = apply_facts(t, "u", "2026-03", "c2", mask, 1, TH, kept)
    assert changed and t["counts"]["rejected_offensive"] == 1 and t["counts"]["received"] == 2
    shard, _ = apply_shard_facts(kept[shard_of("c2")], "c3", mask, 1)
    assert len(shard["counts"]) == len(FACTS)


@given(updates, st.randoms(use_true_random=False))
def test_a_crash_between_the_shard_and_the_month_write_is_repaired_by_the_replay(ups, rnd) -> None:
    """The worker writes a shard, then the month value. Whichever of the two a crash loses, the
    replayed facts (at-least-once) end at the figures of the facts applied once each."""
    from processors.tallies import apply_shard_facts, fold_shard, shard_of

    replay = ups + ups[: len(ups) // 2]
    rnd.shuffle(replay)
    shards: dict[int, dict] = {}
    month = None
    for i, (case, version) in enumerate(replay):
        no = shard_of(case)
        before = repr(shards.get(no))
        shard, _ = apply_shard_facts(shards.get(no), case, mask_of(case, version), version)
        assert repr(shards.get(no)) == before  # stored values are never edited in place
        lost = rnd.choice(["none", "none", "shard", "month"]) if i % 3 == 0 else "none"
        if lost != "shard":
            shards[no] = shard
        folded, _, _ = fold_shard(month, "u", "m", no, shard["counts"], TH)
        if lost != "month":
            month = folded
        if lost != "none":  # the event is redelivered after the crash
            shard, _ = apply_shard_facts(shards.get(no), case, mask_of(case, version), version)
            shards[no] = shard
            month, _, _ = fold_shard(month, "u", "m", no, shard["counts"], TH)
    latest = {c: max(v for c2, v in ups if c2 == c) for c, _ in ups}
    if ups:
        assert month is not None
        assert month["counts"] == counts_of({c: [mask_of(c, v), v] for c, v in latest.items()})


def test_a_month_value_stored_with_every_case_inside_splits_into_shards() -> None:
    from processors.tallies import shard_of, split_legacy

    legacy = {
        "unit": "u",
        "month": "2026-03",
        "cases": {f"c{i}": [BIT["received"] | (BIT["late"] if i % 2 else 0), 2] for i in range(9)},
        "counts": {f: 0 for f in BITS_OF_SESSION_1},  # an older worker's counts
        "flags": ["late_share"],
        "version": 9,
        "closed": False,
    }
    legacy["counts"].update(received=9, late=4)
    month, shards = split_legacy(legacy)
    assert "cases" not in month and month["flags"] == ["late_share"]
    assert sum(len(s["cases"]) for s in shards.values()) == 9
    assert all(shard_of(c) == no for no, s in shards.items() for c in s["cases"])
    # the next fact folds the shards' counts: the month's figures are those of its cases
    t, changed, _ = apply_facts(month, "u", "2026-03", "c1", BIT["received"], 3, TH, shards)
    assert changed and t["counts"]["received"] == 9 and t["counts"]["late"] == 3
