"""The sandbox phone: with no Twilio credentials, staff text the bot from the browser."""
from __future__ import annotations

from tests.conftest import make_test_app
from tests.staff import login, make_user


def test_sandbox_phone_talks_to_the_real_runtime(db_url, db):
    app = make_test_app(db_url, TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN="")
    client = app.test_client()
    assert client.get("/sandbox").status_code == 302            # staff only
    make_user(db, "peer@example.org")
    login(client, "peer@example.org")
    resp = client.post("/sandbox", data={"number": "+1 500 555 0199", "body": "<b>he's not breathing</b>"},
                       follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "Call 911 now" in page
    assert "&lt;b&gt;he&#39;s not breathing&lt;/b&gt;" in page      # shown as text, never as HTML
    assert "5005550199" not in resp.request.url and "person=" in resp.request.url


def test_no_sandbox_when_twilio_is_configured(db_url, db):
    app = make_test_app(db_url, TWILIO_ACCOUNT_SID="AC" + "1" * 32, TWILIO_FROM_NUMBER="+15005550006")
    assert app.test_client().get("/sandbox").status_code == 404


# -- who the sandbox may act for (issue 16, 13) --------------------------------------------------

def _peer_client(app, db):
    make_user(db, "peer@example.org")
    client = app.test_client()
    login(client, "peer@example.org")
    return client


def test_the_sandbox_never_shows_or_posts_as_a_real_persons_number(db_url, db):
    from sqlalchemy import func, select
    from db.models import AuditEvent, Message
    from tests.staff import inbound, make_person
    app = make_test_app(db_url, TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN="")
    client = _peer_client(app, db)
    real = make_person(db, "+13125552671", "Ana")
    inbound(db, real, "something private")
    page = client.get(f"/sandbox?person={real}").get_data(as_text=True)
    assert "something private" not in page and "3125552671" not in page and "made-up number" in page
    sent = client.post("/sandbox", data={"number": "+1 312 555 2671", "body": "STOP"}, follow_redirects=True)
    assert "made-up number" in sent.get_data(as_text=True)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 1          # nothing was posted as Ana
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "sandbox_view")) == 0
    app.extensions["homeward.db"].engine.dispose()


def test_every_sandbox_thread_shown_is_audited(db_url, db):
    from sqlalchemy import select
    from db.models import AuditEvent
    app = make_test_app(db_url, TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN="")
    client = _peer_client(app, db)
    resp = client.post("/sandbox", data={"number": "+1 500 555 0142", "body": "hi"}, follow_redirects=True)
    assert resp.status_code == 200 and "5005550142" in resp.get_data(as_text=True)
    with db.session() as s:
        seen = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "sandbox_view")))
    assert len(seen) == 1 and seen[0].participant_id is not None and seen[0].user_id is not None
    app.extensions["homeward.db"].engine.dispose()


def test_with_real_twilio_credentials_the_sandbox_needs_sandbox_enabled(db_url, db):
    creds = {"TWILIO_ACCOUNT_SID": "AC" + "1" * 32, "TWILIO_FROM_NUMBER": "+15005550006"}
    assert make_test_app(db_url, **creds).test_client().get("/sandbox").status_code == 404
    app = make_test_app(db_url, SANDBOX_ENABLED=True, **creds)
    client = _peer_client(app, db)
    assert client.get("/sandbox").status_code == 200
    app.extensions["homeward.db"].engine.dispose()
