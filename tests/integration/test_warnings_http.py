"""Warnings over HTTP on the real Kafka: officers draft and approve with their roles, a citizen
subscribes, the app reads active warnings for a place, follows them live (SSE), and the CAP 1.2
message and Atom feed are valid."""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree as ET

import aiohttp
import capvalidator

from gateway.http.auth import mint_token
from pakn.privacy import load_privacy
from pakn.settings import Settings
from pakn.topics import NOTIFICATIONS, WARNINGS_BY_COMMUNE
from processors.areas import shipped_geo
from tests.harness import Proc, wait_for
from tests.integration.test_warnings import _read_committed
from tests.pipeline import query, topic_count, wait_gateway

GEO = shipped_geo()
UNIT, OTHER, FAR = "00070", "00004", "09676"  # Hoàn Kiếm, Ba Đình, far west


class Client:
    def __init__(self, env: Settings, role: str, unit: str | None = None, **kw: Any) -> None:
        self.token = mint_token(env, role=role, unit=unit, **kw)
        self.base = f"http://127.0.0.1:{env.gateway_port}"

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        async def go() -> tuple[int, Any]:
            async with (
                aiohttp.ClientSession() as s,
                s.request(
                    method,
                    self.base + path,
                    json=body,
                    headers={"Authorization": f"Bearer {self.token}"},
                ) as r,
            ):
                text = await r.text()
                try:
                    return r.status, json.loads(text)
                except ValueError:
                    return r.status, text

        return asyncio.run(go())


def _get(env: Settings, path: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{env.gateway_port}{path}", timeout=5) as r:
            return r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), ""


def _content(**over: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body = {
        "category": "storm",
        "severity": "Severe",
        "urgency": "Expected",
        "area": {"communes": [UNIT]},
        "effective": (now - timedelta(minutes=1)).isoformat(),
        "expires": (now + timedelta(hours=3)).isoformat(),
        "headline_vi": "Cảnh báo giông lốc",
        "text_vi": "Giông lốc mạnh chiều nay.",
        "instruction_vi": "Tránh xa cây lớn.",
        "headline_en": "Storm warning",
        "text_en": "Strong storm this afternoon.",
    }
    body.update(over)
    return body


class SSE:
    """Reads an SSE stream in a thread; ``events`` holds the decoded ``warning`` events."""

    def __init__(self, url: str) -> None:
        self.events: list[dict[str, Any]] = []
        self.status = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._read(url)), daemon=True)
        self._thread.start()

    async def _read(self, url: str) -> None:
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        async with aiohttp.ClientSession(timeout=timeout) as s, s.get(url) as r:
            self.status = r.status
            data = ""
            while not self._stop.is_set():
                try:
                    line = await asyncio.wait_for(r.content.readline(), 0.5)
                except TimeoutError:
                    continue
                if not line:
                    return
                text = line.decode().rstrip("\n")
                if text.startswith("data: "):
                    data = text[6:]
                elif text == "" and data:
                    self.events.append(json.loads(data))
                    data = ""

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


def test_warning_http_life(env: Settings, tmp_path: Any) -> None:
    procs = [Proc(n, env, tmp_path).start() for n in ("gateway", "worker", "notifier", "sink")]
    sse = None
    try:
        wait_gateway(env, procs[0])
        officer = Client(env, "communications_officer", UNIT)
        head = Client(env, "head", UNIT)
        other_head = Client(env, "head", OTHER)
        pseudonym = load_privacy(env).pseudonym("001099012345")
        citizen = Client(env, "sender", pseudonym=pseudonym)

        # a citizen subscribes (sender token: the pseudonym comes from it, never the body)
        status, body = citizen.call(
            "PUT",
            "/v1/warnings/subscription",
            {"token": "fcm-token-1", "channel": "fcm", "home_commune": UNIT, "language": "en"},
        )
        assert status == 202, body
        assert "pseudonym" not in body["subscription"] and "token" not in body["subscription"]
        bad = citizen.call(
            "PUT",
            "/v1/warnings/subscription",
            {"token": "t", "channel": "fcm", "home_commune": "99999"},
        )
        assert bad[0] == 422 and bad[1]["code"] == "unknown_commune"
        assert (
            officer.call(
                "PUT",
                "/v1/warnings/subscription",
                {
                    "token": "t",
                    "channel": "fcm",
                    "home_commune": UNIT,
                },
            )[1]["code"]
            == "role_not_allowed"
        )
        wait_for(lambda: topic_count(env, WARNINGS_BY_COMMUNE.name(env)) >= 1, 60, "the row")

        # drafting: roles and content are checked at once, with vi/en messages
        refused = citizen.call("POST", "/v1/warnings", _content())
        assert refused[0] == 403 and refused[1]["code"] == "role_not_allowed"
        late = _content(expires=_content()["effective"])
        refused = officer.call("POST", "/v1/warnings", late)
        assert refused[0] == 422 and refused[1]["code"] == "invalid_times"
        assert refused[1]["message"]["vi"] and refused[1]["message"]["en"]
        unknown = officer.call("POST", "/v1/warnings", _content(area={"communes": ["99999"]}))
        assert unknown[1]["code"] == "unknown_commune"
        status, draft = officer.call("POST", "/v1/warnings", _content())
        assert status == 202, draft
        wid = draft["warning_id"]
        denied = officer.call("POST", f"/v1/warnings/{wid}/commands", {"command": "approve"})
        assert denied[0] == 403 and denied[1]["code"] == "role_not_allowed"

        g = GEO[UNIT]
        sse = SSE(
            f"http://127.0.0.1:{env.gateway_port}/v1/warnings/stream?lat={g.lat}&long={g.lon}"
        )
        assert _get(env, f"/v1/warnings/{wid}")[0] == 404  # a draft is not public

        status, body = head.call("POST", f"/v1/warnings/{wid}/commands", {"command": "approve"})
        assert status == 202, body

        def listed(query: str) -> list[str]:
            code, raw, _ = _get(env, f"/v1/warnings?{query}")
            assert code == 200, raw
            return [w["warning_id"] for w in json.loads(raw)["warnings"]]

        wait_for(lambda: wid in listed(f"lat={g.lat}&long={g.lon}"), 60, "the warning to be read")
        assert wid in listed(f"unit={UNIT}") and wid in listed(f"commune={UNIT}")
        far = GEO[FAR]
        assert wid not in listed(f"lat={far.lat}&long={far.lon}")
        assert wid not in listed(f"commune={FAR}")
        assert _get(env, "/v1/warnings?lat=abc&long=1")[0] == 400

        # interoperability: CAP 1.2 valid against the OASIS schema, Atom lists it
        code, xml, ctype = _get(env, f"/v1/warnings/{wid}.cap")
        assert code == 200 and ctype.startswith("application/cap+xml")
        result = capvalidator.check_schema(xml)
        assert result.passed, result.message
        assert b"Ph\xc6\xb0\xe1\xbb\x9dng Ho\xc3\xa0n Ki\xe1\xba\xbfm" in xml  # areaDesc by name
        code, atom, _ = _get(env, "/v1/warnings.atom")
        links = [
            e.get("href") for e in ET.fromstring(atom).iter("{http://www.w3.org/2005/Atom}link")
        ]
        assert any(h and h.endswith(f"/v1/warnings/{wid}.cap") for h in links)

        # another unit's head cannot touch it; this unit's head updates, then cancels
        other = other_head.call("POST", f"/v1/warnings/{wid}/commands", {"command": "cancel"})
        assert other[0] == 403 and other[1]["code"] == "not_your_unit"
        update = {"command": "update", "content": _content(severity="Extreme")}
        assert head.call("POST", f"/v1/warnings/{wid}/commands", update)[0] == 202
        wait_for(lambda: any(e["version"] == 2 for e in sse.events), 60, "the update on SSE")
        assert head.call("POST", f"/v1/warnings/{wid}/commands", {"command": "cancel"})[0] == 202
        wait_for(lambda: any(e["status"] == "cancelled" for e in sse.events), 60, "the cancel")
        assert sse.status == 200
        assert [e["version"] for e in sse.events if e["warning_id"] == wid] == [1, 2, 3]
        wait_for(lambda: wid not in listed(f"commune={UNIT}"), 30, "the cancelled to leave")
        again = head.call("POST", f"/v1/warnings/{wid}/commands", {"command": "cancel"})
        assert again[0] == 409 and again[1]["code"] == "warning_final"
        code, xml, _ = _get(env, f"/v1/warnings/{wid}.cap")
        assert capvalidator.check_schema(xml).passed and b"<msgType>Cancel</msgType>" in xml

        # the subscribed citizen got the alert, the update and the cancellation, once each
        def mine() -> list[tuple[int, str]]:
            notes = _read_committed(env, NOTIFICATIONS.name(env))
            return sorted((n["version"], n["kind"]) for n in notes if n["pseudonym"] == pseudonym)

        wait_for(lambda: len(mine()) >= 3, 90, "the citizen's notifications", 1)
        assert mine() == [(1, "alert"), (2, "update"), (3, "cancel")]
        note = next(
            n for n in _read_committed(env, NOTIFICATIONS.name(env)) if n["pseudonym"] == pseudonym
        )
        assert note["headline"] == "Storm warning" and note["token"] == "fcm-token-1"

        # the warehouse: the warning, its communes, and its delivery counts per version
        db = env.clickhouse_database

        def counts() -> list[tuple[Any, ...]]:
            return query(
                env,
                f"SELECT version, kind, count() FROM {db}.warning_deliveries FINAL "
                f"WHERE warning_id = '{wid}' GROUP BY version, kind ORDER BY version",
            )

        wait_for(lambda: len(counts()) == 3, 60, "the delivery counts in ClickHouse", 0.5)
        assert counts() == [(1, "alert", 1), (2, "update", 1), (3, "cancel", 1)]
        row = query(
            env,
            f"SELECT status, version, severity, communes FROM {db}.warnings FINAL "
            f"WHERE warning_id = '{wid}'",
        )
        assert row == [("cancelled", 3, "Extreme", [UNIT])]
        areas = query(
            env, f"SELECT DISTINCT commune FROM {db}.warning_areas WHERE warning_id = '{wid}'"
        )
        assert areas == [(UNIT,)]
        copied = query(env, f"SELECT count() FROM {db}_analytics.warning_deliveries")
        assert copied[0][0] >= 3
    finally:
        if sse is not None:
            sse.close()
        for p in procs:
            p.stop()
