"""A validated submission -> the CaseSubmitted event (identity sealed, sender pseudonymised)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from gateway.models import FieldFeedbackIn
from pakn.privacy import Privacy, SenderKey
from processors.case import derived_event_id, envelope, to_ms

CASES_NS = uuid.UUID("0d4f5f0e-8a53-4b8e-b3f4-6c1d2a7e9b21")
PRODUCER = "gateway/0.1.0"


def new_case_id(idempotency_key: str | None) -> str:
    """A client retry with the same Idempotency-Key names the same case (and event) again."""
    return str(uuid.uuid5(CASES_NS, idempotency_key) if idempotency_key else uuid.uuid4())


def sender_pseudonym(privacy: Privacy, sub: FieldFeedbackIn) -> str:
    """Organisations are matched by tax code, persons by identity number."""
    s = sub.sender
    return privacy.pseudonym(s.tax_code if s.kind == "organisation" and s.tax_code else s.id_number)


def submission_event(
    sub: FieldFeedbackIn,
    case_id: str,
    now: datetime,
    privacy: Privacy,
    media: list[dict[str, Any]],
    channel: str = "app",
    data_key: SenderKey | None = None,
    wording_hits: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``data_key``: the sender's data key (gateway/stores/sealing.py); without one the identity is
    sealed with the master key and cannot be shredded alone."""
    s = sub.sender
    pii = {
        "full_name": s.full_name,
        "id_number": s.id_number,
        "phone": s.phone,
        "email": s.email,
        "tax_code": s.tax_code,
    }
    env = envelope(derived_event_id(case_id, "submitted"), case_id, "case_submitted", to_ms(now))
    env["producer"] = PRODUCER
    loc = sub.location
    return {
        "envelope": env,
        "process": sub.process,
        "category": sub.category,
        "title": sub.title,
        "description": sub.description,
        "location": {
            "lat": loc.lat,
            "lon": loc.lon,
            "address": loc.address,
            "commune_code": loc.commune_code,
        },
        "observed_at": to_ms(sub.observed_at) if sub.observed_at else None,
        "media": media,
        "sender": {
            "kind": s.kind,
            "confidential": s.confidential,
            "pseudonym": sender_pseudonym(privacy, sub),
            "pii": privacy.seal(pii, case_id, data_key).as_record(),
        },
        "channel": channel,
        "unit_code": sub.unit_code,
        "wording_hits": wording_hits,
    }
