"""Citizens' submissions and officers' evidence: validate, store media, publish, answer 202."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from prometheus_client import Histogram

from gateway.http.auth import require
from gateway.http.errors import ApiError, unavailable
from gateway.http.responses import json_response
from gateway.http.validation import case_id_of, read_json, validated
from gateway.keys import ACCEPTED, MEDIA, READER, SETTINGS
from gateway.models import FieldFeedbackIn
from gateway.stores.media import ALLOWED_TYPES, DOCUMENT_TYPES, put_files
from gateway.submission import checked_media, publish_submission
from pakn.settings import Settings
from processors.catalogue import CATEGORIES

log = logging.getLogger("gateway")

PUBLISH_SECONDS = Histogram(
    "pakn_gateway_publish_seconds",
    "Time until Kafka confirmed a submission",
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


async def _read_multipart(
    request: web.Request,
    settings: Settings,
    need_submission: bool = True,
    allowed: frozenset[str] = ALLOWED_TYPES,
) -> tuple[Any, list[tuple[str, str | None, bytes]]]:
    """Fields: `submission` (JSON text, validated strictly) and up to N `media` files."""
    body: Any = None
    files: list[tuple[str, str | None, bytes]] = []
    try:
        reader = await request.multipart()
        async for part in reader:
            if part.name == "submission":
                body = await part.text()
                try:
                    json.loads(body)
                except ValueError as exc:
                    raise ApiError("invalid_json") from exc
            elif part.name == "media":
                if len(files) >= settings.gateway_max_media_files:
                    raise ApiError("too_many_files")
                declared = part.headers.get("Content-Type", "application/octet-stream")
                data = bytes(await part.read())
                files.append(
                    (checked_media(data, declared, settings, allowed), part.filename, data)
                )
    except (ValueError, AssertionError, HttpProcessingError) as exc:  # aiohttp's parse errors
        raise ApiError("invalid_multipart") from exc
    if (body is None and need_submission) or (not need_submission and not files):
        raise ApiError("invalid_multipart")
    return body, files


async def post_media(request: web.Request) -> web.Response:
    """Evidence and photos for commands: stored by content, answered with their references."""
    require(request, "upload_media")
    if request.content_type != "multipart/form-data":
        raise ApiError("unsupported_media_type")
    _, files = await _read_multipart(
        request,
        request.app[SETTINGS],
        need_submission=False,
        allowed=ALLOWED_TYPES | DOCUMENT_TYPES,
    )
    refs = await put_files(request.app[MEDIA], files)
    return json_response({"media": refs}, status=201)


async def post_feedback(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if request.content_type == "application/json":
        await read_json(request)  # 400 invalid_json first
        body, files = await request.read(), []
    elif request.content_type == "multipart/form-data":
        body, files = await _read_multipart(request, settings)
    else:
        raise ApiError("unsupported_media_type")
    sub = validated(FieldFeedbackIn, body)
    accepted = await publish_submission(
        request.app,
        sub,
        files,
        request.headers.get("Idempotency-Key"),
        observe=PUBLISH_SECONDS.observe,
    )
    case_id, now = accepted.case_id, accepted.submitted_at
    return json_response(
        {
            "case_id": case_id,
            "status": "submitted",
            "submitted_at": now.isoformat(),
            "tracking_url": f"{settings.public_url}/v1/cases/{case_id}",
        },
        status=202,
        headers={"Location": f"/v1/cases/{case_id}"},
    )


async def get_case(request: web.Request) -> web.Response:
    case_id = case_id_of(request)
    try:
        found = await request.app[READER].case(case_id)
    except Exception as exc:  # ClickHouse down or not migrated: a clear 503, not a 500
        log.warning("warehouse read failed", extra={"error": str(exc)[:300]})
        raise unavailable("warehouse_unavailable") from exc
    if found is None:
        found = _just_accepted(request, case_id)
    return json_response(found)


def _just_accepted(request: web.Request, case_id: str) -> dict[str, Any]:
    """A case this gateway accepted moments ago, not yet in the warehouse (read-your-write)."""
    accepted = request.app[ACCEPTED].get(case_id)
    if accepted is None:
        raise ApiError("not_found")
    return {
        "case_id": case_id,
        "status": "submitted",
        "process": accepted.process,
        "category": accepted.category,
        "title": accepted.title,
        "submitted_at": accepted.submitted_at.isoformat(),
        "receive_due_at": None,
        "updated_at": accepted.submitted_at.isoformat(),
        "version": 0,
    }


async def categories(_request: web.Request) -> web.Response:
    return json_response(
        [{"code": c.code, "name": {"vi": c.vi, "en": c.en}} for c in CATEGORIES.values()]
    )
