"""Subscriptions by commune and the fan-out of a warning to them, with stable delivery ids.

A citizen's subscription (keyed by pseudonym) becomes one *row* per commune it covers, keyed by
commune; a change that drops a commune sends that commune an inactive row, so the commune's
store forgets the citizen. Each commune's rows are kept in ``BUCKETS`` buckets
(``commune/bucket`` keys, bucket = CRC-32 of the pseudonym) so that one store value stays small
and a fan-out reads exactly its commune's buckets — nothing of the communes a warning misses.

A warning's fan-out for one commune yields one delivery per active subscriber whose categories
match; its id is uuid5(warning id, version, pseudonym), the same whichever commune (or
redelivery) produced it, so the citizen-keyed dedup stage keeps exactly one.

Pure: rows are plain dicts; the faust agents store and send them.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

BUCKETS = 32
DELIVERY_NS = uuid.UUID("6f1c2a9e-4b3d-4e57-9a0c-8d2e5f7b1a36")
CHANNELS = ("fcm", "apns", "sms")
LANGUAGES = ("vi", "en")


def bucket_of(pseudonym: str, buckets: int = BUCKETS) -> int:
    return zlib.crc32(pseudonym.encode()) % buckets


def bucket_key(commune: str, bucket: int) -> str:
    return f"{commune}/{bucket}"


def communes_of(sub: Mapping[str, Any] | None) -> list[str]:
    if not sub or not sub.get("active", True):
        return []
    return sorted({sub["home_commune"], *sub.get("communes", ())} - {None, ""})


def subscription_rows(
    old: Mapping[str, Any] | None, new: Mapping[str, Any]
) -> list[tuple[str, dict[str, Any]]]:
    """(commune, row) for every commune the new subscription covers, and an inactive row for
    each commune the old one covered and the new one does not. Stale input (older ``at``):
    nothing."""
    if old is not None and new["at"] < old["at"]:
        return []
    keep = communes_of(new)
    rows = []
    for commune in keep:
        rows.append(
            (
                commune,
                {
                    "commune": commune,
                    "pseudonym": new["pseudonym"],
                    "token": new["token"],
                    "channel": new["channel"],
                    "categories": sorted(new.get("categories") or ()),
                    "language": new["language"],
                    "active": True,
                    "at": new["at"],
                },
            )
        )
    for commune in sorted(set(communes_of(old)) - set(keep)):
        rows.append((commune, removal(commune, new["pseudonym"], new["at"])))
    return rows


def removal(commune: str, pseudonym: str, at: int) -> dict[str, Any]:
    return {
        "commune": commune,
        "pseudonym": pseudonym,
        "token": "",
        "channel": "fcm",
        "categories": [],
        "language": "vi",
        "active": False,
        "at": at,
    }


def apply_row(
    bucket: Mapping[str, list[Any]] | None, row: Mapping[str, Any]
) -> dict[str, list[Any]] | None:
    """The bucket with the row applied (last writer by ``at`` wins); None if unchanged.

    A bucket maps pseudonym -> [at, token, channel, language, categories] (compact: thousands
    of them per stored value); a removal drops the pseudonym."""
    current = dict(bucket or {})
    prior = current.get(row["pseudonym"])
    if prior is not None and prior[0] >= row["at"]:
        return None
    if not row["active"]:
        if prior is None:
            return None
        del current[row["pseudonym"]]
        return current
    current[row["pseudonym"]] = [
        row["at"],
        row["token"],
        row["channel"],
        row["language"],
        list(row["categories"]),
    ]
    return current


def delivery_id(warning_id: str, version: int, pseudonym: str) -> str:
    return str(uuid.uuid5(DELIVERY_NS, f"{warning_id}/{version}/{pseudonym}"))


def deliveries(
    task: Mapping[str, Any], bucket: Mapping[str, list[Any]] | None
) -> Iterator[dict[str, Any]]:
    """One delivery per subscriber of the bucket that wants the task's category."""
    category = task["category"]
    for pseudonym, (_at, token, channel, language, categories) in (bucket or {}).items():
        if categories and category not in categories:
            continue
        english = language == "en" and task.get("headline_en")
        yield {
            "event_id": delivery_id(task["warning_id"], task["version"], pseudonym),
            "warning_id": task["warning_id"],
            "version": task["version"],
            "kind": task["kind"],
            "pseudonym": pseudonym,
            "token": token,
            "channel": channel,
            "language": "en" if english else "vi",
            "category": category,
            "severity": task["severity"],
            "headline": task["headline_en"] if english else task["headline_vi"],
            "expires": task["expires"],
            "cap_url": task["cap_url"],
        }


class Seen:
    """The dedup stage's memory: delivery ids already on the notifications topic, per
    partition (16 bytes each; rebuilt from the topic itself on assignment)."""

    def __init__(self) -> None:
        self._by_partition: dict[int, set[bytes]] = {}

    def reset(self, partition: int) -> None:
        self._by_partition[partition] = set()

    def drop(self, partition: int) -> None:
        self._by_partition.pop(partition, None)

    def add(self, partition: int, event_id: str) -> bool:
        """Record the id; False if it was already there (a duplicate)."""
        seen = self._by_partition.setdefault(partition, set())
        raw = uuid.UUID(event_id).bytes
        if raw in seen:
            return False
        seen.add(raw)
        return True

    def __len__(self) -> int:
        return sum(len(s) for s in self._by_partition.values())
