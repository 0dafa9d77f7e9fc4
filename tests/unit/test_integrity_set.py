"""The media test set (tests/media_set.py) through the stream's own logic (processors/reuse.py):
reuse and edit detection precision and recall, printed (``-s``) and written to
.pakn/reports/integrity_set.json, asserted against the thresholds of docs/integrity.md §4."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

from processors.media_checks import edit_signals, perceptual_hashes
from processors.reuse import BLOCKLIST_PREFIX, MemoryImageIndex, Sighting
from tests.media_set import edit_cases, photo, reuse_variants, street_photo

REPORT = Path(__file__).resolve().parents[2] / ".pakn" / "reports" / "integrity_set.json"
GROUPS = 24  # source photos, each sent again as 12 variants by other senders
UNRELATED = 120  # other photos, some of the same kind of street
# Thresholds (docs/integrity.md §4): a reuse flag sends an officer to compare two photos, so a
# false flag costs a minute; a missed reuse costs a case handled twice or a fake report.
MIN_REUSE_PRECISION = 0.98
MIN_REUSE_RECALL = 0.95
MIN_EDIT_PRECISION = 0.99
MIN_EDIT_RECALL = 0.99
REPORTED_AT = datetime(2026, 2, 13, 2, 0, tzinfo=UTC)  # 09:00 Hanoi


def _report(section: str, figures: dict[str, object]) -> None:
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    data[section] = figures
    REPORT.write_text(json.dumps(data, indent=2, ensure_ascii=False))
    print(f"\n{section}: {json.dumps(figures, ensure_ascii=False)}")


def test_reuse_detection_precision_and_recall() -> None:
    """Every re-sent copy of a photo (by someone else) is flagged naming an earlier copy of the
    same photo; unrelated photos and the sender's own repeats are not flagged."""
    r = random.Random(7)
    subs: list[tuple[str, int | None, bytes]] = []  # (variant name, group, bytes)
    for g in range(GROUPS):
        subs.append(("original", g, photo(g)))
        subs += [(name, g, data) for name, data in reuse_variants(g).items()]
    subs += [("unrelated", None, photo(10_000 + u)) for u in range(UNRELATED)]
    r.shuffle(subs)
    index = MemoryImageIndex()
    seen: set[int] = set()
    group_of: dict[str, int | None] = {}
    tp = fp = fn = 0
    missed: dict[str, int] = {}
    false_flags: list[str] = []
    for i, (name, g, data) in enumerate(subs):
        case = f"case-{i:04d}"
        group_of[case] = g
        s = Sighting(case, f"sender-{i}", 1_000 + i, f"sha-{i}", tuple(perceptual_hashes(data)))
        found = [f for f in index.submit(s) if f.case_id == case]
        right = [f for f in found if group_of[f.related_case_id or ""] == g and g is not None]
        fp += len(found) - len(right)
        false_flags += [
            f"{name} ~ {f.related_case_id} ({f.distance:.0f} bits)" for f in found if f not in right
        ]
        if g is not None and g in seen:  # an earlier copy exists: a positive
            if right:
                tp += 1
            else:
                fn += 1
                missed[name] = missed.get(name, 0) + 1
        if g is not None:
            seen.add(g)
    # the sender's own second photo of the same pothole is not reuse of their first one
    first = next(i for i, (_, g, _) in enumerate(subs) if g == 0)
    again = Sighting("own", f"sender-{first}", 9_999, "sha-own", tuple(perceptual_hashes(photo(0))))
    assert f"case-{first:04d}" not in {f.related_case_id for f in index.submit(again)}
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn)
    _report(
        "reuse",
        {
            "submissions": len(subs),
            "positives": tp + fn,
            "true_positives": tp,
            "false_positives": fp,
            "missed_by_variant": missed,
            "false_flags": false_flags,
            "precision": round(precision, 4),
            "recall": round(recall, 4),
        },
    )
    assert precision >= MIN_REUSE_PRECISION
    assert recall >= MIN_REUSE_RECALL


def test_blocklisted_images_are_flagged_whenever_the_blocklist_learns_them() -> None:
    index = MemoryImageIndex()
    known = street_photo(77)
    block = Sighting(
        f"{BLOCKLIST_PREFIX}viral-2025", "", 0, "sha-b", tuple(perceptual_hashes(photo(77)))
    )
    assert index.submit(block) == []
    copy = reuse_variants(77)["resized 50% q75"]
    (f,) = index.submit(Sighting("c1", "s1", 5, "sha-c1", tuple(perceptual_hashes(copy))))
    assert (f.case_id, f.kind, f.related_case_id) == ("c1", "blocklisted_image", None)
    # a case first, the blocklist after: the case is flagged all the same
    later = MemoryImageIndex()
    assert later.submit(Sighting("c2", "s2", 5, "sha-c2", tuple(perceptual_hashes(copy)))) == []
    (f,) = later.submit(block)
    assert (f.case_id, f.kind) == ("c2", "blocklisted_image")
    assert known.size == (800, 600)


def test_edit_detection_precision_and_recall() -> None:
    cases = edit_cases(range(12))
    tp = fp = fn = tn = 0
    wrong: list[str] = []
    for c in cases:
        signals = edit_signals(c.data, reported_at=REPORTED_AT, reported_place=c.reported_place)
        flagged = bool(signals)
        if flagged and c.edited:
            tp += 1
        elif flagged:
            fp += 1
            wrong.append(f"{c.name}: {[s.code for s in signals]}")
        elif c.edited:
            fn += 1
            wrong.append(f"{c.name}: missed")
        else:
            tn += 1
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn)
    _report(
        "edits",
        {
            "photos": len(cases),
            "edited": tp + fn,
            "genuine": fp + tn,
            "true_positives": tp,
            "false_positives": fp,
            "wrong": wrong,
            "precision": round(precision, 4),
            "recall": round(recall, 4),
        },
    )
    assert precision >= MIN_EDIT_PRECISION
    assert recall >= MIN_EDIT_RECALL


# --- wording: what reaches the receiving officer -----------------------------------------------
def test_wording_findings_name_the_field_span_and_term_of_every_hit() -> None:
    from processors.integrity import wording_findings

    record = {
        "envelope": {"case_id": "c1"},
        "title": "Cống dit tắc ở ngõ 5",
        "description": "Đồ địt cống rãnh",
    }
    found = wording_findings(record)
    assert [(f.kind, f.code, f.detail) for f in found] == [
        ("wording_review", "wording_review", "title 5-8: dit"),
        ("wording_review", "wording_reject", "description 3-6: địt"),
    ]
    assert len({f.flag_id for f in found}) == 2  # two flags, each raised once by its id
    assert wording_findings({**record, "title": "Cống tắc", "description": ""}) == []
    assert [f.flag_id for f in wording_findings(record)] == [f.flag_id for f in found]
