"""SLA policy: how much working time each stage of a case may take.

PLACEHOLDER POLICY (``placeholder-v0``): only the receiving stage of domain.md §5 (≤ 8 working
hours from submission) is clocked here; the full per-process, per-level policy as data is the SLA
engine's issue. Working time is counted by the working-time calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class Calendar(Protocol):
    def add(self, start: datetime, minutes: int) -> datetime: ...


@dataclass(frozen=True)
class StageDeadline:
    stage: str
    counted_from: datetime
    due_at: datetime
    working_minutes: int
    policy: str


PLACEHOLDER_POLICY = "placeholder-v0"
RECEIVE_MINUTES = 8 * 60  # domain.md §5: receiving ≤ 8 working hours from submission


def receive_deadline(submitted_at: datetime, calendar: Calendar) -> StageDeadline:
    due = calendar.add(submitted_at, RECEIVE_MINUTES)
    return StageDeadline("receive", submitted_at, due, RECEIVE_MINUTES, PLACEHOLDER_POLICY)
