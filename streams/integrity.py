"""Submission integrity in the stream (docs/integrity.md §4): the image and place indexes and the
flags they raise.

    intake --(opened case)--> integrity.media  (explicit partition per image-index bucket)
                          --> integrity.places (explicit partition per place tile)
                          --> integrity.findings (edit signals, wording hits read at the gateway)
    integrity.media  --[media-buckets table]--> integrity.findings (keyed by the case to flag)
    integrity.places --[place-cells table]----> integrity.findings
    integrity.findings --[cases]--> case.events (IntegrityFlag), case.state
                               --> case.commands (auto-rejection, when configured)

Each bucket's entries are written while its partition's message is processed, so they land in
that partition of the changelog and a lookup reads one local key per bucket: sub-linear, never a
scan. Bounded per submission however hot the spot: a place cell keeps the newest entries of each
category, a lookup sends at most two links, a case keeps a few duplicate links (processors/rules.py
IntegrityRules). Delivery is at-least-once: entries are stored once, findings have derived ids, a
case keeps each flag once.
"""

from __future__ import annotations

import time
from typing import Any

import faust

from pakn.topics import COMMANDS, INTEGRITY_FINDINGS, INTEGRITY_MEDIA, INTEGRITY_PLACES
from processors.case import Decision, to_ms
from processors.integrity import (
    apply_flag,
    auto_reject_command,
    edit_findings,
    flag_record,
    wording_findings,
)
from processors.reuse import (
    MAX_REUSE_LINKS,
    Finding,
    Place,
    Sighting,
    image_findings,
    nearest,
    place_findings,
    place_links,
    place_plan,
    sighting_records,
    store_image,
    store_place,
)
from streams.cases import Cases
from streams.runtime import Runtime


def install(rt: Runtime, cases: Cases) -> tuple[Any, ...]:
    app = rt.app
    partitions = rt.settings.topic_partitions
    ir = rt.rules.integrity
    layout = ir.layout
    media_topic = rt.topic(INTEGRITY_MEDIA)
    places_topic = rt.topic(INTEGRITY_PLACES)
    findings_topic = rt.topic(INTEGRITY_FINDINGS)
    commands_topic = rt.topic(COMMANDS)
    media_buckets = rt.json_table(
        "media-buckets",
        "Reuse index: bucket key '<band>:<hex piece>' -> [[hash, ref, sender, at_ms, sha256]].",
    )
    place_cells = rt.json_table(
        "place-cells",
        "Duplicate index: cell '<radius>:<row>:<col>' -> [[case, category, lat, lon, at_ms]].",
    )

    async def send_findings(found: list[Finding], at_ms: int | None = None) -> None:
        now = at_ms if at_ms is not None else int(time.time() * 1000)
        for f in found:
            await rt.send(findings_topic, f.case_id.encode(), "IntegrityFlag", flag_record(f, now))

    async def after_submission(record: dict[str, Any], decision: Decision) -> None:
        """Index the opened case's images and place; pass on its edit signals and wording."""
        if not decision.forward or decision.state is None:
            return  # a client retry under the same case id: the first submission stands
        case_id = decision.state.case_id
        at_ms = decision.state.submitted_at_ms
        sender = record["sender"]["pseudonym"]
        key = case_id.encode()
        for m in record.get("media") or []:
            if not m.get("phash"):
                continue
            hashes = tuple(int(h, 16) for h in [m["phash"], *(m.get("phash_variants") or [])])
            s = Sighting(case_id, sender, at_ms, m["sha256"], hashes)
            for p, rec in sighting_records(s, layout, partitions):
                await rt.send(media_topic, key, "MediaSighting", rec, partition=p)
        loc = record["location"]
        if loc.get("lat") is not None and loc.get("lon") is not None:
            place = Place(case_id, record["category"], loc["lat"], loc["lon"], at_ms)
            for p, part in sorted(place_plan(place, ir.duplicate_radius_m, partitions).items()):
                rec = {
                    "case_id": case_id,
                    "category": place.category,
                    "lat": place.lat,
                    "lon": place.lon,
                    "submitted_at": at_ms,
                    **part,
                }
                await rt.send(places_topic, key, "PlaceSighting", rec, partition=p)
        found = [*edit_findings(record), *wording_findings(record, rt.rules.screen)]
        await send_findings(found, at_ms)

    async def apply_media(event: faust.EventT) -> None:
        rec = rt.decode_one(event, INTEGRITY_MEDIA)
        at = rec["submitted_at"]
        at_ms = at if isinstance(at, int) else to_ms(at)
        hashes = tuple(int(h, 16) for h in rec["hashes"])
        s = Sighting(rec["ref"], rec["sender"], at_ms, rec["sha256"], hashes)
        found: list[Finding] = []
        for k in rec["probe"]:
            found += image_findings(s, media_buckets.get(k) or (), layout.max_distance)
        now = max(at_ms, int(time.time() * 1000))
        for b in rec["store"]:
            entries, changed = store_image(
                media_buckets.get(b["key"]), s, b["hashes"], now, ir.reuse_window_ms
            )
            if changed:
                media_buckets[b["key"]] = entries  # reassign: in-place edits are not logged
        await send_findings(nearest(found, MAX_REUSE_LINKS))

    async def apply_place(event: faust.EventT) -> None:
        rec = rt.decode_one(event, INTEGRITY_PLACES)
        p = Place(
            rec["case_id"], rec["category"], rec["lat"], rec["lon"], to_ms(rec["submitted_at"])
        )
        found: list[Finding] = []
        for cell in rec["probe"]:
            found += place_findings(
                p, place_cells.get(cell) or (), ir.duplicate_radius_m, ir.duplicate_window_ms
            )
        now = max(p.at_ms, int(time.time() * 1000))
        for cell in rec["store"]:
            entries, changed = store_place(
                place_cells.get(cell),
                p,
                now,
                ir.duplicate_window_ms,
                per_category=ir.place_entries_per_category,
            )
            if changed:
                place_cells[cell] = entries
        await send_findings(place_links(found, p.case_id))

    async def apply_finding(event: faust.EventT) -> None:
        flag = rt.decode_one(event, INTEGRITY_FINDINGS)
        case_id = str(flag["envelope"]["case_id"])
        limit = ir.duplicate_flags_per_case
        d = await cases.decide(event, case_id, lambda s: apply_flag(s, flag, limit))
        # also on a replay: the command's id is derived, so one sent before a crash is not doubled
        kinds = rt.rules.integrity.auto_reject
        if d.state is not None and kinds:
            cmd = auto_reject_command(d.state, flag, kinds, int(time.time() * 1000))
            if cmd is not None:
                await rt.send(commands_topic, case_id.encode(), "CaseCommand", cmd)

    @app.agent(media_topic, name="media-index")
    async def media_index(stream: faust.StreamT[Any]) -> None:
        await rt.each(stream, apply_media, lock=False)  # no case state

    @app.agent(places_topic, name="place-index")
    async def place_index(stream: faust.StreamT[Any]) -> None:
        await rt.each(stream, apply_place, lock=False)

    @app.agent(findings_topic, name="integrity-flags")
    async def integrity_flags(stream: faust.StreamT[Any]) -> None:
        await rt.each(stream, apply_finding)

    cases.on_opened.append(after_submission)
    return media_index, place_index, integrity_flags
