"""`pakn calendar`: working-time deadlines and the days-off table from the command line."""

from __future__ import annotations

from datetime import datetime

import click

from processors.calendar import (
    MAX_YEAR,
    MIN_YEAR,
    WorkingCalendar,
    format_day,
    parse_duration,
)

_UNIT_HELP = "Unit code (office hours of that unit; default hours until the unit directory exists)."


def _calendar(unit: str | None) -> WorkingCalendar:
    from pakn.rules import rules_from_settings
    from pakn.settings import get_settings

    try:
        return rules_from_settings(get_settings()).calendar(unit)
    except ValueError as exc:  # a broken override file: say which and where
        raise click.ClickException(f"calendar overrides: {exc}") from None


class _Instant(click.ParamType):
    """ISO-8601 date-time; without an offset it means Asia/Ho_Chi_Minh."""

    name = "ISO-8601"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(
                f"{value!r} is not an ISO-8601 date-time (e.g. 2026-02-13T16:00 or "
                "2026-02-13T16:00:00+07:00)",
                param,
                ctx,
            )


INSTANT = _Instant()


@click.group()
def calendar() -> None:
    """Working time of the public sector: Asia/Ho_Chi_Minh office hours, holidays, swaps."""


@calendar.command("add")
@click.argument("start", type=INSTANT)
@click.argument("duration")
@click.option("--unit", "unit", default=None, metavar="CODE", help=_UNIT_HELP)
@click.option(
    "--day-mode",
    type=click.Choice(["hours", "end-of-day"]),
    default="hours",
    show_default=True,
    help="What Nd means: N x 8 working hours, or the end of the Nth working day.",
)
def add_cmd(start: datetime, duration: str, unit: str | None, day_mode: str) -> None:
    """Print the deadline DURATION (480m, 8h or 7d) of working time after START."""
    try:
        parse_duration(duration)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'DURATION'") from None
    cal = _calendar(unit)
    try:
        deadline = cal.add_duration(
            start, duration, mode="end_of_day" if day_mode == "end-of-day" else "hours"
        )
    except ValueError as exc:  # outside the years the calendar covers
        raise click.BadParameter(str(exc), param_hint="'START'") from None
    click.echo(deadline.isoformat())


@calendar.command("elapsed")
@click.argument("start", metavar="FROM", type=INSTANT)
@click.argument("end", metavar="TO", type=INSTANT)
@click.option("--unit", "unit", default=None, metavar="CODE", help=_UNIT_HELP)
def elapsed_cmd(start: datetime, end: datetime, unit: str | None) -> None:
    """Print the working minutes from FROM to TO (negative when TO is before FROM)."""
    cal = _calendar(unit)
    try:
        minutes = cal.elapsed(start, end)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(str(minutes))


@calendar.command("days")
@click.argument("year", type=click.IntRange(MIN_YEAR, MAX_YEAR))
@click.option("--unit", "unit", default=None, metavar="CODE", help=_UNIT_HELP)
def days_cmd(year: int, unit: str | None) -> None:
    """List the days off and make-up working days of YEAR with their source.

    Tab-separated: date, weekday, off|working, name, source.
    """
    cal = _calendar(unit)
    if year not in cal.announced_years():
        click.echo(
            f"note: no announced schedule for {year} in the override table; "
            f"these are the holidays package's rules only (swaps may be missing)",
            err=True,
        )
    for info in cal.special_days(year):
        click.echo(format_day(info))
