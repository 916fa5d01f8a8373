"""The one participant lifecycle service: enroll, consent (a YES by text), edit, pause, resume,
opt out, opt in, stop and merge. Every door calls these and nothing else: the staff pages
(web/roster.py), the API (web/api/), the CLI (cli/participants.py), the runtime (JOIN and the
welcome, STOP and START) and the flows' answers (release date, check-in time).

The rules (which state may go where, what happens to the plan) are core/lifecycle.py's; this
module loads, writes and replans in the caller's session, and returns a `Done` with what to
audit. Callers write the audit row in their own words (who did it) and commit. Opt-out belongs
to the phone number: a STOP on SMS also stops WhatsApp for that number, and the other way round.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot import merging
from bot.enrollment import Enrollment, EnrollmentError
from bot.planning import schedule_nudges
from core import lifecycle, policy
from core.lifecycle import Refused
from db.models import Contact, Event, Participant, ScheduledMessage, Setting, User
from db.queries import cancel_pending

STAFF_WHO_CARRY_A_CASELOAD = ("peer", "supervisor")
PHONE_CHANNELS = ("sms", "whatsapp")
DEFAULT_CASELOAD_ROOM = 40          # people per peer before auto-assignment passes them by
EDITABLE = ("first_name", "language", "timezone", "checkin_time", "release_date", "assigned_peer_id",
            "external_id")


@dataclass
class Done:
    """What an operation did, for the caller's audit row and its answer."""
    person: object
    action: str
    detail: dict = field(default_factory=dict)

    @property
    def planned(self) -> int:
        return self.detail.get("planned", 0)


# -- the plan -----------------------------------------------------------------------------------
def _apply_plan(s: Session, person, effect: str, schedule: policy.Schedule | None, now: datetime,
                why: str, enrolled_at: datetime | None = None) -> dict:
    if effect == "cancel":
        return {"cancelled": cancel_pending(s, person.id, now, why)}
    if effect in ("replan", "hold") and schedule is not None:
        return {"planned": schedule_nudges(s, person, schedule, now, enrolled_at=enrolled_at)}
    return {}


def replan(s: Session, person, schedule: policy.Schedule, now: datetime) -> int:
    """A fact the plan depends on changed (a release date or check-in time answered by text)."""
    return schedule_nudges(s, person, schedule, now)


# -- numbers --------------------------------------------------------------------------------------
def number_of(address: str) -> str | None:
    channel, _, number = address.partition(":")
    return number if channel in PHONE_CHANNELS and number else None


def _same_number(address: str) -> list[str]:
    number = number_of(address)
    return [f"{c}:{number}" for c in PHONE_CHANNELS] if number else [address]


def number_opted_out(s: Session, address: str) -> bool:
    """True when this number opted out on any channel, or belongs to someone who did."""
    rows = s.execute(select(Contact.opted_out_at, Participant.opted_out_at)
                     .join(Participant, Participant.id == Contact.participant_id)
                     .where(Contact.address.in_(_same_number(address)))).all()
    return any(c is not None or p is not None for c, p in rows)


def _mark_number(s: Session, person_id: int, contact_id: int | None, when: datetime | None) -> None:
    """Opt-out (or back in) for every channel of the number the person wrote from; with no
    contact (a staff action), for all of the person's phone addresses."""
    address = s.scalar(select(Contact.address).where(Contact.id == contact_id)) if contact_id else None
    stmt = update(Contact).where(Contact.address.in_(_same_number(address)) if address
                                 else Contact.participant_id == person_id)
    s.execute(stmt.values(opted_out_at=when).execution_options(synchronize_session=False))


# -- peers ----------------------------------------------------------------------------------------
def caseload_room(s: Session) -> int:
    row = s.get(Setting, "caseload_room")
    value = row.value if row is not None else None
    return int(value) if isinstance(value, (int, float)) and value > 0 else DEFAULT_CASELOAD_ROOM


def _check_peer(s: Session, peer_id: int | None) -> None:
    if peer_id is None:
        return
    peer = s.get(User, peer_id)
    if peer is None or not peer.active or peer.role not in STAFF_WHO_CARRY_A_CASELOAD:
        raise EnrollmentError("peer_id", "That peer is not an active peer or supervisor.")


def least_loaded_peer(s: Session) -> int | None:
    """The active peer with the fewest people in their care and room for one more."""
    load = (select(Participant.assigned_peer_id.label("peer"), func.count().label("n"))
            .where(Participant.status.in_(("active", "paused")))
            .group_by(Participant.assigned_peer_id).subquery())
    rows = s.execute(select(User.id, func.coalesce(load.c.n, 0)).outerjoin(load, load.c.peer == User.id)
                     .where(User.active.is_(True), User.role == "peer").order_by(User.id)).all()
    return lifecycle.pick_peer([(pid, n) for pid, n in rows], caseload_room(s))


def _assign(s: Session, person) -> None:
    if person.assigned_peer_id is None:
        person.assigned_peer_id = least_loaded_peer(s)


def unassigned(s: Session) -> list[Participant]:
    """Enrolled people nobody has: supervisors see them (every peer was full)."""
    return list(s.scalars(select(Participant).where(Participant.status.in_(("active", "paused")),
                                                    Participant.assigned_peer_id.is_(None))
                          .order_by(Participant.id)))


# -- operations -------------------------------------------------------------------------------------
def _refusal(exc: Refused, person_id: int | None) -> EnrollmentError:
    return EnrollmentError("phone" if exc.code in ("opted_out", "already_enrolled") else "status",
                           exc.message, person_id, code=exc.code)


def _check_external_id(s: Session, external_id: str | None, person_id: int | None) -> None:
    if external_id is None:
        return
    other = s.scalar(select(Participant.id).where(Participant.external_id == external_id))
    if other is not None and other != person_id:
        raise EnrollmentError("external_id", f"That external id belongs to person #{other}.", other,
                              code="external_id_taken")


def enroll(s: Session, e: Enrollment, now: datetime, schedule: policy.Schedule | None) -> Done:
    """Make the person active and plan their nudges. Someone who already texted in (a prospect)
    is enrolled in place; someone enrolled, or whose number opted out on any channel, is refused."""
    if e.address is None:
        raise EnrollmentError("phone", "A phone number is required.")
    _check_peer(s, e.peer_id)
    contact = s.scalar(select(Contact).where(Contact.address.in_(_same_number(e.address)))
                       .order_by((Contact.address == e.address).desc(), Contact.id).limit(1))
    person = s.get(Participant, contact.participant_id) if contact is not None else None
    if person is not None and person.status == "merged":
        target = person.merged_into_id or person.id
        raise EnrollmentError("phone", f"This number is already enrolled as person #{target}.", target,
                              code="already_enrolled")
    try:
        rule = lifecycle.transition("enroll", person.status if person else None,
                                    number_opted_out(s, e.address))
    except Refused as exc:
        who = person.id if person else None
        if exc.code == "already_enrolled":
            exc = Refused(exc.code, f"This number is already enrolled as person #{who}.")
        raise _refusal(exc, who) from None
    _check_external_id(s, e.external_id, person.id if person else None)
    if person is None:
        person = Participant(created_at=now, fields={})
        s.add(person)
        s.flush()
    if contact is None or contact.address != e.address:
        s.add(Contact(participant_id=person.id, channel=e.address.split(":", 1)[0], address=e.address,
                      created_at=now))
    person.first_name = e.first_name or person.first_name
    person.language, person.timezone, person.checkin_time = e.language, e.timezone, e.checkin_time
    person.release_date, person.assigned_peer_id = e.release_date, e.peer_id
    person.external_id = e.external_id or person.external_id
    person.status, person.consent_at, person.consent_channel = rule.status, now, e.consent_channel
    _assign(s, person)
    s.flush()
    detail = {"consent_channel": e.consent_channel, "peer_id": person.assigned_peer_id,
              "release_date": e.release_date.isoformat() if e.release_date else None}
    detail |= _apply_plan(s, person, rule.plan, schedule, now, "enrolled", enrolled_at=now)
    return Done(person, "enroll", detail)


def consent(s: Session, person, now: datetime, schedule: policy.Schedule | None, channel: str) -> Done:
    """YES to the welcome by text: a prospect becomes active, with a peer and a plan."""
    rule = lifecycle.transition("consent", person.status, person.opted_out)
    if person.consent_at is None:
        person.consent_at, person.consent_channel = now, channel
    if not rule.changed:
        return Done(person, "consent", {"changed": False})
    person.status = rule.status
    _assign(s, person)
    detail = {"channel": channel, "peer_id": person.assigned_peer_id}
    detail |= _apply_plan(s, person, rule.plan, schedule, now, "consented", enrolled_at=now)
    return Done(person, "consent", detail)


def edit(s: Session, person: Participant, e: Enrollment, now: datetime,
         schedule: policy.Schedule | None) -> Done:
    """Apply an edit and replan; detail["changes"] is {field: [old, new]}. A new number is added
    as another contact; one that belongs to someone else is refused (merge the records instead)."""
    try:
        rule = lifecycle.transition("edit", person.status, person.opted_out)
    except Refused as exc:
        raise _refusal(exc, person.id) from None
    _check_peer(s, e.peer_id)
    _check_external_id(s, e.external_id, person.id)
    wanted = {"first_name": e.first_name, "language": e.language, "timezone": e.timezone,
              "checkin_time": e.checkin_time, "release_date": e.release_date,
              "assigned_peer_id": e.peer_id, "external_id": e.external_id}
    changes: dict[str, list] = {}
    for name in EDITABLE:
        old, new = getattr(person, name), wanted[name]
        if old != new:
            changes[name] = [_plain(old), _plain(new)]
            setattr(person, name, new)
    if e.address is not None:
        contact = s.scalar(select(Contact).where(Contact.address == e.address))
        if contact is not None and contact.participant_id != person.id:
            raise EnrollmentError("phone", f"That number belongs to person #{contact.participant_id}: "
                                           "merge the two records instead.", contact.participant_id,
                                  code="phone_enrolled")
        if contact is None:
            if number_opted_out(s, e.address):
                raise EnrollmentError("phone", "That number opted out (STOP). Only the person can "
                                               "rejoin, by texting START.", person.id, code="opted_out")
            s.add(Contact(participant_id=person.id, channel=e.address.split(":", 1)[0],
                          address=e.address, created_at=now))
            changes["contact_added"] = [None, e.address.split(":", 1)[0]]
    if person.status in ("active", "paused"):
        _assign(s, person)
    s.flush()
    detail: dict = {"changes": changes}
    if changes:
        detail |= _apply_plan(s, person, rule.plan, schedule, now, "edited")
    return Done(person, "edit_person", detail)


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


def _simple(s: Session, person, op: str, now: datetime, schedule: policy.Schedule | None,
            why: str) -> Done:
    try:
        rule = lifecycle.transition(op, person.status, person.opted_out)
    except Refused as exc:
        raise _refusal(exc, person.id) from None
    before = person.status
    person.status = rule.status
    s.flush()
    detail = {"before": before, "after": rule.status, "changed": rule.changed}
    if rule.changed:
        detail |= _apply_plan(s, person, rule.plan, schedule, now, why)
    return Done(person, op, detail)


def pause(s: Session, person: Participant, now: datetime, schedule: policy.Schedule | None) -> Done:
    """Hold the plan; nothing is lost."""
    return _simple(s, person, "pause", now, schedule, "paused")


def resume(s: Session, person: Participant, now: datetime, schedule: policy.Schedule | None) -> Done:
    """Plan the days still ahead; the ones that fell due while paused are skipped, never a burst."""
    return _simple(s, person, "resume", now, schedule, "resumed")


def stop(s: Session, person: Participant, now: datetime, why: str = "outreach stopped") -> Done:
    """Outreach ends (completed): everything not yet sent is withdrawn."""
    return _simple(s, person, "stop", now, None, why)


def opt_out(s: Session, person, now: datetime, contact_id: int | None = None,
            why: str = "opted out") -> Done:
    """STOP (or the carrier says so): the number, on every channel, gets nothing more."""
    rule = lifecycle.transition("opt_out", person.status, person.opted_out)
    person.opted_out_at = person.opted_out_at or now
    _mark_number(s, person.id, contact_id, now)
    s.add(Event(participant_id=person.id, name="opted_out", data={}, created_at=now))   # the report's history
    return Done(person, "opt_out", {"changed": rule.changed} | _apply_plan(s, person, "cancel", None, now, why))


def opt_in(s: Session, person, now: datetime, schedule: policy.Schedule | None,
           contact_id: int | None = None) -> Done:
    """START: the number may be texted again and the days still ahead are planned (the ones
    missed while opted out are not sent)."""
    rule = lifecycle.transition("opt_in", person.status, person.opted_out)
    person.opted_out_at = None
    _mark_number(s, person.id, contact_id, None)
    s.add(Event(participant_id=person.id, name="opted_in", data={}, created_at=now))
    return Done(person, "opt_in", {"changed": rule.changed} | _apply_plan(s, person, rule.plan, schedule, now,
                                                                           "opted in"))


def merge(s: Session, keep: Participant, other: Participant, now: datetime,
          schedule: policy.Schedule | None) -> Done:
    """Move `other`'s story onto `keep` (bot/merging.py) and replan the person that remains."""
    moved = merging.merge(s, keep, other, now)
    rule = lifecycle.transition("merge", keep.status, keep.opted_out)
    detail = {"merged_id": other.id, "moved": moved}
    if keep.opted_out:
        detail |= _apply_plan(s, keep, "cancel", None, now, "opted out")
    else:
        detail |= _apply_plan(s, keep, rule.plan, schedule, now, "merged")
    return Done(keep, "merge", detail)

