"""Take docs/screenshots/inbox-queue.png: the queue with a few demo tickets, in headless Chromium.

    .venv/bin/python scripts/screenshot_inbox.py [--out docs/screenshots/inbox-queue.png]

Everything happens in a throwaway SQLite database; nothing is sent anywhere.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from datetime import date, datetime, timedelta, timezone
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
TICKETS = (  # name, phone, reason, priority, minutes waiting, SLA minutes, assignee
    ("Marcus", "+13125550111", "emergency", "urgent", 2, 5, None),
    ("Rosa", "+17735550122", "crisis", "urgent", 6, 5, "Luis Ortega"),
    (None, "+13125550133", "processing_failed", "high", 12, 30, None),
    ("Dee", "+16305550144", "no_contact", "high", 25, 30, "Ana Diaz"),
    ("Tomás", "+13125550155", "asked_for_peer", "normal", 50, 240, "Luis Ortega"),
    ("Kim", "+17085550166", "naloxone_request", "normal", 190, 240, None),
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
        for name, phone, reason, priority, waited, sla, assignee in TICKETS:
            person = Participant(first_name=name, status="active", fields={},
                                 release_date=date.today() - timedelta(days=waited % 9))
            s.add(person)
            s.flush()
            contact = Contact(participant_id=person.id, channel="sms", address=f"sms:{phone}")
            s.add(contact)
            s.flush()
            at = now - timedelta(minutes=waited)
            msg = Message(participant_id=person.id, contact_id=contact.id, direction="in", channel="sms",
                          kind="person", body="(demo)", status="processed", created_at=at, updated_at=at)
            s.add(msg)
            s.flush()
            s.add(Escalation(participant_id=person.id, reason=reason, priority=priority,
                             priority_rank=PRIORITY_RANK[priority], created_at=at, message_id=msg.id,
                             sla_due_at=at + timedelta(minutes=sla), assignee_id=staff.get(assignee)))


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
        seed(db, datetime.now(timezone.utc))
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
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.out, full_page=True)
            browser.close()
        server.shutdown()
        db.engine.dispose()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
