"""Staff accounts, people and tickets for the inbox tests (integration and browser)."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from werkzeug.security import generate_password_hash

from bot.escalations import PRIORITY_RANK
from db.models import Contact, Escalation, Message, Participant, User
from tests import clock

PASSWORD = "correct horse battery staple"
FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")  # tests only


def make_user(db, email: str, role: str = "peer", name: str | None = None, **kw) -> int:
    with db.session() as s:
        user = User(email=email, name=name or email.split("@")[0].title(), role=role,
                    password_hash=FAST_HASH, **kw)
        s.add(user)
        s.flush()
        return user.id


def login(client, email: str, password: str = PASSWORD):
    resp = client.post("/login", data={"email": email, "password": password})
    assert resp.status_code == 302, resp.data[:500]
    return resp


def _local_today(tz: str) -> date:
    """Today on the person's calendar, as the app counts "day since release" (not the machine's)."""
    return clock.NOW.astimezone(ZoneInfo(tz)).date()


def make_person(db, phone: str | None = "+13125552671", name: str | None = "Ana", *, peer_id=None,
                release: date | None = None, status: str = "active", tz: str = "America/New_York",
                **kw) -> int:
    with db.session() as s:
        person = Participant(first_name=name, status=status, timezone=tz, fields=kw.pop("fields", {}),
                             release_date=release or _local_today(tz) - timedelta(days=3),
                             assigned_peer_id=peer_id, **kw)
        s.add(person)
        s.flush()
        if phone:
            s.add(Contact(participant_id=person.id, channel="sms", address=f"sms:{phone}"))
        return person.id


def make_ticket(db, person_id: int, reason: str = "asked_for_peer", priority: str = "normal",
                created: datetime | None = None, sla_minutes: int = 240, assignee_id=None, **kw) -> int:
    created = created or clock.NOW
    with db.session() as s:
        ticket = Escalation(participant_id=person_id, reason=reason, priority=priority,
                            priority_rank=PRIORITY_RANK[priority], created_at=created,
                            sla_due_at=created + timedelta(minutes=sla_minutes), assignee_id=assignee_id, **kw)
        s.add(ticket)
        s.flush()
        return ticket.id


def inbound(db, person_id: int, body: str, at: datetime | None = None) -> int:
    at = at or clock.NOW
    with db.session() as s:
        contact = s.query(Contact).filter_by(participant_id=person_id).first()
        msg = Message(participant_id=person_id, contact_id=contact.id if contact else None, direction="in",
                      channel="sms", kind="person", body=body, status="processed", created_at=at, updated_at=at)
        s.add(msg)
        s.flush()
        return msg.id
