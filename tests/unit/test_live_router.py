"""The worker's router follows the units.directory table, and never routes with half a change."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

from pakn.directory_topic import UNREADABLE, DirectoryFollower
from pakn.rules import rules_from_settings
from pakn.settings import Settings
from processors.calendar import OfficeHours, WorkingCalendar
from processors.case import CaseState, open_case
from processors.routing import Router, RoutingRules
from processors.unit_records import Change, Entry, diff, snapshot_records
from processors.units import UnitDirectory, load_directory
from schemas.codec import get_codec
from streams.directory import LiveRouter
from tests.factories import submitted_record

CODEC = get_codec()


def shipped(name: str) -> dict[str, Any]:
    return json.loads(resources.files("processors").joinpath("data", name).read_text("utf-8"))


DIRECTORY, RULES = shipped("units_hanoi_2025.json"), shipped("routing_rules.json")
ROADS_TO_CONSTRUCTION = {
    "id": "roads",
    "process": ["field_feedback"],
    "category": ["road_damage"],
    "targets": ["domain_owner"],
}


def files_router() -> Router:
    return Router(UnitDirectory.from_dict(DIRECTORY), RoutingRules.from_dict(RULES))


class Topic:
    """What a follower has read: the latest record per key, as the worker's follower keeps it."""

    def __init__(self, live: LiveRouter) -> None:
        self.entries: dict[str, Entry] = {}
        self.follower = DirectoryFollower(Settings(), live.offer)  # not started: no Kafka here

    def write(self, changes: list[Change]) -> None:
        for c in changes:  # one message at a time, as they arrive
            if c.record is None:
                self.entries.pop(c.key, None)
            else:
                self.entries[c.key] = CODEC.decode(CODEC.encode(c.kind or "", c.record))
            self.follower._rebuild(self.entries)

    def changes(self, directory: Any, rules: Any) -> list[Change]:
        return diff(self.entries, snapshot_records(directory, rules))[0]


def hoan_kiem_road(live: LiveRouter) -> str:
    return live.route("field_feedback", "road_damage", commune_code="00070").code


def with_roads_rule() -> dict[str, Any]:
    rules = copy.deepcopy(RULES)
    rules["rules"].insert(0, ROADS_TO_CONSTRUCTION)
    return rules


def test_until_a_directory_is_published_the_worker_routes_by_the_files() -> None:
    live = LiveRouter(files_router(), on_swap=lambda _: None)
    Topic(live).write([])
    assert hoan_kiem_road(live) == "00070" and live.generation == 0


def test_a_published_change_is_routed_by_from_the_next_item_on() -> None:
    swapped: list[int] = []
    live = LiveRouter(files_router(), on_swap=lambda r: swapped.append(len(r.directory)))
    topic = Topic(live)
    topic.write(topic.changes(DIRECTORY, RULES))
    assert hoan_kiem_road(live) == "00070" and live.generation == 1
    topic.write(topic.changes(DIRECTORY, with_roads_rule()))
    assert hoan_kiem_road(live) == "01-SXD" and live.generation == 2
    assert hoan_kiem_road(live) == "01-SXD"
    assert swapped == [150, 150]  # the calendar hook ran once per new generation


def test_half_a_publication_keeps_the_last_complete_one() -> None:
    live = LiveRouter(files_router(), on_swap=lambda _: None)
    topic = Topic(live)
    topic.write(topic.changes(DIRECTORY, RULES))
    assert hoan_kiem_road(live) == "00070"
    changes = topic.changes(DIRECTORY, with_roads_rule())
    topic.write(changes[:-1])  # the rules arrived, the head not yet
    assert hoan_kiem_road(live) == "00070" and live.generation == 1
    topic.write(changes[-1:])
    assert hoan_kiem_road(live) == "01-SXD" and live.generation == 2


def test_an_unreadable_record_keeps_the_router_in_use() -> None:
    live = LiveRouter(files_router(), on_swap=lambda _: None)
    topic = Topic(live)
    topic.write(topic.changes(DIRECTORY, RULES))
    assert hoan_kiem_road(live) == "00070" and live.generation == 1
    topic.entries["00070"] = (UNREADABLE, {})
    topic.follower._rebuild(topic.entries)
    topic.write(topic.changes(DIRECTORY, with_roads_rule()))  # rewrites 00070 too
    assert hoan_kiem_road(live) == "01-SXD" and live.generation == 2


def test_a_new_generation_brings_its_office_hours_to_the_rules() -> None:
    """The worker decides with ``Rules``: a publication's router and its units' own office
    hours count from the next input on, with no process-wide state changed."""
    live = LiveRouter(files_router())
    rules = rules_from_settings(Settings(), router=live.router)
    topic = Topic(live)
    directory = copy.deepcopy(DIRECTORY)
    days = {"mon-fri": "07:30-11:30,13:00-17:00", "sat": "08:00-11:30"}
    next(u for u in directory["units"] if u["code"] == "00070")["office_hours"] = {"days": days}
    before = rules.calendar("00070").office_hours
    topic.write(topic.changes(directory, RULES))
    after = rules.with_router(live.router)
    assert after.router is live.router and after.router.directory.source == "topic:generation 1"
    assert after.calendar("00070").office_hours == OfficeHours.from_mapping(days)
    assert after.calendar("00004").office_hours == before == OfficeHours()
    assert rules.calendar("00070").office_hours == before  # the old rules are untouched
    assert load_directory().get("00070").office_hours is None  # the files are untouched


def test_a_redelivered_submission_keeps_the_unit_it_was_first_routed_to() -> None:
    """Routing decides once: the case state holds the unit, a redelivery after the directory
    changed re-emits the first decision instead of routing again."""
    cal = WorkingCalendar()
    rec = submitted_record()
    first = open_case(None, rec, cal, unit_code="00070")
    again = open_case(CaseState.from_dict(first.state.to_dict()), rec, cal, unit_code="01-SXD")
    assert again.state.unit_code == "00070" and not again.changed
    assert again.emits == first.emits
