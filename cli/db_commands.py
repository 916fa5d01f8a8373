"""`flask --app app db upgrade` and friends."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from db import migrate


@click.group("db", help="Database migrations (Alembic).")
def db_group():
    pass


@db_group.command("upgrade", help="Apply every migration up to the newest (SQLite and PostgreSQL alike).")
@with_appcontext
def upgrade():
    db = current_app.extensions["homeward.db"]
    before = migrate.current_revision(db.engine)
    migrate.upgrade(db.engine)
    after = migrate.current_revision(db.engine)
    click.echo(f"database at revision {after}" + (f" (was {before})" if before != after else " (already current)"))


@db_group.command("current", help="Show the database's revision and whether it is current.")
@with_appcontext
def current():
    db = current_app.extensions["homeward.db"]
    rev, head = migrate.current_revision(db.engine), migrate.head_revision()
    click.echo(f"current {rev}, head {head}: {'up to date' if rev == head else 'behind'}")
    raise SystemExit(0 if rev == head else 1)
