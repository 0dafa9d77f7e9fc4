"""`pakn token`: mint a development token signed with the configured HS256 secret.

Production tokens come from the identity provider (RS256/ES256, PAKN_AUTH_PUBLIC_KEYS_FILE); this
command refuses to work when only public keys are configured.
"""

from __future__ import annotations

import click

from gateway.http.auth import DEV_SECRET_FILE, ROLES, SENDER, UNIT_ROLES, mint_token
from pakn.settings import Settings, get_settings

MAX_TTL_S = 30 * 24 * 3600


@click.command("token")
@click.option("--role", required=True, type=click.Choice(ROLES), help="Role claim of the token.")
@click.option("--unit", default=None, metavar="CODE", help="Unit code, e.g. 00070 (officers).")
@click.option("--sub", "subject", default=None, help="Subject (default dev-<role>-<unit>).")
@click.option("--pseudonym", default=None, help="Sender's pseudonym (64 hex).")
@click.option(
    "--identity",
    default=None,
    metavar="CCCD",
    help="Sender's identity number; the pseudonym is computed with the configured key.",
)
@click.option(
    "--ttl",
    type=click.IntRange(1, MAX_TTL_S),
    default=3600,
    show_default=True,
    help="Lifetime in seconds.",
)
@click.pass_context
def token(
    ctx: click.Context,
    role: str,
    unit: str | None,
    subject: str | None,
    pseudonym: str | None,
    identity: str | None,
    ttl: int,
) -> None:
    """Print a JWT for ROLE (and UNIT), signed with the HS256 secret (development only)."""
    settings = ctx.obj if isinstance(ctx.obj, Settings) else get_settings()
    if role in UNIT_ROLES and not unit:
        raise click.UsageError(f"--unit is required for role {role}")
    if role == SENDER:
        if unit:
            raise click.UsageError("a sender token carries no --unit")
        if pseudonym and identity:
            raise click.UsageError("give --pseudonym or --identity, not both")
        if identity:
            from pakn.privacy import load_privacy

            pseudonym = load_privacy(settings).pseudonym(identity)
        if not pseudonym and not subject:
            raise click.UsageError("a sender token needs --identity, --pseudonym or --sub")
    elif pseudonym or identity:
        raise click.UsageError("only a sender token carries --pseudonym / --identity")
    try:
        jwt_text = mint_token(
            settings, role=role, unit=unit, subject=subject, pseudonym=pseudonym, ttl_s=ttl
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if not settings.auth_hs256_secret:
        click.echo(
            f"signed with the development secret {settings.home / 'secrets' / DEV_SECRET_FILE}",
            err=True,
        )
    click.echo(jwt_text)
