"""Submission integrity on real Kafka and ClickHouse (docs/integrity.md §4).

Two senders submit the same photo (the second re-encoded and resized, as a chat app does): the
second case is flagged as reusing the first case's image. A submission of the same category 100 m
from an open case is linked to it as a likely duplicate; one of another category is not. A copy of
a blocklisted image is flagged. The flags are on the case log, in the case state and in
ClickHouse; a redelivered submission raises no flag twice.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.http.auth import mint_token
from pakn.privacy import load_privacy
from pakn.settings import Settings
from pakn.topics import CASE_EVENTS, CASE_STATE, INTAKE, watermarks
from processors.media_checks import VN_TZ
from schemas.codec import get_codec
from tests.factories import feedback
from tests.harness import PAKN, Proc, settings_env, wait_for
from tests.media_set import photo, reuse_variants
from tests.pipeline import query, topic_messages, wait_cases_open, wait_gateway

pytestmark = pytest.mark.integration

FAR = {"lat": 21.0400, "lon": 105.8350, "commune_code": "00070", "address": "Phố Phan Đình Phùng"}
NEAR = {"lat": 21.0254, "lon": 105.8532, "commune_code": "00070", "address": "14 Hàng Bài"}  # 100 m


async def _post(url: str, body: dict[str, Any], files: list[bytes]) -> tuple[int, dict]:
    form = aiohttp.FormData()
    form.add_field("submission", json.dumps(body), content_type="application/json")
    for i, data in enumerate(files):
        ctype = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
        form.add_field("media", data, filename=f"photo{i}", content_type=ctype)
    async with aiohttp.ClientSession() as s, s.post(f"{url}/v1/feedback", data=form) as r:
        return r.status, await r.json()


def submit(env: Settings, i: int, files: list[bytes], **changes: Any) -> str:
    url = f"http://127.0.0.1:{env.gateway_port}"
    status, body = asyncio.run(_post(url, feedback(i, **changes), files))
    assert status == 202, body
    case_id = body["case_id"]
    wait_cases_open(env, [case_id])
    return case_id


def get(env: Settings, path: str, token: str) -> tuple[int, Any]:
    async def go() -> tuple[int, Any]:
        url = f"http://127.0.0.1:{env.gateway_port}{path}"
        headers = {"Authorization": f"Bearer {token}"}
        async with aiohttp.ClientSession() as s, s.get(url, headers=headers) as r:
            return r.status, await r.json()

    return asyncio.run(go())


def flags(env: Settings) -> list[tuple[str, str, str, str]]:
    """(case, kind, code, related case) of every flag ClickHouse holds, once each (FINAL)."""
    rows = query(
        env,
        f"SELECT toString(case_id), kind, code, related_case_id "
        f"FROM {env.clickhouse_database}.integrity_flags FINAL",
    )
    return sorted(rows)


def flag_events(env: Settings, case_id: str) -> list[dict[str, Any]]:
    out = []
    for m in topic_messages(env, CASE_EVENTS.name(env)):
        name, rec = get_codec().decode(m.value())
        if name == "IntegrityFlag" and str(rec["envelope"]["case_id"]) == case_id:
            out.append(rec)
    return out


def sink_caught_up(env: Settings, topic: str) -> bool:
    """The sink committed every message now in the topic (it commits after ClickHouse wrote)."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": env.kafka_bootstrap, "group.id": env.sink_group})
    try:
        parts = c.list_topics(topic, timeout=10).topics[topic].partitions
        tps = [TopicPartition(topic, p) for p in parts]
        committed = {tp.partition: tp.offset for tp in c.committed(tps, timeout=10)}
        ends = {p: watermarks(c, topic, p)[1] for p in parts}
        return all(ends[p] == 0 or committed[p] >= ends[p] for p in parts)
    finally:
        c.close()


def latest_state(env: Settings, case_id: str) -> dict[str, Any]:
    states = [
        get_codec().decode(m.value())[1]
        for m in topic_messages(env, CASE_STATE.name(env))
        if m.key() == case_id.encode()
    ]
    return max(states, key=lambda s: s["version"])


@pytest.mark.timeout(240)
def test_reused_photos_duplicates_and_blocklisted_images_are_flagged_once(
    env: Settings, procs: dict[str, Proc], tmp_path: Path
) -> None:
    for p in procs.values():
        p.start()
    wait_gateway(env, procs["gateway"])

    now = datetime.now(VN_TZ).strftime("%Y:%m:%d %H:%M:%S")  # taken just now, in Hanoi
    first = submit(env, 1, [photo(3, taken=now)])  # sender 1, a camera photo at 12 Hàng Bài
    copy = reuse_variants(3)["resized 50% q75"]  # the same photo through a chat app
    second = submit(env, 2, [copy], location=FAR)  # sender 2, 1.7 km away
    near = submit(
        env, 3, [photo(4, taken=now)], location=NEAR
    )  # same category, 100 m from the first
    other = submit(env, 4, [photo(5, taken=now)], location=NEAR, category="lighting")

    blocked = tmp_path / "viral.jpg"
    blocked.write_bytes(photo(6))
    out = subprocess.run(
        [PAKN, "integrity", "block", str(blocked), "--label", "viral-2025"],
        env=settings_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    fake = submit(env, 5, [reuse_variants(6)["crop 5% left"]], location=FAR, category="waste")

    want = {
        (second, "reused_image", "reused_image", first),
        (second, "edit_signal", "exif_missing", ""),  # the chat app stripped the EXIF
        (near, "likely_duplicate", "likely_duplicate", first),
        (fake, "blocklisted_image", "blocklisted_image", ""),
        (fake, "edit_signal", "exif_missing", ""),
    }
    wait_for(lambda: want <= set(flags(env)), 90, "the flags in ClickHouse", every=0.5)
    assert set(flags(env)) == want, flags(env)  # nothing on the first, the unrelated, `other`
    assert other not in {c for c, *_ in flags(env)}

    # Each index partition that saw the pair reports it: the same event (same id), kept once.
    events = flag_events(env, second)
    assert len({str(e["envelope"]["event_id"]) for e in events}) == 2
    reuse = next(f for f in events if f["kind"] == "reused_image")
    assert reuse["media_sha256"] != reuse["related_media_sha256"]  # different bytes, same photo
    assert reuse["distance"] <= env.integrity_reuse_distance and reuse["unit_code"]
    state = latest_state(env, second)
    assert {(n["kind"], n["related_case_id"]) for n in state["integrity_flags"]} == {
        ("reused_image", first),
        ("edit_signal", None),
    }

    # The receiving officer of the responsible unit sees the flags with their evidence; the
    # sender and other units do not.
    unit = reuse["unit_code"]
    officer = mint_token(env, role="receiving_officer", unit=unit, subject="o-1")
    status, body = get(env, f"/v1/cases/{second}/integrity", officer)
    assert status == 200, body
    shown = {(f["kind"], f["code"], f["related_case_id"]) for f in body["integrity_flags"]}
    assert shown == {("reused_image", "reused_image", first), ("edit_signal", "exif_missing", None)}
    assert all(f["raised_at"] and f["detail"] for f in body["integrity_flags"])
    pseudonym = load_privacy(env).pseudonym(feedback(2)["sender"]["id_number"])
    sender = mint_token(env, role="sender", pseudonym=pseudonym, subject="s-2")
    assert get(env, f"/v1/cases/{second}/integrity", sender)[0] == 403
    elsewhere = mint_token(env, role="receiving_officer", unit="00004", subject="o-2")
    assert get(env, f"/v1/cases/{second}/integrity", elsewhere)[0] == 403

    # Redelivery: the second submission's event arrives again (a crash before the commit).
    [again] = [m for m in topic_messages(env, INTAKE.name(env)) if m.key() == second.encode()]
    from confluent_kafka import Producer

    from gateway.publisher import producer_config

    producer = Producer(producer_config(env.kafka_bootstrap))
    producer.produce(INTAKE.name(env), key=again.key(), value=again.value())
    assert producer.flush(10) == 0
    before = Counter(f["kind"] for f in events)["reused_image"]
    wait_for(
        lambda: Counter(f["kind"] for f in flag_events(env, second))["reused_image"] > before,
        60,
        "the reuse flag to be emitted again",
        every=0.5,
    )
    events = flag_events(env, second)
    assert len({str(e["envelope"]["event_id"]) for e in events}) == 2  # same ids as before
    wait_for(lambda: sink_caught_up(env, CASE_EVENTS.name(env)), 30, "the sink to commit them")
    assert set(flags(env)) == want and len(flags(env)) == len(want)
    state = latest_state(env, second)
    assert len(state["integrity_flags"]) == 2


@pytest.mark.timeout(180)
def test_reuse_rejects_the_later_case_only_where_configured(env: Settings, tmp_path: Path) -> None:
    auto = env.model_copy(update={"integrity_auto_reject": "reused_image"})
    running = [Proc(n, auto, tmp_path).start() for n in ("gateway", "worker", "sink")]
    try:
        wait_gateway(auto, running[0])
        now = datetime.now(VN_TZ).strftime("%Y:%m:%d %H:%M:%S")
        first = submit(auto, 1, [photo(8, taken=now)])
        second = submit(auto, 2, [reuse_variants(8)["re-encoded q55"]], location=FAR)
        db = auto.clickhouse_database

        def statuses() -> dict[str, str]:
            rows = query(auto, f"SELECT toString(case_id), status FROM {db}.cases FINAL")
            return dict(rows)

        wait_for(lambda: statuses().get(second) == "rejected", 60, "the reused case rejected")
        assert statuses()[first] == "submitted"  # the original stands

        def transitions() -> list:
            return query(
                auto,
                f"SELECT payload FROM {db}.case_events FINAL "
                f"WHERE case_id = toUUID('{second}') AND event_type = 'case_transition'",
            )

        # the state and the events of one decision travel on two topics: wait for the event
        rows = wait_for(transitions, 60, "the rejection's transition event")
        reasons = [(json.loads(r[0])["reason"],) for r in rows]
        assert reasons == [("reused_or_edited_media",)]
    finally:
        for p in running:
            p.stop()


@pytest.mark.timeout(180)
def test_wording_goes_to_the_officer_as_a_flag_and_review_mode_queues_reject_terms(
    env: Settings, tmp_path: Path
) -> None:
    """A `review` term always reaches the receiving officer as a wording_review flag; with
    PAKN_WORDING_MODE=review a `reject` term is accepted and flagged too, not refused."""
    (tmp_path / "strict").mkdir()
    strict = [Proc("gateway", env, tmp_path / "strict").start()]
    try:
        wait_gateway(env, strict[0])
        url = f"http://127.0.0.1:{env.gateway_port}"
        status, body = asyncio.run(_post(url, feedback(1, title="Đồ địt cống rãnh"), []))
        assert status == 422 and body["fields"][0]["code"] == "offensive_wording"
    finally:
        strict[0].stop()
    lenient = env.model_copy(update={"wording_mode": "review"})
    running = [Proc(n, lenient, tmp_path).start() for n in ("gateway", "worker", "sink")]
    try:
        wait_gateway(lenient, running[0])
        review = submit(lenient, 2, [], title="Cống dit tắc ở ngõ 5")  # a review term
        refused_before = submit(lenient, 3, [], title="Đồ địt cống rãnh", location=FAR)
        clean = submit(lenient, 4, [], title="Cống tắc ở ngõ 7", location=NEAR)
        db = lenient.clickhouse_database

        def flags() -> dict[str, list[tuple[str, str]]]:
            rows = query(
                lenient,
                f"SELECT toString(case_id), code, detail FROM {db}.integrity_flags FINAL "
                "WHERE kind = 'wording_review' ORDER BY detail",
            )
            out: dict[str, list[tuple[str, str]]] = {}
            for case_id, code, detail in rows:
                out.setdefault(case_id, []).append((code, detail))
            return out

        wait_for(lambda: len(flags()) == 2, 60, "two wording flags in ClickHouse")
        seen = flags()
        assert seen[review] == [("wording_review", "title 5-8: dit")]
        assert seen[refused_before] == [("wording_reject", "title 3-6: địt")]
        assert clean not in seen
    finally:
        for p in running:
            p.stop()
