"""Staff sign-in: Flask-Login sessions the server can end, hashed passwords, throttled
attempts, roles.

A session's id carries the account's `session_version`: signing out or changing the password
adds one, which ends every session of that account, copied cookies included. A session also
ends after SESSION_IDLE_MINUTES without a page view and SESSION_MAX_HOURS after sign-in.
Every failed sign-in gets the same answer in about the same time (a password hash is checked
even for an unknown email), and repeated failures hold back the address they come from, never
the account, so nobody can lock a colleague out. Sign-ins, failures and sign-outs go to the audit
trail. `csrf` guards every form in the app (Twilio's webhook is exempt: it is signature-verified).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from functools import wraps

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request, session,
                   url_for)
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import bindparam, delete, func, select, text, update
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from db.models import AuditEvent, RateHit, User
from db.types import utcnow
from web import params, ratelimit

bp = Blueprint("auth", __name__, template_folder="templates")  # web/templates, for every page
login_manager = LoginManager()
csrf = CSRFProtect()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see that page."

FAILED_PER_ADDRESS = ratelimit.Limit.per_minute(10)
# After this many failures from one address, that address waits out the window: the account's
# owner, signing in from anywhere else, is not held back.
LOCKOUT = ratelimit.Limit(20, timedelta(minutes=15))
# Checked for an unknown or inactive account so every failure costs one hash (same method as real ones).
DUMMY_HASH = generate_password_hash(secrets.token_urlsafe(16))
FAILED = "That email and password don't match an active account."
ROLE_LEVEL = {"peer": 1, "supervisor": 2, "admin": 3}


class StaffUser(UserMixin):
    """What a request knows about the signed-in account (detached from any DB session)."""

    def __init__(self, user):   # a User, or a row of _SIGNED_IN's columns
        self.id, self.email, self.name, self.role = user.id, user.email, user.name, user.role
        self.session_version = user.session_version or 0
        # read with the account on every request anyway: every staff page's footer and alert
        # poll need it, and would otherwise each read the account again
        self.alert_sound = bool(user.alert_sound)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def has_role(self, role: str) -> bool:
        return ROLE_LEVEL.get(self.role, 0) >= ROLE_LEVEL[role]


@login_manager.user_loader
def load_user(session_id: str):
    """The account, if this session is still one of its current ones."""
    uid, _, version = session_id.partition(":")
    if not (uid.isdigit() and version.isdigit() and int(uid) <= params.DB_INT_MAX):
        return None                                 # a session from before versions: signed out
    with current_app.extensions["homeward.db"].autocommit() as conn:
        user = conn.execute(_SIGNED_IN, {"uid": int(uid)}).first()
    if user is None or not user.active or (user.session_version or 0) != int(version):
        return None
    return StaffUser(user)


# Every staff request, polls included, asks this first: the few columns StaffUser keeps, one
# statement on a bare connection (an ORM session's get was a millisecond of CPU and, on
# PostgreSQL, three round trips).
_SIGNED_IN = select(User.id, User.email, User.name, User.role, User.session_version, User.active,
                    User.alert_sound).where(User.id == bindparam("uid"))


def end_all_sessions(s, user_id: int) -> int:
    """Every session of this account stops working at its next request; the new version."""
    return s.execute(update(User).where(User.id == user_id)
                     .values(session_version=func.coalesce(User.session_version, 0) + 1)
                     .returning(User.session_version).execution_options(synchronize_session=False)).scalar()


def _clock() -> datetime:
    return current_app.extensions.get("homeward.clock", utcnow)()


def start_session(user: User, at: datetime) -> None:
    login_user(StaffUser(user))
    session["signed_in_at"] = session["seen_at"] = at.timestamp()


def _expire_idle_sessions() -> None:
    """Before every request: a signed-in session past its idle or absolute limit is ended here.
    A background refresh (`X-Requested-With: fetch`, e.g. the queue's poll) is not activity."""
    if "_user_id" not in session:
        return
    at = _clock().timestamp()
    cfg = current_app.config
    idle = float(cfg.get("SESSION_IDLE_MINUTES", 30)) * 60
    most = float(cfg.get("SESSION_MAX_HOURS", 12)) * 3600
    signed_in, seen = session.get("signed_in_at", 0), session.get("seen_at", 0)
    if at - seen > idle or at - signed_in > most:
        logout_user()
        session.clear()
        if request.method == "GET" and request.headers.get("X-Requested-With") != "fetch":
            flash("You were signed out after a while without activity. Please sign in again.", "info")
        return
    if request.headers.get("X-Requested-With") != "fetch" and request.endpoint != "static":
        session["seen_at"] = at


def role_required(role: str):
    """Peers see the inbox; supervisors and admins also see /admin."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(role):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


def _address_key() -> str:
    return "login:ip:" + ratelimit.client_key(current_app.config["SECRET_KEY"], request.remote_addr)


def _count_attempt(db, key: str, now: datetime) -> bool:
    """Count this attempt before any password is checked; False when the address is over its
    limit. Counting first, one attempt at a time per address (PostgreSQL: an advisory lock on the
    key; SQLite: its writer lock, held only for this short transaction, never during the slow
    password hash), means attempts sent in parallel cannot all slip under the limit."""
    with db.session(write=True) as s:
        if not db.is_sqlite:
            lock_id = int(hashlib.sha256(key.encode()).hexdigest()[:15], 16)
            s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_id})
        return ratelimit.hit(s, key, FAILED_PER_ADDRESS, now) is None


def _forgive_attempt(s, key: str) -> None:
    """A success does not count, so a busy shared office is never locked out by its own staff."""
    newest = s.scalar(select(func.max(RateHit.id)).where(RateHit.key == key))
    if newest is not None:
        s.execute(delete(RateHit).where(RateHit.id == newest))


def _account_failed(s, user: User) -> None:
    """Count the failure on the account (for its owner and the audit), never lock it."""
    s.execute(update(User).where(User.id == user.id).values(failed_logins=User.failed_logins + 1)
              .execution_options(synchronize_session=False))


def _safe_next(target: str | None) -> str:
    return params.safe_next(target) or url_for("inbox.queue")


@bp.before_app_request
def _session_limits():
    _expire_idle_sessions()


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        db = current_app.extensions["homeward.db"]
        now, key = _clock(), _address_key()
        failures = "login:fail:" + key
        with db.session() as s:
            held = ratelimit.hit(s, failures, LOCKOUT, now, count=False)
        if held is not None or not _count_attempt(db, key, now):
            flash("Too many attempts from here. Wait a few minutes and try again.", "error")
            return render_template("login.html", form=form), 429
        with db.session() as s:
            user = s.scalar(select(User).where(User.email == form.email.data.strip().lower()))
            usable = user is not None and user.active
            matches = check_password_hash(user.password_hash if usable else DUMMY_HASH, form.password.data)
            if not (usable and matches):
                if user is not None:
                    s.add(AuditEvent(user_id=user.id, action="login_failed", detail={}, created_at=now))
                    _account_failed(s, user)
                ratelimit.record(s, failures, now, LOCKOUT.window)
                flash(FAILED, "error")
                return render_template("login.html", form=form), 401
            user.failed_logins, user.locked_until = 0, None
            s.add(AuditEvent(user_id=user.id, action="login", detail={}, created_at=now))
            _forgive_attempt(s, key)
            s.flush()
            s.refresh(user)
            s.expunge(user)
        session.clear()                   # nothing from before sign-in carries over
        start_session(user, now)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    """Ends this session and every other one of the account (another device, a copied cookie)."""
    with current_app.extensions["homeward.db"].session() as s:
        end_all_sessions(s, int(current_user.id))
        s.add(AuditEvent(user_id=int(current_user.id), action="logout", detail={},
                         created_at=_clock()))
    logout_user()
    session.clear()
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"))
