"""The warnings core: life cycle and refusals, areas -> communes, subscriptions and fan-out ids,
CAP 1.2 (validated against the OASIS schema with capvalidator) and the Atom feed."""

from __future__ import annotations

import copy
from typing import Any
from xml.etree import ElementTree as ET

import capvalidator
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors import areas, cap, fanout
from processors import warnings as w

GEO = areas.shipped_geo()
T0 = 1_790_000_000_000  # ms
HOUR = 3_600_000
HOAN_KIEM = "00070"  # Phường Hoàn Kiếm
BA_DINH = "00004"


def content(**over: Any) -> dict[str, Any]:
    c: dict[str, Any] = {
        "category": "flood",
        "severity": "Severe",
        "urgency": "Immediate",
        "certainty": "Likely",
        "area": {"communes": [HOAN_KIEM], "circles": [], "polygons": []},
        "effective": T0,
        "expires": T0 + 6 * HOUR,
        "headline_vi": "Cảnh báo ngập úng",
        "text_vi": "Mưa lớn gây ngập nhiều tuyến phố.",
        "instruction_vi": "Hạn chế ra đường.",
        "headline_en": "Flood warning",
        "text_en": "Heavy rain floods many streets.",
        "instruction_en": "Stay indoors.",
    }
    c.update(over)
    return c


_n = 0


def cmd(name: str, role: str = "head", unit: str = "00070", **kw: Any) -> dict[str, Any]:
    global _n
    _n += 1
    return {
        "command_id": f"c{_n}",
        "warning_id": kw.pop("warning_id", "w1"),
        "command": name,
        "actor_role": role,
        "actor_unit": unit,
        "actor_id": f"{role}-1",
        **kw,
    }


def run(*commands: dict[str, Any], now: int = T0) -> w.Decision:
    state = None
    d = None
    for c in commands:
        d = w.apply(state, c, GEO, now)
        state = d.state
    assert d is not None
    return d


def approved(**over: Any) -> dict[str, Any]:
    d = run(
        cmd("draft", role=w.OFFICER, content=content(**over)),
        cmd("approve"),
    )
    assert d.result["accepted"], d.result
    return d.state  # type: ignore[return-value]


# --- life cycle -------------------------------------------------------------------------------


def test_draft_then_approve_goes_out_as_version_1() -> None:
    d = run(cmd("draft", role=w.OFFICER, content=content()))
    assert d.state["status"] == "draft" and d.outgoing is None
    d2 = w.apply(d.state, cmd("approve"), GEO, T0)
    assert d2.result == {**d2.result, "accepted": True, "code": None, "version": 1}
    assert d2.state["status"] == "approved"
    assert d2.outgoing == w.Outgoing("w1", 1, "alert", (HOAN_KIEM,))


def test_officer_cannot_approve_update_or_cancel() -> None:
    drafted = run(cmd("draft", role=w.OFFICER, content=content())).state
    assert w.apply(drafted, cmd("approve", role=w.OFFICER), GEO, T0).result["code"] == (
        "role_not_allowed"
    )
    state = approved()
    for name in ("update", "cancel"):
        c = cmd(name, role=w.OFFICER, content=content())
        assert w.apply(state, c, GEO, T0).result["code"] == "role_not_allowed"


def test_head_of_another_unit_is_refused() -> None:
    drafted = run(cmd("draft", role=w.OFFICER, content=content())).state
    d = w.apply(drafted, cmd("approve", unit="00004"), GEO, T0)
    assert d.result["code"] == "not_your_unit" and not d.changed


def test_update_reaches_the_old_and_the_new_area() -> None:
    state = approved()
    d = w.apply(state, cmd("update", content=content(area={"communes": [BA_DINH]})), GEO, T0)
    assert d.outgoing == w.Outgoing("w1", 2, "update", tuple(sorted({HOAN_KIEM, BA_DINH})))
    assert d.state["communes"] == [BA_DINH]
    d3 = w.apply(d.state, cmd("cancel"), GEO, T0)
    assert d3.outgoing == w.Outgoing("w1", 3, "cancel", tuple(sorted({HOAN_KIEM, BA_DINH})))
    assert d3.state["status"] == "cancelled"


def test_final_warnings_refuse_changes() -> None:
    state = w.apply(approved(), cmd("cancel"), GEO, T0).state
    for name in ("update", "cancel", "supersede"):
        c = cmd(name, content=content(), superseded_by="w2")
        assert w.apply(state, c, GEO, T0).result["code"] == "warning_final"
    assert w.apply(state, cmd("approve"), GEO, T0).result["code"] == "not_draft"
    assert w.apply(state, cmd("edit", content=content()), GEO, T0).result["code"] == "not_draft"


def test_supersede_needs_another_warning() -> None:
    state = approved()
    assert w.apply(state, cmd("supersede"), GEO, T0).result["code"] == "superseded_by_missing"
    same = cmd("supersede", superseded_by="w1")
    assert w.apply(state, same, GEO, T0).result["code"] == "superseded_by_missing"
    d = w.apply(state, cmd("supersede", superseded_by="w2"), GEO, T0)
    assert d.state["status"] == "superseded" and d.outgoing.kind == "supersede"


def test_expired_warning_refuses_updates_and_reads_expired() -> None:
    state = approved()
    late = T0 + 7 * HOUR
    assert w.status_at(state, late) == "expired" and not w.is_active(state, late)
    assert w.apply(state, cmd("update", content=content()), GEO, late).result["code"] == (
        "warning_expired"
    )
    drafted = run(cmd("draft", role=w.OFFICER, content=content())).state
    assert w.apply(drafted, cmd("approve"), GEO, late).result["code"] == "warning_expired"


def test_not_approved_and_not_found() -> None:
    drafted = run(cmd("draft", role=w.OFFICER, content=content())).state
    assert w.apply(drafted, cmd("cancel"), GEO, T0).result["code"] == "not_approved"
    assert w.apply(None, cmd("approve"), GEO, T0).result["code"] == "warning_not_found"
    again = cmd("draft", content=content())
    assert w.apply(drafted, again, GEO, T0).result["code"] == "warning_exists"


def test_redelivered_command_changes_nothing() -> None:
    drafted = run(cmd("draft", role=w.OFFICER, content=content())).state
    approve = cmd("approve")
    first = w.apply(drafted, approve, GEO, T0)
    again = w.apply(first.state, approve, GEO, T0)
    assert not again.changed and again.outgoing is None and again.result["accepted"]
    assert again.state == first.state


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({"category": "volcano"}, "invalid_content"),
        ({"severity": "severe"}, "invalid_content"),
        ({"urgency": None}, "invalid_content"),
        ({"certainty": "Sure"}, "invalid_content"),
        ({"headline_vi": " "}, "invalid_content"),
        ({"headline_vi": "x" * 161}, "invalid_content"),
        ({"text_vi": ""}, "invalid_content"),
        ({"headline_en": 5}, "invalid_content"),
        ({"expires": T0}, "invalid_times"),
        ({"effective": "now"}, "invalid_times"),
        ({"area": {}}, "empty_area"),
        ({"area": {"communes": ["99999"]}}, "unknown_commune"),
        ({"area": {"circles": [{"lat": 21.0, "lon": 105.8, "radius_km": 0}]}}, "invalid_content"),
        ({"area": {"circles": [{"lat": 91, "lon": 105.8, "radius_km": 1}]}}, "invalid_content"),
        ({"area": {"circles": [{"lat": 21}]}}, "invalid_content"),
        (
            {"area": {"polygons": [[{"lat": 21, "lon": 105}, {"lat": 21, "lon": 105}]]}},
            "invalid_content",
        ),
    ],
)
def test_content_refusals(over: dict[str, Any], code: str) -> None:
    d = run(cmd("draft", role=w.OFFICER, content=content(**over)))
    assert d.state is None and d.result["code"] == code
    assert code in w.REFUSALS


def test_only_drafters_draft() -> None:
    d = run(cmd("draft", role="handling_officer", content=content()))
    assert d.result["code"] == "role_not_allowed"


# --- areas ------------------------------------------------------------------------------------


def test_haversine_known_distance() -> None:
    # Hoàn Kiếm lake to Nội Bài airport: about 21.5 km as the crow flies
    d = areas.haversine_km((21.0287, 105.8524), (21.2187, 105.8042))
    assert 20.5 < d < 22.5


def test_circle_touches_neighbours_not_the_far_city() -> None:
    g = GEO[HOAN_KIEM]
    touched = areas.touched_communes(areas.Area(circles=(areas.Circle(g.lat, g.lon, 1.0),)), GEO)
    assert HOAN_KIEM in touched and 1 < len(touched) < 15
    city = areas.touched_communes(areas.Area(circles=(areas.Circle(21.0, 105.8, 80.0),)), GEO)
    assert len(city) == len(GEO) == 126


def test_polygon_touches_the_communes_inside() -> None:
    g = GEO[BA_DINH]
    d = 0.01
    ring = (
        (g.lat - d, g.lon - d),
        (g.lat - d, g.lon + d),
        (g.lat + d, g.lon + d),
        (g.lat + d, g.lon - d),
    )
    touched = areas.touched_communes(areas.Area(polygons=(ring,)), GEO)
    assert BA_DINH in touched and len(touched) < 20
    assert areas.point_in_area((g.lat, g.lon), areas.Area(polygons=(ring,)), None)
    assert not areas.point_in_area((g.lat + 1, g.lon), areas.Area(polygons=(ring,)), None)


def test_commune_at_its_own_centroid() -> None:
    for code, g in list(GEO.items())[:40]:
        assert areas.commune_at((g.lat, g.lon), GEO) == code


coords = st.tuples(st.floats(20.5, 21.5, allow_nan=False), st.floats(105.2, 106.1, allow_nan=False))


@given(st.lists(coords, min_size=3, max_size=8), coords)
@settings(max_examples=200, deadline=None)
def test_polygon_inside_is_at_distance_or_touching(ring: list[tuple[float, float]], p: Any) -> None:
    # A point inside a polygon, or within r of its boundary, puts a disc of radius r touching it.
    area = areas.Area(polygons=(tuple(ring),))
    touched = set(areas.touched_communes(area, GEO))
    for code, g in GEO.items():
        c = (g.lat, g.lon)
        meets = areas.point_in_polygon(c, ring) or areas.distance_to_ring_km(c, ring) <= g.radius_km
        assert (code in touched) == meets


@given(coords, st.floats(0.1, 30), coords)
@settings(max_examples=200, deadline=None)
def test_point_in_circle_lies_in_a_touched_commune_disc(c: Any, r: float, p: Any) -> None:
    area = areas.Area(circles=(areas.Circle(c[0], c[1], r),))
    touched = set(areas.touched_communes(area, GEO))
    if areas.point_in_area(p, area, None):
        # the commune whose disc holds p must be touched (if p lies in any disc)
        for code, g in GEO.items():
            if areas.haversine_km(p, (g.lat, g.lon)) <= g.radius_km:
                assert code in touched


# --- subscriptions and fan-out ---------------------------------------------------------------


def sub(pseudonym: str, home: str, others: tuple[str, ...] = (), at: int = 1, **kw: Any) -> dict:
    return {
        "pseudonym": pseudonym,
        "token": f"tok-{pseudonym}",
        "channel": "fcm",
        "home_commune": home,
        "communes": list(others),
        "categories": kw.get("categories", []),
        "language": kw.get("language", "vi"),
        "active": kw.get("active", True),
        "at": at,
    }


def test_subscription_rows_add_and_remove_communes() -> None:
    first = fanout.subscription_rows(None, sub("p1", "A", ("B",)))
    assert [(c, r["active"]) for c, r in first] == [("A", True), ("B", True)]
    moved = fanout.subscription_rows(sub("p1", "A", ("B",)), sub("p1", "C", at=2))
    assert [(c, r["active"]) for c, r in moved] == [("C", True), ("A", False), ("B", False)]
    assert fanout.subscription_rows(sub("p1", "C", at=2), sub("p1", "A", at=1)) == []
    off = fanout.subscription_rows(sub("p1", "A"), sub("p1", "A", at=3, active=False))
    assert [(c, r["active"]) for c, r in off] == [("A", False)]


def test_apply_row_last_writer_wins() -> None:
    ((_, row1),) = fanout.subscription_rows(None, sub("p1", "A", at=5))
    bucket = fanout.apply_row(None, row1)
    assert bucket is not None and "p1" in bucket
    assert fanout.apply_row(bucket, row1) is None  # redelivery
    assert fanout.apply_row(bucket, fanout.removal("A", "p1", 4)) is None  # stale
    assert fanout.apply_row(bucket, fanout.removal("A", "p1", 6)) == {}
    assert fanout.apply_row({}, fanout.removal("A", "p1", 6)) is None


def task(**over: Any) -> dict[str, Any]:
    t = {
        "warning_id": "w1",
        "version": 1,
        "kind": "alert",
        "category": "flood",
        "severity": "Severe",
        "headline_vi": "Ngập",
        "headline_en": "Flood",
        "expires": T0,
        "cap_url": "http://x/w1.cap",
    }
    t.update(over)
    return t


def test_deliveries_filter_categories_and_pick_language() -> None:
    bucket: dict[str, list[Any]] = {}
    for s in (
        sub("p1", "A"),
        sub("p2", "A", categories=["storm"]),
        sub("p3", "A", categories=["flood"], language="en"),
    ):
        for _, row in fanout.subscription_rows(None, s):
            bucket = fanout.apply_row(bucket, row) or bucket
    out = {d["pseudonym"]: d for d in fanout.deliveries(task(), bucket)}
    assert set(out) == {"p1", "p3"}
    assert out["p3"]["headline"] == "Flood" and out["p1"]["headline"] == "Ngập"
    assert out["p1"]["event_id"] == fanout.delivery_id("w1", 1, "p1")


@given(
    st.lists(
        st.tuples(st.sampled_from("abcdefgh"), st.sets(st.sampled_from("ABCD"), min_size=1)),
        max_size=30,
    ),
    st.sets(st.sampled_from("ABCD"), min_size=1),
)
def test_fanout_over_overlapping_communes_dedups_to_one_per_citizen(
    subs: list[tuple[str, set[str]]], touched: set[str]
) -> None:
    # Build commune buckets from subscriptions (later ones replace earlier), fan out a warning
    # over the touched communes in every order, dedup by id: each subscriber of a touched
    # commune exactly once, nobody else.
    latest: dict[str, dict[str, Any]] = {}
    buckets: dict[str, dict[str, list[Any]]] = {}
    for at, (p, communes) in enumerate(subs, start=1):
        cs = sorted(communes)
        new = sub(p, cs[0], tuple(cs[1:]), at=at)
        for commune, row in fanout.subscription_rows(latest.get(p), new):
            key = fanout.bucket_key(commune, fanout.bucket_of(p))
            updated = fanout.apply_row(buckets.get(key), row)
            if updated is not None:
                buckets[key] = updated
        latest[p] = new
    seen = fanout.Seen()
    got: list[str] = []
    for commune in sorted(touched):
        for b in range(fanout.BUCKETS):
            for d in fanout.deliveries(task(), buckets.get(fanout.bucket_key(commune, b))):
                # a redelivered fan-out task (a crash) produces the same ids again
                for _ in range(2):
                    if seen.add(hash(d["pseudonym"]) % 3, d["event_id"]):
                        got.append(d["pseudonym"])
    want = {p for p, s in latest.items() if set(fanout.communes_of(s)) & touched}
    assert sorted(got) == sorted(want)


def test_bucket_is_stable() -> None:
    assert fanout.bucket_of("abc") == fanout.bucket_of("abc") == 891568578 % fanout.BUCKETS


# --- CAP 1.2 and Atom -------------------------------------------------------------------------

CAP_NS = {"c": cap.CAP_NS}


def _valid(xml: bytes) -> None:
    result = capvalidator.check_schema(xml)
    assert result.passed, result.message


def test_cap_alert_is_valid_and_carries_the_warning() -> None:
    state = approved(
        area={
            "communes": [HOAN_KIEM],
            "circles": [{"lat": 21.03, "lon": 105.85, "radius_km": 1.5}],
            "polygons": [
                [
                    {"lat": 21.0, "lon": 105.8},
                    {"lat": 21.0, "lon": 105.9},
                    {"lat": 21.1, "lon": 105.9},
                ]
            ],
        }
    )
    xml = cap.build_cap(state, "pakn@hanoi.gov.vn", commune_names={HOAN_KIEM: "Phường Hoàn Kiếm"})
    _valid(xml)
    root = ET.fromstring(xml)
    assert root.findtext("c:msgType", namespaces=CAP_NS) == "Alert"
    assert root.findtext("c:sent", namespaces=CAP_NS).endswith("+07:00")
    infos = root.findall("c:info", CAP_NS)
    assert [i.findtext("c:language", namespaces=CAP_NS) for i in infos] == ["vi-VN", "en-US"]
    area = infos[0].find("c:area", CAP_NS)
    polygon = area.findtext("c:polygon", namespaces=CAP_NS).split()
    assert polygon[0] == polygon[-1] and len(polygon) == 4
    assert area.findtext("c:circle", namespaces=CAP_NS) == "21.030000,105.850000 1.5"
    codes = [g.findtext("c:value", namespaces=CAP_NS) for g in area.findall("c:geocode", CAP_NS)]
    assert codes == state["communes"] and HOAN_KIEM in codes
    assert "Phường Hoàn Kiếm" in area.findtext("c:areaDesc", namespaces=CAP_NS)


def test_cap_update_and_cancel_reference_earlier_versions() -> None:
    state = approved()
    s2 = w.apply(state, cmd("update", content=content(severity="Extreme")), GEO, T0 + 1000).state
    s3 = w.apply(s2, cmd("cancel"), GEO, T0 + 2000).state
    for version, msg_type, n_refs in ((1, "Alert", 0), (2, "Update", 1), (3, "Cancel", 2)):
        xml = cap.build_cap(s3, "pakn@hanoi.gov.vn", version)
        _valid(xml)
        root = ET.fromstring(xml)
        assert root.findtext("c:msgType", namespaces=CAP_NS) == msg_type
        refs = (root.findtext("c:references", namespaces=CAP_NS) or "").split()
        assert len(refs) == n_refs
        assert all(r.startswith("pakn@hanoi.gov.vn,vn.hanoi.pakn.warning.w1.v") for r in refs)
    with pytest.raises(ValueError):
        cap.build_cap(s3, "x", 9)


def test_cap_without_english_has_one_info_and_is_valid() -> None:
    state = approved(headline_en=None, text_en=None, instruction_en=None, instruction_vi=None)
    xml = cap.build_cap(state, "pakn@hanoi.gov.vn")
    _valid(xml)
    assert len(ET.fromstring(xml).findall("c:info", CAP_NS)) == 1


def test_broken_cap_fails_the_schema_check() -> None:
    # the check itself can fail: a message without <sent> is refused
    xml = cap.build_cap(approved(), "pakn@hanoi.gov.vn")
    root = ET.fromstring(xml)
    root.remove(root.find("c:sent", CAP_NS))
    assert not capvalidator.check_schema(ET.tostring(root)).passed


text_st = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=160)


@given(
    text_st,
    text_st,
    st.sampled_from(w.CATEGORIES),
    st.sampled_from(w.SEVERITIES),
    st.sampled_from(w.URGENCIES),
)
@settings(max_examples=60, deadline=None)
def test_cap_valid_for_any_text(head: str, body: str, category: str, sev: str, urg: str) -> None:
    c = content(
        headline_vi=head if head.strip() else "x",
        text_vi=body if body.strip() else "y",
        category=category,
        severity=sev,
        urgency=urg,
    )
    d = run(cmd("draft", role=w.OFFICER, content=c), cmd("approve"))
    if d.state is None or d.state["status"] != "approved":
        return
    _valid(cap.build_cap(d.state, "pakn@hanoi.gov.vn"))


def test_atom_feed_lists_the_active_warnings() -> None:
    a = approved()
    b = copy.deepcopy(a)
    b["warning_id"] = "w2"
    xml = cap.atom_feed(w.active_for([a, b], T0 + 1), "https://pakn.example", T0, "Cảnh báo")
    root = ET.fromstring(xml)
    ns = {"a": cap.ATOM_NS}
    entries = root.findall("a:entry", ns)
    assert len(entries) == 2
    links = {e.find("a:link", ns).get("href") for e in entries}
    assert links == {
        "https://pakn.example/v1/warnings/w1.cap",
        "https://pakn.example/v1/warnings/w2.cap",
    }
    assert w.active_for([a], T0 + 7 * HOUR) == []
    assert w.active_for([a], T0 + 1, {BA_DINH}) == []
