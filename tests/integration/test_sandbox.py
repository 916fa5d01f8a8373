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
