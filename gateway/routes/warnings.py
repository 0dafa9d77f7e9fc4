"""Warnings to citizens over HTTP: officers' acts, citizens' subscriptions, the public reads.

    POST /v1/warnings                         communications officer (or head): a draft
    POST /v1/warnings/{id}/commands           edit | approve | update | cancel | supersede
    PUT  /v1/warnings/subscription            a citizen (sender token): subscribe / change / stop
    GET  /v1/warnings?lat=&long= | ?unit= | ?commune=    active warnings for a place
    GET  /v1/warnings/stream?...              the same place, live (Server-Sent Events)
    GET  /v1/warnings/{id}  /{id}.cap  /v1/warnings.atom   JSON, CAP 1.2, Atom of active alerts

Acts go to warnings.commands and are answered 202 with the command id: the worker is the
authority (processors/warnings.py) and answers on warnings.results. The gateway refuses early
what it can tell alone (role, content, unit and status of a warning it already knows) with the
same codes. Reads come from the compacted warnings.state topic, held in memory by a consumer
thread (a city has hundreds of warnings, not millions); the SSE stream is fed by the same
thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any, Literal

from aiohttp import web
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition
from pydantic import Field

from gateway.http.auth import require
from gateway.http.errors import ApiError, unavailable
from gateway.http.responses import json_response
from gateway.http.validation import json_body
from gateway.keys import PUBLISHER, SETTINGS
from gateway.models import Strict
from gateway.publisher import Unavailable
from pakn.settings import Settings
from pakn.topics import SUBSCRIPTIONS, WARNING_COMMANDS, WARNING_STATE
from processors import warnings as core
from processors.areas import Area, commune_at, point_in_area, shipped_geo
from processors.cap import atom_feed, build_cap, cap_time
from schemas.codec import DecodeError, get_codec

log = logging.getLogger("gateway.routes.warnings")
GEO = shipped_geo()
ID_PATTERN = r"[A-Za-z0-9_-]{1,64}"
ROUTE_ID = r"[A-Za-z0-9_-]+"
SSE_PING_S = 15.0


# --- request bodies ---------------------------------------------------------------------------
class LatLonIn(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class CircleIn(LatLonIn):
    radius_km: float = Field(gt=0, le=core.MAX_RADIUS_KM)


class AreaIn(Strict):
    communes: list[str] = Field(default_factory=list, max_length=200)
    circles: list[CircleIn] = Field(default_factory=list, max_length=20)
    polygons: list[list[LatLonIn]] = Field(default_factory=list, max_length=20)


class ContentIn(Strict):
    category: Literal[core.CATEGORIES]  # type: ignore[valid-type]
    severity: Literal[core.SEVERITIES]  # type: ignore[valid-type]
    urgency: Literal[core.URGENCIES]  # type: ignore[valid-type]
    certainty: Literal[core.CERTAINTIES] = "Likely"  # type: ignore[valid-type]
    area: AreaIn
    effective: datetime
    expires: datetime
    headline_vi: str = Field(min_length=1, max_length=core.MAX_HEADLINE)
    text_vi: str = Field(min_length=1, max_length=core.MAX_TEXT)
    instruction_vi: str | None = Field(None, max_length=core.MAX_TEXT)
    headline_en: str | None = Field(None, max_length=core.MAX_HEADLINE)
    text_en: str | None = Field(None, max_length=core.MAX_TEXT)
    instruction_en: str | None = Field(None, max_length=core.MAX_TEXT)

    def record(self) -> dict[str, Any]:
        out = self.model_dump()
        out["effective"] = int(self.effective.timestamp() * 1000)
        out["expires"] = int(self.expires.timestamp() * 1000)
        return out


class WarningCommandIn(Strict):
    command: Literal["edit", "approve", "update", "cancel", "supersede"]
    content: ContentIn | None = None
    superseded_by: str | None = Field(None, pattern=f"^{ID_PATTERN}$")


class SubscriptionIn(Strict):
    token: str = Field(min_length=1, max_length=4096, description="Push token from the app.")
    channel: Literal["fcm", "apns", "sms"]
    home_commune: str = Field(json_schema_extra={"enum": sorted(GEO)})
    communes: list[str] = Field(
        default_factory=list, max_length=20, json_schema_extra={"items": {"enum": sorted(GEO)}}
    )
    categories: list[Literal[core.CATEGORIES]] = Field(  # type: ignore[valid-type]
        default_factory=list, max_length=len(core.CATEGORIES)
    )
    language: Literal["vi", "en"] = "vi"
    active: bool = True


# --- the board: every warning, from the compacted state topic --------------------------------
class WarningBoard:
    """Every warning's latest state, kept current by a consumer thread; SSE listeners are
    handed each change on their own event loop."""

    def __init__(self, settings: Settings) -> None:
        self.topic = WARNING_STATE.name(settings)
        self.states: dict[str, dict[str, Any]] = {}
        self.ready = threading.Event()
        self._listeners: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]] = (
            set()
        )
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._consumer = Consumer(
            {
                "bootstrap.servers": settings.kafka_bootstrap,
                "group.id": f"{settings.worker_app_id}-gateway-warnings",  # never commits
                "enable.auto.commit": False,
                "enable.partition.eof": True,
            }
        )
        self._thread = threading.Thread(target=self._run, name="warning-board", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        codec = get_codec()
        try:
            meta = self._consumer.list_topics(self.topic, timeout=30).topics[self.topic]
            parts = list(meta.partitions)
            self._consumer.assign([TopicPartition(self.topic, p, OFFSET_BEGINNING) for p in parts])
        except Exception:
            log.exception("warning board: cannot read the state topic")
            return
        pending = set(parts)
        while not self._stop.is_set():
            for msg in self._consumer.consume(500, timeout=0.5):
                if msg.error():
                    if msg.error().code() == KafkaError._PARTITION_EOF:
                        pending.discard(msg.partition())
                    continue
                try:
                    _, state = codec.decode(msg.value())
                except DecodeError:
                    log.warning("warning board: undecodable state", extra={"offset": msg.offset()})
                    continue
                state["sent"] = [[s["version"], s["sent"]] for s in state["sent"]]
                self._put(state)
            if not pending:
                self.ready.set()
        self._consumer.close()

    def _put(self, state: dict[str, Any]) -> None:
        with self._lock:
            self.states[state["warning_id"]] = state
            listeners = list(self._listeners)
        for loop, queue in listeners:
            loop.call_soon_threadsafe(queue.put_nowait, state)

    def listen(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        with self._lock:
            self._listeners.add((asyncio.get_running_loop(), queue))
        return queue

    def unlisten(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with self._lock:
            self._listeners = {(lp, q) for lp, q in self._listeners if q is not queue}

    def get(self, warning_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self.states.get(warning_id)

    def all(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.states.values())

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)


BOARD = web.AppKey("warning_board", WarningBoard)


def _board(request: web.Request) -> WarningBoard:
    board = request.app[BOARD]
    if not board.ready.is_set():
        raise ApiError("warnings_unavailable", headers={"Retry-After": "2"})
    return board


def _now() -> int:
    return int(time.time() * 1000)


def public_view(state: dict[str, Any], base_url: str, now: int) -> dict[str, Any]:
    c = state["content"]
    return {
        "warning_id": state["warning_id"],
        "version": state["version"],
        "status": core.status_at(state, now),
        "issuing_unit": state["issuing_unit"],
        "category": c["category"],
        "severity": c["severity"],
        "urgency": c["urgency"],
        "certainty": c["certainty"],
        "headline": {"vi": c["headline_vi"], "en": c.get("headline_en")},
        "text": {"vi": c["text_vi"], "en": c.get("text_en")},
        "instruction": {"vi": c.get("instruction_vi"), "en": c.get("instruction_en")},
        "area": c["area"],
        "communes": state["communes"],
        "effective": cap_time(c["effective"]),
        "expires": cap_time(c["expires"]),
        "superseded_by": state.get("superseded_by"),
        "cap_url": f"{base_url}/v1/warnings/{state['warning_id']}.cap",
    }


# --- officers ---------------------------------------------------------------------------------
async def _publish_command(request: web.Request, record: dict[str, Any]) -> web.Response:
    settings = request.app[SETTINGS]
    try:
        await request.app[PUBLISHER].publish(
            WARNING_COMMANDS.name(settings),
            record["warning_id"].encode(),
            get_codec().encode("WarningCommand", record),
        )
    except Unavailable as exc:
        raise unavailable("kafka_unavailable") from exc
    wid = record["warning_id"]
    return json_response(
        {
            "command_id": record["command_id"],
            "warning_id": wid,
            "command": record["command"],
            "status": "accepted_for_processing",
            "warning_url": f"{settings.public_url}/v1/warnings/{wid}",
        },
        status=202,
        headers={"Location": f"/v1/warnings/{wid}"},
    )


def _record(request: web.Request, who: Any, wid: str, name: str, **kw: Any) -> dict[str, Any]:
    key = request.headers.get("Idempotency-Key")
    command_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{wid}/{key}")) if key else str(uuid.uuid4())
    return {
        "command_id": command_id,
        "warning_id": wid,
        "command": name,
        "actor_role": who.role,
        "actor_unit": who.unit,
        "actor_id": who.subject,
        "at": _now(),
        "content": kw.get("content"),
        "superseded_by": kw.get("superseded_by"),
    }


def _precheck(record: dict[str, Any], state: dict[str, Any] | None) -> None:
    """Refuse early what the board already tells (the worker decides the same way)."""
    if record["content"] is not None:
        problem = core.content_problem(record["content"], GEO)
        if problem:
            raise ApiError(problem)
    if record["command"] == "draft" or state is None:
        return
    decision = core.apply({**state, "applied": []}, record, GEO, record["at"])
    code = decision.result["code"]
    if code and code not in ("invalid_content",):
        raise ApiError(code)


async def post_warning(request: web.Request) -> web.Response:
    body = await json_body(request, ContentIn)
    who = require(request, "warning_draft")
    wid = uuid.uuid4().hex
    record = _record(request, who, wid, "draft", content=body.record())
    _precheck(record, None)
    return await _publish_command(request, record)


async def post_warning_command(request: web.Request) -> web.Response:
    wid = request.match_info["warning_id"]
    body = await json_body(request, WarningCommandIn)
    who = require(request, f"warning_{body.command}")
    if body.command in ("edit", "update") and body.content is None:
        raise ApiError("invalid_content")
    content = body.content.record() if body.content is not None else None
    record = _record(
        request, who, wid, body.command, content=content, superseded_by=body.superseded_by
    )
    board = _board(request)
    _precheck(record, board.get(wid))
    return await _publish_command(request, record)


# --- citizens ---------------------------------------------------------------------------------
async def put_subscription(request: web.Request) -> web.Response:
    body = await json_body(request, SubscriptionIn)
    who = require(request, "warning_subscribe")
    for code in (body.home_commune, *body.communes):
        if code not in GEO:
            raise ApiError("unknown_commune")
    settings = request.app[SETTINGS]
    record = {
        "pseudonym": who.pseudonym,
        "token": body.token,
        "channel": body.channel,
        "home_commune": body.home_commune,
        "communes": sorted(set(body.communes) - {body.home_commune}),
        "categories": sorted(set(body.categories)),
        "language": body.language,
        "active": body.active,
        "at": _now(),
    }
    try:
        await request.app[PUBLISHER].publish(
            SUBSCRIPTIONS.name(settings),
            str(who.pseudonym).encode(),
            get_codec().encode("Subscription", record),
        )
    except Unavailable as exc:
        raise unavailable("kafka_unavailable") from exc
    shown = {k: v for k, v in record.items() if k not in ("pseudonym", "token")}
    return json_response({"subscription": shown, "status": "accepted"}, status=202)


# --- public reads -----------------------------------------------------------------------------
def _place(request: web.Request) -> tuple[tuple[float, float] | None, set[str] | None, str | None]:
    """(point, communes, issuing unit) the query names; 400 invalid_query otherwise."""
    q = request.query
    if "lat" in q or "long" in q or "lon" in q:
        try:
            lat, lon = float(q["lat"]), float(q.get("long", q.get("lon", "")))
        except (KeyError, ValueError) as exc:
            raise ApiError("invalid_query") from exc
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ApiError("invalid_query")
        return (lat, lon), None, None
    code = q.get("commune") or q.get("unit")
    if code is None:
        return None, None, None
    if code in GEO:
        return None, {code}, None
    if "unit" in q:
        return None, None, code  # a department: the warnings it issued
    raise ApiError("unknown_commune")


def _matches(state: dict[str, Any], place: Any, now: int) -> bool:
    point, communes, unit = place
    if not core.is_active(state, now):
        return False
    if point is not None:
        area = Area.from_dict(state["content"]["area"])
        return point_in_area(point, area, commune_at(point, GEO)) or (
            commune_at(point, GEO) in state["communes"]
        )
    if communes is not None:
        return bool(communes & set(state["communes"]))
    if unit is not None:
        return state["issuing_unit"] == unit
    return True


async def list_warnings(request: web.Request) -> web.Response:
    place = _place(request)
    now = _now()
    base = request.app[SETTINGS].public_url
    found = [s for s in _board(request).all() if _matches(s, place, now)]
    found.sort(key=lambda s: s["updated_at"], reverse=True)
    return json_response({"warnings": [public_view(s, base, now) for s in found]})


def _known(request: web.Request) -> dict[str, Any]:
    state = _board(request).get(request.match_info["warning_id"])
    if state is None or state["version"] == 0:  # drafts are not public
        raise ApiError("warning_not_found")
    return state


async def get_warning(request: web.Request) -> web.Response:
    state = _known(request)
    return json_response(public_view(state, request.app[SETTINGS].public_url, _now()))


async def get_warning_cap(request: web.Request) -> web.Response:
    state = _known(request)
    settings = request.app[SETTINGS]
    version = request.query.get("version")
    try:
        xml = build_cap(
            state,
            settings.warnings_cap_sender,
            int(version) if version else None,
            commune_names=_commune_names(),
            web=f"{settings.public_url}/v1/warnings/{state['warning_id']}",
        )
    except ValueError as exc:
        raise ApiError("warning_not_found") from exc
    return web.Response(body=xml, content_type="application/cap+xml", charset="utf-8")


async def get_atom(request: web.Request) -> web.Response:
    now = _now()
    active = core.active_for(_board(request).all(), now)
    xml = atom_feed(active, request.app[SETTINGS].public_url, now, "Cảnh báo - Hà Nội")
    return web.Response(body=xml, content_type="application/atom+xml", charset="utf-8")


async def stream_warnings(request: web.Request) -> web.StreamResponse:
    """SSE: each matching warning now (event ``warning``), then every change to one that
    matches or matched (an update, the cancellation) as it happens; a comment ping keeps
    proxies from closing an idle stream."""
    place = _place(request)
    board = _board(request)
    base = request.app[SETTINGS].public_url
    resp = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await resp.prepare(request)
    queue = board.listen()
    shown: set[str] = set()

    async def send(state: dict[str, Any]) -> None:
        view = public_view(state, base, _now())
        data = json.dumps(view, ensure_ascii=False)
        event = f"id: {state['warning_id']}.{state['version']}\nevent: warning\ndata: {data}\n\n"
        await resp.write(event.encode())

    try:
        now = _now()
        for state in board.all():
            if _matches(state, place, now):
                shown.add(state["warning_id"])
                await send(state)
        async for state in _changes(queue):
            now = _now()
            if state is None:
                await resp.write(b": ping\n\n")
            elif state["version"] > 0 and (
                state["warning_id"] in shown or _matches(state, place, now)
            ):
                shown.add(state["warning_id"])
                await send(state)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        board.unlisten(queue)
    return resp


async def _changes(queue: asyncio.Queue[dict[str, Any]]) -> AsyncIterator[dict[str, Any] | None]:
    while True:
        try:
            yield await asyncio.wait_for(queue.get(), SSE_PING_S)
        except TimeoutError:
            yield None


def _commune_names() -> dict[str, str]:
    from gateway.live_rules import default_directory

    try:
        return {u.code: u.name_vi for u in default_directory().communes()}
    except Exception:  # the CAP message is still complete with codes only
        return {}


def setup(app: web.Application, settings: Settings) -> None:
    """The board of warnings, for the app's lifetime (routes: gateway/routes/__init__.py)."""

    async def board(app: web.Application) -> AsyncIterator[None]:
        app[BOARD] = WarningBoard(settings)
        yield
        await asyncio.get_running_loop().run_in_executor(None, app[BOARD].close)

    app.cleanup_ctx.append(board)
