"""Every refusal as an RFC 9457 problem (``application/problem+json``) from one catalogue.

The catalogue is data (``problems.toml`` beside this module): a stable ``code`` with its HTTP
status and Vietnamese and English messages. A problem body keeps the fields clients of the
earlier ``{"error": {...}}`` shape read, now at the top level::

    {"type": "/problems/not_found", "title": "Not found.", "status": 404,
     "detail": "Not found.", "code": "not_found",
     "message": {"vi": "Không tìm thấy.", "en": "Not found."}, "fields": [...]}

``type`` is a relative URI that this gateway serves (GET /problems/{code}).
"""

from __future__ import annotations

import functools
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "/problems/"

# Vietnamese stays readable in every JSON answer.
dumps = functools.partial(json.dumps, ensure_ascii=False)


@dataclass(frozen=True)
class Message:
    vi: str
    en: str


def _load(path: Path) -> tuple[dict[str, tuple[int, Message]], dict[str, Message]]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    problems = {
        code: (int(p["status"]), Message(p["vi"], p["en"])) for code, p in data["problems"].items()
    }
    fields = {code: Message(f["vi"], f["en"]) for code, f in data["fields"].items()}
    return problems, fields


# code -> (HTTP status, message); field code -> message
ERRORS, FIELD_MESSAGES = _load(Path(__file__).with_name("problems.toml"))
# Every problem carries this one header when the client should retry (no magic numbers around).
RETRY_AFTER_S = "5"


@dataclass
class FieldError:
    field: str
    code: str
    detail: str | None = None

    def as_json(self) -> dict[str, Any]:
        msg = FIELD_MESSAGES.get(self.code, FIELD_MESSAGES["invalid"])
        out: dict[str, Any] = {
            "field": self.field,
            "code": self.code,
            "message": {"vi": msg.vi, "en": msg.en},
        }
        if self.detail:
            out["detail"] = self.detail
        return out


def problem_body(
    code: str, fields: list[FieldError] | None = None, extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    status, msg = ERRORS[code]
    detail = msg.en
    if fields:
        detail += " " + "; ".join(f"{f.field}: {f.code}" for f in fields)
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": msg.en,
        "status": status,
        "detail": detail,
        "code": code,
        "message": {"vi": msg.vi, "en": msg.en},
    }
    if fields:
        body["fields"] = [f.as_json() for f in fields]
    return body | (extra or {})


def problem_response(
    code: str,
    fields: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> web.Response:
    body = problem_body(code, fields, extra)
    return web.Response(
        text=dumps(body),
        status=body["status"],
        headers=headers,
        content_type=PROBLEM_JSON,
        charset="utf-8",
    )


def unavailable(code: str) -> ApiError:
    """A 503 the client should retry (Kafka, the warehouse, the media store)."""
    return ApiError(code, headers={"Retry-After": RETRY_AFTER_S})


@dataclass
class ApiError(Exception):
    code: str
    fields: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # context for the caller

    @property
    def status(self) -> int:
        return ERRORS[self.code][0]

    def response(self) -> web.Response:
        return problem_response(self.code, self.fields, self.headers, self.extra)
