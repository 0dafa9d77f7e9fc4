"""The OpenAPI 3.1 document, generated from the route table (gateway/routes/__init__.py).

Schemas are pydantic's JSON Schema of the very models that validate; every operation lists each
status it can answer: its success replies, the problems of the catalogue it names, and those the
plumbing adds (401 on bearer routes, 413/415/400/422 on bodies, 400 on queries, 429 where rate
limited). The document is checked against openapi-pydantic's typed OpenAPI 3.1 model when built:
a malformed operation fails there, not in a client.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from openapi_pydantic.v3.v3_1 import OpenAPI
from pydantic import BaseModel

from gateway.http.auth import RULES
from gateway.http.errors import ERRORS, FIELD_MESSAGES
from gateway.http.table import Body, Route

REF = "#/components/schemas/{model}"
AUTH_401 = (
    "token_missing",
    "token_malformed",
    "token_invalid",
    "token_expired",
    "token_not_yet_valid",
    "token_wrong_issuer",
    "token_wrong_audience",
    "token_claims_invalid",
)
STATUS_TEXT = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict with the current state",
    410: "Gone",
    413: "Too large",
    415: "Unsupported media type",
    422: "Not valid",
    429: "Too many requests",
    503: "Unavailable: retry after Retry-After seconds",
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details, with the gateway's stable code and messages.",
    "required": ["type", "title", "status", "code", "message"],
    "properties": {
        "type": {"type": "string", "format": "uri-reference"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string", "enum": sorted(ERRORS)},
        "message": {
            "type": "object",
            "required": ["vi", "en"],
            "properties": {"vi": {"type": "string"}, "en": {"type": "string"}},
        },
        "fields": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["field", "code", "message"],
                "properties": {
                    "field": {"type": "string"},
                    "code": {"type": "string"},
                    "message": {"type": "object"},
                    "detail": {"type": "string"},
                },
            },
        },
    },
}


class _Schemas:
    """Component schemas gathered from the models the table names."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {"Problem": PROBLEM_SCHEMA}

    def of(self, schema: type[BaseModel] | Mapping[str, Any] | None) -> dict[str, Any] | None:
        if schema is None:
            return None
        if isinstance(schema, type) and issubclass(schema, BaseModel):
            name = schema.__name__
            if name not in self.components:
                js = schema.model_json_schema(ref_template=REF)
                self.components |= js.pop("$defs", {})
                self.components[name] = js
            return {"$ref": REF.format(model=name)}
        return dict(schema)

    def query_params(self, model: type[BaseModel]) -> list[dict[str, Any]]:
        js = model.model_json_schema(ref_template=REF)
        self.components |= js.pop("$defs", {})
        required = set(js.get("required", ()))
        out = []
        for name, prop in js["properties"].items():
            param = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": {k: v for k, v in prop.items() if k not in ("title", "description")},
            }
            if prop.get("description"):
                param["description"] = prop["description"]
            out.append(param)
        return out


def roles_of(route: Route) -> list[str]:
    return sorted({role for action in route.actions for role in RULES[action].roles})


def problem_statuses(route: Route) -> dict[int, list[str]]:
    """status -> the problem codes this route may answer with it."""
    codes = list(route.errors)
    if any(p.where == "path" for p in route.params):
        codes.append("not_found")  # a value the path's pattern refuses is an unknown resource
    if route.auth == "bearer" or (route.auth == "bearer_optional"):
        codes += AUTH_401
    if route.actions:
        codes.append("role_not_allowed")
    if route.body is not None:
        codes += ["payload_too_large", "unsupported_media_type", "validation_failed"]
        if "application/json" in route.body.content:
            codes.append("invalid_json")
        if "multipart/form-data" in route.body.content:
            codes.append("invalid_multipart")
    if route.query is not None:
        codes.append("invalid_query")
    if any(p.where == "header" for p in route.params):
        codes.append("invalid_header")
    if route.limited:
        codes.append("rate_limited")
    out: dict[int, list[str]] = {}
    for code in dict.fromkeys(codes):
        out.setdefault(ERRORS[code][0], []).append(code)
    return out


def _content(
    media_types: Iterable[str], schema: dict[str, Any] | None, example: Any = None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mt in media_types:
        entry: dict[str, Any] = {}
        if schema is not None:
            entry["schema"] = schema
        if example is not None:
            entry["example"] = example
        out[mt] = entry
    return out


def _body(body: Body, schemas: _Schemas) -> dict[str, Any]:
    content = {}
    for mt, schema in body.content.items():
        entry: dict[str, Any] = {"schema": schemas.of(schema)}
        if mt in body.examples:
            entry["example"] = body.examples[mt]
        if mt.startswith("multipart/") and body.encoding:
            entry["encoding"] = {name: dict(e) for name, e in body.encoding.items()}
        content[mt] = entry
    return {"required": body.required, "content": content}


def operation(route: Route, schemas: _Schemas) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [route.tag],
    }
    roles = roles_of(route)
    description = route.description
    if roles:
        description += f"\n\nRoles: {', '.join(roles)} (docs/auth.md)."
    if description.strip():
        op["description"] = description.strip()
    params = [
        {
            "name": p.name,
            "in": p.where,
            "required": p.required or p.where == "path",
            "schema": dict(p.schema),
            **({"description": p.description} if p.description else {}),
        }
        for p in route.params
    ]
    if route.query is not None:
        params += schemas.query_params(route.query)
    if params:
        op["parameters"] = params
    if route.body is not None:
        op["requestBody"] = _body(route.body, schemas)
    if route.auth == "bearer":
        op["security"] = [{"bearer": roles}]
    elif route.auth == "bearer_optional":
        op["security"] = [{"bearer": roles}, {}]
    elif route.auth == "api_key":
        op["security"] = [{"open311_api_key": []}]
    if roles:
        op["x-roles"] = roles
    if route.streaming:
        op["x-streaming"] = True
    responses: dict[str, Any] = {}
    for status, reply in route.ok.items():
        resp: dict[str, Any] = {"description": reply.description}
        if reply.media_types:
            resp["content"] = _content(reply.media_types, schemas.of(reply.schema))
        if reply.headers:
            resp["headers"] = {
                name: {"description": d, "schema": {"type": "string"}}
                for name, d in reply.headers.items()
            }
        if reply.links:
            resp["links"] = {name: dict(link) for name, link in reply.links.items()}
        responses[str(status)] = resp
    problem = {"$ref": REF.format(model="Problem")}
    for status, codes in sorted(problem_statuses(route).items()):
        resp = {
            "description": f"{STATUS_TEXT.get(status, 'Refused')}: "
            + ", ".join(f"`{c}`" for c in codes),
            "content": _content(
                route.error_media_types,
                problem if route.error_media_types == ("application/problem+json",) else None,
            ),
        }
        if status in (429, 503) or "rate_limited" in codes:
            resp["headers"] = {
                "Retry-After": {"description": "Seconds to wait", "schema": {"type": "string"}}
            }
        if status == 401:
            resp["headers"] = {
                "WWW-Authenticate": {
                    "description": "RFC 6750 challenge",
                    "schema": {"type": "string"},
                }
            }
        responses[str(status)] = resp
    op["responses"] = responses
    op["x-problem-codes"] = sorted({c for cs in problem_statuses(route).values() for c in cs})
    return op


def openapi_document(routes: Iterable[Route], server_url: str) -> dict[str, Any]:
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        item = paths.setdefault(route.path, {})
        item[route.method.lower()] = operation(route, schemas)
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "PAKN gateway",
            "version": "0.2.0",
            "description": "Citizen feedback (phản ánh, kiến nghị) of Hanoi: submission, "
            "tracking, officers' commands, publication, oversight, warnings, reception and "
            "Open311 GeoReport v2. Every refusal is an RFC 9457 problem with a stable `code` and "
            "Vietnamese and English messages (GET /problems/{code}). A method a path does not "
            "declare is answered 405 with Allow.",
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A JWT with `role` (and `unit` for officers, `pseudonym` for "
                    "senders): docs/auth.md. Each operation lists the roles it accepts.",
                },
                "open311_api_key": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "api_key",
                    "description": "Open311 api_key (also accepted as the `api_key` form field, "
                    "as GeoReport v2 sends it); issued by the operator (PAKN_OPEN311_API_KEYS).",
                },
            },
            "x-field-codes": sorted(FIELD_MESSAGES),
        },
    }
    OpenAPI.model_validate(doc)  # the typed OpenAPI 3.1 model: a malformed document fails here
    return doc
