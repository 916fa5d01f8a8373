"""What every staff view needs from the app: the database, the clock and the signed-in user.

The clock is an extension (`homeward.clock`) so tests can fix "now" without patching; nothing
below web/ reads the clock itself.
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_login import current_user

from db.session import Database
from db.types import utcnow


def db() -> Database:
    return current_app.extensions["homeward.db"]


def now() -> datetime:
    return current_app.extensions.get("homeward.clock", utcnow)()


def me() -> int:
    return int(current_user.id)


def is_supervisor() -> bool:
    return current_user.has_role("supervisor")


def quiet():
    """The program's quiet hours (nudges.yaml), for warnings on the staff pages."""
    from core import reply_policy
    schedule = current_app.extensions.get("homeward.schedule")
    return schedule().quiet if schedule is not None else reply_policy.DEFAULT_QUIET


def schedule():
    """The nudge schedule in force (a supervisor's edit or the shipped file), for replanning."""
    live = current_app.extensions["homeward.schedule"]
    return live() if callable(live) else live
