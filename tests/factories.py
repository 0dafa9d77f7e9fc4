"""Valid sample inputs shared by the tests (one place to change when the contract grows)."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Any

VALID_FEEDBACK: dict[str, Any] = {
    "category": "road_damage",
    "title": "Ổ gà lớn trên phố Hàng Bài",
    "description": "Ổ gà sâu khoảng 20 cm giữa làn xe máy, rất nguy hiểm khi trời mưa.",
    "location": {
        "lat": 21.0245,
        "lon": 105.8532,
        "commune_code": "00070",
        "address": "12 Hàng Bài, Hoàn Kiếm, Hà Nội",
    },
    "sender": {
        "full_name": "Nguyễn Văn An",
        "id_number": "001203012345",
        "phone": "0912345678",
        "email": "an.nguyen@example.vn",
        "confidential": False,
    },
}


def feedback(i: int = 0, **changes: Any) -> dict[str, Any]:
    """A valid submission; sender identity varies with i so each one is distinguishable."""
    body = copy.deepcopy(VALID_FEEDBACK)
    body["sender"]["id_number"] = f"0012030{i:05d}"
    body["sender"]["phone"] = f"091{i:07d}"
    body["sender"]["email"] = f"sender{i}@example.vn"
    body["title"] = f"Ổ gà lớn số {i}"
    body.update(changes)
    return body


def submitted_record(at: datetime | None = None, case_id: str | None = None) -> dict[str, Any]:
    """A CaseSubmitted Avro record as the gateway writes it (identity already sealed)."""
    case_id = case_id or str(uuid.uuid4())
    at = at or datetime(2026, 2, 13, 9, 0, tzinfo=UTC)
    return {
        "envelope": {
            "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, case_id)),
            "case_id": case_id,
            "event_type": "case_submitted",
            "occurred_at": at,
            "producer": "test",
            "schema_version": 1,
        },
        "process": "field_feedback",
        "category": "road_damage",
        "title": "Ổ gà",
        "description": "Ổ gà giữa đường",
        "location": {"lat": 21.0, "lon": 105.8, "address": None, "commune_code": "00070"},
        "observed_at": None,
        "media": [],
        "sender": {
            "kind": "person",
            "confidential": True,
            "pseudonym": "ab" * 32,
            "pii": {"key_id": "k", "nonce": b"\0" * 12, "ciphertext": b"sealed"},
        },
        "channel": "app",
        "unit_code": None,
    }


def command_record(case_id: str, command: str, at: datetime | None = None, **kw: Any) -> dict:
    """A CaseCommand Avro record; ``kw`` sets its optional fields."""
    return {
        "envelope": {
            "event_id": str(kw.pop("command_id", uuid.uuid4())),
            "case_id": case_id,
            "event_type": "case_command",
            "occurred_at": at or datetime.now(UTC),
            "producer": "test",
            "schema_version": 1,
        },
        "command": command,
        "actor": kw.pop("actor", "officer-17"),
        "evidence": kw.pop("evidence", []),
        **{
            f: kw.pop(f, None)
            for f in (
                "level",
                "reason",
                "legal_basis",
                "new_due_at",
                "actor_role",
                "actor_unit",
                "actor_pseudonym",
                "target_unit",
                "assignee",
                "result_text",
                "rating",
            )
        },
    }


def jpeg(seed: int = 0, size: tuple[int, int] = (64, 48)) -> bytes:
    """A real little JPEG photo (Pillow), different for each seed."""
    import io
    import random

    from PIL import Image, ImageDraw

    rnd = random.Random(seed)
    img = Image.new("RGB", size, tuple(rnd.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x, y = rnd.randrange(size[0]), rnd.randrange(size[1])
        draw.rectangle(
            [x, y, x + rnd.randrange(5, 30), y + rnd.randrange(5, 30)],
            fill=tuple(rnd.randrange(256) for _ in range(3)),
        )
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
