"""Canned replies: short, vetted texts in English and Spanish that peers drop into the reply box.

Supervisors keep them; every change is audited. Segment counts are shown so a canned text never
costs more than it has to.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from core.sms import count_segments
from db.models import CannedReply
from web import audit
from web.auth import role_required
from web.context import db, me, now

bp = Blueprint("canned", __name__, url_prefix="/admin/canned")


@bp.get("")
@role_required("supervisor")
def index():
    with db().session() as s:
        replies = list(s.scalars(select(CannedReply).order_by(CannedReply.title)))
    return render_template("canned.html", replies=replies, count=count_segments)


def _clean() -> tuple[str, str, str] | None:
    title = request.form.get("title", "").strip()[:80]
    en = request.form.get("body_en", "").replace("\r\n", "\n").strip()
    es = request.form.get("body_es", "").replace("\r\n", "\n").strip()
    if not (title and en and es):
        flash("A canned reply needs a title and both the English and the Spanish text.", "error")
        return None
    return title, en, es


@bp.post("")
@role_required("supervisor")
def create():
    values = _clean()
    if values:
        with db().session() as s:
            reply = CannedReply(title=values[0], body_en=values[1], body_es=values[2])
            s.add(reply)
            s.flush()
            audit.record(s, me(), "canned_create", now(), None, canned_id=reply.id)
        flash("Added.", "info")
    return redirect(url_for("canned.index"))


@bp.post("/<int:reply_id>")
@role_required("supervisor")
def update(reply_id: int):
    with db().session() as s:
        reply = s.get(CannedReply, reply_id)
        if reply is None:
            abort(404)
        if request.form.get("delete") == "1":
            s.delete(reply)
            audit.record(s, me(), "canned_delete", now(), None, canned_id=reply_id)
            flash("Deleted.", "info")
        elif (values := _clean()) is not None:
            reply.title, reply.body_en, reply.body_es = values
            audit.record(s, me(), "canned_edit", now(), None, canned_id=reply_id)
            flash("Saved.", "info")
    return redirect(url_for("canned.index"))
