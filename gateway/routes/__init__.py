"""THE route table of the gateway: every operation, once.

Both the aiohttp routes (gateway/http/table.py ``install``) and the OpenAPI 3.1 document
(gateway/http/openapi.py, served at /openapi.json) are generated from ``TABLE``. A route names
its handler, its body / query / path models, the actions of gateway/http/auth.py ``RULES`` that it
checks (hence the roles), its success replies and the problem codes it may answer; the plumbing
adds the problems every route of its kind can give (401, 413/415/422, 400 invalid_query, 429).

To add an endpoint: write the handler in the module of its resource, then one ``Route`` below in
its section. (The open-data export has its section reserved at the end.)
"""

from __future__ import annotations

from typing import Any

from gateway.http.auth import RULES
from gateway.http.table import Body, Param, Reply, Route
from gateway.models import FieldFeedbackIn
from gateway.routes import commands, intake, open311, opendata, ops, public, reception
from gateway.routes import privacy as privacy_routes
from gateway.routes import warnings as warnings_routes
from gateway.routes.commands import CommandIn
from gateway.routes.models import (
    Accepted,
    CommandAnswer,
    FlagsQuery,
    Open311RequestForm,
    Open311RequestsQuery,
    OpenDataQuery,
    ReidentifyIn,
    ResultsQuery,
    WarningPlaceQuery,
)
from gateway.routes.reception import BookIn, OwnerIn, SessionIn
from gateway.routes.warnings import ContentIn, SubscriptionIn, WarningCommandIn
from processors.catalogue import CATEGORIES
from processors.reception import CANCEL, CHECK_IN, MOVE, NO_SHOW

UUID = {"type": "string", "format": "uuid"}
CASE_ID = Param("case_id", "path", UUID, "The case id (UUID) given by POST /v1/feedback.")
IDEMPOTENCY = Param(
    "Idempotency-Key",
    "header",
    {"type": "string", "minLength": 1, "maxLength": 200},
    "A retry with the same key is the same request (no second case or command).",
    required=False,
)
ANY_JSON: dict[str, Any] = {"type": "object"}
ANY_LIST: dict[str, Any] = {"type": "array", "items": {"type": "object"}}
JSON = ("application/json",)
CASE_LINKS = {
    "GetCase": {"operationId": "getCase", "parameters": {"case_id": "$response.body#/case_id"}},
    "TrackCase": {
        "operationId": "trackCase",
        "parameters": {"case_id": "$response.body#/case_id"},
    },
    "CommandCase": {
        "operationId": "postCommand",
        "parameters": {"case_id": "$response.body#/case_id"},
    },
}
FEEDBACK_EXAMPLE = {
    "category": "road_damage",
    "title": "Ổ gà trên phố Huế",
    "description": "Ổ gà lớn giữa làn đường, xe máy dễ ngã vào buổi tối.",
    "location": {"lat": 21.0122, "lon": 105.8522, "address": "120 Phố Huế, Hai Bà Trưng"},
    "sender": {
        "full_name": "Nguyễn Văn An",
        "id_number": "001203012345",
        "phone": "0912345678",
        "email": "an.nguyen@example.vn",
    },
}

# --- citizens' submissions and their cases ----------------------------------------------------
FEEDBACK = [
    Route(
        "POST",
        "/v1/feedback",
        intake.post_feedback,
        "postFeedback",
        "Submit feedback (phản ánh, kiến nghị)",
        "cases",
        {
            202: Reply(
                "Accepted: Kafka confirmed the write",
                Accepted,
                headers={"Location": "The case's URL"},
                links=CASE_LINKS,
            )
        },
        description="Answers 202 only after Kafka confirmed the write. multipart/form-data: a "
        "`submission` part (this JSON) and up to 10 `media` files.",
        body=Body(
            {
                "application/json": FieldFeedbackIn,
                "multipart/form-data": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["submission"],
                    "properties": {
                        "submission": {"$ref": "#/components/schemas/FieldFeedbackIn"},
                        "media": {
                            "type": "array",
                            "maxItems": 10,
                            "items": {"type": "string", "format": "binary"},
                        },
                    },
                },
            },
            examples={"application/json": FEEDBACK_EXAMPLE},
            encoding={
                "submission": {"contentType": "application/json"},
                "media": {"contentType": "image/jpeg, image/png, image/webp, image/heic"},
            },
        ),
        params=(IDEMPOTENCY,),
        errors=("invalid_media", "too_many_files", "kafka_unavailable", "media_store_unavailable"),
    ),
    Route(
        "GET",
        "/v1/cases/{case_id}",
        intake.get_case,
        "getCase",
        "Track a case (public status)",
        "cases",
        {200: Reply("The case", ANY_JSON)},
        params=(CASE_ID,),
        errors=("not_found", "warehouse_unavailable"),
    ),
    Route(
        "GET",
        "/v1/cases/{case_id}/tracking",
        public.tracking,
        "trackCase",
        "The sender's own view: timeline, deadlines, on time or not",
        "cases",
        {200: Reply("The case as its sender sees it", ANY_JSON)},
        auth="bearer",
        actions=("track",),
        params=(CASE_ID,),
        errors=("not_found", "not_your_case", "warehouse_unavailable"),
    ),
    Route(
        "POST",
        "/v1/cases/{case_id}/commands",
        commands.post_command,
        "postCommand",
        "An officer's or the sender's action on a case (docs/workflow.md)",
        "cases",
        {
            200: Reply("Accepted by the worker: the new status", CommandAnswer),
            202: Reply(
                "Outcome pending: see Location",
                ANY_JSON,
                headers={"Location": "GET /v1/commands/{command_id}"},
                links={
                    "GetCommand": {
                        "operationId": "getCommand",
                        "parameters": {"command_id": "$response.body#/command_id"},
                    }
                },
            ),
        },
        description="The role is checked here; the worker binds unit and sender to the case and "
        "answers refusals with their codes.",
        auth="bearer",
        actions=tuple(a for a in sorted(commands.COMMANDS) if a in RULES),
        body=Body(
            {"application/json": CommandIn},
            examples={"application/json": {"command": "receive"}},
        ),
        params=(CASE_ID, IDEMPOTENCY),
        errors=(
            "not_found",
            "unknown_case",
            "invalid_transition",
            "command_refused",
            "unknown_media",
            "not_your_unit",
            "not_your_case",
            "kafka_unavailable",
        ),
    ),
    Route(
        "GET",
        "/v1/commands/{command_id}",
        commands.get_command,
        "getCommand",
        "A command's outcome (after a 202)",
        "cases",
        {200: Reply("The outcome", CommandAnswer)},
        params=(Param("command_id", "path", {"type": "string", "maxLength": 64}),),
        errors=("not_found",),
    ),
    Route(
        "POST",
        "/v1/media",
        intake.post_media,
        "postMedia",
        "Upload evidence (multipart `media` parts); answered with their references",
        "cases",
        {201: Reply("References to quote in commands", ANY_JSON)},
        auth="bearer",
        actions=("upload_media",),
        body=Body(
            {
                "multipart/form-data": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["media"],
                    "properties": {
                        "media": {
                            "type": "array",
                            "minItems": 1,
                            "maxItems": 10,
                            "items": {"type": "string", "format": "binary"},
                        }
                    },
                }
            }
        ),
        errors=("invalid_multipart", "invalid_media", "too_many_files", "media_store_unavailable"),
    ),
    Route(
        "GET",
        "/v1/categories",
        intake.categories,
        "listCategories",
        "Categories (lĩnh vực)",
        "cases",
        {200: Reply("The categories", ANY_LIST)},
    ),
]

# --- publication, oversight, the unit's view, re-identification -------------------------------
PUBLIC = [
    Route(
        "GET",
        "/v1/results",
        public.list_results,
        "listResults",
        "Published results (no personal data)",
        "publication",
        {
            200: Reply("A page", ANY_JSON, headers={"ETag": "Hash of the page"}),
            304: Reply("Not modified", media_types=()),
        },
        query=ResultsQuery,
        errors=("warehouse_unavailable",),
    ),
    Route(
        "GET",
        "/v1/results/{case_id}",
        public.get_result,
        "getResult",
        "A published result",
        "publication",
        {200: Reply("The result", ANY_JSON), 304: Reply("Not modified", media_types=())},
        params=(CASE_ID,),
        errors=("not_found", "warehouse_unavailable"),
    ),
    Route(
        "GET",
        "/v1/cases/{case_id}/integrity",
        public.integrity,
        "getIntegrity",
        "Integrity flags of a case with their evidence (the responsible unit's officers)",
        "cases",
        {200: Reply("The flags", ANY_JSON)},
        auth="bearer",
        actions=("read_integrity",),
        params=(CASE_ID,),
        errors=("not_found", "not_your_unit", "warehouse_unavailable"),
    ),
    Route(
        "GET",
        "/v1/oversight/units/{unit}/months/{month}",
        public.unit_month,
        "getUnitMonth",
        "A unit's monthly figures (oversight)",
        "oversight",
        {200: Reply("The figures", ANY_JSON)},
        auth="bearer",
        actions=("oversight_read",),
        params=(
            Param("unit", "path", {"type": "string", "pattern": r"^[A-Za-z0-9._-]{1,64}$"}),
            Param("month", "path", {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"}),
        ),
        errors=("not_found", "invalid_month", "warehouse_unavailable"),
    ),
    Route(
        "GET",
        "/v1/oversight/flags",
        public.oversight_flags,
        "listOversightFlags",
        "Oversight flags of a month",
        "oversight",
        {200: Reply("The flags", ANY_JSON)},
        auth="bearer",
        actions=("oversight_read",),
        query=FlagsQuery,
        errors=("invalid_month", "warehouse_unavailable"),
    ),
    Route(
        "GET",
        "/v1/agency/cases/{case_id}",
        privacy_routes.get_agency_case,
        "getAgencyCase",
        "A case as its unit's officers see it (a confidential sender stays hidden)",
        "cases",
        {200: Reply("The case", ANY_JSON)},
        auth="bearer",
        actions=("read_case",),
        params=(CASE_ID,),
        errors=("not_found", "not_your_unit", "identity_unavailable", "warehouse_unavailable"),
    ),
    Route(
        "POST",
        "/v1/admin/cases/{case_id}/reidentify",
        privacy_routes.post_reidentify,
        "reidentifySender",
        "Re-identify the sender (operator only; audited)",
        "privacy",
        {200: Reply("The identity, with the audit id", ANY_JSON)},
        auth="bearer",
        actions=("reidentify",),
        body=Body(
            {"application/json": ReidentifyIn},
            examples={"application/json": {"justification": "Court order 12/2026 of the city"}},
        ),
        params=(CASE_ID,),
        errors=(
            "not_found",
            "identity_unavailable",
            "identity_erased",
            "kafka_unavailable",
            "warehouse_unavailable",
        ),
    ),
]

# --- citizen reception -------------------------------------------------------------------------
SESSION = Param("session_id", "path", {"type": "string", "pattern": r"^[A-Za-z0-9_-]{1,64}$"})
CODE = Param("code", "path", {"type": "string", "pattern": r"^[A-Za-z0-9_-]{1,64}$"})
SLOT = Param("slot_id", "path", {"type": "string", "pattern": r"^[A-Za-z0-9_-]{1,32}$"})
RB = "/v1/reception/sessions"
RECEPTION_REFUSALS = (
    "not_found",
    "unknown_session",
    "kafka_unavailable",
)
PENDING = Reply(
    "Not answered in time: see Location",
    ANY_JSON,
    headers={"Location": "GET /v1/reception/requests/{request_id}"},
)


def _reception(
    method: str,
    path: str,
    handler: Any,
    op_id: str,
    summary: str,
    ok: int = 200,
    body: Any = None,
    example: Any = None,
    office: str | None = None,
    errors: tuple[str, ...] = (),
) -> Route:
    params = tuple(p for p in (SESSION, CODE, SLOT) if "{" + p.name + "}" in path) + (
        (IDEMPOTENCY,) if method == "POST" else ()
    )
    return Route(
        method,
        path,
        handler,
        op_id,
        summary,
        "reception",
        {
            ok: Reply("The office's answer", ANY_JSON),
            **({202: PENDING} if method == "POST" else {}),
        },
        auth="bearer" if office else ("bearer_optional" if body is not None else "none"),
        actions=(office,) if office else (),
        body=Body({"application/json": body}, {"application/json": example}, required=False)
        if body is not None
        else None,
        params=params,
        errors=tuple(dict.fromkeys((*RECEPTION_REFUSALS, *errors))),
    )


SESSION_EXAMPLE = {
    "date": "2026-03-10",
    "leader": "Phó Chủ tịch UBND phường",
    "topics": ["đất đai"],
    "slots": [{"slot_id": "s0800", "start": "08:00", "end": "08:30", "capacity": 5}],
}
BOOK_EXAMPLE = {
    "slot_id": "s0800",
    "subject": "Tranh chấp ranh giới đất",
    "citizen": {"full_name": "Nguyễn Văn An", "id_number": "001203012345", "phone": "0912345678"},
}
BOOKING_REFUSALS = (
    "unknown_booking",
    "not_your_booking",
    "booking_not_active",
    "identity_mismatch",
    "reception_refused",
)
RECEPTION = [
    _reception(
        "POST",
        RB,
        reception.post_session,
        "postReceptionSession",
        "Publish a reception session (office)",
        201,
        SessionIn,
        SESSION_EXAMPLE,
        "reception_publish",
        ("not_a_working_day", "slot_outside_office_hours", "reception_refused"),
    ),
    _reception(
        "GET", RB + "/{session_id}", reception.get_session, "getReceptionSession", "A session"
    ),
    _reception(
        "POST",
        RB + "/{session_id}/bookings",
        reception.post_booking,
        "postBooking",
        "Book a place (identity sealed; sender token optional)",
        201,
        BookIn,
        BOOK_EXAMPLE,
        errors=(
            "booking_not_open",
            "booking_closed",
            "unknown_slot",
            "slot_full",
            "already_booked",
            "identity_mismatch",
            "reception_refused",
        ),
    ),
    _reception(
        "POST",
        RB + "/{session_id}/bookings/{code}/cancel",
        reception._citizen_action(CANCEL),
        "cancelBooking",
        "Cancel a booking (the citizen)",
        body=OwnerIn,
        example={"id_number": "001203012345"},
        errors=(*BOOKING_REFUSALS, "session_started"),
    ),
    _reception(
        "POST",
        RB + "/{session_id}/bookings/{code}/move",
        reception._citizen_action(MOVE),
        "moveBooking",
        "Move a booking to another slot (the citizen)",
        body=OwnerIn,
        example={"id_number": "001203012345", "slot_id": "s0830"},
        errors=(*BOOKING_REFUSALS, "same_slot", "unknown_slot", "slot_full", "session_started"),
    ),
    _reception(
        "POST",
        RB + "/{session_id}/bookings/{code}/check-in",
        reception._office_action(CHECK_IN),
        "checkInBooking",
        "Check a citizen in (office)",
        office="reception_attend",
        errors=(*BOOKING_REFUSALS, "session_not_started"),
    ),
    _reception(
        "POST",
        RB + "/{session_id}/bookings/{code}/no-show",
        reception._office_action(NO_SHOW),
        "markNoShow",
        "Mark a no-show (office)",
        office="reception_attend",
        errors=(*BOOKING_REFUSALS, "session_not_started"),
    ),
    _reception(
        "GET",
        RB + "/{session_id}/slots/{slot_id}/bookings",
        reception.get_slot_bookings,
        "listSlotBookings",
        "A slot's list with the citizens' identity (office)",
        office="reception_list",
        errors=("unknown_slot", "identity_unavailable"),
    ),
    Route(
        "GET",
        "/v1/reception/requests/{request_id}",
        reception.get_request,
        "getReceptionRequest",
        "The outcome of a reception request (after a 202)",
        "reception",
        {200: Reply("The office's answer", ANY_JSON)},
        params=(Param("request_id", "path", {"type": "string", "maxLength": 64}),),
        errors=("not_found",),
    ),
]

# --- warnings to citizens ----------------------------------------------------------------------
WARNING_ID = Param("warning_id", "path", {"type": "string", "pattern": r"^[A-Za-z0-9_-]{1,64}$"})
WARNING_ACT = Reply("Accepted for processing: the command id", ANY_JSON)
WARNING_REFUSALS = (
    "kafka_unavailable",
    "warnings_unavailable",
    "warning_exists",
    "warning_not_found",
    "not_draft",
    "not_approved",
    "warning_final",
    "warning_expired",
    "invalid_content",
    "unknown_commune",
    "empty_area",
    "invalid_times",
    "superseded_by_missing",
)
CONTENT_EXAMPLE = {
    "category": "Met",
    "severity": "Severe",
    "urgency": "Expected",
    "area": {"communes": ["00070"]},
    "effective": "2026-07-01T06:00:00+07:00",
    "expires": "2026-07-02T06:00:00+07:00",
    "headline_vi": "Cảnh báo mưa lớn",
    "text_vi": "Mưa lớn gây ngập cục bộ, hạn chế ra đường.",
}
WARNINGS = [
    Route(
        "POST",
        "/v1/warnings",
        warnings_routes.post_warning,
        "postWarning",
        "Draft a warning to citizens",
        "warnings",
        {202: WARNING_ACT},
        auth="bearer",
        actions=("warning_draft",),
        body=Body({"application/json": ContentIn}, {"application/json": CONTENT_EXAMPLE}),
        errors=WARNING_REFUSALS,
    ),
    Route(
        "GET",
        "/v1/warnings",
        warnings_routes.list_warnings,
        "listWarnings",
        "Active warnings for a place",
        "warnings",
        {200: Reply("The warnings", ANY_JSON)},
        query=WarningPlaceQuery,
        errors=("unknown_commune", "warnings_unavailable"),
    ),
    Route(
        "GET",
        "/v1/warnings.atom",
        warnings_routes.get_atom,
        "warningsAtom",
        "Atom feed of active alerts",
        "warnings",
        {200: Reply("Atom 1.0", {"type": "string"}, ("application/atom+xml",))},
        errors=("warnings_unavailable",),
    ),
    Route(
        "GET",
        "/v1/warnings/stream",
        warnings_routes.stream_warnings,
        "streamWarnings",
        "Live warnings for a place (Server-Sent Events)",
        "warnings",
        {200: Reply("An endless event stream", {"type": "string"}, ("text/event-stream",))},
        query=WarningPlaceQuery,
        errors=("unknown_commune", "warnings_unavailable"),
        streaming=True,
    ),
    Route(
        "PUT",
        "/v1/warnings/subscription",
        warnings_routes.put_subscription,
        "putWarningSubscription",
        "A citizen's warning subscription (sender token)",
        "warnings",
        {202: Reply("Accepted", ANY_JSON)},
        auth="bearer",
        actions=("warning_subscribe",),
        body=Body(
            {"application/json": SubscriptionIn},
            {
                "application/json": {
                    "token": "fcm-token-123",
                    "channel": "fcm",
                    "home_commune": "00070",
                }
            },
        ),
        errors=("unknown_commune", "kafka_unavailable"),
    ),
    Route(
        "GET",
        "/v1/warnings/{warning_id}.cap",
        warnings_routes.get_warning_cap,
        "getWarningCap",
        "The warning as an OASIS CAP 1.2 message",
        "warnings",
        {200: Reply("CAP 1.2", {"type": "string"}, ("application/cap+xml",))},
        params=(WARNING_ID,),
        errors=("not_found", "warnings_unavailable"),
    ),
    Route(
        "GET",
        "/v1/warnings/{warning_id}",
        warnings_routes.get_warning,
        "getWarning",
        "One warning",
        "warnings",
        {200: Reply("The warning", ANY_JSON)},
        params=(WARNING_ID,),
        errors=("not_found", "warnings_unavailable"),
    ),
    Route(
        "POST",
        "/v1/warnings/{warning_id}/commands",
        warnings_routes.post_warning_command,
        "postWarningCommand",
        "Edit, approve, update, cancel or supersede a warning",
        "warnings",
        {202: WARNING_ACT},
        auth="bearer",
        actions=(
            "warning_edit",
            "warning_approve",
            "warning_update",
            "warning_cancel",
            "warning_supersede",
        ),
        body=Body(
            {"application/json": WarningCommandIn}, {"application/json": {"command": "approve"}}
        ),
        params=(WARNING_ID,),
        errors=(
            "not_found",
            "not_your_unit",
            *WARNING_REFUSALS,
        ),
    ),
]

# --- Open311 GeoReport v2 ---------------------------------------------------------------------
FMT = Param(
    "format",
    "path",
    {"type": "string", "enum": ["xml", "json"]},
    "xml (the standard) or json",
    route_pattern="(?:xml|json)",
)
FMT_LIST = Param(
    "format",
    "path",
    {"type": "string", "enum": ["xml", "json", "geojson"]},
    "xml (the standard), json, or geojson (a FeatureCollection)",
    route_pattern="(?:xml|json|geojson)",
)
LIST_TYPES = ("text/xml", "application/json", "application/geo+json")
O311 = open311.PREFIX
O311_TYPES = ("text/xml", "application/json")
O311_ERRORS = ("text/xml", "application/json")


def _o311(method: str, path: str, handler: Any, op_id: str, summary: str, **kw: Any) -> Route:
    return Route(
        method,
        O311 + path,
        handler,
        op_id,
        summary,
        "open311",
        kw.pop("ok", {200: Reply("GeoReport v2 answer", None, O311_TYPES)}),
        params=(*kw.pop("params", ()), kw.pop("fmt", FMT)),
        error_media_types=O311_ERRORS,
        **kw,
    )


OPEN311 = [
    _o311("GET", "/discovery.{format}", open311.discovery, "open311Discovery", "Discovery"),
    _o311("GET", "/services.{format}", open311.services, "open311Services", "Service list"),
    _o311(
        "GET",
        "/services/{service_code}.{format}",
        open311.service_definition,
        "open311ServiceDefinition",
        "A service's attributes",
        params=(Param("service_code", "path", {"type": "string", "enum": sorted(CATEGORIES)}),),
        errors=("not_found",),
    ),
    _o311(
        "POST",
        "/requests.{format}",
        open311.post_request,
        "open311PostRequest",
        "Submit a service request (api_key)",
        auth="api_key",
        fmt=FMT_LIST,
        body=Body(
            {
                "application/x-www-form-urlencoded": Open311RequestForm,
                "multipart/form-data": Open311RequestForm,
            },
            {
                "application/x-www-form-urlencoded": {
                    "service_code": "road_damage",
                    "lat": 21.0122,
                    "long": 105.8522,
                    "description": "Ổ gà lớn giữa làn đường, xe máy dễ ngã.",
                    "first_name": "An",
                    "last_name": "Nguyễn Văn",
                    "attribute[id_number]": "001203012345",
                }
            },
        ),
        errors=("open311_invalid_api_key", "open311_invalid_request", "kafka_unavailable"),
    ),
    Route(
        "GET",
        O311 + "/requests.{format}",
        open311.get_requests,
        "open311GetRequests",
        "Service requests (filters: ids, service, status, dates, bbox, radius)",
        "open311",
        {200: Reply("GeoReport v2 list, or a GeoJSON FeatureCollection", None, LIST_TYPES)},
        description="`format=geojson` answers a FeatureCollection (RFC 7946). A place filter "
        "(bbox, or lat+long+radius) never matches a confidential case.",
        params=(FMT_LIST,),
        query=Open311RequestsQuery,
        error_media_types=O311_ERRORS,
        errors=("open311_invalid_request", "warehouse_unavailable"),
    ),
    _o311(
        "GET",
        "/requests/{service_request_id}.{format}",
        open311.get_request,
        "open311GetRequest",
        "One service request",
        params=(Param("service_request_id", "path", {"type": "string", "maxLength": 64}),),
        errors=("not_found", "warehouse_unavailable"),
    ),
    _o311(
        "GET",
        "/tokens/{token}.{format}",
        open311.get_token,
        "open311GetToken",
        "The service request id of a token",
        params=(Param("token", "path", {"type": "string", "maxLength": 64}),),
        errors=("not_found", "warehouse_unavailable"),
    ),
]

# --- operators ----------------------------------------------------------------------------------
OPS = [
    Route(
        "GET",
        "/healthz",
        ops.healthz,
        "healthz",
        "Process alive",
        "ops",
        {200: Reply("ok", ANY_JSON)},
        limited=False,
    ),
    Route(
        "GET",
        "/readyz",
        ops.readyz,
        "readyz",
        "Kafka and ClickHouse reachable",
        "ops",
        {200: Reply("ready", ANY_JSON), 503: Reply("not ready", ANY_JSON)},
        limited=False,
    ),
    Route(
        "GET",
        "/metrics",
        ops.metrics,
        "metrics",
        "Prometheus metrics",
        "ops",
        {200: Reply("text exposition format", {"type": "string"}, ("text/plain",))},
        limited=False,
    ),
    Route(
        "GET",
        "/openapi.json",
        ops.openapi,
        "openapi",
        "This document",
        "ops",
        {200: Reply("OpenAPI 3.1", ANY_JSON)},
    ),
    Route(
        "GET",
        "/problems/{code}",
        ops.problem_type,
        "problemType",
        "What a problem type means (the `type` of every error)",
        "ops",
        {200: Reply("The code, its status and messages", ANY_JSON)},
        params=(Param("code", "path", {"type": "string", "maxLength": 64}),),
        errors=("not_found",),
    ),
]

# --- open data export (docs/open-data.md) --------------------------------------------------------
FORMAT = Param(
    "format",
    "path",
    {"type": "string", "enum": ["csv", "geojson"]},
    "csv or geojson (a FeatureCollection of points; confidential cases have none)",
    route_pattern="(?:csv|geojson)",
)
OPEN_DATA: list[Route] = [
    Route(
        "GET",
        "/v1/open-data/results.{format}",
        opendata.results,
        "openDataResults",
        "A month's published results as CSV or GeoJSON (no personal data), streamed",
        "open-data",
        {
            200: Reply(
                "The results",
                {"description": "CSV text, or a GeoJSON FeatureCollection (RFC 7946)"},
                media_types=("text/csv", "application/geo+json"),
                headers={"Cache-Control": "public, max-age=300"},
            )
        },
        query=OpenDataQuery,
        params=(FORMAT,),
        errors=("invalid_month", "invalid_unit", "invalid_format", "warehouse_unavailable"),
    ),
    Route(
        "GET",
        "/v1/open-data/oversight.csv",
        opendata.oversight,
        "openDataOversight",
        "A month's oversight figures of every unit (or one) as CSV, streamed",
        "open-data",
        {200: Reply("The figures", {"type": "string"}, media_types=("text/csv",))},
        query=OpenDataQuery,
        errors=("invalid_month", "invalid_unit", "warehouse_unavailable"),
    ),
]

TABLE: list[Route] = [
    *FEEDBACK,
    *PUBLIC,
    *RECEPTION,
    *WARNINGS,
    *OPEN311,
    *OPS,
    *OPEN_DATA,
]
