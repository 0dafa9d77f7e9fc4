"""Routing, forwarding and transfer rules (processors/routing.py, `pakn units route`)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pakn.rules import router_from_settings
from pakn.settings import Settings, get_settings
from pakn.units_cli import units as units_cli
from processors.catalogue import CATEGORIES, PROCESSES
from processors.routing import (
    REFUSAL_CODES,
    ROUTE_NOTES,
    SHIPPED_RULES,
    Route,
    Router,
    RoutingRules,
    RoutingRulesError,
    Verdict,
    load_rules,
    shipped_rules,
)
from processors.units import UnitDirectory, shipped_directory

DATA = Path(__file__).resolve().parents[2] / "processors" / "data"

LEAD = {
    "road_damage": "01-SXD",
    "waste": "01-SNNMT",
    "encroachment": "01-SXD",
    "flooding": "01-SXD",
    "lighting": "01-SXD",
    "noise": "01-CATP",
    "trees": "01-SXD",
    "water_supply": "01-SXD",
    "traffic": "01-CATP",
    "construction": "01-SXD",
}
DEFAULT = "01-VPUB"


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("PAKN_UNITS_FILE", raising=False)
    monkeypatch.delenv("PAKN_ROUTING_FILE", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def rules() -> RoutingRules:
    return shipped_rules()


@pytest.fixture(scope="module")
def r2025(rules: RoutingRules) -> Router:
    return Router(shipped_directory("hanoi-2025"), rules)


@pytest.fixture(scope="module")
def rpre(rules: RoutingRules) -> Router:
    return Router(shipped_directory("hanoi-pre2025"), rules)


def rules_doc() -> dict[str, Any]:
    return json.loads((DATA / SHIPPED_RULES).read_text(encoding="utf-8"))


def rule_problems(doc: object) -> list[str]:
    with pytest.raises(RoutingRulesError) as info:
        RoutingRules.from_dict(doc, "rules.json")
    assert str(info.value).startswith("rules.json: ")
    return info.value.problems


def refused(verdict: Verdict, code: str) -> bool:
    assert not verdict and verdict.code == code and verdict.detail, verdict
    return True


# --- routing: field feedback -----------------------------------------------------------------
@pytest.mark.parametrize("category", sorted(CATEGORIES))
@pytest.mark.parametrize("commune", ["00004", "00070", "10342"])
def test_field_feedback_goes_to_the_commune_of_its_location(
    r2025: Router, category: str, commune: str
) -> None:
    found = r2025.route("field_feedback", category, commune_code=commune)
    assert (found.code, found.rule, found.via, found.notes) == (
        commune,
        "field_feedback",
        "commune_of_location",
        (),
    )


def test_field_feedback_goes_to_the_commune_of_its_location_before_2025_too(rpre: Router) -> None:
    found = rpre.route("field_feedback", "waste", commune_code="00070")
    assert found.unit.name_vi == "Phường Hàng Trống" and found.unit.parent == "002"


def test_field_feedback_location_wins_over_the_unit_the_sender_chose(r2025: Router) -> None:
    found = r2025.route("field_feedback", "noise", commune_code="00004", unit_code="01-CATP")
    assert found.code == "00004"


def test_field_feedback_without_a_location_goes_to_the_unit_the_sender_chose(
    r2025: Router, rpre: Router
) -> None:
    assert r2025.route("field_feedback", "noise", unit_code="01-CATP").via == "sender_choice"
    assert r2025.route("field_feedback", "noise", unit_code="00070").code == "00070"
    assert rpre.route("field_feedback", "noise", unit_code="001").code == "001"


def test_field_feedback_with_an_unknown_location_goes_to_the_city_default_unit(
    r2025: Router,
) -> None:
    found = r2025.route("field_feedback", "road_damage")
    assert (found.code, found.via, found.notes) == (DEFAULT, "default", ())
    found = r2025.route("field_feedback", "road_damage", commune_code="99999")
    assert (found.code, found.notes) == (DEFAULT, ("commune_unknown",))
    assert r2025.route("field_feedback", "road_damage", commune_code="").code == DEFAULT


def test_a_location_code_that_is_not_a_commune_is_not_used(rpre: Router, r2025: Router) -> None:
    found = rpre.route("field_feedback", "waste", commune_code="001")  # a district
    assert (found.code, found.notes) == (DEFAULT, ("commune_not_a_commune",))
    found = r2025.route("field_feedback", "waste", commune_code="01-SXD")
    assert found.notes == ("commune_not_a_commune",)


def test_a_sender_choice_that_cannot_be_used_is_noted(r2025: Router) -> None:
    found = r2025.route("field_feedback", "waste", unit_code="nope")
    assert (found.code, found.notes) == (DEFAULT, ("sender_choice_unknown",))
    found = r2025.route("field_feedback", "waste", unit_code="01-TTPVHCC")  # oversight
    assert (found.code, found.notes) == (DEFAULT, ("sender_choice_not_accepted",))
    found = r2025.route("field_feedback", "waste", commune_code="x", unit_code="01")  # the city
    assert found.notes == ("commune_unknown", "sender_choice_not_accepted")


# --- routing: the other processes ------------------------------------------------------------
@pytest.mark.parametrize(("category", "owner"), sorted(LEAD.items()))
def test_administrative_procedure_feedback_goes_to_the_department_owning_the_procedure(
    r2025: Router, category: str, owner: str
) -> None:
    found = r2025.route("administrative_procedure", category, commune_code="00004")
    assert (found.code, found.via) == (owner, "domain_owner")


def test_procedure_feedback_nobody_leads_goes_to_the_procedure_control_unit(
    r2025: Router,
) -> None:
    found = r2025.route("administrative_procedure", "other", commune_code="00004")
    assert (found.code, found.via) == ("01-VPUB", "role:procedure_control")


def test_investor_business_feedback_goes_to_the_configured_unit(r2025: Router) -> None:
    found = r2025.route("investor_business", "other", commune_code="00004")
    assert (found.code, found.rule, found.via) == (
        "01-STC",
        "investor_business",
        "role:investor_business",
    )
    assert found.unit.name_vi == "Sở Tài chính"


def test_investor_business_feedback_addressed_to_a_department_goes_there(r2025: Router) -> None:
    assert r2025.route("investor_business", "construction", unit_code="01-SXD").code == "01-SXD"
    found = r2025.route("investor_business", "construction", unit_code="00004")
    assert (found.code, found.notes) == ("01-STC", ("sender_choice_not_accepted",))


def test_initiatives_go_to_the_lead_department_else_science_and_technology(
    r2025: Router,
) -> None:
    assert r2025.route("initiative", "traffic").code == "01-CATP"
    found = r2025.route("initiative", "other", commune_code="00004")
    assert (found.code, found.via) == ("01-SKHCN", "role:initiative")


def test_waste_reports_go_to_the_agency_named_else_the_commune_else_finance(
    r2025: Router,
) -> None:
    assert r2025.route("waste_report", "other", commune_code="00004", unit_code="01-SYT").code == (
        "01-SYT"
    )
    assert r2025.route("waste_report", "other", commune_code="00004").code == "00004"
    found = r2025.route("waste_report", "other")
    assert (found.code, found.via) == ("01-STC", "role:waste_report")


def test_an_unknown_process_goes_to_the_default_unit_with_a_note(r2025: Router) -> None:
    found = r2025.route("complaint", "other", commune_code="00004")
    assert (found.code, found.rule, found.via, found.notes) == (
        DEFAULT,
        "",
        "default",
        ("no_matching_rule",),
    )


@pytest.mark.parametrize("shape", ["hanoi-2025", "hanoi-pre2025"])
def test_every_category_and_process_routes_to_an_existing_unit_for_every_commune(
    rules: RoutingRules, shape: str
) -> None:
    router = Router(shipped_directory(shape), rules)
    d = router.directory
    locations: list[str | None] = [u.code for u in d.communes()]
    locations += [None, "99999", d.root.code]
    seen: set[str] = set()
    for process in PROCESSES:
        for category in CATEGORIES:
            for commune in locations:
                found = router.route(process, category, commune_code=commune)
                assert isinstance(found, Route)
                assert found.unit is d.get(found.code)
                assert found.unit.handles_items, found
                assert set(found.notes) <= set(ROUTE_NOTES)
                if process == "field_feedback" and commune in d and commune != d.root.code:
                    assert found.code == commune
                seen.add(found.code)
    assert seen - {u.code for u in d.communes()} == {
        DEFAULT,  # default and procedure control
        *LEAD.values(),  # the departments leading a category
        "01-STC",  # investor/business, waste reports without a location
        "01-SKHCN",  # initiatives nobody leads
    }


# --- forwarding ------------------------------------------------------------------------------
def test_a_district_forwards_to_a_commune_of_its_area(rpre: Router) -> None:
    assert rpre.can_forward("001", "00004") == Verdict(True)
    assert rpre.can_forward("001", "00004", commune_code="00004")
    assert rpre.can_forward(rpre.directory.get("001"), rpre.directory.get("00001"))


def test_a_district_cannot_forward_outside_its_area(rpre: Router) -> None:
    verdict = rpre.can_forward("001", "00070")  # Hàng Trống is in Hoàn Kiếm (002)
    assert refused(verdict, "forward_target_not_in_area")
    assert "Quận Ba Đình" in verdict.detail


def test_a_district_forwards_to_the_commune_of_the_location_only(rpre: Router) -> None:
    assert refused(
        rpre.can_forward("001", "00001", commune_code="00004"), "forward_target_not_location"
    )
    assert rpre.can_forward("001", "00001", commune_code="99999")  # unknown: not checked


def test_since_2025_there_is_no_district_to_forward_from(r2025: Router) -> None:
    assert not r2025.directory.of_kind("district")
    assert refused(r2025.can_forward("001", "00004"), "unknown_unit")


def test_a_department_forwards_to_the_commune_of_the_location(r2025: Router, rpre: Router) -> None:
    assert r2025.can_forward("01-SXD", "00070", commune_code="00070")
    assert refused(
        r2025.can_forward("01-SXD", "00004", commune_code="00070"), "forward_target_not_location"
    )
    assert r2025.can_forward("01-VPUB", "00004")  # location unknown: any commune of the city
    assert rpre.can_forward("01-SXD", "002", commune_code="00070")  # its district, pre-2025
    assert rpre.can_forward("01-SXD", "00070", commune_code="00070")
    assert refused(
        rpre.can_forward("01-SXD", "001", commune_code="00070"), "forward_target_not_location"
    )


def test_a_department_forwards_to_the_enterprise_operating_its_domain(r2025: Router) -> None:
    assert r2025.can_forward("01-SXD", "01-HAWACO", category="water_supply")
    assert r2025.can_forward("01-SXD", "01-HAPULICO")  # share lighting
    assert r2025.can_forward("01-SNNMT", "01-URENCO", category="waste")
    assert refused(
        r2025.can_forward("01-SXD", "01-HAWACO", category="lighting"),
        "forward_target_outside_domain",
    )
    assert refused(r2025.can_forward("01-SNNMT", "01-HAWACO"), "forward_target_outside_domain")
    assert refused(r2025.can_forward("01-VPUB", "01-SDC"), "forward_target_outside_domain")


@pytest.mark.parametrize(
    ("src", "dst"),
    [
        ("00004", "00070"),  # commune → commune
        ("00004", "01-SXD"),  # upwards is a transfer, not a forward
        ("01-HAWACO", "00004"),  # enterprise
        ("01-TTPVHCC", "00004"),  # oversight
        ("01", "00004"),  # the city itself
        ("01-SXD", "01-CATP"),  # department → department is a transfer
    ],
)
def test_forwarding_between_other_kinds_is_refused(r2025: Router, src: str, dst: str) -> None:
    assert refused(r2025.can_forward(src, dst), "forward_kind_not_allowed")


def test_forwarding_to_itself_or_an_unknown_unit_is_refused(r2025: Router) -> None:
    assert refused(r2025.can_forward("01-SXD", "01-SXD"), "same_unit")
    assert refused(r2025.can_forward("01-SXD", "nope"), "unknown_unit")
    assert refused(r2025.can_forward("nope", "00004"), "unknown_unit")


def test_forwarding_rules_are_data(rules: RoutingRules) -> None:
    doc = rules_doc()
    doc["forwarding"].append({"from": "commune", "to": "commune", "scope": "any"})
    router = Router(shipped_directory("hanoi-2025"), RoutingRules.from_dict(doc))
    assert router.can_forward("00004", "00070")
    doc["forwarding"] = []
    router = Router(shipped_directory("hanoi-2025"), RoutingRules.from_dict(doc))
    assert refused(router.can_forward("01-SXD", "00004"), "forward_kind_not_allowed")


# --- transfer --------------------------------------------------------------------------------
@pytest.mark.parametrize(("category", "owner"), sorted(LEAD.items()))
def test_a_commune_proposes_transfer_to_the_competent_department(
    r2025: Router, category: str, owner: str
) -> None:
    assert r2025.can_transfer("00004", owner, category=category) == Verdict(True)


def test_transfer_to_a_department_that_does_not_lead_the_category_is_refused(
    r2025: Router,
) -> None:
    verdict = r2025.can_transfer("00004", "01-CATP", category="road_damage")
    assert refused(verdict, "transfer_target_not_competent")
    assert "01-SXD" in verdict.detail


def test_an_item_no_department_leads_may_be_transferred_to_any_department(
    r2025: Router,
) -> None:
    assert r2025.can_transfer("00004", "01-SYT", category="other")
    assert r2025.can_transfer("00004", "01-SYT")  # category unknown: only the kinds count


@pytest.mark.parametrize("target", ["00070", "01-HAWACO", "01-TTPVHCC", "01"])
def test_transfer_targets_must_be_departments(r2025: Router, target: str) -> None:
    assert refused(r2025.can_transfer("00004", target), "transfer_target_not_department")


def test_districts_enterprises_and_departments_may_transfer(r2025: Router, rpre: Router) -> None:
    assert rpre.can_transfer("001", "01-SXD", category="road_damage")
    assert r2025.can_transfer("01-HAWACO", "01-SXD", category="water_supply")
    assert r2025.can_transfer("01-SXD", "01-CATP", category="traffic")
    assert refused(
        r2025.can_transfer("01-SXD", "01-SNNMT", category="traffic"),
        "transfer_target_not_competent",
    )


@pytest.mark.parametrize("source", ["01-TTPVHCC", "01"])
def test_the_oversight_centre_and_the_city_do_not_transfer(r2025: Router, source: str) -> None:
    assert refused(r2025.can_transfer(source, "01-SXD"), "transfer_source_not_allowed")


def test_transfer_to_itself_or_an_unknown_unit_is_refused(r2025: Router) -> None:
    assert refused(r2025.can_transfer("01-SXD", "01-SXD"), "same_unit")
    assert refused(r2025.can_transfer("00004", "01-SGTVT"), "unknown_unit")


def test_the_refusal_codes_are_stable() -> None:
    assert REFUSAL_CODES == (
        "unknown_unit",
        "same_unit",
        "forward_kind_not_allowed",
        "forward_target_not_in_area",
        "forward_target_not_location",
        "forward_target_outside_domain",
        "transfer_source_not_allowed",
        "transfer_target_not_department",
        "transfer_target_not_competent",
    )
    assert ROUTE_NOTES == (
        "commune_unknown",
        "commune_not_a_commune",
        "sender_choice_unknown",
        "sender_choice_not_accepted",
        "no_matching_rule",
    )
    assert not Verdict(False, "same_unit") and Verdict(True)


# --- the rules are data ----------------------------------------------------------------------
def test_a_category_can_be_routed_straight_to_a_unit_by_data() -> None:
    doc = rules_doc()
    doc["rules"].insert(
        0,
        {
            "id": "water_to_the_company",
            "process": "field_feedback",
            "category": ["water_supply"],
            "targets": ["unit:01-HAWACO"],
        },
    )
    router = Router(shipped_directory("hanoi-2025"), RoutingRules.from_dict(doc))
    found = router.route("field_feedback", "water_supply", commune_code="00004")
    assert (found.code, found.rule, found.via) == (
        "01-HAWACO",
        "water_to_the_company",
        "unit:01-HAWACO",
    )
    assert router.route("field_feedback", "waste", commune_code="00004").code == "00004"


def test_the_rules_must_fit_the_directory() -> None:
    doc = rules_doc()
    doc["rules"][0]["targets"] = ["unit:01-NOPE", "role:nope"]
    with pytest.raises(RoutingRulesError) as info:
        Router(shipped_directory("hanoi-2025"), RoutingRules.from_dict(doc, "x.json"))
    assert info.value.problems == [
        "the rules name unit 01-NOPE, which directory hanoi-2025 lacks",
        "the rules use role 'nope', which directory hanoi-2025 lacks",
    ]
    small = UnitDirectory.from_dict(
        {
            "name": "small",
            "parents": {"city": [], "commune": ["city"]},
            "units": [{"code": "01", "kind": "city", "name_vi": "T"}],
        }
    )
    assert "the rules use role 'default', which directory small lacks" in (
        shipped_rules().problems_with(small)
    )


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d["rules"][0].update(process="complaint"), "'process': unknown 'complaint'"),
        (lambda d: d["rules"][0].update(category=["pothole"]), "'category': unknown 'pothole'"),
        (lambda d: d["rules"][0].update(category=[]), "must be a name or a non-empty list"),
        (lambda d: d["rules"][0].update(targets=["nearest"]), "bad target 'nearest'"),
        (lambda d: d["rules"][0].update(targets="role:x"), "'targets' must be a list"),
        (lambda d: d["rules"][0].update(sender_kinds=["ward"]), "unknown kind 'ward'"),
        (lambda d: d["rules"][0].update(colour=1), "unknown field(s) ['colour']"),
        (lambda d: d["rules"][1].update(id=d["rules"][0]["id"]), "the id is used twice"),
        (lambda d: d["rules"][0].pop("id"), "rule #1: 'id' is required"),
        (lambda d: d["rules"].append(3), "expected an object"),
        (lambda d: d.update(rules={}), "'rules' must be a list"),
        (lambda d: d.update(default="commune_of_location"), "'default' must be role:NAME"),
        (lambda d: d.update(name=""), "'name' is required"),
        (lambda d: d.update(extra=1), "unknown top-level field(s) ['extra']"),
        (lambda d: d["forwarding"][0].update(to="ward"), "'to' must be a kind"),
        (lambda d: d["forwarding"][0].update(scope="city"), "'scope' must be one of"),
        (lambda d: d["forwarding"][0].update(location="yes"), "'location' must be true or false"),
        (lambda d: d["forwarding"][0].update(via=1), "unknown field(s) ['via']"),
        (lambda d: d.update(forwarding={}), "'forwarding' must be a list"),
        (lambda d: d["forwarding"].append("x"), "expected an object"),
        (lambda d: d.pop("transfer"), "'transfer' must be an object"),
        (lambda d: d["transfer"].update(to=["sở"]), "transfer 'to': unknown kind 'sở'"),
        (lambda d: d["transfer"].update(competence="yes"), "'competence' must be true or false"),
        (lambda d: d["transfer"].update(by=1), "transfer: unknown field(s) ['by']"),
        (lambda d: d["transfer"].update(to="department"), "must be a list of kinds"),
    ],
)
def test_bad_rules_files_are_refused_with_a_clear_message(change: Any, problem: str) -> None:
    doc = copy.deepcopy(rules_doc())
    change(doc)
    problems = rule_problems(doc)
    assert any(problem in p for p in problems), problems


def test_unreadable_broken_or_future_rules_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RoutingRulesError, match="cannot read"):
        load_rules(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("[", encoding="utf-8")
    with pytest.raises(RoutingRulesError, match="not valid JSON"):
        RoutingRules.from_file(bad)
    assert rule_problems([]) == ["expected a JSON object at the top"]
    assert rule_problems({"format": 2}) == ["unsupported format 2"]


def test_the_shipped_rules(rules: RoutingRules) -> None:
    assert rules.name == "hanoi-1207-2025/v1"
    assert [r.id for r in rules.rules] == [
        "investor_business",
        "administrative_procedure",
        "initiative",
        "waste_report",
        "field_feedback",
    ]
    assert {p for r in rules.rules for p in (r.processes or ())} == set(PROCESSES)
    assert rules.default == "role:default"
    assert rules.transfer.to_kinds == {"department"}


# --- where the router comes from: the settings, once per process ---------------------------
def test_the_settings_router_is_the_shipped_directory_and_rules() -> None:
    router = router_from_settings(Settings())
    assert router.route("field_feedback", "waste", commune_code="00070").code == "00070"
    assert router.can_forward("01-SXD", "00070", commune_code="00070")
    assert refused(router.can_transfer("00004", "00070"), "transfer_target_not_department")


def test_pakn_routing_file_and_pakn_units_file_change_the_router(tmp_path: Path) -> None:
    doc = rules_doc()
    doc["default"] = "unit:01-TTTP"
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    router = router_from_settings(Settings(routing_file=str(path)))
    assert router.route("field_feedback", "waste").code == "01-TTTP"
    assert load_rules(path).default == "unit:01-TTTP"
    old = router_from_settings(Settings(units_file=str(DATA / "units_hanoi_pre2025.json")))
    assert old.route("field_feedback", "waste", commune_code="00004").unit.name_vi == (
        "Phường Trúc Bạch"
    )


# --- pakn units route ------------------------------------------------------------------------
def run(*args: str) -> Result:
    return CliRunner().invoke(units_cli, list(args))


def test_cli_route_prints_the_unit_code_and_name() -> None:
    result = run(
        "route", "--process", "field_feedback", "--category", "waste", "--commune", "00070"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == "00070\tPhường Hoàn Kiếm\n"


def test_cli_route_without_a_location_and_with_an_explanation() -> None:
    result = run("route", "--process", "field_feedback", "--category", "waste", "--explain")
    assert result.stdout == (
        "01-VPUB\tVăn phòng Ủy ban nhân dân thành phố\nrule: field_feedback\nvia: default\n"
    )
    result = run(
        "route",
        "--process",
        "investor_business",
        "--category",
        "other",
        "--unit",
        "00004",
        "--explain",
    )
    assert result.stdout.splitlines() == [
        "01-STC\tSở Tài chính",
        "rule: investor_business",
        "via: role:investor_business",
        "notes: sender_choice_not_accepted",
    ]


def test_cli_route_in_the_pre2025_directory() -> None:
    args = ("route", "--process", "field_feedback", "--category", "noise", "--commune", "00004")
    assert run(*args, "--shipped", "hanoi-pre2025").stdout == "00004\tPhường Trúc Bạch\n"
    path = str(DATA / "units_hanoi_pre2025.json")
    assert run(*args, "--file", path).stdout == "00004\tPhường Trúc Bạch\n"


@pytest.mark.parametrize(
    "args",
    [
        ("route", "--process", "complaint", "--category", "waste"),
        ("route", "--process", "field_feedback", "--category", "pothole"),
        ("route", "--category", "waste"),
    ],
)
def test_cli_route_refuses_unknown_processes_and_categories(args: tuple[str, ...]) -> None:
    result = run(*args)
    assert result.exit_code == 2


def test_cli_route_reports_rules_that_do_not_fit(tmp_path: Path) -> None:
    doc = rules_doc()
    doc["default"] = "role:nope"
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = run("route", "--process", "initiative", "--category", "other", "--rules", str(path))
    assert result.exit_code == 1 and "role 'nope'" in result.output
    path.write_text("{}", encoding="utf-8")
    result = run("route", "--process", "initiative", "--category", "other", "--rules", str(path))
    assert result.exit_code == 1 and "'name' is required" in result.output
