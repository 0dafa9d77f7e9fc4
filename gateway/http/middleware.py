"""The gateway's middlewares: every refusal a problem (or GeoReport's format on Open311 paths),
counted by route, status and code; the per-client rate limit before any work is done."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from prometheus_client import Counter

from gateway import open311
from gateway.http.errors import ApiError
from gateway.keys import CLIENT_LIMITS
from gateway.limits import retry_after

log = logging.getLogger("gateway")

RESPONSES = Counter(
    "pakn_gateway_responses_total",
    "Responses by route, status and error code",
    ["route", "status", "code"],
)
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


@web.middleware
async def limits_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Per-client token bucket (abuse): 429 with Retry-After before any work is done."""
    if request.path not in ("/healthz", "/readyz", "/metrics"):
        wait = request.app[CLIENT_LIMITS].take(request.remote or "?")
        if wait:
            raise ApiError("rate_limited", headers={"Retry-After": retry_after(wait)})
    return await handler(request)


@web.middleware
async def errors_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    resource = request.match_info.route.resource
    route = resource.canonical if resource else "?"
    try:
        resp = await handler(request)
        code = ""
    except ApiError as exc:
        resp, code = exc.response(), exc.code
    except web.HTTPException as exc:
        if exc.status < 400 or exc.status not in _HTTP_CODES:
            raise
        code = _HTTP_CODES[exc.status]
        # 405 keeps aiohttp's Allow (the methods the path declares)
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else {}
        resp = ApiError(code, headers=allow).response()
    except Exception:  # a bug: answer 500 with a stable code, never a traceback
        log.exception("unhandled error", extra={"route": route})
        code = "internal_error"
        resp = ApiError(code).response()
    if code and request.path.startswith(open311.PREFIX + "/"):
        resp = open311.problem_as_open311(request.path, resp)  # GeoReport's own error format
    RESPONSES.labels(route, str(resp.status), code).inc()
    return resp
