"""Unit-month figures as sums per case partition, sent at most once per interval and *set*
downstream (docs/oversight.md "How the figures are kept exact").

What a case contributes is a pure function of its state (``processors.tallies.case_facts``:
unit → bitmask of facts, in the month the case was submitted). A worker keeps, for each case
partition it owns, the sum of those contributions by (unit, month) — in memory, changed by the
difference of each decision, rebuilt from the cases table after every rebalance — and sends the
changed sums every few seconds (``UnitPartials``, keyed by unit). The tally of a unit-month keeps
the newest sum of each partition and adds them up. Setting instead of adding is what keeps the
figures exact whatever is replayed: a redelivered input changes no state, so no sum; a worker that
takes over a partition recomputes its sum from the table and sends it whole.

Per submission this costs a fraction of a message (one per changed unit per interval), where a
message per case update (and a write of the case's facts downstream) cost three.
"""

from __future__ import annotations

from typing import Any

from processors.tallies import FACTS, Thresholds, flags_of, new_tally

# What a unit-month counts: every fact (0/1 per case), and the items' not-satisfied times
COUNTS = (*FACTS, "not_satisfied_times")
N = len(COUNTS)
Key = tuple[str, str]  # (unit, month)
Contribution = dict[Key, list[int]]  # a case's counts for each unit-month it counts in


def vectors(named: dict[Key, dict[str, int]]) -> Contribution:
    """``processors.tallies.case_contributions`` as count vectors in ``COUNTS`` order."""
    return {key: [c.get(name, 0) for name in COUNTS] for key, c in named.items()}


class PartitionSums:
    """Sums of the case contributions of each owned partition, and which changed since sent."""

    def __init__(self) -> None:
        self._sums: dict[int, dict[Key, list[int]]] = {}
        self._dirty: dict[int, set[Key]] = {}

    def reset(self, partition: int) -> None:
        """Forget a partition (before it is rebuilt, or when it is given away)."""
        self._sums.pop(partition, None)
        self._dirty.pop(partition, None)

    def partitions(self) -> list[int]:
        return sorted(self._sums)

    def add(self, partition: int, contribution: Contribution, sign: int = 1) -> None:
        sums = self._sums.setdefault(partition, {})
        dirty = self._dirty.setdefault(partition, set())
        for key, vec in contribution.items():
            counts = sums.get(key)
            if counts is None:
                counts = sums[key] = [0] * N
            for i, v in enumerate(vec):
                if v:
                    counts[i] += sign * v
            dirty.add(key)

    def change(self, partition: int, old: Contribution | None, new: Contribution | None) -> bool:
        """A case's contribution went from ``old`` to ``new``; False when nothing changed."""
        if old == new:
            return False
        if old:
            self.add(partition, old, -1)
        if new:
            self.add(partition, new, 1)
        return True

    def counts(self, partition: int, unit: str, month: str) -> list[int] | None:
        found = self._sums.get(partition, {}).get((unit, month))
        return list(found) if found is not None else None

    def take_dirty(self, stamp: int) -> dict[str, list[dict[str, Any]]]:
        """The changed sums as ``UnitPartials`` bodies by unit (``sums`` of each), then clean."""
        out: dict[str, list[dict[str, Any]]] = {}
        for partition, keys in self._dirty.items():
            sums = self._sums.get(partition, {})
            for unit, month in sorted(keys):
                counts = sums.get((unit, month), [0] * N)
                out.setdefault(unit, []).append(
                    {"month": month, "partition": partition, "counts": counts, "stamp": stamp}
                )
            keys.clear()
        return out

    def pending(self) -> int:
        return sum(len(k) for k in self._dirty.values())


def fold_partition_sum(
    tally: dict[str, Any] | None,
    unit: str,
    month: str,
    partition: int,
    counts: list[int],
    stamp: int,
    thresholds: Thresholds,
) -> tuple[dict[str, Any], bool, list[str]]:
    """The unit-month with one partition's sum set (if newer than the one it has). Returns
    (tally, changed, newly raised flags); an older or equal stamp changes nothing, the same
    counts newer only the stamp. A month kept before the sums (per-case shards) drops them on
    the first sum: the worker that sends it has recomputed every partition from its cases."""
    t = tally or new_tally(unit, month)
    parts = {} if "shards" in t else dict(t.get("partitions") or {})
    key = str(partition)
    have = parts.get(key)
    if have is not None and have["stamp"] >= stamp:
        return t, False, []
    parts[key] = {"stamp": stamp, "counts": list(counts)}
    t = {k: v for k, v in t.items() if k != "shards"}
    if have is not None and have["counts"] == list(counts) and "shards" not in (tally or {}):
        # the same figures, newer: keep the stamp (an older sum arriving later must lose)
        t["partitions"] = parts
        return t, True, []
    totals = {
        f: sum(p["counts"][i] for p in parts.values() if i < len(p["counts"]))
        for i, f in enumerate(COUNTS)
    }
    t.update(partitions=parts, counts=totals, version=t["version"] + 1)
    # the flags follow the latest figures (a breach withdrawn by an in-time completion can take
    # a unit back under the threshold); raised: those new to this value
    flags = flags_of(totals, thresholds)
    raised = [f for f in flags if f not in t["flags"]]
    t["flags"] = flags
    return t, True, raised
