"""Citizen-reception booking over HTTP: validate, seal, publish by session, answer the outcome.

Every request about a session goes to Kafka keyed by the session id; the worker owning that
partition decides (streams/reception.py, processors/reception.py) and answers on the reception
results topic. The caller gets the real outcome synchronously (request/reply,
gateway/stores/replies.py, as for case commands): 200/201, or the refusal's 4xx code — or 202
with a status URL when the answer takes longer than ``PAKN_GATEWAY_REPLY_TIMEOUT_S``.

* ``POST /v1/reception/sessions`` — the office publishes a session (``reception_publish``).
* ``GET /v1/reception/sessions/{session_id}`` — anyone: date, leader, topics, places left.
* ``POST /v1/reception/sessions/{session_id}/bookings`` — a citizen books, with their identity
  (validated and sealed as for feedback; a sender token, if sent, must be theirs).
* ``POST .../bookings/{code}/cancel`` and ``.../move`` — the citizen who booked (sender token or
  identity number in the body).
* ``GET .../slots/{slot_id}/bookings`` — the office's list of a slot: the citizens' identity is
  opened here, for the ``reception_office`` role only (``reception_list``).
* ``POST .../bookings/{code}/check-in`` and ``.../no-show`` — the office, on the day.
* ``GET /v1/reception/requests/{request_id}`` — the outcome of a request answered 202.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from gateway.http.auth import SENDER, Principal, principal_of, require
from gateway.http.errors import ERRORS, ApiError, FieldError, unavailable
from gateway.http.responses import json_response
from gateway.http.validation import json_body
from gateway.keys import PRIVACY, PUBLISHER, REPLIES, SENDER_KEY_STORE, SETTINGS
from gateway.live_rules import screen
from gateway.models import IdNumber, Phone, Strict
from gateway.publisher import Unavailable
from gateway.stores.replies import ask
from gateway.stores.sealing import sender_data_key
from pakn.privacy import Erased, Privacy, Sealed, SenderKey
from pakn.topics import RECEPTION_REQUESTS
from processors.reception import (
    BOOK,
    LIST,
    MAX_CAPACITY,
    MAX_SLOTS,
    MOVE,
    PUBLISH,
    VIEW,
    normalise_code,
)
from schemas.codec import get_codec

RECEPTION_NS = uuid.UUID("8f1c2b7e-4a3d-4e59-9b6a-2d7c5e1f0a93")
SLOT_ID = r"^[A-Za-z0-9_-]{1,32}$"
HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


# --- request bodies -------------------------------------------------------------------------------
class SlotIn(Strict):
    slot_id: str = Field(pattern=SLOT_ID, examples=["s0800"])
    start: str = Field(pattern=HHMM, examples=["08:00"], description="Local time HH:MM.")
    end: str = Field(pattern=HHMM, examples=["08:30"])
    capacity: int = Field(ge=1, le=MAX_CAPACITY)


class SessionIn(Strict):
    """A reception session: a working day, the leader receiving, topics, time slots."""

    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", examples=["2026-03-10"])
    leader: str = Field(min_length=3, max_length=200)
    topics: list[str] = Field(default_factory=list, max_length=20)
    slots: list[SlotIn] = Field(min_length=1, max_length=MAX_SLOTS)


class CitizenIn(Strict):
    full_name: str = Field(min_length=2, max_length=200)
    id_number: IdNumber = Field(description="Citizen identity number (CCCD), 12 digits.")
    phone: Phone


class BookIn(Strict):
    slot_id: str = Field(pattern=SLOT_ID)
    subject: str = Field(min_length=5, max_length=500, description="What the citizen comes about.")
    citizen: CitizenIn

    @model_validator(mode="after")
    def _decent(self) -> BookIn:
        if any(hit.action == "reject" for hit in screen(self.subject)):
            raise PydanticCustomError("offensive_wording", "offensive_wording")
        return self


class OwnerIn(Strict):
    """Who cancels or moves: the identity number, unless a sender token says it."""

    id_number: IdNumber | None = None
    slot_id: str | None = Field(None, pattern=SLOT_ID, description="move: the new slot.")


# --- path parts and identity ----------------------------------------------------------------------
def _session_id(request: web.Request) -> str:
    try:
        return str(uuid.UUID(request.match_info["session_id"]))
    except ValueError as exc:
        raise ApiError("unknown_session") from exc


def _aad(session_id: str) -> str:
    return f"reception/{session_id}"


def seal(
    privacy: Privacy, fields: dict[str, Any], session_id: str, data_key: SenderKey | None = None
) -> dict[str, str]:
    """Sealed with the citizen's own data key (docs/privacy.md), so erasing the citizen's
    personal data shreds their bookings' identities too."""
    s = privacy.seal(fields, _aad(session_id), data_key)
    return {
        "key_id": s.key_id,
        "nonce": base64.b64encode(s.nonce).decode(),
        "ciphertext": base64.b64encode(s.ciphertext).decode(),
    }


def _citizen(
    privacy: Privacy,
    sealed: dict[str, str],
    session_id: str,
    data_keys: Callable[[str], SenderKey | None],
) -> dict[str, Any]:
    try:
        return unseal(privacy, sealed, session_id, data_keys)
    except Erased:
        return {"erased": True}  # erased on the citizen's request (pakn privacy erase)


def unseal(
    privacy: Privacy,
    sealed: dict[str, str],
    session_id: str,
    data_keys: Callable[[str], SenderKey | None] | None = None,
) -> dict[str, Any]:
    s = Sealed(
        sealed["key_id"], base64.b64decode(sealed["nonce"]), base64.b64decode(sealed["ciphertext"])
    )
    return privacy.unseal(s, _aad(session_id), data_keys)


def _caller(request: web.Request) -> Principal | None:
    """The verified caller when a token is sent; citizens may also come without one."""
    if request.headers.get("Authorization") is None:
        return None
    return principal_of(request)


def _citizen_pseudonym(request: web.Request, id_number: str | None) -> str:
    """The citizen's pseudonym: from the sender token, else from the identity number (both given:
    they must agree)."""
    privacy = request.app[PRIVACY]
    who = _caller(request)
    if who is not None and who.role != SENDER:
        raise ApiError("role_not_allowed")
    given = privacy.pseudonym(id_number) if id_number else None
    token = who.pseudonym if who is not None else None
    if token and given and token != given:
        raise ApiError("identity_mismatch")
    pseudonym = token or given
    if not pseudonym:
        raise ApiError("validation_failed", [FieldError("id_number", "required")])
    return pseudonym


# --- request/reply --------------------------------------------------------------------------------
def request_id(session_id: str, op: str, idempotency_key: str | None) -> str:
    """A retry with the same Idempotency-Key is the same request (the worker answers it again)."""
    if idempotency_key:
        return str(uuid.uuid5(RECEPTION_NS, f"{session_id}/{op}/{idempotency_key}"))
    return str(uuid.uuid4())


def _record(request: web.Request, session_id: str, op: str, **fields: Any) -> dict[str, Any]:
    who = _caller(request)
    return {
        "request_id": request_id(session_id, op, request.headers.get("Idempotency-Key")),
        "session_id": session_id,
        "op": op,
        "at": int(datetime.now(UTC).timestamp() * 1000),
        "actor": who.subject if who else "citizen",
        "actor_role": who.role if who else None,
        "pseudonym": None,
        "identity": None,
        "subject": None,
        "slot_id": None,
        "booking_code": None,
        "session": None,
        **fields,
    }


async def _ask(request: web.Request, record: dict[str, Any]) -> dict[str, Any] | web.Response:
    """Publish the request keyed by its session and wait for the worker's answer."""
    settings = request.app[SETTINGS]
    rid = record["request_id"]
    try:
        out = await ask(
            request.app[REPLIES],
            request.app[PUBLISHER],
            RECEPTION_REQUESTS.name(settings),
            record["session_id"].encode(),
            get_codec().encode("ReceptionRequest", record),
            rid,
            settings.gateway_reply_timeout_s,
        )
    except Unavailable as exc:
        raise unavailable("kafka_unavailable") from exc
    if out is None:
        url = f"/v1/reception/requests/{rid}"
        return json_response(
            {"request_id": rid, "status_url": url}, status=202, headers={"Location": url}
        )
    return out


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def _public(result: dict[str, Any]) -> dict[str, Any]:
    """The answer's body without anything sealed (lists add the opened identities separately)."""
    body = {k: result[k] for k in ("request_id", "session_id", "op", "accepted", "code")}
    body |= {k: result[k] for k in ("booking_code", "slot_id", "status") if result.get(k)}
    session = result.get("session")
    if session:
        body["session"] = {
            **session,
            "opens_at": _iso(session["opens_at"]),
            "closes_at": _iso(session["closes_at"]),
        }
    return body


def answer(result: dict[str, Any], status: int = 200) -> web.Response:
    if result["accepted"]:
        return json_response(_public(result), status=status)
    code = result["code"] if result["code"] in ERRORS else "reception_refused"
    raise ApiError(code, extra={"refusal": _public(result)})


async def _reply(request: web.Request, record: dict[str, Any], status: int = 200) -> web.Response:
    out = await _ask(request, record)
    return out if isinstance(out, web.Response) else answer(out, status)


# --- handlers -------------------------------------------------------------------------------------
async def post_session(request: web.Request) -> web.Response:
    require(request, "reception_publish")
    body: SessionIn = await json_body(request, SessionIn, optional=True)
    key = request.headers.get("Idempotency-Key")
    session_id = str(uuid.uuid5(RECEPTION_NS, f"session/{key}") if key else uuid.uuid4())
    record = _record(request, session_id, PUBLISH, session=body.model_dump())
    return await _reply(request, record, status=201)


async def get_session(request: web.Request) -> web.Response:
    return await _reply(request, _record(request, _session_id(request), VIEW))


async def post_booking(request: web.Request) -> web.Response:
    session_id = _session_id(request)
    body: BookIn = await json_body(request, BookIn, optional=True)
    pseudonym = _citizen_pseudonym(request, body.citizen.id_number)
    data_key = await sender_data_key(request.app, pseudonym)  # durable before it seals anything
    identity = seal(request.app[PRIVACY], body.citizen.model_dump(), session_id, data_key)
    record = _record(
        request,
        session_id,
        BOOK,
        pseudonym=pseudonym,
        identity=identity,
        subject=body.subject,
        slot_id=body.slot_id,
    )
    return await _reply(request, record, status=201)


def _citizen_action(op: str) -> Any:
    async def handler(request: web.Request) -> web.Response:
        session_id = _session_id(request)
        body: OwnerIn = await json_body(request, OwnerIn, optional=True)
        if op == MOVE and body.slot_id is None:
            raise ApiError("validation_failed", [FieldError("slot_id", "required")])
        record = _record(
            request,
            session_id,
            op,
            pseudonym=_citizen_pseudonym(request, body.id_number),
            booking_code=normalise_code(request.match_info["code"]),
            slot_id=body.slot_id if op == MOVE else None,
        )
        return await _reply(request, record)

    return handler


def _office_action(op: str) -> Any:
    async def handler(request: web.Request) -> web.Response:
        require(request, "reception_attend")
        record = _record(
            request,
            _session_id(request),
            op,
            booking_code=normalise_code(request.match_info["code"]),
        )
        return await _reply(request, record)

    return handler


async def get_slot_bookings(request: web.Request) -> web.Response:
    """The office's list of one slot, with each citizen's identity opened (office role only)."""
    require(request, "reception_list")
    session_id = _session_id(request)
    slot = request.match_info["slot_id"]
    out = await _ask(request, _record(request, session_id, LIST, slot_id=slot))
    if isinstance(out, web.Response):
        return out
    if not out["accepted"]:
        return answer(out)
    privacy, keys = request.app[PRIVACY], request.app[SENDER_KEY_STORE].get
    body = _public(out)
    body["bookings"] = [
        {
            "booking_code": b["code"],
            "slot_id": b["slot_id"],
            "status": b["status"],
            "subject": b["subject"],
            "citizen": _citizen(privacy, b["identity"], session_id, keys),
            "updated_at": _iso(b["updated_at"]),
        }
        for b in out["bookings"]
    ]
    return json_response(body)


async def get_request(request: web.Request) -> web.Response:
    """The outcome of a reception request this gateway saw answered (after a 202); lists are not
    kept here (their identities are only ever opened in the answer itself)."""
    found = request.app[REPLIES].recent(request.match_info["request_id"])
    if found is None or "session_id" not in found or found["op"] == LIST:
        raise ApiError("not_found")
    return answer(found)
