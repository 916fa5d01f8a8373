"""Take docs/screenshots/inbox-queue.png: the queue with a few demo tickets, in headless Chromium.

    .venv/bin/python scripts/screenshot_inbox.py [--out docs/screenshots/inbox-queue.png]

Everything happens in a throwaway SQLite database; nothing is sent anywhere.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from werkzeug.security import generate_password_hash  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app import create_app  # noqa: E402
from bot.escalations import PRIORITY_RANK  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Contact, Escalation, Message, Participant, User  # noqa: E402

PASSWORD = "screenshot-only-password"
TICKETS = (  # name, phone, reason, priority, minutes waiting, SLA minutes, assignee, language, day, last text
    ("Marcus", "+13125550111", "emergency", "urgent", 2, 5, None, "en", 3,
     "my cousin is not breathing he used in the bathroom"),
    ("Rosa", "+17735550122", "crisis", "urgent", 6, 5, "Luis Ortega", "es", 11,
     "ya no puedo mas, no quiero seguir"),
    (None, "+13125550133", "processing_failed", "high", 12, 30, None, "en", 1, "wat time is the clinic open 2morrow"),
    ("Dee", "+16305550144", "high_risk", "high", 25, 30, "Ana Diaz", "en", 6,
     "no i dont have narcan. i stay by myself mostly"),
    ("Tomás", "+13125550155", "peer_request", "normal", 50, 240, "Luis Ortega", "es", 20,
     "PEER. quiero hablar con alguien que entienda"),
    ("Kim", "+17085550166", "no_contact", "normal", 190, 240, None, "en", 9, "ok"),
)


def seed(db, now: datetime) -> None:
    with db.session() as s:
        staff = {}
        for email, name, role in (("peer@homeward.example", "Luis Ortega", "peer"),
                                  ("ana@homeward.example", "Ana Diaz", "peer")):
            user = User(email=email, name=name, role=role, password_hash=generate_password_hash(PASSWORD))
            s.add(user)
            s.flush()
            staff[name] = user.id
        for name, phone, reason, priority, waited, sla, assignee, lang, day, text in TICKETS:
            person = Participant(first_name=name, status="active", fields={}, language=lang,
                                 release_date=now.date() - timedelta(days=day))
            s.add(person)
            s.flush()
            contact = Contact(participant_id=person.id, channel="sms", address=f"sms:{phone}")
            s.add(contact)
            s.flush()
            at = now - timedelta(minutes=waited)
            if reason == "no_contact":   # their last text was days ago
                at = now - timedelta(days=5, minutes=waited)
            msg = Message(participant_id=person.id, contact_id=contact.id, direction="in", channel="sms",
                          kind="person", body=text, status="processed", created_at=at, updated_at=at)
            s.add(msg)
            s.flush()
            opened = now - timedelta(minutes=waited)
            s.add(Escalation(participant_id=person.id, reason=reason, priority=priority,
                             priority_rank=PRIORITY_RANK[priority], created_at=opened, message_id=msg.id,
                             sla_due_at=opened + timedelta(minutes=sla), assignee_id=staff.get(assignee)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots" / "inbox-queue.png"))
    parser.add_argument("--width", type=int, default=1100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/shot.db", "SECRET_KEY": "screenshot",
                          "TWILIO_ACCOUNT_SID": "", "TWILIO_AUTH_TOKEN": "", "WTF_CSRF_ENABLED": False})
        db = app.extensions["homeward.db"]
        upgrade(db.engine)
        now = datetime.now(timezone.utc)
        app.extensions["homeward.clock"] = lambda: now   # one "now" for the seed and the page
        seed(db, now)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        from playwright.sync_api import sync_playwright
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                         args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                                               "--disable-background-networking", "--disable-component-update",
                                               "--disable-sync"])
            page = browser.new_page(viewport={"width": args.width, "height": 640})
            page.goto(base + "/login")
            page.get_by_label("Email").fill("peer@homeward.example")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.locator("tr.ticket").first.wait_for()
            page.locator("#urgent-banner:not([hidden])").wait_for()   # the urgent banner, as a peer sees it
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.out, full_page=True)
            browser.close()
        server.shutdown()
        db.engine.dispose()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
