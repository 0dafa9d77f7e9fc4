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
from processors.calendar import calendar_for_unit
from processors.reception import PUBLISH, READ_OPS, Window, apply, publish
from streams.app import _decode, _each, app, codec, json_table, settings

log = logging.getLogger("worker.reception")

requests_topic = app.topic(RECEPTION_REQUESTS.name(settings), key_type=bytes, value_type=bytes)
results_topic = app.topic(RECEPTION_RESULTS.name(settings), key_type=bytes, value_type=bytes)
bookings_topic = app.topic(RECEPTION_BOOKINGS.name(settings), key_type=bytes, value_type=bytes)
window = Window(
    settings.reception_booking_opens_before_s, settings.reception_booking_closes_before_s
)

# Authoritative state of each session (slots, bookings, answers of accepted requests).
sessions = json_table("reception-sessions", "processors.reception session state by session id.")
# Answers of refused requests by request id (written in the partition of their session).
refusals = json_table(
    "reception-refusals", "ReceptionResult of each refused reception request, by request id."
)


async def _apply_request(event: faust.EventT) -> None:
    request = _decode(event, "ReceptionRequest")
    request["request_id"] = rid = str(request["request_id"])
    request["session_id"] = sid = str(request["session_id"])
    key = sid.encode()
    known = refusals.get(rid)
    if known is not None:  # a redelivered refusal: the same answer, whatever changed since
        await results_topic.send(key=key, value=codec.encode("ReceptionResult", known))
        return
    state = sessions.get(sid)
    if request["op"] == PUBLISH:
        out = publish(state, request, calendar_for_unit(None), window)
    else:
        out = apply(state, request)
    if out.changed:
        sessions[sid] = out.state  # a new dict: the changelog records it
    elif not out.result["accepted"] and request["op"] not in READ_OPS:
        refusals[rid] = out.result
    for b in out.bookings:
        await bookings_topic.send(
            key=f"{sid}/{b['booking_code']}".encode(), value=codec.encode("ReceptionBooking", b)
        )
    await results_topic.send(key=key, value=codec.encode("ReceptionResult", out.result))


@app.agent(requests_topic)
async def reception(stream: faust.StreamT[Any]) -> None:
    """One request at a time; a bad one is parked on the dead-letter topic, never fatal."""
    await _each(stream, _apply_request, lock=None)  # sessions only: no case lock
