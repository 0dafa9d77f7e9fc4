"""The worker's router follows the units.directory table, and never routes with half a change."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

from processors.calendar import WorkingCalendar
from processors.case import CaseState, open_case
from processors.routing import Router, RoutingRules
from processors.unit_records import Change, diff, snapshot_records
from processors.units import UnitDirectory
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


def write(table: dict[bytes, bytes], changes: list[Change], live: LiveRouter) -> None:
    """As the GlobalTable does: the callback, then the change applied."""
    for c in changes:
        live.changed()
        if c.record is None:
            table.pop(c.key.encode(), None)
        else:
            table[c.key.encode()] = CODEC.encode(c.kind or "", c.record)


def publish(table: dict[bytes, bytes], live: LiveRouter, directory: Any, rules: Any) -> None:
    current = {k.decode(): CODEC.decode(v) for k, v in table.items()}
    changes, _ = diff(current, snapshot_records(directory, rules))
    write(table, changes, live)


def hoan_kiem_road(live: LiveRouter) -> str:
    return live.route("field_feedback", "road_damage", commune_code="00070").code


def test_until_a_directory_is_published_the_worker_routes_by_the_files() -> None:
    table: dict[bytes, bytes] = {}
    live = LiveRouter(files_router(), table, CODEC, on_swap=lambda _: None)
    assert hoan_kiem_road(live) == "00070" and live.generation == 0


def test_a_published_change_is_routed_by_from_the_next_item_on() -> None:
    table: dict[bytes, bytes] = {}
    swapped: list[int] = []
    live = LiveRouter(
        files_router(), table, CODEC, on_swap=lambda r: swapped.append(len(r.directory))
    )
    publish(table, live, DIRECTORY, RULES)
    assert hoan_kiem_road(live) == "00070" and live.generation == 1
    rules = copy.deepcopy(RULES)
    rules["rules"].insert(0, ROADS_TO_CONSTRUCTION)
    publish(table, live, DIRECTORY, rules)
    assert hoan_kiem_road(live) == "01-SXD" and live.generation == 2
    assert swapped == [150, 150]  # the calendar hook ran once per new generation


def test_half_a_publication_keeps_the_last_complete_one() -> None:
    table: dict[bytes, bytes] = {}
    live = LiveRouter(files_router(), table, CODEC, on_swap=lambda _: None)
    publish(table, live, DIRECTORY, RULES)
    assert hoan_kiem_road(live) == "00070"
    rules = copy.deepcopy(RULES)
    rules["rules"].insert(0, ROADS_TO_CONSTRUCTION)
    current = {k.decode(): CODEC.decode(v) for k, v in table.items()}
    changes, _ = diff(current, snapshot_records(DIRECTORY, rules))
    write(table, changes[:-1], live)  # the rules arrived, the head not yet
    assert hoan_kiem_road(live) == "00070" and live.generation == 1
    write(table, changes[-1:], live)
    assert hoan_kiem_road(live) == "01-SXD" and live.generation == 2


def test_an_unreadable_record_keeps_the_router_in_use() -> None:
    table: dict[bytes, bytes] = {}
    live = LiveRouter(files_router(), table, CODEC, on_swap=lambda _: None)
    publish(table, live, DIRECTORY, RULES)
    assert live.refresh() is not None and live.generation == 1
    table[b"00070"] = b"not avro"
    live.changed()
    assert hoan_kiem_road(live) == "00070" and live.generation == 1


def test_a_redelivered_submission_keeps_the_unit_it_was_first_routed_to() -> None:
    """Routing decides once: the case state holds the unit, a redelivery after the directory
    changed re-emits the first decision instead of routing again."""
    cal = WorkingCalendar()
    rec = submitted_record()
    first = open_case(None, rec, cal, unit_code="00070")
    again = open_case(CaseState.from_dict(first.state.to_dict()), rec, cal, unit_code="01-SXD")
    assert again.state.unit_code == "00070" and not again.changed
    assert again.emits == first.emits
