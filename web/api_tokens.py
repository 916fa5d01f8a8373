"""Bearer tokens for the integration API: made and revoked by admins (this page, or
`flask --app app tokens ...`), stored as a SHA-256 hash, limited to scopes, audited.

A token is "hw_" and 43 random URL-safe characters (256 bits). It is shown once, when it is
made; afterwards only its first characters identify it in lists. Looking a token up is a lookup
of its hash, so no comparison of secrets happens in Python.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from db.models import ApiToken, Participant, TokenParticipant, User
from web import audit
from web.auth import role_required
from web.context import db, me, now

SCOPES = {
    "participants:read": "Read the status of its own participants (no message bodies)",
    "participants:write": "Enroll participants; change release dates, pause, resume or stop outreach for its own",
    "escalations:read": "List its own participants' escalations (tickets), without notes or messages",
    "participants:read:all": "Program-wide: read any participant, including people who only texted in",
    "participants:write:all": "Program-wide: change, pause, resume or stop any participant",
    "escalations:read:all": "Program-wide: list every escalation",
}
# A token's "own" participants: those enrolled through it, or assigned to it (`tokens assign`).
# A program-wide scope lifts that limit; it is only ever granted by name, never implied.
PROGRAM_WIDE = {"participants:read": "participants:read:all", "participants:write": "participants:write:all",
                "escalations:read": "escalations:read:all"}
PREFIX = "hw_"
SHOWN_CHARS = 10

bp = Blueprint("api_tokens", __name__, url_prefix="/admin/api-tokens")


class TokenError(ValueError):
    pass


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(s: Session, name: str, scopes, created_by: int | None, at: datetime) -> tuple[ApiToken, str]:
    """Returns (the stored row, the token itself: show it once, never store it)."""
    name = (name or "").strip()
    wanted = sorted(set(scopes or ()))
    if not name or len(name) > 80 or any(ord(ch) < 32 for ch in name):
        raise TokenError("Give the token a name (up to 80 characters) that says who uses it.")
    unknown = [x for x in wanted if x not in SCOPES]
    if unknown or not wanted:
        raise TokenError(f"Choose one or more scopes from: {', '.join(SCOPES)}.")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, prefix=token[:SHOWN_CHARS], token_hash=digest(token), scopes=" ".join(wanted),
                   created_by_id=created_by, created_at=at)
    s.add(row)
    s.flush()
    audit.record(s, created_by, "token_create", at, token_id=row.id, name=name, scopes=wanted)
    return row, token


def find(s: Session, token: str) -> ApiToken | None:
    """The row a presented token belongs to (revoked ones included: the caller says why it fails)."""
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    return s.scalar(select(ApiToken).where(ApiToken.token_hash == digest(token)))


def revoke(s: Session, token_id: int, by: int | None, at: datetime) -> ApiToken:
    row = s.get(ApiToken, token_id)
    if row is None:
        raise TokenError(f"There is no token #{token_id}.")
    if row.revoked_at is None:
        row.revoked_at = at
        audit.record(s, by, "token_revoke", at, token_id=row.id, name=row.name)
    return row


def sees(s: Session, token_id: int, participant_id: int) -> bool:
    """Whether the participant is one of the token's own (or absorbed one of them in a merge)."""
    return s.scalar(select(TokenParticipant.participant_id).join(
        Participant, Participant.id == TokenParticipant.participant_id).where(
        TokenParticipant.token_id == token_id,
        or_(Participant.id == participant_id, Participant.merged_into_id == participant_id)).limit(1)) is not None


def own_participants(token_id: int):
    """The ids a token may see, as a subquery (its rows, and the records they were merged into)."""
    rows = select(TokenParticipant.participant_id).where(TokenParticipant.token_id == token_id)
    merged = select(Participant.merged_into_id).where(Participant.id.in_(rows), Participant.merged_into_id.is_not(None))
    return rows.union(merged)


def link(s: Session, token_id: int, participant_id: int, how: str, at: datetime) -> bool:
    """Make the participant one of the token's own; False when it already was."""
    if s.get(TokenParticipant, (token_id, participant_id)) is not None:
        return False
    s.add(TokenParticipant(token_id=token_id, participant_id=participant_id, how=how, created_at=at))
    s.flush()
    return True


def assign(s: Session, token_id: int, participant_id: int, by: int | None, at: datetime) -> ApiToken:
    """An admin gives a token one more participant (someone enrolled another way)."""
    row = s.get(ApiToken, token_id)
    if row is None:
        raise TokenError(f"There is no token #{token_id}.")
    if s.get(Participant, participant_id) is None:
        raise TokenError(f"There is no participant #{participant_id}.")
    if link(s, token_id, participant_id, "assigned", at):
        audit.record(s, by, "token_assign", at, participant_id, token_id=row.id, name=row.name)
    return row


def unassign(s: Session, token_id: int, participant_id: int, by: int | None, at: datetime) -> ApiToken:
    row = s.get(ApiToken, token_id)
    if row is None:
        raise TokenError(f"There is no token #{token_id}.")
    link_row = s.get(TokenParticipant, (token_id, participant_id))
    if link_row is None:
        raise TokenError(f"Participant #{participant_id} is not one of token #{token_id}'s.")
    s.delete(link_row)
    audit.record(s, by, "token_unassign", at, participant_id, token_id=row.id, name=row.name)
    return row


def all_tokens(s: Session) -> list[ApiToken]:
    return list(s.scalars(select(ApiToken).order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())))


# -- the admin page -------------------------------------------------------------------------------
@bp.after_request
def _no_store(response):
    """The page that shows a new token must never be cached."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(new_token: str | None = None, error: str | None = None, status: int = 200, form=None):
    with db().session() as s:
        tokens = all_tokens(s)
        makers = dict(s.execute(select(User.id, User.name)).all())
    return render_template("api_tokens.html", tokens=tokens, scopes=SCOPES, new_token=new_token, error=error,
                           makers=makers, form_name=form.get("name", "") if form else "",
                           chosen=form.getlist("scope") if form else []), status


@bp.get("")
@role_required("admin")
def index():
    return _page()


@bp.post("")
@role_required("admin")
def create():
    try:
        with db().session() as s:
            _, token = create_token(s, request.form.get("name", ""), request.form.getlist("scope"), me(), now())
    except TokenError as exc:
        return _page(error=str(exc), status=422, form=request.form)
    return _page(new_token=token)   # rendered, never redirected or flashed: the token is not kept anywhere


@bp.post("/<int:token_id>/revoke")
@role_required("admin")
def revoke_view(token_id: int):
    try:
        with db().session() as s:
            row = revoke(s, token_id, me(), now())
            name = row.name
    except TokenError as exc:
        flash(str(exc), "error")
        return redirect(url_for("api_tokens.index"))
    flash(f"Revoked “{name}”. Requests with it now get 401.", "info")
    return redirect(url_for("api_tokens.index"))
