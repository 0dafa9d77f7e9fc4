"""`pakn`: the operator's one entry point (services, topics, migrations, processes, calendar)."""

from __future__ import annotations

import sys

import click

from pakn.settings import PROJECT_ROOT, Settings, get_settings


@click.group()
def main() -> None:
    """PAKN pipeline: citizen feedback from the app through Kafka and faust into ClickHouse."""


# --- services ------------------------------------------------------------------------------
@main.group()
def services() -> None:
    """The native Kafka broker, ClickHouse server and S3 store (no Docker needed)."""


@services.command("start")
@click.option(
    "--reset", is_flag=True, help="Wipe the services' data first (Kafka, ClickHouse, S3)."
)
@click.option("--only", type=click.Choice(["kafka", "clickhouse", "s3"]), default=None)
def services_start(reset: bool, only: str | None) -> None:
    """Install if missing, start, and wait until each answers (idempotent)."""
    from pakn.services import manager

    manager.start(get_settings(), reset=reset, only=only)
    click.echo(manager.describe(get_settings()))


@services.command("stop")
@click.option("--only", type=click.Choice(["kafka", "clickhouse", "s3"]), default=None)
def services_stop(only: str | None) -> None:
    """Stop the native services (data is kept)."""
    from pakn.services import manager

    manager.stop(get_settings(), only=only)


@services.command("status")
def services_status() -> None:
    """Say whether each service answers."""
    from pakn.services import manager

    ok = manager.status(get_settings())
    for name, up in ok.items():
        click.echo(f"{name}: {'up' if up else 'down'}")
    sys.exit(0 if all(ok.values()) else 1)


# --- topics and migrations -----------------------------------------------------------------
@main.command("topics")
def topics_cmd() -> None:
    """Create every topic of the catalogue (idempotent) and print it; publish the configured unit
    directory and routing rules if the units.directory topic holds none yet."""
    from pakn.directory_topic import ensure_published
    from pakn.topics import create_topics, describe

    create_topics(get_settings())
    click.echo(describe(get_settings()))
    published = ensure_published(get_settings())
    if published is not None:
        click.echo(published.summary())


@main.command("migrate")
@click.option("--no-dimensions", is_flag=True, help="Do not (re)load the dimension tables.")
def migrate_cmd(no_dimensions: bool) -> None:
    """Apply the ClickHouse migrations that are not applied yet, then load the dimensions
    (units, categories, working-day calendar) from the data files."""
    from pakn.warehouse_cli import refresh_dimensions
    from sinks.migrate import migrate

    applied = migrate(get_settings())
    click.echo(f"applied: {', '.join(applied) or 'nothing new'}")
    if not no_dimensions:
        click.echo(refresh_dimensions(get_settings()))


# --- processes -----------------------------------------------------------------------------
@main.command("gateway")
def gateway_cmd() -> None:
    """Run the HTTP gateway."""
    from gateway.app import run

    run(get_settings())


@main.command("worker")
def worker_cmd() -> None:
    """Run a faust worker (case state, deadlines, case events)."""
    from streams.worker import run

    run(get_settings())


@main.command("sink")
def sink_cmd() -> None:
    """Run the ClickHouse sink."""
    from sinks.clickhouse import run_sink

    run_sink(get_settings())


@main.command("router")
def router_cmd() -> None:
    """Run the unit router (case events and states -> each unit's work stream, exactly once)."""
    from streams.unit_router import run_router

    run_router(get_settings())


@main.command("notifier")
def notifier_cmd() -> None:
    """Run the warnings notifier (dedup of deliveries into the notifications topic)."""
    from streams.notifier import run_notifier

    run_notifier(get_settings())


@main.command("sender-notices")
def sender_notices_cmd() -> None:
    """Run the sender notices: one notice per change of a case (push topic, and e-mail when
    PAKN_SMTP_HOST is set), exactly once per change (docs/workflow.md)."""
    from pakn.sender_notices import run_sender_notices

    run_sender_notices(get_settings())


@main.command("rebuild")
@click.option("--database", default=None, help="New database (default <db>_rebuild_<time>).")
@click.option("--group", default=None, help="Consumer group (default <sink group>-rebuild-<time>).")
@click.option("--swap", is_flag=True, help="Then exchange its tables with the live ones.")
@click.option("--timeout", default=3600.0, show_default=True, help="Seconds to catch up.")
def rebuild_cmd(database: str | None, group: str | None, swap: bool, timeout: float) -> None:
    """Recreate the warehouse from the Kafka topics into a fresh database (docs/warehouse.md)."""
    from pakn.logs import setup_logging
    from pakn.rebuild import RebuildError, rebuild

    settings = get_settings()
    setup_logging("WARNING", "rebuild")
    try:
        out = rebuild(
            settings,
            database=database,
            group=group,
            do_swap=swap,
            timeout_s=timeout,
            say=lambda s: click.echo(s, err=True),
        )
    except RebuildError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"rebuilt {out.database} from {out.messages} messages in {out.seconds:.1f} s "
        f"(consumer group {out.group})"
    )
    click.echo(f"{'table':<28} {'live':>10} {'rebuilt':>10}")
    for table, (live, new) in sorted(out.rows.items()):
        click.echo(f"{table:<28} {live:>10} {new:>10}")
    db = settings.clickhouse_database
    if out.swapped:
        click.echo(
            f"swapped in {out.swap_seconds:.1f} s: {db} now holds the rebuilt tables; "
            f"the previous ones are in {out.database} (DROP DATABASE {out.database} and "
            f"{out.database}_analytics when satisfied)"
        )
    else:
        click.echo(
            f"to use it: PAKN_CLICKHOUSE_DATABASE={out.database} PAKN_SINK_GROUP={out.group} "
            f"(and the analyst's allow_databases: {out.database}_analytics), or run again "
            "with --swap"
        )


@main.command("bench", context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def bench_cmd(args: tuple[str, ...]) -> None:
    """Run the performance suite (bench/suite.py): `pakn bench [--quick]`; `--help` for more."""
    import subprocess

    script = PROJECT_ROOT / "bench" / "suite.py"
    sys.exit(subprocess.call([sys.executable, str(script), *args]))


@main.command("up")
@click.option("--reset", is_flag=True, help="Wipe all data first.")
def up_cmd(reset: bool) -> None:
    """Start everything: services, topics, migrations, gateway, worker and sink (Ctrl-C stops)."""
    from pakn.supervisor import run_all

    run_all(get_settings(), reset=reset)


@main.command("config")
@click.option("--readme", is_flag=True, help="Rewrite the table in README.md instead.")
def config_cmd(readme: bool) -> None:
    """Print the configuration reference (every setting, its variable and default) as Markdown."""
    if not readme:
        click.echo(config_reference())
        return
    path = PROJECT_ROOT / "README.md"
    text = path.read_text()
    start = text.index("\n", text.index("<!-- config:start")) + 1
    end = text.index("<!-- config:end -->")
    path.write_text(text[:start] + config_reference() + "\n" + text[end:])


def config_reference() -> str:
    """The README's configuration table, generated from the settings class."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = "" if field.default is None else str(field.default)
        default = default.replace(str(PROJECT_ROOT) + "/", "<project>/")
        lines.append(f"| `PAKN_{name.upper()}` | `{default}` | {field.description or ''} |")
    return "\n".join(lines)


def _register_optional() -> None:
    """Sub-commands that live beside their subject."""
    from pakn.calendar_cli import calendar
    from pakn.export_cli import export
    from pakn.integrity_cli import integrity
    from pakn.privacy_cli import privacy
    from pakn.sla_cli import sla
    from pakn.token_cli import token
    from pakn.units_cli import units
    from pakn.warehouse_cli import warehouse

    main.add_command(calendar)
    main.add_command(privacy)
    main.add_command(integrity)
    main.add_command(token)
    main.add_command(units)
    main.add_command(warehouse)
    main.add_command(export)
    main.add_command(sla)


_register_optional()

if __name__ == "__main__":  # pragma: no cover
    main()
