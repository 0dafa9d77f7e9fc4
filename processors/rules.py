"""Every rule the core applies, as one object handed to it: no environment, no module globals.

``Rules`` gathers what a worker (or any tool that decides like one) needs: the calendars of the
units, the SLA policy, the router (directory + routing rules), the oversight thresholds, the
word list's screen and the integrity parameters. It is built once from the settings by
``pakn.rules.rules_from_settings`` and passed down; a test builds its own with the rules it is
about. A newly published unit directory gives a new ``Rules`` (``with_router``), never a mutation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

from processors.calendar import CalendarBook, OfficeHours, WorkingCalendar
from processors.reuse import (
    DAY_MS,
    DEFAULT_DUPLICATE_RADIUS_M,
    DEFAULT_DUPLICATE_WINDOW_DAYS,
    DEFAULT_REUSE_BANDS,
    DEFAULT_REUSE_DISTANCE,
    image_index,
)
from processors.routing import Route, Verdict
from processors.sla import SlaPolicy
from processors.tallies import Thresholds
from processors.units import Unit, UnitDirectory
from processors.wording import Hit


class RouterLike(Protocol):
    """What deciding needs of a router (``processors.routing.Router`` or a live one)."""

    @property
    def directory(self) -> UnitDirectory: ...

    def route(
        self,
        process: str,
        category: str,
        *,
        commune_code: str | None = None,
        unit_code: str | None = None,
    ) -> Route: ...

    def can_forward(
        self,
        from_unit: Unit | str,
        to_unit: Unit | str,
        *,
        commune_code: str | None = None,
        category: str | None = None,
    ) -> Verdict: ...

    def can_transfer(
        self, from_unit: Unit | str, to_unit: Unit | str, *, category: str | None = None
    ) -> Verdict: ...


@dataclass(frozen=True)
class IntegrityRules:
    """The streaming indexes' parameters (docs/integrity.md §4)."""

    reuse_distance: int = DEFAULT_REUSE_DISTANCE
    reuse_bands: int = DEFAULT_REUSE_BANDS
    reuse_window_ms: int = 365 * DAY_MS
    duplicate_radius_m: float = DEFAULT_DUPLICATE_RADIUS_M
    duplicate_window_ms: int = DEFAULT_DUPLICATE_WINDOW_DAYS * DAY_MS
    auto_reject: frozenset[str] = frozenset()
    # Bounds that keep a hot spot O(1) per submission (docs/integrity.md §4 "Bounds").
    place_entries_per_category: int = 8
    duplicate_flags_per_case: int = 3

    @property
    def layout(self):  # type: ignore[no-untyped-def]  # NearDupIndex, built on demand
        return image_index(self.reuse_distance, self.reuse_bands)


@dataclass(frozen=True)
class Rules:
    calendars: CalendarBook
    policy: SlaPolicy
    router: RouterLike
    thresholds: Thresholds = field(default_factory=Thresholds)
    screen: Callable[[str], list[Hit]] | None = None
    integrity: IntegrityRules = field(default_factory=IntegrityRules)

    def calendar(self, unit: str | None) -> WorkingCalendar:
        return self.calendars(unit)

    def with_router(self, router: RouterLike) -> Rules:
        """The rules after a new directory publication: its office hours count from now on."""
        hours: Callable[[str], OfficeHours | None] = router.directory.office_hours_of
        return replace(self, router=router, calendars=self.calendars.with_hours_of(hours))
