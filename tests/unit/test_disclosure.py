"""What a handling unit and a unit stream may see of a sender (domain.md §3)."""

from __future__ import annotations

from processors.disclosure import (
    CONFIDENTIAL_SENDER,
    REDACTED_PII,
    confidential_sender,
    for_unit_stream,
    sender_for_unit,
)

IDENTITY = {
    "full_name": "Nguyễn Văn An",
    "id_number": "001203012345",
    "phone": "0912345678",
    "email": "an@example.vn",
    "tax_code": None,
}
PII = {"key_id": "sk.00", "nonce": b"n" * 12, "ciphertext": b"c" * 40}


def submitted(confidential: bool) -> dict:
    return {
        "envelope": {"case_id": "c"},
        "title": "Ổ gà",
        "sender": {
            "kind": "person",
            "confidential": confidential,
            "pseudonym": "a" * 64,
            "pii": PII,
        },
    }


def test_a_confidential_sender_is_only_confidential_sender() -> None:
    shown = confidential_sender()
    assert shown == {"confidential": True, "display": CONFIDENTIAL_SENDER}
    assert CONFIDENTIAL_SENDER["vi"] and CONFIDENTIAL_SENDER["en"] == "Confidential sender"


def test_an_open_sender_shows_name_and_contact_but_not_the_identity_number() -> None:
    shown = sender_for_unit("person", IDENTITY)
    assert shown["full_name"] == "Nguyễn Văn An" and shown["phone"] == "0912345678"
    assert shown["email"] == "an@example.vn"
    assert "id_number" not in shown and "tax_code" not in shown
    org = sender_for_unit("organisation", IDENTITY | {"tax_code": "0101234565"})
    assert org["tax_code"] == "0101234565" and "id_number" not in org


def test_unit_streams_never_carry_the_sealed_identity() -> None:
    for confidential in (True, False):
        out = for_unit_stream("CaseSubmitted", submitted(confidential))
        assert out["sender"]["pii"] == REDACTED_PII
        assert out["title"] == "Ổ gà"
    assert submitted(False)["sender"]["pii"] == PII  # the input is not changed


def test_unit_streams_carry_no_pseudonym_of_a_confidential_sender() -> None:
    assert for_unit_stream("CaseSubmitted", submitted(True))["sender"]["pseudonym"] == ""
    assert for_unit_stream("CaseSubmitted", submitted(False))["sender"]["pseudonym"] == "a" * 64
    state = {"case_id": "c", "confidential": True, "sender_pseudonym": "a" * 64}
    assert for_unit_stream("CaseState", state)["sender_pseudonym"] == ""
    open_state = {**state, "confidential": False}
    assert for_unit_stream("CaseState", open_state) is open_state
    other = {"envelope": {}}
    assert for_unit_stream("DeadlineSet", other) is other


def test_the_worker_finds_which_messages_carry_a_sender_from_the_header_alone() -> None:
    from schemas.codec import get_codec
    from tests.factories import submitted_record

    codec = get_codec()
    assert codec.type_of(codec.encode("CaseSubmitted", submitted_record())) == "CaseSubmitted"
    assert codec.type_of(b"\xc3\x01" + b"\0" * 8 + b"body") is None
    assert codec.type_of(b"") is None and codec.type_of(None) is None
