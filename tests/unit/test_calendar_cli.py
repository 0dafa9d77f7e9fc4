"""`pakn calendar` (pakn/calendar_cli.py) through click's CliRunner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pakn.calendar_cli import calendar
from pakn.settings import get_settings

OVERRIDES_ENV = "PAKN_CALENDAR_OVERRIDES"  # the setting the command reads (pakn.rules)


@pytest.fixture(autouse=True)
def _shipped_table_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(OVERRIDES_ENV, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run(*args: str) -> Result:
    return CliRunner().invoke(calendar, list(args))


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        ("2026-02-13T16:00", "8h", "2026-02-23T16:00:00+07:00"),
        ("2026-02-13T16:00:00+07:00", "480m", "2026-02-23T16:00:00+07:00"),
        ("2026-02-13T09:00:00Z", "8h", "2026-02-23T16:00:00+07:00"),
        ("2025-12-31T15:00", "8h", "2026-01-05T15:00:00+07:00"),
        ("2026-08-21T16:00", "8h", "2026-08-22T16:00:00+07:00"),
        ("2026-08-21T17:00", "7d", "2026-09-03T17:00:00+07:00"),
        ("2026-01-05T12:30", "0m", "2026-01-05T12:30:00+07:00"),
    ],
)
def test_add_prints_the_deadline_as_one_iso_line(start: str, duration: str, expected: str) -> None:
    result = run("add", start, duration)
    assert result.exit_code == 0, result.output
    assert result.stdout == expected + "\n"


def test_add_accepts_a_unit_code_and_a_day_mode() -> None:
    assert run("add", "2026-02-13T16:00", "8h", "--unit", "00004").stdout == (
        "2026-02-23T16:00:00+07:00\n"
    )
    result = run("add", "2026-02-13T10:00", "1d", "--day-mode", "end-of-day")
    assert result.stdout == "2026-02-23T17:00:00+07:00\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("add", "2026-02-13T16:00", "8x"), "bad duration"),
        (("add", "2026-02-13T16:00", "1.5h"), "bad duration"),
        (("add", "13/02/2026 16:00", "8h"), "not an ISO-8601"),
        (("add", "1999-01-04T09:00", "8h"), "covers"),
        (("add", "2026-02-13T16:00"), "Missing argument"),
        (("elapsed", "2026-02-13T16:00", "tomorrow"), "not an ISO-8601"),
        (("days", "1999"), "1999"),
        (("days", "twenty"), "not a valid integer"),
    ],
)
def test_bad_input_is_a_usage_error_on_stderr(args: tuple[str, ...], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr


def test_elapsed_prints_working_minutes() -> None:
    assert run("elapsed", "2026-02-13T16:00", "2026-02-23T16:00").stdout == "480\n"
    assert run("elapsed", "2026-02-23T16:00", "2026-02-13T16:00").stdout == "-480\n"
    assert run("elapsed", "2026-01-05T12:10", "2026-01-05T12:50+07:00").stdout == "0\n"


def test_days_lists_days_off_and_make_up_days_with_their_source() -> None:
    result = run("days", "2026")
    assert result.exit_code == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    by_date = {line.split("\t")[0]: line.split("\t") for line in lines}
    assert all(len(cols) == 5 for cols in by_date.values())
    assert by_date["2026-01-10"][1:3] == ["Sat", "working"]
    assert "12729/VPCP-KGVX" in by_date["2026-01-02"][4]
    assert by_date["2026-02-17"][2] == "off" and "9441/TB-BNV" in by_date["2026-02-17"][4]
    assert "[unconfirmed]" in by_date["2026-11-24"][3]
    assert "holidays" in by_date["2026-04-26"][4]  # Sunday Hùng Kings, from the package


def test_days_of_a_year_without_announced_schedule_warns_on_stderr() -> None:
    result = run("days", "2027")
    assert result.exit_code == 0
    assert "no announced schedule for 2027" in result.stderr
    assert result.stdout.startswith("2027-01-01\tFri\toff\t")


def test_operator_override_file_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "extra.json"
    row = {"date": "2026-11-24", "kind": "drop", "name": "not off", "act": "hypothetical act"}
    f.write_text(json.dumps({"format": 1, "days": [row]}), encoding="utf-8")
    monkeypatch.setenv(OVERRIDES_ENV, str(f))
    get_settings.cache_clear()
    assert run("add", "2026-11-23T16:00", "8h").stdout == "2026-11-24T16:00:00+07:00\n"
    line = next(x for x in run("days", "2026").stdout.splitlines() if x.startswith("2026-11-24"))
    assert "\tworking\t" in line and str(f) in line


def test_broken_override_file_fails_with_a_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = tmp_path / "broken.json"
    f.write_text('{"days": [{"date": "2026-11-24", "kind": "maybe"}]}', encoding="utf-8")
    monkeypatch.setenv(OVERRIDES_ENV, str(f))
    get_settings.cache_clear()
    result = run("add", "2026-11-23T16:00", "8h")
    assert result.exit_code == 1
    assert str(f) in result.stderr and "'kind'" in result.stderr


def test_registered_under_the_pakn_entry_point() -> None:
    from pakn.cli import main

    result = CliRunner().invoke(main, ["calendar", "add", "2026-02-13T16:00", "8h"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "2026-02-23T16:00:00+07:00\n"
