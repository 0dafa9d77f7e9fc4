"""Citizen-reception booking on real Kafka: one writer per session, whatever the concurrency."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.http.auth import mint_token
from pakn.privacy import load_privacy
from pakn.settings import Settings
from pakn.topics import RECEPTION_REQUESTS, RECEPTION_RESULTS
from processors.calendar import WorkingCalendar
from tests.harness import Proc, wait_for
from tests.pipeline import query, topic_messages, wait_gateway

pytestmark = pytest.mark.integration

PLACES = 50
CROWD = 1000


def session_day() -> str:
    """A working day at least two days ahead: booking is open now with the default window
    (opens 14 days, closes 1 day before the first slot)."""
    cal = WorkingCalendar()
    d = date.today() + timedelta(days=2)
    while not cal.is_working_day(d):
        d += timedelta(days=1)
    return d.isoformat()


def citizen(i: int) -> dict[str, str]:
    return {"full_name": f"Nguyễn Văn {i}", "id_number": f"0012030{i:05d}", "phone": f"091{i:07d}"}


@pytest.fixture
def booking(env: Settings, tmp_path: Path) -> Iterator[tuple[Settings, dict[str, Proc]]]:
    """gateway, worker and sink, with a reply wait long enough for a thousand queued bookings."""
    settings = env.model_copy(update={"gateway_reply_timeout_s": 120.0})
    running = {n: Proc(n, settings, tmp_path).start() for n in ("gateway", "worker", "sink")}
    try:
        wait_gateway(settings, running["gateway"])
        yield settings, running
    finally:
        for p in running.values():
            p.stop()


class Api:
    def __init__(self, env: Settings) -> None:
        self.base = f"http://127.0.0.1:{env.gateway_port}/v1/reception"
        self.office = {"Authorization": "Bearer " + mint_token(env, role="reception_office")}

    async def call(
        self,
        s: aiohttp.ClientSession,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        async with s.request(method, self.base + path, json=body, headers=headers or {}) as r:
            return r.status, await r.json()

    def run(self, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, dict]:
        async def go() -> tuple[int, dict]:
            async with aiohttp.ClientSession() as s:
                return await self.call(s, method, path, body, **kw)

        return asyncio.run(go())

    def publish(self, slots: list[dict[str, Any]]) -> str:
        def published() -> tuple[int, dict] | None:
            status, body = self.run(
                "POST",
                "/sessions",
                {
                    "date": session_day(),
                    "leader": "Chủ tịch UBND",
                    "topics": ["đất đai"],
                    "slots": slots,
                },
                headers=self.office,
            )
            return (status, body) if status != 202 else None  # the worker may still be starting

        status, body = wait_for(published, 90, "the session to be published", every=0.5)
        assert status == 201, body
        return body["session_id"]

    def book(self, sid: str, i: int, slot: str = "s1", key: str | None = None) -> tuple[int, dict]:
        body = {"slot_id": slot, "subject": "Khiếu nại về đất đai", "citizen": citizen(i)}
        return self.run(
            "POST",
            f"/sessions/{sid}/bookings",
            body,
            headers={"Idempotency-Key": key} if key else None,
        )

    def crowd(self, sid: str, n: int, slot: str = "s1") -> list[tuple[int, dict]]:
        """n citizens booking at the same instant (each with its own Idempotency-Key)."""

        async def go() -> list[tuple[int, dict]]:
            conn = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=conn) as s:
                return await asyncio.gather(
                    *(
                        self.call(
                            s,
                            "POST",
                            f"/sessions/{sid}/bookings",
                            {
                                "slot_id": slot,
                                "subject": "Kiến nghị về xây dựng",
                                "citizen": citizen(i),
                            },
                            headers={"Idempotency-Key": f"crowd-{i}"},
                        )
                        for i in range(n)
                    )
                )

        return asyncio.run(go())

    def taken(self, sid: str) -> dict[str, int]:
        status, body = self.run("GET", f"/sessions/{sid}")
        assert status == 200, body
        return {s["slot_id"]: s["taken"] for s in body["session"]["slots"]}


def test_a_thousand_citizens_for_fifty_places(booking: tuple[Settings, dict[str, Proc]]) -> None:
    env, procs = booking
    api = Api(env)
    sid = api.publish([{"slot_id": "s1", "start": "08:00", "end": "11:00", "capacity": PLACES}])

    started = time.monotonic()
    answers = api.crowd(sid, CROWD)
    print(f"\n{CROWD} simultaneous bookings answered in {time.monotonic() - started:.2f} s")

    by_status = Counter(status for status, _ in answers)
    assert by_status == {201: PLACES, 409: CROWD - PLACES}, by_status
    refused = Counter(body["code"] for status, body in answers if status == 409)
    assert refused == {"slot_full": CROWD - PLACES}
    codes = [body["booking_code"] for status, body in answers if status == 201]
    assert len(set(codes)) == PLACES
    assert api.taken(sid) == {"s1": PLACES}
    # one writer decided them all: the session's requests are on one partition, in order
    requests = [
        m for m in topic_messages(env, RECEPTION_REQUESTS.name(env)) if m.key() == sid.encode()
    ]
    assert len({m.partition() for m in requests}) == 1 and len(requests) == CROWD + 2
    # no plain identity on the topics: the identity numbers never appear in any message
    changelog = f"{env.worker_app_id}-reception-sessions-changelog"
    for topic in (RECEPTION_REQUESTS.name(env), RECEPTION_RESULTS.name(env), changelog):
        raw = b"".join(m.value() for m in topic_messages(env, topic) if m.value())
        assert raw, topic
        plain = [
            v.encode()
            for i in range(CROWD)
            for v in (
                citizen(i)["id_number"],
                "84" + citizen(i)["phone"][1:],
                citizen(i)["full_name"],
            )
        ]
        assert not [p for p in plain if p in raw], topic

    # a booked citizen cannot take a second place in the same session
    winner = next(i for i, (status, _) in enumerate(answers) if status == 201)
    status, body = api.book(sid, winner)
    assert (status, body["code"]) == (409, "already_booked")

    # a worker restart (killed) changes no outcome: the same requests get the same answers
    procs["worker"].kill()
    procs["gateway"].stop()  # and a fresh gateway, which has no answer cached
    procs["worker"] = Proc("worker", env, procs["worker"].log_path.parent).start()
    procs["gateway"] = Proc("gateway", env, procs["gateway"].log_path.parent).start()
    wait_gateway(env, procs["gateway"])
    for i in (winner, winner + 1, 500, 999):  # (the new gateway has none of these cached)
        status, body = api.book(sid, i, key=f"crowd-{i}")
        first_status, first = answers[i]
        assert status == first_status
        if status == 201:
            assert body["booking_code"] == first["booking_code"]
        else:
            assert body["code"] == first["code"]
    assert api.taken(sid) == {"s1": PLACES}

    # a cancel returns the place: the next citizen gets it, the one after is refused
    code = answers[winner][1]["booking_code"]
    status, body = api.run(
        "POST",
        f"/sessions/{sid}/bookings/{code}/cancel",
        {"id_number": citizen(winner)["id_number"]},
    )
    assert (status, body["status"]) == (200, "cancelled"), body
    assert api.taken(sid) == {"s1": PLACES - 1}
    # a refused request sent again is still refused (its answer is remembered), place or not
    replayed = {winner, winner + 1, 500, 999}
    loser = next(i for i in reversed(range(CROWD)) if answers[i][0] == 409 and i not in replayed)
    status, body = api.book(sid, loser, key=f"crowd-{loser}")
    assert (status, body["code"]) == (409, "slot_full")
    assert api.book(sid, CROWD + 1)[0] == 201
    assert api.book(sid, CROWD + 2)[1]["code"] == "slot_full"
    assert api.taken(sid) == {"s1": PLACES}


def test_office_sees_the_slot_list_and_citizens_move_their_booking(
    booking: tuple[Settings, dict[str, Proc]],
) -> None:
    env, _ = booking
    api = Api(env)
    sid = api.publish(
        [
            {"slot_id": "s1", "start": "08:00", "end": "09:00", "capacity": 2},
            {"slot_id": "s2", "start": "09:00", "end": "10:00", "capacity": 1},
        ]
    )
    status, first = api.book(sid, 1)
    assert status == 201, first
    code = first["booking_code"]
    # someone else cannot cancel it, and the sender token of the citizen can move it
    status, body = api.run(
        "POST", f"/sessions/{sid}/bookings/{code}/cancel", {"id_number": citizen(2)["id_number"]}
    )
    assert (status, body["code"]) == (403, "not_your_booking")
    pseudonym = load_privacy(env).pseudonym(citizen(1)["id_number"])
    token = {"Authorization": "Bearer " + mint_token(env, role="sender", pseudonym=pseudonym)}
    status, body = api.run(
        "POST", f"/sessions/{sid}/bookings/{code}/move", {"slot_id": "s2"}, headers=token
    )
    assert (status, body["slot_id"], body["booking_code"]) == (200, "s2", code), body
    assert api.taken(sid) == {"s1": 0, "s2": 1}
    assert api.book(sid, 3, slot="s2")[1]["code"] == "slot_full"

    # the office list opens the identity; a citizen's token may not read it
    status, body = api.run("GET", f"/sessions/{sid}/slots/s2/bookings", headers=token)
    assert (status, body["code"]) == (403, "role_not_allowed")
    status, body = api.run("GET", f"/sessions/{sid}/slots/s2/bookings", headers=api.office)
    assert status == 200, body
    [row] = body["bookings"]
    phone = "+84" + citizen(1)["phone"][1:]  # stored as validated: E.164
    assert row["citizen"] == {**citizen(1), "phone": phone} and row["booking_code"] == code
    # check-in waits for the session's day
    status, body = api.run("POST", f"/sessions/{sid}/bookings/{code}/check-in", headers=api.office)
    assert (status, body["code"]) == (409, "session_not_started")

    # the warehouse has the figures per session and slot (no identity)
    db = env.clickhouse_database

    def figures() -> list[tuple[Any, ...]]:
        return query(
            env,
            f"SELECT slot_id, bookings, cancellations, attended, no_shows, moves "
            f"FROM {db}.reception_slot_figures WHERE session_id = '{sid}' ORDER BY slot_id",
        )

    wait_for(lambda: figures() == [("s2", 1, 0, 0, 0, 1)], 30, "the reception figures")
