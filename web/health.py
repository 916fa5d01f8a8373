"""GET /healthz: 200 when the database answers and migrations are current, 503 otherwise; with how
many sites the locator can reach and when the shipped files were last checked."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from bot.site_store import sites_status
from db import migrate

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    db = current_app.extensions["homeward.db"]
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current = migrate.current_revision(db.engine)
    except Exception as exc:  # the database is down or unreachable
        return jsonify(status="unavailable", database="error", error=type(exc).__name__), 503
    head = migrate.head_revision()
    if current != head:
        return jsonify(status="unavailable", database="ok", migrations="behind",
                       current=current, head=head), 503
    with db.session() as s:
        sites = sites_status(s)
    return jsonify(status="ok", database="ok", migrations="current", revision=current,
                   sites={"active": sites.active, "program": sites.program, "checked_at": sites.checked_at,
                          "newest_verified": sites.newest_verified.isoformat() if sites.newest_verified else None,
                          "warning": None if sites.active else "no sites loaded: every locator answer is national"})
