"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2), mounted under ``/open311/v2``.

XML (mandatory in the standard) and JSON, chosen by the extension: ``/services.xml``,
``/services.json``. The service list is our category catalogue (processors/catalogue.py);
``POST /requests`` publishes exactly what ``POST /v1/feedback`` publishes (gateway/submission.py,
channel ``open311``); the reads come from the warehouse and carry nothing about the sender.
Mapping choices (identity number, names, title, location of confidential cases) are in
docs/open311.md.
"""

from __future__ import annotations

import functools
import hmac
import json
import logging
import math
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from gateway.http.errors import ERRORS, FIELD_MESSAGES, ApiError, dumps
from gateway.http.limits import take
from gateway.http.table import query_of
from gateway.http.validation import validated
from gateway.keys import ACCEPTED, API_CLIENT_LIMITS, READER, SETTINGS
from gateway.live_rules import default_directory
from gateway.models import FieldFeedbackIn
from gateway.routes.public import clamped, iso, published_result, read
from gateway.stores.accepted import AcceptedCase
from gateway.stores.media import ALLOWED_TYPES
from gateway.submission import ensure_publisher, publish_submission
from pakn.privacy import _dev_secret
from pakn.settings import Settings
from processors.areas import commune_containing, shipped_geo
from processors.catalogue import CATEGORIES
from processors.publication import CLOSED_STATUSES
from processors.workflow import STATUSES

log = logging.getLogger("gateway.routes.open311")
GEO = shipped_geo()

PREFIX = "/open311/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-02-01T00:00:00+07:00"  # when the service list last changed
FORMATS = {"xml": "text/xml", "json": "application/json"}
FMT = "{fmt:(?:xml|json)}"
DEFAULT_DAYS = 90
MAX_PAGE_SIZE = 1000
# Open311 has two statuses: a case is closed once its result is out, or it ended without one.
CLOSED = CLOSED_STATUSES
OPEN = tuple(s for s in STATUSES if s not in CLOSED)
# XML: the element of each item of a list, by the list's element name.
ITEM = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "service_requests": "request",
    "errors": "error",
}
# Our validation fields -> the Open311 parameter the client sent.
PARAMS = {
    "category": "service_code",
    "title": "attribute[title]",
    "description": "description",
    "location": "lat/long or address_string",
    "location.lat": "lat",
    "location.lon": "long",
    "location.address": "address_string",
    "location.commune_code": "attribute[commune_code]",
    "observed_at": "attribute[observed_at]",
    "sender": "attribute[kind]",
    "sender.kind": "attribute[kind]",
    "sender.full_name": "first_name/last_name",
    "sender.id_number": "attribute[id_number]",
    "sender.phone": "phone",
    "sender.email": "email",
    "sender.tax_code": "attribute[tax_code]",
    "sender.confidential": "attribute[confidential]",
    "process": "attribute[process]",
}
STATUS_NOTES = {
    "rejected": ("Từ chối", "Rejected"),
    "withdrawn": ("Người gửi đã rút phản ánh", "Withdrawn by the sender"),
}


class Open311Error(Exception):
    """An answer in Open311's error format: ``[{code, description}, ...]`` with an HTTP status."""

    def __init__(self, status: int, errors: list[tuple[int, str]]) -> None:
        super().__init__(errors)
        self.status = status
        self.errors = errors


def _message(code: str) -> str:
    msg = ERRORS[code][1]
    return f"{msg.en} / {msg.vi}"


def _from_api_error(exc: ApiError) -> Open311Error:
    status = exc.status
    if status in (401, 403):
        status = 403
    elif 400 <= status < 500 and status not in (404, 413, 415):
        status = 400
    if exc.fields:
        errors = []
        for f in exc.fields:
            m = FIELD_MESSAGES.get(f.code, FIELD_MESSAGES["invalid"])
            errors.append((status, f"{PARAMS.get(f.field, f.field)}: {f.code} — {m.en} / {m.vi}"))
        return Open311Error(status, errors)
    return Open311Error(status, [(status, f"{exc.code}: {_message(exc.code)}")])


# --- rendering --------------------------------------------------------------------------------
def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _element(name: str, value: Any) -> ET.Element:
    el = ET.Element(name)
    if isinstance(value, dict):
        for k, v in value.items():
            el.append(_element(k, v))
    elif isinstance(value, list):
        for v in value:
            el.append(_element(ITEM.get(name, "item"), v))
    else:
        el.text = _text(value)
    return el


def to_xml(root: str, value: Any) -> str:
    """Open311 XML: lists repeat their item element (services/service, ...)."""
    body = ET.tostring(_element(root, value), encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body


def geojson(requests: list[dict[str, Any]]) -> dict[str, Any]:
    """Service requests as a GeoJSON FeatureCollection (RFC 7946; a request without a public
    place has a null geometry)."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": r["service_request_id"],
                "geometry": None
                if r.get("lat") is None or r.get("long") is None
                else {"type": "Point", "coordinates": [r["long"], r["lat"]]},
                "properties": {k: v for k, v in r.items() if k not in ("lat", "long")},
            }
            for r in requests
        ],
    }


def render(fmt: str, root: str, value: Any, status: int = 200) -> web.Response:
    if fmt == "geojson" and root == "service_requests":
        return web.Response(
            text=dumps(geojson(value)),
            status=status,
            content_type="application/geo+json",
            charset="utf-8",
        )
    if fmt in ("json", "geojson"):
        return web.Response(
            text=dumps(value), status=status, content_type="application/json", charset="utf-8"
        )
    return web.Response(
        text=to_xml(root, value), status=status, content_type="text/xml", charset="utf-8"
    )


def render_errors(fmt: str, exc: Open311Error) -> web.Response:
    items = [{"code": code, "description": text} for code, text in exc.errors]
    return render(fmt, "errors", items, exc.status)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def open311(handler: Handler) -> Handler:
    """Refusals in Open311's format (and in the format the client asked for)."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        fmt = request.match_info.get("format", "xml")
        try:
            return await handler(request)
        except Open311Error as exc:
            return render_errors(fmt, exc)
        except ApiError as exc:
            resp = render_errors(fmt, _from_api_error(exc))
            resp.headers.update(exc.headers)
            return resp

    return wrapped


# --- api keys ---------------------------------------------------------------------------------
def api_keys(settings: Settings) -> dict[str, str]:
    """key -> client name, from ``PAKN_OPEN311_API_KEYS`` ('name:key' or 'key', comma-separated);
    empty: one development key kept in ``<home>/secrets/open311_api_key``."""
    spec = settings.open311_api_keys or _dev_secret(
        settings.home, "open311_api_key", f"dev:{uuid.uuid4().hex}"
    )
    keys: dict[str, str] = {}
    for n, item in enumerate(filter(None, (p.strip() for p in spec.split(",")))):
        name, sep, key = item.rpartition(":")
        keys[key] = name if sep and name else f"client{n + 1}"
    return keys


def _client(request: web.Request, given: str | None) -> str:
    keys = api_keys(request.app[SETTINGS])
    if given:
        for key, name in keys.items():
            if hmac.compare_digest(key.encode(), given.encode()):
                take(request.app[API_CLIENT_LIMITS], f"open311:{name}")  # the client's bucket
                return name
    log.warning("open311: api_key refused", extra={"given": bool(given)})
    raise Open311Error(403, [(403, f"api_key: {_message('open311_invalid_api_key')}")])


# --- discovery and services -------------------------------------------------------------------
def _base(request: web.Request) -> str:
    return f"{request.app[SETTINGS].public_url}{PREFIX}"


@open311
async def discovery(request: web.Request) -> web.Response:
    fmt = request.match_info["format"]
    doc = {
        "changeset": CHANGESET,
        "contact": "Platform operator of the PAKN pipeline (Hanoi) — docs/open311.md",
        "key_service": "API keys for POST requests are issued by the platform operator "
        "(PAKN_OPEN311_API_KEYS).",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": _base(request),
                "changeset": CHANGESET,
                "type": "production",
                "formats": list(FORMATS.values()),
            }
        ],
    }
    return render(fmt, "discovery", doc)


def _service(code: str) -> dict[str, Any]:
    c = CATEGORIES[code]
    return {
        "service_code": c.code,
        "service_name": c.vi,
        "description": c.en,
        "metadata": True,
        "type": "realtime",
        "keywords": ", ".join((c.code, c.en.lower())),
        "group": c.process,
    }


@open311
async def services(request: web.Request) -> web.Response:
    return render(request.match_info["format"], "services", [_service(c) for c in CATEGORIES])


def _attribute(
    order: int,
    code: str,
    datatype: str,
    required: bool,
    description: str,
    datatype_description: str = "",
    values: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "variable": True,
        "code": code,
        "datatype": datatype,
        "required": required,
        "datatype_description": datatype_description,
        "order": order,
        "description": description,
    }
    if values is not None:
        out["values"] = [{"key": k, "name": n} for k, n in values]
    return out


ATTRIBUTES = [
    _attribute(
        1,
        "id_number",
        "string",
        True,
        "Số căn cước công dân (CCCD) của người gửi / Citizen identity number (CCCD) of the sender",
        "12 digits",
    ),
    _attribute(
        2,
        "confidential",
        "singlevaluelist",
        False,
        "Bảo mật danh tính người gửi / Keep the sender's identity confidential",
        values=[("false", "Không / No"), ("true", "Có / Yes")],
    ),
    _attribute(
        3,
        "kind",
        "singlevaluelist",
        False,
        "Người gửi là cá nhân hay tổ chức / The sender is a person or an organisation",
        values=[("person", "Cá nhân / Person"), ("organisation", "Tổ chức / Organisation")],
    ),
    _attribute(
        4,
        "tax_code",
        "string",
        False,
        "Mã số thuế (bắt buộc với tổ chức) / Tax code (required for organisations)",
        "10 digits, or 10 digits '-' 3 digits",
    ),
    _attribute(
        5,
        "title",
        "string",
        False,
        "Tiêu đề (công khai) / Title (published)",
        "5 to 200 characters; default: the service name and the address",
    ),
    _attribute(
        6,
        "commune_code",
        "string",
        False,
        "Mã đơn vị hành chính cấp xã nơi xảy ra sự việc / Commune of the location",
        "5 digits (statistics office code), e.g. 00070",
    ),
    _attribute(
        7,
        "observed_at",
        "datetime",
        False,
        "Thời điểm phát hiện sự việc / When the problem was seen",
        "ISO-8601",
    ),
]


@open311
async def service_definition(request: web.Request) -> web.Response:
    code = request.match_info["service_code"]
    if code not in CATEGORIES:
        raise Open311Error(404, [(404, f"service_code {code!r}: not a service")])
    doc = {"service_code": code, "attributes": ATTRIBUTES}
    return render(request.match_info["format"], "service_definition", doc)


# --- POST /requests ---------------------------------------------------------------------------
def _float(value: str | None) -> Any:
    if value is None or value.strip() == "":
        return None
    try:
        f = float(value)
    except ValueError:
        return value  # let validation name the field
    return f if math.isfinite(f) else value


def _title(form: Any, attrs: dict[str, str]) -> str:
    if attrs.get("title"):
        return attrs["title"]
    c = CATEGORIES.get(form.get("service_code", ""))
    name = c.vi if c else "Phản ánh"
    where = (form.get("address_string") or "").strip()
    if not where and form.get("lat") and form.get("long"):
        where = f"{form.get('lat')}, {form.get('long')}"
    title = f"{name} – {where}" if where else name
    if len(title) < 5:
        title = f"{title} ({form.get('service_code')})"
    return title[:200]


ATTR_RE = re.compile(r"attribute\[([a-z_]+)\]")


def submission_body(form: Any) -> dict[str, Any]:
    """An Open311 request (form fields) as a POST /v1/feedback body (validated afterwards)."""
    attrs = {m.group(1): str(v) for k, v in form.items() if (m := ATTR_RE.fullmatch(k))}
    first, last = (form.get("first_name") or "").strip(), (form.get("last_name") or "").strip()
    sender: dict[str, Any] = {
        # Vietnamese order: family name first ("Nguyễn" + "Văn An")
        "full_name": " ".join(p for p in (last, first) if p),
        "id_number": attrs.get("id_number"),
        "phone": form.get("phone"),
        "email": form.get("email"),
        "confidential": attrs.get("confidential", "false"),
        "kind": attrs.get("kind", "person"),
    }
    if attrs.get("tax_code"):
        sender["tax_code"] = attrs["tax_code"]
    lat, lon = _float(form.get("lat")), _float(form.get("long"))
    commune = attrs.get("commune_code") or None
    if commune is None and isinstance(lat, float) and isinstance(lon, float):
        # what every Open311 client sends: a point; its commune routes the case (docs/open311.md)
        commune = commune_containing((lat, lon), GEO)
    location: dict[str, Any] = {
        "lat": lat,
        "lon": lon,
        "address": (form.get("address_string") or "").strip() or None,
        "commune_code": commune,
    }
    body: dict[str, Any] = {
        "category": form.get("service_code") or "",
        "title": _title(form, attrs),
        "description": form.get("description") or "",
        "location": location,
        "sender": {k: v for k, v in sender.items() if v is not None},
    }
    if attrs.get("observed_at"):
        body["observed_at"] = attrs["observed_at"]
    return body


async def _media(request: web.Request, form: Any) -> list[tuple[str, str | None, bytes]]:
    """Files in a multipart request's ``media`` fields (the v2.1 draft's upload)."""
    settings = request.app[SETTINGS]
    files = []
    for part in form.getall("media", []):
        if not isinstance(part, web.FileField):
            continue  # a media_url: not fetched (docs/open311.md)
        ctype = (part.content_type or "").split(";")[0]
        if ctype not in ALLOWED_TYPES:
            raise ApiError("unsupported_media_type")
        data = part.file.read()
        if len(data) > settings.gateway_max_media_bytes:
            raise ApiError("payload_too_large")
        files.append((ctype, part.filename, data))
        if len(files) > settings.gateway_max_media_files:
            raise ApiError("too_many_files")
    return files


@open311
async def post_request(request: web.Request) -> web.Response:
    fmt = request.match_info["format"]
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise ApiError("unsupported_media_type")
    try:
        form = await request.post()
    except (ValueError, AssertionError, HttpProcessingError) as exc:
        raise Open311Error(400, [(400, f"body: {_message('open311_invalid_request')}")]) from exc
    key = form.get("api_key") or request.query.get("api_key")  # the form's, or the query's
    client = _client(request, key if isinstance(key, str) else None)
    if not form.get("service_code"):
        raise Open311Error(400, [(400, "service_code: required — This field is required.")])
    if form.get("service_code") not in CATEGORIES:
        raise Open311Error(400, [(400, f"service_code {form.get('service_code')!r}: not found")])
    sub = validated(FieldFeedbackIn, submission_body(form))
    ensure_publisher(request.app)
    files = await _media(request, form)
    accepted = await publish_submission(
        request.app, sub, files, request.headers.get("Idempotency-Key"), channel="open311"
    )
    log.info("open311: request accepted", extra={"client": client, "case_id": accepted.case_id})
    where = f"{PREFIX}/requests/{accepted.case_id}.{fmt}"
    notice = f"Đã nhận phản ánh; theo dõi tại {where} / Received; follow it at {where}"
    item = {
        "service_request_id": accepted.case_id,
        "token": accepted.case_id,
        "service_notice": notice,
        "account_id": None,
    }
    return render(fmt, "service_requests", [item])


# --- reads ------------------------------------------------------------------------------------
def _status_notes(case: dict[str, Any], events: list[dict[str, Any]]) -> str:
    status = case["status"]
    if status in ("published", "closed", "rated_unsatisfied"):
        result = published_result(events)
        if result and result.get("text"):
            return str(result["text"])
    if status == "rejected":
        reasons = [
            e["payload"].get("reason")
            for e in events
            if e["event_type"] == "case_transition" and e["payload"].get("command") == "reject"
        ]
        vi, en = STATUS_NOTES["rejected"]
        reason = f": {reasons[-1]}" if reasons and reasons[-1] else ""
        return f"{vi}{reason} / {en}{reason}"
    if status in STATUS_NOTES:
        return " / ".join(STATUS_NOTES[status])
    return status


def _expected(case: dict[str, Any]) -> str | None:
    if case["status"] in CLOSED:
        return None
    if case["status"] == "submitted":
        return iso(case["receive_due_at"])
    return iso(case["handle_due_at"] or case["assign_due_at"])


def request_record(case: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """One service request as Open311 shows it: nothing about the sender; for a confidential
    case only the commune, never the exact place (a place can point at a person)."""
    directory = default_directory()
    unit = directory.find(case["unit_code"]) if case["unit_code"] else None
    commune = directory.find(case["commune_code"]) if case["commune_code"] else None
    confidential = bool(case["confidential"])
    address = None
    if not confidential:
        for e in events:
            if e["event_type"] == "case_submitted":
                address = (e["payload"].get("location") or {}).get("address")
    if address is None and commune is not None:
        address = commune.name_vi
    c = CATEGORIES.get(case["category"])
    return {
        "service_request_id": case["case_id"],
        "status": "closed" if case["status"] in CLOSED else "open",
        "status_notes": _status_notes(case, events),
        "service_name": c.vi if c else case["category"],
        "service_code": case["category"],
        # the title once the result is public; the sender's own text is never published
        "description": case["title"] if case["published_at"] is not None else None,
        "agency_responsible": unit.name_vi if unit else (case["unit_code"] or None),
        "service_notice": None,
        "requested_datetime": iso(case["submitted_at"]),
        "updated_datetime": iso(case["updated_at"]),
        "expected_datetime": _expected(case),
        "address": address,
        "address_id": None,
        "zipcode": None,
        "lat": None if confidential else case["lat"],
        "long": None if confidential else case["lon"],
        "media_url": None,
    }


def accepted_record(a: AcceptedCase) -> dict[str, Any]:
    """A request this gateway accepted moments ago (not in the warehouse yet): what it knows."""
    directory = default_directory()
    commune = directory.find(a.commune_code) if a.commune_code else None
    c = CATEGORIES.get(a.category)
    return {
        "service_request_id": a.case_id,
        "status": "open",
        "status_notes": "submitted",
        "service_name": c.vi if c else a.category,
        "service_code": a.category,
        "description": None,
        "agency_responsible": None,
        "service_notice": None,
        "requested_datetime": iso(a.submitted_at),
        "updated_datetime": iso(a.submitted_at),
        "expected_datetime": None,
        "address": commune.name_vi if a.confidential and commune else a.address,
        "address_id": None,
        "zipcode": None,
        "lat": None if a.confidential else a.lat,
        "long": None if a.confidential else a.lon,
        "media_url": None,
    }


async def _records(request: web.Request, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    reader = request.app[READER]
    events = await read(
        reader.case_events([c["case_id"] for c in cases], ["case_submitted", "case_transition"])
    )
    by_case: dict[str, list[dict[str, Any]]] = {}
    for e in events:
        by_case.setdefault(e["case_id"], []).append(e)
    return [request_record(c, by_case.get(c["case_id"], [])) for c in cases]


def _aware(t: datetime | None) -> datetime | None:
    return clamped(t if t is None or t.tzinfo else t.replace(tzinfo=UTC))


def _valid_ids(raw: str) -> list[str]:
    ids = []
    for item in filter(None, (p.strip() for p in raw.split(","))):
        try:
            ids.append(str(uuid.UUID(item)))
        except ValueError:
            continue  # never ours: matches nothing
    return ids


@open311
async def get_requests(request: web.Request) -> web.Response:
    fmt, q = request.match_info["format"], query_of(request)  # Open311RequestsQuery
    page, size = q.page, q.page_size
    reader = request.app[READER]
    if q.service_request_id:  # the standard: every other filter is then ignored
        ids = _valid_ids(q.service_request_id)
        cases = (
            await read(reader.requests(case_ids=ids, offset=0, limit=MAX_PAGE_SIZE)) if ids else []
        )
    else:
        codes = [c.strip() for c in (q.service_code or "").split(",") if c.strip()]
        if unknown := [c for c in codes if c not in CATEGORIES]:
            raise Open311Error(400, [(400, f"service_code {unknown[0]!r}: not found")])
        statuses: list[str] = []
        for s in filter(None, (p.strip() for p in (q.status or "").split(","))):
            statuses += OPEN if s == "open" else CLOSED
        end = _aware(q.end_date)
        start = _aware(q.start_date)
        if start is None and end is None:
            start = datetime.now(UTC) - timedelta(days=DEFAULT_DAYS)
        elif start is None and end is not None:
            start = end - timedelta(days=DEFAULT_DAYS)
        cases = await read(
            reader.requests(
                categories=codes or None,
                statuses=statuses or None,
                since=start,
                until=end,
                bbox=q.box(),
                near=q.near(),
                offset=(page - 1) * size,
                limit=size,
            )
        )
    return render(fmt, "service_requests", await _records(request, cases))


@open311
async def get_request(request: web.Request) -> web.Response:
    fmt, raw = request.match_info["format"], request.match_info["service_request_id"]
    ids = _valid_ids(raw)
    cases = await read(request.app[READER].requests(case_ids=ids, limit=1)) if ids else []
    if cases:
        return render(fmt, "service_requests", await _records(request, cases))
    accepted = request.app[ACCEPTED].get(ids[0]) if ids else None
    if accepted is None:
        raise Open311Error(404, [(404, f"service_request_id {raw[:64]!r}: not found")])
    return render(fmt, "service_requests", [accepted_record(accepted)])


@open311
async def get_token(request: web.Request) -> web.Response:
    fmt, token = request.match_info["format"], request.match_info["token"]
    ids = _valid_ids(token)
    cases = await read(request.app[READER].requests(case_ids=ids, limit=1)) if ids else []
    known = [c["case_id"] for c in cases] or [
        a.case_id for a in [request.app[ACCEPTED].get(ids[0]) if ids else None] if a
    ]
    if not known:
        raise Open311Error(404, [(404, f"token {token[:64]!r}: not found")])
    items = [{"service_request_id": str(known[0]), "token": token}]
    return render(fmt, "service_requests", items)


def problem_as_open311(path: str, resp: web.Response) -> web.Response:
    """A problem answered on an Open311 path (404, 405, 429, ...) in GeoReport's error format,
    in the format the path asks for; the headers (Allow, Retry-After) are kept."""
    body = json.loads(resp.text or "{}")
    fmt = "json" if path.endswith(".json") else "xml"
    status = resp.status
    errors = [
        (status, f"{f['field']}: {f['code']} — {f['message']['en']}")
        for f in body.get("fields", [])
    ]
    out = render_errors(
        fmt, Open311Error(status, errors or [(status, f"{body.get('code')}: {path[:200]}")])
    )
    for name in ("Allow", "Retry-After"):
        if name in resp.headers:
            out.headers[name] = resp.headers[name]
    return out
