"""Per-unit monthly figures for the oversight center (domain.md §6), exact under redelivery.

Each case contributes a set of *facts* (received, received late, handled on time, ...) to the
units that were responsible for its stages. The worker derives a case's facts from its state and
sends them, keyed by unit, with the case's version; each case's latest facts are kept (beside the
tally, in the worker) and the tally's counts change by the difference. Applying the same facts
twice, or an older version after a newer one, changes nothing: replaying a partition never changes
a tally.

Which month: a case's facts count in the month (Asia/Ho_Chi_Minh) it was **submitted**, so that a
unit's late share is a share of the same set of items (choice; docs/oversight.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from processors.case import CaseState

HN = ZoneInfo("Asia/Ho_Chi_Minh")

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
)
BIT = {name: 1 << i for i, name in enumerate(FACTS)}


def month_of(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).astimezone(HN).strftime("%Y-%m")


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
            if _late(entry) and stage in ("receive", "assign", "handle"):
                add(unit, f"{stage}_late")
                if stage in ("receive", "handle"):
                    add(unit, "late")
            elif stage == "handle" and outcome is not None and not outcome.get("withdrawn"):
                add(unit, "handle_on_time")
            if stage == "handle" and entry["clock"].get("legal_basis"):
                add(unit, "extended")
    add(current, "received")
    if state.status == "rejected":
        add(state.stages.get("receive", {}).get("unit") or current, "rejected")
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


def new_tally(unit: str, month: str) -> dict[str, Any]:
    return {
        "unit": unit,
        "month": month,
        "counts": dict.fromkeys(FACTS, 0),
        "flags": [],
        "version": 0,
        "closed": False,
    }


def apply_case_facts(
    tally: dict[str, Any] | None,
    unit: str,
    month: str,
    old: list[int] | None,
    mask: int,
    version: int,
    thresholds: Thresholds,
) -> tuple[dict[str, Any], bool, list[str]]:
    """The unit-month tally (counts and flags only) with one case's facts at ``version``, given
    that case's previous ``[mask, version]`` (None: never counted). The caller stores the case's
    new entry when ``changed``: kept apart from the tally, an update costs the same whatever the
    number of cases in the month (the worker keeps them in a table of their own).

    Returns (tally, changed, newly raised flags). Older or equal versions change nothing.
    """
    t = tally or new_tally(unit, month)
    if old is not None and old[1] >= version:
        return t, False, []
    old_mask = old[0] if old else 0
    t = {**t, "counts": dict(t["counts"])}  # a new value: the stored one is never edited
    for f in FACTS:
        bit = BIT[f]
        t["counts"][f] += bool(mask & bit) - bool(old_mask & bit)
    t["version"] += 1
    raised = [f for f in flags_of(t["counts"], thresholds) if f not in t["flags"]]
    t["flags"] = t["flags"] + raised
    return t, True, raised


def apply_facts(
    tally: dict[str, Any] | None,
    unit: str,
    month: str,
    case_id: str,
    mask: int,
    version: int,
    thresholds: Thresholds,
) -> tuple[dict[str, Any], bool, list[str]]:
    """``apply_case_facts`` with each case's latest facts kept inside the tally (``cases``)."""
    cases = (tally or {}).get("cases", {})
    t, changed, raised = apply_case_facts(
        tally, unit, month, cases.get(case_id), mask, version, thresholds
    )
    if changed:
        t["cases"] = {**cases, case_id: [mask, version]}
    elif "cases" not in t:
        t["cases"] = cases
    return t, changed, raised


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
