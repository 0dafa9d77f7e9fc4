"""`pakn units`: the unit directory and the routing rules from the command line."""

from __future__ import annotations

import sys

import click

from pakn.settings import get_settings
from processors.catalogue import CATEGORIES, PROCESSES
from processors.routing import Router, RoutingRules, RoutingRulesError, load_rules
from processors.units import (
    KINDS,
    SHIPPED,
    UnitDirectory,
    UnitDirectoryError,
    load_directory,
    shipped_directory,
)

_FILE_HELP = "Unit directory file (default: $PAKN_UNITS_FILE, else the shipped 2025 directory)."
_RULES_HELP = "Routing rules file (default: $PAKN_ROUTING_FILE, else the shipped rules)."


def _directory(path: str | None, shipped: str | None = None) -> UnitDirectory:
    try:
        if shipped:
            return shipped_directory(shipped)
        return load_directory(path or get_settings().units_file or None)
    except UnitDirectoryError as exc:
        raise click.ClickException(str(exc)) from None


def _rules(path: str | None) -> RoutingRules:
    try:
        return load_rules(path or get_settings().routing_file or None)
    except RoutingRulesError as exc:
        raise click.ClickException(str(exc)) from None


_file_opt = click.option(
    "--file", "file", default=None, type=click.Path(dir_okay=False), help=_FILE_HELP
)
_shipped_opt = click.option(
    "--shipped",
    type=click.Choice(list(SHIPPED)),
    default=None,
    help="Use one of the shipped directories instead (e.g. hanoi-pre2025).",
)


@click.group()
def units() -> None:
    """Units (communes, districts, departments, enterprises, oversight) and routing rules."""


@units.command("list")
@click.option("--kind", type=click.Choice(list(KINDS)), default=None, help="Only units of a kind.")
@_file_opt
@_shipped_opt
def list_cmd(kind: str | None, file: str | None, shipped: str | None) -> None:
    """One line per unit: code, kind, subtype, Vietnamese name, English name, parent."""
    directory = _directory(file, shipped)
    for u in directory.of_kind(*([kind] if kind else [])):
        click.echo("\t".join((u.code, u.kind, u.subtype, u.name_vi, u.name_en, u.parent or "")))


@units.command("route")
@click.option("--process", "process", required=True, type=click.Choice(list(PROCESSES)))
@click.option("--category", "category", required=True, type=click.Choice(list(CATEGORIES)))
@click.option("--commune", "commune", default=None, metavar="CODE", help="Commune of the location.")
@click.option("--unit", "unit", default=None, metavar="CODE", help="Unit chosen by the sender.")
@click.option("--explain", is_flag=True, help="Also print the rule, the target and any notes.")
@_file_opt
@_shipped_opt
@click.option("--rules", "rules", default=None, type=click.Path(dir_okay=False), help=_RULES_HELP)
def route_cmd(
    process: str,
    category: str,
    commune: str | None,
    unit: str | None,
    explain: bool,
    file: str | None,
    shipped: str | None,
    rules: str | None,
) -> None:
    """Print the code and name of the unit that receives such an item."""
    try:
        router = Router(_directory(file, shipped), _rules(rules))
    except RoutingRulesError as exc:
        raise click.ClickException(str(exc)) from None
    found = router.route(process, category, commune_code=commune, unit_code=unit)
    click.echo(f"{found.code}\t{found.unit.name_vi}")
    if explain:
        click.echo(f"rule: {found.rule or '-'}\nvia: {found.via}")
        if found.notes:
            click.echo(f"notes: {', '.join(found.notes)}")


@units.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--rules", "rules", default=None, type=click.Path(dir_okay=False), help=_RULES_HELP)
def check_cmd(file: str, rules: str | None) -> None:
    """Validate a directory file, and the routing rules against it; exit 1 on any problem."""
    try:
        directory = UnitDirectory.from_file(file)
    except UnitDirectoryError as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    try:
        problems = _rules(rules).problems_with(directory)
    except RoutingRulesError as exc:
        problems = [str(exc)]
    if problems:
        click.echo(f"{file}: the routing rules do not fit this directory", err=True)
        for p in problems:
            click.echo(f"  - {p}", err=True)
        sys.exit(1)
    click.echo(f"ok: {directory.describe()}")


@units.command("publish")
@_file_opt
@_shipped_opt
@click.option("--rules", "rules", default=None, type=click.Path(dir_okay=False), help=_RULES_HELP)
@click.option("--dry-run", is_flag=True, help="Only print what would be sent.")
def publish_cmd(file: str | None, shipped: str | None, rules: str | None, dry_run: bool) -> None:
    """Publish the directory and the rules to the units.directory topic (only what changed;
    tombstones for units no longer in the file). Running workers route with it at once."""
    from pakn.directory_topic import publish
    from pakn.settings import get_settings
    from processors.datafile import DataFileError

    try:
        done = publish(get_settings(), file, shipped, rules, dry_run=dry_run)
    except DataFileError as exc:
        raise click.ClickException(str(exc)) from None
    if dry_run:
        for c in done.changes:
            click.echo(f"{c.key}\t{c.kind or 'tombstone'}")
        click.echo(f"dry run: {len(done.changes)} message(s) for generation {done.generation}")
        return
    click.echo(done.summary())
    # the warehouse's unit dimension follows the published directory (docs/warehouse.md)
    from pakn.warehouse_cli import refresh_dimensions

    try:
        click.echo(refresh_dimensions(get_settings(), _directory(file, shipped)))
    except Exception as exc:  # the warehouse may be down: the topic is what workers follow
        click.echo(
            f"warehouse dimensions not refreshed ({str(exc)[:200]}): "
            "run `pakn warehouse dimensions`",
            err=True,
        )
