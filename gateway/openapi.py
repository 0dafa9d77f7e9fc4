"""The OpenAPI 3.1 document of the gateway, built from the same pydantic models that validate."""

from __future__ import annotations

from typing import Any

from gateway import reception
from gateway.commands import CommandIn
from gateway.errors import ERRORS, FIELD_MESSAGES
from gateway.models import FieldFeedbackIn
from pakn.settings import Settings


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def openapi_document(settings: Settings) -> dict[str, Any]:
    from gateway.warnings import openapi_parts

    doc = _document(settings)
    paths, schemas = openapi_parts()
    doc["paths"] |= paths
    doc["components"]["schemas"] |= schemas
    return doc


def _document(settings: Settings) -> dict[str, Any]:
    schema = FieldFeedbackIn.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.pop("$defs", {})
    components["FieldFeedbackIn"] = schema
    command = CommandIn.model_json_schema(ref_template="#/components/schemas/{model}")
    components |= command.pop("$defs", {})
    components["CommandIn"] = command
    reception_paths, reception_components = reception.openapi_parts()
    components |= reception_components
    components["Error"] = {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "enum": [*ERRORS, "internal_error"]},
                    "message": {
                        "type": "object",
                        "properties": {"vi": {"type": "string"}, "en": {"type": "string"}},
                    },
                    "fields": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "field": {"type": "string"},
                                "code": {"type": "string", "enum": list(FIELD_MESSAGES)},
                                "message": {"type": "object"},
                            },
                        },
                    },
                },
            }
        },
    }
    components["Accepted"] = {
        "type": "object",
        "properties": {
            "case_id": {"type": "string", "format": "uuid"},
            "status": {"type": "string"},
            "submitted_at": {"type": "string", "format": "date-time"},
            "tracking_url": {"type": "string"},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "PAKN gateway", "version": "0.1.0"},
        "servers": [{"url": settings.public_url}],
        "paths": {
            "/v1/feedback": {
                "post": {
                    "summary": "Submit field feedback (phản ánh, kiến nghị hiện trường)",
                    "description": "Answers 202 only after Kafka confirmed the write. Send an "
                    "Idempotency-Key header so that a retry never creates a second case. "
                    "multipart/form-data: a `submission` part (this JSON) and `media` files.",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string", "maxLength": 200},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/FieldFeedbackIn"}
                            },
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "submission": {"type": "string"},
                                        "media": {
                                            "type": "array",
                                            "items": {"type": "string", "format": "binary"},
                                        },
                                    },
                                }
                            },
                        },
                    },
                    "responses": {
                        "202": {
                            "description": "Accepted",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Accepted"}
                                }
                            },
                        },
                        "400": _error("Body is not JSON / multipart"),
                        "413": _error("Too large"),
                        "415": _error("Unsupported content type"),
                        "422": _error("Invalid fields"),
                        "503": _error("Kafka unavailable; see Retry-After"),
                    },
                }
            },
            "/v1/cases/{case_id}": {
                "get": {
                    "summary": "Track a case",
                    "parameters": [
                        {
                            "name": "case_id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "format": "uuid"},
                        }
                    ],
                    "responses": {"200": {"description": "The case"}, "404": _error("Unknown")},
                }
            },
            "/v1/cases/{case_id}/commands": {
                "post": {
                    "summary": "An officer's or the sender's action on a case (docs/workflow.md)",
                    "description": "Bearer token required (docs/auth.md). 200 with the new "
                    "status; 403/404/409/422 with the refusal code; 202 + Location when the "
                    "outcome takes longer than the bounded wait.",
                    "security": [{"bearer": []}],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/CommandIn"}
                            }
                        },
                    },
                    "responses": {
                        "200": {"description": "Accepted"},
                        "202": {"description": "Outcome pending: see Location"},
                        "401": _error("No or bad token"),
                        "403": _error("Not allowed"),
                        "404": _error("Unknown case"),
                        "409": _error("Refused"),
                        "422": _error("Refused / invalid"),
                    },
                }
            },
            "/v1/commands/{command_id}": {
                "get": {
                    "summary": "A command's outcome",
                    "responses": {"200": {"description": "ok"}},
                }
            },
            "/v1/media": {
                "post": {
                    "summary": "Upload evidence (multipart `media` parts)",
                    "security": [{"bearer": []}],
                    "responses": {"201": {"description": "References"}},
                }
            },
            "/v1/results": {
                "get": {
                    "summary": "Published results (no personal data)",
                    "responses": {"200": {"description": "A page"}},
                }
            },
            "/v1/results/{case_id}": {
                "get": {
                    "summary": "A published result",
                    "responses": {"200": {"description": "ok"}},
                }
            },
            "/v1/cases/{case_id}/tracking": {
                "get": {
                    "summary": "The sender's own view: timeline, deadlines, on time or not",
                    "security": [{"bearer": []}],
                    "responses": {"200": {"description": "ok"}},
                }
            },
            "/v1/cases/{case_id}/integrity": {
                "get": {
                    "summary": "Integrity flags of a case with their evidence (officers of the "
                    "responsible unit): reused or blocklisted images, likely duplicates, signs "
                    "of editing",
                    "security": [{"bearer": []}],
                    "responses": {"200": {"description": "ok"}},
                }
            },
            "/v1/oversight/units/{unit}/months/{month}": {
                "get": {
                    "summary": "A unit's monthly figures (oversight role)",
                    "security": [{"bearer": []}],
                    "responses": {"200": {"description": "ok"}},
                }
            },
            "/v1/oversight/flags": {
                "get": {
                    "summary": "Oversight flags of a month",
                    "security": [{"bearer": []}],
                    "responses": {"200": {"description": "ok"}},
                }
            },
            "/v1/agency/cases/{case_id}": {
                "get": {
                    "summary": "A case as its unit's officers see it: a confidential sender is "
                    "'confidential sender'; otherwise name and contact (docs/privacy.md)",
                    "security": [{"bearer": []}],
                    "responses": {"200": {"description": "ok"}, "403": {"description": "refused"}},
                }
            },
            "/v1/admin/cases/{case_id}/reidentify": {
                "post": {
                    "summary": "Re-identify the sender (operator only; audited; body "
                    "{justification}); 410 identity_erased after an erasure",
                    "security": [{"bearer": []}],
                    "responses": {
                        "200": {"description": "the identity, with the audit id"},
                        "403": {"description": "not the operator"},
                        "410": {"description": "identity_erased"},
                        "422": {"description": "justification_required"},
                    },
                }
            },
            "/v1/categories": {
                "get": {"summary": "Categories", "responses": {"200": {"description": "List"}}}
            },
            "/healthz": {
                "get": {"summary": "Process alive", "responses": {"200": {"description": "ok"}}}
            },
            "/readyz": {
                "get": {
                    "summary": "Kafka and ClickHouse reachable",
                    "responses": {
                        "200": {"description": "ready"},
                        "503": {"description": "not ready"},
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {"200": {"description": "text"}},
                }
            },
            **reception_paths,
        },
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
