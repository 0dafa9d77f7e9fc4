"""Kept for imports of the earlier layout: see gateway/http/validation.py."""

from gateway.http.validation import case_id_of, read_json

__all__ = ["case_id_of", "read_json"]
