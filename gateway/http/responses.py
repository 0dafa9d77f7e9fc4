"""The one JSON answer of the gateway (Vietnamese kept readable, UTF-8)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gateway.http.errors import dumps


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(body, status=status, headers=headers, dumps=dumps)
