"""The one codec: single-object encoding, clear errors, and the schema evolution rules."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import fastavro
import pytest
from fastavro.schema import load_schema

from schemas.codec import MAGIC, MESSAGE_TYPES, SCHEMA_DIR, Codec, DecodeError, schema_fingerprint
from tests.factories import submitted_record


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec()


def test_case_submitted_round_trips(codec: Codec) -> None:
    rec = submitted_record(datetime(2026, 3, 2, 1, 2, 3, 456000, tzinfo=UTC))
    name, back = codec.decode(codec.encode("CaseSubmitted", rec))
    assert name == "CaseSubmitted"
    assert back["envelope"]["occurred_at"] == rec["envelope"]["occurred_at"]
    assert back["sender"]["pii"]["ciphertext"] == b"sealed"
    assert back["title"] == rec["title"]


def test_header_is_avro_single_object_encoding(codec: Codec) -> None:
    data = codec.encode("CaseSubmitted", submitted_record())
    schema = load_schema(str(SCHEMA_DIR / "vn.hanoi.pakn.CaseSubmitted.avsc"), _write_hint=False)
    assert data[:2] == MAGIC == b"\xc3\x01"
    assert data[2:10] == schema_fingerprint(schema)
    # the body is plain Avro binary: fastavro alone reads it with the .avsc file
    body = fastavro.schemaless_reader(io.BytesIO(data[10:]), schema)
    assert body["category"] == "road_damage"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "bad_magic"),
        (b'{"json": true}', "bad_magic"),
        (MAGIC + b"\x00" * 8 + b"body", "unknown_schema"),
    ],
)
def test_undecodable_messages_name_their_reason(codec: Codec, data: bytes, reason: str) -> None:
    with pytest.raises(DecodeError) as err:
        codec.decode(data)
    assert err.value.reason == reason


def test_truncated_body_is_corrupt_not_a_crash(codec: Codec) -> None:
    data = codec.encode("CaseSubmitted", submitted_record())
    for cut in (11, len(data) // 2, len(data) - 1):
        with pytest.raises(DecodeError) as err:
            codec.decode(data[:cut])
        assert err.value.reason == "corrupt"


def test_trailing_garbage_is_corrupt(codec: Codec) -> None:
    data = codec.encode(
        "DeadlineSet",
        {
            "envelope": submitted_record()["envelope"],
            "stage": "receive",
            "counted_from": 0,
            "due_at": 1,
            "working_minutes": 480,
            "policy": "p",
        },
    )
    with pytest.raises(DecodeError, match="trailing"):
        codec.decode(data + b"\x00")


def _evolved(folder: Path) -> Path:
    """A copy of the schemas where CaseSubmitted v2 adds a field with a default."""
    for src in SCHEMA_DIR.glob("*.avsc"):
        (folder / src.name).write_text(src.read_text())
    path = folder / "vn.hanoi.pakn.CaseSubmitted.avsc"
    schema = json.loads(path.read_text())
    schema["fields"].append({"name": "language", "type": "string", "default": "vi"})
    path.write_text(json.dumps(schema))
    return folder


def test_new_reader_reads_old_events(tmp_path: Path, codec: Codec) -> None:
    """Evolution rule: add fields with defaults; old writer schemas stay in history/."""
    folder = _evolved(tmp_path)
    (folder / "history").mkdir()
    old = load_schema(str(SCHEMA_DIR / "vn.hanoi.pakn.CaseSubmitted.avsc"), _write_hint=False)
    (folder / "history" / "CaseSubmitted.v1.avsc").write_text(json.dumps(old))
    new_codec = Codec(folder)
    old_bytes = codec.encode("CaseSubmitted", submitted_record())
    name, rec = new_codec.decode(old_bytes)
    assert name == "CaseSubmitted" and rec["language"] == "vi"


def test_old_reader_reads_new_events(tmp_path: Path) -> None:
    """A consumer still on v1 reads v2 events with the v2 .avsc as writer schema."""
    folder = _evolved(tmp_path)
    new_codec = Codec(folder)
    rec = submitted_record() | {"language": "en"}
    data = new_codec.encode("CaseSubmitted", rec)
    writer = load_schema(str(folder / "vn.hanoi.pakn.CaseSubmitted.avsc"), _write_hint=False)
    reader = load_schema(str(SCHEMA_DIR / "vn.hanoi.pakn.CaseSubmitted.avsc"), _write_hint=False)
    old_view = fastavro.schemaless_reader(io.BytesIO(data[10:]), writer, reader)
    assert "language" not in old_view and old_view["title"] == rec["title"]


def test_fields_added_since_each_kept_old_schema_have_defaults(codec: Codec) -> None:
    """The evolution rule, checked on the real history: each kept writer schema is an older
    version of a current message type, and every field added since carries a default."""
    from fastavro.schema import parse_schema

    history = sorted((SCHEMA_DIR / "history").glob("*.avsc"))
    assert history, "history/ keeps the schemas that changed"
    for path in history:
        name = path.name.split(".")[0]
        old = parse_schema(json.loads(path.read_text()))
        assert schema_fingerprint(old) != codec.fingerprint_of(name), f"{path.name} is current"
        current = load_schema(str(SCHEMA_DIR / f"vn.hanoi.pakn.{name}.avsc"), _write_hint=False)
        for field in current["fields"]:
            if field["name"] not in {f["name"] for f in old["fields"]}:
                assert "default" in field, f"{name}.{field['name']} was added without a default"


def test_every_writer_schema_ever_released_still_decodes_and_each_current_one_is_listed(
    codec: Codec,
) -> None:
    """history/fingerprints.txt lists the writer schemas that reached a topic. Each must still be
    known (its old form kept in history/), and a changed schema must add its new fingerprint —
    so a change to a shared record (e.g. MediaRef inside CaseCommand) cannot slip through."""
    listed = {
        tuple(line.split())
        for line in (SCHEMA_DIR / "history" / "fingerprints.txt").read_text().splitlines()
        if line and not line.startswith("#")
    }
    for name, hex_fp in sorted(listed):
        header = MAGIC + bytes.fromhex(hex_fp)
        with pytest.raises(DecodeError) as err:
            codec.decode(header + b"\xff" * 3)  # known schema: the body is corrupt, not unknown
        assert err.value.reason != "unknown_schema", (name, hex_fp)
    current = {(name, codec.fingerprint_of(name).hex()) for name in MESSAGE_TYPES}
    assert current <= listed, f"add to schemas/history/fingerprints.txt: {sorted(current - listed)}"
