"""Citizen-reception booking on the worker: one writer per session (docs/reception.md).

Requests are keyed by session id, so every request about a session reaches the one worker that
owns its partition, one after the other: the capacity of a slot and the one-place-per-citizen
rule are checked against the authoritative state with no lock anywhere (processors/reception.py
decides). The agent is thin: decode -> decide -> store -> emit the answer (request/reply: the
gateway waits for it, gateway/replies.py) and the changed bookings' figures (warehouse).

At-least-once delivery, applied at most once: an accepted request's answer lives in the session
state itself (one table value, so state and memory of the request change together); refusals are
remembered in a second table by request id, so a redelivered refusal is answered the same even if
a place has freed since. Read requests (view, list) are answered from the state and remembered
nowhere.
"""

from __future__ import annotations

import logging
from typing import Any

import faust

from pakn.topics import RECEPTION_BOOKINGS, RECEPTION_REQUESTS, RECEPTION_RESULTS
from processors.reception import PUBLISH, READ_OPS, Window, apply, publish
from streams.runtime import Runtime

log = logging.getLogger("worker.reception")


def install(rt: Runtime) -> Any:
    settings = rt.settings
    results_topic = rt.topic(RECEPTION_RESULTS)
    bookings_topic = rt.topic(RECEPTION_BOOKINGS)
    window = Window(
        settings.reception_booking_opens_before_s, settings.reception_booking_closes_before_s
    )
    # Authoritative state of each session (slots, bookings, answers of accepted requests).
    sessions = rt.json_table(
        "reception-sessions", "processors.reception session state by session id."
    )
    # Answers of refused requests by request id (written in the partition of their session).
    refusals = rt.json_table(
        "reception-refusals", "ReceptionResult of each refused reception request, by request id."
    )

    async def apply_request(event: faust.EventT) -> None:
        request = rt.decode_one(event, RECEPTION_REQUESTS)
        request["request_id"] = rid = str(request["request_id"])
        request["session_id"] = sid = str(request["session_id"])
        key = sid.encode()
        known = refusals.get(rid)
        if known is not None:  # a redelivered refusal: the same answer, whatever changed since
            await rt.send(results_topic, key, "ReceptionResult", known)
            return
        state = sessions.get(sid)
        if request["op"] == PUBLISH:
            out = publish(state, request, rt.rules.calendar(None), window)
        else:
            out = apply(state, request)
        if out.changed:
            sessions[sid] = out.state  # a new dict: the changelog records it
        elif not out.result["accepted"] and request["op"] not in READ_OPS:
            refusals[rid] = out.result
        for b in out.bookings:
            await rt.send(
                bookings_topic, f"{sid}/{b['booking_code']}".encode(), "ReceptionBooking", b
            )
        await rt.send(results_topic, key, "ReceptionResult", out.result)

    @rt.app.agent(rt.topic(RECEPTION_REQUESTS), name="reception")
    async def reception(stream: faust.StreamT[Any]) -> None:
        """One request at a time; a bad one is parked on the dead-letter topic, never fatal."""
        await rt.each(stream, apply_request, lock=False)  # sessions only: no case lock

    reception.tables = (sessions, refusals)  # type: ignore[attr-defined]
    return reception
