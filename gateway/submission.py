"""Publish one validated submission: store its media, build the CaseSubmitted event (identity
sealed, sender pseudonymised: gateway/intake.py) and return once Kafka confirmed the write.

Every channel that accepts feedback goes through here (the app's ``POST /v1/feedback``; Open311's
``POST /requests``), so a submission is the same event whatever door it came in by.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from gateway.http.errors import ApiError, FieldError, unavailable
from gateway.http.limits import retry_after
from gateway.intake import new_case_id, sender_pseudonym, submission_event
from gateway.keys import ACCEPTED, MEDIA, PRIVACY, PUBLISHER, SENDER_LIMITS, SETTINGS
from gateway.live_rules import screen
from gateway.models import FieldFeedbackIn
from gateway.publisher import Unavailable
from gateway.stores.accepted import AcceptedCase
from gateway.stores.media import put_files
from gateway.stores.sealing import sender_data_key
from pakn.settings import Settings
from pakn.topics import INTAKE
from processors.media_checks import Limits, MediaError, inspect
from processors.reuse import image_facts
from schemas.codec import get_codec

log = logging.getLogger("gateway")

MediaFile = tuple[str, str | None, bytes]  # content type, file name, bytes


@dataclass(frozen=True)
class Accepted:
    case_id: str
    submitted_at: datetime


def ensure_publisher(app: web.Application) -> None:
    """503 at once while Kafka is known to be down (before reading more of the request)."""
    if not app[PUBLISHER].available:
        raise unavailable("kafka_unavailable")


async def publish_submission(
    app: web.Application,
    sub: FieldFeedbackIn,
    files: list[MediaFile],
    idempotency_key: str | None,
    channel: str = "app",
    observe: Callable[[float], None] | None = None,
) -> Accepted:
    """Store the media, publish the CaseSubmitted event; 503 ``kafka_unavailable`` otherwise."""
    settings = app[SETTINGS]
    hits = wording_hits(sub)  # screened once: the worker reads them from the event
    if settings.wording_mode == "reject":
        screen_wording(hits)  # else every hit goes to the officer as a wording_review flag
    ensure_publisher(app)
    pseudonym = sender_pseudonym(app[PRIVACY], sub)
    wait = app[SENDER_LIMITS].take(pseudonym)
    if wait:
        raise ApiError("rate_limited", headers={"Retry-After": retry_after(wait)})
    now = datetime.now(UTC)
    media = []
    for ref, (_, _, data) in zip(await put_files(app[MEDIA], files), files, strict=True):
        facts = await asyncio.get_running_loop().run_in_executor(
            None, media_facts, settings, sub, now, ref["content_type"], data
        )
        media.append({**ref, **facts})
    case_id = new_case_id(idempotency_key)
    started = time.perf_counter()
    try:
        data_key = await sender_data_key(app, pseudonym)  # durable before anything uses it
        record = submission_event(
            sub,
            case_id,
            now,
            app[PRIVACY],
            media,
            channel=channel,
            data_key=data_key,
            wording_hits=hits,
        )
        value = get_codec().encode("CaseSubmitted", record)
        await app[PUBLISHER].publish(INTAKE.name(settings), case_id.encode(), value)
    except Unavailable as exc:
        log.warning("submission refused: kafka unavailable", extra={"reason": str(exc)})
        raise unavailable("kafka_unavailable") from exc
    if observe is not None:
        observe(time.perf_counter() - started)
    loc = sub.location
    app[ACCEPTED].put(
        AcceptedCase(
            case_id,
            now,
            sub.category,
            sub.process,
            sub.title,
            loc.lat,
            loc.lon,
            loc.commune_code,
            loc.address,
            sub.sender.confidential,
            channel,
        )
    )
    return Accepted(case_id, now)


def media_facts(
    settings: Settings, sub: FieldFeedbackIn, now: datetime, ctype: str, data: bytes
) -> dict[str, Any]:
    """pHashes and edit signals of an image (docs/integrity.md §4), judged against what the
    sender reports: when (observed_at, else now) and where."""
    loc = sub.location
    place = (loc.lat, loc.lon) if loc.lat is not None and loc.lon is not None else None
    return image_facts(
        data,
        ctype,
        reported_at=sub.observed_at or now,
        reported_place=place,
        max_time_gap=timedelta(hours=settings.integrity_edit_max_time_gap_h),
        max_distance_m=settings.integrity_edit_max_distance_m,
    )


def wording_hits(sub: FieldFeedbackIn) -> list[dict[str, Any]]:
    """Every hit of the word list in the title and description (WordingHit records)."""
    return [
        {"field": field, "start": h.start, "end": h.end, "term": h.term, "action": h.action}
        for field, text in (("title", sub.title), ("description", sub.description))
        for h in screen(text)
    ]


def screen_wording(hits: list[dict[str, Any]]) -> None:
    """§3: wording must respect fine customs. A `reject` term refuses the submission, pointing at
    the span; `review` terms reach the receiving officer as wording_review flags (the worker
    reads them from the event: processors/integrity.wording_findings)."""
    errors = [
        FieldError(h["field"], "offensive_wording", f"{h['start']}-{h['end']}")
        for h in hits
        if h["action"] == "reject"
    ]
    if errors:
        raise ApiError("validation_failed", errors)


# MediaError codes -> the answer's status code (type, size, content).
_MEDIA_ANSWERS = {
    "media_type_unknown": "unsupported_media_type",
    "media_type_not_allowed": "unsupported_media_type",
    "media_type_mismatch": "unsupported_media_type",
    "media_too_large": "payload_too_large",
    "media_too_many_pixels": "payload_too_large",
}


def checked_media(data: bytes, declared: str, settings: Settings, allowed: frozenset[str]) -> str:
    """The file's real type, read from its bytes (the declared one must agree); refuses unknown
    types, oversize files, decompression bombs and corrupt files with their own codes."""
    limits = Limits(
        max_image_bytes=settings.gateway_max_media_bytes,
        max_document_bytes=settings.gateway_max_media_bytes,
    )
    try:
        return inspect(data, declared, limits=limits, allowed=allowed).mime
    except MediaError as exc:
        code = _MEDIA_ANSWERS.get(exc.code, "invalid_media")
        raise ApiError(code, [FieldError("media", exc.code, exc.detail or None)]) from exc
