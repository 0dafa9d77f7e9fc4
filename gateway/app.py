"""The HTTP gateway: validate, publish to Kafka, answer 202 only once Kafka confirmed the write."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from pydantic import ValidationError

from gateway.auth import install_auth, require
from gateway.commands import get_command, post_command
from gateway.errors import ApiError, dumps
from gateway.keys import (
    CLIENT_LIMITS,
    MEDIA,
    PRIVACY,
    PUBLISHER,
    READER,
    REPLIES,
    SENDER_LIMITS,
    SETTINGS,
    UNITS,
)
from gateway.limits import RateLimiter, retry_after
from gateway.live_rules import use_directory, use_screener
from gateway.media import (
    ALLOWED_TYPES,
    DOCUMENT_TYPES,
    MediaStore,
    MediaUnavailable,
    open_store,
    put_files,
)
from gateway.models import FieldFeedbackIn, field_errors
from gateway.openapi import openapi_document
from gateway.params import case_id_of, read_json
from gateway.publisher import Publisher
from gateway.replies import Replies
from gateway.submission import checked_media, publish_submission
from pakn.directory_topic import DirectoryFollower
from pakn.logs import setup_logging
from pakn.privacy import load_privacy
from pakn.settings import Settings
from pakn.topics import COMMAND_RESULTS, RECEPTION_RESULTS
from processors.catalogue import CATEGORIES
from processors.units import load_directory
from processors.wording import load_screener
from sinks.reader import WarehouseReader

log = logging.getLogger("gateway")

RESPONSES = Counter(
    "pakn_gateway_responses_total",
    "Responses by route, status and error code",
    ["route", "status", "code"],
)
PUBLISH_SECONDS = Histogram(
    "pakn_gateway_publish_seconds",
    "Time until Kafka confirmed a submission",
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
RETRY_AFTER_S = "5"


def json_response(body: Any, status: int = 200, **kw: Any) -> web.Response:
    return web.json_response(body, status=status, dumps=dumps, **kw)


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
        resp = ApiError(code).response()
    except Exception:  # a bug: answer 500 with a stable code, never a traceback
        log.exception("unhandled error", extra={"route": route})
        code = "internal_error"
        resp = json_response(
            {"error": {"code": code, "message": {"vi": "Lỗi hệ thống.", "en": "Internal error."}}},
            status=500,
        )
    RESPONSES.labels(route, str(resp.status), code).inc()
    return resp


async def _read_multipart(
    request: web.Request,
    settings: Settings,
    need_submission: bool = True,
    allowed: frozenset[str] = ALLOWED_TYPES,
) -> tuple[Any, list[tuple[str, str | None, bytes]]]:
    """Fields: `submission` (JSON text) and up to N `media` files."""
    body: Any = None
    files: list[tuple[str, str | None, bytes]] = []
    try:
        reader = await request.multipart()
        async for part in reader:
            if part.name == "submission":
                try:
                    body = json.loads(await part.text())
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
    except (ValueError, AssertionError) as exc:  # aiohttp's own multipart parse errors
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
        body, files = await read_json(request), []
    elif request.content_type == "multipart/form-data":
        body, files = await _read_multipart(request, settings)
    else:
        raise ApiError("unsupported_media_type")
    try:
        sub = FieldFeedbackIn.model_validate(body)
    except ValidationError as exc:
        raise ApiError("validation_failed", field_errors(exc)) from exc
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
        raise ApiError("warehouse_unavailable", headers={"Retry-After": RETRY_AFTER_S}) from exc
    if found is None:
        raise ApiError("not_found")
    return json_response(found)


async def categories(_request: web.Request) -> web.Response:
    return json_response(
        [{"code": c.code, "name": {"vi": c.vi, "en": c.en}} for c in CATEGORIES.values()]
    )


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
    return json_response(openapi_document(request.app[SETTINGS]))


def _prepare_media(store: MediaStore) -> None:
    try:
        store.prepare()
        log.info("media store ready", extra={"where": store.where()})
    except MediaUnavailable as exc:
        log.warning("media store unavailable", extra={"error": str(exc)[:300]})


def build_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[errors_middleware, limits_middleware],
        client_max_size=settings.gateway_max_body_bytes,
    )
    app[CLIENT_LIMITS] = RateLimiter(settings.gateway_client_rate, settings.gateway_client_burst)
    app[SENDER_LIMITS] = RateLimiter(
        settings.gateway_sender_per_hour / 3600, max(1.0, settings.gateway_sender_per_hour)
    )
    app[SETTINGS] = settings
    app[MEDIA] = open_store(settings)
    app[PRIVACY] = load_privacy(settings)
    app[READER] = WarehouseReader(settings)

    install_auth(app, settings)

    async def lifecycle(app: web.Application) -> Any:
        loop = asyncio.get_running_loop()
        # In the background: a store that is down must not hold the gateway's start (uploads
        # answer 503 meanwhile; the store prepares itself again before its next write).
        preparing = loop.run_in_executor(None, _prepare_media, app[MEDIA])
        app[PUBLISHER] = Publisher(settings.kafka_bootstrap, settings.gateway_delivery_timeout_s)
        app[REPLIES] = await loop.run_in_executor(
            None,
            Replies,
            settings.kafka_bootstrap,
            [COMMAND_RESULTS.name(settings), RECEPTION_RESULTS.name(settings)],
        )
        # unit names shown by the public API follow the published directory (units.directory)
        use_directory(load_directory(settings.units_file or None))  # until a publication
        use_screener(load_screener(settings.wordlist_file or None))
        app[UNITS] = DirectoryFollower(settings, lambda r, _g: use_directory(r.directory)).start()
        yield
        await preparing
        await loop.run_in_executor(None, app[UNITS].close)
        await loop.run_in_executor(None, app[REPLIES].close)
        await loop.run_in_executor(None, app[PUBLISHER].close)

    app.cleanup_ctx.append(lifecycle)
    app.router.add_post("/v1/feedback", post_feedback)
    app.router.add_get("/v1/cases/{case_id}", get_case)
    app.router.add_post("/v1/cases/{case_id}/commands", post_command)
    app.router.add_get("/v1/commands/{command_id}", get_command)
    app.router.add_post("/v1/media", post_media)
    app.router.add_get("/v1/categories", categories)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/openapi.json", openapi)
    from gateway import open311, privacy_routes, public, reception  # publication, tracking; Open311
    from gateway import warnings as warnings_routes  # warnings to citizens

    public.add_routes(app)
    open311.add_routes(app)
    privacy_routes.add_routes(app)  # the unit's view of a case, re-identification
    reception.add_routes(app)  # citizen-reception booking
    warnings_routes.add_routes(app, settings)
    return app


def run(settings: Settings) -> None:
    setup_logging(settings.log_level, "gateway")
    log.info("gateway listening", extra={"url": settings.public_url})
    web.run_app(
        build_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        access_log=None,
        print=None,
    )
