"""The handling unit's view of a case, and the operator's audited re-identification.

* ``GET /v1/agency/cases/{case_id}`` — officers and heads of the case's responsible unit
  (action ``read_case``). A confidential sender is shown as "confidential sender" and the sealed
  identity is not even opened; otherwise name and contact (processors/disclosure.py). Never the
  identity number, never the pseudonym.
* ``POST /v1/admin/cases/{case_id}/reidentify`` — the operator only (action ``reidentify``), with a
  ``justification``. The audit record (``privacy.audit``, then the warehouse's ``privacy_audit``)
  is written and acknowledged by Kafka **before** the identity is returned; an erased sender is
  410 ``identity_erased`` (audited too).

docs/privacy.md is the reader's version.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from gateway.http.auth import CaseView, Principal, require
from gateway.http.errors import ApiError, FieldError, unavailable
from gateway.http.responses import json_response
from gateway.http.validation import case_id_of, read_json
from gateway.keys import PUBLISHER, READER, SEALED, SENDER_KEY_STORE, SETTINGS
from gateway.publisher import Unavailable
from gateway.routes.public import iso, read, unit_ref
from gateway.stores.sealing import SealedReader, open_identity, sealed_sender
from pakn.privacy import Erased, audit_record
from pakn.sender_keys import SenderKeyStore
from pakn.settings import Settings
from pakn.topics import PRIVACY_AUDIT
from processors.disclosure import confidential_sender, erased_sender, sender_for_unit
from schemas.codec import get_codec

log = logging.getLogger("gateway.privacy")
MIN_JUSTIFICATION = 10
PRIVATE = {"Cache-Control": "private, no-store"}


def _json(body: Any, status: int = 200) -> web.Response:
    return json_response(body, status=status, headers=PRIVATE)


async def _case(request: web.Request, case_id: str) -> dict[str, Any]:
    found = await read(request.app[READER].agency_case(case_id))
    if found is None:
        raise ApiError("not_found")
    return found


async def _sender(request: web.Request, case_id: str) -> dict[str, Any]:
    sender = await read(sealed_sender(request.app, case_id))
    if sender is None:
        raise ApiError("identity_unavailable")
    return sender


async def get_agency_case(request: web.Request) -> web.Response:
    case_id = case_id_of(request)
    case = await _case(request, case_id)
    require(request, "read_case", CaseView(case["unit_code"] or None, case_id=case_id))
    if case["confidential"]:
        sender = confidential_sender()  # the sealed identity is not even read
    else:
        sealed = await _sender(request, case_id)
        try:
            identity = await open_identity(request.app, sealed, case_id)
            sender = sender_for_unit(sealed["kind"], identity)
        except Erased:
            sender = erased_sender(sealed["kind"])
    body = {
        "case_id": case["case_id"],
        "status": case["status"],
        "process": case["process"],
        "category": case["category"],
        "title": case["title"],
        "unit": unit_ref(case["unit_code"]),
        "commune_code": case["commune_code"] or None,
        "level": case["level"] or None,
        "submitted_at": iso(case["submitted_at"]),
        "updated_at": iso(case["updated_at"]),
        "deadlines": {
            "receive": iso(case["receive_due_at"]),
            "assign": iso(case["assign_due_at"]),
            "handle": iso(case["handle_due_at"]),
        },
        "version": case["version"],
        "sender": sender,
    }
    return _json(body)


async def _audit(request: web.Request, who: Principal, record: dict[str, Any]) -> None:
    value = get_codec().encode("PrivacyAudit", record)
    topic = PRIVACY_AUDIT.name(request.app[SETTINGS])
    key = (record["case_id"] or record["pseudonym"] or "").encode()
    try:
        await request.app[PUBLISHER].publish(topic, key, value)
    except Unavailable as exc:  # no audit record, no disclosure
        raise unavailable("kafka_unavailable") from exc
    log.warning(
        "privacy: %s",
        record["action"],
        extra={
            "audit_id": record["audit_id"],
            "subject": who.subject,
            "role": who.role,
            "case_id": record["case_id"],
            "outcome": record["outcome"],
        },
    )


async def post_reidentify(request: web.Request) -> web.Response:
    case_id = case_id_of(request)
    who = require(request, "reidentify")  # the role first: nobody else learns anything
    body = await read_json(request)
    text = body.get("justification") if isinstance(body, dict) else None
    if not isinstance(text, str) or len(text.strip()) < MIN_JUSTIFICATION:
        raise ApiError("validation_failed", [FieldError("justification", "justification_required")])
    case = await _case(request, case_id)
    sealed = await _sender(request, case_id)
    try:
        identity = await open_identity(request.app, sealed, case_id)
        outcome = "disclosed"
    except Erased:
        identity, outcome = None, "erased"
    record = audit_record(
        "reidentify",
        actor_subject=who.subject,
        actor_role=who.role,
        justification=text.strip(),
        outcome=outcome,
        case_id=case_id,
        pseudonym=case["sender_pseudonym"] or None,
    )
    await _audit(request, who, record)
    if identity is None:
        raise ApiError("identity_erased")
    return _json(
        {
            "case_id": case_id,
            "audit_id": record["audit_id"],
            "sender": {
                "kind": sealed["kind"],
                "confidential": sealed["confidential"],
                **{
                    f: identity.get(f)
                    for f in ("full_name", "id_number", "phone", "email", "tax_code")
                },
            },
        }
    )


def setup(app: web.Application, settings: Settings) -> None:
    """Sender keys and sealed identities, for the app's lifetime (routes: gateway/routes/)."""

    async def keys_and_reads(app: web.Application) -> Any:
        app[SENDER_KEY_STORE] = store = SenderKeyStore(settings).start()
        app[SEALED] = sealed = SealedReader(settings.kafka_bootstrap)
        yield
        sealed.close()
        store.close()

    app.cleanup_ctx.append(keys_and_reads)
