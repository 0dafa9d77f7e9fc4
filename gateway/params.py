"""Reading request parts the same way in every handler: a 404 or 400 with a code, never 500."""

from __future__ import annotations

import json
import uuid
from typing import Any

from aiohttp import web

from gateway.errors import ApiError


def case_id_of(request: web.Request) -> str:
    """The `{case_id}` of the path, or 404 when it is not a UUID."""
    try:
        return str(uuid.UUID(request.match_info["case_id"]))
    except ValueError as exc:
        raise ApiError("not_found") from exc


async def read_json(request: web.Request) -> Any:
    """The JSON body, or 400 invalid_json (413 comes from aiohttp's size limit)."""
    raw = await request.read()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError("invalid_json") from exc
