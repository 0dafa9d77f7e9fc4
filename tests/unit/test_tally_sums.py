"""Unit-month figures as sums per case partition, set downstream: exact whatever is replayed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from processors.tallies import FACTS, Thresholds
from processors.tally_sums import COUNTS, PartitionSums, fold_partition_sum

TH = Thresholds()
RECEIVED, LATE = FACTS.index("received"), FACTS.index("late")
MONTH = "2026-03"


def vec(*facts: str) -> list[int]:
    return [1 if name in facts else 0 for name in COUNTS]


def c(unit: str, *facts: str) -> dict[tuple[str, str], list[int]]:
    """A case's contribution: its facts in one unit-month."""
    return {(unit, MONTH): vec(*facts)}


def test_a_case_that_changes_moves_its_counts_and_marks_its_unit_month_changed() -> None:
    sums = PartitionSums()
    assert sums.change(2, None, c("00070", "received"))
    sums.take_dirty(1)
    assert sums.change(2, c("00070", "received"), c("00070", "received", "late"))
    out = sums.take_dirty(2)
    [one] = out["00070"]
    assert one["partition"] == 2 and one["counts"][RECEIVED] == 1 and one["counts"][LATE] == 1
    assert not sums.change(2, c("00070", "received"), c("00070", "received"))
    assert sums.take_dirty(3) == {}


def test_a_forwarded_case_leaves_one_unit_and_counts_for_the_other() -> None:
    sums = PartitionSums()
    sums.change(0, None, c("00070", "received"))
    sums.change(0, c("00070", "received"), c("00004", "received"))
    assert sums.counts(0, "00070", MONTH)[RECEIVED] == 0
    assert sums.counts(0, "00004", MONTH)[RECEIVED] == 1
    assert set(sums.take_dirty(1)) == {"00070", "00004"}  # both are sent: set, not added


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 20), st.integers(0, 20)),
        min_size=1,
        max_size=30,
    ),
    st.randoms(use_true_random=False),
)
def test_the_tally_is_the_sum_of_the_newest_sum_of_each_partition_in_any_order(
    sends: list[tuple[int, int, int]], rnd: object
) -> None:
    """Sums resent, redelivered, reordered: the figures are those of each partition's newest."""
    stamped = [(p, recv, min(late, recv), stamp) for stamp, (p, recv, late) in enumerate(sends)]
    delivered = stamped + stamped[: len(stamped) // 2]  # some redelivered
    rnd.shuffle(delivered)  # type: ignore[attr-defined]
    tally = None
    for p, recv, late, stamp in delivered:
        counts = [0] * len(FACTS)
        counts[RECEIVED], counts[LATE] = recv, late
        tally, _, _ = fold_partition_sum(tally, "00070", MONTH, p, counts, stamp, TH)
    newest: dict[int, tuple[int, int, int]] = {}
    for p, recv, late, stamp in stamped:
        if p not in newest or newest[p][2] < stamp:
            newest[p] = (recv, late, stamp)
    assert tally is not None
    assert tally["counts"]["received"] == sum(r for r, _, _ in newest.values())
    assert tally["counts"]["late"] == sum(x for _, x, _ in newest.values())


def test_a_month_kept_before_the_sums_is_replaced_by_them() -> None:
    legacy = {
        "unit": "00070",
        "month": MONTH,
        "shards": {"3": [5] * len(FACTS)},
        "counts": dict.fromkeys(FACTS, 5),
        "flags": [],
        "version": 7,
        "closed": False,
    }
    counts = [0] * len(FACTS)
    counts[RECEIVED] = 2
    t, changed, _ = fold_partition_sum(legacy, "00070", MONTH, 0, counts, 10, TH)
    assert changed and "shards" not in t and t["counts"]["received"] == 2 and t["version"] == 8


def test_the_late_share_flag_is_raised_once() -> None:
    counts = [0] * len(FACTS)
    counts[RECEIVED], counts[LATE] = 10, 4
    t, _, raised = fold_partition_sum(None, "00070", MONTH, 0, counts, 1, TH)
    assert raised == ["late_share"]
    counts[RECEIVED] = 11
    t, _, raised = fold_partition_sum(t, "00070", MONTH, 0, counts, 2, TH)
    assert raised == [] and t["flags"] == ["late_share"]
