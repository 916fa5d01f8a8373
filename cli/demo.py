"""`flask --app app demo load`: what `make run` needs to be worth looking at.

Idempotent: accounts are created once (their passwords printed once and kept in
instance/demo-accounts.txt, readable only by you); flows are published and sites imported
only when they changed; demo people (enrolled through the lifecycle service, so their check-ins
are planned) and a little history are added once.
"""
from __future__ import annotations

import os
import secrets
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from cli.sites import load_default_sites
from db.checkins import recount_answered
from db.models import Contact, Message, Participant, User
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
    load_default_sites(db, demo=True)
    _demo_people(db, current_app.config["PROGRAM_TIMEZONE"], current_app.extensions["homeward.schedule"](),
                 datetime.now(timezone.utc))


# (name, language, days since release, check-in time, a past conversation: (minutes ago, who, text)...)
DEMO_PEOPLE = (
    ("Ana", "en", 2, "10:00", ((26 * 60, "nudge", None), (26 * 60 - 40, "person", "3"),
                               (26 * 60 - 40, "bot", "Thanks for checking in. In-between days count too. "
                                                      "Text MENU any time for naloxone, treatment, or to talk with a peer."))),
    ("Marisol", "es", 9, "18:00", ((3, "person", "ya no aguanto, quiero morir"),)),
    ("Dee", "en", 30, "09:30", ((3 * 24 * 60, "person", "PEER"),
                                (3 * 24 * 60 - 30, "peer", "Hi Dee, it's Luis. I'm here. Want to talk today at 4?"),
                                (3 * 24 * 60 - 25, "person", "yes please"))),
    ("Jay", "en", 0, None, ((12, "person", "PEER"),)),
    ("Rosa", "es", 45, "12:00", ()),
)


def _demo_people(db, program_tz: str, schedule, now: datetime) -> None:
    """People at several days since release, each with their plan made by the lifecycle service
    (so the caseload shows their next nudge), a few past conversations, an open urgent ticket and
    a resolved one with an outcome: the inbox, caseload and report have something to show."""
    from zoneinfo import ZoneInfo

    from bot import participants, tickets
    from bot.enrollment import Enrollment
    from bot.escalations import open_escalation
    today = now.astimezone(ZoneInfo(program_tz)).date()
    with db.session() as s:
        if s.scalar(select(Contact).where(Contact.address == "sms:+15005550101")):
            return
        peer = s.scalar(select(User).where(User.email == "peer@homeward.example"))
        people = {}
        for i, (name, lang, days, checkin, thread) in enumerate(DEMO_PEOPLE):
            e = Enrollment(f"sms:+1500555010{i + 1}", today - timedelta(days=days), name, lang, program_tz,
                           checkin, peer.id if peer else None, "in_person")
            enrolled = now - timedelta(days=days, hours=2)
            done = participants.enroll(s, e, enrolled, schedule)
            participants.replan(s, done.person, schedule, now)   # the plan as it stands today
            person, contact = done.person, s.scalar(select(Contact).where(Contact.address == e.address))
            person.fields = {"demo": True}
            for k, (minutes, who, body) in enumerate(thread):
                at = now - timedelta(minutes=minutes)
                kind, direction = {"person": ("person", "in"), "bot": ("bot", "out"),
                                   "peer": ("peer", "out"), "nudge": ("nudge", "out")}[who]
                if who == "nudge":
                    body = f"Hi {name}, it's {peer.name.split()[0] if peer else 'your peer'} from Homeward. " \
                           "Just checking in. Reply 1-5: how's today?"
                s.add(Message(participant_id=person.id, contact_id=contact.id, direction=direction, channel="sms",
                              kind=kind, body=body, status="received" if direction == "in" else "sandbox",
                              provider_sid=None if who == "bot" else f"SMDEMO{i}x{k}", author_id=peer.id if who == "peer" and peer else None,
                              created_at=at, updated_at=at))
                if direction == "in":
                    person.last_inbound_at = at
            people[name] = person
        s.flush()
        recount_answered(s.connection(), [p.id for p in people.values()])   # the history was written directly
        open_escalation(s, people["Marisol"], "crisis", "urgent", "classifier: quiero morir",
                        now - timedelta(minutes=3), tz=program_tz)
        open_escalation(s, people["Jay"], "asked_for_peer", "normal", "Asked to talk with a peer.",
                        now - timedelta(minutes=12), tz=program_tz)
        open_escalation(s, people["Rosa"], "no_contact", "high", "No reply to 3 check-ins in a row.",
                        now - timedelta(minutes=20), tz=program_tz)
        old = open_escalation(s, people["Dee"], "peer_request", "normal", "asked for a peer",
                              now - timedelta(days=3), tz=program_tz)
        if peer is not None:
            tickets.resolve(s, old.id, peer.id, "reached", "Talked by phone; meeting Thursday.",
                            now - timedelta(days=3) + timedelta(hours=1))
    click.echo("Demo participants added: " + ", ".join(p[0] for p in DEMO_PEOPLE) +
               " (numbers +1500555010x, not real), with their check-ins planned, a few past "
               "conversations, open tickets (one urgent) and a resolved one.")
