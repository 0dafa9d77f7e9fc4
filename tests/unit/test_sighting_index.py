"""The worker's in-memory integrity index: what a lookup finds, and what a hot spot costs."""

from __future__ import annotations

from processors.reuse import BLOCKLIST_PREFIX, Place, Sighting, SightingIndex

DAY = 86_400_000


def test_a_report_near_an_earlier_one_of_the_same_category_is_its_likely_duplicate() -> None:
    idx = SightingIndex()
    assert idx.check_place(Place("a", "flooding", 21.03, 105.85, 1_000)) == []
    [f] = idx.check_place(Place("b", "flooding", 21.0301, 105.8501, 2_000))
    assert (f.case_id, f.related_case_id, f.kind) == ("b", "a", "likely_duplicate")
    assert idx.check_place(Place("c", "noise", 21.0301, 105.8501, 3_000)) == []  # other category


def test_a_thousand_reports_of_one_spot_keep_the_cell_and_the_links_bounded() -> None:
    idx = SightingIndex(per_category=8)
    for i in range(1000):
        found = idx.check_place(Place(f"c{i}", "flooding", 21.03 + i * 1e-7, 105.85, i * 1000))
        assert len(found) <= 2
    assert max(len(v) for v in idx.cells.values()) <= 8


def test_reports_older_than_the_window_are_forgotten() -> None:
    idx = SightingIndex(duplicate_window_ms=30 * DAY)
    idx.check_place(Place("old", "waste", 21.0, 105.8, 0))
    assert idx.check_place(Place("new", "waste", 21.0, 105.8, 31 * DAY)) == []


def test_a_reposted_photo_is_found_and_its_copies_stay_bounded() -> None:
    idx = SightingIndex(per_hash=4)
    h = 0x0123456789ABCDEF
    assert idx.check_image(Sighting("a", "alice", 1, "sha-a", (h,))) == []
    [f] = idx.check_image(Sighting("b", "bob", 2, "sha-b", (h ^ 0b11,)))
    assert (f.case_id, f.related_case_id, f.kind) == ("b", "a", "reused_image")
    for i in range(50):
        idx.check_image(Sighting(f"x{i}", f"s{i}", 10 + i, f"sha{i}", (h,)))
    assert max(len(v) for v in idx.buckets.values()) <= 4 + 1  # + the near copy of b


def test_a_blocklisted_image_flags_the_cases_that_match_it() -> None:
    idx = SightingIndex()
    h = 0x0F0F0F0F0F0F0F0F
    idx.check_image(Sighting("case-1", "s", 5, "sha", (h,)))
    [f] = idx.check_image(Sighting(f"{BLOCKLIST_PREFIX}leaflet", "", 0, "bl", (h ^ 1,)))
    assert f.case_id == "case-1" and f.kind == "blocklisted_image"


def test_adding_the_same_submission_twice_changes_nothing() -> None:
    idx = SightingIndex()
    rec = {
        "envelope": {"case_id": "a", "occurred_at": 1_000},
        "sender": {"pseudonym": "p"},
        "media": [{"phash": "0123456789abcdef", "phash_variants": [], "sha256": "s"}],
        "location": {"lat": 21.0, "lon": 105.8},
        "category": "waste",
    }
    idx.check_submission(rec)
    before = idx.sizes()
    assert idx.check_submission(rec) == []
    assert idx.sizes() == before
