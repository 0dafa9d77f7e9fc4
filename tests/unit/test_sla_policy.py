"""SLA policy as data (processors/sla.py, processors/data/sla_policy.json) against domain.md §4–§5.

Hand-checked dates use the 2026 calendar of domain.md §7: Tết off Mon 16 – Fri 20 Feb, New Year
off Thu 1 – Fri 2 Jan with Sat 10 Jan worked, Hùng Kings Mon 27 Apr, 30 Apr – 1 May, National
Day Mon 31 Aug – Wed 2 Sep with Sat 22 Aug worked. Office hours 08:00–12:00, 13:00–17:00.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pakn.rules import rules_from_settings
from pakn.settings import Settings
from processors.calendar import TZ, WorkingCalendar, load_shipped_overrides
from processors.catalogue import PROCESSES
from processors.sla import (
    LEVELS,
    STAGES,
    Duration,
    Level,
    PolicyError,
    SlaError,
    SlaPolicy,
    StageClock,
    add_working,
    clear_policy_cache,
    default_policy,
    receive_deadline,
    working_between,
)

# The shipped tables only: an operator's environment must not change these tests.
CAL = WorkingCalendar(overrides=load_shipped_overrides())
POLICY = SlaPolicy.shipped()
H = timedelta(hours=1)


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=TZ)


@pytest.fixture(autouse=True)
def _no_operator_policy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("PAKN_SLA_POLICY", raising=False)
    clear_policy_cache()
    yield
    clear_policy_cache()


def policy_doc(**changes: Any) -> dict[str, Any]:
    """The shipped document, as a starting point for test policies."""
    doc = json.loads(
        Path(__file__).parents[2].joinpath("processors/data/sla_policy.json").read_text()
    )
    doc.update(changes)
    return doc


def _pausable_doc() -> dict[str, Any]:
    """The variant a city may choose: urgent in working hours, unbounded handling pauses."""
    doc = policy_doc(version="v2-pausable")
    doc["defaults"]["handle"]["pausable"] = True
    doc["defaults"]["handle"]["levels"]["urgent"] = "4h"
    return doc


# Clock arithmetic of pauses, extensions and reclassification is checked on this variant.
PAUSABLE = SlaPolicy.from_mapping(_pausable_doc(), "test")


def handle(level: Level, received: datetime, process: str = "field_feedback") -> StageClock:
    return PAUSABLE.deadline(process, "handle", level, received, CAL)


SECONDS_POLICY: dict[str, Any] = {
    "format": 1,
    "name": "test-seconds",
    "version": "v1",
    "warning_share": 0.75,
    "defaults": {
        "receive": {"counted_from": "submission", "allowance": "30s"},
        "assign": {"counted_from": "receipt", "allowance": "20s"},
        "handle": {
            "counted_from": "receipt",
            "levels": {"urgent": "10s", "normal": "1m", "complex": "90s"},
            "pausable": True,
            "extension_cap": "5cm",
        },
    },
}


# --- the regulation's clocks (domain.md §5) -------------------------------------------------------
def test_shipped_policy_is_named_and_versioned() -> None:
    assert POLICY.id == "hanoi-1207-2025/v2"
    assert POLICY.warning_share == Fraction(3, 4)
    assert "1207/QĐ-UBND" in POLICY.source


def test_receipt_due_within_8_working_hours_of_submission() -> None:
    # Fri 13 Feb 16:00: 1 h on Friday, Tết closes 16–20 Feb, 7 h on Mon 23 Feb.
    clock = receive_deadline(at(2026, 2, 13, 16), CAL)
    assert clock.stage == "receive" and clock.level is None
    assert clock.due_at == at(2026, 2, 23, 16)
    assert clock.working_minutes == 480 and clock.policy == "hanoi-1207-2025/v2"


def test_submission_outside_office_hours_counts_from_the_next_working_instant() -> None:
    clock = receive_deadline(at(2026, 3, 7, 10), CAL)  # Saturday
    assert clock.due_at == at(2026, 3, 9, 17)
    assert clock.counted_from == at(2026, 3, 7, 10)


def test_assignment_due_within_4_working_hours_of_receipt() -> None:
    # Wed 29 Apr 15:00: 2 h, then 30 Apr, 1 May and the weekend are off, 2 h on Mon 4 May.
    clock = POLICY.deadline("field_feedback", "assign", None, at(2026, 4, 29, 15), CAL)
    assert clock.due_at == at(2026, 5, 4, 10)


def test_urgent_case_must_be_handled_within_4_working_hours() -> None:
    assert handle("urgent", at(2026, 3, 2, 10)).due_at == at(2026, 3, 2, 15)  # over lunch
    # Regulation time is working time even for urgent cases: over Tết it waits for Mon 23 Feb.
    assert handle("urgent", at(2026, 2, 13, 15)).due_at == at(2026, 2, 23, 10)


def test_normal_case_handled_within_7_working_days_skipping_tet() -> None:
    # Fri 13 Feb 10:00: 6 h on Friday, 16–20 Feb off, then 50 h: Tue 3 Mar 10:00.
    clock = handle("normal", at(2026, 2, 13, 10))
    assert clock.due_at == at(2026, 3, 3, 10)
    assert clock.allowance_seconds == 7 * 8 * 3600
    assert clock.warn_at == at(2026, 2, 27, 12)  # 42 h = 75 %, ends at a period end


def test_complex_case_handled_within_15_working_days() -> None:
    assert handle("complex", at(2026, 2, 13, 10)).due_at == at(2026, 3, 13, 10)


def test_new_year_swap_and_make_up_saturday_are_respected() -> None:
    # Wed 31 Dec 2025 16:00 urgent: 1 h, then 1–4 Jan off, 3 h on Mon 5 Jan.
    assert handle("urgent", at(2025, 12, 31, 16)).due_at == at(2026, 1, 5, 11)
    # Fri 9 Jan 14:00: 3 h, Sat 10 Jan is a make-up working day: 4 h + 1 h.
    assert receive_deadline(at(2026, 1, 9, 14), CAL).due_at == at(2026, 1, 10, 14)


def test_national_day_break_and_its_make_up_saturday() -> None:
    assign = POLICY.deadline("field_feedback", "assign", None, at(2026, 8, 21, 15), CAL)
    assert assign.due_at == at(2026, 8, 22, 10)  # Sat 22 Aug is worked
    assert handle("urgent", at(2026, 8, 28, 16)).due_at == at(2026, 9, 3, 11)


def test_investor_receipt_and_assignment_within_8_working_hours_of_submission() -> None:
    submitted = at(2026, 3, 2, 8)
    # Received after 6 h: 4 h from receipt would be Tue 09:00, but 8 h from submission binds.
    late = POLICY.deadline(
        "investor_business", "assign", None, at(2026, 3, 2, 14), CAL, submitted_at=submitted
    )
    assert late.due_at == at(2026, 3, 2, 17) and late.limit_at == at(2026, 3, 2, 17)
    assert late.warn_at <= late.due_at
    # Received after 30 min: the 4 h from receipt bind.
    early = POLICY.deadline(
        "investor_business", "assign", None, at(2026, 3, 2, 8, 30), CAL, submitted_at=submitted
    )
    assert early.due_at == at(2026, 3, 2, 13, 30)
    assert POLICY.deadline("investor_business", "receive", None, submitted, CAL).due_at == (
        at(2026, 3, 2, 17)
    )


def test_investor_assignment_needs_the_submission_time() -> None:
    with pytest.raises(SlaError) as e:
        POLICY.deadline("investor_business", "assign", None, at(2026, 3, 2, 14), CAL)
    assert e.value.code == "submission_time_required"


@pytest.mark.parametrize("process", ["administrative_procedure", "waste_report", "initiative"])
def test_waste_initiatives_and_procedures_use_the_field_feedback_clocks(process: str) -> None:
    for stage in STAGES:
        assert POLICY.rule(process, stage) == POLICY.rule("field_feedback", stage)


def test_every_process_stage_and_level_of_the_shipped_policy_resolves() -> None:
    assert set(POLICY.processes) == set(PROCESSES)
    received = at(2026, 3, 2, 9)
    for process in PROCESSES:
        for stage in STAGES:
            for level in LEVELS if stage == "handle" else (None,):
                clock = POLICY.deadline(
                    process, stage, level, received, CAL, submitted_at=at(2026, 3, 2, 8)
                )
                assert clock.counted_from <= clock.warn_at <= clock.due_at
                assert clock.policy == POLICY.id and clock.allowance_seconds > 0
                assert (clock.cap_at is not None) == (stage == "handle")


@pytest.mark.parametrize(
    ("stage", "level", "code"),
    [
        ("handle", None, "level_required"),
        ("handle", "critical", "unknown_level"),
        ("receive", "urgent", "level_not_applicable"),
        ("close", None, "unknown_stage"),
    ],
)
def test_levels_belong_to_handling_only(stage: Any, level: Any, code: str) -> None:
    with pytest.raises(SlaError) as e:
        POLICY.deadline("field_feedback", stage, level, at(2026, 3, 2, 9), CAL)
    assert e.value.code == code


def test_unknown_process_is_refused() -> None:
    with pytest.raises(SlaError) as e:
        POLICY.deadline("complaint", "receive", None, at(2026, 3, 2, 9), CAL)
    assert e.value.code == "unknown_process"


def test_results_are_aware_in_hanoi_time_whatever_the_input_zone() -> None:
    utc = receive_deadline(datetime(2026, 2, 13, 9, tzinfo=UTC), CAL)
    naive = receive_deadline(datetime(2026, 2, 13, 16), CAL)
    assert utc.due_at == naive.due_at == at(2026, 2, 23, 16)
    assert utc.due_at.tzinfo is TZ and naive.counted_from.tzinfo is TZ


# --- warning --------------------------------------------------------------------------------------
def test_warning_due_when_75_percent_of_the_allowance_is_used() -> None:
    clock = receive_deadline(at(2026, 3, 2, 8), CAL)
    assert clock.warn_at == at(2026, 3, 2, 15) and clock.due_at == at(2026, 3, 2, 17)


def test_warning_share_is_configurable() -> None:
    half = SlaPolicy.from_mapping(policy_doc(warning_share="0.5"))
    assert receive_deadline(at(2026, 3, 2, 8), CAL, policy=half).warn_at == at(2026, 3, 2, 12)


@pytest.mark.parametrize(
    ("allowance", "warn_after"),
    [("5m", timedelta(minutes=4)), ("30s", timedelta(seconds=23)), ("7d", 42 * H)],
)
def test_warning_instant_rounds_up(allowance: str, warn_after: timedelta) -> None:
    doc = copy.deepcopy(SECONDS_POLICY)
    doc["defaults"]["receive"]["allowance"] = allowance
    clock = receive_deadline(at(2026, 3, 2, 8), CAL, policy=SlaPolicy.from_mapping(doc))
    assert clock.warn_at == add_working(CAL, at(2026, 3, 2, 8), warn_after)


# --- reclassification -----------------------------------------------------------------------------
def test_reclassifying_to_complex_recomputes_from_receipt() -> None:
    normal = handle("normal", at(2026, 3, 2, 8))
    assert normal.due_at == at(2026, 3, 10, 17)
    complex_ = POLICY.reclassify(normal, "complex", CAL)
    assert complex_.level == "complex" and complex_.counted_from == at(2026, 3, 2, 8)
    assert complex_.due_at == at(2026, 3, 20, 17)
    assert complex_.allowance_seconds == 15 * 8 * 3600


def test_reclassifying_to_urgent_can_make_the_case_overdue_at_once() -> None:
    urgent = POLICY.reclassify(handle("normal", at(2026, 3, 2, 8)), "urgent", CAL)
    assert urgent.due_at == at(2026, 3, 2, 12)


def test_reclassification_keeps_the_pauses() -> None:
    normal = handle("normal", at(2026, 3, 2, 8)).pause(at(2026, 3, 4, 10))
    normal = normal.resume(at(2026, 3, 5, 10), CAL)
    assert normal.due_at == at(2026, 3, 11, 17)
    complex_ = PAUSABLE.reclassify(normal, "complex", CAL)
    assert complex_.due_at == at(2026, 3, 23, 17) and complex_.pauses == normal.pauses
    # A pause that began after the new (urgent) due did not move it.
    assert PAUSABLE.reclassify(normal, "urgent", CAL).due_at == at(2026, 3, 2, 12)
    # An ongoing pause carries on.
    paused = complex_.pause(at(2026, 3, 9, 9))
    assert PAUSABLE.reclassify(paused, "normal", CAL).paused_at == at(2026, 3, 9, 9)


def test_reclassification_drops_an_extension() -> None:
    extended = handle("normal", at(2026, 3, 2, 8)).extend(at(2026, 3, 25, 17), "Law X Art. 1")
    again = POLICY.reclassify(extended, "normal", CAL)
    assert again.legal_basis is None and again.due_at == at(2026, 3, 10, 17)


def test_only_the_handling_stage_can_be_reclassified() -> None:
    with pytest.raises(SlaError) as e:
        POLICY.reclassify(receive_deadline(at(2026, 3, 2, 8), CAL), "urgent", CAL)
    assert e.value.code == "level_not_applicable"


# --- pause for the sender's supplementary information ---------------------------------------------
def test_pause_for_supplementary_information_stops_the_clock() -> None:
    clock = handle("normal", at(2026, 3, 2, 8))
    assert (clock.due_at, clock.warn_at) == (at(2026, 3, 10, 17), at(2026, 3, 9, 10))
    paused = clock.pause(at(2026, 3, 4, 10))
    assert paused.paused and paused.due_at == clock.due_at  # settled only on resumption
    resumed = paused.resume(at(2026, 3, 5, 10), CAL)  # 8 working hours later
    assert not resumed.paused
    assert resumed.due_at == at(2026, 3, 11, 17)
    assert resumed.warn_at == at(2026, 3, 10, 10)
    assert resumed.paused_working == 8 * H
    assert resumed.cap_at == clock.cap_at  # the 30-day cap never moves (issue 14)
    assert resumed.pauses == ((at(2026, 3, 4, 10), at(2026, 3, 5, 10)),)


def test_pause_over_a_weekend_keeps_the_due_instant() -> None:
    clock = handle("normal", at(2026, 3, 2, 8))
    resumed = clock.pause(at(2026, 3, 6, 17)).resume(at(2026, 3, 9, 8), CAL)
    assert resumed.due_at == clock.due_at and resumed.paused_working == timedelta(0)


def test_pause_after_the_warning_leaves_the_warning_where_it_was() -> None:
    clock = handle("normal", at(2026, 3, 2, 8))
    resumed = clock.pause(at(2026, 3, 10, 9)).resume(at(2026, 3, 10, 11), CAL)
    assert resumed.warn_at == clock.warn_at and resumed.due_at == at(2026, 3, 11, 10)


def test_pause_at_the_due_instant_grants_nothing_more_than_the_resumption() -> None:
    clock = handle("urgent", at(2026, 3, 2, 8))
    resumed = clock.pause(clock.due_at).resume(at(2026, 3, 3, 9), CAL)
    assert resumed.due_at == at(2026, 3, 3, 9)


def test_receiving_and_assignment_cannot_be_paused() -> None:
    with pytest.raises(SlaError) as e:
        receive_deadline(at(2026, 3, 2, 8), CAL).pause(at(2026, 3, 2, 9))
    assert e.value.code == "pause_not_allowed"


def test_pausing_is_configured_per_process() -> None:
    doc = _pausable_doc()
    doc["processes"]["waste_report"]["handle"] = {"pausable": False}
    pol = SlaPolicy.from_mapping(doc)
    assert pol.rule("field_feedback", "handle").pausable
    clock = pol.deadline("waste_report", "handle", "normal", at(2026, 3, 2, 8), CAL)
    with pytest.raises(SlaError) as e:
        clock.pause(at(2026, 3, 2, 9))
    assert e.value.code == "pause_not_allowed"


@pytest.mark.parametrize(
    ("pause", "resume", "code"),
    [
        (at(2026, 3, 1, 9), None, "pause_before_start"),
        (at(2026, 3, 2, 12, 0, 1), None, "pause_after_due"),
        (at(2026, 3, 2, 9), at(2026, 3, 2, 8, 59), "resume_before_pause"),
    ],
)
def test_pause_and_resume_are_checked(pause: datetime, resume: datetime | None, code: str) -> None:
    clock = handle("urgent", at(2026, 3, 2, 8))
    with pytest.raises(SlaError) as e:
        clock.pause(pause).resume(resume or pause, CAL)
    assert e.value.code == code


def test_pausing_twice_or_resuming_a_running_clock_is_refused() -> None:
    clock = handle("normal", at(2026, 3, 2, 8))
    with pytest.raises(SlaError) as e:
        clock.pause(at(2026, 3, 2, 9)).pause(at(2026, 3, 2, 10))
    assert e.value.code == "already_paused"
    with pytest.raises(SlaError) as e:
        clock.resume(at(2026, 3, 2, 9), CAL)
    assert e.value.code == "not_paused"


# --- extension ------------------------------------------------------------------------------------
@pytest.mark.parametrize("basis", ["", "   "])
def test_extension_needs_a_legal_basis(basis: str) -> None:
    clock = handle("complex", at(2026, 2, 13, 10))
    with pytest.raises(SlaError) as e:
        clock.extend(at(2026, 3, 12, 17), basis)
    assert e.value.code == "extension_without_legal_basis"


def test_handling_extension_capped_at_30_calendar_days_from_receipt() -> None:
    clock = handle("complex", at(2026, 2, 13, 10))
    assert clock.cap_at == at(2026, 3, 15, 10)
    basis = "Decision 13/2023/QĐ-UBND Art. 14: inter-agency consultation"
    extended = clock.extend(at(2026, 3, 15, 10), basis)
    assert extended.due_at == at(2026, 3, 15, 10) and extended.legal_basis == basis
    assert extended.extended
    with pytest.raises(SlaError) as e:
        clock.extend(at(2026, 3, 15, 10, 0, 1), basis)
    assert e.value.code == "extension_beyond_cap"


def test_extension_cap_can_be_working_days() -> None:
    doc = policy_doc()
    doc["defaults"]["handle"]["extension_cap"] = "30d"
    clock = SlaPolicy.from_mapping(doc).deadline(
        "field_feedback", "handle", "complex", at(2026, 2, 13, 10), CAL
    )
    assert clock.cap_at == CAL.add_days(at(2026, 2, 13, 10), 30) == at(2026, 4, 3, 10)
    assert not clock.cap_is_calendar
    clock.extend(at(2026, 4, 3, 10), "basis")
    with pytest.raises(SlaError, match="extension_beyond_cap"):
        clock.extend(at(2026, 4, 3, 10, 1), "basis")


@pytest.mark.parametrize(
    ("clock", "new_due", "code"),
    [
        (handle("normal", at(2026, 3, 2, 8)), at(2026, 3, 10, 17), "extension_not_later"),
        (receive_deadline(at(2026, 3, 2, 8), CAL), at(2026, 3, 3, 17), "extension_not_allowed"),
        (
            handle("normal", at(2026, 3, 2, 8)).pause(at(2026, 3, 3, 8)),
            at(2026, 3, 20, 17),
            "clock_paused",
        ),
    ],
)
def test_extension_is_refused(clock: StageClock, new_due: datetime, code: str) -> None:
    with pytest.raises(SlaError) as e:
        clock.extend(new_due, "Law X Art. 1")
    assert e.value.code == code


def test_a_pause_never_moves_the_30_day_cap() -> None:
    clock = handle("complex", at(2026, 2, 13, 10)).extend(at(2026, 3, 13, 12), "basis")
    # Paused Fri 13 Mar 11:00 – 14:00 (2 working hours): the hour left ends at 15:00.
    resumed = clock.pause(at(2026, 3, 13, 11)).resume(at(2026, 3, 13, 14), CAL)
    assert resumed.cap_at == clock.cap_at == at(2026, 3, 15, 10)
    assert resumed.due_at == at(2026, 3, 13, 15)
    # Extended to the cap (Sun 15 Mar 10:00), paused Fri 13 Mar 16:00, resumed Fri 20 Mar:
    # the due stays at the cap, which has passed — overdue, whatever the pause.
    at_cap = handle("complex", at(2026, 2, 13, 10)).extend(at(2026, 3, 15, 10), "basis")
    resumed = at_cap.pause(at(2026, 3, 13, 16)).resume(at(2026, 3, 20, 16, 30), CAL)
    assert resumed.due_at == resumed.cap_at == at(2026, 3, 15, 10)
    assert not resumed.complete(at(2026, 3, 20, 16, 45), CAL).on_time


# --- completion -----------------------------------------------------------------------------------
def test_done_exactly_at_deadline_is_on_time() -> None:
    clock = handle("normal", at(2026, 3, 2, 8))
    out = clock.complete(clock.due_at, CAL)
    assert out.on_time and out.late_working_minutes == 0
    assert out.used_working_minutes == 7 * 480


def test_late_completion_records_the_working_minutes_late() -> None:
    out = handle("normal", at(2026, 3, 2, 8)).complete(at(2026, 3, 11, 9), CAL)
    assert not out.on_time and out.late_working_minutes == 60
    assert out.used_working_minutes == 7 * 480 + 60


def test_done_after_the_due_outside_office_hours_used_no_more_than_the_allowance() -> None:
    out = handle("normal", at(2026, 3, 2, 8)).complete(at(2026, 3, 10, 19), CAL)
    assert out.on_time and out.late_working_minutes == 0
    assert out.used_working_minutes == out.allowance_seconds // 60 == 7 * 480


def test_used_working_time_excludes_pauses() -> None:
    clock = handle("normal", at(2026, 3, 2, 8)).pause(at(2026, 3, 2, 10))
    clock = clock.resume(at(2026, 3, 3, 10), CAL)
    out = clock.complete(at(2026, 3, 3, 11), CAL)
    assert out.on_time and out.used_working_minutes == 3 * 60


def test_completed_while_paused_is_judged_at_the_pause() -> None:
    clock = handle("urgent", at(2026, 3, 2, 8)).pause(at(2026, 3, 2, 11))
    out = clock.complete(at(2026, 3, 20, 9), CAL)
    assert out.on_time and out.used_working_minutes == 180


def test_completion_stamped_before_the_start_used_nothing() -> None:
    out = handle("urgent", at(2026, 3, 2, 8)).complete(at(2026, 3, 2, 7), CAL)
    assert out.on_time and out.used_working_seconds == 0


# --- the policy as data ---------------------------------------------------------------------------
def test_default_policy_is_the_shipped_one_and_cached() -> None:
    assert default_policy() is default_policy()
    assert default_policy().id == POLICY.id and default_policy().origin == "shipped"


def test_an_operator_file_replaces_the_policy_without_a_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    doc = policy_doc(version="v2")
    doc["processes"]["waste_report"]["receive"] = {"allowance": "16h"}
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    pol = rules_from_settings(Settings(sla_policy=str(path))).policy
    assert pol.id == "hanoi-1207-2025/v2" and pol.origin == str(path)
    clock = receive_deadline(at(2026, 3, 2, 8), CAL, process="waste_report", policy=pol)
    assert clock.due_at == at(2026, 3, 3, 17) and clock.policy == "hanoi-1207-2025/v2"
    assert receive_deadline(at(2026, 3, 2, 8), CAL, policy=pol).due_at == at(2026, 3, 2, 17)
    assert default_policy().id == POLICY.id  # nothing process-wide changed


def test_a_second_scale_test_policy_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "fast.json"
    path.write_text(json.dumps(SECONDS_POLICY), encoding="utf-8")
    pol = rules_from_settings(Settings(sla_policy=str(path))).policy
    assert pol.id == "test-seconds/v1"
    # Submitted 11:59:45: 15 s before lunch, 15 s after.
    receive = receive_deadline(at(2026, 3, 2, 11, 59, 45), CAL, policy=pol)
    assert receive.due_at == at(2026, 3, 2, 13, 0, 15)
    assert receive.warn_at == at(2026, 3, 2, 13, 0, 8)  # ceil(22.5 s) = 23 s
    assert receive.allowance_seconds == 30 and receive.working_minutes == 0
    clock = pol.deadline("field_feedback", "handle", "normal", at(2026, 3, 2, 9), CAL)
    assert clock.due_at == at(2026, 3, 2, 9, 1) and clock.cap_at == at(2026, 3, 2, 9, 5)
    clock = clock.pause(at(2026, 3, 2, 9, 0, 20)).resume(at(2026, 3, 2, 9, 0, 50), CAL)
    assert clock.due_at == at(2026, 3, 2, 9, 1, 30)
    late = clock.complete(at(2026, 3, 2, 9, 1, 42), CAL)
    assert not late.on_time and late.late_working_seconds == 12 and late.late_working_minutes == 0
    assert late.used_working_seconds == 72
    with pytest.raises(SlaError, match="extension_beyond_cap"):
        clock.extend(at(2026, 3, 2, 9, 6), "basis")
    assert POLICY.reclassify(clock, "urgent", CAL).policy == POLICY.id
    assert pol.reclassify(clock, "urgent", CAL).due_at == at(2026, 3, 2, 9, 0, 10)


def test_opening_a_case_records_the_real_policy_name() -> None:
    from processors.case import open_case
    from tests.factories import submitted_record

    [(_, event)] = open_case(None, submitted_record(), CAL).emits
    assert event["policy"] == "hanoi-1207-2025/v2" and event["working_minutes"] == 480


def test_processes_not_named_in_a_policy_use_the_defaults() -> None:
    doc = copy.deepcopy(SECONDS_POLICY)
    pol = SlaPolicy.from_mapping(doc)
    assert set(pol.processes) == set(PROCESSES)
    assert pol.rule("initiative", "handle") == pol.rule("field_feedback", "handle")


def test_a_process_can_override_one_level() -> None:
    doc = policy_doc()
    doc["processes"]["initiative"]["handle"] = {"levels": {"complex": "20d"}}
    rule = SlaPolicy.from_mapping(doc).rule("initiative", "handle")
    assert rule.allowance("complex") == Duration.parse("20d")
    assert rule.allowance("normal") == Duration.parse("7d") and not rule.pausable


@pytest.mark.parametrize(
    ("text", "seconds", "calendar"),
    [
        ("30s", 30, False),
        ("480m", 28_800, False),
        ("8h", 28_800, False),
        ("7d", 201_600, False),
        ("30cd", 2_592_000, True),
        ("90CS", 90, True),
        ("2ch", 7_200, True),
        (" 4 h ", 14_400, False),
    ],
)
def test_duration_notation(text: str, seconds: int, calendar: bool) -> None:
    d = Duration.parse(text)
    assert (d.seconds, d.calendar) == (seconds, calendar)


@pytest.mark.parametrize("text", ["1.5h", "8", "h", "-1h", "1w", "30dc", "1h30m", ""])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="bad duration"):
        Duration.parse(text)


def _set(path: str, value: Any) -> dict[str, Any]:
    doc = policy_doc()
    *parents, last = path.split(".")
    node = doc
    for p in parents:
        node = node[p]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return doc


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("colour", "blue", "unknown field"),
        ("version", _DELETE, "'version' is required"),
        ("name", "a/b", "'name' is required"),
        ("format", 2, "unsupported format"),
        ("warning_share", 0, "warning_share"),
        ("warning_share", 1.5, "warning_share"),
        ("warning_share", "x", "warning_share"),
        ("defaults.receive.allowance", "8 hours", "bad duration"),
        ("defaults.receive.allowance", "8ch", "working time"),
        ("defaults.receive.allowance", "0s", "longer than zero"),
        ("defaults.receive.counted_from", "receipt", "counted from the submission"),
        ("defaults.assign.counted_from", "never", "counted_from"),
        ("defaults.assign.levels", {"urgent": "1h"}, "levels are for handling only"),
        ("defaults.handle.levels", {"urgent": "4h", "normal": "7d"}, "exactly urgent"),
        ("defaults.handle.pausable", "yes", "pausable"),
        ("defaults.handle.extension_cap", "10d", "exceeds the extension cap"),
        ("defaults.handle.deadline", "1d", "unknown field"),
        ("defaults.assign", _DELETE, "'defaults' must define"),
        ("processes.complaints", {}, "unknown process"),
        ("processes.initiative", {"review": {}}, "may only hold"),
        ("processes.initiative", {"receive": {"allowance": "1x"}}, "processes.initiative.receive"),
    ],
)
def test_a_bad_policy_file_is_refused_with_the_reason(path: str, value: Any, message: str) -> None:
    with pytest.raises(PolicyError, match=message):
        SlaPolicy.from_mapping(_set(path, value), "test.json")


def test_an_unreadable_policy_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read SLA policy"):
        SlaPolicy.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid JSON"):
        SlaPolicy.load(bad)


# --- properties -----------------------------------------------------------------------------------
PROPS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
LOW, HIGH = datetime(2025, 12, 1), datetime(2026, 12, 31)
SECONDS = st.integers(min_value=1, max_value=20 * 8 * 3600)


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    naive = draw(st.datetimes(min_value=LOW, max_value=HIGH))
    kind = draw(st.sampled_from(["minute", "second", "any"]))
    if kind == "minute":  # where the period boundaries are
        naive = naive.replace(second=0, microsecond=0)
    elif kind == "second":
        naive = naive.replace(microsecond=0)
    return naive.replace(tzinfo=TZ)


@st.composite
def allowances(draw: st.DrawFn) -> int:
    s = draw(SECONDS)
    return s - s % 60 if draw(st.booleans()) and s >= 60 else s


def handle_policy(seconds: int, share: str = "0.75", cap: str | None = None) -> SlaPolicy:
    doc = copy.deepcopy(SECONDS_POLICY)
    doc["warning_share"] = share
    doc["defaults"]["handle"]["levels"]["normal"] = f"{seconds}s"
    if cap is None:
        del doc["defaults"]["handle"]["extension_cap"]
    else:
        doc["defaults"]["handle"]["extension_cap"] = cap
    return SlaPolicy.from_mapping(doc)


def reference_add(t: datetime, amount: timedelta) -> datetime:
    """Slow walk over each day's periods (checks the sub-minute arithmetic)."""
    if amount == timedelta(0):
        return t
    day = t.date()
    while True:
        midnight = datetime.combine(day, time(), tzinfo=TZ)
        for s, e in CAL.periods_on(day):
            ps, pe = midnight + timedelta(minutes=s), midnight + timedelta(minutes=e)
            if t >= pe:
                continue
            begin = max(t, ps)
            if amount <= pe - begin:
                return begin + amount
            amount -= pe - begin
        day += timedelta(days=1)


@PROPS
@given(instants(), st.integers(min_value=0, max_value=3 * 8 * 3600))
def test_working_seconds_match_a_slow_reference(t: datetime, seconds: int) -> None:
    amount = timedelta(seconds=seconds)
    end = add_working(CAL, t, amount)
    assert end == reference_add(t, amount)
    assert working_between(CAL, t, end) == amount
    assert working_between(CAL, end, t) == -amount


@PROPS
@given(instants(), st.integers(min_value=0, max_value=30 * 480))
def test_working_seconds_agree_with_the_calendar_on_whole_minutes(t: datetime, m: int) -> None:
    assert add_working(CAL, t, timedelta(minutes=m)) == CAL.add(t, m)


@PROPS
@given(instants(), SECONDS, SECONDS)
def test_working_seconds_are_additive(t: datetime, a: int, b: int) -> None:
    ta, tb = timedelta(seconds=a), timedelta(seconds=b)
    assert add_working(CAL, add_working(CAL, t, ta), tb) == add_working(CAL, t, ta + tb)


@PROPS
@given(instants(), allowances(), st.sampled_from(["0.5", "0.75", "0.9", "1", "0.333"]))
def test_warning_never_after_the_due_instant(t: datetime, seconds: int, share: str) -> None:
    clock = handle_policy(seconds, share).deadline("field_feedback", "handle", "normal", t, CAL)
    assert clock.counted_from <= clock.warn_at <= clock.due_at


@PROPS
@given(instants(), allowances(), allowances())
def test_due_instant_is_monotonic_in_the_allowance(t: datetime, a: int, b: int) -> None:
    if b < a:
        a, b = b, a
    da = handle_policy(a).deadline("field_feedback", "handle", "normal", t, CAL).due_at
    db = handle_policy(b).deadline("field_feedback", "handle", "normal", t, CAL).due_at
    assert da <= db


@PROPS
@given(instants(), allowances(), st.floats(min_value=0, max_value=1))
def test_pause_of_zero_length_changes_nothing(t: datetime, seconds: int, where: float) -> None:
    clock = handle_policy(seconds, cap="30cd").deadline(
        "field_feedback", "handle", "normal", t, CAL
    )
    p = clock.counted_from + (clock.due_at - clock.counted_from) * where
    assert clock.pause(p).resume(p, CAL) == clock


@PROPS
@given(instants(), allowances(), st.floats(min_value=0, max_value=1), SECONDS)
def test_a_pause_grants_back_exactly_its_working_time(
    t: datetime, seconds: int, where: float, paused_for: int
) -> None:
    clock = handle_policy(seconds).deadline("field_feedback", "handle", "normal", t, CAL)
    p = clock.counted_from + (clock.due_at - clock.counted_from) * where
    r = p + timedelta(seconds=paused_for)
    resumed = clock.pause(p).resume(r, CAL)
    granted = working_between(CAL, clock.counted_from, resumed.due_at) - resumed.paused_working
    assert granted == timedelta(seconds=seconds)
    assert resumed.warn_at <= resumed.due_at and resumed.due_at >= clock.due_at


@PROPS
@given(instants(), allowances(), instants())
def test_completion_before_the_due_instant_is_never_late(
    t: datetime, seconds: int, done: datetime
) -> None:
    clock = handle_policy(seconds).deadline("field_feedback", "handle", "normal", t, CAL)
    assume(done <= clock.due_at)
    out = clock.complete(done, CAL)
    assert out.on_time and out.late_working_minutes == 0 and out.late_working_seconds == 0


@PROPS
@given(instants(), allowances(), instants())
def test_late_minutes_are_the_working_minutes_from_due_to_done(
    t: datetime, seconds: int, done: datetime
) -> None:
    clock = handle_policy(seconds).deadline("field_feedback", "handle", "normal", t, CAL)
    out = clock.complete(done, CAL)
    assert out.on_time == (done <= clock.due_at)
    if not out.on_time:
        assert out.late_working_minutes == CAL.elapsed(clock.due_at, done)
        assert out.used_working_seconds >= seconds


@PROPS
@given(instants(), st.sampled_from(LEVELS), st.sampled_from(LEVELS))
def test_reclassifying_there_and_back_gives_the_same_clock(
    t: datetime, level: Level, other: Level
) -> None:
    clock = handle(level, t)
    p = clock.counted_from + (clock.due_at - clock.counted_from) / 2
    clock = clock.pause(p).resume(p + timedelta(hours=30), CAL)
    assert PAUSABLE.reclassify(PAUSABLE.reclassify(clock, other, CAL), level, CAL) == clock


@PROPS
@given(instants(), st.sampled_from(LEVELS), st.integers(min_value=0, max_value=100 * 3600))
def test_a_clock_survives_a_round_trip_through_plain_json(
    t: datetime, level: Level, paused_for: int
) -> None:
    clock = handle(level, t)
    p = clock.counted_from + (clock.due_at - clock.counted_from) / 3
    clock = clock.pause(p).resume(p + timedelta(seconds=paused_for), CAL)
    variants = [clock, clock.pause(clock.due_at)]
    if clock.cap_at is not None and clock.cap_at > clock.due_at:  # a pause may reach the cap
        variants.append(clock.extend(clock.cap_at, "Law X Art. 1"))
    for c in variants:
        assert StageClock.from_dict(json.loads(json.dumps(c.to_dict()))) == c


def test_the_docs_describe_the_shipped_policy() -> None:
    doc = Path(__file__).parents[2].joinpath("docs/sla.md").read_text(encoding="utf-8")
    assert f"`{POLICY.id}`" in doc
    for process in POLICY.processes:
        assert f"| `{process}` |" in doc
