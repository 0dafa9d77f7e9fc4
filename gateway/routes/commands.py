"""Agency and sender actions on a case: verify, publish the command, answer with the real outcome.

`POST /v1/cases/{case_id}/commands` → the command goes to Kafka; the worker applies it to the
authoritative state and answers on the results topic (gateway/stores/replies.py). The caller gets
200 with the new status, 403/404/409/422 with the refusal's code, or 202 with a status URL when the
answer takes longer than the bounded wait (`PAKN_GATEWAY_REPLY_TIMEOUT_S`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from gateway.http.auth import Principal, require
from gateway.http.errors import ERRORS, ApiError, FieldError, unavailable
from gateway.http.responses import json_response
from gateway.http.validation import case_id_of, json_body
from gateway.keys import MEDIA, PUBLISHER, REPLIES, SETTINGS
from gateway.models import Strict
from gateway.publisher import Unavailable
from gateway.stores.media import ALLOWED_TYPES, DOCUMENT_TYPES, stored_size
from gateway.stores.replies import ask
from pakn.topics import COMMANDS as COMMANDS_TOPIC
from processors.case import envelope, to_ms
from processors.workflow import COMMANDS
from schemas.codec import get_codec

COMMAND_NS = uuid.UUID("5b7d9a38-2f6e-4d7b-8c11-0f3e9a6b2d44")
PRODUCER = "gateway/0.1.0"


class EvidenceRef(Strict):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="As returned by POST /v1/media.")
    content_type: str = Field(description="image/jpeg, application/pdf, ...")
    filename: str | None = Field(None, max_length=255)


class CommandIn(Strict):
    """One action on a case; which fields matter depends on the command (docs/workflow.md)."""

    command: Literal[tuple(sorted(COMMANDS))]  # type: ignore[valid-type]
    level: Literal["urgent", "normal", "complex"] | None = None
    reason: str | None = Field(None, max_length=2000)
    legal_basis: str | None = Field(None, max_length=500)
    new_due_at: datetime | None = None
    target_unit: str | None = Field(None, max_length=32)
    assignee: str | None = Field(None, max_length=200)
    result_text: str | None = Field(None, max_length=8000)
    evidence: list[EvidenceRef] = Field(default_factory=list, max_length=20)
    rating: Literal["satisfied", "not_satisfied"] | None = None


async def _evidence(refs: list[EvidenceRef], request: web.Request) -> list[dict[str, Any]]:
    store = request.app[MEDIA]
    out = []
    for i, ref in enumerate(refs):
        size = await stored_size(store, ref.sha256)
        if size is None:
            raise ApiError("validation_failed", [FieldError(f"evidence.{i}", "unknown_media")])
        if ref.content_type not in ALLOWED_TYPES | DOCUMENT_TYPES:
            raise ApiError("unsupported_media_type")
        out.append(
            {
                "sha256": ref.sha256,
                "content_type": ref.content_type,
                "size": size,
                "filename": ref.filename,
            }
        )
    return out


def command_record(
    body: CommandIn, case_id: str, command_id: str, who: Principal, evidence: list[dict[str, Any]]
) -> dict[str, Any]:
    env = envelope(command_id, case_id, "case_command", to_ms(datetime.now(UTC)))
    env["producer"] = PRODUCER
    return {
        "envelope": env,
        "command": body.command,
        "actor": who.subject,
        "level": body.level,
        "reason": body.reason,
        "legal_basis": body.legal_basis,
        "new_due_at": to_ms(body.new_due_at) if body.new_due_at else None,
        "actor_role": who.role,
        "actor_unit": who.unit,
        "actor_pseudonym": who.pseudonym,
        "target_unit": body.target_unit,
        "assignee": body.assignee,
        "result_text": body.result_text,
        "evidence": evidence,
        "rating": body.rating,
    }


def new_command_id(case_id: str, idempotency_key: str | None) -> str:
    """A retry with the same Idempotency-Key is the same command (the worker dedups it)."""
    if idempotency_key:
        return str(uuid.uuid5(COMMAND_NS, f"{case_id}/{idempotency_key}"))
    return str(uuid.uuid4())


def answer(result: dict[str, Any], base_url: str) -> web.Response:
    case_id = str(result["envelope"]["case_id"])
    body = {
        "command_id": str(result["command_id"]),
        "case_id": case_id,
        "command": result["command"],
        "accepted": result["accepted"],
        "code": result["code"],
        "status": result["status"],
        "version": result["version"],
        "case_url": f"{base_url}/v1/cases/{case_id}",
    }
    if result["accepted"]:
        return json_response(body, status=200)
    code = result["code"] if result["code"] in ERRORS else "command_refused"
    return ApiError(code, extra={"refusal": body}).response()


async def post_command(request: web.Request) -> web.Response:
    case_id = case_id_of(request)
    body = await json_body(request, CommandIn)
    who = require(request, body.command)  # the role; the worker binds unit / sender to the case
    settings = request.app[SETTINGS]
    command_id = new_command_id(case_id, request.headers.get("Idempotency-Key"))
    evidence = await _evidence(body.evidence, request)
    record = command_record(body, case_id, command_id, who, evidence)
    try:
        result = await ask(
            request.app[REPLIES],
            request.app[PUBLISHER],
            COMMANDS_TOPIC.name(settings),
            case_id.encode(),
            get_codec().encode("CaseCommand", record),
            command_id,
            settings.gateway_reply_timeout_s,
        )
    except Unavailable as exc:
        raise unavailable("kafka_unavailable") from exc
    if result is None:
        return json_response(
            {"command_id": command_id, "status_url": f"/v1/commands/{command_id}"},
            status=202,
            headers={"Location": f"/v1/commands/{command_id}"},
        )
    return answer(result, settings.public_url)


async def get_command(request: web.Request) -> web.Response:
    """The outcome of a command this gateway saw answered (after a 202)."""
    result = request.app[REPLIES].recent(request.match_info["command_id"])
    if result is None or "command_id" not in result:  # none, or another kind of answer
        raise ApiError("not_found")
    return answer(result, request.app[SETTINGS].public_url)
