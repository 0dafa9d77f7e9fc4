"""Shared helpers of the SLA benchmarks: realistic case states, percentiles, tables, machine line.

Not a benchmark itself. The scripts next to it put the repository root on ``sys.path`` by
importing this module first, so they run as ``.venv/bin/python bench/<script>.py`` from anywhere.
"""

from __future__ import annotations

import os
import platform
import random
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from processors.calendar import WorkingCalendar  # noqa: E402
from processors.case import CaseState, open_case  # noqa: E402
from processors.clocks import WARNING, apply_tick, due_entries  # noqa: E402
from processors.workflow import apply_command  # noqa: E402
from tests.factories import submitted_record  # noqa: E402

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
PROCESSES = ("field_feedback", "waste_report", "investor_business", "initiative")
LEVELS = ("urgent", "normal", "normal", "normal", "complex")

# Where a case is in the workflow -> share of the cases (the table keeps closed cases too).
SHAPES_ALL: dict[str, float] = {
    "submitted": 0.30,  # receive clock open: warning + breach
    "submitted_warned": 0.05,  # receive warning already raised: breach only
    "received": 0.30,  # assign + handle clocks open: 4 entries
    "assigned": 0.15,  # handle clock open: 2 entries
    "awaiting_info": 0.05,  # received, then paused for information: assign only
    "closed": 0.15,  # no clock left (rejected here), still in the table
}
SHAPES_OPEN = {k: v for k, v in SHAPES_ALL.items() if k != "closed"}


# --- statistics and printing -----------------------------------------------------------------
def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of the values."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, round(q / 100 * len(s) + 0.5) - 1))
    return s[k]


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table whose columns line up in a terminal too."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r: list[str]) -> str:
        out = [r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)]
        return "| " + " | ".join(out) + " |"

    sep = "|:" + "-" * (widths[0] + 1) + "|" + "|".join("-" * (w + 1) + ":" for w in widths[1:])
    sep += "|"
    return "\n".join([line(cells[0]), sep, *(line(r) for r in cells[1:])])


def machine() -> str:
    cpu = "?"
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                cpu = row.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {cpu}, {os.cpu_count()} cores, "
        f"{mem:.0f} GiB RAM, Python {platform.python_version()}, code {revision()}"
    )


def revision() -> str:
    """The commit measured, and whether the working tree had uncommitted changes."""
    import subprocess

    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        return out.stdout.strip() or "?"
    except OSError:
        return "?"


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.2f} µs"


# --- realistic case states -------------------------------------------------------------------
def _command(case_id: str, command: str, at_ms: int, **fields: Any) -> dict[str, Any]:
    return {
        "envelope": {
            "event_id": str(uuid.uuid4()),
            "case_id": case_id,
            "event_type": "case_command",
            "occurred_at": at_ms,
            "producer": "bench",
            "schema_version": 1,
        },
        "command": command,
        "actor": "unit-00070",
        "level": fields.get("level"),
        "reason": fields.get("reason"),
        "legal_basis": None,
        "assignee": fields.get("assignee"),
    }


def _one_state(shape: str, now_ms: int, rng: random.Random) -> CaseState:
    """A case driven through the real core (open_case, apply_command, apply_tick)."""
    cal = WorkingCalendar()
    case_id = str(uuid.uuid4())
    t0 = now_ms - rng.randrange(MINUTE_MS, 7 * HOUR_MS)  # submitted in the last working day
    rec = submitted_record(datetime.fromtimestamp(t0 / 1000, UTC), case_id)
    rec["process"] = rng.choice(PROCESSES)
    state = open_case(None, rec, cal).state
    assert state is not None

    def step(command: str, frac: float, **fields: Any) -> None:
        at = t0 + int((now_ms - t0) * frac)
        d = apply_command(state, _command(case_id, command, at, **fields), cal)
        assert d.result is not None and d.result["accepted"], (command, d.result)

    if shape == "submitted_warned":
        warn_at = due_entries(state)[("receive", WARNING)]
        apply_tick(state, {"case_id": case_id, "stage": "receive", "kind": WARNING, "at": warn_at})
    elif shape == "closed":
        step("reject", 0.5, reason="duplicate")  # closed without a clock left
    elif shape != "submitted":
        step("receive", 0.3, level=rng.choice(LEVELS))
        if shape == "awaiting_info":
            step("request_info", 0.6)
        elif shape == "assigned":
            step("assign", 0.6, assignee="officer-0007")
    return state


def state_templates(
    now_ms: int, count: int, seed: int = 7, shapes: dict[str, float] | None = None
) -> list[dict[str, Any]]:
    """``count`` distinct case states (``CaseState.to_dict()``) in the given workflow mix, built
    with the real core from submissions of the last few hours; every open clock is in the future
    of ``now_ms`` (the shipped policy and calendar spread them over the next days and weeks)."""
    rng = random.Random(seed)
    shapes = shapes or SHAPES_ALL
    names, weights = list(shapes), list(shapes.values())
    out = []
    while len(out) < count:
        state = _one_state(rng.choices(names, weights)[0], now_ms, rng)
        entries = due_entries(state)
        if entries and min(entries.values()) <= now_ms:
            continue  # already due: not a realistic open clock for a tick measured at now_ms
        out.append(state.to_dict())
    return out


def new_id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def state_due(d: dict[str, Any]) -> dict[tuple[str, str], int]:
    """What the worker computes per stored case: due_entries(CaseState.from_dict(value))."""
    return due_entries(CaseState.from_dict(d))
