"""Online booking of citizen reception: the rules of one session (processors/reception.py)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from processors import reception as r
from processors.calendar import WorkingCalendar

CAL = WorkingCalendar()
WINDOW = r.Window(opens_before_s=14 * 86400, closes_before_s=86400)
DAY = "2026-03-10"  # a Tuesday
SESSION = "6f1d1c0e-3b1a-4c8e-9d57-0a4f2b7c9e11"
START = r.local_ms(DAY, "08:00")
OPEN_NOW = START - 3 * 86400 * 1000  # three days before: booking is open
SEALED = {"key_id": "k", "nonce": "bm9uY2U=", "ciphertext": "Y3Q="}


def req(op: str, rid: str | None = None, at: int = OPEN_NOW, **kw: Any) -> dict[str, Any]:
    return {
        "request_id": rid or str(uuid.uuid4()),
        "session_id": SESSION,
        "op": op,
        "at": at,
        "actor": "test",
        **kw,
    }


def spec(day: str = DAY, slots: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "date": day,
        "leader": "Phó Chủ tịch UBND Thành phố",
        "topics": ["đất đai", "xây dựng"],
        "slots": slots
        if slots is not None
        else [
            {"slot_id": "a", "start": "08:00", "end": "09:00", "capacity": 2},
            {"slot_id": "b", "start": "09:00", "end": "10:00", "capacity": 1},
        ],
    }


def published(slots: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    out = r.publish(None, req("publish", session=spec(slots=slots)), CAL, WINDOW)
    assert out.result["accepted"], out.result
    assert out.state is not None
    return out.state


def book(state: dict[str, Any], who: str, slot: str = "a", **kw: Any) -> r.Outcome:
    return r.apply(state, req("book", slot_id=slot, pseudonym=who, identity=SEALED, **kw))


def booked(state: dict[str, Any], who: str, slot: str = "a") -> tuple[dict[str, Any], str]:
    out = book(state, who, slot)
    assert out.result["accepted"], out.result
    assert out.state is not None
    return out.state, out.result["booking_code"]


# --- publishing ---------------------------------------------------------------------------------
def test_session_is_published_with_its_booking_window() -> None:
    state = published()
    assert state["opens_at"] == START - 14 * 86400 * 1000
    assert state["closes_at"] == START - 86400 * 1000
    view = r.session_view(state)
    assert [(s["slot_id"], s["capacity"], s["taken"]) for s in view["slots"]] == [
        ("a", 2, 0),
        ("b", 1, 0),
    ]


def test_session_on_a_saturday_is_refused() -> None:
    out = r.publish(None, req("publish", session=spec(day="2026-03-14")), CAL, WINDOW)
    assert out.result["code"] == "not_a_working_day" and out.state is None


def test_session_on_tet_is_refused() -> None:
    out = r.publish(None, req("publish", session=spec(day="2026-02-17")), CAL, WINDOW)
    assert out.result["code"] == "not_a_working_day"


@pytest.mark.parametrize(
    ("start", "end"), [("07:00", "08:30"), ("11:30", "13:30"), ("16:30", "17:30")]
)
def test_slot_outside_office_hours_is_refused(start: str, end: str) -> None:
    slots = [{"slot_id": "a", "start": start, "end": end, "capacity": 3}]
    out = r.publish(None, req("publish", session=spec(slots=slots)), CAL, WINDOW)
    assert out.result["code"] == "slot_outside_office_hours"


@pytest.mark.parametrize(
    "slots",
    [
        [],
        [{"slot_id": "a", "start": "09:00", "end": "08:00", "capacity": 3}],
        [{"slot_id": "a", "start": "08:00", "end": "09:00", "capacity": 0}],
        [{"slot_id": "a", "start": "08:00", "end": "09:00", "capacity": r.MAX_CAPACITY + 1}],
        [
            {"slot_id": "a", "start": "08:00", "end": "09:00", "capacity": 3},
            {"slot_id": "a", "start": "09:00", "end": "10:00", "capacity": 3},
        ],
    ],
)
def test_malformed_session_is_refused(slots: list[dict[str, Any]]) -> None:
    out = r.publish(None, req("publish", session=spec(slots=slots)), CAL, WINDOW)
    assert out.result["code"] == "invalid_session"


def test_publishing_twice_is_refused_but_a_redelivery_answers_the_same() -> None:
    first = req("publish", session=spec())
    out = r.publish(None, first, CAL, WINDOW)
    again = r.publish(out.state, first, CAL, WINDOW)
    assert again.result == out.result and not again.changed
    other = r.publish(out.state, req("publish", session=spec()), CAL, WINDOW)
    assert other.result["code"] == "session_exists" and not other.changed


def test_window_must_open_before_it_closes() -> None:
    with pytest.raises(ValueError):
        r.Window(opens_before_s=3600, closes_before_s=7200)


# --- booking ------------------------------------------------------------------------------------
def test_citizen_books_a_place_and_gets_a_code() -> None:
    out = book(published(), "p1")
    assert out.result["accepted"] and out.result["status"] == "booked"
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", out.result["booking_code"])
    assert out.bookings[0]["status"] == "booked" and "identity" not in out.bookings[0]
    assert out.state is not None and r.taken(out.state) == {"a": 1, "b": 0}


def test_booking_code_is_derived_from_the_request_id() -> None:
    assert r.booking_code("x") == r.booking_code("x") != r.booking_code("y")
    assert r.normalise_code(r.booking_code("x").lower().replace("-", " ")) == r.booking_code("x")


def test_redelivered_booking_gives_the_same_code_and_changes_nothing() -> None:
    state = published()
    rq = req("book", slot_id="a", pseudonym="p1", identity=SEALED)
    first = r.apply(state, rq)
    assert first.state is not None
    again = r.apply(first.state, rq)
    assert again.result == first.result and not again.changed
    assert again.state is first.state and r.taken(first.state)["a"] == 1


def test_full_slot_refuses_the_next_citizen() -> None:
    state, _ = booked(published(), "p1", "b")
    out = book(state, "p2", "b")
    assert out.result["code"] == "slot_full" and not out.changed


def test_same_citizen_cannot_hold_two_places_in_a_session() -> None:
    state, _ = booked(published(), "p1", "a")
    assert book(state, "p1", "a").result["code"] == "already_booked"
    assert book(state, "p1", "b").result["code"] == "already_booked"


def test_booking_before_the_window_opens_is_refused() -> None:
    out = book(published(), "p1", at=START - 15 * 86400 * 1000)
    assert out.result["code"] == "booking_not_open"


def test_booking_after_the_window_closes_is_refused() -> None:
    out = book(published(), "p1", at=START - 3600 * 1000)
    assert out.result["code"] == "booking_closed"


def test_unknown_session_and_slot_are_refused() -> None:
    assert r.apply(None, req("book", slot_id="a", pseudonym="p")).result["code"] == (
        "unknown_session"
    )
    assert book(published(), "p1", "zz").result["code"] == "unknown_slot"


# --- cancel and move ----------------------------------------------------------------------------
def test_cancel_returns_the_place_to_the_pool() -> None:
    state, code = booked(published(), "p1", "b")
    out = r.apply(state, req("cancel", booking_code=code, pseudonym="p1"))
    assert out.result["accepted"] and out.result["status"] == "cancelled"
    assert out.state is not None and r.taken(out.state)["b"] == 0
    assert book(out.state, "p2", "b").result["accepted"]
    assert book(out.state, "p1", "b").result["accepted"]  # and the citizen may book again


def test_only_the_citizen_who_booked_can_cancel() -> None:
    state, code = booked(published(), "p1")
    out = r.apply(state, req("cancel", booking_code=code, pseudonym="p2"))
    assert out.result["code"] == "not_your_booking"


def test_cancelled_booking_cannot_be_cancelled_again() -> None:
    state, code = booked(published(), "p1")
    after = r.apply(state, req("cancel", booking_code=code, pseudonym="p1")).state
    assert after is not None
    again = r.apply(after, req("cancel", booking_code=code, pseudonym="p1"))
    assert again.result["code"] == "booking_not_active"


def test_cancel_after_the_slot_began_is_refused() -> None:
    state, code = booked(published(), "p1")
    out = r.apply(state, req("cancel", booking_code=code, pseudonym="p1", at=START + 60_000))
    assert out.result["code"] == "session_started"


def test_move_keeps_the_code_and_frees_the_old_place() -> None:
    state, code = booked(published(), "p1", "a")
    out = r.apply(state, req("move", booking_code=code, pseudonym="p1", slot_id="b"))
    assert out.result["accepted"] and out.result["booking_code"] == code
    assert out.state is not None and r.taken(out.state) == {"a": 0, "b": 1}
    assert out.bookings[0]["moves"] == 1


def test_move_to_a_full_slot_or_the_same_slot_is_refused() -> None:
    state, code = booked(published(), "p1", "a")
    state, _ = booked(state, "p2", "b")
    move = req("move", booking_code=code, pseudonym="p1", slot_id="b")
    assert r.apply(state, move).result["code"] == "slot_full"
    same = req("move", booking_code=code, pseudonym="p1", slot_id="a")
    assert r.apply(state, same).result["code"] == "same_slot"


def test_unknown_booking_is_refused() -> None:
    out = r.apply(published(), req("cancel", booking_code="ZZZZ-ZZZZ", pseudonym="p1"))
    assert out.result["code"] == "unknown_booking"


# --- on the day ---------------------------------------------------------------------------------
def test_office_checks_a_citizen_in_on_the_day() -> None:
    state, code = booked(published(), "p1")
    early = r.apply(state, req("check_in", booking_code=code, at=START - 86400 * 1000))
    assert early.result["code"] == "session_not_started"
    out = r.apply(state, req("check_in", booking_code=code, at=START - 30 * 60_000))
    assert out.result["accepted"] and out.result["status"] == "checked_in"
    assert out.state is not None
    twice = r.apply(out.state, req("no_show", booking_code=code, at=START + 3600_000))
    assert twice.result["code"] == "booking_not_active"


def test_no_show_only_once_the_slot_began() -> None:
    state, code = booked(published(), "p1")
    assert (
        r.apply(state, req("no_show", booking_code=code, at=START - 60_000)).result["code"]
        == "session_not_started"
    )
    out = r.apply(state, req("no_show", booking_code=code, at=START + 60_000))
    assert out.result["status"] == "no_show"
    assert out.state is not None and r.taken(out.state)["a"] == 1  # the place was used up


def test_office_list_shows_sealed_identity_and_subject_per_slot() -> None:
    state, code = booked(published(), "p1", "a")
    state, _ = booked(state, "p2", "b")
    out = r.apply(state, req("list", slot_id="a"))
    assert [(b["code"], b["identity"]) for b in out.result["bookings"]] == [(code, SEALED)]
    assert not out.changed
    view = r.apply(state, req("view")).result
    assert view["bookings"] == [] and view["session"]["slots"][0]["taken"] == 1


# --- whatever the order of requests -------------------------------------------------------------
OPS = st.one_of(
    st.tuples(st.just("book"), st.integers(0, 7), st.sampled_from(["a", "b", "c"])),
    st.tuples(st.just("cancel"), st.integers(0, 7), st.just("")),
    st.tuples(st.just("move"), st.integers(0, 7), st.sampled_from(["a", "b", "c"])),
    st.tuples(st.just("again"), st.integers(0, 1000), st.just("")),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(OPS, max_size=60), st.integers(1, 3))
def test_capacity_and_one_place_per_citizen_hold_whatever_the_requests(
    ops: list[tuple[str, int, str]], cap: int
) -> None:
    slots = [
        {"slot_id": s, "start": f"0{8 + i}:00", "end": f"0{8 + i}:30", "capacity": cap}
        for i, s in enumerate("abc")
    ]
    state = published(slots)
    codes: dict[int, str] = {}
    sent: list[dict[str, Any]] = []
    answered: dict[str, dict[str, Any]] = {}
    for op, who, slot in ops:
        if op == "again":
            if not sent:
                continue
            rq = sent[who % len(sent)]
        elif op == "book":
            rq = req("book", slot_id=slot, pseudonym=f"p{who}", identity=SEALED)
        else:
            rq = req(
                op,
                booking_code=codes.get(who, "NONE-NONE"),
                pseudonym=f"p{who}",
                slot_id=slot or None,
            )
        out = r.apply(state, rq)
        assert out.state is not None
        rid = rq["request_id"]
        if out.result["accepted"] and rid in answered:  # a redelivery answers the same
            assert out.result == answered[rid]
        if out.result["accepted"]:
            answered[rid] = out.result
            if op == "book":
                codes[who] = out.result["booking_code"]
        else:
            assert out.state is state and not out.changed
        state = out.state
        sent.append(rq)
        held = r.taken(state)
        assert all(held[s] <= cap for s in held)
        holders = [b["pseudonym"] for b in state["bookings"].values() if b["status"] in r.HOLDING]
        assert len(holders) == len(set(holders))
        # the places held are exactly the bookings not cancelled
        assert sum(held.values()) == len(holders)
