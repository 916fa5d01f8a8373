"""`flask --app app demo load`: what `make run` needs to be worth looking at.

Idempotent: accounts are created once (their passwords printed once and kept in
instance/demo-accounts.txt, readable only by you); flows are published and sites imported
only when they changed; demo people are added once.
"""
from __future__ import annotations

import os
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from cli.sites import load_default_sites
from db.models import Contact, Participant, User
from web import passwords

DEMO_USERS = (("supervisor@homeward.example", "Sam Rivera", "supervisor"),
              ("peer@homeward.example", "Luis Ortega", "peer"))


@click.group("demo", help="Demo data for a local run.")
def demo_group():
    pass


@demo_group.command("load")
@with_appcontext
def load():
    db = current_app.extensions["homeward.db"]
    creds_file = Path(current_app.config["INSTANCE_PATH"]) / "demo-accounts.txt"
    created = []
    with db.session() as s:
        for email, name, role in DEMO_USERS:
            if s.scalar(select(User).where(User.email == email)) is None:
                password = passwords.generate()
                s.add(User(email=email, name=name, role=role, password_hash=generate_password_hash(password)))
                created.append((role, email, password))
    if created:
        creds_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(creds_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as fh:
            for role, email, password in created:
                fh.write(f"{role}\t{email}\t{password}\n")
        click.echo("Demo staff accounts (shown once; also in %s):" % creds_file)
        for role, email, password in created:
            click.echo(f"  {role:<11} {email:<32} password: {password}")
    else:
        click.echo(f"Demo accounts already exist; their passwords are in {creds_file}")
    with db.session() as s:
        published = current_app.extensions["homeward.flows"].publish_dir(s, only_changed=True)
    click.echo(f"Flows published: {', '.join(f'{n} v{v}' for n, v in published)}" if published
               else "Flows: the published versions match the files.")
    load_default_sites(db)
    _demo_people(db)


def _demo_people(db) -> None:
    now = datetime.now(timezone.utc)
    with db.session() as s:
        if s.scalar(select(Contact).where(Contact.address == "sms:+15005550101")):
            return
        peer = s.scalar(select(User).where(User.email == "peer@homeward.example"))
        for i, (name, lang, days_ago) in enumerate((("Ana", "en", 2), ("Marisol", "es", 9), ("Dee", "en", 30))):
            person = Participant(first_name=name, language=lang, status="active",
                                 release_date=date.today() - timedelta(days=days_ago),
                                 checkin_time="10:00", consent_at=now, consent_channel="demo",
                                 assigned_peer_id=peer.id if peer else None, fields={"demo": True})
            s.add(person)
            s.flush()
            s.add(Contact(participant_id=person.id, channel="sms", address=f"sms:+1500555010{i + 1}"))
    click.echo("Demo participants added: Ana, Marisol, Dee (numbers +1500555010x, not real).")
