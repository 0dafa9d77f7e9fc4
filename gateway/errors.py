"""Kept for imports of the earlier layout: the catalogue is gateway/http/errors.py."""

from gateway.http.errors import (
    ERRORS,
    FIELD_MESSAGES,
    RETRY_AFTER_S,
    ApiError,
    FieldError,
    Message,
    dumps,
    problem_response,
    unavailable,
)

__all__ = [
    "ERRORS",
    "FIELD_MESSAGES",
    "RETRY_AFTER_S",
    "ApiError",
    "FieldError",
    "Message",
    "dumps",
    "problem_response",
    "unavailable",
]
