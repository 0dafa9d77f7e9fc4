"""The gateway's middlewares: every refusal a problem (or GeoReport's format on Open311 paths),
counted by route, status and code; the per-client rate limit before any work is done."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from prometheus_client import Counter

from gateway.http.auth import principal_of
from gateway.http.clients import client_address
from gateway.http.errors import ApiError
from gateway.http.limits import take
from gateway.keys import API_CLIENT_LIMITS, CLIENT_LIMITS, TRUSTED_PROXIES
from gateway.routes import open311

log = logging.getLogger("gateway")

RESPONSES = Counter(
    "pakn_gateway_responses_total",
    "Responses by route, status and error code",
    ["route", "status", "code"],
)
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


def _token_subject(request: web.Request) -> str | None:
    if not request.headers.get("Authorization"):
        return None
    try:
        return principal_of(request).subject  # verified once, remembered for the handler
    except ApiError:
        return None  # the handler answers 401 if it needs a caller


@web.middleware
async def limits_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Token buckets (abuse), before any work is done: one per client address (behind trusted
    proxies, the client's own: gateway/http/clients.py) and one per API client (a token's
    subject here; an Open311 key once it is checked, gateway/routes/open311.py). The per-sender
    bucket is taken when a submission is read (gateway/submission.py)."""
    if request.path not in ("/healthz", "/readyz", "/metrics"):
        take(request.app[CLIENT_LIMITS], client_address(request, request.app[TRUSTED_PROXIES]))
        if (subject := _token_subject(request)) is not None:
            take(request.app[API_CLIENT_LIMITS], f"token:{subject}")
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
