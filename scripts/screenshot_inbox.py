"""Take docs/screenshots/inbox-queue.png: the queue as a fresh `make run` shows it, in headless
Chromium. The database is set up exactly as `make run` does it (`flask db upgrade`, then
`flask demo load`), on a throwaway SQLite file named by DATABASE_URL, with the instance folder
(where the demo passwords are kept) beside it; the demo peer signs in with the password
`demo load` made.

    .venv/bin/python scripts/screenshot_inbox.py [--out docs/screenshots/inbox-queue.png]

Nothing is sent anywhere (no Twilio credentials: the sandbox sender).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from werkzeug.serving import make_server  # noqa: E402

PEER = "peer@homeward.example"


def make_run_database(tmp: Path) -> dict[str, str]:
    """`flask db upgrade` and `flask demo load`, as `make run` runs them; returns the environment."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp / 'homeward.db'}", "HOMEWARD_INSTANCE": str(tmp / "instance"),
           "TWILIO_ACCOUNT_SID": "", "TWILIO_AUTH_TOKEN": ""}
    flask = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "app"]
    for command in (["db", "upgrade"], ["demo", "load"]):
        subprocess.run(flask + command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    return env


def demo_password(instance: Path, email: str) -> str:
    for line in (instance / "demo-accounts.txt").read_text().splitlines():
        role, who, password = line.split("\t")
        if who == email:
            return password
    raise SystemExit(f"{email} is not in {instance / 'demo-accounts.txt'}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots" / "inbox-queue.png"))
    parser.add_argument("--width", type=int, default=1100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = make_run_database(Path(tmp))
        os.environ.update({k: env[k] for k in ("DATABASE_URL", "HOMEWARD_INSTANCE", "TWILIO_ACCOUNT_SID",
                                               "TWILIO_AUTH_TOKEN")})
        from app import create_app
        app = create_app()                      # configured from the environment, as `flask run` is
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
            page.get_by_label("Email").fill(PEER)
            page.get_by_label("Password").fill(demo_password(Path(tmp) / "instance", PEER))
            page.get_by_role("button", name="Sign in").click()
            page.locator("tr.ticket").first.wait_for()
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.out, full_page=True)
            browser.close()
        server.shutdown()
        app.extensions["homeward.db"].engine.dispose()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
