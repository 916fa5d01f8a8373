"""Enrolling, reading, editing, pausing, resuming and stopping a participant. Each goes through
bot/participants.py, the same lifecycle (and replanning) as the inbox, the CLI and a person's own
texts; bodies are checked against the schemas the OpenAPI description publishes (web/api_spec.py)."""
from __future__ import annotations

from datetime import datetime

from flask import current_app, jsonify, request
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot import enrollment, participants
from db.models import Contact, Message, Participant, ScheduledMessage, User
from web import api_spec, api_tokens
from web.api.auth import Caller, audit_call, scoped
from web.api.errors import ApiError
from web.context import db

MAX_BODY = 64 * 1024
MAX_ID = 2**31 - 1
NUDGE_KINDS = ("nudge", "welcome", "closing")
CONTACT_KINDS = ("person", "peer", "nudge", "welcome", "closing")


def _json_body(schema: dict) -> dict:
    if (request.content_length or 0) > MAX_BODY:
        raise ApiError(413, "too_large", "The body is larger than 64 KiB.")
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
    body = request.get_json(silent=True)
    if body is None:
        raise ApiError(400, "invalid_json", "The body is not valid JSON.")
    wrong = api_spec.problems(schema, body)
    if wrong:
        summary = "; ".join((f"{k} {v}" if k else v).rstrip(".") for k, v in list(wrong.items())[:5])
        raise ApiError(422, "invalid", f"Check the request: {summary}.", wrong)
    return body


def _person(s, participant_id: int, caller: Caller, scope: str, at: datetime) -> Participant:
    """The participant, if this token may see them: someone else's is answered exactly like one
    that does not exist (404), so ids cannot be probed; the refusal is audited."""
    person = s.get(Participant, participant_id) if 0 < participant_id <= MAX_ID else None
    if person is not None and not caller.program_wide(scope) and not api_tokens.sees(s, caller.token_id, person.id):
        audit_call(s, caller, "api_denied", at, person.id, why="not_its_participant", scope=scope,
               path=request.path[:120])
        s.commit()
        person = None
    if person is None:
        raise ApiError(404, "not_found", f"There is no participant #{participant_id}.")
    return person


def _writable(person: Participant) -> None:
    if person.status == "merged":
        raise ApiError(409, "merged", f"This record was merged into participant #{person.merged_into_id}; "
                                      f"use that id.")


def iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def participant_json(s, person: Participant) -> dict:
    last = s.scalar(select(func.max(Message.created_at)).where(Message.participant_id == person.id,
                                                               Message.kind.in_(CONTACT_KINDS)))
    nxt = s.scalar(select(func.min(ScheduledMessage.due_at)).where(
        ScheduledMessage.participant_id == person.id, ScheduledMessage.state == "pending",
        ScheduledMessage.kind.in_(NUDGE_KINDS)))
    channels = sorted(set(s.scalars(select(Contact.channel).where(Contact.participant_id == person.id))))
    return {
        "id": person.id, "external_id": person.external_id, "status": person.status,
        "enrolled": person.consent_at is not None and person.status in ("active", "paused", "completed"),
        "enrolled_at": iso(person.consent_at), "release_date": iso(person.release_date),
        "opted_out": person.opted_out, "opted_out_at": iso(person.opted_out_at),
        "last_inbound_at": iso(person.last_inbound_at), "last_contact_at": iso(last),
        "next_nudge_at": iso(nxt), "language": person.language, "timezone": person.timezone,
        "channels": channels, "merged_into": person.merged_into_id,
    }


def _program_today(at: datetime):
    from zoneinfo import ZoneInfo
    return at.astimezone(ZoneInfo(current_app.config["PROGRAM_TIMEZONE"])).date()


def _schedule():
    """The nudge schedule in force (a LiveSchedule: supervisors edit it without a restart)."""
    schedule = current_app.extensions["homeward.schedule"]
    return schedule() if callable(schedule) else schedule


def _enrollment_error(exc: enrollment.EnrollmentError) -> ApiError:
    conflicts = {"external_id_taken": "external_id_taken", "opted_out": "opted_out",
                 "already_enrolled": "phone_enrolled", "phone_enrolled": "phone_enrolled",
                 "merged": "merged", "not_active": "not_active", "not_paused": "not_paused"}
    if exc.code in conflicts:
        return ApiError(409, conflicts[exc.code], exc.message)
    field = {"peer_id": "peer_email"}.get(exc.field, exc.field)
    return ApiError(422, "invalid", exc.message, {field: exc.message})


# -- participants ----------------------------------------------------------------------------------------
@scoped("participants:write")
def enroll(caller: Caller, at: datetime):
    body = _json_body(api_spec.ENROLLMENT)
    external_id = body["external_id"]
    with db().session() as s:
        existing = s.scalar(select(Participant).where(Participant.external_id == external_id))
        if existing is not None:
            return _repeat(s, caller, existing, at)
        peer_id = None
        if body.get("peer_email"):
            peer_id = s.scalar(select(User.id).where(User.email == body["peer_email"].strip().lower()))
            if peer_id is None:
                raise ApiError(422, "invalid", "No staff account has that email.",
                               {"peer_email": "no staff account has that email."})
    raw = {"phone": body["phone"], "channel": body.get("channel", "sms"), "release_date": body["release_date"],
           "first_name": body.get("first_name") or "", "language": body.get("language", "en"),
           "timezone": body.get("timezone") or "", "checkin_time": body.get("checkin_time") or "",
           "peer_id": str(peer_id) if peer_id else "", "consent": "yes",
           "consent_channel": body["consent_channel"], "external_id": external_id}
    clean, errors = enrollment.validate(raw, _program_today(at), new=True,
                                        default_tz=current_app.config["PROGRAM_TIMEZONE"])
    if clean is None:
        fields = {{"peer_id": "peer_email"}.get(k, k): v for k, v in errors.items()}
        raise ApiError(422, "invalid", "Check the request: " + " ".join(fields.values()), fields)
    try:
        with db().session() as s:
            done = participants.enroll(s, clean, at, _schedule())
            api_tokens.link(s, caller.token_id, done.person.id, "enrolled", at)
            audit_call(s, caller, "api_enroll", at, done.person.id, planned_nudges=done.planned, **done.detail)
            return jsonify(participant_json(s, done.person)), 201
    except enrollment.EnrollmentError as exc:
        raise _enrollment_error(exc) from None
    except IntegrityError:
        # The same external id (or number) enrolled by a concurrent request: answer as a repeat.
        with db().session() as s:
            existing = s.scalar(select(Participant).where(Participant.external_id == external_id))
            if existing is None:
                raise ApiError(409, "conflict", "Another request changed this number at the same time; "
                                                "try again.") from None
            return _repeat(s, caller, existing, at)


def _repeat(s, caller: Caller, existing: Participant, at: datetime):
    """The same external_id again: the participant, if they are this token's; another
    integration's external_id is a conflict that shows nothing about them."""
    if not (caller.program_wide("participants:write") or api_tokens.sees(s, caller.token_id, existing.id)):
        audit_call(s, caller, "api_denied", at, existing.id, why="not_its_participant", scope="participants:write",
               path=request.path[:120])
        s.commit()
        raise ApiError(409, "external_id_taken", "That external_id belongs to a participant of another "
                                                 "integration.")
    audit_call(s, caller, "api_enroll_repeat", at, existing.id)
    return jsonify(participant_json(s, existing)), 200


@scoped("participants:read")
def show(caller: Caller, at: datetime, participant_id: int):
    with db().session() as s:
        person = _person(s, participant_id, caller, "participants:read", at)
        audit_call(s, caller, "api_view_person", at, person.id)
        return jsonify(participant_json(s, person))


@scoped("participants:write")
def change(caller: Caller, at: datetime, participant_id: int):
    body = _json_body(api_spec.CHANGE)
    with db().session() as s:
        person = _person(s, participant_id, caller, "participants:write", at)
        _writable(person)
        current = {"first_name": person.first_name or "", "language": person.language,
                   "timezone": person.timezone, "checkin_time": person.checkin_time or "",
                   "release_date": iso(person.release_date) or "", "peer_id": str(person.assigned_peer_id or ""),
                   "external_id": person.external_id or ""}
        raw = {**current, **{k: (v if v is not None else "") for k, v in body.items()}}
        clean, errors = enrollment.validate(raw, _program_today(at), new=False, default_tz=person.timezone)
        if clean is None:
            raise ApiError(422, "invalid", "Check the request: " + " ".join(errors.values()), errors)
        try:
            done = participants.edit(s, person, clean, at, _schedule())
        except enrollment.EnrollmentError as exc:
            raise _enrollment_error(exc) from None
        audit_call(s, caller, "api_update", at, person.id, changes=done.detail["changes"], replanned=done.planned)
        return jsonify(participant_json(s, person))


def _transition(caller: Caller, at: datetime, participant_id: int, action: str):
    with db().session() as s:
        person = _person(s, participant_id, caller, "participants:write", at)
        _writable(person)
        try:
            if action == "stop":
                done = participants.stop(s, person, at, "outreach stopped via the API")
            else:
                done = getattr(participants, action)(s, person, at, _schedule())
        except enrollment.EnrollmentError as exc:
            raise _enrollment_error(exc) from None
        s.flush()
        s.expire(person)
        audit_call(s, caller, f"api_{action}", at, person.id, before=done.detail["before"], after=person.status,
               scheduled=done.detail.get("planned", done.detail.get("cancelled", 0)))
        return jsonify(participant_json(s, person))


@scoped("participants:write")
def pause(caller: Caller, at: datetime, participant_id: int):
    return _transition(caller, at, participant_id, "pause")


@scoped("participants:write")
def resume(caller: Caller, at: datetime, participant_id: int):
    return _transition(caller, at, participant_id, "resume")


@scoped("participants:write")
def stop(caller: Caller, at: datetime, participant_id: int):
    return _transition(caller, at, participant_id, "stop")
