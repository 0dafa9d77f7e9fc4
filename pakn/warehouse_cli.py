"""`pakn warehouse`: dimensions and analysts' access of the ClickHouse warehouse."""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Callable

import click

from pakn.settings import Settings, get_settings
from processors.calendar import WorkingCalendar
from processors.units import SHIPPED, UnitDirectory, load_directory, shipped_directory


def settings_calendar(settings: Settings) -> WorkingCalendar:
    """The default calendar as the workers count with it (office hours, holidays, overrides)."""
    from pakn.rules import calendars_from_settings

    return calendars_from_settings(settings)(None)


def refresh_dimensions(
    settings: Settings,
    directory: UnitDirectory | None = None,
    years: tuple[int, int] | None = None,
) -> str:
    """Load the dimensions (the directory of the files in use unless given); their summary."""
    from sinks.dimensions import load_dimensions

    loaded = load_dimensions(
        settings,
        directory or load_directory(settings.units_file or None),
        settings_calendar(settings),
        years=years,
    )
    return loaded.summary()


def apply_access(settings: Settings, say: Callable[[str], None] = click.echo) -> bool:
    """Roles, profile, grants and policies on a current server; False (nothing done) on 18.16."""
    from sinks.access import access_statements, supports_sql_access
    from sinks.connection import clickhouse

    db = settings.clickhouse_database
    client = clickhouse(settings)
    try:
        [(version,)] = client.execute("SELECT version()")
        if not supports_sql_access(version):
            say(f"ClickHouse {version}: no SQL access control; the users.xml analyst applies")
            return False

        def columns_of(table: str) -> list[str]:
            rows = client.execute(
                "SELECT name FROM system.columns WHERE database = %(db)s AND table = %(t)s "
                "ORDER BY position",
                {"db": db, "t": table},
            )
            return [r[0] for r in rows]

        for stmt in access_statements(db, columns_of):
            client.execute(stmt)
        say(f"ClickHouse {version}: roles, profile, grants and row policies applied to {db}")
        return True
    finally:
        client.disconnect()


@click.group()
def warehouse() -> None:
    """Dimensions and analysts' access of the ClickHouse warehouse (docs/warehouse.md)."""


@warehouse.command("dimensions")
@click.option("--file", "file", default=None, type=click.Path(dir_okay=False))
@click.option("--shipped", type=click.Choice(list(SHIPPED)), default=None)
@click.option("--from-year", type=int, default=None, help="First year of the calendar (2025).")
@click.option("--to-year", type=int, default=None, help="Last year of the calendar (next year).")
def dimensions_cmd(
    file: str | None, shipped: str | None, from_year: int | None, to_year: int | None
) -> None:
    """(Re)load units, categories and the working-day calendar from the data files."""
    directory = shipped_directory(shipped) if shipped else load_directory(file)
    years = None
    if from_year or to_year:
        from datetime import date

        years = (from_year or 2025, to_year or date.today().year + 1)
    click.echo(refresh_dimensions(get_settings(), directory, years))


@warehouse.command("access")
def access_cmd() -> None:
    """Analyst roles, column grants and row policies (current ClickHouse only)."""
    apply_access(get_settings())


@warehouse.command("user")
@click.argument("name")
@click.option("--unit", default=None, metavar="CODE", help="A unit analyst: rows of CODE only.")
@click.option(
    "--password-env",
    default="PAKN_NEW_USER_PASSWORD",
    show_default=True,
    help="Environment variable holding the new user's password.",
)
@click.option("--print", "print_only", is_flag=True, help="Print the SQL, run nothing.")
def user_cmd(name: str, unit: str | None, password_env: str, print_only: bool) -> None:
    """Create an analyst login (role pakn_analyst), or a unit analyst with --unit."""
    from sinks.access import unit_statements, user_statements
    from sinks.connection import clickhouse

    password = os.environ.get(password_env, "")
    if not password:
        raise click.ClickException(f"set the password in ${password_env}")
    settings = get_settings()
    digest = hashlib.sha256(password.encode()).hexdigest()
    try:
        stmts = unit_statements(settings.clickhouse_database, unit) if unit else []
        stmts += user_statements(name, digest, unit)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if print_only:
        click.echo(";\n".join(stmts) + ";")
        return
    client = clickhouse(settings)
    try:
        for stmt in stmts:
            client.execute(stmt)
    except Exception as exc:  # an 18.16 server, or a user without access management
        click.echo(f"refused: {str(exc)[:300]}", err=True)
        sys.exit(1)
    finally:
        client.disconnect()
    click.echo(f"user {name}: {'unit ' + unit if unit else 'analyst'}")
