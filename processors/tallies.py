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

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from processors.case import CaseState
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
)
BIT = {name: 1 << i for i, name in enumerate(FACTS)}


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


def _late(entry: dict[str, Any]) -> bool:
    outcome = entry.get("outcome")
    return bool(entry.get("breached")) or (outcome is not None and not outcome.get("on_time"))


def case_facts(state: CaseState) -> dict[str, int]:
    """unit code -> bitmask of the facts this case contributes to that unit."""
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
            if _late(entry) and stage in ("receive", "assign", "handle"):
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
    return masks


def facts_messages(state: CaseState) -> list[tuple[str, str, int, int]]:
    """(unit, month, mask, version) for every unit the case counts (or counted) for; a unit the
    case no longer counts for gets an empty mask. Updates ``state.tally_units``."""
    masks = case_facts(state)
    units = list(dict.fromkeys([*state.tally_units, *masks]))
    state.tally_units = units
    month = month_of(state.submitted_at_ms)
    return [(u, month, masks.get(u, 0), state.version) for u in units]


@dataclass(frozen=True)
class Thresholds:
    late_share: float = 0.30  # §6: more than 30 % of the month's items late
    repeat_not_satisfied: int = 5  # §6: rated not satisfied many times (5 or more)


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
    raised = [f for f in flags_of(t["counts"], thresholds) if f not in t["flags"]]
    t["flags"] = t["flags"] + raised
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
    if counts["repeat_not_satisfied"] >= th.repeat_not_satisfied:
        out.append("repeat_not_satisfied")
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
    raised = [f for f in flags_of(tally["counts"], thresholds) if f not in tally["flags"]]
    t = {**tally, "closed": True, "flags": tally["flags"] + raised, "version": tally["version"] + 1}
    return t, True, raised


def current_month(now_ms: int) -> str:
    return month_of(now_ms)
