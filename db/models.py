"""The data: people and their addresses, conversations, messages, tickets, the outbox,
published flows, resource sites, staff and the audit trail.

One naming convention from day one so Alembic migrations are stable on both databases.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import (JSON, Boolean, Date, ForeignKey, Index, Integer, MetaData, String,
                        Text, UniqueConstraint, Float)
from sqlalchemy.sql.expression import false as sa_false, text, true as sa_true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from db.types import UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class User(Base):
    """Staff: peer, supervisor or admin."""
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))  # peer | supervisor | admin
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    capacity: Mapped[int] = mapped_column(Integer, default=25)  # open tickets before auto-assign skips them
    shift: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, default=None)  # {"mon": [["09:00","17:00"]], ...}
    alert_sound: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())  # urgent-ticket chime
    phone: Mapped[Optional[str]] = mapped_column(String(20), default=None)  # E.164; urgent SLA alerts by text
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[Optional[datetime]] = mapped_column(default=None)
    # Part of every signed-in session's id: one more ends all of the account's sessions
    # (sign-out, a password change).
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Participant(Base):
    """A person in the program. Not a phone number: see Contact."""
    __tablename__ = "participants"
    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[Optional[str]] = mapped_column(String(80), default=None)
    language: Mapped[str] = mapped_column(String(5), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="America/New_York")
    checkin_time: Mapped[Optional[str]] = mapped_column(String(5), default=None)  # "HH:MM" local
    release_date: Mapped[Optional[date]] = mapped_column(Date, default=None)
    status: Mapped[str] = mapped_column(String(20), default="prospect")  # prospect | active | paused | completed | merged
    opted_out_at: Mapped[Optional[datetime]] = mapped_column(default=None)
    consent_at: Mapped[Optional[datetime]] = mapped_column(default=None)
    consent_channel: Mapped[Optional[str]] = mapped_column(String(20), default=None)
    discreet: Mapped[bool] = mapped_column(Boolean, default=True)
    risk_tier: Mapped[Optional[str]] = mapped_column(String(10), default=None)
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    assigned_peer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), default=None)
    external_id: Mapped[Optional[str]] = mapped_column(String(120), unique=True, default=None)
    merged_into_id: Mapped[Optional[int]] = mapped_column(ForeignKey("participants.id"), default=None)
    last_inbound_at: Mapped[Optional[datetime]] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    contacts: Mapped[list["Contact"]] = relationship(back_populates="participant",
                                                     foreign_keys="Contact.participant_id")
    assigned_peer: Mapped[Optional[User]] = relationship(foreign_keys=[assigned_peer_id])

    # the report: the people released on a day, joined to that day's windows (migration 0013)
    __table_args__ = (Index("ix_participants_report_release", "release_date", "timezone", "status", "id"),
                      # the queue's language filter: the people of one language, ids included
                      Index("ix_participants_language", "language", "id"))

    @property
    def opted_out(self) -> bool:
        return self.opted_out_at is not None


class Contact(Base):
    """An address a person can be reached at: "sms:+15551234567", "whatsapp:+1...", "webchat:<id>"."""
    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))  # sms | whatsapp | webchat
    address: Mapped[str] = mapped_column(String(120), unique=True)  # channel-qualified
    opted_out_at: Mapped[Optional[datetime]] = mapped_column(default=None)
    invalid_reason: Mapped[Optional[str]] = mapped_column(String(40), default=None)  # 21211, 21614, ...
    last_inbound_at: Mapped[Optional[datetime]] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    participant: Mapped[Participant] = relationship(back_populates="contacts", foreign_keys=[participant_id])


class Conversation(Base):
    """A flow being had. `state` is the engine's JSON; one active conversation per person."""
    __tablename__ = "conversations"
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    flow: Mapped[str] = mapped_column(String(60))
    flow_version: Mapped[int] = mapped_column(Integer)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | ended | expired
    outcome: Mapped[Optional[str]] = mapped_column(String(40), default=None)
    timeout_at: Mapped[Optional[datetime]] = mapped_column(default=None, index=True)
    expires_at: Mapped[Optional[datetime]] = mapped_column(default=None)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    """Every text in or out. Inbound is written before it is processed."""
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_participant_created", "participant_id", "created_at"),   # the report
                      Index("ix_messages_person_direction", "participant_id", "direction", "id"),  # queue preview
                      # the report, from the indexes alone: a person's texts in a window after release,
                      # and the period's check-ins sent and answered
                      Index("ix_messages_report_person", "participant_id", "direction", "created_at", "kind",
                            "status", "answered_at"),
                      Index("ix_messages_report_sent", "direction", "created_at", "participant_id", "kind",
                            "status", "answered_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    contact_id: Mapped[Optional[int]] = mapped_column(ForeignKey("contacts.id"), default=None)
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    channel: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20), default="bot")  # person | bot | peer | nudge | system
    body: Mapped[str] = mapped_column(Text, default="")
    num_media: Mapped[int] = mapped_column(Integer, default=0)
    provider_sid: Mapped[Optional[str]] = mapped_column(String(64), unique=True, default=None)
    status: Mapped[str] = mapped_column(String(20), default="received")
    # in: received | processed | failed ; out: replied | queued | sandbox | sent | delivered | undelivered | failed
    error_code: Mapped[Optional[str]] = mapped_column(String(20), default=None)
    reply_to_id: Mapped[Optional[int]] = mapped_column(ForeignKey("messages.id"), default=None)
    author_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # a check-in (nudge, welcome): when the person first answered it, within 24 hours and before
    # the next one (db/checkins.py); None while unanswered
    answered_at: Mapped[Optional[datetime]] = mapped_column(default=None)


class ReportCheckinDay(Base):
    """The report's check-ins sent and answered (as db/checkins.py counts them) per zone, local
    day and release date of the people, kept by triggers on messages and participants
    (migration 0015): the report reads this, not every check-in of the period."""
    __tablename__ = "report_checkin_days"
    __table_args__ = {"sqlite_with_rowid": False}
    timezone: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    release_date: Mapped[date] = mapped_column(Date, primary_key=True)
    sent: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)


class ReportPersonWeek(Base):
    """Per person and week since release (0-12, their calendar): texts they sent, those in the
    first three days (week 0 only), and check-ins sent in it that were answered; kept by triggers
    (migration 0015_report_person_weeks) for the report's reach and engagement."""
    __tablename__ = "report_person_weeks"
    __table_args__ = {"sqlite_with_rowid": False}
    participant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    week: Mapped[int] = mapped_column(Integer, primary_key=True)
    texts: Mapped[int] = mapped_column(Integer)
    early: Mapped[int] = mapped_column(Integer)
    answered: Mapped[int] = mapped_column(Integer)


class Escalation(Base):
    """A ticket in the peer inbox."""
    __tablename__ = "escalations"
    __table_args__ = (# the queue's order, and what its views filter on, from the index alone: a deep page
                      # walks the index instead of sorting every open ticket
                      Index("ix_escalations_queue_order", "status", "priority_rank", "sla_due_at", "id",
                            "snoozed_until", "assignee_id", "first_response_at", "reason"),
                      # the queue's counts (mine, unassigned) and the snoozed list, from the indexes alone
                      Index("ix_escalations_waiting", "status", "assignee_id", "snoozed_until", "first_response_at"),
                      Index("ix_escalations_snoozed", "snoozed_until", "status"),
                      # every page's urgent-alert poll
                      Index("ix_escalations_alerts", "status", "priority_rank", "first_response_at", "snoozed_until",
                            "id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    reason: Mapped[str] = mapped_column(String(40))
    priority: Mapped[str] = mapped_column(String(10))  # urgent | high | normal
    priority_rank: Mapped[int] = mapped_column(Integer)  # 0 urgent, 1 high, 2 normal: sorts the queue
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | resolved
    assignee_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), default=None, index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[Optional[int]] = mapped_column(ForeignKey("messages.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sla_due_at: Mapped[datetime] = mapped_column()
    first_response_at: Mapped[Optional[datetime]] = mapped_column(default=None)
    resolved_at: Mapped[Optional[datetime]] = mapped_column(default=None, index=True)
    outcome: Mapped[Optional[str]] = mapped_column(String(40), default=None)
    reopened_count: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[Optional[datetime]] = mapped_column(default=None)
    snoozed_until: Mapped[Optional[datetime]] = mapped_column(default=None)  # out of the queue until then, or a new text

    participant: Mapped[Participant] = relationship()
    assignee: Mapped[Optional[User]] = relationship()


class StaffPresence(Base):
    """Who has a person's page open right now, and whether they are typing a reply (collision)."""
    __tablename__ = "staff_presence"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), primary_key=True, index=True)
    replying: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    seen_at: Mapped[datetime] = mapped_column()


class Note(Base):
    """A private staff note on a person (never sent)."""
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    escalation_id: Mapped[Optional[int]] = mapped_column(ForeignKey("escalations.id"), default=None)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    author: Mapped[User] = relationship()


class ScheduledMessage(Base):
    """The outbox. Claimed atomically by workers; the database is the schedule."""
    __tablename__ = "scheduled_messages"
    __table_args__ = (
        UniqueConstraint("participant_id", "dedupe_key", name="uq_scheduled_messages_dedupe"),
        Index("ix_scheduled_messages_due", "state", "due_at"),
        # the claim's pending branch in its order (migration 0017); SQLite's (state, due_at) above
        # already is, its index entries ending with the rowid
        Index("ix_scheduled_messages_pending", "due_at", "id",
              postgresql_where=text("state = 'pending'")).ddl_if(dialect="postgresql"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # nudge | welcome | closing | peer | reply | timeout
    dedupe_key: Mapped[str] = mapped_column(String(80))
    body: Mapped[Optional[str]] = mapped_column(Text, default=None)  # fixed text (peer message) or None for a template
    template_key: Mapped[Optional[str]] = mapped_column(String(60), default=None)
    due_at: Mapped[datetime] = mapped_column()
    state: Mapped[str] = mapped_column(String(20), default="pending")
    # pending | claimed | sent | failed | cancelled | skipped | held
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[Optional[str]] = mapped_column(String(80), default=None)
    claimed_until: Mapped[Optional[datetime]] = mapped_column(default=None)
    author_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), default=None)
    message_id: Mapped[Optional[int]] = mapped_column(ForeignKey("messages.id"), default=None)
    last_error: Mapped[Optional[str]] = mapped_column(String(200), default=None)
    quiet_ok: Mapped[bool] = mapped_column(Boolean, default=False)  # a reply to someone who wrote first
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffText(Base):
    """The outbox for texts to staff phones (a supervisor told an urgent ticket waits past its
    SLA). Claimed and sent by the dispatcher like ScheduledMessage, with the same lease; kept apart
    because nothing here is a participant's (no opt-out, no quiet hours, not in anyone's thread).
    One row per (staff member, dedupe key): a sweep run twice adds nothing."""
    __tablename__ = "staff_texts"
    __table_args__ = (
        UniqueConstraint("user_id", "dedupe_key", name="uq_staff_texts_dedupe"),
        Index("ix_staff_texts_due", "state", "due_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # sla_breach
    dedupe_key: Mapped[str] = mapped_column(String(80))  # sla:<ticket>:<times reopened>
    due_at: Mapped[datetime] = mapped_column()
    state: Mapped[str] = mapped_column(String(20), default="pending")  # pending | claimed | sent | failed | skipped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[Optional[str]] = mapped_column(String(80), default=None)
    claimed_until: Mapped[Optional[datetime]] = mapped_column(default=None)
    provider_sid: Mapped[Optional[str]] = mapped_column(String(64), default=None)
    last_error: Mapped[Optional[str]] = mapped_column(String(200), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FlowVersion(Base):
    """A published flow definition; conversations keep the version they started on."""
    __tablename__ = "flow_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_flow_versions_name_version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60), index=True)
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(Text)  # the YAML as published
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    published_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), default=None)
    published_at: Mapped[datetime] = mapped_column(default=utcnow)


class Site(Base):
    """A place to get naloxone, harm-reduction services or treatment."""
    __tablename__ = "sites"
    __table_args__ = (Index("ix_sites_cell", "cell_lat", "cell_lon"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    source_key: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kinds: Mapped[str] = mapped_column(String(200))  # space-separated kind codes
    address: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[str] = mapped_column(String(2), default="")
    zip: Mapped[str] = mapped_column(String(5), default="")
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    cell_lat: Mapped[int] = mapped_column(Integer)
    cell_lon: Mapped[int] = mapped_column(Integer)
    phone: Mapped[str] = mapped_column(String(40), default="")
    hours: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON, default=None)
    timezone: Mapped[Optional[str]] = mapped_column(String(64), default=None)
    notes: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(60), default="")
    verified_on: Mapped[Optional[date]] = mapped_column(Date, default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    hidden_by_staff: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())  # survives re-imports
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Who saw or changed what, when (42 CFR Part 2)."""
    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), default=None, index=True)
    action: Mapped[str] = mapped_column(String(40))
    participant_id: Mapped[Optional[int]] = mapped_column(ForeignKey("participants.id"), default=None, index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user: Mapped[Optional[User]] = relationship()


class Event(Base):
    """A fact for the program's report (locator question, risk tier computed, flow ended)."""
    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[Optional[int]] = mapped_column(ForeignKey("participants.id"), default=None, index=True)
    name: Mapped[str] = mapped_column(String(40), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Setting(Base):
    """Program settings a supervisor edits (SLA targets, rate limit, contact line, ...)."""
    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class CannedReply(Base):
    __tablename__ = "canned_replies"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(80))
    body_en: Mapped[str] = mapped_column(Text)
    body_es: Mapped[str] = mapped_column(Text)


class ApiToken(Base):
    """A bearer token for the integration API. Only its SHA-256 is stored; the token itself is
    shown once, when it is created. Scopes are space-separated (participants:read ...)."""
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16))  # the token's first characters, to recognise it in lists
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(default=None)
    last_used_at: Mapped[Optional[datetime]] = mapped_column(default=None)

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())


class TokenParticipant(Base):
    """A participant an API token may see: enrolled through it, or assigned to it by an admin.
    A token with a program-wide scope (participants:read:all) needs no rows here."""
    __tablename__ = "token_participants"
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id"), primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), primary_key=True, index=True)
    how: Mapped[str] = mapped_column(String(10))         # enrolled | assigned
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WebChatSession(Base):
    """An anonymous web chat: the short code a person can type on another device, and the
    channel-qualified address ("webchat:<random>") whose Contact the first message creates."""
    __tablename__ = "webchat_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    address: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_active_at: Mapped[datetime] = mapped_column(default=utcnow)


class RateHit(Base):
    """One counted request for a sliding-window rate limit (web chat, the API). Old rows are
    pruned as new ones are written."""
    __tablename__ = "rate_hits"
    __table_args__ = (Index("ix_rate_hits_key_at", "key", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column()
