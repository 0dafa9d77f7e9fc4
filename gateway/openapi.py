"""The OpenAPI 3.1 document of the gateway, built from the same pydantic models that validate."""

from __future__ import annotations

from typing import Any

from gateway.errors import ERRORS, FIELD_MESSAGES
from gateway.models import FieldFeedbackIn
from pakn.settings import Settings


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def openapi_document(settings: Settings) -> dict[str, Any]:
    schema = FieldFeedbackIn.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.pop("$defs", {})
    components["FieldFeedbackIn"] = schema
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
        },
        "components": {"schemas": components},
    }
