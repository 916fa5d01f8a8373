"""Canned replies: short, vetted texts in English and Spanish that peers drop into the reply box.

Supervisors keep them; every change is audited. A starter set ships in bot/content/canned.yaml
and is offered until the program has its own. Placeholders are a closed list, checked when a
reply is saved, so a peer can never send "{frist_name}" to someone.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from core.flows.checker import stigma_hits
from core.sms import count_segments
from db.models import CannedReply
from web import audit
from web.auth import role_required
from web.context import db, me, now

bp = Blueprint("canned", __name__, url_prefix="/admin/canned")

STARTER_FILE = Path(__file__).resolve().parents[1] / "bot" / "content" / "canned.yaml"
PLACEHOLDERS = {"first_name": "the person's first name", "peer_name": "your name (the peer replying)"}
TOKEN = re.compile(r"\{([^{}]*)\}")
LONG_NAME = "Maximiliano"  # the segment check assumes a long first name


@lru_cache(maxsize=1)
def starter() -> tuple[CannedReply, ...]:
    """The shipped set, as unsaved rows (ids None)."""
    items = yaml.safe_load(STARTER_FILE.read_text(encoding="utf-8")) or []
    return tuple(CannedReply(title=i["title"], body_en=i["en"], body_es=i["es"]) for i in items)


def fill(body: str, first_name: str | None, peer_name: str | None) -> str:
    """The text as the person would get it. Without a first name, "Hi {first_name}, ..." reads
    "Hi, ..." and "{first_name}, naloxone ..." reads "Naloxone ...", never "Hi , ..."."""
    def value(key: str) -> str:
        return {"first_name": (first_name or "").strip(), "peer_name": (peer_name or "").split(" ")[0]}.get(key, "")
    text = TOKEN.sub(lambda m: value(m.group(1).strip()), body)
    text = re.sub(r"^\s*,\s*", "", text)                 # a leading "{first_name}, "
    text = re.sub(r" +([,.!?])", r"\1", text)           # "Hi ," -> "Hi,"
    text = re.sub(r"  +", " ", text).strip()
    return text[:1].upper() + text[1:]


def problems(body: str, lang: str) -> list[str]:
    """Why this text may not be saved: unknown placeholders, over two segments, stigma."""
    out = [f"“{{{name}}}” is not a placeholder we can fill. Use "
           + " or ".join(f"{{{p}}}" for p in PLACEHOLDERS) + "."
           for name in dict.fromkeys(m.group(1) for m in TOKEN.finditer(body)) if name.strip() not in PLACEHOLDERS]
    if "{" in TOKEN.sub("", body) or "}" in TOKEN.sub("", body):
        out.append("A “{” or “}” is left unmatched.")
    worst = count_segments(fill(body, LONG_NAME, LONG_NAME))
    if worst.segments > 2:
        out.append(f"It is {worst.segments} SMS segments with a long name; keep it to two.")
    for word, entry in stigma_hits(body, lang):
        if entry.get("severity") != "warning":
            out.append(f"“{word}” labels a person; say “{entry['instead']}” instead.")
    return out


@bp.get("")
@role_required("supervisor")
def index():
    with db().session() as s:
        replies = list(s.scalars(select(CannedReply).order_by(CannedReply.title)))
    return render_template("canned.html", replies=replies, count=count_segments, starter=starter(),
                           placeholders=PLACEHOLDERS)


def _clean() -> tuple[str, str, str] | None:
    title = request.form.get("title", "").strip()[:80]
    en = request.form.get("body_en", "").replace("\r\n", "\n").strip()
    es = request.form.get("body_es", "").replace("\r\n", "\n").strip()
    if not (title and en and es):
        flash("A canned reply needs a title and both the English and the Spanish text.", "error")
        return None
    found = [f"English: {p}" for p in problems(en, "en")] + [f"Spanish: {p}" for p in problems(es, "es")]
    if found:
        for text in found:
            flash(f"Not saved. {text}", "error")
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


@bp.post("/starter")
@role_required("supervisor")
def add_starter():
    """Copy the shipped set in, skipping titles the program already has."""
    with db().session() as s:
        have = {t.lower() for t in s.scalars(select(func.lower(CannedReply.title)))}
        added = [CannedReply(title=c.title, body_en=c.body_en, body_es=c.body_es)
                 for c in starter() if c.title.lower() not in have]
        s.add_all(added)
        s.flush()
        audit.record(s, me(), "canned_starter", now(), None, added=len(added))
    flash(f"Added {len(added)} starter repl{'y' if len(added) == 1 else 'ies'}.", "info")
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
