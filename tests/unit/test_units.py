"""The unit directory: processors/units.py, the units_*.json files, `pakn units list|check`."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pakn.settings import Settings, get_settings
from pakn.units_cli import units as units_cli
from processors.calendar import CalendarBook, OfficeHours
from processors.catalogue import CATEGORIES
from processors.routing import RoutingRulesError
from processors.units import (
    SHIPPED,
    UnitDirectory,
    UnitDirectoryError,
    hours_resolver,
    load_directory,
    shipped_directory,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "processors" / "data"
FILE_2025 = DATA / "units_hanoi_2025.json"
FILE_PRE2025 = DATA / "units_hanoi_pre2025.json"

# The documented choice of lead department per category (docs/units-and-routing.md).
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
    "other": None,
}
ENTERPRISE = {
    "water_supply": "01-HAWACO",
    "lighting": "01-HAPULICO",
    "flooding": "01-SDC",
    "waste": "01-URENCO",
    "trees": "01-CVCX",
}


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("PAKN_UNITS_FILE", raising=False)
    monkeypatch.delenv("PAKN_ROUTING_FILE", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def d2025() -> UnitDirectory:
    return shipped_directory("hanoi-2025")


@pytest.fixture(scope="module")
def dpre() -> UnitDirectory:
    return shipped_directory("hanoi-pre2025")


def write(tmp_path: Path, doc: object, name: str = "units.json") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return p


def minimal(*units: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A small valid two-tier directory plus ``units``; ``top`` replaces top-level fields."""
    doc: dict[str, Any] = {
        "format": 1,
        "name": "test",
        "parents": {"city": [], "commune": ["city"], "department": ["city"]},
        "roles": {"default": "D1"},
        "units": [
            {"code": "01", "kind": "city", "name_vi": "Thành phố"},
            {"code": "00001", "kind": "commune", "name_vi": "Phường Một", "parent": "01"},
            {"code": "D1", "kind": "department", "name_vi": "Sở Một", "parent": "01"},
            *units,
        ],
    }
    doc.update(top)
    return doc


def problems_of(doc: object) -> list[str]:
    with pytest.raises(UnitDirectoryError) as info:
        UnitDirectory.from_dict(doc, "test.json")
    assert str(info.value).startswith("test.json: ")
    return info.value.problems


# --- the 2025 directory ---------------------------------------------------------------------
def test_the_2025_directory_has_126_commune_level_units_51_phuong_and_75_xa(
    d2025: UnitDirectory,
) -> None:
    communes = d2025.communes()
    assert len(communes) == 126
    assert Counter(u.subtype for u in communes) == {"phường": 51, "xã": 75}
    assert all(u.name_vi.startswith(("Phường ", "Xã ")) for u in communes)


def test_ba_dinh_is_00004_and_hoan_kiem_is_00070_under_hanoi_01(d2025: UnitDirectory) -> None:
    assert d2025.root.code == "01"
    assert d2025.root.name_vi == "Thành phố Hà Nội"
    assert d2025.root.name_en == "Hanoi"
    ba_dinh, hoan_kiem = d2025.get("00004"), d2025.get("00070")
    assert (ba_dinh.name_vi, ba_dinh.name_en, ba_dinh.kind) == (
        "Phường Ba Đình",
        "Ba Dinh Ward",
        "commune",
    )
    assert (hoan_kiem.name_vi, hoan_kiem.parent) == ("Phường Hoàn Kiếm", "01")


def test_since_2025_every_commune_hangs_directly_under_the_city(d2025: UnitDirectory) -> None:
    assert not d2025.of_kind("district")
    assert {u.parent for u in d2025.communes()} == {"01"}
    assert d2025.parents["commune"] == ("city",)
    assert d2025.valid_from == "2025-07-01" and d2025.valid_until is None


def test_the_2025_codes_are_the_statistics_office_list_not_vietnam_provinces_2025_10_1(
    d2025: UnitDirectory,
) -> None:
    # 29 Hanoi wards have other codes in vietnam-provinces 2025.10.1 (the last release for
    # Python 3.11); its 2026 releases, built from the official list, agree with these.
    pinned = {
        "00082": "Phường Cửa Nam",
        "00118": "Phường Bồ Đề",
        "00199": "Phường Láng",
        "00226": "Phường Văn Miếu - Quốc Tử Giám",
        "00229": "Phường Kim Liên",
        "00331": "Phường Hoàng Mai",
        "10045": "Xã Xuân Mai",
    }
    assert {c: d2025.get(c).name_vi for c in pinned} == pinned
    assert "00073" not in d2025  # Cửa Nam's code in vietnam-provinces 2025.10.1


def test_every_code_has_the_shape_of_its_kind(d2025: UnitDirectory, dpre: UnitDirectory) -> None:
    for d in (d2025, dpre):
        for u in d:
            pattern = {
                "city": r"\d{2}",
                "district": r"\d{3}",
                "commune": r"\d{5}",
            }.get(u.kind, r"01-[A-Z]+")
            assert re.fullmatch(pattern, u.code), u


def test_every_unit_has_a_vietnamese_and_an_english_name(
    d2025: UnitDirectory, dpre: UnitDirectory
) -> None:
    for d in (d2025, dpre):
        for u in d:
            assert u.name_vi.strip() and u.name_en.strip() and u.name_en.isascii(), u


# --- the pre-2025 directory --------------------------------------------------------------------
def test_the_pre2025_directory_has_30_districts_and_526_commune_level_units(
    dpre: UnitDirectory,
) -> None:
    districts, communes = dpre.of_kind("district"), dpre.communes()
    assert len(districts) == 30
    assert Counter(u.subtype for u in districts) == {"quận": 12, "huyện": 17, "thị xã": 1}
    assert len(communes) == 526
    assert Counter(u.subtype for u in communes) == {"phường": 160, "xã": 345, "thị trấn": 21}
    assert dpre.valid_until == "2025-06-30"


def test_before_2025_communes_hang_under_districts_and_districts_under_the_city(
    dpre: UnitDirectory,
) -> None:
    assert {dpre.get(u.parent).kind for u in dpre.communes() if u.parent} == {"district"}
    assert {u.parent for u in dpre.of_kind("district")} == {"01"}
    assert sum(len(dpre.children(d.code)) for d in dpre.of_kind("district")) == 526
    ba_dinh = dpre.get("001")
    assert ba_dinh.name_vi == "Quận Ba Đình" and len(dpre.children("001")) == 13
    assert dpre.get("00004").name_vi == "Phường Trúc Bạch"  # same code, another ward before 2025
    assert dpre.get("00070").parent == "002"  # Phường Hàng Trống, Quận Hoàn Kiếm
    assert dpre.get("269").name_en == "Son Tay Town"


def test_both_shapes_load_through_the_same_loader_from_their_files() -> None:
    for path, name in ((FILE_2025, "hanoi-2025"), (FILE_PRE2025, "hanoi-pre2025")):
        d = load_directory(path)
        assert d.name == name and d.source == str(path)
    assert set(SHIPPED) == {"hanoi-2025", "hanoi-pre2025"}
    with pytest.raises(ValueError, match="no shipped directory"):
        shipped_directory("hanoi-1999")


def test_city_level_units_are_the_same_in_both_shapes(
    d2025: UnitDirectory, dpre: UnitDirectory
) -> None:
    city_level = ("department", "enterprise", "oversight")
    assert d2025.of_kind(*city_level) == dpre.of_kind(*city_level)
    assert d2025.roles == dpre.roles


# --- lookups -------------------------------------------------------------------------------------
def test_lookups_by_code(d2025: UnitDirectory) -> None:
    assert "00004" in d2025 and "99999" not in d2025
    assert d2025.find("99999") is None and d2025.find(None) is None
    with pytest.raises(KeyError, match="not in the directory hanoi-2025"):
        d2025.get("99999")
    assert len(d2025) == len(list(d2025)) == 150
    assert d2025.count_by_kind() == {
        "city": 1,
        "department": 17,
        "oversight": 1,
        "enterprise": 5,
        "commune": 126,
    }


def test_children_descendants_ancestors_and_area(d2025: UnitDirectory, dpre: UnitDirectory) -> None:
    assert len(d2025.children("01")) == 149
    assert d2025.children("00004") == ()
    assert [u.code for u in dpre.ancestors("00004")] == ["001", "01"]
    assert len(dpre.descendants("01")) == len(dpre) - 1
    assert [u.code for u in dpre.descendants("001")] == [u.code for u in dpre.children("001")]
    assert dpre.is_within("00004", "001") and dpre.is_within("00004", "01")
    assert not dpre.is_within("00070", "001") and dpre.is_within("001", "001")
    assert d2025.area_of("01-SXD").code == "01"  # a department works city-wide
    assert dpre.area_of("001").code == "001" and d2025.area_of("00004").code == "00004"
    with pytest.raises(KeyError):
        d2025.children("nope")


def test_departments_by_domain_follow_the_documented_mapping(
    d2025: UnitDirectory, dpre: UnitDirectory
) -> None:
    for d in (d2025, dpre):
        owners = {c: (o.code if (o := d.owner_of(c)) else None) for c in CATEGORIES}
        assert owners == LEAD
        assert all(d.departments_for(c) == ((d.get(o),) if o else ()) for c, o in LEAD.items())


def test_every_catalogue_category_has_a_mapping_decision() -> None:
    # A new category in processors/catalogue.py needs a documented lead department (or none).
    assert set(CATEGORIES) == set(LEAD)


def test_city_owned_enterprises_by_domain(d2025: UnitDirectory) -> None:
    for category in CATEGORIES:
        found = [u.code for u in d2025.enterprises_for(category)]
        assert found == ([ENTERPRISE[category]] if category in ENTERPRISE else [])
    assert [u.code for u in d2025.units_for("water_supply")] == ["01-SXD", "01-HAWACO"]


def test_the_oversight_centre_and_the_roles(d2025: UnitDirectory) -> None:
    (centre,) = d2025.of_kind("oversight")
    assert centre.code == "01-TTPVHCC" and not centre.handles_items and not centre.domains
    assert d2025.role("oversight") is centre
    assert {k: d2025.role(k).code for k in d2025.roles} == {
        "default": "01-VPUB",
        "procedure_control": "01-VPUB",
        "investor_business": "01-STC",
        "waste_report": "01-STC",
        "initiative": "01-SKHCN",
        "oversight": "01-TTPVHCC",
    }
    with pytest.raises(KeyError, match="no unit to role 'nope'"):
        d2025.role("nope")


def test_the_2025_departments_are_the_city_list_after_1_march_2025(d2025: UnitDirectory) -> None:
    sở = [u for u in d2025.of_kind("department") if u.subtype == "sở"]
    assert len(sở) == 13  # + Văn phòng UBND and Thanh tra = the 15 of the HĐND resolution
    assert {u.subtype for u in d2025.of_kind("department")} == {
        "sở",
        "văn phòng",
        "thanh tra",
        "ban",
        "công an",
    }


# --- office hours --------------------------------------------------------------------------------
def test_no_shipped_unit_overrides_the_office_hours(
    d2025: UnitDirectory, dpre: UnitDirectory
) -> None:
    resolve = hours_resolver(d2025)
    assert all(resolve(u.code) is None for u in d2025)
    assert all(u.office_hours is None for u in dpre)
    assert resolve("nope") is None


def test_a_unit_office_hours_override_reaches_the_calendar(tmp_path: Path) -> None:
    hours = {"days": {"mon-fri": "07:30-11:30,13:00-17:00", "sat": "08:00-11:30"}}
    doc = minimal(
        {
            "code": "00002",
            "kind": "commune",
            "name_vi": "Xã Hai",
            "parent": "01",
            "office_hours": hours,
        }
    )
    d = load_directory(write(tmp_path, doc))
    expected = OfficeHours.from_mapping(hours["days"])
    assert d.office_hours_of("00002") == expected
    assert d.office_hours_of("00001") is None  # not inherited, not overridden
    book = CalendarBook(hours_of=hours_resolver(d))
    assert book("00002").office_hours == expected
    assert book("00001").office_hours == OfficeHours()


def test_office_hours_with_makeup_and_day_length() -> None:
    doc = minimal(
        {
            "code": "E1",
            "kind": "department",
            "name_vi": "Sở Hai",
            "parent": "01",
            "office_hours": {"days": {"mon-sat": "07:00-15:00"}, "makeup": "07:00-15:00"},
        }
    )
    hours = UnitDirectory.from_dict(doc).office_hours_of("E1")
    assert hours is not None and hours.weekly[5] == ((420, 900),) and hours.day_minutes == 480


# --- where the directory comes from ----------------------------------------------------------
def test_pakn_units_file_names_another_directory(tmp_path: Path) -> None:
    from pakn.rules import router_from_settings

    path = write(tmp_path, minimal())
    assert load_directory(path).name == "test"
    assert load_directory().name == "hanoi-2025"
    assert router_from_settings(Settings()).directory.name == "hanoi-2025"
    with pytest.raises(RoutingRulesError):  # the minimal directory lacks the rules' roles
        router_from_settings(Settings(units_file=str(path)))
    assert hours_resolver(load_directory(path))("00001") is None


# --- validation ----------------------------------------------------------------------------------
def test_a_valid_minimal_directory_loads() -> None:
    d = UnitDirectory.from_dict(minimal())
    assert d.describe() == "test (… – …): 3 units: 1 city, 1 commune, 1 department"


def test_duplicate_codes_are_refused() -> None:
    doc = minimal({"code": "00001", "kind": "commune", "name_vi": "Phường Bis", "parent": "01"})
    assert problems_of(doc) == ["duplicate code 00001 (units #4 and an earlier one)"]


def test_unknown_parents_are_refused() -> None:
    doc = minimal({"code": "00002", "kind": "commune", "name_vi": "Xã Hai", "parent": "999"})
    assert problems_of(doc) == ["unit 00002: unknown parent 999"]


def test_cycles_are_refused() -> None:
    parents = {"city": [], "commune": ["city"], "department": ["city", "department"]}
    doc = minimal(
        {"code": "A", "kind": "department", "name_vi": "A", "parent": "B"},
        {"code": "B", "kind": "department", "name_vi": "B", "parent": "C"},
        {"code": "C", "kind": "department", "name_vi": "C", "parent": "A"},
        parents=parents,
    )
    assert problems_of(doc) == ["cycle in parents: A -> B -> C -> A"]
    selfish = minimal(
        {"code": "S", "kind": "department", "name_vi": "S", "parent": "S"}, parents=parents
    )
    assert problems_of(selfish) == ["cycle in parents: S -> S"]


def test_the_shape_is_data_a_commune_under_a_district_needs_districts_in_the_file() -> None:
    doc = minimal(
        {"code": "001", "kind": "district", "name_vi": "Quận Một", "parent": "01"},
        {"code": "00002", "kind": "commune", "name_vi": "Xã Hai", "parent": "001"},
    )
    assert problems_of(doc) == [
        "unit 001: kind 'district' is not part of this directory's shape ('parents' declares "
        "city, commune, department)",
        "unit 00002: a commune hangs under city, not under district 001",
    ]
    doc["parents"] = {"city": [], "district": ["city"], "commune": ["district"], "department": []}
    problems = problems_of(doc)
    assert "unit 00001: a commune hangs under district, not under city 01" in problems
    assert "unit D1: a department hangs under no parent, not under city 01" in problems


def test_a_unit_without_its_parent_and_a_second_root_are_refused() -> None:
    doc = minimal({"code": "00002", "kind": "commune", "name_vi": "Xã Hai"})
    assert problems_of(doc) == ["unit 00002: a commune needs a parent (city)"]
    doc = minimal({"code": "02", "kind": "city", "name_vi": "Tỉnh Hai"})
    assert problems_of(doc) == ["expected exactly one root unit (parent null), found 2: 01, 02"]


@pytest.mark.parametrize(
    ("unit", "problem"),
    [
        ({"kind": "commune", "name_vi": "X", "parent": "01"}, "'code' must be 1-32 letters"),
        ({"code": "a b", "kind": "commune", "name_vi": "X"}, "'code' must be 1-32 letters"),
        ({"code": "X", "kind": "ward", "name_vi": "X"}, "unit X: 'kind' must be one of city"),
        ({"code": "X", "kind": "commune", "parent": "01"}, "unit X: 'name_vi' is required"),
        (
            {"code": "X", "kind": "commune", "name_vi": "X", "parent": "01", "colour": 1},
            "unit X: unknown field(s) ['colour']",
        ),
        (
            {"code": "X", "kind": "department", "name_vi": "X", "parent": "01", "domains": ["x"]},
            "unit X: domain 'x' is not a category of processors/catalogue.py",
        ),
        (
            {"code": "X", "kind": "department", "name_vi": "X", "parent": "01", "domains": "x"},
            "unit X: 'domains' must be a list of strings",
        ),
        (
            {
                "code": "X",
                "kind": "department",
                "name_vi": "X",
                "parent": "01",
                "domains": ["waste", "waste"],
            },
            "unit X: a domain is listed twice",
        ),
        (
            {
                "code": "X",
                "kind": "commune",
                "name_vi": "X",
                "parent": "01",
                "office_hours": {"days": {"mon-fri": "8-17"}},
            },
            "unit X: bad office_hours: bad office period '8-17'",
        ),
        (
            {
                "code": "X",
                "kind": "commune",
                "name_vi": "X",
                "parent": "01",
                "office_hours": "08:00-17:00",
            },
            "unit X: 'office_hours' must be an object with 'days'",
        ),
        (
            {"code": "X", "kind": "commune", "name_vi": "X", "parent": 1},
            "unit X: 'parent' must be a unit code or null",
        ),
        ("not an object", "unit #4: expected an object"),
    ],
)
def test_bad_units_are_refused_with_a_clear_message(unit: object, problem: str) -> None:
    problems = problems_of(minimal(unit))  # type: ignore[arg-type]
    assert any(problem in p for p in problems), problems


def test_a_category_led_by_two_departments_is_refused() -> None:
    doc = minimal(
        {"code": "A", "kind": "department", "name_vi": "A", "parent": "01", "domains": ["waste"]},
        {"code": "B", "kind": "department", "name_vi": "B", "parent": "01", "domains": ["waste"]},
    )
    assert problems_of(doc) == [
        "category 'waste' is owned by 2 departments (A, B): keep it in the domains of one of them"
    ]
    # an enterprise may share a department's domain
    doc["units"][-1]["kind"] = "enterprise"
    doc["parents"]["enterprise"] = ["city"]
    assert UnitDirectory.from_dict(doc).enterprises_for("waste")[0].code == "B"


@pytest.mark.parametrize(
    ("top", "problem"),
    [
        ({"roles": {"default": "NOPE"}}, "role 'default' names unknown unit NOPE"),
        ({"roles": ["D1"]}, "'roles' must map role names to unit codes"),
        ({"name": ""}, "'name' (the directory's name, e.g. hanoi-2025) is required"),
        ({"units": []}, "'units' must be a non-empty list"),
        ({"parents": None}, "'parents' must map each kind used"),
        ({"parents": {"town": []}}, "parents: unknown kind 'town'"),
        ({"colour": "red"}, "unknown top-level field(s) ['colour']"),
        ({"sources": "pypi"}, "'sources' must be a list of objects"),
        ({"valid_from": 2025}, "'valid_from' must be a string"),
    ],
)
def test_bad_files_are_refused_with_a_clear_message(top: dict[str, Any], problem: str) -> None:
    problems = problems_of(minimal(**top))
    assert any(problem in p for p in problems), problems


def test_every_problem_is_reported_at_once() -> None:
    doc = minimal(
        {"code": "00001", "kind": "commune", "name_vi": "Dup", "parent": "01"},
        {"code": "00009", "kind": "commune", "name_vi": "Lost", "parent": "404"},
        roles={"default": "NOPE"},
    )
    with pytest.raises(UnitDirectoryError) as info:
        UnitDirectory.from_dict(doc, "x.json")
    assert len(info.value.problems) == 3
    assert str(info.value).splitlines()[0] == "x.json: 3 problems in the unit directory"
    assert isinstance(info.value, ValueError)


def test_unreadable_broken_or_future_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UnitDirectoryError, match="cannot read"):
        UnitDirectory.from_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(UnitDirectoryError, match="not valid JSON"):
        load_directory(bad)
    with pytest.raises(UnitDirectoryError, match="unsupported format 2"):
        UnitDirectory.from_dict(minimal(format=2))
    with pytest.raises(UnitDirectoryError, match="expected a JSON object"):
        UnitDirectory.from_dict([])


def test_units_are_frozen(d2025: UnitDirectory) -> None:
    with pytest.raises(AttributeError):
        d2025.get("00004").code = "x"  # type: ignore[misc]


# --- the generator ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_units", ROOT / "scripts" / "build_units.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


@pytest.mark.parametrize("path", [FILE_2025, FILE_PRE2025])
def test_the_shipped_files_are_in_the_generators_canonical_form(
    builder: ModuleType, path: Path
) -> None:
    text = path.read_text(encoding="utf-8")
    assert builder.render(json.loads(text)) == text


def test_the_generator_names_units_in_english(builder: ModuleType) -> None:
    T = builder.Territory
    assert builder.fold("Đống Đa, Ứng Hòa") == "Dong Da, Ung Hoa"
    assert builder.english_name(T("01", "city", "", "Thành phố Hà Nội", "Hà Nội", None)) == "Hanoi"
    assert builder.english_name(T("1", "commune", "xã", "Xã Ba Vì", "Ba Vì", "01")) == (
        "Ba Vi Commune"
    )
    assert builder.english_name(T("1", "commune", "thị trấn", "Thị trấn X", "Chúc Sơn", "2")) == (
        "Chuc Son Township"
    )
    assert builder.strip_type("Phường Ba Đình", "phường") == "Ba Đình"


def test_the_generator_keeps_city_level_units_roles_and_unit_overrides(
    builder: ModuleType,
) -> None:
    existing = json.loads(FILE_2025.read_text(encoding="utf-8"))
    hours = {"days": {"mon-fri": "07:30-11:30,13:00-17:00"}}
    existing = copy.deepcopy(existing)
    for u in existing["units"]:
        if u["code"] == "00004":
            u["office_hours"] = hours
    T = builder.Territory
    territories = [
        T("01", "city", "thành phố trung ương", "Thành phố Hà Nội", "Hà Nội", None),
        T("00004", "commune", "phường", "Phường Ba Đình", "Ba Đình", "01"),
        T("00999", "commune", "xã", "Xã Mới", "Mới", "01"),
    ]
    source = {"package": "test", "version": "0"}
    doc = builder.merge(existing, "hanoi-2025", territories, source)
    codes = [u["code"] for u in doc["units"]]
    kept = [u["code"] for u in existing["units"] if u["kind"] not in ("city", "commune")]
    assert codes == ["01", *kept, "00004", "00999"]
    assert doc["units"][-2]["office_hours"] == hours
    assert doc["roles"] == existing["roles"] and doc["sources"] == [source]
    d = UnitDirectory.from_dict(json.loads(builder.render(doc)))
    assert d.get("00999").name_en == "Moi Commune"
    summary = builder.changes(existing, doc)
    assert "+ 00999 Xã Mới" in summary and "- 00070 Phường Hoàn Kiếm" in summary


def test_the_generator_reports_code_differences_between_packages(builder: ModuleType) -> None:
    T = builder.Territory
    a = [T("00082", "commune", "phường", "Phường Cửa Nam", "Cửa Nam", "01")]
    b = [T("00073", "commune", "phường", "Phường Cửa Nam", "Cửa Nam", "01")]
    assert builder.cross_check(a, b, "A", "B") == ["Phường Cửa Nam: A 00082, B 00073"]
    assert builder.cross_check(a, a, "A", "B") == []


# --- pakn units list / check ---------------------------------------------------------------------
def run(*args: str) -> Result:
    return CliRunner().invoke(units_cli, list(args))


def test_cli_list_prints_one_line_per_unit() -> None:
    result = run("list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 150
    assert "00004\tcommune\tphường\tPhường Ba Đình\tBa Dinh Ward\t01" in lines


def test_cli_list_filters_by_kind_and_reads_other_directories(tmp_path: Path) -> None:
    assert len(run("list", "--kind", "commune").stdout.splitlines()) == 126
    assert len(run("list", "--kind", "district").stdout.splitlines()) == 0
    pre = run("list", "--shipped", "hanoi-pre2025", "--kind", "district")
    assert len(pre.stdout.splitlines()) == 30
    other = run("list", "--file", str(write(tmp_path, minimal())), "--kind", "department")
    assert other.stdout == "D1\tdepartment\t\tSở Một\t\t01\n"
    assert run("list", "--kind", "ward").exit_code == 2


def test_cli_list_reports_a_broken_file(tmp_path: Path) -> None:
    result = run("list", "--file", str(write(tmp_path, minimal(name=""))))
    assert result.exit_code == 1 and "'name'" in result.output


@pytest.mark.parametrize("path", [FILE_2025, FILE_PRE2025])
def test_cli_check_accepts_the_shipped_files(path: Path) -> None:
    result = run("check", str(path))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: hanoi-")


def test_cli_check_lists_every_problem_and_fails(tmp_path: Path) -> None:
    doc = minimal(
        {"code": "00001", "kind": "commune", "name_vi": "Dup", "parent": "01"},
        {"code": "00009", "kind": "commune", "name_vi": "Lost", "parent": "404"},
    )
    result = run("check", str(write(tmp_path, doc)))
    assert result.exit_code == 1
    assert "duplicate code 00001" in result.stderr
    assert "unit 00009: unknown parent 404" in result.stderr


def test_cli_check_also_checks_the_routing_rules_against_the_file(tmp_path: Path) -> None:
    result = run("check", str(write(tmp_path, minimal())))  # has no investor_business role…
    assert result.exit_code == 1
    assert "role 'investor_business'" in result.stderr
    roles = {r: "D1" for r in ("default", "procedure_control", "investor_business")}
    roles |= {"waste_report": "D1", "initiative": "D1"}
    ok = run("check", str(write(tmp_path, minimal(roles=roles))))
    assert ok.exit_code == 0, ok.output
    bad_rules = write(tmp_path, {"format": 1}, "rules.json")
    result = run("check", str(write(tmp_path, minimal(roles=roles))), "--rules", str(bad_rules))
    assert result.exit_code == 1 and "'name' is required" in result.stderr
