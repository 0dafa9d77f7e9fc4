"""Who sees what of a sender (domain.md §3): the redaction rules, as pure functions.

* **Handling units** — a confidential sender is "confidential sender", nothing else (not even
  the pseudonym: a unit that knew a sender's name from an open case could link their
  confidential ones by it). A sender who is not confidential: name and contact (phone, email;
  an organisation's tax code), never the identity number.
* **Unit work streams** (``<prefix>unit.<code>``) — never the sealed identity (units read
  identities through the gateway, which checks the unit); no pseudonym of a confidential sender.
* **The public** never sees anything about the sender (gateway/public.py, gateway/open311.py).

The gateway (gateway/privacy_routes.py) and the worker (streams/app.py) call these.
"""

from __future__ import annotations

from typing import Any

CONFIDENTIAL_SENDER = {
    "vi": "Người gửi đề nghị bảo mật danh tính",
    "en": "Confidential sender",
}
ERASED_SENDER = {
    "vi": "Thông tin cá nhân của người gửi đã được xoá theo yêu cầu",
    "en": "The sender's personal data was erased on request",
}
# What a unit stream carries instead of the sealed identity (same Avro shape, nothing inside).
REDACTED_PII: dict[str, Any] = {"key_id": "", "nonce": b"", "ciphertext": b""}
# The personal fields of a sealed identity a handling unit may see (sender not confidential).
UNIT_VISIBLE = ("full_name", "phone", "email")
UNIT_VISIBLE_ORGANISATION = (*UNIT_VISIBLE, "tax_code")


def confidential_sender() -> dict[str, Any]:
    """A confidential sender as a unit sees them: that, and nothing else (not even the kind)."""
    return {"confidential": True, "display": CONFIDENTIAL_SENDER}


def sender_for_unit(kind: str, identity: dict[str, Any]) -> dict[str, Any]:
    """A sender who is not confidential, as the responsible unit's officers see them."""
    visible = UNIT_VISIBLE_ORGANISATION if kind == "organisation" else UNIT_VISIBLE
    return {
        "confidential": False,
        "kind": kind,
        **{f: identity.get(f) for f in visible},
    }


def erased_sender(kind: str) -> dict[str, Any]:
    return {"confidential": False, "kind": kind, "erased": True, "display": ERASED_SENDER}


def for_unit_stream(name: str, record: dict[str, Any]) -> dict[str, Any]:
    """The record as a unit's work stream carries it (the same record when nothing changes)."""
    if name == "CaseSubmitted":
        sender = {**record["sender"], "pii": REDACTED_PII}
        if sender["confidential"]:
            sender["pseudonym"] = ""
        return {**record, "sender": sender}
    if name == "CaseState":
        out = record
        if record.get("state_json") is not None:  # the worker's internal state: not for units
            out = {**out, "state_json": None}
        if record.get("confidential") and record.get("sender_pseudonym"):
            out = {**out, "sender_pseudonym": ""}
        return out
    return record
