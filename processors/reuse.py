"""Reused images and likely duplicates: the pure logic of the worker's two streaming indexes.

Both indexes are key-value tables whose keys are *buckets* (docs/integrity.md §4):

- images: the pieces of a 64-bit perceptual hash (``NearDupIndex`` bands). A submission's image
  is *stored* under the bucket of each piece of each of its hashes (the image and its crop
  variants, ``perceptual_hashes``) and *probes* the buckets of its own hash's pieces and their
  neighbours within ``max_distance // bands`` bits. Two images within ``max_distance`` always
  meet in one bucket (pigeonhole), so a lookup reads a few hundred small buckets, not the
  collection.
- places: cells of a grid at least ``radius_m`` wide; a submission is stored in its own cell and
  probes that cell and the 8 around it.

Each bucket belongs to one partition (``bucket_partition``): the worker sends one message per
partition carrying the buckets of that partition it must probe and store, so a table write lands
in the partition that owns the bucket (a faust table writes to the partition of the event), and a
submission costs at most ``partitions`` messages per index. What a probe finds is a
``Finding``: the *later* of the two submissions is flagged and the earlier one is its evidence,
whatever order the buckets saw them in. Everything is idempotent: entries are stored once per
(image, hash) and a finding's event id is derived from the pair.
"""

from __future__ import annotations

import math
import uuid
import zlib
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from processors.media_checks import (
    HASH_BITS,
    IMAGE_TYPES,
    MediaError,
    NearDupIndex,
    edit_signals,
    hamming,
    haversine_m,
    perceptual_hashes,
)

FLAGS_NS = uuid.UUID("5b0c7f2e-3a91-4c6d-8e27-91d4a6f0b3c5")
BLOCKLIST_PREFIX = "blocklist:"
DEFAULT_REUSE_DISTANCE = 10
DEFAULT_REUSE_BANDS = 4  # 16-bit pieces: ~90 entries per bucket at 1M images (bench/reuse_index)
DEFAULT_DUPLICATE_RADIUS_M = 250.0
DEFAULT_DUPLICATE_WINDOW_DAYS = 30
DAY_MS = 86_400_000
# Links kept per flagged case from one partition's lookup (up to partitions × this in all).
MAX_REUSE_LINKS = 3
MAX_DUPLICATE_LINKS = 1
M_PER_DEG_LAT = 111_320.0


def bucket_partition(key: str, partitions: int) -> int:
    """The partition that owns a bucket (stable across processes: CRC-32, not Python's hash)."""
    return zlib.crc32(key.encode()) % partitions


def flag_id(case_id: str, kind: str, *facts: str) -> str:
    """A finding's event id, derived from what it links: redelivery gives the same id."""
    return str(uuid.uuid5(FLAGS_NS, "/".join((case_id, kind, *facts))))


@dataclass(frozen=True)
class Finding:
    """Flag ``case_id`` (the later submission): ``kind`` with its evidence."""

    case_id: str
    kind: str  # reused_image | blocklisted_image | likely_duplicate | edit_signal
    code: str
    related_case_id: str | None = None
    media_sha256: str | None = None
    related_media_sha256: str | None = None
    distance: float | None = None  # bits (images) or metres (places)
    detail: str = ""

    @property
    def flag_id(self) -> str:
        facts = (
            self.code,
            self.related_case_id or "",
            self.media_sha256 or "",
            self.related_media_sha256 or "",
        )
        return flag_id(self.case_id, self.kind, *facts)

    def to_record(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "code": self.code,
            "related_case_id": self.related_case_id,
            "media_sha256": self.media_sha256,
            "related_media_sha256": self.related_media_sha256,
            "distance": self.distance,
            "detail": self.detail,
        }


# --- images ---------------------------------------------------------------------------------
def image_facts(
    data: bytes,
    mime: str,
    *,
    reported_at: datetime | None = None,
    reported_place: tuple[float, float] | None = None,
    max_time_gap: timedelta = timedelta(hours=72),
    max_distance_m: float = 500.0,
) -> dict[str, Any]:
    """The MediaRef fields the indexes need, read from an image's bytes at the door: its pHash,
    the pHashes of its crop variants, and its edit signals. Nothing for videos, documents, or
    images that cannot be hashed (HEIC without its decoder): they are not indexed."""
    facts: dict[str, Any] = {"phash": None, "phash_variants": [], "edit_signals": []}
    if mime not in IMAGE_TYPES:
        return facts
    try:
        hashes = perceptual_hashes(data)
        signals = edit_signals(
            data,
            reported_at=reported_at,
            reported_place=reported_place,
            max_time_gap=max_time_gap,
            max_distance_m=max_distance_m,
        )
    except MediaError:
        return facts
    facts["phash"] = f"{hashes[0]:016x}"
    facts["phash_variants"] = [f"{h:016x}" for h in hashes[1:]]
    facts["edit_signals"] = [{"code": x.code, "detail": x.detail} for x in signals]
    return facts


@dataclass(frozen=True)
class Sighting:
    """One image of one submission (or of the blocklist), as the image index sees it.

    ``ref`` is the case id, or ``blocklist:<label>``; blocklist entries count as older than any
    case (``at_ms`` 0) and have no sender. ``hashes[0]`` is the image's own hash (it probes), the
    others its crop variants (stored too)."""

    ref: str
    sender: str
    at_ms: int
    sha256: str
    hashes: tuple[int, ...]

    @property
    def blocklisted(self) -> bool:
        return self.ref.startswith(BLOCKLIST_PREFIX)


def image_index(
    max_distance: int = DEFAULT_REUSE_DISTANCE, bands: int = DEFAULT_REUSE_BANDS
) -> NearDupIndex:
    """The band layout (no buckets held: the table holds them)."""
    return NearDupIndex(max_distance=max_distance, bands=bands)


def image_plan(s: Sighting, layout: NearDupIndex, partitions: int) -> dict[int, dict[str, Any]]:
    """partition -> {"probe": [bucket keys], "store": {bucket key: [hash hex, ...]}}."""
    plan: dict[int, dict[str, Any]] = {}

    def part(key: str) -> dict[str, Any]:
        p = bucket_partition(key, partitions)
        return plan.setdefault(p, {"probe": [], "store": {}})

    for key in dict.fromkeys(layout.probe_keys(s.hashes[0])):
        part(key)["probe"].append(key)
    for h in dict.fromkeys(s.hashes):
        for key in layout.add_keys(h):
            hashes = part(key)["store"].setdefault(key, [])
            if f"{h:016x}" not in hashes:
                hashes.append(f"{h:016x}")
    return plan


def sighting_records(
    s: Sighting, layout: NearDupIndex, partitions: int
) -> list[tuple[int, dict[str, Any]]]:
    """(partition, MediaSighting record) of an image: one message per partition it touches."""
    return [
        (
            p,
            {
                "ref": s.ref,
                "sender": s.sender,
                "submitted_at": s.at_ms,
                "sha256": s.sha256,
                "hashes": [f"{h:016x}" for h in s.hashes],
                "probe": part["probe"],
                "store": [{"key": k, "hashes": v} for k, v in part["store"].items()],
            },
        )
        for p, part in sorted(image_plan(s, layout, partitions).items())
    ]


def image_entry(s: Sighting, hash_hex: str) -> list[Any]:
    """A bucket entry: [hash hex, ref, sender, at_ms, sha256] (JSON-ready)."""
    return [hash_hex, s.ref, s.sender, s.at_ms, s.sha256]


def image_findings(
    s: Sighting, entries: Iterable[Sequence[Any]], max_distance: int
) -> list[Finding]:
    """What the sighting's own hash meets in one bucket: images within ``max_distance`` sent by
    someone else (or blocklisted). The later of the two submissions is flagged."""
    out = []
    q = s.hashes[0]
    for hash_hex, ref, sender, at_ms, sha in entries:
        if ref == s.ref or (s.sender and sender == s.sender):
            continue  # the same submission, or the sender's own picture again
        d = hamming(q, int(hash_hex, 16))
        if d > max_distance:
            continue
        if s.blocklisted and str(ref).startswith(BLOCKLIST_PREFIX):
            continue
        if (int(at_ms), str(ref)) < (s.at_ms, s.ref):  # s is later: the stored one is evidence
            out.append(_reuse(s.ref, s.sha256, str(ref), str(sha), d))
        else:  # the stored case is later (its messages came first), or s is a new blocklist entry
            out.append(_reuse(str(ref), str(sha), s.ref, s.sha256, d))
    return nearest(out)


def _reuse(case_id: str, sha: str, other: str, other_sha: str, d: int) -> Finding:
    if other.startswith(BLOCKLIST_PREFIX):
        label = other[len(BLOCKLIST_PREFIX) :]
        return Finding(
            case_id,
            "blocklisted_image",
            "blocklisted_image",
            None,
            sha,
            other_sha,
            float(d),
            f"within {d} bits of blocklisted image {label!r}",
        )
    return Finding(
        case_id,
        "reused_image",
        "reused_image",
        other,
        sha,
        other_sha,
        float(d),
        f"within {d} bits of an image of case {other}",
    )


def nearest(found: list[Finding], limit: int | None = None) -> list[Finding]:
    """One finding per (flagged case, related case or blocklist image): the nearest; and at most
    ``limit`` per flagged case (the nearest, then by related case id) — a photo that went viral
    or a street everyone reports must not flag a case once per earlier submission."""
    best: dict[tuple[str, str, str], Finding] = {}
    for f in found:
        k = (f.case_id, f.related_case_id or "", f.related_media_sha256 or "")
        if k not in best or (f.distance or 0) < (best[k].distance or 0):
            best[k] = f
    order = sorted(
        best.values(),
        key=lambda f: (f.case_id, f.distance or 0, f.related_case_id or "", f.flag_id),
    )
    if limit is None:
        return order
    kept: dict[str, int] = {}
    out = []
    for f in order:
        kept[f.case_id] = kept.get(f.case_id, 0) + 1
        if kept[f.case_id] <= limit:
            out.append(f)
    return out


def store_image(
    entries: list[list[Any]] | None,
    s: Sighting,
    hash_hexes: Sequence[str],
    now_ms: int,
    window_ms: int | None,
) -> tuple[list[list[Any]], bool]:
    """The bucket with the sighting's hashes added (once each); entries of cases older than the
    window are dropped on the way (blocklist entries stay). Returns (entries, changed)."""
    kept = list(entries or [])
    changed = False
    if window_ms is not None:
        fresh = [
            e
            for e in kept
            if str(e[1]).startswith(BLOCKLIST_PREFIX) or int(e[3]) >= now_ms - window_ms
        ]
        changed = len(fresh) != len(kept)
        kept = fresh
    have = {(e[0], e[1], e[4]) for e in kept}
    for h in hash_hexes:
        if (h, s.ref, s.sha256) not in have:
            kept.append(image_entry(s, h))
            have.add((h, s.ref, s.sha256))
            changed = True
    return kept, changed


class MemoryImageIndex:
    """The image index with a dict for a table: what the worker does, in one process (tests).

    ``submit`` runs every partition's part of the plan: probes first, then stores."""

    def __init__(
        self,
        max_distance: int = DEFAULT_REUSE_DISTANCE,
        bands: int = DEFAULT_REUSE_BANDS,
        partitions: int = 6,
    ) -> None:
        self.layout = image_index(max_distance, bands)
        self.max_distance = max_distance
        self.partitions = partitions
        self.buckets: dict[str, list[list[Any]]] = {}

    def submit(self, s: Sighting) -> list[Finding]:
        found: list[Finding] = []
        for part in image_plan(s, self.layout, self.partitions).values():
            here: list[Finding] = []
            for key in part["probe"]:
                here += image_findings(s, self.buckets.get(key, ()), self.max_distance)
            found += nearest(here, MAX_REUSE_LINKS)
            for key, hashes in part["store"].items():
                self.buckets[key], _ = store_image(self.buckets.get(key), s, hashes, s.at_ms, None)
        return nearest(found)


class HashIndex:
    """A compact in-memory image index for large collections (benchmark, offline checks): the
    same pieces and probes as the stream's, each bucket two packed arrays (8-byte hash, 4-byte
    ref), the candidates of a lookup compared in one vectorised pass."""

    def __init__(self, max_distance: int = DEFAULT_REUSE_DISTANCE, bands: int = 4) -> None:
        self.layout = image_index(max_distance, bands)
        self.max_distance = max_distance
        self._sizes = self.layout._sizes
        self.hashes: dict[int, array[int]] = {}
        self.ids: dict[int, array[int]] = {}
        self._probe_masks = _flip_masks(self._sizes, max_distance // len(self._sizes))

    def _keys(self, h: int) -> list[int]:
        out, shift = [], 64
        for band, size in enumerate(self._sizes):
            shift -= size
            out.append((band << 32) | ((h >> shift) & ((1 << size) - 1)))
        return out

    def add(self, hashes: Iterable[int], ref: int) -> None:
        for h in dict.fromkeys(hashes):
            for k in self._keys(h):
                bucket = self.hashes.get(k)
                if bucket is None:
                    bucket = self.hashes[k] = array("Q")
                    self.ids[k] = array("I")
                bucket.append(h)
                self.ids[k].append(ref)

    def candidates(self, h: int) -> list[int]:
        """The bucket keys a lookup of ``h`` reads (those that exist)."""
        return [
            k0 ^ m
            for k0 in self._keys(h)
            for m in self._probe_masks[k0 >> 32]
            if k0 ^ m in self.hashes
        ]

    def query(self, h: int, max_distance: int | None = None) -> list[tuple[int, int]]:
        import numpy as np

        d = self.max_distance if max_distance is None else max_distance
        keys = self.candidates(h)
        if not keys:
            return []
        hs = np.concatenate([np.frombuffer(self.hashes[k], np.uint64) for k in keys])
        ids = np.concatenate([np.frombuffer(self.ids[k], np.uint32) for k in keys])
        dist = np.bitwise_count(np.bitwise_xor(hs, np.uint64(h)))
        hit = dist <= d
        best: dict[int, int] = {}
        for ref, x in zip(ids[hit].tolist(), dist[hit].tolist(), strict=True):
            if x < best.get(ref, HASH_BITS + 1):
                best[ref] = x
        return sorted(best.items(), key=lambda rd: (rd[1], rd[0]))

    def probes(self) -> int:
        return sum(len(m) for m in self._probe_masks)


def _flip_masks(sizes: list[int], radius: int) -> list[list[int]]:
    from itertools import combinations

    out = []
    for size in sizes:
        masks = []
        for r in range(radius + 1):
            for bits in combinations(range(size), r):
                m = 0
                for b in bits:
                    m |= 1 << b
                masks.append(m)
        out.append(masks)
    return out


# --- places ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Place:
    """A submission with a position, as the place index sees it."""

    case_id: str
    category: str
    lat: float
    lon: float
    at_ms: int


def _cell_size(radius_m: float) -> float:
    return radius_m * 1.05 / M_PER_DEG_LAT  # degrees of latitude, a little over the radius


def _dlon(row: int, dlat: float) -> float:
    """Width of a cell of ``row`` in degrees of longitude, measured at the row's poleward edge
    so that every cell of the row is at least the radius wide."""
    edge = max(abs(row * dlat), abs((row + 1) * dlat))
    return dlat / max(math.cos(math.radians(min(edge, 89.0))), 1e-6)


def place_cell(lat: float, lon: float, radius_m: float) -> str:
    dlat = _cell_size(radius_m)
    row = math.floor(lat / dlat)
    return f"{int(radius_m)}:{row}:{math.floor(lon / _dlon(row, dlat))}"


def probe_cells(lat: float, lon: float, radius_m: float) -> list[str]:
    """The point's cell and its 8 neighbours: every point within ``radius_m`` is in one of them
    (cells are at least the radius wide in both directions)."""
    dlat = _cell_size(radius_m)
    row = math.floor(lat / dlat)
    out = []
    for r in (row - 1, row, row + 1):
        col = math.floor(lon / _dlon(r, dlat))
        out += [f"{int(radius_m)}:{r}:{c}" for c in (col - 1, col, col + 1)]
    return out


# Cells per side of a *tile*: every cell of a tile lives on one partition, so a point's nine
# probe cells are usually on one partition (one message), not up to nine. 32 cells of 262 m make
# tiles of ~8.4 km: a point is within one cell of a tile's edge ~12 % of the time, and Hanoi's
# ~57 km x 57 km still spreads over ~49 tiles for the 6 partitions.
PLACE_TILE = 32


def tile_of(cell: str) -> str:
    radius, row, col = cell.split(":")
    return f"{radius}:{int(row) // PLACE_TILE}:{int(col) // PLACE_TILE}"


def place_partition(cell: str, partitions: int) -> int:
    return bucket_partition(tile_of(cell), partitions)


def place_plan(p: Place, radius_m: float, partitions: int) -> dict[int, dict[str, Any]]:
    """partition -> {"probe": [cells], "store": [cell]}."""
    plan: dict[int, dict[str, Any]] = {}
    for cell in probe_cells(p.lat, p.lon, radius_m):
        plan.setdefault(place_partition(cell, partitions), {"probe": [], "store": []})[
            "probe"
        ].append(cell)
    own = place_cell(p.lat, p.lon, radius_m)
    plan.setdefault(place_partition(own, partitions), {"probe": [], "store": []})["store"].append(
        own
    )
    return plan


def place_links(found: list[Finding], case_id: str) -> list[Finding]:
    """The links one place lookup sends: the probing case's nearest earlier report, and the
    nearest later report it precedes (seen first because partitions run at their own pace) —
    at most two findings per lookup however many reports the cells hold."""

    def best(fs: list[Finding]) -> list[Finding]:
        return sorted(fs, key=lambda f: (f.distance or 0, f.related_case_id or "", f.case_id))[:1]

    return best([f for f in found if f.case_id == case_id]) + best(
        [f for f in found if f.case_id != case_id]
    )


def place_findings(
    p: Place, entries: Iterable[Sequence[Any]], radius_m: float, window_ms: int
) -> list[Finding]:
    """Submissions of the same category within the radius and the window: the later one is a
    likely duplicate of the earlier."""
    out = []
    for case_id, category, lat, lon, at_ms in entries:
        if case_id == p.case_id or category != p.category:
            continue
        if abs(int(at_ms) - p.at_ms) > window_ms:
            continue
        d = haversine_m((p.lat, p.lon), (float(lat), float(lon)))
        if d > radius_m:
            continue
        later, earlier = (
            (p.case_id, str(case_id))
            if (int(at_ms), str(case_id)) < (p.at_ms, p.case_id)
            else (str(case_id), p.case_id)
        )
        out.append(
            Finding(
                later,
                "likely_duplicate",
                "likely_duplicate",
                earlier,
                distance=round(d, 1),
                detail=f"same category {p.category!r}, {d:.0f} m from case {earlier}",
            )
        )
    return out


def store_place(
    entries: list[list[Any]] | None,
    p: Place,
    now_ms: int,
    window_ms: int,
    per_category: int | None = None,
) -> tuple[list[list[Any]], bool]:
    """The cell with the submission added (once); entries older than the window dropped, and
    only the newest ``per_category`` of the submission's category kept: a cell costs the same
    to read and write however many reports one spot gets (a flooded street; a later report
    still finds the newest ones, which is all a duplicate link needs)."""
    kept = [e for e in entries or [] if int(e[4]) >= now_ms - window_ms]
    changed = len(kept) != len(entries or [])
    if not any(e[0] == p.case_id for e in kept):
        kept.append([p.case_id, p.category, p.lat, p.lon, p.at_ms])
        changed = True
    if per_category is not None:
        same = sorted((e for e in kept if e[1] == p.category), key=lambda e: (int(e[4]), str(e[0])))
        if len(same) > per_category:
            drop = {id(e) for e in same[: len(same) - per_category]}
            kept = [e for e in kept if id(e) not in drop]
            changed = True
    return kept, changed


def _expired(entry: list[Any], oldest: int) -> bool:
    return int(entry[3]) < oldest and not str(entry[1]).startswith(BLOCKLIST_PREFIX)


def _newest_of_hash(entries: list[list[Any]], hexed: str, keep: int) -> list[list[Any]]:
    """A viral photo posted a thousand times: keep the newest ``keep`` copies of one exact hash
    in a bucket (blocklist entries always), so a lookup reads a bounded bucket."""
    same = [e for e in entries if e[0] == hexed and not str(e[1]).startswith(BLOCKLIST_PREFIX)]
    if len(same) <= keep:
        return entries
    drop = {id(e) for e in sorted(same, key=lambda e: (int(e[3]), str(e[1])))[: len(same) - keep]}
    return [e for e in entries if id(e) not in drop]


# --- the indexes as one in-memory structure (the worker's; docs/integrity.md §4) ----------------
class SightingIndex:
    """Every recent image and place, in memory, checked and added in one step.

    The worker feeds it every submission of the window (read from case.events by a follower
    thread, and each submission it opens itself, at once) and the blocklist; a lookup reads a
    few dozen dict entries, never the collection, and sends no message. Bounded per lookup
    however hot the spot: a place cell keeps the newest ``per_category`` reports of each
    category, a lookup returns at most two place links and ``MAX_REUSE_LINKS`` image links per
    flagged case. Entries older than their window are dropped when their bucket or cell is next
    written. Idempotent: adding a submission twice changes nothing.
    """

    def __init__(
        self,
        *,
        max_distance: int = DEFAULT_REUSE_DISTANCE,
        bands: int = DEFAULT_REUSE_BANDS,
        reuse_window_ms: int | None = 365 * DAY_MS,
        radius_m: float = DEFAULT_DUPLICATE_RADIUS_M,
        duplicate_window_ms: int = DEFAULT_DUPLICATE_WINDOW_DAYS * DAY_MS,
        per_category: int = 8,
        per_hash: int = 8,
    ) -> None:
        self.layout = image_index(max_distance, bands)
        self.per_hash = per_hash
        # int bucket keys (band << 32 | piece) and each band's flip masks, computed once: a
        # lookup is a few hundred dict probes of ints, not as many formatted strings
        self._sizes = self.layout._sizes
        self._masks = _flip_masks(self._sizes, max_distance // len(self._sizes))
        self.max_distance = max_distance
        self.reuse_window_ms = reuse_window_ms
        self.radius_m = radius_m
        self.duplicate_window_ms = duplicate_window_ms
        self.per_category = per_category
        self.buckets: dict[int, list[list[Any]]] = {}
        self.cells: dict[str, list[list[Any]]] = {}

    def _keys(self, h: int) -> list[int]:
        out, shift = [], HASH_BITS
        for band, size in enumerate(self._sizes):
            shift -= size
            out.append((band << 32) | ((h >> shift) & ((1 << size) - 1)))
        return out

    # -- images --------------------------------------------------------------------------------
    def check_image(
        self, s: Sighting, now_ms: int | None = None, probe: bool = True
    ) -> list[Finding]:
        """What an image meets (the later of each pair flagged), then the image is stored
        (``probe=False``: only stored — a submission another worker checked)."""
        buckets = self.buckets
        found: list[Finding] = []
        if probe:
            keys: list[int] = []
            for k0 in self._keys(s.hashes[0]):
                keys += [k0 ^ m for m in self._masks[k0 >> 32]]
            hit = buckets.keys() & keys  # a set intersection in C, not a probe per key
            entries = [e for k in hit for e in buckets[k]]
            found = image_findings(s, entries, self.max_distance) if entries else []
        now = max(s.at_ms, now_ms or 0)
        oldest = None if self.reuse_window_ms is None else now - self.reuse_window_ms
        for h in dict.fromkeys(s.hashes):
            hexed = f"{h:016x}"
            entry = image_entry(s, hexed)
            for key in self._keys(h):
                bucket = buckets.get(key)
                if bucket is None:
                    buckets[key] = [entry]
                    continue
                if any(e[1] == s.ref and e[0] == hexed and e[4] == s.sha256 for e in bucket):
                    continue  # stored once (a submission fed twice)
                if oldest is not None and _expired(bucket[0], oldest):
                    bucket[:] = [e for e in bucket if not _expired(e, oldest)]
                bucket.append(entry)
                if len(bucket) > self.per_hash:
                    buckets[key] = _newest_of_hash(bucket, hexed, self.per_hash)
        return nearest(found, MAX_REUSE_LINKS)

    # -- places --------------------------------------------------------------------------------
    def check_place(self, p: Place, now_ms: int | None = None, probe: bool = True) -> list[Finding]:
        found: list[Finding] = []
        for cell in probe_cells(p.lat, p.lon, self.radius_m) if probe else ():
            entries = self.cells.get(cell)
            if entries:
                found += place_findings(p, entries, self.radius_m, self.duplicate_window_ms)
        own = place_cell(p.lat, p.lon, self.radius_m)
        self.cells[own], _ = store_place(
            self.cells.get(own),
            p,
            max(p.at_ms, now_ms or 0),
            self.duplicate_window_ms,
            per_category=self.per_category,
        )
        return place_links(found, p.case_id)

    def check_submission(
        self, record: dict[str, Any], now_ms: int | None = None, probe: bool = True
    ) -> list[Finding]:
        """Every finding of a CaseSubmitted record (its images and its place), which is then
        in the index. Findings may flag the record's case or an earlier-seen later one."""
        env = record["envelope"]
        case_id = str(env["case_id"])
        at = env["occurred_at"]
        at_ms = at if isinstance(at, int) else int(at.timestamp() * 1000)
        sender = record["sender"]["pseudonym"]
        found: list[Finding] = []
        for m in record.get("media") or []:
            if m.get("phash"):
                hashes = tuple(int(h, 16) for h in [m["phash"], *(m.get("phash_variants") or [])])
                s = Sighting(case_id, sender, at_ms, m["sha256"], hashes)
                found += self.check_image(s, probe=probe)
        loc = record["location"]
        if loc.get("lat") is not None and loc.get("lon") is not None:
            place = Place(case_id, record["category"], loc["lat"], loc["lon"], at_ms)
            found += self.check_place(place, now_ms, probe)
        return found

    def sizes(self) -> dict[str, int]:
        return {
            "image_buckets": len(self.buckets),
            "image_entries": sum(len(v) for v in self.buckets.values()),
            "place_cells": len(self.cells),
            "place_entries": sum(len(v) for v in self.cells.values()),
        }
