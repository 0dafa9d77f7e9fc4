"""`pakn export`: open data (published results, monthly oversight figures), streamed to a file."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import date

import click

from pakn.settings import get_settings

_month_opt = click.option(
    "--month",
    default=lambda: date.today().strftime("%Y-%m"),
    show_default="this month",
    help="YYYY-MM, in Hanoi time.",
)
_unit_opt = click.option("--unit", default=None, metavar="CODE", help="Only this unit.")
_out_opt = click.option(
    "--out",
    "out",
    default="-",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="File to write (default: standard output).",
)


def _write(chunks: Iterator[bytes], out: str) -> int:
    from gateway.stores.opendata import ExportError

    size = 0
    stream = sys.stdout.buffer if out == "-" else open(out, "wb")  # noqa: SIM115
    try:
        for chunk in chunks:
            stream.write(chunk)
            size += len(chunk)
    except ExportError as exc:
        raise click.ClickException(f"{exc.code}: {exc}") from None
    finally:
        if out != "-":
            stream.close()
        else:
            stream.flush()
    return size


@click.group()
def export() -> None:
    """Open data: published results as CSV or GeoJSON, oversight figures as CSV
    (docs/open-data.md: licence and fields)."""


@export.command("results")
@_month_opt
@_unit_opt
@click.option("--format", "fmt", type=click.Choice(["csv", "geojson"]), default="csv")
@click.option("--page", type=int, default=None, help="Only this page (from 1).")
@click.option("--page-size", type=click.IntRange(1, 100_000), default=None)
@_out_opt
def results_cmd(
    month: str, unit: str | None, fmt: str, page: int | None, page_size: int | None, out: str
) -> None:
    """Results published in a month (no personal data), every one or one page."""
    from gateway.stores.opendata import ExportError, export_results

    try:
        chunks = export_results(get_settings(), fmt, month, unit, page=page, page_size=page_size)
    except ExportError as exc:
        raise click.ClickException(f"{exc.code}: {exc}") from None
    size = _write(chunks, out)
    if out != "-":
        click.echo(f"{out}: {size} bytes", err=True)


@export.command("oversight")
@_month_opt
@_unit_opt
@_out_opt
def oversight_cmd(month: str, unit: str | None, out: str) -> None:
    """Each unit's figures of a month (unit_month_tallies) as CSV."""
    from gateway.stores.opendata import ExportError, export_oversight

    try:
        chunks = export_oversight(get_settings(), month, unit)
    except ExportError as exc:
        raise click.ClickException(f"{exc.code}: {exc}") from None
    size = _write(chunks, out)
    if out != "-":
        click.echo(f"{out}: {size} bytes", err=True)
