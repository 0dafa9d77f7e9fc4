"""The gateway on a real broker: media, clear refusals, idempotent retries, operator routes."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from pakn.settings import Settings
from pakn.topics import INTAKE
from schemas.codec import get_codec
from tests.factories import feedback, jpeg
from tests.harness import Proc, free_port
from tests.pipeline import topic_count, topic_messages, wait_gateway

pytestmark = pytest.mark.integration

JPEG = jpeg(1)


@pytest.fixture
def gateway(env: Settings, procs: dict[str, Proc]) -> str:
    procs["gateway"].start()
    wait_gateway(env, procs["gateway"])
    return f"http://127.0.0.1:{env.gateway_port}"


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def _multipart(url: str, body: dict, files: list[tuple[str, bytes]]) -> tuple[int, dict]:
    form = aiohttp.FormData()
    form.add_field("submission", json.dumps(body), content_type="application/json")
    for i, (ctype, data) in enumerate(files):
        form.add_field("media", data, filename=f"photo{i}", content_type=ctype)
    async with aiohttp.ClientSession() as s, s.post(f"{url}/v1/feedback", data=form) as r:
        return r.status, await r.json()


async def _request(method: str, url: str, **kw: Any) -> tuple[int, dict[str, str], bytes]:
    async with aiohttp.ClientSession() as s, s.request(method, url, **kw) as r:
        return r.status, dict(r.headers), await r.read()


def test_photos_are_stored_by_content_and_referenced_in_the_event(
    env: Settings, gateway: str
) -> None:
    status, body = run(_multipart(gateway, feedback(1), [("image/jpeg", JPEG)] * 2))
    assert status == 202, body
    [msg] = topic_messages(env, INTAKE.name(env))
    _, rec = get_codec().decode(msg.value())
    assert [m["content_type"] for m in rec["media"]] == ["image/jpeg", "image/jpeg"]
    digest = rec["media"][0]["sha256"]
    stored = env.home / "media" / digest[:2] / digest
    assert stored.read_bytes() == JPEG


def test_media_refusals_have_their_codes_and_publish_nothing(env: Settings, gateway: str) -> None:
    wrong_type = run(_multipart(gateway, feedback(2), [("application/x-msdownload", b"MZ")]))
    assert wrong_type == (415, wrong_type[1]) and wrong_type[1]["code"] == (
        "unsupported_media_type"
    )
    too_many = run(_multipart(gateway, feedback(3), [("image/jpeg", JPEG)] * 11))
    assert too_many[0] == 413 and too_many[1]["code"] == "too_many_files"
    status, _, raw = run(
        _request(
            "POST", f"{gateway}/v1/feedback", data=b"x", headers={"Content-Type": "text/plain"}
        )
    )
    assert status == 415 and json.loads(raw)["message"]["vi"]
    assert topic_count(env, INTAKE.name(env)) == 0


def test_too_large_body_is_413(env: Settings, gateway: str) -> None:
    big = json.dumps(feedback(4, description="x" * (env.gateway_max_body_bytes + 10)))
    status, _, raw = run(
        _request(
            "POST", f"{gateway}/v1/feedback", data=big, headers={"Content-Type": "application/json"}
        )
    )
    assert status == 413 and json.loads(raw)["code"] == "payload_too_large"


def test_retry_with_the_same_idempotency_key_names_the_same_case(gateway: str) -> None:
    headers = {"Idempotency-Key": "app-7f3c-0001"}

    async def twice() -> list[dict]:
        out = []
        async with aiohttp.ClientSession() as s:
            for _ in range(2):
                async with s.post(f"{gateway}/v1/feedback", json=feedback(5), headers=headers) as r:
                    assert r.status == 202
                    out.append(await r.json())
        return out

    first, second = run(twice())
    assert first["case_id"] == second["case_id"]


def test_operator_routes_answer(gateway: str) -> None:
    status, _, raw = run(_request("GET", f"{gateway}/openapi.json"))
    doc = json.loads(raw)
    assert status == 200 and "/v1/feedback" in doc["paths"]
    assert "FieldFeedbackIn" in doc["components"]["schemas"]
    status, _, raw = run(_request("GET", f"{gateway}/readyz"))
    assert status == 200 and json.loads(raw) == {
        "status": "ready",
        "kafka": True,
        "clickhouse": True,
    }
    run(_request("POST", f"{gateway}/v1/feedback", json=[]))
    status, _, raw = run(_request("GET", f"{gateway}/metrics"))
    assert status == 200 and b"pakn_gateway_responses_total" in raw
    assert b'code="validation_failed"' in raw
    status, _, raw = run(_request("GET", f"{gateway}/v1/cases/not-a-uuid"))
    assert status == 404 and json.loads(raw)["code"] == "not_found"
    status, _, raw = run(_request("DELETE", f"{gateway}/v1/feedback"))
    assert status == 405 and json.loads(raw)["code"] == "method_not_allowed"


def test_offensive_wording_is_refused_pointing_at_the_span(env: Settings, gateway: str) -> None:
    body = feedback(
        6, description="Đường ở đây hỏng quá, đ.m cái ổ gà này làm ngã bao nhiêu người."
    )
    status, _, raw = run(_request("POST", f"{gateway}/v1/feedback", json=body))
    error = json.loads(raw)
    assert status == 422 and error["fields"][0]["code"] == "offensive_wording"
    start, end = map(int, error["fields"][0]["detail"].split("-"))
    assert body["description"][start:end].startswith("đ")
    assert topic_count(env, INTAKE.name(env)) == 0


def test_media_are_judged_by_their_bytes(env: Settings, gateway: str) -> None:
    import struct
    import zlib

    mismatch = run(_multipart(gateway, feedback(7), [("image/png", JPEG)]))
    assert mismatch[0] == 415 and mismatch[1]["fields"][0]["code"] == ("media_type_mismatch")
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    bomb = (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", 13)
        + b"IHDR"
        + ihdr
        + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    )
    too_big = run(_multipart(gateway, feedback(8), [("image/png", bomb)]))
    assert too_big[0] == 413 and too_big[1]["fields"][0]["code"] == ("media_too_many_pixels")
    assert topic_count(env, INTAKE.name(env)) == 0


def test_a_sender_submitting_too_often_gets_429_with_retry_after(env: Settings, tmp_path) -> None:
    limited = env.model_copy(update={"gateway_sender_per_hour": 2.0, "gateway_port": free_port()})
    (tmp_path / "limited").mkdir()
    proc = Proc("gateway", limited, tmp_path / "limited").start()
    try:
        wait_gateway(limited, proc)
        url = f"http://127.0.0.1:{limited.gateway_port}/v1/feedback"
        answers = [run(_request("POST", url, json=feedback(9))) for _ in range(3)]
        assert [a[0] for a in answers] == [202, 202, 429]
        assert int(answers[2][1]["Retry-After"]) > 0
        assert json.loads(answers[2][2])["code"] == "rate_limited"
        assert topic_count(env, INTAKE.name(env)) == 2
    finally:
        proc.stop()
