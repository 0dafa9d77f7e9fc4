"""The unit directory and routing rules as topic records: conversion both ways, and the diff."""

from __future__ import annotations

import copy
import json
from dataclasses import fields
from importlib import resources
from typing import Any

import pytest

from processors.calendar import OfficeHours
from processors.routing import Router, RoutingRules
from processors.unit_records import (
    HEAD_KEY,
    RULES_KEY,
    DirectoryNotReady,
    Entry,
    apply_changes,
    build_router,
    diff,
    snapshot_records,
)
from processors.units import UnitDirectory, UnitDirectoryError
from schemas.codec import get_codec


def shipped(name: str) -> dict[str, Any]:
    return json.loads(resources.files("processors").joinpath("data", name).read_text("utf-8"))


RULES = shipped("routing_rules.json")


def published(directory: dict[str, Any], rules: dict[str, Any] = RULES) -> dict[str, Entry]:
    """What the topic holds after publishing to an empty topic."""
    changes, _ = diff({}, snapshot_records(directory, rules))
    return apply_changes({}, changes)


def through_avro(entries: dict[str, Entry]) -> dict[str, Entry]:
    codec = get_codec()
    return {k: codec.decode(codec.encode(name, rec)) for k, (name, rec) in entries.items()}


def same_rules(a: RoutingRules, b: RoutingRules) -> bool:
    return all(getattr(a, f.name) == getattr(b, f.name) for f in fields(a) if f.name != "source")


def same_directory(a: UnitDirectory, b: UnitDirectory) -> bool:
    return (
        list(a.units.items()) == list(b.units.items())  # file order kept
        and (a.name, a.description, a.valid_from, a.valid_until, a.sources)
        == (b.name, b.description, b.valid_from, b.valid_until, b.sources)
        and dict(a.parents) == dict(b.parents)
        and dict(a.roles) == dict(b.roles)
    )


@pytest.mark.parametrize("name", ["units_hanoi_2025.json", "units_hanoi_pre2025.json"])
def test_both_shipped_shapes_come_back_from_the_topic_unchanged(name: str) -> None:
    doc = shipped(name)
    router, generation = build_router(through_avro(published(doc)))
    assert generation == 1
    assert same_directory(router.directory, UnitDirectory.from_dict(doc))
    assert same_rules(router.rules, RoutingRules.from_dict(RULES))


def test_a_unit_with_office_hours_of_its_own_keeps_them() -> None:
    doc = shipped("units_hanoi_2025.json")
    hours = {"days": {"mon-fri": "07:30-11:30,13:00-17:00", "sat": "08:00-11:30"}}
    hoan_kiem = next(u for u in doc["units"] if u["code"] == "00070")
    hoan_kiem["office_hours"] = {**hours, "makeup": "07:30-11:30,13:00-17:00", "day_minutes": 480}
    router, _ = build_router(through_avro(published(doc)))
    assert router.directory.office_hours_of("00070") == OfficeHours.from_mapping(
        hours["days"], makeup="07:30-11:30,13:00-17:00"
    )
    assert router.directory.office_hours_of("00004") is None


def test_the_first_publication_sends_every_unit_then_the_rules_then_the_head() -> None:
    doc = shipped("units_hanoi_2025.json")
    changes, generation = diff({}, snapshot_records(doc, RULES))
    assert generation == 1
    assert [c.key for c in changes[:-2]] == [u["code"] for u in doc["units"]]
    assert [c.key for c in changes[-2:]] == [RULES_KEY, HEAD_KEY]
    assert all(c.record is not None and c.record["generation"] == 1 for c in changes)


def test_publishing_the_same_files_again_sends_nothing() -> None:
    doc = shipped("units_hanoi_2025.json")
    topic = through_avro(published(doc))
    assert diff(topic, snapshot_records(doc, RULES, published_by="elsewhere")) == ([], 1)


def test_a_changed_unit_sends_that_unit_and_the_head() -> None:
    doc = shipped("units_hanoi_2025.json")
    topic = published(doc)
    doc2 = copy.deepcopy(doc)
    next(u for u in doc2["units"] if u["code"] == "00070")["name_en"] = "Hoan Kiem"
    changes, generation = diff(topic, snapshot_records(doc2, RULES))
    assert [(c.key, c.kind) for c in changes] == [
        ("00070", "DirectoryUnit"),
        (HEAD_KEY, "DirectoryHead"),
    ]
    assert generation == 2
    router, gen = build_router(apply_changes(topic, changes))
    assert gen == 2 and router.directory.get("00070").name_en == "Hoan Kiem"


def test_a_changed_rule_sends_the_rules_and_the_head_and_routes_by_it() -> None:
    doc = shipped("units_hanoi_2025.json")
    topic = published(doc)
    rules = copy.deepcopy(RULES)
    rule = {"id": "roads", "process": "field_feedback", "category": ["road_damage"]}
    rules["rules"].insert(0, {**rule, "targets": ["domain_owner"]})
    changes, _ = diff(topic, snapshot_records(doc, rules))
    assert [c.key for c in changes] == [RULES_KEY, HEAD_KEY]
    router, _ = build_router(apply_changes(topic, changes))
    assert router.route("field_feedback", "road_damage", commune_code="00070").code == "01-SXD"
    assert router.route("field_feedback", "waste", commune_code="00070").code == "00070"


def test_a_unit_left_out_of_the_file_is_tombstoned_and_no_longer_routed_to() -> None:
    doc = shipped("units_hanoi_2025.json")
    topic = published(doc)
    doc2 = copy.deepcopy(doc)
    doc2["units"] = [u for u in doc2["units"] if u["code"] != "00070"]
    changes, _ = diff(topic, snapshot_records(doc2, RULES))
    assert [(c.key, c.record) for c in changes[:1]] == [("00070", None)]
    assert [c.key for c in changes[1:]] == [HEAD_KEY]
    router, _ = build_router(apply_changes(topic, changes))
    assert "00070" not in router.directory
    assert router.route("field_feedback", "road_damage", commune_code="00070").code == "01-VPUB"


def test_a_publication_in_progress_is_not_routed_with() -> None:
    doc = shipped("units_hanoi_2025.json")
    topic = published(doc)
    doc2 = copy.deepcopy(doc)
    for u in doc2["units"]:
        if u["kind"] == "commune":
            u["note"] = "renamed"
    doc2["units"] = [u for u in doc2["units"] if u["code"] != "00004"]
    changes, _ = diff(topic, snapshot_records(doc2, RULES))
    halfway = apply_changes(topic, changes[:10])  # some new units, no tombstone, old head
    with pytest.raises(DirectoryNotReady, match="newer than the head"):
        build_router(halfway)
    only_tombstone = apply_changes(topic, [c for c in changes if c.record is None])
    with pytest.raises(DirectoryNotReady, match="missing: 00004"):
        build_router(only_tombstone)


def test_the_next_publication_completes_one_that_died_half_way() -> None:
    doc = shipped("units_hanoi_2025.json")
    topic = published(doc)
    doc2 = copy.deepcopy(doc)
    for u in doc2["units"][:40]:
        u["note"] = "changed"
    wanted = snapshot_records(doc2, RULES)
    changes, generation = diff(topic, wanted)
    halfway = apply_changes(topic, changes[:15])
    rest, generation2 = diff(halfway, wanted)
    assert generation2 == generation == 2
    assert [c.key for c in rest] == [c.key for c in changes[15:]]  # only what was not sent
    router, gen = build_router(apply_changes(halfway, rest))
    assert gen == 2 and same_directory(router.directory, UnitDirectory.from_dict(doc2))


def test_a_reader_that_missed_a_tombstone_ignores_the_unit_the_head_does_not_list() -> None:
    doc = shipped("units_hanoi_2025.json")
    topic = published(doc)
    doc2 = copy.deepcopy(doc)
    doc2["units"] = [u for u in doc2["units"] if u["code"] != "00070"]
    changes, _ = diff(topic, snapshot_records(doc2, RULES))
    missed = apply_changes(topic, [c for c in changes if c.record is not None])  # head only
    router, gen = build_router(missed)
    assert gen == 2 and "00070" not in router.directory


def test_nothing_published_is_not_a_directory() -> None:
    with pytest.raises(DirectoryNotReady, match="no directory published"):
        build_router({})


def test_an_invalid_directory_is_never_published() -> None:
    doc = shipped("units_hanoi_2025.json")
    doc["units"][3]["parent"] = "nowhere"
    with pytest.raises(UnitDirectoryError, match="unknown parent nowhere"):
        snapshot_records(doc, RULES)


def test_routing_by_the_topic_equals_routing_by_the_files() -> None:
    doc = shipped("units_hanoi_pre2025.json")
    files = Router(UnitDirectory.from_dict(doc), RoutingRules.from_dict(RULES))
    topic, _ = build_router(through_avro(published(doc)))
    communes = [u.code for u in files.directory.communes()][:50]
    for commune in [*communes, "99999", None]:
        for category in ("road_damage", "waste", "lighting"):
            assert (
                topic.route("field_feedback", category, commune_code=commune).code
                == files.route("field_feedback", category, commune_code=commune).code
            )
