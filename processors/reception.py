"""Online booking of in-person citizen reception (tiếp công dân): sessions, slots, bookings.

The city's citizen-reception office publishes a *session* (a working day, the leader who
receives, the topics, time slots with a capacity each). Citizens book one place in a slot, then
may cancel it (the place returns to the pool) or move it to another slot of the same session. On
the day the office checks people in or marks them as no-shows.

Everything about one session is decided here, on the session's state alone, so that one writer
per session (the Kafka partition owning the session id, streams/reception.py) makes the rules
hold whatever the concurrency:

* a slot never holds more places than its capacity;
* a citizen (by sender pseudonym) holds at most one place per session;
* a cancelled place is free again at once.

A request is applied at most once: an accepted request's result is kept in the session state
(``applied``), so a redelivery answers the same result — the same booking code included — and
changes nothing. Refusals change nothing; the stream keeps their results beside the state.

Every refusal is a stable code (``REFUSALS``); gateway/errors.py gives each its HTTP status and
its Vietnamese and English message. Instants are milliseconds since the epoch (UTC); a session's
date and slot times are Hanoi local time. No personal data is read here: the identity travels
sealed (pakn.privacy) and is stored as given; the citizen is known by pseudonym only.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from processors.calendar import TZ, WorkingCalendar

# --- vocabulary -----------------------------------------------------------------------------------
PUBLISH, VIEW, LIST = "publish", "view", "list"
BOOK, CANCEL, MOVE, CHECK_IN, NO_SHOW = "book", "cancel", "move", "check_in", "no_show"
OPS = (PUBLISH, VIEW, LIST, BOOK, CANCEL, MOVE, CHECK_IN, NO_SHOW)
READ_OPS = frozenset({VIEW, LIST})

BOOKED, CANCELLED, CHECKED_IN, NO_SHOWN = "booked", "cancelled", "checked_in", "no_show"
# A booking that holds its place (and counts as the citizen's one booking of the session).
HOLDING = frozenset({BOOKED, CHECKED_IN, NO_SHOWN})

REFUSALS = (
    "unknown_session",
    "session_exists",
    "invalid_session",
    "not_a_working_day",
    "slot_outside_office_hours",
    "booking_not_open",
    "booking_closed",
    "unknown_slot",
    "slot_full",
    "already_booked",
    "unknown_booking",
    "not_your_booking",
    "booking_not_active",
    "same_slot",
    "session_started",
    "session_not_started",
    "unknown_op",
)

MAX_SLOTS = 48
MAX_CAPACITY = 500  # one session's state stays a few hundred kB at most (one table value)

# Booking codes: 8 characters of an alphabet without look-alikes (no 0/O, 1/I), shown XXXX-XXXX.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8


@dataclass(frozen=True)
class Window:
    """Booking opens ``opens_before_s`` and closes ``closes_before_s`` before the session's first
    slot starts (settings ``PAKN_RECEPTION_BOOKING_OPENS_BEFORE_S`` / ``..._CLOSES_BEFORE_S``)."""

    opens_before_s: int
    closes_before_s: int

    def __post_init__(self) -> None:
        if self.closes_before_s < 0 or self.opens_before_s <= self.closes_before_s:
            raise ValueError("booking must open before it closes, and close before the session")


@dataclass(frozen=True)
class Outcome:
    """The session's state after a request, whether it changed, the answer to the caller, and the
    bookings whose snapshot changed (for the warehouse)."""

    state: dict[str, Any] | None
    changed: bool
    result: dict[str, Any]
    bookings: tuple[dict[str, Any], ...] = ()


# --- booking codes --------------------------------------------------------------------------------
def booking_code(request_id: str, attempt: int = 0) -> str:
    """Short, unambiguous and derived from the request id: a redelivery gives the same code."""
    digest = hashlib.sha256(f"reception/{request_id}/{attempt}".encode()).digest()
    n = int.from_bytes(digest[:5], "big")  # 40 bits = 8 characters of 5 bits
    chars = [CODE_ALPHABET[(n >> (5 * i)) & 31] for i in reversed(range(CODE_LENGTH))]
    return "".join(chars[:4]) + "-" + "".join(chars[4:])


def normalise_code(text: str) -> str:
    """What a citizen types (lower case, spaces, with or without the dash) -> the stored form."""
    raw = "".join(text.split()).replace("-", "").upper()
    return raw[:4] + "-" + raw[4:] if len(raw) == CODE_LENGTH else raw


def _new_code(state: Mapping[str, Any], request_id: str) -> str:
    attempt = 0
    while (code := booking_code(request_id, attempt)) in state["bookings"]:
        attempt += 1  # a collision within one session: the next derived code (still stable)
    return code


# --- times ----------------------------------------------------------------------------------------
def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def local_ms(day: str, hhmm: str) -> int:
    """Hanoi local ``day`` at ``hhmm`` as ms since the epoch."""
    d = date.fromisoformat(day)
    mins = _minutes(hhmm)
    t = datetime(d.year, d.month, d.day, mins // 60, mins % 60, tzinfo=TZ)
    return int(t.timestamp() * 1000)


def session_start_ms(state: Mapping[str, Any]) -> int:
    return min(local_ms(state["date"], s["start"]) for s in state["slots"].values())


def _local_day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, TZ).date().isoformat()


# --- results --------------------------------------------------------------------------------------
def result(
    request: Mapping[str, Any],
    code: str = "ok",
    *,
    booking: Mapping[str, Any] | None = None,
    version: int = 0,
    session: dict[str, Any] | None = None,
    bookings: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The answer to a request (schemas ReceptionResult)."""
    return {
        "request_id": str(request["request_id"]),
        "session_id": str(request["session_id"]),
        "op": request["op"],
        "accepted": code == "ok",
        "code": code,
        "booking_code": booking["code"] if booking else request.get("booking_code"),
        "slot_id": booking["slot_id"] if booking else request.get("slot_id"),
        "status": booking["status"] if booking else None,
        "version": version,
        "session": session,
        "bookings": bookings or [],
    }


def _refuse(state: dict[str, Any] | None, request: Mapping[str, Any], code: str) -> Outcome:
    version = state["version"] if state else 0
    return Outcome(state, False, result(request, code, version=version))


def taken(state: Mapping[str, Any]) -> dict[str, int]:
    """Places held per slot (cancelled bookings hold none)."""
    out = dict.fromkeys(state["slots"], 0)
    for b in state["bookings"].values():
        if b["status"] in HOLDING:
            out[b["slot_id"]] += 1
    return out


def session_view(state: Mapping[str, Any]) -> dict[str, Any]:
    """What anyone may see of a session: no identities, places left per slot."""
    held = taken(state)
    return {
        "date": state["date"],
        "leader": state["leader"],
        "topics": list(state["topics"]),
        "opens_at": state["opens_at"],
        "closes_at": state["closes_at"],
        "slots": [
            {
                "slot_id": sid,
                "start": s["start"],
                "end": s["end"],
                "capacity": s["capacity"],
                "taken": held[sid],
            }
            for sid, s in state["slots"].items()
        ],
    }


def booking_entry(b: Mapping[str, Any]) -> dict[str, Any]:
    """One line of the office's slot list (identity still sealed: the gateway opens it)."""
    return {
        "code": b["code"],
        "slot_id": b["slot_id"],
        "status": b["status"],
        "subject": b["subject"],
        "identity": b["identity"],
        "updated_at": b["updated_at"],
    }


def booking_snapshot(state: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """A booking's figures for the warehouse (schemas ReceptionBooking): no identity, no subject."""
    return {
        "session_id": state["session_id"],
        "session_date": state["date"],
        "booking_code": b["code"],
        "slot_id": b["slot_id"],
        "status": b["status"],
        "version": b["version"],
        "moves": b["moves"],
        "booked_at": b["booked_at"],
        "updated_at": b["updated_at"],
    }


# --- publishing a session -------------------------------------------------------------------------
def check_session(spec: Mapping[str, Any], calendar: WorkingCalendar) -> str | None:
    """None when the session can be published, else the refusal code."""
    slots = spec.get("slots") or []
    ids = [s["slot_id"] for s in slots]
    try:
        day = date.fromisoformat(spec["date"])
        bounds = [(_minutes(s["start"]), _minutes(s["end"])) for s in slots]
    except (KeyError, ValueError):
        return "invalid_session"
    if not slots or len(slots) > MAX_SLOTS or len(set(ids)) != len(ids):
        return "invalid_session"
    if any(not (1 <= s["capacity"] <= MAX_CAPACITY) for s in slots):
        return "invalid_session"
    if any(not (0 <= a < b <= 1440) for a, b in bounds):
        return "invalid_session"
    if not calendar.is_working_day(day):
        return "not_a_working_day"
    periods = calendar.periods_on(day)
    for a, b in bounds:  # a slot lies inside one office period (no slot over the lunch break)
        if not any(ps <= a and b <= pe for ps, pe in periods):
            return "slot_outside_office_hours"
    return None


def publish(
    state: dict[str, Any] | None,
    request: Mapping[str, Any],
    calendar: WorkingCalendar,
    window: Window,
) -> Outcome:
    """The office publishes a session: on a working day, slots inside office hours."""
    rid = str(request["request_id"])
    if state is not None:
        if rid in state["applied"]:
            return Outcome(state, False, state["applied"][rid])
        return _refuse(state, request, "session_exists")
    spec = request.get("session") or {}
    refusal = check_session(spec, calendar)
    if refusal:
        return _refuse(None, request, refusal)
    new: dict[str, Any] = {
        "session_id": str(request["session_id"]),
        "date": spec["date"],
        "leader": spec["leader"],
        "topics": list(spec.get("topics") or []),
        "slots": {
            s["slot_id"]: {"start": s["start"], "end": s["end"], "capacity": s["capacity"]}
            for s in sorted(spec["slots"], key=lambda s: (s["start"], s["slot_id"]))
        },
        "bookings": {},
        "applied": {},
        "published_by": request.get("actor"),
        "published_at": request["at"],
        "version": 1,
    }
    start = session_start_ms(new)
    new["opens_at"] = start - window.opens_before_s * 1000
    new["closes_at"] = start - window.closes_before_s * 1000
    res = result(request, version=1, session=session_view(new))
    new["applied"][rid] = res
    return Outcome(new, True, res)


# --- applying a citizen's or the office's request -------------------------------------------------
def apply(state: dict[str, Any] | None, request: Mapping[str, Any]) -> Outcome:
    """Book, cancel, move, check in, mark a no-show, or read (view / list) — never in place: the
    state returned is a new dict when it changed."""
    op = request["op"]
    if op not in OPS or op == PUBLISH:
        return _refuse(state, request, "unknown_op")
    if state is None:
        return _refuse(None, request, "unknown_session")
    rid = str(request["request_id"])
    if rid in state["applied"]:  # a redelivery: the same answer, nothing changes
        res = state["applied"][rid]
        code = res.get("booking_code")
        again = (booking_snapshot(state, state["bookings"][code]),) if code else ()
        return Outcome(state, False, res, again)
    if op == VIEW:
        return Outcome(
            state, False, result(request, version=state["version"], session=session_view(state))
        )
    if op == LIST:
        slot = request.get("slot_id")
        if slot is not None and slot not in state["slots"]:
            return _refuse(state, request, "unknown_slot")
        rows = [
            booking_entry(b)
            for b in state["bookings"].values()
            if slot is None or b["slot_id"] == slot
        ]
        rows.sort(key=lambda r: (state["slots"][r["slot_id"]]["start"], r["slot_id"], r["code"]))
        return Outcome(
            state,
            False,
            result(request, version=state["version"], session=session_view(state), bookings=rows),
        )
    return _MUTATIONS[op](state, request)


def _mutated(state: dict[str, Any], request: Mapping[str, Any], booking: dict[str, Any]) -> Outcome:
    """The new state with ``booking`` stored and the request remembered as applied."""
    version = state["version"] + 1
    res = result(
        request,
        booking=booking,
        version=version,
        session=session_view(
            {**state, "bookings": {**state["bookings"], booking["code"]: booking}}
        ),
    )
    new = {
        **state,
        "bookings": {**state["bookings"], booking["code"]: booking},
        "applied": {**state["applied"], str(request["request_id"]): res},
        "version": version,
    }
    return Outcome(new, True, res, (booking_snapshot(new, booking),))


def _holding_of(state: Mapping[str, Any], pseudonym: str) -> dict[str, Any] | None:
    for b in state["bookings"].values():
        if b["status"] in HOLDING and hmac.compare_digest(b["pseudonym"], pseudonym):
            return b
    return None


def _window_refusal(state: Mapping[str, Any], at: int) -> str | None:
    if at < state["opens_at"]:
        return "booking_not_open"
    if at >= state["closes_at"]:
        return "booking_closed"
    return None


def _book(state: dict[str, Any], request: Mapping[str, Any]) -> Outcome:
    at, slot, who = request["at"], request.get("slot_id"), request.get("pseudonym") or ""
    if not who or not request.get("identity"):
        return _refuse(state, request, "not_your_booking")  # the gateway always sends both
    refusal = _window_refusal(state, at)
    if refusal:
        return _refuse(state, request, refusal)
    if slot not in state["slots"]:
        return _refuse(state, request, "unknown_slot")
    if _holding_of(state, who) is not None:
        return _refuse(state, request, "already_booked")
    if taken(state)[slot] >= state["slots"][slot]["capacity"]:
        return _refuse(state, request, "slot_full")
    booking = {
        "code": _new_code(state, str(request["request_id"])),
        "slot_id": slot,
        "pseudonym": who,
        "identity": dict(request["identity"]),
        "subject": request.get("subject") or "",
        "status": BOOKED,
        "version": 1,
        "moves": 0,
        "booked_at": at,
        "updated_at": at,
    }
    return _mutated(state, request, booking)


def _own_booking(
    state: dict[str, Any], request: Mapping[str, Any]
) -> tuple[dict[str, Any] | None, str | None]:
    b = state["bookings"].get(request.get("booking_code") or "")
    if b is None:
        return None, "unknown_booking"
    who = request.get("pseudonym") or ""
    if not (who and hmac.compare_digest(who, b["pseudonym"])):
        return None, "not_your_booking"
    if b["status"] != BOOKED:
        return None, "booking_not_active"
    return b, None


def _cancel(state: dict[str, Any], request: Mapping[str, Any]) -> Outcome:
    b, refusal = _own_booking(state, request)
    if b is None:
        return _refuse(state, request, refusal or "unknown_booking")
    at = request["at"]
    if at >= local_ms(state["date"], state["slots"][b["slot_id"]]["start"]):
        return _refuse(state, request, "session_started")
    return _mutated(
        state,
        request,
        {**b, "status": CANCELLED, "version": b["version"] + 1, "updated_at": at},
    )


def _move(state: dict[str, Any], request: Mapping[str, Any]) -> Outcome:
    b, refusal = _own_booking(state, request)
    if b is None:
        return _refuse(state, request, refusal or "unknown_booking")
    at, slot = request["at"], request.get("slot_id")
    refusal = _window_refusal(state, at)
    if refusal:
        return _refuse(state, request, refusal)
    if slot not in state["slots"]:
        return _refuse(state, request, "unknown_slot")
    if slot == b["slot_id"]:
        return _refuse(state, request, "same_slot")
    if taken(state)[slot] >= state["slots"][slot]["capacity"]:
        return _refuse(state, request, "slot_full")
    moved = {
        **b,
        "slot_id": slot,
        "version": b["version"] + 1,
        "moves": b["moves"] + 1,
        "updated_at": at,
    }
    return _mutated(state, request, moved)


def _attend(status: str) -> Any:
    def mark(state: dict[str, Any], request: Mapping[str, Any]) -> Outcome:
        b = state["bookings"].get(request.get("booking_code") or "")
        if b is None:
            return _refuse(state, request, "unknown_booking")
        if b["status"] != BOOKED:
            return _refuse(state, request, "booking_not_active")
        at = request["at"]
        start = local_ms(state["date"], state["slots"][b["slot_id"]]["start"])
        # Check-in from the session's day on; a no-show only once the slot has begun.
        early = _local_day(at) < state["date"] if status == CHECKED_IN else at < start
        if early:
            return _refuse(state, request, "session_not_started")
        return _mutated(
            state, request, {**b, "status": status, "version": b["version"] + 1, "updated_at": at}
        )

    return mark


_MUTATIONS = {
    BOOK: _book,
    CANCEL: _cancel,
    MOVE: _move,
    CHECK_IN: _attend(CHECKED_IN),
    NO_SHOW: _attend(NO_SHOWN),
}
