"""Working-time calendar (processors/calendar.py) against domain.md §5 and §7."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta, timezone
from importlib import resources
from pathlib import Path

import holidays
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from processors.calendar import (
    DEFAULT_OFFICE_HOURS,
    TZ,
    CalendarBook,
    OfficeHours,
    Override,
    WorkingCalendar,
    load_default_overrides,
    load_overrides,
    parse_duration,
)
from processors.calendar import load_shipped_overrides as shipped

# The shipped table only: an operator's PAKN_CALENDAR_OVERRIDES must not change these tests.
CAL = WorkingCalendar(overrides=shipped())


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=TZ)


def write_overrides(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text(json.dumps({"format": 1, "days": rows}), encoding="utf-8")
    return path


# --- office hours: 08:00-12:00 and 13:00-17:00, Mon-Fri -------------------------------------------
@pytest.mark.parametrize(
    ("instant", "working"),
    [
        (at(2026, 1, 5, 7, 59, 59), False),
        (at(2026, 1, 5, 8), True),
        (at(2026, 1, 5, 11, 59, 59), True),
        (at(2026, 1, 5, 12), False),
        (at(2026, 1, 5, 12, 59, 59), False),
        (at(2026, 1, 5, 13), True),
        (at(2026, 1, 5, 16, 59, 59), True),
        (at(2026, 1, 5, 17), False),
        (at(2026, 1, 3, 10), False),  # Saturday
        (at(2026, 1, 4, 10), False),  # Sunday
        (at(2026, 1, 10, 10), True),  # make-up Saturday
        (at(2026, 2, 17, 10), False),  # Tết
    ],
)
def test_office_hours_are_half_open_periods(instant: datetime, working: bool) -> None:
    assert CAL.is_working_time(instant) is working


def test_eight_working_hours_make_one_working_day() -> None:
    assert DEFAULT_OFFICE_HOURS.day_minutes == 480
    assert CAL.periods_on(date(2026, 1, 5)) == ((480, 720), (780, 1020))
    assert CAL.add_days(at(2026, 1, 5, 9), 1) == CAL.add(at(2026, 1, 5, 9), 480)


def test_deadline_ending_at_the_end_of_a_period_is_that_instant() -> None:
    assert CAL.add(at(2026, 1, 5, 11), 60) == at(2026, 1, 5, 12)
    assert CAL.add(at(2026, 1, 5, 16), 60) == at(2026, 1, 5, 17)
    assert CAL.add(at(2026, 1, 5, 8), 480) == at(2026, 1, 5, 17)


def test_deadline_skips_the_lunch_break() -> None:
    assert CAL.add(at(2026, 1, 5, 11), 61) == at(2026, 1, 5, 13, 1)
    assert CAL.add(at(2026, 1, 5, 12, 30), 1) == at(2026, 1, 5, 13, 1)


def test_instant_outside_office_hours_counts_from_the_next_working_instant() -> None:
    assert CAL.add(at(2026, 1, 5, 6), 30) == at(2026, 1, 5, 8, 30)
    assert CAL.add(at(2026, 1, 5, 17), 1) == at(2026, 1, 6, 8, 1)
    assert CAL.add(at(2026, 1, 16, 18), 60) == at(2026, 1, 19, 9)  # Friday evening
    assert CAL.add(at(2026, 1, 17, 10), 60) == at(2026, 1, 19, 9)  # Saturday


def test_adding_zero_returns_the_instant_unchanged() -> None:
    assert CAL.add(at(2026, 1, 5, 12, 30), 0) == at(2026, 1, 5, 12, 30)
    assert CAL.add(at(2026, 1, 5, 17), 0) == at(2026, 1, 5, 17)
    assert CAL.add(at(2026, 2, 17, 10), 0) == at(2026, 2, 17, 10)


def test_negative_or_fractional_durations_are_rejected() -> None:
    with pytest.raises(TypeError):
        CAL.add(at(2026, 1, 5, 9), 1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="kind"):
        Override(date(2026, 1, 5), "holiday", "x", "y")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=">= 0"):
        CAL.add(at(2026, 1, 5, 9), -1)
    with pytest.raises(ValueError, match=">= 0"):
        CAL.add_days(at(2026, 1, 5, 9), -1)


def test_naive_instants_mean_ho_chi_minh_and_results_are_in_ho_chi_minh() -> None:
    naive = CAL.add(datetime(2026, 2, 13, 16), 480)
    utc = CAL.add(datetime(2026, 2, 13, 9, tzinfo=UTC), 480)
    assert naive == utc == at(2026, 2, 23, 16)
    assert naive.tzinfo is TZ and utc.tzinfo is TZ
    assert utc.isoformat() == "2026-02-23T16:00:00+07:00"
    assert CAL.add(datetime(2026, 1, 5, 12, 30), 0).tzinfo is TZ


# --- hand-checked cases around every 2025 and 2026 holiday ----------------------------------------
HAND_CHECKED = [
    # 2026
    ("receipt_deadline_skips_tet", at(2026, 2, 13, 16), "8h", at(2026, 2, 23, 16)),
    ("submission_on_tet_eve_after_hours", at(2026, 2, 13, 17), "1m", at(2026, 2, 23, 8, 1)),
    ("submission_during_tet", at(2026, 2, 18, 10), "4h", at(2026, 2, 23, 12)),
    ("complex_handling_15_days_across_tet", at(2026, 2, 13, 10), "15d", at(2026, 3, 13, 10)),
    (
        "receipt_deadline_skips_new_year_and_swapped_2_jan",
        at(2025, 12, 31, 15),
        "8h",
        at(2026, 1, 5, 15),
    ),
    ("make_up_saturday_10_jan_is_a_working_day", at(2026, 1, 9, 16), "8h", at(2026, 1, 10, 16)),
    ("friday_evening_before_make_up_saturday", at(2026, 1, 9, 18), "1h", at(2026, 1, 10, 9)),
    ("make_up_saturday_then_sunday_off", at(2026, 1, 10, 16), "8h", at(2026, 1, 12, 16)),
    ("hung_kings_day_moved_to_monday_27_apr", at(2026, 4, 24, 16), "8h", at(2026, 4, 28, 16)),
    ("reunification_and_labour_day_without_swap", at(2026, 4, 29, 16), "8h", at(2026, 5, 4, 16)),
    ("make_up_saturday_22_aug_is_a_working_day", at(2026, 8, 21, 16), "8h", at(2026, 8, 22, 16)),
    ("national_day_31_aug_to_2_sep_off", at(2026, 8, 28, 16), "8h", at(2026, 9, 3, 16)),
    ("normal_handling_7_days_over_national_day", at(2026, 8, 21, 17), "7d", at(2026, 9, 3, 17)),
    ("culture_day_24_nov_off_by_default", at(2026, 11, 23, 16), "8h", at(2026, 11, 25, 16)),
    ("year_end_2026_new_year_2027", at(2026, 12, 31, 16), "8h", at(2027, 1, 4, 16)),
    ("assignment_deadline_4_hours_next_morning", at(2026, 3, 2, 16), "4h", at(2026, 3, 3, 11)),
    # 2025
    ("receipt_deadline_skips_tet_2025", at(2025, 1, 24, 16), "8h", at(2025, 2, 3, 16)),
    ("hung_kings_day_2025_monday_7_apr", at(2025, 4, 4, 16), "8h", at(2025, 4, 8, 16)),
    ("make_up_saturday_26_apr_2025", at(2025, 4, 25, 16), "8h", at(2025, 4, 26, 16)),
    (
        "reunification_labour_day_2025_with_swapped_2_may",
        at(2025, 4, 29, 16),
        "8h",
        at(2025, 5, 5, 16),
    ),
    ("national_day_2025_1_and_2_sep_off", at(2025, 8, 29, 16), "8h", at(2025, 9, 3, 16)),
    ("new_year_2025_one_day", at(2024, 12, 31, 16), "8h", at(2025, 1, 2, 16)),
]


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [c[1:] for c in HAND_CHECKED],
    ids=[c[0] for c in HAND_CHECKED],
)
def test_deadline_hand_checked(start: datetime, duration: str, expected: datetime) -> None:
    deadline = CAL.add_duration(start, duration)
    assert deadline == expected
    assert deadline.isoformat() == expected.isoformat()
    assert CAL.elapsed(start, deadline) == parse_duration(duration)


def test_receipt_deadline_skips_tet() -> None:
    assert CAL.add_hours(at(2026, 2, 13, 16), 8).isoformat() == "2026-02-23T16:00:00+07:00"


def test_every_weekday_of_tet_2026_is_off() -> None:
    # notice 9441/TB-BNV: Sat 14 - Sun 22 Feb 2026, no make-up day
    d = date(2026, 2, 14)
    while d <= date(2026, 2, 22):
        assert not CAL.is_working_day(d), d
        d += timedelta(days=1)
    assert CAL.is_working_day(date(2026, 2, 13)) and CAL.is_working_day(date(2026, 2, 23))


# --- pinned: what the calendar and the installed `holidays` say for the shipped years -------------
PINNED = {
    2025: (
        [
            date(2025, 1, 1),
            *(date(2025, 1, d) for d in range(27, 32)),  # Tết, Mon 27 - Fri 31 Jan
            date(2025, 4, 7),
            date(2025, 4, 30),
            date(2025, 5, 1),
            date(2025, 5, 2),
            date(2025, 9, 1),
            date(2025, 9, 2),
        ],
        [date(2025, 4, 26)],
    ),
    2026: (
        [
            date(2026, 1, 1),
            date(2026, 1, 2),
            *(date(2026, 2, d) for d in range(16, 21)),  # Tết, Mon 16 - Fri 20 Feb
            date(2026, 4, 27),
            date(2026, 4, 30),
            date(2026, 5, 1),
            date(2026, 8, 31),
            date(2026, 9, 1),
            date(2026, 9, 2),
            date(2026, 11, 24),  # unconfirmed, off by default (follows the package)
        ],
        [date(2026, 1, 10), date(2026, 8, 22)],
    ),
}


@pytest.mark.parametrize("year", sorted(PINNED))
def test_days_off_and_make_up_days_of_shipped_years_are_pinned(year: int) -> None:
    weekdays_off, make_up = PINNED[year]
    assert CAL.days_off(year) == weekdays_off
    assert CAL.makeup_days(year) == make_up


# What `holidays` 0.109 (VN) says. A package upgrade that changes any of it must be looked at:
# check the days against the announced schedule, fix the override table, then update this pin.
PACKAGE_PINNED = {
    2025: (
        {
            "2025-01-01", "2025-01-27", "2025-01-28", "2025-01-29", "2025-01-30", "2025-01-31",
            "2025-02-01", "2025-04-07", "2025-04-30", "2025-05-01", "2025-05-02", "2025-09-01",
            "2025-09-02",
        },
        {"2025-04-26"},
    ),
    2026: (
        {
            "2026-01-01", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20",
            "2026-04-26", "2026-04-27", "2026-04-30", "2026-05-01", "2026-08-31", "2026-09-01",
            "2026-09-02", "2026-11-24",
        },
        {"2026-08-22"},
    ),
}  # fmt: skip


@pytest.mark.parametrize("year", sorted(PACKAGE_PINNED))
def test_installed_holidays_package_is_pinned(year: int) -> None:
    vn = holidays.VN(years=range(year - 1, year + 2))
    off = {d.isoformat() for d in vn if d.year == year}
    work = {d.isoformat() for d in vn.weekend_workdays if d.year == year}
    expected_off, expected_work = PACKAGE_PINNED[year]
    assert (off, work) == (expected_off, expected_work), (
        f"holidays {holidays.__version__} changed its VN days for {year}: review "
        "processors/data/holiday_overrides.json, then update PACKAGE_PINNED"
    )


def test_package_misses_the_2026_new_year_swap_so_the_table_adds_it() -> None:
    vn = holidays.VN(years=2026)
    assert date(2026, 1, 2) not in vn and date(2026, 1, 10) not in vn.weekend_workdays
    assert not CAL.is_working_day(date(2026, 1, 2)) and CAL.is_working_day(date(2026, 1, 10))
    info = CAL.day_info(date(2026, 1, 10))
    assert info.working and "12729/VPCP-KGVX" in info.source


def test_every_shipped_row_cites_an_act() -> None:
    rows = shipped()
    assert {r.day.year for r in rows} == {2025, 2026}
    for r in rows:
        assert r.act and r.name and r.kind in ("off", "work", "drop")
    culture = [r for r in rows if r.day == date(2026, 11, 24)]
    assert culture and culture[0].kind == "off" and culture[0].confirmed is False


def test_shipped_override_table_is_package_data() -> None:
    ref = resources.files("processors").joinpath("data", "holiday_overrides.json")
    assert ref.is_file()


# --- operator override files (PAKN_CALENDAR_OVERRIDES) --------------------------------------------
def test_operator_file_can_drop_culture_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = write_overrides(
        tmp_path / "o.json",
        [
            {
                "date": "2026-11-24",
                "kind": "drop",
                "name": "Culture Day not off in 2026",
                "act": "hypothetical decision",
            }
        ],
    )
    cal = WorkingCalendar(overrides=load_default_overrides([str(f)]))
    assert cal.is_working_day(date(2026, 11, 24))
    assert cal.add(at(2026, 11, 23, 16), 480) == at(2026, 11, 24, 16)
    assert date(2026, 11, 24) not in cal.days_off(2026)
    assert str(f) in cal.day_info(date(2026, 11, 24)).source


def test_operator_files_can_add_a_year(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = write_overrides(
        tmp_path / "a.json",
        [
            {"date": "2027-01-08", "kind": "off", "name": "x", "act": "hypothetical letter"},
            {"date": "2027-01-16", "kind": "work", "name": "y", "act": "hypothetical letter"},
        ],
    )
    b = write_overrides(  # a later file replaces the row of the same date
        tmp_path / "b.json",
        [{"date": "2027-01-08", "kind": "drop", "name": "z", "act": "hypothetical correction"}],
    )
    cal = WorkingCalendar(overrides=load_default_overrides([str(a), str(b)]))
    assert cal.is_working_day(date(2027, 1, 8))
    assert cal.makeup_days(2027) == [date(2027, 1, 16)]
    assert cal.announced_years() == [2025, 2026, 2027]
    assert cal.add(at(2027, 1, 15, 16), 120) == at(2027, 1, 16, 9)


def test_no_operator_file_means_the_shipped_table() -> None:
    assert load_default_overrides() == shipped()
    assert WorkingCalendar().overrides == WorkingCalendar(overrides=shipped()).overrides


def test_the_operator_files_come_from_the_settings(tmp_path: Path) -> None:
    from pakn.rules import calendars_from_settings
    from pakn.settings import Settings

    f = write_overrides(
        tmp_path / "o.json",
        [{"date": "2026-11-24", "kind": "drop", "name": "x", "act": "hypothetical decision"}],
    )
    book = calendars_from_settings(Settings(calendar_overrides=str(f)))
    assert book(None).is_working_day(date(2026, 11, 24))
    assert not calendars_from_settings(Settings())(None).is_working_day(date(2026, 11, 24))


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"date": "2027-01-08", "kind": "holiday", "name": "x", "act": "a"}], "'kind'"),
        ([{"date": "2027-01-08", "kind": "off", "name": "x"}], "'act'"),
        ([{"date": "2027-13-08", "kind": "off", "name": "x", "act": "a"}], "'date'"),
        ([{"date": "2027-01-08", "kind": "off", "name": "x", "act": "a", "knd": 1}], "unknown"),
        ([{"date": "2027-01-08", "kind": "off", "name": "x", "act": "a"}] * 2, "twice"),
    ],
)
def test_bad_override_rows_are_reported_with_file_and_row(
    tmp_path: Path, rows: list[dict[str, object]], message: str
) -> None:
    f = write_overrides(tmp_path / "bad.json", rows)
    with pytest.raises(ValueError, match=message) as exc:
        load_overrides(f)
    assert str(f) in str(exc.value)


def test_unreadable_override_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read"):
        load_overrides(tmp_path / "missing.json")
    (tmp_path / "x.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_overrides(tmp_path / "x.json")


# --- day modes, elapsed, next working instant -----------------------------------------------------
def test_end_of_day_mode_ends_at_close_of_the_nth_working_day_after_the_start_date() -> None:
    cal = WorkingCalendar(day_mode="end_of_day", overrides=shipped())
    assert cal.add_days(at(2026, 2, 13, 10), 1) == at(2026, 2, 23, 17)  # skips Tết
    assert cal.add_days(at(2026, 1, 8, 10), 2) == at(2026, 1, 10, 17)  # make-up Saturday counts
    assert cal.add_days(at(2026, 1, 5, 7), 1) == at(2026, 1, 6, 17)  # start date never counts
    assert cal.add_days(at(2026, 1, 17, 10), 1) == at(2026, 1, 19, 17)  # from a Saturday
    assert cal.add_days(at(2026, 1, 17, 10), 0) == at(2026, 1, 17, 10)
    assert cal.add_duration(at(2026, 8, 21, 10), "7d") == at(2026, 9, 3, 17)
    assert cal.add_duration(at(2026, 8, 21, 10), "8h") == at(2026, 8, 22, 10)
    assert CAL.add_days(at(2026, 2, 13, 10), 1, mode="end_of_day") == at(2026, 2, 23, 17)
    with pytest.raises(ValueError):
        WorkingCalendar(day_mode="weeks", overrides=shipped())  # type: ignore[arg-type]


def test_elapsed_counts_working_minutes_and_is_negative_backwards() -> None:
    assert CAL.elapsed(at(2026, 2, 13, 16), at(2026, 2, 23, 16)) == 480
    assert CAL.elapsed(at(2026, 2, 23, 16), at(2026, 2, 13, 16)) == -480
    assert CAL.elapsed(at(2026, 1, 5, 11, 30), at(2026, 1, 5, 13, 30)) == 60
    assert CAL.elapsed(at(2026, 1, 5, 12, 10), at(2026, 1, 5, 12, 50)) == 0
    assert CAL.elapsed(at(2026, 1, 5, 9), at(2026, 1, 5, 9, 0, 59)) == 0  # truncated
    assert CAL.elapsed(at(2026, 1, 5, 9, 0, 59), at(2026, 1, 5, 9)) == 0
    # 2025: 261 weekdays - 12 days off + 1 make-up Saturday = 250 working days
    assert CAL.elapsed(at(2025, 1, 1), at(2026, 1, 1)) == 250 * 480


def test_next_working_instant() -> None:
    assert CAL.next_working_instant(at(2026, 1, 5, 9, 30)) == at(2026, 1, 5, 9, 30)
    assert CAL.next_working_instant(at(2026, 1, 5, 12)) == at(2026, 1, 5, 13)
    assert CAL.next_working_instant(at(2026, 1, 5, 7)) == at(2026, 1, 5, 8)
    assert CAL.next_working_instant(at(2026, 2, 13, 17)) == at(2026, 2, 23, 8)
    assert CAL.next_working_instant(at(2026, 1, 9, 17)) == at(2026, 1, 10, 8)
    assert CAL.next_working_instant(datetime(2026, 1, 4, 23, tzinfo=UTC)) == at(2026, 1, 5, 8)


def test_dates_beyond_the_preloaded_years_extend_the_table() -> None:
    cal = WorkingCalendar(overrides=[])
    assert cal.add(at(2045, 1, 3, 16), 480) == at(2045, 1, 4, 16)
    assert cal.elapsed(at(2035, 12, 31, 16), at(2050, 1, 3, 9)) > 0
    with pytest.raises(ValueError, match="covers"):
        cal.add(at(1999, 1, 4, 9), 60)
    with pytest.raises(ValueError, match="covers"):
        cal.add(at(2200, 12, 1, 9), 480 * 100)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("480m", 480), ("8h", 480), ("7d", 3360), ("0h", 0), (" 15D ", 7200), ("4H", 240)],
)
def test_parse_duration(text: str, minutes: int) -> None:
    assert parse_duration(text) == minutes


@pytest.mark.parametrize("text", ["", "8", "h", "-8h", "1.5h", "8 hours", "1d4h", "8w"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="bad duration"):
        parse_duration(text)


# --- office hours per unit ------------------------------------------------------------------------
def test_office_hours_can_be_configured_per_unit() -> None:
    hours = OfficeHours.from_mapping(
        {"mon-fri": "07:30-11:30,13:30-17:30", "sat": "08:00-12:00"}, makeup="07:30-11:30"
    )
    cal = WorkingCalendar(hours, overrides=shipped())
    assert cal.add(at(2026, 1, 9, 17, 30), 60) == at(2026, 1, 10, 9)  # Saturday office
    assert cal.add(at(2026, 1, 9, 11), 60) == at(2026, 1, 9, 14)
    assert cal.is_working_day(date(2026, 1, 17)) and not cal.is_working_day(date(2026, 1, 18))
    assert cal.makeup_days(2026) == []  # 10 Jan and 22 Aug are Saturdays it works anyway
    sunday_swap = Override(date(2026, 1, 11), "work", "test", "test act")
    cal2 = WorkingCalendar(
        OfficeHours.from_mapping({"mon-fri": "08:00-12:00"}), overrides=[sunday_swap]
    )
    assert cal2.periods_on(date(2026, 1, 11)) == ((480, 720),)  # make-up = Monday's hours
    same = OfficeHours.from_mapping(
        {"mon-fri": "07:30-11:30,13:30-17:30", "sat": "08:00-12:00"}, makeup="07:30-11:30"
    )
    assert same == hours and hash(same) == hash(hours)


@pytest.mark.parametrize(
    "spec",
    [
        {"mon": "12:00-08:00"},
        {"mon": "08:00-12:00,11:00-13:00"},
        {"mon": "8-12"},
        {"xyz": "-"},
        {"fri-mon": "08:00-12:00"},
        {"mon": "08:00-25:00"},
    ],
)
def test_bad_office_hours_are_rejected(spec: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        OfficeHours.from_mapping(spec)


def test_a_calendar_book_shares_calendars_and_asks_the_unit_hours() -> None:
    book = CalendarBook()
    default = book(None)
    assert book("00004") is default  # unknown units: default hours, shared
    saturday = OfficeHours.from_mapping({"mon-sat": "08:00-12:00,13:00-17:00"})
    with_hours = book.with_hours_of(lambda code: saturday if code == "00070" else None)
    hoan_kiem = with_hours("00070")
    assert hoan_kiem.office_hours == saturday and hoan_kiem is with_hours("00070")
    assert with_hours("00004") is default  # the built tables are shared by the new book
    assert book("00070") is default  # the first book is unchanged


# --- properties -----------------------------------------------------------------------------------
LOW, HIGH = datetime(2024, 12, 1), datetime(2027, 1, 31)
ZONES = st.sampled_from([None, TZ, UTC, timezone(timedelta(hours=-5))])


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    naive = draw(st.datetimes(min_value=LOW, max_value=HIGH))
    if draw(st.booleans()):  # often on whole minutes, where the boundaries are
        naive = naive.replace(second=0, microsecond=0)
    zone = draw(ZONES)
    local = naive.replace(tzinfo=TZ)
    return naive if zone is None else local.astimezone(zone)


MINUTES = st.integers(min_value=0, max_value=30 * 480)
PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=TZ)


def reference_add(t: datetime, minutes: int) -> datetime:
    """Slow walk over the periods of each day (checks the prefix-sum arithmetic)."""
    cur = aware(t).astimezone(TZ)
    if minutes == 0:
        return cur
    left = timedelta(minutes=minutes)
    day = cur.date()
    while True:
        midnight = datetime.combine(day, time(), tzinfo=TZ)
        for s, e in CAL.periods_on(day):
            ps, pe = midnight + timedelta(minutes=s), midnight + timedelta(minutes=e)
            if cur >= pe:
                continue
            begin = max(cur, ps)
            if left <= pe - begin:
                return begin + left
            left -= pe - begin
        day += timedelta(days=1)


def is_period_end(t: datetime) -> bool:
    local = t.astimezone(TZ)
    minute = local.hour * 60 + local.minute
    exact = local.second == 0 and local.microsecond == 0
    return exact and any(e == minute for _, e in CAL.periods_on(local.date()))


@PROPS
@given(instants(), MINUTES, MINUTES)
def test_add_is_additive(t: datetime, a: int, b: int) -> None:
    assert CAL.add(CAL.add(t, a), b) == CAL.add(t, a + b)


@PROPS
@given(instants(), MINUTES)
def test_elapsed_inverts_add(t: datetime, d: int) -> None:
    end = CAL.add(t, d)
    assert CAL.elapsed(t, end) == d
    assert CAL.elapsed(end, t) == -d
    if CAL.is_working_time(t):
        assert CAL.elapsed(t, CAL.add(t, d)) == d


@PROPS
@given(instants(), instants(), MINUTES)
def test_add_is_monotonic_in_the_start(t1: datetime, t2: datetime, d: int) -> None:
    if aware(t2) < aware(t1):
        t1, t2 = t2, t1
    assert CAL.add(t1, d) <= CAL.add(t2, d)


@PROPS
@given(instants(), MINUTES, MINUTES)
def test_add_is_monotonic_in_the_duration(t: datetime, d1: int, d2: int) -> None:
    if d2 < d1:
        d1, d2 = d2, d1
    assert CAL.add(t, d1) <= CAL.add(t, d2)
    if d2 > d1:
        assert CAL.add(t, d1) < CAL.add(t, d2)


@PROPS
@given(instants(), st.integers(min_value=1, max_value=30 * 480))
def test_deadline_never_falls_in_a_break_a_weekend_or_a_holiday(t: datetime, d: int) -> None:
    end = CAL.add(t, d)
    assert end.tzinfo is TZ
    assert CAL.is_working_time(end) or is_period_end(end)
    assert end > aware(t) and end > CAL.next_working_instant(t)


@PROPS
@given(instants(), st.integers(min_value=0, max_value=6 * 480))
def test_add_matches_a_slow_reference(t: datetime, d: int) -> None:
    assert CAL.add(t, d) == reference_add(t, d)


@PROPS
@given(instants(), instants())
def test_elapsed_is_antisymmetric(a: datetime, b: datetime) -> None:
    assert CAL.elapsed(a, b) == -CAL.elapsed(b, a)


@PROPS
@given(instants())
def test_next_working_instant_is_working_and_nothing_is_skipped(t: datetime) -> None:
    n = CAL.next_working_instant(t)
    assert CAL.is_working_time(n) and n >= aware(t)
    assert CAL.elapsed(t, n) == 0
    assert CAL.add(t, 1) == CAL.add(n, 1)  # counting from t is counting from n
    if CAL.is_working_time(t):
        assert n == aware(t)


@PROPS
@given(instants(), st.integers(min_value=1, max_value=30))
def test_end_of_day_mode_counts_whole_working_days(t: datetime, n: int) -> None:
    end = CAL.add_days(t, n, mode="end_of_day")
    local = aware(t).astimezone(TZ)
    assert is_period_end(end) and CAL.periods_on(end.date())[-1][1] == end.hour * 60 + end.minute
    day, count = local.date(), 0
    while day < end.date():
        day += timedelta(days=1)
        count += CAL.is_working_day(day)
    assert count == n
