"""`flask --app app tokens create|list|revoke|assign|unassign`: bearer tokens for the integration API (/api/v1).

The token is printed once, by `create`; only its SHA-256 is stored. Every create and revoke is
in the audit log (with --by, under that admin's name).
"""
from __future__ import annotations

from datetime import datetime, timezone

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from db.models import User
from web import api_tokens


@click.group("tokens", help="Bearer tokens for the integration API (/api/v1).")
def tokens_group():
    pass


def _admin_id(s, email: str | None) -> int | None:
    if not email:
        return None
    user = s.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or user.role != "admin" or not user.active:
        raise click.BadParameter(f"no active admin account {email}", param_hint="--by")
    return user.id


@tokens_group.command("create")
@click.option("--name", required=True, help="Who uses it, e.g. 'County jail release system'.")
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice(list(api_tokens.SCOPES)),
              help="Repeat for each scope.")
@click.option("--by", "by_email", default=None, help="The admin making it (for the audit log).")
@with_appcontext
def create(name: str, scopes: tuple[str, ...], by_email: str | None):
    db = current_app.extensions["homeward.db"]
    with db.session() as s:
        try:
            row, token = api_tokens.create_token(s, name, scopes, _admin_id(s, by_email), datetime.now(timezone.utc))
        except api_tokens.TokenError as exc:
            raise click.ClickException(str(exc)) from None
        token_id = row.id
    click.echo(f"token #{token_id} \"{name}\" ({' '.join(sorted(set(scopes)))}). Copy it now; it is not shown again:")
    click.echo(token)


@tokens_group.command("list")
@with_appcontext
def list_tokens():
    db = current_app.extensions["homeward.db"]
    with db.session() as s:
        rows = api_tokens.all_tokens(s)
    if not rows:
        click.echo("no tokens")
    for t in rows:
        state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "active"
        used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
        click.echo(f"#{t.id:<4} {t.prefix}…  {state:<18} used {used:<16} {t.scopes:<55} {t.name}")


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
@click.option("--by", "by_email", default=None, help="The admin revoking it (for the audit log).")
@with_appcontext
def revoke(token_id: int, by_email: str | None):
    db = current_app.extensions["homeward.db"]
    with db.session() as s:
        try:
            row = api_tokens.revoke(s, token_id, _admin_id(s, by_email), datetime.now(timezone.utc))
        except api_tokens.TokenError as exc:
            raise click.ClickException(str(exc)) from None
        name = row.name
    click.echo(f"revoked token #{token_id} \"{name}\"; requests with it now get 401")


def _link(command, token_id: int, participant_id: int, by_email: str | None) -> str:
    db = current_app.extensions["homeward.db"]
    with db.session() as s:
        try:
            row = command(s, token_id, participant_id, _admin_id(s, by_email), datetime.now(timezone.utc))
        except api_tokens.TokenError as exc:
            raise click.ClickException(str(exc)) from None
        return row.name


@tokens_group.command("assign", help="Let a token see a participant it did not enroll (its integration's person).")
@click.argument("token_id", type=int)
@click.argument("participant_id", type=int)
@click.option("--by", "by_email", default=None, help="The admin assigning it (for the audit log).")
@with_appcontext
def assign(token_id: int, participant_id: int, by_email: str | None):
    name = _link(api_tokens.assign, token_id, participant_id, by_email)
    click.echo(f"token #{token_id} \"{name}\" now sees participant #{participant_id}")


@tokens_group.command("unassign", help="Stop a token seeing a participant.")
@click.argument("token_id", type=int)
@click.argument("participant_id", type=int)
@click.option("--by", "by_email", default=None, help="The admin removing it (for the audit log).")
@with_appcontext
def unassign(token_id: int, participant_id: int, by_email: str | None):
    name = _link(api_tokens.unassign, token_id, participant_id, by_email)
    click.echo(f"token #{token_id} \"{name}\" no longer sees participant #{participant_id}")
