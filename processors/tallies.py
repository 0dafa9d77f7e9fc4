"""Per-unit monthly figures for the oversight center (domain.md §6), exact under redelivery.

Each case contributes a set of *facts* (received, received late, handled on time, ...) to the
units that were responsible for its stages. The worker derives a case's facts from its state and
sends them, keyed by unit, with the case's version; the unit-month keeps each case's latest facts
(in shards, below) and its counts change by the difference. Applying the same facts twice, or an
older version after a newer one, changes nothing: replaying a partition never changes a tally.

Which month: a case's facts count in the month (Asia/Ho_Chi_Minh) it was **submitted**, so that a
unit's late share is a share of the same set of items (choice; docs/oversight.md).
"""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from processors.case import CaseState, stage_late
from processors.sla import LEVELS
from processors.workflow import ANSWERED, REJECTION_REASONS

HN = ZoneInfo("Asia/Ho_Chi_Minh")
# In bit order: a new reason is appended here (tests check this covers REJECTION_REASONS).
REASONS = (
    "out_of_scope_complaint",
    "state_secret",
    "insufficient_information",
    "offensive",
    "reused_or_edited_media",
    "duplicate",
)

# Bit i of a case's mask is fact i: new facts are only ever appended (masks on the facts topic and
# in the tally tables keep their meaning across versions).
FACTS = (
    "received",  # an item of the unit this month (every unit that had a stage of it)
    "receive_late",
    "assign_late",
    "handle_on_time",
    "handle_late",
    "extended",
    "rejected",
    "satisfied",
    "not_satisfied",
    "repeat",  # reopened by the sender at least once
    "repeat_not_satisfied",  # a repeat round rated not satisfied again
    "late",  # late in receiving or handling (the §6 late share)
    *(f"handle_on_time_{level}" for level in LEVELS),  # by the handling level of §5
    *(f"handle_late_{level}" for level in LEVELS),
    *(f"rejected_{reason}" for reason in REASONS),  # by the regulation's reason
    "open_at_month_end",  # not answered before its month ended (so far, until the month ends)
    # §6 "nhiều lần (5 lần trở lên)", per item: the item reached the threshold of not-satisfied
    # times THIS month (a fact of the month of the reopening that reached it, not of submission)
    "repeat_times_reached",
    # the item stands at or above the threshold (in its submission month, as every fact)
    "repeat_times_at_or_above",
)
BIT = {name: 1 << i for i, name in enumerate(FACTS)}
# Handled by level, rejected by reason, open at month end…: named as the facts themselves.
BREAKDOWN_FIGURES = FACTS[FACTS.index("late") + 1 :]
# The figures of a unit-month as the warehouse names them (columns of unit_month_tallies; the
# sink writes them, the gateway and the open-data export read them).
TALLY_FIGURES = (
    "received",
    "receive_late",
    "assign_late",
    "handle_on_time",
    "handle_late",
    "extended",
    "rejected",
    "satisfied",
    "not_satisfied",
    "repeats",
    "repeats_not_satisfied",
    "late_items",
    "late_share",
    *BREAKDOWN_FIGURES,
)


def month_of(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(HN).strftime("%Y-%m")


def month_end_ms(month: str) -> int:
    """The first instant (Asia/Ho_Chi_Minh) after the month 'YYYY-MM', in epoch ms."""
    year, mon = map(int, month.split("-"))
    year, mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
    return int(datetime(year, mon, 1, tzinfo=HN).timestamp() * 1000)


def answered_at(state: CaseState) -> int | None:
    """When the case was answered; states stored before the field existed fall back to their
    last update (what ended them)."""
    if state.status not in ANSWERED:
        return None
    return state.answered_at_ms if state.answered_at_ms is not None else state.updated_at_ms


REPEAT_TIMES = 5  # §6: "nhiều lần (5 lần trở lên)"


def not_satisfied_times(state: CaseState) -> int:
    """How many times the sender reopened the item after rating it not satisfied (each reopen
    follows a not-satisfied rating: processors/workflow.py), across months."""
    return state.repeat_count


def times_reached_at(state: CaseState, threshold: int = REPEAT_TIMES) -> int | None:
    """When (epoch ms) the item's not-satisfied times reached ``threshold``; None if not yet.
    States stored before reopen instants were kept fall back to their last update."""
    if not_satisfied_times(state) < threshold:
        return None
    if len(state.reopened_at_ms) >= threshold:
        return state.reopened_at_ms[threshold - 1]
    return state.updated_at_ms


def case_facts(state: CaseState, repeat_times: int = REPEAT_TIMES) -> dict[str, int]:
    """unit code -> bitmask of the facts this case contributes to that unit, in the month it
    was submitted (``repeat_times_reached`` is the exception: see ``facts_messages``)."""
    masks: dict[str, int] = {}

    def add(unit: str | None, *facts: str) -> None:
        if unit:
            for f in facts:
                masks[unit] = masks.get(unit, 0) | BIT[f]

    current = state.unit_code
    for stages in (*state.past_stages, state.stages):
        for stage, entry in stages.items():
            unit = entry.get("unit") or current
            add(unit, "received")
            outcome = entry.get("outcome")
            level = entry["clock"].get("level")
            if stage_late(entry) and stage in ("receive", "assign", "handle"):
                add(unit, f"{stage}_late")
                if stage in ("receive", "handle"):
                    add(unit, "late")
                if stage == "handle" and level in LEVELS:
                    add(unit, f"handle_late_{level}")
            elif stage == "handle" and outcome is not None and not outcome.get("withdrawn"):
                add(unit, "handle_on_time")
                if level in LEVELS:
                    add(unit, f"handle_on_time_{level}")
            if stage == "handle" and entry["clock"].get("legal_basis"):
                add(unit, "extended")
    add(current, "received")
    if state.status == "rejected":
        receiving = state.stages.get("receive", {}).get("unit") or current
        add(receiving, "rejected")
        if state.rejection_reason in REJECTION_REASONS:  # unknown for states stored before it
            add(receiving, f"rejected_{state.rejection_reason}")
    ended = answered_at(state)
    if ended is None or ended >= month_end_ms(month_of(state.submitted_at_ms)):
        add(current, "open_at_month_end")
    if state.ratings:
        add(current, "satisfied" if state.ratings[-1] == "satisfied" else "not_satisfied")
    if state.repeat_count:
        add(current, "repeat")
    if "not_satisfied" in state.ratings[1:]:
        add(current, "repeat_not_satisfied")
    if not_satisfied_times(state) >= repeat_times:
        add(current, "repeat_times_at_or_above")
    return masks


def case_months(state: CaseState, repeat_times: int = REPEAT_TIMES) -> dict[tuple[str, str], int]:
    """(unit, month) -> mask: the submission month's facts, plus ``repeat_times_reached`` in the
    month (Hanoi) the item reached ``repeat_times`` not-satisfied times — the month the unit is
    flagged for it (issue 14), which may be later than the submission's."""
    month = month_of(state.submitted_at_ms)
    out = {(u, month): m for u, m in case_facts(state, repeat_times).items()}
    reached = times_reached_at(state, repeat_times)
    if reached is not None and state.unit_code:
        key = (state.unit_code, month_of(reached))
        out[key] = out.get(key, 0) | BIT["repeat_times_reached"]
    return out


def facts_messages(
    state: CaseState, repeat_times: int = REPEAT_TIMES
) -> list[tuple[str, str, int, int]]:
    """(unit, month, mask, version) for every unit-month the case counts (or counted) for; one
    it no longer counts for gets an empty mask. Updates ``state.tally_units`` ("unit" for the
    submission month, "unit@YYYY-MM" for another month)."""
    sub_month = month_of(state.submitted_at_ms)
    masks = case_months(state, repeat_times)

    def ref(unit: str, month: str) -> str:
        return unit if month == sub_month else f"{unit}@{month}"

    def key(r: str) -> tuple[str, str]:
        unit, _, month = r.partition("@")
        return unit, month or sub_month

    refs = list(dict.fromkeys([*state.tally_units, *(ref(u, m) for u, m in masks)]))
    state.tally_units = refs
    return [(*key(r), masks.get(key(r), 0), state.version) for r in refs]


def case_contributions(
    state: CaseState, repeat_times: int = REPEAT_TIMES
) -> dict[tuple[str, str], dict[str, int]]:
    """(unit, month) -> named counts this case adds to the unit-month: each fact as 0/1, and
    ``not_satisfied_times`` (the item's times, in its submission month). For aggregation by
    sums (partial sums per partition): a unit-month's figure is the sum over its cases."""
    sub_month = month_of(state.submitted_at_ms)
    out: dict[tuple[str, str], dict[str, int]] = {}
    for (unit, month), mask in case_months(state, repeat_times).items():
        counts = {f: (mask >> i) & 1 for i, f in enumerate(FACTS)}
        counts["not_satisfied_times"] = (
            not_satisfied_times(state) if month == sub_month and unit == state.unit_code else 0
        )
        out[(unit, month)] = counts
    return out


ITEM_FLAGS_NS = uuid.UUID("0d5b8f3e-6a2c-4e71-9c1d-7b3a5e9f2c48")
ITEM_FLAG = "repeat_not_satisfied_item"


def item_flags(state: CaseState, repeat_times: int = REPEAT_TIMES) -> list[dict[str, Any]]:
    """The OversightFlag of an item that reached ``repeat_times`` not-satisfied times: one per
    item, ever, for its unit in the month it happened (event id from unit/month/case). The flag
    name carries the case id (``repeat_not_satisfied_item:<case id>``): the warehouse keeps one
    flag per unit, month and name. ``value`` is the item's times."""
    reached = times_reached_at(state, repeat_times)
    if reached is None or not state.unit_code:
        return []
    month = month_of(reached)
    return [
        {
            "event_id": str(
                uuid.uuid5(ITEM_FLAGS_NS, f"{state.unit_code}/{month}/{state.case_id}")
            ),
            "unit_code": state.unit_code,
            "month": month,
            "flag": f"{ITEM_FLAG}:{state.case_id}",
            "value": float(repeat_times),
            "threshold": float(repeat_times),
            "raised_at": reached,
        }
    ]


@dataclass(frozen=True)
class Thresholds:
    late_share: float = 0.30  # §6: more than 30 % of the month's items late
    # §6: rated not satisfied many times (5 or more) — times per ITEM (item_flags), not cases
    repeat_not_satisfied: int = REPEAT_TIMES


def counts_of(cases: dict[str, list[int]]) -> dict[str, int]:
    return {f: sum(1 for mask, _ in cases.values() if mask & BIT[f]) for f in FACTS}


# --- storage: a unit-month is SHARDS shard values and one month value -------------------------
# A shard holds the latest [mask, version] of its cases and their counts in ONE value: one
# changelog write, so masks and counts never disagree, whatever crash or redelivery. The month
# value holds each shard's counts *as set from the shard* (never added to), their sum, the flags
# and the close mark: a crash between the two writes is repaired by the next (or redelivered)
# fact of that shard, which sets the same numbers again. An update rewrites one shard (1/64 of
# the month's cases) and the month's 64 count rows, not every case of the month.
SHARDS = 64


def shard_of(case_id: str) -> int:
    return zlib.crc32(case_id.encode()) % SHARDS


def new_tally(unit: str, month: str) -> dict[str, Any]:
    return {
        "unit": unit,
        "month": month,
        "shards": {},  # shard number (str) -> counts in FACTS order
        "counts": dict.fromkeys(FACTS, 0),
        "flags": [],
        "version": 0,
        "closed": False,
    }


def apply_shard_facts(
    shard: dict[str, Any] | None, case_id: str, mask: int, version: int
) -> tuple[dict[str, Any], bool]:
    """The shard with this case's facts at ``version`` (a new value; older or equal versions
    change nothing)."""
    s = shard or {"cases": {}, "counts": [0] * len(FACTS)}
    old = s["cases"].get(case_id)
    if old is not None and old[1] >= version:
        return s, False
    old_mask = old[0] if old else 0
    counts = [*s["counts"], *[0] * (len(FACTS) - len(s["counts"]))]  # kept before new facts
    for i in range(len(FACTS)):
        counts[i] += ((mask >> i) & 1) - ((old_mask >> i) & 1)
    return {"cases": {**s["cases"], case_id: [mask, version]}, "counts": counts}, True


def fold_shard(
    tally: dict[str, Any] | None,
    unit: str,
    month: str,
    shard_no: int,
    shard_counts: list[int],
    thresholds: Thresholds,
) -> tuple[dict[str, Any], bool, list[str]]:
    """The month value with one shard's counts set. Returns (tally, changed, newly raised
    flags); the same counts again change nothing."""
    t = tally or new_tally(unit, month)
    key = str(shard_no)
    if t["shards"].get(key) == shard_counts:
        return t, False, []
    shards = {**t["shards"], key: list(shard_counts)}
    counts = {f: sum(c[i] for c in shards.values() if i < len(c)) for i, f in enumerate(FACTS)}
    t = {**t, "shards": shards, "counts": counts, "version": t["version"] + 1}
    # The flags follow the latest facts (issue 14): a breach a completion stamped in time
    # withdrew no longer holds a unit above 30 %. ``raised``: flags new to this value (their
    # OversightFlag has a stable id: raised again later, it is the same event).
    now = flags_of(t["counts"], thresholds)
    raised = [f for f in now if f not in t["flags"]]
    t["flags"] = now
    return t, True, raised


def split_legacy(tally: dict[str, Any]) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """A month value stored before the shards (every case inside it) as a month value without
    cases and the shard values of its cases (the worker writes those before the month value, so
    a crash in between converts again from the same data)."""
    shards: dict[int, dict[str, Any]] = {}
    for case_id, (mask, version) in tally.get("cases", {}).items():
        no = shard_of(case_id)
        shards[no], _ = apply_shard_facts(shards.get(no), case_id, mask, version)
    month = {k: v for k, v in tally.items() if k != "cases"}
    month["shards"] = {str(no): s["counts"] for no, s in shards.items()}
    return month, shards


def apply_facts(
    tally: dict[str, Any] | None,
    unit: str,
    month: str,
    case_id: str,
    mask: int,
    version: int,
    thresholds: Thresholds,
    shards: dict[int, dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], bool, list[str]]:
    """Both steps on in-memory values (``shards``: shard number -> shard value, updated in
    place), as the worker does them on its two tables: the reference for tests and tools."""
    shards = {} if shards is None else shards
    no = shard_of(case_id)
    shards[no], _ = apply_shard_facts(shards.get(no), case_id, mask, version)
    return fold_shard(tally, unit, month, no, shards[no]["counts"], thresholds)


def late_share(counts: dict[str, int]) -> float:
    return counts["late"] / counts["received"] if counts["received"] else 0.0


def flags_of(counts: dict[str, int], th: Thresholds) -> list[str]:
    out = []
    if late_share(counts) > th.late_share:
        out.append("late_share")
    # No unit-level repeat rule: "5 lần trở lên" counts times per item, and each item reaching
    # it flags its unit once (item_flags), raised from the case itself (issue 14).
    return out


def flag_value(flag: str, counts: dict[str, int]) -> float:
    return late_share(counts) if flag == "late_share" else float(counts["repeat_not_satisfied"])


def flag_threshold(flag: str, th: Thresholds) -> float:
    return th.late_share if flag == "late_share" else float(th.repeat_not_satisfied)


def close_month(
    tally: dict[str, Any], thresholds: Thresholds
) -> tuple[dict[str, Any], bool, list[str]]:
    """The month is over: mark the tally final (once) and raise any flag still due."""
    if tally["closed"]:
        return tally, False, []
    now = flags_of(tally["counts"], thresholds)
    raised = [f for f in now if f not in tally["flags"]]
    t = {**tally, "closed": True, "flags": now, "version": tally["version"] + 1}
    return t, True, raised


def current_month(now_ms: int) -> str:
    return month_of(now_ms)
