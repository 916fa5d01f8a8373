"""`flask --app app users create|list|password|deactivate`: staff accounts."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from db.models import User
from web import passwords
from web.auth import end_all_sessions

ROLES = ("peer", "supervisor", "admin")


def _check_password(password: str, *known: str) -> str:
    problem = passwords.problem(password, *known)
    if problem:
        raise click.BadParameter(problem, param_hint="password")
    return password


@click.group("users", help="Staff accounts (peers, supervisors, admins).")
def users_group():
    pass


@users_group.command("create")
@click.option("--email", required=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", default=None, help="Display name (peers sign nudges with their first name).")
@click.option("--password", default=None, help="Prompted for (hidden, twice) when not given.")
@with_appcontext
def create(email: str, role: str, name: str | None, password: str | None):
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    email = email.strip().lower()
    db = current_app.extensions["homeward.db"]
    with db.session() as s:
        if s.scalar(select(User).where(User.email == email)):
            raise click.ClickException(f"an account for {email} already exists")
        _check_password(password, email, name or "")
        s.add(User(email=email, role=role, name=name or email.split("@")[0].title(),
                   password_hash=generate_password_hash(password)))
    click.echo(f"created {role} {email}")


@users_group.command("password", help="Set a new password for an account.")
@click.option("--email", required=True)
@click.option("--password", default=None)
@with_appcontext
def set_password(email: str, password: str | None):
    if password is None:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    db = current_app.extensions["homeward.db"]
    with db.session() as s:
        user = s.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise click.ClickException(f"no account for {email}")
        _check_password(password, user.email, user.name)
        user.password_hash, user.failed_logins, user.locked_until = generate_password_hash(password), 0, None
        end_all_sessions(s, user.id)                   # every session on the old password ends
    click.echo(f"password changed for {email}")


@users_group.command("list")
@with_appcontext
def list_users():
    db = current_app.extensions["homeward.db"]
    with db.session() as s:
        for u in s.scalars(select(User).order_by(User.role, User.email)):
            click.echo(f"{u.role:<10} {u.email:<40} {'active' if u.active else 'inactive'}")
