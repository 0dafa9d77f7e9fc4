"""The indexes' pure logic (processors/reuse.py); flags on a case (processors/integrity.py)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from processors.calendar import WorkingCalendar
from processors.case import open_case
from processors.integrity import apply_flag, auto_reject_command, edit_findings, flag_record
from processors.media_checks import NearDupIndex, hamming
from processors.reuse import (
    DAY_MS,
    Finding,
    HashIndex,
    MemoryImageIndex,
    Place,
    Sighting,
    bucket_partition,
    image_facts,
    image_plan,
    place_cell,
    place_findings,
    place_plan,
    probe_cells,
    sighting_records,
    store_image,
    store_place,
)
from processors.workflow import apply_command
from tests.factories import submitted_record
from tests.media_set import HANOI, photo

RADIUS = 250.0
WINDOW = 30 * DAY_MS


def flipped(h: int, bits: int, r: random.Random) -> int:
    for b in r.sample(range(64), bits):
        h ^= 1 << b
    return h


# --- images ---------------------------------------------------------------------------------
def test_two_images_within_the_distance_always_meet_in_a_probed_bucket() -> None:
    """Pigeonhole: whatever bits differ (up to the distance), the query probes a bucket the
    stored hash is in — checked on 2,000 random pairs per distance, with 4 and 11 bands."""
    r = random.Random(3)
    for bands in (4, 6, 11):
        layout = NearDupIndex(max_distance=10, bands=bands)
        for d in range(11):
            for _ in range(200):
                h = r.getrandbits(64)
                q = flipped(h, d, r)
                assert set(layout.add_keys(h)) & set(layout.probe_keys(q)), (bands, d)


def test_each_bucket_has_one_partition_and_the_plan_groups_by_it() -> None:
    layout = NearDupIndex(10, 4)
    s = Sighting("c", "s", 1, "sha", (0x0123456789ABCDEF, 0x0123456789ABCDEE))
    plan = image_plan(s, layout, 6)
    for p, part in plan.items():
        assert all(bucket_partition(k, 6) == p for k in part["probe"])
        assert all(bucket_partition(k, 6) == p for k in part["store"])
    assert sum(len(part["probe"]) for part in plan.values()) == len(layout.probe_keys(s.hashes[0]))
    assert len(plan) <= 6 and [p for p, _ in sighting_records(s, layout, 6)] == sorted(plan)
    assert bucket_partition("3:abcd", 6) == bucket_partition("3:abcd", 6)  # not Python's hash()


def test_the_later_submission_is_flagged_whatever_order_the_bucket_saw() -> None:
    h = 0xF0F0F0F0AAAA5555
    early = Sighting("case-a", "alice", 1_000, "sha-a", (h,))
    late = Sighting("case-b", "bob", 2_000, "sha-b", (h ^ 0b111,))
    for first, second in ((early, late), (late, early)):
        entries, _ = store_image(None, first, [f"{first.hashes[0]:016x}"], 0, None)
        from processors.reuse import image_findings

        (f,) = image_findings(second, entries, 10)
        assert (f.case_id, f.related_case_id, f.distance) == ("case-b", "case-a", 3.0)
        assert (f.media_sha256, f.related_media_sha256) == ("sha-b", "sha-a")


def test_own_images_and_redeliveries_are_not_reuse() -> None:
    index = MemoryImageIndex()
    h = 0x1234_5678_9ABC_DEF0
    assert index.submit(Sighting("a", "alice", 1, "sha", (h,))) == []
    assert index.submit(Sighting("a", "alice", 1, "sha", (h,))) == []  # redelivered
    assert index.submit(Sighting("b", "alice", 2, "sha2", (h ^ 1,))) == []  # her own again
    found = index.submit(Sighting("c", "carol", 3, "sha3", (h ^ 3,)))
    assert {(f.case_id, f.related_case_id, f.kind) for f in found} == {
        ("c", "a", "reused_image"),
        ("c", "b", "reused_image"),
    }
    stored = sum(len(v) for v in index.buckets.values())
    index.submit(Sighting("c", "carol", 3, "sha3", (h ^ 3,)))
    assert sum(len(v) for v in index.buckets.values()) == stored  # stored once


def test_old_entries_leave_the_bucket_but_the_blocklist_stays() -> None:
    s = Sighting("a", "alice", 1_000, "sha", (1,))
    b = Sighting("blocklist:x", "", 0, "shb", (1,))
    entries, _ = store_image(None, s, ["0000000000000001"], 1_000, 10)
    entries, _ = store_image(entries, b, ["0000000000000001"], 1_000, 10)
    later = Sighting("c", "carol", 5_000, "shc", (1,))
    entries, changed = store_image(entries, later, [], 5_000, 10)
    assert changed and [e[1] for e in entries] == ["blocklist:x"]


def test_compact_index_answers_what_a_scan_answers() -> None:
    r = random.Random(5)
    index = HashIndex(max_distance=10, bands=4)
    stored = {}
    for i in range(3_000):
        base = r.getrandbits(64)
        variants = [base] + [flipped(base, r.randrange(1, 6), r) for _ in range(5)]
        stored[i] = variants
        index.add(variants, i)
    for _ in range(200):
        i = r.randrange(3_000)
        q = flipped(stored[i][r.randrange(6)], r.randrange(0, 11), r)
        scan = {j: min(hamming(q, v) for v in vs) for j, vs in stored.items()}
        want = sorted(((j, d) for j, d in scan.items() if d <= 10), key=lambda jd: (jd[1], jd[0]))
        assert index.query(q) == want


def test_image_facts_hash_images_and_read_their_signals() -> None:
    data = photo(1, taken="2026:02:13 08:45:10")
    facts = image_facts(
        data, "image/jpeg", reported_at=datetime(2026, 2, 20, tzinfo=UTC), reported_place=HANOI
    )
    assert len(facts["phash"]) == 16 and 1 <= len(facts["phash_variants"]) <= 5
    assert [s["code"] for s in facts["edit_signals"]] == ["exif_capture_time_far"]
    assert image_facts(b"%PDF-1.4 ...", "application/pdf")["phash"] is None
    assert image_facts(b"\xff\xd8\xff broken", "image/jpeg")["phash"] is None


# --- places ---------------------------------------------------------------------------------
def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    import math

    return lat + north_m / 111_320, lon + east_m / (111_320 * math.cos(math.radians(lat)))


@pytest.mark.parametrize("lat", [8.6, 10.78, 16.05, 21.03, 23.3])
def test_every_place_within_the_radius_is_in_a_probed_cell(lat: float) -> None:
    r = random.Random(int(lat * 100))
    for _ in range(2_000):
        a = (lat + r.uniform(-0.05, 0.05), 105.8 + r.uniform(-0.05, 0.05))
        ang, dist = r.uniform(0, 6.283), r.uniform(0, RADIUS)
        import math

        b = offset(*a, dist * math.cos(ang), dist * math.sin(ang))
        assert place_cell(*b, RADIUS) in probe_cells(*a, RADIUS)


def _submit(cells: dict[str, list], p: Place) -> list[Finding]:
    found: list[Finding] = []
    for part in place_plan(p, RADIUS, 6).values():
        for c in part["probe"]:
            found += place_findings(p, cells.get(c, ()), RADIUS, WINDOW)
        for c in part["store"]:
            cells[c], _ = store_place(cells.get(c), p, p.at_ms, WINDOW)
    return found


def test_same_category_near_the_same_place_is_a_likely_duplicate() -> None:
    cells: dict[str, list] = {}
    t0 = 1_800_000_000_000
    assert _submit(cells, Place("a", "road_damage", *HANOI, t0)) == []
    near = offset(*HANOI, 150, 120)  # 192 m
    (f,) = _submit(cells, Place("b", "road_damage", *near, t0 + 5 * DAY_MS))
    assert (f.case_id, f.kind, f.related_case_id) == ("b", "likely_duplicate", "a")
    assert 185 < (f.distance or 0) < 200
    assert _submit(cells, Place("c", "lighting", *near, t0 + DAY_MS)) == []  # other category
    far = offset(*HANOI, 260, 0)
    assert [
        x.related_case_id for x in _submit(cells, Place("d", "road_damage", *far, t0 + 6 * DAY_MS))
    ] == [
        "b"  # 260 m from a, 110 m from b
    ]
    late = Place("e", "road_damage", *HANOI, t0 + 31 * DAY_MS)
    assert [x.related_case_id for x in _submit(cells, late)] == ["b"]  # a: too old; d: 260 m


def test_redelivered_place_is_stored_once_and_finds_the_same() -> None:
    cells: dict[str, list] = {}
    a, b = Place("a", "waste", *HANOI, 1), Place("b", "waste", *HANOI, 2)
    _submit(cells, a)
    first = _submit(cells, b)
    assert _submit(cells, b) == first and sum(len(v) for v in cells.values()) == 2


# --- flags on the case ----------------------------------------------------------------------
def _case() -> object:
    rec = submitted_record()
    return open_case(None, rec, WorkingCalendar(), unit_code="00070").state


def test_a_flag_is_kept_once_and_shown_in_the_state() -> None:
    state = _case()
    f = Finding(state.case_id, "reused_image", "reused_image", "other-case", "s1", "s0", 3.0, "x")
    rec = flag_record(f, 1_800_000_000_000)
    d = apply_flag(state, rec)
    assert d.changed and d.snapshot and d.emits[0][1]["unit_code"] == "00070"
    assert d.state.snapshot()["integrity_flags"] == [
        {
            "kind": "reused_image",
            "code": "reused_image",
            "related_case_id": "other-case",
            "media_sha256": "s1",
            "detail": "x",
        }
    ]
    again = apply_flag(d.state, flag_record(f, 1_800_000_999_000))  # found again, later
    assert not again.changed and again.emits == d.emits  # the same event, same time
    assert len(again.state.integrity_flags) == 1
    assert apply_flag(None, rec).emits == []


def test_edit_signals_of_the_submission_become_findings() -> None:
    rec = submitted_record()
    rec["media"] = [
        {
            "sha256": "ab" * 32,
            "content_type": "image/jpeg",
            "size": 1,
            "filename": None,
            "phash": None,
            "phash_variants": [],
            "edit_signals": [{"code": "exif_editing_software", "detail": "Snapseed"}],
        }
    ]
    (f,) = edit_findings(rec)
    assert (f.kind, f.code, f.media_sha256, f.detail) == (
        "edit_signal",
        "exif_editing_software",
        "ab" * 32,
        "Snapseed",
    )


def test_auto_rejection_only_where_configured() -> None:
    state = _case()
    f = Finding(state.case_id, "likely_duplicate", "likely_duplicate", "other")
    rec = flag_record(f, 1_800_000_000_000)
    assert auto_reject_command(state, rec, frozenset(), 0) is None  # default: flags only
    assert auto_reject_command(state, rec, frozenset({"reused_image"}), 0) is None
    cmd = auto_reject_command(state, rec, frozenset({"likely_duplicate"}), 1_800_000_000_000)
    assert cmd is not None and cmd["reason"] == "duplicate"
    again = auto_reject_command(state, rec, frozenset({"likely_duplicate"}), 1_800_000_500_000)
    assert again["envelope"]["event_id"] == cmd["envelope"]["event_id"]  # rejects once
    d = apply_command(state, cmd, WorkingCalendar())
    assert d.result["accepted"] and d.state.status == "rejected"
    assert auto_reject_command(d.state, rec, frozenset({"likely_duplicate"}), 0) is None


def test_a_viral_photo_or_a_busy_street_links_each_case_to_a_few_earlier_ones() -> None:
    from processors.reuse import MAX_DUPLICATE_LINKS, MAX_REUSE_LINKS, nearest

    index = MemoryImageIndex(partitions=6)
    h = 0x0F1E_2D3C_4B5A_6978
    for i in range(30):
        found = index.submit(Sighting(f"c{i:02d}", f"s{i}", i, f"sha{i}", (h,)))
        assert len(found) <= min(i, MAX_REUSE_LINKS * 6)
    cells: dict[str, list] = {}
    for i in range(30):
        p = Place(f"p{i:02d}", "flooding", *HANOI, i)
        here = nearest(_submit(cells, p), MAX_DUPLICATE_LINKS)
        assert [f.related_case_id for f in here] == (["p00"] if i else [])  # the first report


def test_blocklist_hash_files_are_read_line_by_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import click

    from pakn.integrity_cli import _hash_lines

    good = tmp_path / "known.txt"
    good.write_text(
        "# exported\nviral-1 0123456789abcdef fedcba9876543210\n\nmeme ffff0000ffff0000\n"
    )
    items = _hash_lines(good)
    assert [(label, hashes) for label, _, hashes in items] == [
        ("viral-1", (0x0123456789ABCDEF, 0xFEDCBA9876543210)),
        ("meme", (0xFFFF0000FFFF0000,)),
    ]
    for bad in ("label-only", "x 0123456789abcdefg", "x 10000000000000000"):
        path = tmp_path / "bad.txt"
        path.write_text(bad + "\n")
        with pytest.raises(click.ClickException, match=r"bad\.txt:1"):
            _hash_lines(path)
