"""The audit trail: who saw or changed whose record, and when (42 CFR Part 2 asks for it).

`record()` is called by every view of a person and every change, in the same transaction as
the change, so a change without its audit row cannot be committed. Supervisors read the log at
/admin/audit; the log itself is append-only (no page edits or deletes it).
"""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, current_app, render_template, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session, joinedload

from db.models import AuditEvent, User
from web.auth import role_required
from web.params import db_int

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")
PAGE = 100


def record(s: Session, user_id: int | None, action: str, now: datetime,
           participant_id: int | None = None, **detail) -> None:
    """Details are ids, field names and choices: never message bodies, never full numbers."""
    s.add(AuditEvent(user_id=user_id, action=action, participant_id=participant_id,
                     detail=detail, created_at=now))


@bp.get("")
@role_required("supervisor")
def log():
    args = request.args
    page = max(args.get("page", 1, type=db_int) or 1, 1)
    stmt = select(AuditEvent)
    if args.get("person", type=db_int):
        stmt = stmt.where(AuditEvent.participant_id == args.get("person", type=db_int))
    if args.get("user", type=db_int):
        stmt = stmt.where(AuditEvent.user_id == args.get("user", type=db_int))
    if args.get("action"):
        stmt = stmt.where(AuditEvent.action == args["action"])
    with current_app.extensions["homeward.db"].session() as s:
        total = s.scalar(select(func.count()).select_from(stmt.subquery()))
        events = list(s.scalars(stmt.options(joinedload(AuditEvent.user))
                                .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
                                .limit(PAGE).offset((page - 1) * PAGE)))
        staff = list(s.scalars(select(User).order_by(User.name)))
        actions = list(s.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))
    return render_template("audit.html", events=events, staff=staff, actions=actions, total=total,
                           page=page, pages=max(1, -(-total // PAGE)), args=args)
