"""The gateway's part of reception booking: bodies, sealing, request ids
(gateway/routes/reception.py)."""

from __future__ import annotations

import uuid

import pytest
from cryptography.exceptions import InvalidTag
from pydantic import ValidationError

from gateway.routes.reception import BookIn, SessionIn, request_id, seal, unseal
from pakn.privacy import Privacy

PRIVACY = Privacy({"k1": b"k" * 32}, "k1", b"p" * 32)
SID = str(uuid.uuid4())
CITIZEN = {"full_name": "Trần Thị B", "id_number": "001203012345", "phone": "0912345678"}


def test_identity_is_sealed_to_its_session() -> None:
    sealed = seal(PRIVACY, CITIZEN, SID)
    assert CITIZEN["id_number"] not in str(sealed) and set(sealed) == {
        "key_id",
        "nonce",
        "ciphertext",
    }
    assert unseal(PRIVACY, sealed, SID) == CITIZEN
    with pytest.raises(InvalidTag):  # moved to another session, it does not open
        unseal(PRIVACY, sealed, str(uuid.uuid4()))


def test_a_retry_with_the_same_idempotency_key_is_the_same_request() -> None:
    assert request_id(SID, "book", "k") == request_id(SID, "book", "k")
    assert request_id(SID, "book", "k") != request_id(SID, "cancel", "k")
    assert request_id(SID, "book", None) != request_id(SID, "book", None)


def test_booking_body_validates_identity_as_feedback_does() -> None:
    body = BookIn.model_validate({"slot_id": "s1", "subject": "Tranh chấp đất", "citizen": CITIZEN})
    assert body.citizen.phone.startswith("+84")
    with pytest.raises(ValidationError) as info:
        BookIn.model_validate(
            {"slot_id": "s1", "subject": "Tranh chấp đất", "citizen": {**CITIZEN, "id_number": "1"}}
        )
    assert "citizen" in str(info.value)


def test_session_body_checks_times_and_capacity() -> None:
    slot = {"slot_id": "a", "start": "08:00", "end": "09:00", "capacity": 5}
    SessionIn.model_validate({"date": "2026-03-10", "leader": "Chủ tịch", "slots": [slot]})
    for bad in ({"start": "8:00"}, {"capacity": 0}, {"slot_id": "a b"}):
        with pytest.raises(ValidationError):
            SessionIn.model_validate(
                {"date": "2026-03-10", "leader": "Chủ tịch", "slots": [{**slot, **bad}]}
            )
