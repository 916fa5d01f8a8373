"""The escalation feed: filtered, newest first, paged by cursor; a token sees its own
participants' tickets unless granted escalations:read:all."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from flask import jsonify, request
from sqlalchemy import select

from db.models import Escalation, Participant
from web import api_tokens
from web.api.auth import Caller, audit_call, scoped
from web.api.errors import ApiError
from web.api.participants import MAX_ID, iso
from web.context import db

_RFC3339 = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})\Z")
_CURSOR = re.compile(r"^[0-9]{1,10}\Z")


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
                 "created_at": iso(e.created_at), "sla_due_at": iso(e.sla_due_at),
                 "first_response_at": iso(e.first_response_at), "resolved_at": iso(e.resolved_at),
                 "outcome": e.outcome} for e, ext in page]
        audit_call(s, caller, "api_list_escalations", at, count=len(data),
               program_wide=caller.program_wide("escalations:read"),
               filters={k: args[k][:40] for k in ("status", "priority", "reason", "since", "cursor") if k in args})
    next_cursor = str(page[-1][0].id) if len(rows) > limit else None
    return jsonify(data=data, next_cursor=next_cursor)
