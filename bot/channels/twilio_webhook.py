"""Twilio's webhooks: inbound messages (SMS and WhatsApp) and delivery status callbacks.

Every request must carry a valid X-Twilio-Signature for the public URL; with no auth token
configured nothing is accepted. Replies are TwiML (the bytes twilio's MessagingResponse builds).

Bounds: a request body over MAX_REQUEST is refused (413) before it is parsed, so an unsigned flood
costs nothing; a MessageSid that is not a short printable token is refused (400, never a 5xx
from the database); NumMedia is kept within Twilio's 0-10; a body over Twilio's 1,600
characters is stored cut, with a note (bot/runtime.py), never rejected.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime
from functools import lru_cache
from urllib.parse import urlparse
from xml.sax.saxutils import escape

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select
from twilio.request_validator import RequestValidator, compare, remove_port

import logs
from bot.channels.addresses import BadAddress, from_twilio
from bot.runtime import Inbound
from db.models import Message
from db.types import utcnow
from db.queries import mark_unsubscribed

bp = Blueprint("twilio", __name__, url_prefix="/twilio")
log = logging.getLogger("homeward.twilio")

# Twilio may report statuses out of order; never move a message backwards.
STATUS_RANK = {"accepted": 0, "scheduled": 0, "queued": 1, "sending": 2, "sent": 3,
               "receiving": 3, "received": 4, "delivered": 5, "read": 6,
               "undelivered": 7, "failed": 7, "canceled": 7}
UNSUBSCRIBED = "21610"
MAX_REQUEST = 64 * 1024      # Twilio's largest: 1,600 characters of body and ten media URLs, signed
MAX_MEDIA = 10               # Twilio's own limit per message
SID = re.compile(r"[A-Za-z0-9_-]{1,64}")   # Twilio's are 34 characters (SM/MM + 32 hex)


def _public_url() -> str:
    base = current_app.config["PUBLIC_BASE_URL"]
    qs = request.query_string.decode()
    return f"{base}{request.path}" + (f"?{qs}" if qs else "")


@bp.before_request
def verify_signature():
    if (request.content_length or 0) > MAX_REQUEST:
        logs.event(log, "twilio webhook refused: body too large", logging.WARNING, length=request.content_length)
        return Response(f"Request body over {MAX_REQUEST} bytes.\n", 413)
    request.max_content_length = MAX_REQUEST     # a chunked body is cut off while it is read
    token = current_app.config["TWILIO_AUTH_TOKEN"]
    if not token:
        logs.event(log, "twilio webhook refused: no auth token configured", logging.WARNING)
        return Response("Twilio webhooks are disabled: no TWILIO_AUTH_TOKEN configured.\n", 403)
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not _signed(token, _public_url(), request.form, signature):
        logs.event(log, "twilio signature rejected", logging.WARNING, path=request.path,
                   had_signature=bool(signature))
        return Response("Invalid or missing X-Twilio-Signature.\n", 403)
    return None


def _signed(token: str, url: str, form, signature: str) -> bool:
    """RequestValidator.validate, which always computes the signature twice (the URL without
    and with its port), computing the usual one first: the URL as Twilio was given it. Only a
    signature that does not match it is checked by `validate` itself, so what is accepted does
    not change."""
    if compare(_signature(token, _without_port(url), form), signature):
        return True
    return _validator(token).validate(url, form, signature)


def _signature(token: str, url: str, form) -> str:
    """The signature twilio's RequestValidator computes for `url` and `form`, by one validator
    kept per token (not one made for each request)."""
    return _validator(token).compute_signature(url, form)


@lru_cache(maxsize=4)
def _validator(token: str) -> RequestValidator:
    return RequestValidator(token)


@lru_cache(maxsize=64)
def _without_port(url: str) -> str:
    return remove_port(urlparse(url))


TWIML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>'


def _twiml(replies: list[str]) -> Response:
    """The TwiML MessagingResponse would build, written directly (its ElementTree was a few % of
    a text's CPU): the same bytes, text escaped as ElementTree escapes it."""
    if not replies:
        return Response(TWIML_HEAD + "<Response />", 200, mimetype="text/xml")
    body = "".join(f"<Message>{escape(text)}</Message>" for text in replies)
    return Response(f"{TWIML_HEAD}<Response>{body}</Response>", 200, mimetype="text/xml")


def _now() -> datetime:
    """The app's clock (the `homeward.clock` extension tests pin, as web/context.py reads it)."""
    return current_app.extensions.get("homeward.clock", utcnow)()

@bp.post("/sms")
def inbound():
    form = request.form
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    raw_from = form.get("From", "")
    if not sid or not raw_from:
        logs.event(log, "malformed inbound webhook", logging.WARNING,
                   missing=[k for k, v in (("MessageSid", sid), ("From", raw_from)) if not v])
        return Response("Malformed webhook: MessageSid and From are required.\n", 400)
    if not SID.fullmatch(sid):
        logs.event(log, "malformed inbound webhook", logging.WARNING, bad="MessageSid", length=len(sid))
        return Response("Malformed webhook: MessageSid must be 1-64 letters, digits, _ or -.\n", 400)
    try:
        channel, address = from_twilio(raw_from)
    except BadAddress as exc:
        logs.event(log, "inbound from an unusable address", logging.WARNING, reason=str(exc), sid=sid)
        return _twiml([])
    text = form.get("NumMedia", "0") or "0"
    num_media = min(int(text), MAX_MEDIA) if text.isascii() and text.isdigit() else 0
    runtime = current_app.extensions["homeward.runtime"]
    result = runtime.handle(Inbound(channel, address, form.get("Body", ""), sid, num_media), _now())
    if result.duplicate or result.failed:   # a text processed now has the runtime's line
        logs.event(log, "inbound", sid=sid, address=logs.mask_address(address), channel=channel,
                   duplicate=result.duplicate, failed=result.failed, replies=len(result.replies))
    return _twiml(result.replies)


@bp.post("/status")
def status_callback():
    form = request.form
    sid = form.get("MessageSid") or form.get("SmsSid") or ""
    status = (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    if not sid or not status:
        return Response("Malformed status callback: MessageSid and MessageStatus are required.\n", 400)
    if not SID.fullmatch(sid) or len(status) > 20:
        return Response("Malformed status callback: MessageSid or MessageStatus is not valid.\n", 400)
    error_code = (form.get("ErrorCode") or "")[:20] or None
    db = current_app.extensions["homeward.db"]
    now = _now()
    with db.session() as s:
        msg = s.scalar(select(Message).where(Message.provider_sid == sid))
        if msg is None:
            logs.event(log, "status for an unknown message", logging.INFO, sid=sid, status=status)
            return Response("", 204)
        if STATUS_RANK.get(status, 0) >= STATUS_RANK.get(msg.status, 0):
            msg.status = status
        if error_code:
            msg.error_code = error_code
        msg.updated_at = now
        if error_code == UNSUBSCRIBED:
            mark_unsubscribed(s, msg.participant_id, msg.contact_id, now, "twilio 21610: unsubscribed")
    logs.event(log, "status", sid=sid, status=status, error_code=error_code)
    return Response("", 204)

