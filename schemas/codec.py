"""The one codec of every topic: Avro single-object encoding.

A message is ``C3 01`` + the 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema's
canonical form + the Avro binary body. Any Avro library can decode it with the ``.avsc`` files of
this folder alone; no registry is needed. Old writer schemas live in ``history/`` so events written
before a schema change still decode (into the current reader schema).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastavro import schemaless_reader, schemaless_writer
from fastavro.schema import fingerprint, load_schema, parse_schema, to_parsing_canonical_form

SCHEMA_DIR = Path(__file__).resolve().parent
NAMESPACE = "vn.hanoi.pakn"
MAGIC = b"\xc3\x01"
HEADER_LEN = 10

# Top-level message types (the Envelope is only embedded).
MESSAGE_TYPES = (
    "CaseSubmitted",
    "DeadlineSet",
    "CaseCommand",
    "CaseTransition",
    "CommandResult",
    "StageCompleted",
    "SlaAlert",
    "SlaAlertWithdrawn",
    "SenderNotice",
    "SenderNoticeCase",
    "CaseState",
    "ClockTick",
    "UnitFacts",
    "UnitPartials",
    "MonthClose",
    "UnitMonthTally",
    "OversightFlag",
    "DeadLetter",
    "WarningCommand",
    "WarningResult",
    "WarningState",
    "Subscription",
    "SubscriberRow",
    "FanoutTask",
    "WarningDelivery",
    "SenderKey",
    "PrivacyAudit",
    "ReceptionRequest",
    "ReceptionResult",
    "ReceptionBooking",
    "DirectoryUnit",
    "DirectoryHead",
    "RoutingRules",
    "IntegrityFlag",
    "MediaSighting",
    "PlaceSighting",
)


class DecodeError(ValueError):
    """A message that cannot be decoded; ``reason`` is a stable code for the dead-letter topic."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class _Writer:
    name: str
    schema: Any
    header: bytes


def schema_fingerprint(schema: Any) -> bytes:
    """8-byte little-endian CRC-64-AVRO fingerprint of the schema's parsing canonical form."""
    hex_fp = fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO")
    return bytes.fromhex(hex_fp)


def load_message_schema(name: str, folder: Path = SCHEMA_DIR) -> Any:
    """Parse ``<namespace>.<name>.avsc`` with its named references resolved from the same folder."""
    return load_schema(str(folder / f"{NAMESPACE}.{name}.avsc"), _write_hint=False)


class Codec:
    """Encode and decode every message type; thread-safe and cheap to share."""

    def __init__(self, folder: Path = SCHEMA_DIR) -> None:
        self._current: dict[str, _Writer] = {}
        self._by_fp: dict[bytes, _Writer] = {}
        for name in MESSAGE_TYPES:
            schema = load_message_schema(name, folder)
            # parsed once: fastavro re-parses an unparsed schema on every read and write
            writer = _Writer(name, parse_schema(schema), MAGIC + schema_fingerprint(schema))
            self._current[name] = writer
            self._by_fp[writer.header[2:]] = writer
        history = folder / "history"
        for path in sorted(history.glob("*.avsc")) if history.is_dir() else []:
            # history/<Name>.v<N>.avsc: standalone, fully expanded old writer schemas
            name = path.name.split(".")[0]
            schema = parse_schema(load_schema(str(path), _write_hint=False))
            fp = schema_fingerprint(schema)
            self._by_fp.setdefault(fp, _Writer(name, schema, MAGIC + fp))

    def fingerprint_of(self, name: str) -> bytes:
        return self._current[name].header[2:]

    def type_of(self, data: bytes | None) -> str | None:
        """The message type of an encoded message, from its header alone (None: unknown)."""
        writer = self._by_fp.get(data[2:HEADER_LEN]) if data and data[:2] == MAGIC else None
        return writer.name if writer else None

    def encode(self, name: str, record: dict[str, Any]) -> bytes:
        writer = self._current[name]
        out = io.BytesIO()
        out.write(writer.header)
        schemaless_writer(out, writer.schema, record)
        return out.getvalue()

    def decode(self, data: bytes | None) -> tuple[str, dict[str, Any]]:
        """Return (message type, record) or raise DecodeError with a stable reason."""
        if not data or len(data) < HEADER_LEN or data[:2] != MAGIC:
            raise DecodeError("bad_magic", "not an Avro single-object encoded message")
        writer = self._by_fp.get(data[2:HEADER_LEN])
        if writer is None:
            fp = struct.unpack("<Q", data[2:HEADER_LEN])[0]
            raise DecodeError("unknown_schema", f"no schema with fingerprint {fp:016x}")
        current = self._current.get(writer.name)
        reader = None if current is None or current is writer else current.schema
        buf = io.BytesIO(data)
        buf.seek(HEADER_LEN)
        try:
            record = schemaless_reader(buf, writer.schema, reader)
        except Exception as exc:  # fastavro raises many types on truncated/corrupt bodies
            raise DecodeError("corrupt", f"{writer.name}: {type(exc).__name__}: {exc}") from exc
        if buf.tell() != len(data):
            raise DecodeError("corrupt", f"{writer.name}: {len(data) - buf.tell()} trailing bytes")
        return writer.name, record


@lru_cache(maxsize=1)
def get_codec() -> Codec:
    return Codec()
