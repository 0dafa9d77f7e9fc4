"""The core's rules built from the settings, once per process (processors/rules.py).

The one place where files named by settings are read for the deciding code: the SLA policy,
the calendar overrides, the unit directory and routing rules, the word list.
"""

from __future__ import annotations

import json
import os

from pakn.settings import Settings
from processors.calendar import (
    DEFAULT_OFFICE_HOURS,
    CalendarBook,
    OfficeHours,
    load_default_overrides,
)
from processors.reuse import DAY_MS
from processors.routing import Router, RoutingRules, shipped_rules
from processors.rules import IntegrityRules, RouterLike, Rules
from processors.sla import SlaPolicy
from processors.tallies import Thresholds
from processors.units import UnitDirectory, shipped_directory
from processors.wording import Screener


def calendars_from_settings(settings: Settings) -> CalendarBook:
    rows = load_default_overrides(settings.calendar_overrides.split(os.pathsep))
    hours = (
        OfficeHours.from_mapping(json.loads(settings.calendar_office_hours))
        if settings.calendar_office_hours
        else DEFAULT_OFFICE_HOURS
    )
    return CalendarBook(hours, public_holidays=settings.calendar_public_holidays, overrides=rows)


def router_from_settings(settings: Settings) -> Router:
    """The files' router: ``units_file``/``routing_file``, else the shipped ones."""
    directory = (
        UnitDirectory.from_file(settings.units_file) if settings.units_file else shipped_directory()
    )
    rules = (
        RoutingRules.from_file(settings.routing_file) if settings.routing_file else shipped_rules()
    )
    return Router(directory, rules)


def integrity_from_settings(settings: Settings) -> IntegrityRules:
    kinds = frozenset(k.strip() for k in settings.integrity_auto_reject.split(",") if k.strip())
    return IntegrityRules(
        reuse_distance=settings.integrity_reuse_distance,
        reuse_bands=settings.integrity_reuse_bands,
        reuse_window_ms=settings.integrity_reuse_window_days * DAY_MS,
        duplicate_radius_m=settings.integrity_duplicate_radius_m,
        duplicate_window_ms=settings.integrity_duplicate_window_days * DAY_MS,
        auto_reject=kinds,
    )


def rules_from_settings(settings: Settings, router: RouterLike | None = None) -> Rules:
    """Every rule of the core from ``settings`` (``router``: a live one following the topic)."""
    router = router if router is not None else router_from_settings(settings)
    screener = (
        Screener.from_files(settings.wordlist_file)
        if settings.wordlist_file
        else Screener.from_files()
    )
    policy = SlaPolicy.load(settings.sla_policy) if settings.sla_policy else SlaPolicy.shipped()
    rules = Rules(
        calendars=calendars_from_settings(settings),
        policy=policy,
        router=router,
        thresholds=Thresholds(
            settings.oversight_late_share, settings.oversight_repeat_not_satisfied
        ),
        screen=screener.screen,
        integrity=integrity_from_settings(settings),
    )
    return rules.with_router(router)
