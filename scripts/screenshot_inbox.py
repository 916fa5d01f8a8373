"""Take docs/screenshots/inbox-queue.png: the queue as a fresh `make run` shows it (the demo data of
cli/demo.py), in headless Chromium.

    .venv/bin/python scripts/screenshot_inbox.py [--out docs/screenshots/inbox-queue.png]

Everything happens in a throwaway SQLite database; nothing is sent anywhere.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from werkzeug.security import generate_password_hash  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app import create_app  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import User  # noqa: E402

PASSWORD = "screenshot-only-password"


def seed(app, db, now: datetime) -> None:
    """What a fresh `make run` loads (cli/demo.py): its staff and its people, tickets and history."""
    from cli.demo import DEMO_USERS, _demo_people
    with db.session() as s:
        for email, name, role in DEMO_USERS:
            s.add(User(email=email, name=name, role=role, password_hash=generate_password_hash(PASSWORD)))
    with db.session() as s:
        app.extensions["homeward.flows"].publish_dir(s, only_changed=False)
    with app.app_context():
        _demo_people(db, app.config["PROGRAM_TIMEZONE"], app.extensions["homeward.schedule"](), now)


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
        seed(app, db, datetime.now(timezone.utc))
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
