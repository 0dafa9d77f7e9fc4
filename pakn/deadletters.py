"""Dead letters: a message a consumer could not use is kept whole, with a stable reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from schemas.codec import get_codec


def dead_letter(
    topic: str,
    partition: int,
    offset: int,
    key: bytes | None,
    value: bytes | None,
    reason: str,
    detail: str,
    consumer: str,
) -> tuple[bytes, bytes]:
    """(key, value) of the DeadLetter message for the dead-letter topic."""
    record: dict[str, Any] = {
        "source_topic": topic,
        "source_partition": partition,
        "source_offset": offset,
        "key": key,
        "value": value,
        "reason": reason,
        "detail": detail[:2000],
        "consumer": consumer,
        "failed_at": datetime.now(UTC),
    }
    return f"{topic}/{partition}/{offset}".encode(), get_codec().encode("DeadLetter", record)
