"""Reading request parts the same way in every handler: a 4xx problem with a code, never a 500."""

from __future__ import annotations

import json
import uuid
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from gateway.http.errors import ApiError
from gateway.models import field_errors

M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], raw: Any, code: str = "validation_failed") -> M:
    """``model`` from ``raw``, or the problem ``code`` naming every wrong field.

    ``raw`` as JSON text (bytes / str) is validated strictly — a JSON `0` is not `false`, a
    number is not a date — so that what the OpenAPI document says is what the gateway accepts;
    a Python mapping (a form mapped by the gateway, a query string) is validated leniently."""
    try:
        if isinstance(raw, bytes | str):
            return model.model_validate_json(raw, strict=True)
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ApiError(code, field_errors(exc)) from exc


async def read_json(request: web.Request) -> Any:
    """The JSON body, or 400 invalid_json (413 comes from aiohttp's size limit)."""
    raw = await request.read()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError("invalid_json") from exc


async def json_body(request: web.Request, model: type[M], optional: bool = False) -> M:
    """A JSON body validated by ``model`` (415 for another content type). ``optional``: a request
    without a body is the model's defaults."""
    if optional and not request.can_read_body:
        return validated(model, {})
    if request.content_type != "application/json":
        raise ApiError("unsupported_media_type")
    await read_json(request)  # 400 invalid_json first
    return validated(model, await request.read())


def case_id_of(request: web.Request) -> str:
    """The `{case_id}` of the path, or 404 when it is not a UUID."""
    try:
        return str(uuid.UUID(request.match_info["case_id"]))
    except ValueError as exc:
        raise ApiError("not_found") from exc
