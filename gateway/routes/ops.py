"""Operators' routes: liveness, readiness, metrics, the OpenAPI document, the problem types."""

from __future__ import annotations

import asyncio

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.http.errors import ERRORS, ApiError
from gateway.http.responses import json_response
from gateway.keys import PUBLISHER, READER, SETTINGS


async def healthz(_request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    loop = asyncio.get_running_loop()
    kafka = await loop.run_in_executor(None, request.app[PUBLISHER].probe, 1.0)
    clickhouse = await request.app[READER].ping()
    ok = kafka and clickhouse
    return json_response(
        {"status": "ready" if ok else "not_ready", "kafka": kafka, "clickhouse": clickhouse},
        status=200 if ok else 503,
    )


async def metrics(_request: web.Request) -> web.Response:
    resp = web.Response(body=generate_latest())
    resp.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    return resp


async def openapi(request: web.Request) -> web.Response:
    from gateway.http.openapi import openapi_document
    from gateway.routes import TABLE

    return json_response(openapi_document(TABLE, request.app[SETTINGS].public_url))


async def problem_type(request: web.Request) -> web.Response:
    """What a problem `type` (/problems/{code}) means: its status and messages."""
    code = request.match_info["code"]
    if code not in ERRORS:
        raise ApiError("not_found")
    status, msg = ERRORS[code]
    return json_response({"code": code, "status": status, "message": {"vi": msg.vi, "en": msg.en}})
