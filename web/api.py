"""The integration API under /api/v1, for jails, probation offices and reentry programs.

Bearer tokens (web/api_tokens.py) with scopes; every call is audited (writes with what changed,
reads with what was seen, refusals of known tokens too). Requests are checked against the same
schemas the OpenAPI description publishes (web/api_spec.py). Errors are always JSON,
`{"error": {"code", "message"}}`, with the status that says what went wrong: the blueprint
answers every method and every path under /api/v1 itself, so Flask's HTML error pages never
appear here. Enrolling, editing, pausing, resuming and stopping go through bot/participants.py,
the same lifecycle (and replanning) as the inbox, the CLI and a person's own texts.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import wraps

from flask import Blueprint, Response, current_app, g, jsonify, request
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

import logs
from bot import enrollment, participants
from db.models import Contact, Escalation, Message, Participant, ScheduledMessage, User
from web import api_spec, api_tokens, audit, ratelimit
from web.context import db, now

bp = Blueprint("api", __name__, url_prefix="/api/v1")
log = logging.getLogger("homeward.api")

MAX_BODY = 64 * 1024
MAX_ID = 2**31 - 1
DEFAULT_RATE = 120        # requests per token per minute (API_RATE_PER_MINUTE)
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
NUDGE_KINDS = ("nudge", "welcome", "closing")
CONTACT_KINDS = ("person", "peer", "nudge", "welcome", "closing")
_RFC3339 = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})\Z")
_CURSOR = re.compile(r"^[0-9]{1,10}\Z")


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: dict | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields, self.headers = status, code, message, fields, headers


def error_response(status: int, code: str, message: str, fields: dict | None = None,
                   headers: dict | None = None) -> Response:
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    resp = jsonify(error=body)
    resp.status_code = status
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return error_response(exc.status, exc.code, exc.message, exc.fields, exc.headers)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return error_response(exc.code or 500, (exc.name or "error").lower().replace(" ", "_"),
                          exc.description or exc.name or "Error")


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
def _routing_error(exc: HTTPException):
    """Paths no rule can match (a newline in the path) and unusual methods fail in routing, before
    any blueprint is chosen: under /api/ they are answered in JSON too; elsewhere, as before."""
    if not request.path.startswith(bp.url_prefix + "/") and request.path != bp.url_prefix:
        return exc
    if exc.code == 405:
        return error_response(405, "method_not_allowed", f"{request.method} is not allowed here.",
                              headers={"Allow": ", ".join(getattr(exc, "valid_methods", None) or ())})
    return nowhere()


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):
    logs.event(log, "api error", logging.ERROR, path=request.path, exc_info=True)
    return error_response(500, "internal", "Something went wrong on our side; it has been logged. "
                                           "Try again, and tell the program if it keeps happening.")


@bp.after_request
def _headers(response):
    response.headers["Cache-Control"] = "no-store"
    return response


# -- routing: every method on every path answers in JSON ----------------------------------------
def route(rule: str, endpoint: str, query: tuple[str, ...] = (), **handlers):
    """Register `rule` for every method: the named ones go to their handler, OPTIONS lists them,
    the rest get a JSON 405 with Allow (Flask's own 405 would be an HTML page). A query parameter
    not in `query` is refused (400), so a misspelt filter never silently returns everything."""
    allowed = sorted(set(handlers) | {"OPTIONS"} | ({"HEAD"} if "GET" in handlers else set()))

    def view(**kwargs):
        method = "GET" if request.method == "HEAD" else request.method
        if method == "OPTIONS":
            return Response(status=204, headers={"Allow": ", ".join(allowed)})
        handler = handlers.get(method)
        if handler is None:
            return error_response(405, "method_not_allowed", f"{request.method} is not allowed here.",
                                  headers={"Allow": ", ".join(allowed)})
        unknown = sorted(set(request.args) - set(query))
        if unknown:
            name = unknown[0][:40]
            return error_response(400, "invalid_parameter", f"Unknown query parameter {name!r}.",
                                  {name or "?": "is not a parameter here."})
        return handler(**kwargs)

    bp.add_url_rule(rule, endpoint, view, methods=ANY_METHOD, provide_automatic_options=False)


# -- authentication, scopes, rate limits --------------------------------------------------------
@dataclass(frozen=True)
class Caller:
    token_id: int
    name: str
    scopes: frozenset[str] = frozenset()

    def program_wide(self, scope: str) -> bool:
        """Granted explicitly (participants:read:all …); otherwise the token sees only its own."""
        return api_tokens.PROGRAM_WIDE[scope] in self.scopes


def _unauthorized(code: str, message: str) -> ApiError:
    challenge = 'Bearer realm="homeward"' + ("" if code == "missing_token" else ', error="invalid_token"')
    return ApiError(401, code, message, headers={"WWW-Authenticate": challenge})


def _authenticate(scope: str, at: datetime) -> Caller:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("missing_token", "Send a token: Authorization: Bearer <token>.")
    refusal: ApiError | None = None
    # write=True: on SQLite the rate limit's check and count must not interleave (web/ratelimit.py)
    with db().session(write=True) as s:   # refusals are audited and committed before they are raised
        row = api_tokens.find(s, token.strip())
        if row is None:
            logs.event(log, "api token unknown", logging.WARNING, path=request.path)
            refusal = _unauthorized("invalid_token", "That token is not valid.")
        elif row.revoked_at is not None:
            audit.record(s, None, "api_denied", at, token_id=row.id, token=row.name, why="revoked",
                         path=request.path[:120])
            refusal = _unauthorized("revoked_token", "That token was revoked. Ask an admin for a new one.")
        elif scope not in row.scope_set:
            audit.record(s, None, "api_denied", at, token_id=row.id, token=row.name, why="scope", scope=scope,
                         path=request.path[:120])
            refusal = ApiError(403, "insufficient_scope", f"This token does not have the {scope} scope.")
        else:
            per_minute = int(current_app.config.get("API_RATE_PER_MINUTE", DEFAULT_RATE))
            wait = ratelimit.hit(s, f"api:token:{row.id}", ratelimit.Limit(per_minute, timedelta(minutes=1)), at)
            if wait:
                refusal = ApiError(429, "rate_limited", f"More than {per_minute} requests a minute. "
                                                        f"Wait {wait} seconds.", headers={"Retry-After": str(wait)})
            else:
                row.last_used_at = at
                caller = Caller(row.id, row.name, row.scope_set)
    if refusal is not None:
        raise refusal
    return caller


def scoped(scope: str):
    def decorator(view):
        @wraps(view)
        def wrapped(**kwargs):
            at = now()
            g.api_caller = _authenticate(scope, at)
            return view(g.api_caller, at, **kwargs)
        return wrapped
    return decorator


def _audit(s, caller: Caller, action: str, at: datetime, participant_id: int | None = None, **detail) -> None:
    audit.record(s, None, action, at, participant_id, token_id=caller.token_id, token=caller.name, **detail)


# -- request helpers ------------------------------------------------------------------------------------
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
        _audit(s, caller, "api_denied", at, person.id, why="not_its_participant", scope=scope,
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


def _iso(value) -> str | None:
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
        "enrolled_at": _iso(person.consent_at), "release_date": _iso(person.release_date),
        "opted_out": person.opted_out, "opted_out_at": _iso(person.opted_out_at),
        "last_inbound_at": _iso(person.last_inbound_at), "last_contact_at": _iso(last),
        "next_nudge_at": _iso(nxt), "language": person.language, "timezone": person.timezone,
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
            _audit(s, caller, "api_enroll", at, done.person.id, planned_nudges=done.planned, **done.detail)
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
        _audit(s, caller, "api_denied", at, existing.id, why="not_its_participant", scope="participants:write",
               path=request.path[:120])
        s.commit()
        raise ApiError(409, "external_id_taken", "That external_id belongs to a participant of another "
                                                 "integration.")
    _audit(s, caller, "api_enroll_repeat", at, existing.id)
    return jsonify(participant_json(s, existing)), 200


@scoped("participants:read")
def show(caller: Caller, at: datetime, participant_id: int):
    with db().session() as s:
        person = _person(s, participant_id, caller, "participants:read", at)
        _audit(s, caller, "api_view_person", at, person.id)
        return jsonify(participant_json(s, person))


@scoped("participants:write")
def change(caller: Caller, at: datetime, participant_id: int):
    body = _json_body(api_spec.CHANGE)
    with db().session() as s:
        person = _person(s, participant_id, caller, "participants:write", at)
        _writable(person)
        current = {"first_name": person.first_name or "", "language": person.language,
                   "timezone": person.timezone, "checkin_time": person.checkin_time or "",
                   "release_date": _iso(person.release_date) or "", "peer_id": str(person.assigned_peer_id or ""),
                   "external_id": person.external_id or ""}
        raw = {**current, **{k: (v if v is not None else "") for k, v in body.items()}}
        clean, errors = enrollment.validate(raw, _program_today(at), new=False, default_tz=person.timezone)
        if clean is None:
            raise ApiError(422, "invalid", "Check the request: " + " ".join(errors.values()), errors)
        try:
            done = participants.edit(s, person, clean, at, _schedule())
        except enrollment.EnrollmentError as exc:
            raise _enrollment_error(exc) from None
        _audit(s, caller, "api_update", at, person.id, changes=done.detail["changes"], replanned=done.planned)
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
        _audit(s, caller, f"api_{action}", at, person.id, before=done.detail["before"], after=person.status,
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


# -- escalations -------------------------------------------------------------------------------------------
def _query_error(name: str, message: str) -> ApiError:
    return ApiError(400, "invalid_parameter", f"{name}: {message}", {name: message})


def parse_since(text: str) -> datetime:
    """RFC 3339 date-time → aware UTC datetime (fractions past microseconds and leap seconds
    are trimmed)."""
    m = _RFC3339.match(text)
    if not m:
        raise ValueError("not an RFC 3339 date-time")
    year, month, day, hh, mm, ss = (int(x) for x in m.groups()[:6])
    micro = int((m.group(7) or ".0")[1:7].ljust(6, "0"))
    zone, offset = m.group(8).upper(), timedelta(0)
    if zone != "Z":
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        if hours > 23 or minutes > 59:
            raise ValueError("not a UTC offset")
        offset = (1 if zone[0] == "+" else -1) * timedelta(hours=hours, minutes=minutes)
    local = datetime(max(year, 1), month, day, hh, mm, min(ss, 59), micro)
    try:
        return (local - offset).replace(tzinfo=timezone.utc)
    except OverflowError:
        return (datetime.min if offset > timedelta(0) else datetime.max).replace(tzinfo=timezone.utc)


@scoped("escalations:read")
def escalations(caller: Caller, at: datetime):
    args = request.args
    stmt = select(Escalation, Participant.external_id).join(Participant, Participant.id == Escalation.participant_id)
    if not caller.program_wide("escalations:read"):
        stmt = stmt.where(Escalation.participant_id.in_(api_tokens.own_participants(caller.token_id)))
    if "status" in args:
        if args["status"] not in ("open", "resolved"):
            raise _query_error("status", "must be open or resolved.")
        stmt = stmt.where(Escalation.status == args["status"])
    if "priority" in args:
        if args["priority"] not in ("urgent", "high", "normal"):
            raise _query_error("priority", "must be urgent, high or normal.")
        stmt = stmt.where(Escalation.priority == args["priority"])
    if "reason" in args:
        if not 1 <= len(args["reason"]) <= 40 or "\x00" in args["reason"]:
            raise _query_error("reason", "must be 1 to 40 characters, without NUL.")
        stmt = stmt.where(Escalation.reason == args["reason"])
    if "since" in args:
        try:
            stmt = stmt.where(Escalation.created_at >= parse_since(args["since"]))
        except ValueError:
            raise _query_error("since", "must be an RFC 3339 date-time, e.g. 2026-12-01T00:00:00Z.") from None
    limit = 50
    if "limit" in args:
        if not re.fullmatch(r"[0-9]{1,3}", args["limit"]) or not 1 <= int(args["limit"]) <= 100:
            raise _query_error("limit", "must be a whole number from 1 to 100.")
        limit = int(args["limit"])
    if "cursor" in args:
        if not _CURSOR.match(args["cursor"]):
            raise _query_error("cursor", "must be the next_cursor of a previous page.")
        if int(args["cursor"]) <= MAX_ID:     # ids are 32-bit; a larger cursor is before them all
            stmt = stmt.where(Escalation.id < int(args["cursor"]))
    with db().session() as s:
        rows = s.execute(stmt.order_by(Escalation.id.desc()).limit(limit + 1)).all()
        page = rows[:limit]
        data = [{"id": e.id, "participant_id": e.participant_id, "external_id": ext, "reason": e.reason,
                 "priority": e.priority, "status": e.status, "assigned": e.assignee_id is not None,
                 "created_at": _iso(e.created_at), "sla_due_at": _iso(e.sla_due_at),
                 "first_response_at": _iso(e.first_response_at), "resolved_at": _iso(e.resolved_at),
                 "outcome": e.outcome} for e, ext in page]
        _audit(s, caller, "api_list_escalations", at, count=len(data),
               program_wide=caller.program_wide("escalations:read"),
               filters={k: args[k][:40] for k in ("status", "priority", "reason", "since", "cursor") if k in args})
    next_cursor = str(page[-1][0].id) if len(rows) > limit else None
    return jsonify(data=data, next_cursor=next_cursor)


# -- the description and everything else -----------------------------------------------------------------
def openapi():
    return jsonify(api_spec.SPEC)


def nowhere(**_):
    return error_response(404, "not_found", "There is no such API endpoint. See /api/v1/openapi.json.")


route("/openapi.json", "openapi", GET=openapi)
route("/participants", "enroll", POST=enroll)
route("/participants/<int:participant_id>", "participant", GET=show, PATCH=change)
route("/participants/<int:participant_id>/pause", "pause", POST=pause)
route("/participants/<int:participant_id>/resume", "resume", POST=resume)
route("/participants/<int:participant_id>/stop", "stop", POST=stop)
route("/escalations", "escalations", GET=escalations,
      query=("status", "priority", "reason", "since", "limit", "cursor"))
for _rule, _name in (("/", "root"), ("/<path:rest>", "nowhere")):
    bp.add_url_rule(_rule, _name, nowhere, methods=ANY_METHOD, provide_automatic_options=False)
