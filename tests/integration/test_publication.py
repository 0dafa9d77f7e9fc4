"""Published results, the sender's tracking view and the oversight reads, over HTTP on the real
pipeline (gateway, worker, sink; Kafka and ClickHouse)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import aiohttp
import pytest

from gateway.http.auth import mint_token
from pakn.privacy import load_privacy
from pakn.settings import Settings
from sinks.connection import clickhouse
from tests.factories import feedback
from tests.harness import Proc, wait_for
from tests.integration.test_workflow_http import PHOTO, Client, ok
from tests.pipeline import post_all, query, wait_gateway

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _drop_analytics_database(env: Settings) -> Iterator[None]:
    """Migration 0005 makes `<db>_analytics` beside the per-test database: dropped after."""
    yield
    query(env, f"DROP DATABASE IF EXISTS {env.clickhouse_database}_analytics")


UNIT = "00070"


def http(
    env: Settings, path: str, token: str | None = None, **headers: str
) -> tuple[int, Mapping[str, str], Any]:
    async def go() -> tuple[int, Mapping[str, str], Any]:
        if token:
            headers["Authorization"] = f"Bearer {token}"
        async with (
            aiohttp.ClientSession() as s,
            s.get(f"http://127.0.0.1:{env.gateway_port}{path}", headers=headers) as r,
        ):
            raw = await r.read()
            return r.status, r.headers.copy(), json.loads(raw) if raw else None

    return asyncio.run(go())


def start(env: Settings, procs: dict[str, Proc]) -> Settings:
    for p in procs.values():
        p.start()
    wait_gateway(env, procs["gateway"])
    return env


def submit(env: Settings, i: int, **sender: Any) -> tuple[str, dict[str, Any]]:
    body = feedback(i, unit_code=UNIT)
    body["sender"].update(sender)
    [p] = post_all(env, [body])
    assert p.status == 202, p.body
    return p.body["case_id"], body


def receive(officer: Client, case_id: str) -> None:
    """Receive a case as soon as the worker knows it. A 202 (no answer within the gateway's
    wait, e.g. while the worker starts) proves nothing: ask again until the answer is 200, or
    409 because an earlier attempt did receive it."""
    wait_for(
        lambda: officer.command(case_id, "receive", level="normal")[0] in (200, 409),
        30,
        "the case to be received",
        every=0.2,
    )


def publish(env: Settings, case_id: str, text: str) -> str:
    """receive → assign → propose (with a photo) → approve; returns the photo's hash."""
    head = Client(env, "head", UNIT)
    receive(head, case_id)
    ok(head.command(case_id, "assign", assignee="Nguyễn Thị Cán Bộ"), "assigned")
    photo = head.upload(PHOTO)
    evidence = [{"sha256": photo["sha256"], "content_type": "image/jpeg", "filename": "an.jpg"}]
    ok(
        head.command(case_id, "propose_result", result_text=text, evidence=evidence),
        "result_proposed",
    )
    ok(head.command(case_id, "approve_result"), "published")
    return photo["sha256"]


def test_results_are_public_without_anything_about_the_sender(
    env: Settings, procs: dict[str, Proc]
) -> None:
    start(env, procs)
    secret, secret_body = submit(env, 1, confidential=True)
    plain, _ = submit(env, 2)
    pending, _ = submit(env, 3)
    sha = publish(env, secret, "Đã vá ổ gà, nghiệm thu ngày 13/02.")
    publish(env, plain, "Đã dọn rác.")

    def listed() -> Any:
        status, _, body = http(env, "/v1/results")
        return body if status == 200 and body["total"] == 2 else None

    body = wait_for(listed, 30, "both results in the public list")
    assert {i["case_id"] for i in body["items"]} == {secret, plain}  # not the pending one
    item = next(i for i in body["items"] if i["case_id"] == secret)
    assert item["unit"]["name"]["vi"] == "Phường Hoàn Kiếm"
    assert item["category"]["code"] == "road_damage" and item["status"] == "published"

    # the detail: result text, evidence hashes, the statuses it went through
    status, headers, detail = http(env, f"/v1/results/{secret}")
    assert status == 200
    assert detail["result"]["text"] == "Đã vá ổ gà, nghiệm thu ngày 13/02."
    assert detail["result"]["evidence"] == [{"sha256": sha, "content_type": "image/jpeg"}]
    assert [t["status"] for t in detail["timeline"]] == [
        "submitted",
        "received",
        "assigned",
        "result_proposed",
        "published",
    ]
    assert detail["commune"]["code"] == "00070" and detail["published_at"]

    # nothing about the sender anywhere: no identity, no pseudonym, not even the flag
    pseudonym = load_privacy(env).pseudonym(secret_body["sender"]["id_number"])
    _, _, listing = http(env, "/v1/results?page_size=100")
    text = json.dumps([listing, detail], ensure_ascii=False)
    for value in (*secret_body["sender"].values(), pseudonym, secret_body["description"]):
        if isinstance(value, str):
            assert value not in text
    for word in ("sender", "pseudonym", "confidential", "an.jpg", "Cán Bộ", "lat"):
        assert word not in text, word

    # filters and paging
    def ids(path: str) -> set[str]:
        status, _, body = http(env, path)
        assert status == 200, body
        return {i["case_id"] for i in body["items"]}

    assert ids(f"/v1/results?unit={UNIT}&category=road_damage&area=00070") == {secret, plain}
    assert ids("/v1/results?unit=00004") == set()
    assert ids("/v1/results?status=closed") == set()
    assert ids("/v1/results?process=field_feedback&from=2020-01-01") == {secret, plain}
    assert ids("/v1/results?to=2020-01-01") == set()
    _, _, one = http(env, "/v1/results?page_size=1&page=2")
    assert one["total"] == 2 and len(one["items"]) == 1
    status, _, refused = http(env, "/v1/results?page_size=1000&category=spaceships&from=x")
    assert status == 400 and refused["code"] == "invalid_query"
    assert {f["field"] for f in refused["fields"]} == {"page_size", "category", "from"}
    assert http(env, f"/v1/results/{pending}")[0] == 404
    assert http(env, f"/v1/results/{uuid.uuid4()}")[0] == 404

    # caching: 304 on If-None-Match and If-Modified-Since; a change makes a new ETag
    etag, modified = headers["ETag"], headers["Last-Modified"]
    assert http(env, f"/v1/results/{secret}", **{"If-None-Match": etag})[0] == 304
    assert http(env, f"/v1/results/{secret}", **{"If-Modified-Since": modified})[0] == 304
    _, list_headers, _ = http(env, "/v1/results")
    assert http(env, "/v1/results", **{"If-None-Match": list_headers["ETag"]})[0] == 304
    sender = Client(env, "sender", id_number=secret_body["sender"]["id_number"])
    ok(sender.command(secret, "rate", rating="satisfied"), "closed")

    def changed() -> Any:
        status, h, body = http(env, f"/v1/results/{secret}", **{"If-None-Match": etag})
        return body if status == 200 and h["ETag"] != etag and body["status"] == "closed" else None

    assert wait_for(changed, 30, "a new ETag after the rating")["timeline"][-1]["status"] == (
        "closed"
    )
    assert http(env, "/v1/results", **{"If-None-Match": list_headers["ETag"]})[0] == 200


def test_the_sender_tracks_deadlines_and_lateness_of_every_stage(
    clock_env: Settings, procs: dict[str, Proc]
) -> None:
    env = clock_env  # receive within 20 s, on a 24/7 calendar
    for p in procs.values():
        p.settings = env
    start(env, procs)
    on_time, on_time_body = submit(env, 11)
    late, late_body = submit(env, 12)
    head = Client(env, "head", UNIT)
    receive(head, on_time)
    db = env.clickhouse_database

    def breached() -> bool:
        rows = query(
            env,
            f"SELECT count() FROM {db}.case_events FINAL WHERE case_id = toUUID('{late}') "
            "AND event_type = 'sla_breached'",
        )
        return rows == [(1,)]

    wait_for(breached, 45, "the late case's receiving deadline to pass", every=0.5)
    receive(head, late)
    mine = mint_token(
        env,
        role="sender",
        pseudonym=load_privacy(env).pseudonym(late_body["sender"]["id_number"]),
    )

    def tracked() -> Any:  # the state and the receipt's events (they travel on two topics)
        status, _, body = http(env, f"/v1/cases/{late}/tracking", mine)
        if status != 200 or body["status"] != "received":
            return None
        done = [s for s in body["stages"] if s["stage"] == "receive" and s["completed_at"]]
        return body if done else None

    body = wait_for(tracked, 30, "the late case received, in the warehouse")
    stages = {(s["stage"], s["round"]): s for s in body["stages"]}
    received = stages[("receive", 0)]
    assert received["state"] == "late" and received["breached"] and received["on_time"] is False
    assert received["late_working_minutes"] >= 0 and received["due_at"] and received["completed_at"]
    assert stages[("assign", 0)]["state"] == "open" and stages[("handle", 0)]["state"] == "open"
    assert body["late_stages"] == ["receive"]
    assert body["deadlines"]["assign"] and body["deadlines"]["handle"]
    events = [t["event"] for t in body["timeline"]]
    assert events[0] == "submitted" and "sla_breached" in events and "stage_completed" in events
    assert "Cán Bộ" not in json.dumps(body, ensure_ascii=False)

    other = mint_token(
        env,
        role="sender",
        pseudonym=load_privacy(env).pseudonym(on_time_body["sender"]["id_number"]),
    )
    status, _, body = http(env, f"/v1/cases/{on_time}/tracking", other)
    assert status == 200
    assert {s["stage"]: s["state"] for s in body["stages"]}["receive"] == "on_time"
    status, _, refused = http(env, f"/v1/cases/{late}/tracking", other)
    assert status == 403 and refused["code"] == "not_your_case"
    status, _, refused = http(env, f"/v1/cases/{late}/tracking", mint_token(env, role="oversight"))
    assert status == 403 and refused["code"] == "role_not_allowed"
    assert http(env, f"/v1/cases/{late}/tracking")[0] == 401
    assert http(env, f"/v1/cases/{uuid.uuid4()}/tracking", mine)[0] == 404


TALLY_COLUMNS = (
    "unit_code, month, version, received, receive_late, assign_late, handle_on_time, "
    "handle_late, extended, rejected, satisfied, not_satisfied, repeats, "
    "repeats_not_satisfied, late_items, late_share, updated_at, handle_on_time_urgent, "
    "rejected_offensive, open_at_month_end"
)


def insert(env: Settings, sql: str, rows: list[tuple[Any, ...]]) -> None:
    client = clickhouse(env)
    try:
        client.execute(sql, rows)
    finally:
        client.disconnect()


def test_oversight_reads_the_monthly_figures_and_flags(
    env: Settings, procs: dict[str, Proc]
) -> None:
    procs["gateway"].start()
    wait_gateway(env, procs["gateway"])
    db = env.clickhouse_database
    at = datetime(2026, 2, 21, 10, 0)
    insert(
        env,
        f"INSERT INTO {db}.unit_month_tallies ({TALLY_COLUMNS}) VALUES",
        [
            ("00070", "2026-02", 1, 10, 1, 0, 3, 5, 0, 0, 2, 2, 1, 0, 4, 0.4, at, 1, 0, 3),
            ("00070", "2026-02", 2, 10, 2, 0, 3, 5, 0, 0, 2, 3, 1, 0, 5, 0.5, at, 2, 0, 2),
            ("00004", "2026-02", 1, 8, 0, 0, 8, 0, 0, 0, 6, 0, 0, 0, 0, 0.0, at, 0, 0, 0),
        ],
    )
    insert(
        env,
        f"INSERT INTO {db}.oversight_flags "
        "(unit_code, month, flag, value, threshold, raised_at, event_id) VALUES",
        [("00070", "2026-02", "late_share", 0.5, 0.3, at, uuid.uuid4())],
    )
    center = mint_token(env, role="oversight")
    status, _, body = http(env, "/v1/oversight/units/00070/months/2026-02", center)
    assert status == 200, body
    assert body["figures"]["late_share"] == 0.5 and body["version"] == 2  # latest version
    assert body["final"] is False
    assert body["figures"]["handle_on_time_share"] == 3 / 8
    assert body["figures"]["satisfied_share"] == 2 / 5
    figures = body["figures"]
    assert (figures["handle_on_time_urgent"], figures["open_at_month_end"]) == (2, 2)
    assert body["flags"] == [
        {
            "flag": "late_share",
            "value": 0.5,
            "threshold": 0.3,
            "raised_at": "2026-02-21T10:00:00+07:00",
        }
    ]
    status, _, body = http(
        env, "/v1/oversight/flags?month=2026-02", mint_token(env, role="operator")
    )
    assert status == 200 and [f["unit"]["code"] for f in body["flags"]] == ["00070"]
    assert body["flags"][0]["figures"]["late_items"] == 5
    assert http(env, "/v1/oversight/flags?month=2026-03", center)[2]["flags"] == []
    assert http(env, "/v1/oversight/units/00070/months/2026-03", center)[0] == 404
    status, _, body = http(env, "/v1/oversight/flags?month=2026-13", center)
    assert status == 400 and body["code"] == "invalid_month"
    assert http(env, "/v1/oversight/flags", center)[0] == 400
    officer = mint_token(env, role="head", unit="00070")
    status, _, body = http(env, "/v1/oversight/units/00070/months/2026-02", officer)
    assert status == 403 and body["code"] == "role_not_allowed"
