"""Submission integrity in the stream (docs/integrity.md §4): the image and place indexes and the
flags they raise. Imported by streams/app.py (same app, same one-input-at-a-time lock).

    intake --(opened case)--> integrity.media  (explicit partition per image-index bucket)
                          --> integrity.places (explicit partition per place cell)
                          --> integrity.findings (edit signals read at the gateway)
    integrity.media  --[media-buckets table]--> integrity.findings (keyed by the case to flag)
    integrity.places --[place-cells table]----> integrity.findings
    integrity.findings --[cases table]--> case.events (IntegrityFlag), case.state, unit streams
                                      --> case.commands (auto-rejection, when configured)

Each bucket's entries are written while its partition's message is processed, so they land in
that partition of the changelog and a lookup reads one local key per bucket: sub-linear, never a
scan. Delivery is at-least-once: entries are stored once, findings have derived ids, a case keeps
each flag once.
"""

from __future__ import annotations

import time
from typing import Any

import faust

from pakn.topics import INTEGRITY_FINDINGS, INTEGRITY_MEDIA, INTEGRITY_PLACES
from processors.case import Decision, to_ms
from processors.integrity import (
    apply_flag,
    auto_reject_command,
    edit_findings,
    flag_record,
    wording_findings,
)
from processors.reuse import (
    DAY_MS,
    MAX_DUPLICATE_LINKS,
    MAX_REUSE_LINKS,
    Finding,
    Place,
    Sighting,
    image_findings,
    image_index,
    nearest,
    place_findings,
    place_plan,
    sighting_records,
    store_image,
    store_place,
)
from streams.app import (
    _decode,
    _each,
    _load,
    _publish,
    app,
    codec,
    commands_topic,
    json_table,
    settings,
)

PARTITIONS = settings.topic_partitions
LAYOUT = image_index(settings.integrity_reuse_distance, settings.integrity_reuse_bands)
REUSE_WINDOW_MS = settings.integrity_reuse_window_days * DAY_MS
RADIUS_M = settings.integrity_duplicate_radius_m
DUPLICATE_WINDOW_MS = settings.integrity_duplicate_window_days * DAY_MS
AUTO_REJECT = frozenset(k.strip() for k in settings.integrity_auto_reject.split(",") if k.strip())

media_topic = app.topic(INTEGRITY_MEDIA.name(settings), key_type=bytes, value_type=bytes)
places_topic = app.topic(INTEGRITY_PLACES.name(settings), key_type=bytes, value_type=bytes)
findings_topic = app.topic(INTEGRITY_FINDINGS.name(settings), key_type=bytes, value_type=bytes)

media_buckets = json_table(
    "media-buckets",
    "Reuse index: bucket key '<band>:<hex piece>' -> [[hash, ref, sender, at_ms, sha256]].",
)
place_cells = json_table(
    "place-cells",
    "Duplicate index: cell '<radius>:<row>:<col>' -> [[case, category, lat, lon, at_ms]].",
)
TABLES = (media_buckets, place_cells)


async def after_submission(record: dict[str, Any], decision: Decision) -> None:
    """Index the opened case's images and place; pass on the edit signals of its images."""
    if not decision.forward or decision.state is None:
        return  # a client retry under the same case id: the first submission stands
    case_id = decision.state.case_id
    at_ms = decision.state.submitted_at_ms
    sender = record["sender"]["pseudonym"]
    for m in record.get("media") or []:
        if not m.get("phash"):
            continue
        hashes = tuple(int(h, 16) for h in [m["phash"], *(m.get("phash_variants") or [])])
        s = Sighting(case_id, sender, at_ms, m["sha256"], hashes)
        for p, rec in sighting_records(s, LAYOUT, PARTITIONS):
            value = codec.encode("MediaSighting", rec)
            await media_topic.send(key=case_id.encode(), value=value, partition=p)
    loc = record["location"]
    if loc.get("lat") is not None and loc.get("lon") is not None:
        place = Place(case_id, record["category"], loc["lat"], loc["lon"], at_ms)
        for p, part in sorted(place_plan(place, RADIUS_M, PARTITIONS).items()):
            value = codec.encode(
                "PlaceSighting",
                {
                    "case_id": case_id,
                    "category": place.category,
                    "lat": place.lat,
                    "lon": place.lon,
                    "submitted_at": at_ms,
                    **part,
                },
            )
            await places_topic.send(key=case_id.encode(), value=value, partition=p)
    await _send_findings([*edit_findings(record), *wording_findings(record)], at_ms)


async def _send_findings(found: list[Finding], at_ms: int | None = None) -> None:
    now = at_ms if at_ms is not None else int(time.time() * 1000)
    for f in found:
        value = codec.encode("IntegrityFlag", flag_record(f, now))
        await findings_topic.send(key=f.case_id.encode(), value=value)


async def _apply_media(event: faust.EventT) -> None:
    rec = _decode(event, "MediaSighting")
    at = rec["submitted_at"]
    at_ms = at if isinstance(at, int) else to_ms(at)
    hashes = tuple(int(h, 16) for h in rec["hashes"])
    s = Sighting(rec["ref"], rec["sender"], at_ms, rec["sha256"], hashes)
    found: list[Finding] = []
    for key in rec["probe"]:
        found += image_findings(s, media_buckets.get(key) or (), LAYOUT.max_distance)
    for b in rec["store"]:
        now = max(at_ms, int(time.time() * 1000))
        entries, changed = store_image(
            media_buckets.get(b["key"]), s, b["hashes"], now, REUSE_WINDOW_MS
        )
        if changed:
            media_buckets[b["key"]] = entries  # reassign: in-place edits are not logged
    await _send_findings(nearest(found, MAX_REUSE_LINKS))


async def _apply_place(event: faust.EventT) -> None:
    rec = _decode(event, "PlaceSighting")
    p = Place(rec["case_id"], rec["category"], rec["lat"], rec["lon"], to_ms(rec["submitted_at"]))
    found: list[Finding] = []
    for cell in rec["probe"]:
        found += place_findings(p, place_cells.get(cell) or (), RADIUS_M, DUPLICATE_WINDOW_MS)
    for cell in rec["store"]:
        now = max(p.at_ms, int(time.time() * 1000))
        entries, changed = store_place(place_cells.get(cell), p, now, DUPLICATE_WINDOW_MS)
        if changed:
            place_cells[cell] = entries
    await _send_findings(nearest(found, MAX_DUPLICATE_LINKS))


async def _apply_finding(event: faust.EventT) -> None:
    flag = _decode(event, "IntegrityFlag")
    case_id = str(flag["envelope"]["case_id"])
    decision = apply_flag(_load(case_id), flag)
    await _publish(case_id, decision)
    # also on a replay: the command's id is derived, so one sent before a crash is not doubled
    if decision.state is not None and AUTO_REJECT:
        cmd = auto_reject_command(decision.state, flag, AUTO_REJECT, int(time.time() * 1000))
        if cmd is not None:
            await commands_topic.send(key=case_id.encode(), value=codec.encode("CaseCommand", cmd))


@app.agent(media_topic)
async def media_index(stream: faust.StreamT[Any]) -> None:
    await _each(stream, _apply_media)


@app.agent(places_topic)
async def place_index(stream: faust.StreamT[Any]) -> None:
    await _each(stream, _apply_place)


@app.agent(findings_topic)
async def integrity_flags(stream: faust.StreamT[Any]) -> None:
    await _each(stream, _apply_finding)
