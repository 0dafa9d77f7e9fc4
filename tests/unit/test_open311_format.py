"""Open311 GeoReport v2 shapes without engines: XML and JSON documents, the request mapping,
refusals in the standard's error format, and what a published request never shows."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from multidict import MultiDict

from gateway.http.limits import RateLimiter
from gateway.http.middleware import errors_middleware
from gateway.http.table import install
from gateway.keys import API_CLIENT_LIMITS, SETTINGS
from gateway.models import FieldFeedbackIn
from gateway.routes import OPEN311, open311
from pakn.settings import Settings
from processors.catalogue import CATEGORIES

ICT = ZoneInfo("Asia/Ho_Chi_Minh")
KEY = "k-0123456789abcdef"


def form(**changes: str) -> MultiDict[str]:
    base = {
        "api_key": KEY,
        "service_code": "road_damage",
        "lat": "21.0245",
        "long": "105.8532",
        "address_string": "12 Hàng Bài, Hoàn Kiếm",
        "description": "Ổ gà sâu giữa làn xe máy, rất nguy hiểm.",
        "email": "an.nguyen@example.vn",
        "first_name": "Văn An",
        "last_name": "Nguyễn",
        "phone": "0912345678",
        "attribute[id_number]": "001203012345",
        "attribute[commune_code]": "00070",
    }
    base.update(changes)
    return MultiDict({k: v for k, v in base.items() if v is not None})


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[TestClient]:
    app = web.Application(middlewares=[errors_middleware])
    app[SETTINGS] = Settings(home=tmp_path, open311_api_keys=f"kiosk:{KEY}")
    app[API_CLIENT_LIMITS] = RateLimiter(0, 0)  # no limit here (tests/integration/test_proxies)
    install(app, OPEN311)
    async with TestClient(TestServer(app)) as c:
        yield c


def test_the_mapping_to_a_submission() -> None:
    body = open311.submission_body(form())
    sub = FieldFeedbackIn.model_validate(body)
    assert sub.category == "road_damage"
    assert sub.sender.full_name == "Nguyễn Văn An"  # family name first
    assert sub.sender.id_number == "001203012345" and not sub.sender.confidential
    assert (sub.location.lat, sub.location.lon, sub.location.commune_code) == (
        21.0245,
        105.8532,
        "00070",
    )
    assert sub.title == "Hư hỏng đường, vỉa hè – 12 Hàng Bài, Hoàn Kiếm"
    confidential = open311.submission_body(form(**{"attribute[confidential]": "true"}))
    assert FieldFeedbackIn.model_validate(confidential).sender.confidential is True
    named = open311.submission_body(form(**{"attribute[title]": "Ổ gà phố Hàng Bài"}))
    assert named["title"] == "Ổ gà phố Hàng Bài"


def test_xml_lists_repeat_their_item_element() -> None:
    doc = ET.fromstring(
        open311.to_xml("services", [open311._service(c) for c in CATEGORIES]).encode()
    )
    assert doc.tag == "services"
    codes = [s.findtext("service_code") for s in doc.findall("service")]
    assert codes == list(CATEGORIES)
    first = doc.find("service")
    assert first is not None and first.findtext("metadata") == "true"
    assert first.findtext("type") == "realtime"


def _case(**changes: object) -> dict:
    case = {
        "case_id": "6f1c3c52-5d0b-4f0e-9a51-2a4f3b1d7e10",
        "status": "assigned",
        "process": "field_feedback",
        "category": "road_damage",
        "unit_code": "00070",
        "commune_code": "00070",
        "title": "Ổ gà",
        "submitted_at": datetime(2026, 2, 13, 9, 0, tzinfo=ICT),
        "updated_at": datetime(2026, 2, 13, 10, 0, tzinfo=ICT),
        "published_at": None,
        "level": "normal",
        "receive_due_at": datetime(2026, 2, 13, 17, 0, tzinfo=ICT),
        "assign_due_at": datetime(2026, 2, 13, 14, 0, tzinfo=ICT),
        "handle_due_at": datetime(2026, 2, 24, 10, 0, tzinfo=ICT),
        "late_stages": [],
        "repeat_count": 0,
        "lat": 21.0245,
        "lon": 105.8532,
        "confidential": 0,
        "version": 3,
    }
    return case | changes


SUBMITTED = {
    "event_type": "case_submitted",
    "occurred_at": datetime(2026, 2, 13, 9, 0, tzinfo=ICT),
    "payload": {"location": {"address": "12 Hàng Bài"}, "sender": {"pseudonym": "ab" * 32}},
}


def test_a_request_record_and_a_confidential_one() -> None:
    rec = open311.request_record(_case(), [SUBMITTED])
    assert rec["status"] == "open"
    assert rec["agency_responsible"] == "Phường Hoàn Kiếm"
    assert rec["requested_datetime"] == "2026-02-13T09:00:00+07:00"
    assert rec["expected_datetime"] == "2026-02-24T10:00:00+07:00"
    assert (rec["address"], rec["lat"], rec["long"]) == ("12 Hàng Bài", 21.0245, 105.8532)
    assert rec["description"] is None  # nothing textual before the result is public
    hidden = open311.request_record(_case(confidential=1), [SUBMITTED])
    assert (hidden["address"], hidden["lat"], hidden["long"]) == ("Phường Hoàn Kiếm", None, None)
    text = json.dumps(hidden, default=str) + open311.to_xml("service_requests", [rec])
    assert "ab" * 32 not in text and "pseudonym" not in text
    closed = open311.request_record(_case(status="withdrawn"), [SUBMITTED])
    assert closed["status"] == "closed" and closed["expected_datetime"] is None


async def test_discovery_services_and_a_definition_in_both_formats(client: TestClient) -> None:
    r = await client.get("/open311/v2/discovery.xml")
    assert r.status == 200 and r.content_type == "text/xml"
    doc = ET.fromstring(await r.read())
    formats = [f.text for f in doc.findall("endpoints/endpoint/formats/format")]
    assert formats == ["text/xml", "application/json"]
    r = await client.get("/open311/v2/services.json")
    assert r.status == 200 and r.content_type == "application/json"
    assert {s["service_code"] for s in await r.json()} == set(CATEGORIES)
    r = await client.get("/open311/v2/services/road_damage.xml")
    doc = ET.fromstring(await r.read())
    required = {
        a.findtext("code")
        for a in doc.findall("attributes/attribute")
        if a.findtext("required") == "true"
    }
    assert doc.findtext("service_code") == "road_damage" and required == {"id_number"}
    values = doc.findall("attributes/attribute[code='confidential']/values/value/key")
    assert [v.text for v in values] == ["false", "true"]


async def test_refusals_are_open311_errors(client: TestClient) -> None:
    r = await client.get("/open311/v2/services/no_such_thing.xml")
    doc = ET.fromstring(await r.read())
    assert r.status == 404 and doc.tag == "errors" and doc.findtext("error/code") == "404"
    r = await client.post("/open311/v2/requests.json", data=form(api_key="wrong"))
    assert r.status == 403 and (await r.json())[0]["code"] == 403
    r = await client.post("/open311/v2/requests.json", data=form(api_key=None))
    assert r.status == 403
    r = await client.post("/open311/v2/requests.xml", data=form(service_code="spaceship"))
    assert r.status == 400 and b"service_code" in await r.read()
    bad = form(**{"attribute[id_number]": "12345", "phone": "12", "lat": None, "long": None})
    bad.pop("address_string")
    r = await client.post("/open311/v2/requests.json", data=bad)
    errors = await r.json()
    assert r.status == 400 and all(e["code"] == 400 for e in errors)
    described = " ".join(e["description"] for e in errors)
    for param in ("attribute[id_number]", "phone", "lat/long or address_string"):
        assert param in described, described
    r = await client.get("/open311/v2/nothing/here.xml")
    assert r.status == 404 and ET.fromstring(await r.read()).tag == "errors"


def test_api_keys_named_or_not_and_the_development_key(tmp_path: Path) -> None:
    keys = open311.api_keys(Settings(home=tmp_path, open311_api_keys="fms:abc, def"))
    assert keys == {"abc": "fms", "def": "client2"}
    dev = open311.api_keys(Settings(home=tmp_path, open311_api_keys=""))
    assert list(dev.values()) == ["dev"]
    assert open311.api_keys(Settings(home=tmp_path, open311_api_keys="")) == dev  # kept
    assert (tmp_path / "secrets" / "open311_api_key").stat().st_mode & 0o077 == 0
