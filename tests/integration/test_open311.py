"""Open311 GeoReport v2 on the real pipeline: a request posted the standard's way becomes the same
submission as POST /v1/feedback, and the reads show it in XML and JSON without its sender."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from pakn.privacy import load_privacy
from pakn.settings import Settings
from pakn.topics import INTAKE
from schemas.codec import get_codec
from tests.harness import Proc, wait_for
from tests.integration.test_publication import receive
from tests.integration.test_workflow_http import PHOTO, Client, ok
from tests.pipeline import query, topic_messages, wait_gateway

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _drop_analytics_database(env: Settings) -> Iterator[None]:
    """Migration 0005 makes `<db>_analytics` beside the per-test database: dropped after."""
    yield
    query(env, f"DROP DATABASE IF EXISTS {env.clickhouse_database}_analytics")


KEY = "fms-4f1d2c8e9b7a"
UNIT = "00070"


def form(i: int, **changes: str | None) -> dict[str, str]:
    base: dict[str, str | None] = {
        "api_key": KEY,
        "service_code": "road_damage",
        "lat": "21.0245",
        "long": "105.8532",
        "address_string": f"{i} Hàng Bài, Hoàn Kiếm",
        "description": f"Ổ gà số {i} sâu giữa làn xe máy, rất nguy hiểm.",
        "email": f"open311-{i}@example.vn",
        "first_name": "Văn An",
        "last_name": "Nguyễn",
        "phone": f"091{i:07d}",
        "attribute[id_number]": f"0012030{i:05d}",
        "attribute[commune_code]": UNIT,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def call(
    env: Settings, method: str, path: str, data: Any = None, **headers: str
) -> tuple[int, str, bytes]:
    async def go() -> tuple[int, str, bytes]:
        url = f"http://127.0.0.1:{env.gateway_port}/open311/v2{path}"
        async with (
            aiohttp.ClientSession() as s,
            s.request(method, url, data=data, headers=headers) as r,
        ):
            return r.status, r.content_type, await r.read()

    return asyncio.run(go())


def requests_xml(body: bytes) -> list[dict[str, str | None]]:
    root = ET.fromstring(body)
    assert root.tag == "service_requests"
    return [{el.tag: el.text for el in req} for req in root.findall("request")]


@pytest.fixture
def pipeline(env: Settings, procs: dict[str, Proc]) -> Settings:
    env = env.model_copy(update={"open311_api_keys": f"fixmystreet:{KEY}"})
    for p in procs.values():
        p.settings = env
        p.start()
    wait_gateway(env, procs["gateway"])
    return env


def test_a_request_from_submission_to_closed_in_xml_and_json(pipeline: Settings) -> None:
    env = pipeline
    status, ctype, body = call(env, "POST", "/requests.xml", form(1))
    assert status == 200 and ctype == "text/xml", body
    [posted] = requests_xml(body)
    plain = posted["service_request_id"]
    assert plain and posted["token"] == plain
    status, ctype, body = call(
        env, "POST", "/requests.json", form(2, **{"attribute[confidential]": "true"})
    )
    assert status == 200 and ctype == "application/json", body
    secret = json.loads(body)[0]["service_request_id"]
    again = call(env, "POST", "/requests.json", form(3), **{"Idempotency-Key": "o311-3"})
    same = call(env, "POST", "/requests.json", form(3), **{"Idempotency-Key": "o311-3"})
    assert (
        json.loads(again[2])[0]["service_request_id"]
        == json.loads(same[2])[0]["service_request_id"]
    )

    # the same event as the app's: channel open311, identity sealed, sender pseudonymised
    events = {}
    for msg in topic_messages(env, INTAKE.name(env)):
        _, rec = get_codec().decode(msg.value())
        events[str(rec["envelope"]["case_id"])] = (rec, msg.value())
    rec, raw = events[plain]
    assert rec["channel"] == "open311" and rec["category"] == "road_damage"
    assert rec["sender"]["pseudonym"] == load_privacy(env).pseudonym("001203000001")
    assert rec["location"]["commune_code"] == UNIT and rec["location"]["lat"] == 21.0245
    assert b"001203000001" not in raw and "Nguyễn Văn An".encode() not in raw
    assert events[secret][0]["sender"]["confidential"] is True

    # a token names the request at once (the gateway's own record until the warehouse has it)
    status, _, body = call(env, "GET", f"/tokens/{plain}.json")
    assert status == 200 and json.loads(body)[0]["service_request_id"] == plain

    def in_warehouse(case_id: str) -> Any:
        status, _, body = call(env, "GET", f"/requests/{case_id}.xml")
        return status == 200 and requests_xml(body)[0]["agency_responsible"]

    wait_for(lambda: in_warehouse(secret), 30, "the secret one in the warehouse")
    wait_for(lambda: in_warehouse(plain), 30, "the plain one in the warehouse")
    status, _, body = call(env, "GET", f"/requests/{plain}.xml")
    [shown] = requests_xml(body)
    assert shown["status"] == "open" and shown["agency_responsible"] == "Phường Hoàn Kiếm"
    assert (shown["lat"], shown["long"], shown["address"]) == (
        "21.0245",
        "105.8532",
        "1 Hàng Bài, Hoàn Kiếm",
    )
    assert shown["expected_datetime"] and shown["requested_datetime"].endswith("+07:00")
    [hidden] = requests_xml(call(env, "GET", f"/requests/{secret}.xml")[2])
    assert (hidden["lat"], hidden["long"], hidden["address"]) == (None, None, "Phường Hoàn Kiếm")

    # handled and published: closed, the result text as status notes
    head = Client(env, "head", UNIT)
    receive(head, plain)
    ok(head.command(plain, "assign", assignee="tổ 5"), "assigned")
    photo = head.upload(PHOTO)
    evidence = [{"sha256": photo["sha256"], "content_type": "image/jpeg"}]
    ok(
        head.command(plain, "propose_result", result_text="Đã vá xong.", evidence=evidence),
        "result_proposed",
    )
    ok(head.command(plain, "approve_result"), "published")

    def closed() -> Any:
        _, _, body = call(env, "GET", f"/requests/{plain}.json")
        [r] = json.loads(body)
        return r if r["status"] == "closed" else None

    done = wait_for(closed, 30, "the request closed")
    assert done["status_notes"] == "Đã vá xong." and done["expected_datetime"] is None

    def ids(query: str) -> set[str]:
        status, _, body = call(env, "GET", f"/requests.json{query}")
        assert status == 200, body
        return {r["service_request_id"] for r in json.loads(body)}

    everything = ids("")
    assert {plain, secret} <= everything and len(everything) == 3
    assert ids("?status=closed") == {plain}
    assert secret in ids("?status=open") and plain not in ids("?status=open")
    assert ids("?service_code=waste") == set()
    assert ids("?start_date=2099-01-01T00:00:00Z") == set()
    assert ids(f"?service_request_id={plain},{secret}&status=closed") == {plain, secret}
    assert len(ids("?page_size=1")) == 1 and len(ids("?page_size=1&page=3")) == 1
    # places: a box, a circle (never a confidential case), and GeoJSON
    third = everything - {plain, secret}
    assert ids("?bbox=105.85,21.02,105.86,21.03") == {plain} | third
    assert ids("?bbox=105.0,20.0,105.1,20.1") == set()
    assert ids("?lat=21.0246&long=105.8533&radius=100") == {plain} | third
    assert ids("?lat=21.1&long=105.9&radius=100") == set()
    status, ctype, body = call(env, "GET", "/requests.geojson?status=closed")
    collection = json.loads(body)
    assert status == 200 and ctype == "application/geo+json"
    assert collection["type"] == "FeatureCollection"
    [feature] = collection["features"]
    assert feature["id"] == plain and feature["geometry"] == {
        "type": "Point",
        "coordinates": [105.8532, 21.0245],
    }
    listing = call(env, "GET", "/requests.xml")[2].decode()
    for private in ("001203000001", "open311-1@", "0910000001", "Văn An", "pseudonym"):
        assert private not in listing

    # refusals: the standard's error list
    status, _, body = call(env, "GET", "/requests/6f1c3c52-5d0b-4f0e-9a51-2a4f3b1d7e10.xml")
    assert status == 404 and ET.fromstring(body).findtext("error/code") == "404"
    status, _, body = call(env, "GET", "/requests.json?status=pending")
    assert status == 400 and json.loads(body)[0]["code"] == 400
    status, _, _ = call(env, "POST", "/requests.xml", form(4, api_key="stolen"))
    assert status == 403


def test_a_photo_uploaded_with_the_request(pipeline: Settings) -> None:
    env = pipeline
    data = aiohttp.FormData()
    for k, v in form(5).items():
        data.add_field(k, v)
    data.add_field("media", PHOTO, filename="pothole.jpg", content_type="image/jpeg")
    status, _, body = call(env, "POST", "/requests.json", data)
    assert status == 200, body
    case_id = json.loads(body)[0]["service_request_id"]
    [rec] = [
        r
        for _, r in (get_codec().decode(m.value()) for m in topic_messages(env, INTAKE.name(env)))
        if str(r["envelope"]["case_id"]) == case_id
    ]
    assert [m["content_type"] for m in rec["media"]] == ["image/jpeg"]
