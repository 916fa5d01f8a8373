"""Web chat at /chat: the same runtime, safety checks, keywords and flows as a text message, for
someone without a working phone plan (a library, a shelter, a reentry center).

- Anonymous. The browser holds a signed cookie naming a random address ("webchat:<id>"); the
  first message creates the person, exactly as a first text does, and a short code
  ("K7QM-3XPW") that picks the chat up later or on another device (/chat/resume).
- Works with JavaScript off: plain form posts, redirect after post, a hidden one-time nonce so a
  double click or a refresh never processes a message twice (it becomes the message's
  provider id, which the runtime dedupes on). With JavaScript, a few lines (static/chat.js) send
  without reloading and poll /chat/messages for a peer's replies into an aria-live log.
- Rate-limited per chat and per client address (web/ratelimit.py, check and count atomic); a
  message the safety check flags (an emergency, a crisis) is always let through and always gets
  the 911 or 988 answer, but repeated ones from one address or one chat within ten minutes join
  one urgent ticket flagged as possible flooding, so the urgent queue cannot be flooded.
- Peers answer from the inbox as for any text: the reply is an outbox row the dispatcher stores
  as "sent" without a carrier (scheduler/dispatch.py), and this page shows it.
- The page's words are in bot/content/webchat.yaml (en + es), read through core.messages.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from flask import (Blueprint, current_app, flash, jsonify, make_response, redirect, render_template,
                   request, session, url_for)
from flask_wtf.csrf import CSRFError, generate_csrf
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core import channels, safety
from core.messages import LANGS, texts
from bot.runtime import Inbound
from db.models import Contact, Message, Participant, User, WebChatSession
from web import ratelimit
from web.context import db, now
from web.params import db_int

bp = Blueprint("chat", __name__, url_prefix="/chat")

COOKIE_KEY = "webchat"                       # in Flask's signed session cookie: the address id
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"   # no 0/O, 1/I/L
CODE_LENGTH = 8
CODE_DAYS = 30                               # a code resumes a chat active in the last 30 days
MAX_BODY = 1600                              # what one text can carry
SHOWN = 200                                  # messages on the page
HIDDEN_STATUSES = ("sending", "failed", "held")
_NONCE = re.compile(r"^[0-9a-f]{32}$")

DEFAULT_LIMITS = {
    "message_per_chat": ratelimit.Limit(10, timedelta(minutes=1)),
    "message_per_address": ratelimit.Limit(40, timedelta(minutes=1)),   # a shelter shares one address
    "new_chat_per_address": ratelimit.Limit(20, timedelta(hours=1)),
    "resume_failures_per_address": ratelimit.Limit(10, timedelta(minutes=15)),
}

WORDS = "webchat"                            # the page's words: bot/content/webchat.yaml (en, es)


def ui(lang: str) -> dict[str, str]:
    return texts(WORDS, lang)


# -- small pure helpers -------------------------------------------------------------------------
def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text: str) -> str:
    """What a person typed ("k7qm 3xpw", "K7QM-3XPW") → the stored form ("K7QM3XPW")."""
    return re.sub(r"[^A-Z0-9]", "", (text or "").upper())


def show_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}" if len(code) == CODE_LENGTH else code


def provider_sid(secret: str, address: str, nonce: str) -> str:
    """The one-time form nonce as the message's provider id: per chat, so nobody can collide with
    another chat's message by replaying its nonce."""
    return "WC" + hmac.new(secret.encode(), f"{address}|{nonce}".encode(), hashlib.sha256).hexdigest()[:40]


# -- the shell --------------------------------------------------------------------------------------
def _limits() -> dict:
    return {**DEFAULT_LIMITS, **current_app.config.get("CHAT_LIMITS", {})}


def _client() -> str:
    return ratelimit.client_key(current_app.config["SECRET_KEY"], request.remote_addr)


def _address_id() -> str | None:
    value = session.get(COOKIE_KEY)
    return value if isinstance(value, str) and re.fullmatch(r"[A-Za-z0-9_-]{16,64}", value) else None


def _ensure_cookie() -> str:
    """The address this browser chats from, named before the first message so a double-clicked
    first message carries the same address (and nonce) twice and is processed once."""
    address_id = _address_id()
    if address_id is None:
        address_id = secrets.token_urlsafe(18)
        session[COOKIE_KEY] = address_id
    return address_id


def _chat_row(s, address: str) -> WebChatSession | None:
    return s.scalar(select(WebChatSession).where(WebChatSession.address == address))


def _open_chat(address: str, at: datetime) -> tuple[WebChatSession, bool]:
    """(the chat row for this address, whether it was just created with a fresh unique code)."""
    for _ in range(5):
        try:
            with db().session() as s:
                row = _chat_row(s, address)
                if row is not None:
                    return row, False
                row = WebChatSession(code=new_code(), address=address, created_at=at, last_active_at=at)
                s.add(row)
                s.flush()
                return row, True
        except IntegrityError:   # the same first message twice at once, or a code collision: look again
            continue
    raise RuntimeError("could not open a web chat session")


def _lang(s, contact: Contact | None) -> str:
    if contact is not None:
        person = s.get(Participant, contact.participant_id)
        if person is not None and person.language in LANGS:
            return person.language
    return request.accept_languages.best_match(list(LANGS)) or "en"


def _thread(s, contact: Contact | None, after: int = 0, lang: str = "en") -> list[dict]:
    if contact is None:
        return []
    rows = list(s.scalars(select(Message).where(Message.contact_id == contact.id, Message.id > after,
                                                Message.status.not_in(HIDDEN_STATUSES))
                          .order_by(Message.id.desc()).limit(SHOWN)))
    rows.reverse()
    authors = {}
    ids = {m.author_id for m in rows if m.author_id}
    if ids:
        authors = {uid: name for uid, name in s.execute(select(User.id, User.name).where(User.id.in_(ids)))}
    program, words = current_app.config["PROGRAM_NAME"], ui(lang)
    out = []
    for m in rows:
        if m.direction == "in":
            who = words["you"]
        elif m.kind == "peer":
            who = words["peer"].format(name=(authors.get(m.author_id) or "Peer").split()[0])
        else:
            who = program
        out.append({"id": m.id, "direction": m.direction, "kind": m.kind, "who": who, "body": m.body,
                    "at": m.created_at.isoformat()})
    return out


def _state(after: int = 0):
    """(chat row or None, contact or None, language, messages) for this browser."""
    address_id = _address_id()
    with db().session() as s:
        row = _chat_row(s, channels.WEBCHAT.address(address_id)) if address_id else None
        contact = s.scalar(select(Contact).where(Contact.address == row.address)) if row else None
        lang = _lang(s, contact)
        return row, contact, lang, _thread(s, contact, after, lang)


def _wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def _page(status: int = 200, draft: str = "", notice: str | None = None):
    address_id = _ensure_cookie()
    row, contact, lang, messages = _state()
    html = render_template("chat.html", ui=ui(lang), lang=lang, program=current_app.config["PROGRAM_NAME"],
                           messages=messages, code=show_code(row.code) if row else None,
                           nonce=secrets.token_hex(16), draft=draft, notice=notice,
                           max_body=MAX_BODY, started=row is not None and address_id is not None,
                           poll=current_app.config.get("CHAT_POLL_SECONDS", 5))
    return html, status


def _refuse(text: str, status: int, draft: str, retry_after: int | None = None):
    if _wants_json():
        resp = jsonify(error=text, nonce=secrets.token_hex(16), csrf_token=generate_csrf())
        resp.status_code = status
    else:
        resp = make_response(_page(status, draft, text))
    if retry_after:
        resp.headers["Retry-After"] = str(retry_after)
    return resp


@bp.after_request
def _private(response):
    """A shared computer must not keep someone's conversation in its cache."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.errorhandler(CSRFError)
def _expired(_):
    lang = request.accept_languages.best_match(list(LANGS)) or "en"
    return _refuse(ui(lang)["expired"], 400, request.form.get("body", "")[:MAX_BODY])


@bp.get("")
def index():
    return _page()


@bp.post("")
def send():
    at = now()
    address_id = _ensure_cookie()
    address = channels.WEBCHAT.address(address_id)
    body = request.form.get("body", "").replace("\r\n", "\n").strip()
    nonce = request.form.get("nonce", "")
    lang = request.accept_languages.best_match(list(LANGS)) or "en"
    if not body:
        return _refuse(ui(lang)["blank"], 422, "")
    if len(body) > MAX_BODY:
        return _refuse(ui(lang)["too_long"].format(n=MAX_BODY), 422, body[:MAX_BODY * 2])
    limits, client = _limits(), _client()
    urgent = bool(safety.classify(body))
    with db().session(write=True) as s:     # check and count in one step (web/ratelimit.py)
        row = _chat_row(s, address)
        checks = [(f"chat:ip:{client}", limits["message_per_address"])]
        if row is None:
            checks.append((f"chat:new:{client}", limits["new_chat_per_address"]))
        else:
            checks.append((f"chat:session:{row.id}", limits["message_per_chat"]))
        wait = ratelimit.take(s, checks, at, force=urgent)   # an emergency is never turned away
    if wait and not urgent:
        return _refuse(ui(lang)["limited"].format(seconds=wait), 429, body, wait)
    counted_chat = row is not None
    row, _ = _open_chat(address, at)
    with db().session(write=True) as s:
        if not counted_chat:
            ratelimit.record(s, f"chat:session:{row.id}", at, limits["message_per_chat"].window)
        s.get(WebChatSession, row.id).last_active_at = at
    sid = provider_sid(current_app.config["SECRET_KEY"], address,
                       nonce if _NONCE.match(nonce) else secrets.token_hex(16))
    runtime = current_app.extensions["homeward.runtime"]
    # Safety hits from one client address or one chat fold into one ticket (bot/escalations.py).
    sources = (f"chat:ip:{client}", f"chat:{row.id}") if urgent else ()
    result = runtime.handle(Inbound(channels.WEBCHAT.name, address, body, sid, 0, flood_keys=sources), at)
    if _wants_json():
        after = request.form.get("after", 0, type=db_int) or 0
        _, _, _, messages = _state(after)
        return jsonify(messages=messages, nonce=secrets.token_hex(16), csrf_token=generate_csrf(),
                       code=show_code(row.code), duplicate=result.duplicate)
    return redirect(url_for("chat.index") + "#latest", code=303)


@bp.get("/messages")
def messages():
    """New messages after ?after=<id>, for the page's polling (JSON; bodies are text, never HTML)."""
    if _address_id() is None:
        return jsonify(messages=[])
    _, _, _, items = _state(request.args.get("after", 0, type=db_int) or 0)
    return jsonify(messages=items)


@bp.route("/resume", methods=["GET", "POST"])
def resume():
    lang = request.accept_languages.best_match(list(LANGS)) or "en"
    if request.method == "GET":
        return render_template("chat_resume.html", ui=ui(lang), lang=lang, error=None, value="",
                               program=current_app.config["PROGRAM_NAME"])
    at, client = now(), _client()
    limit = _limits()["resume_failures_per_address"]
    code = normalise_code(request.form.get("code", ""))
    with db().session() as s:
        wait = ratelimit.hit(s, f"chat:resume:{client}", limit, at, count=False)
        row = None if wait else s.scalar(select(WebChatSession).where(WebChatSession.code == code))
        if row is not None and row.last_active_at < at - timedelta(days=CODE_DAYS):
            row = None
        if row is None and not wait:
            ratelimit.record(s, f"chat:resume:{client}", at, limit.window)
        address = row.address if row else None
    if wait:
        error, status = ui(lang)["code_wait"].format(seconds=wait), 429
    elif address is None:
        error, status = ui(lang)["code_unknown"], 404
    else:
        session[COOKIE_KEY] = address.split(":", 1)[1]
        return redirect(url_for("chat.index") + "#latest", code=303)
    resp = make_response(render_template("chat_resume.html", ui=ui(lang), lang=lang, error=error,
                                         value=request.form.get("code", "")[:20],
                                         program=current_app.config["PROGRAM_NAME"]), status)
    if wait:
        resp.headers["Retry-After"] = str(wait)
    return resp


@bp.post("/end")
def end():
    """Forget the chat on this browser (a shared computer); the code still picks it up."""
    row, _, lang, _ = _state()
    session.pop(COOKIE_KEY, None)
    if row is not None:
        words = ui(lang)
        flash(f"{words['code']} {show_code(row.code)}. {words['code_help']}", "info")
    return redirect(url_for("chat.index"), code=303)
