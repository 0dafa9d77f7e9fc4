"""Table serializers of the worker (faust codecs, registered by name on import).

- ``utf8``: a str key as its UTF-8 bytes, so a table keyed by case id writes the same key bytes
  as every other case topic (``case.state`` is read by the sink and the unit router by key).
- ``case_state``: the cases table's value, a ``processors.case.CaseState``, written as the Avro
  ``CaseState`` record (the public snapshot fields, and ``state_json`` with the whole state).
  The table's changelog *is* the compacted ``case.state`` topic: a decision is one write, where a
  table write plus a snapshot send were two messages.

faust encodes a value once for the local store and once for the changelog: the last encoding is
kept, by identity, so the second costs nothing.
"""

from __future__ import annotations

import json
from typing import Any

from faust.serializers import codecs

from processors.case import CaseState
from schemas.codec import get_codec


class Utf8(codecs.Codec):
    def _dumps(self, obj: Any) -> bytes:
        return obj.encode() if isinstance(obj, str) else bytes(obj)

    def _loads(self, s: bytes) -> Any:
        return s.decode()


def encode_state(state: CaseState) -> bytes:
    record = state.snapshot()
    # the fields as they are (json copies nothing): to_dict() deep-copies for a stored dict
    record["state_json"] = json.dumps(state.__dict__, separators=(",", ":"), ensure_ascii=False)
    return get_codec().encode("CaseState", record)


def decode_state(data: bytes) -> CaseState | None:
    """The state in a case.state record; None for a record without one (written before the
    topic was the table's changelog: such a case is unknown to the worker)."""
    _, record = get_codec().decode(data)
    raw = record.get("state_json")
    return CaseState.from_dict(json.loads(raw)) if raw else None


class CaseStateCodec(codecs.Codec):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._last: tuple[Any, tuple[Any, ...], bytes] | None = None  # (object, mark, bytes)

    def _dumps(self, obj: Any) -> bytes:
        # the same object, not changed since (a state is never edited after it is stored, but
        # the mark makes a stale answer impossible should that change)
        mark = (obj.version, obj.last_event_id, len(obj.outbox), next(reversed(obj.outbox), None))
        last = self._last
        if last is not None and last[0] is obj and last[1] == mark:
            return last[2]
        data = encode_state(obj)
        self._last = (obj, mark, data)
        return data

    def _loads(self, s: bytes) -> Any:
        return decode_state(s)


codecs.register("utf8", Utf8())
codecs.register("case_state", CaseStateCodec())
