"""Web chat at /chat on both databases: the same runtime as a text, one processing per nonce,
a code to resume, rate limits that never turn an emergency away, and peers answering from the
inbox."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from db.models import Contact, Escalation, Message, Participant, RateHit, WebChatSession
from tests.staff import login, make_user
from web import ratelimit

JSON = {"Accept": "application/json"}


def nonce_of(html: str) -> str:
    return re.search(r'name="nonce" value="([0-9a-f]{32})"', html).group(1)


def code_of(html: str) -> str:
    return re.search(r'<strong class="code">([A-Z0-9-]+)</strong>', html).group(1)


def say(client, body: str, nonce: str | None = None, **kw):
    nonce = nonce or nonce_of(client.get("/chat").text)
    return client.post("/chat", data={"body": body, "nonce": nonce}, **kw)


def bubbles(html: str) -> list[tuple[str, str]]:
    return re.findall(r'<li class="(in|out)[^"]*" data-id="\d+"><span class="who">[^<]*</span>'
                      r'<span class="body">([^<]*)</span>', html)


def count(db, model, *where) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_first_message_starts_a_chat_with_a_code_and_the_same_welcome_as_a_text(client, db):
    page = client.get("/chat")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert 'aria-live="polite"' in page.text and '<label for="body">' in page.text and "911" in page.text
    resp = say(client, "hello", nonce_of(page.text))
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/chat#latest")
    html = client.get("/chat").text
    thread = bubbles(html)
    assert thread[0] == ("in", "hello") and thread[-1][1].endswith("Reply YES or NO.")
    code = code_of(html)
    assert re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", code)
    with db.session() as s:
        chat = s.scalar(select(WebChatSession))
        contact = s.scalar(select(Contact))
        person = s.get(Participant, contact.participant_id)
        assert contact.channel == "webchat" and contact.address == chat.address and chat.code == code.replace("-", "")
        assert person.status == "prospect"
        inbound = s.scalar(select(Message).where(Message.direction == "in"))
        assert inbound.channel == "webchat" and inbound.provider_sid.startswith("WC")


def test_a_double_submit_or_refresh_is_processed_once(client, db):
    nonce = nonce_of(client.get("/chat").text)
    assert say(client, "hello", nonce).status_code == 303
    assert say(client, "hello", nonce).status_code == 303      # the same form posted again
    assert count(db, Message, Message.direction == "in") == 1
    assert count(db, Participant) == 1 and count(db, WebChatSession) == 1


def test_emergency_gets_the_911_steps_and_an_urgent_ticket(client, db):
    say(client, "hello")
    resp = say(client, "my friend is not breathing and his lips are blue", headers=JSON)
    assert resp.status_code == 200
    texts = " ".join(m["body"] for m in resp.json["messages"])
    assert "911" in texts and "naloxone" in texts.lower()
    assert resp.json["messages"][0] == {**resp.json["messages"][0], "direction": "in", "who": "You"}
    with db.session() as s:
        ticket = s.scalar(select(Escalation))
        assert (ticket.reason, ticket.priority, ticket.status) == ("emergency", "urgent", "open")


def test_keywords_work_as_on_sms(client, db):
    say(client, "hello")
    say(client, "STOP")
    with db.session() as s:
        assert s.scalar(select(Participant)).opted_out
    say(client, "START")
    with db.session() as s:
        assert not s.scalar(select(Participant)).opted_out


def test_bodies_are_escaped_everywhere(client):
    say(client, '<script>alert(1)</script><img src=x onerror="x()">')
    html = client.get("/chat").text
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    data = client.get("/chat/messages", headers=JSON).json["messages"]
    assert data[0]["body"].startswith("<script>")            # JSON carries text; the page sets it as text


def test_a_peer_answers_from_the_inbox_and_the_chat_shows_it(app, db, client):
    say(client, "can I talk to a person")
    with db.session() as s:
        person_id = s.scalar(select(Participant.id))
    last = client.get("/chat/messages").json["messages"][-1]["id"]
    staff = app.test_client()
    make_user(db, "luis@example.org", "peer", "Luis Ortega")
    login(staff, "luis@example.org")
    assert "webchat" in staff.get(f"/people/{person_id}").text
    resp = staff.post(f"/people/{person_id}/reply", data={"body": "Hi, Luis here. <b>How are you?</b>",
                                                          "quiet_ok": "1"})
    assert resp.status_code == 302
    with db.session() as s:
        reply = s.scalar(select(Message).where(Message.kind == "peer"))
        assert reply.status == "sent" and reply.channel == "webchat" and reply.provider_sid is None
    new = client.get(f"/chat/messages?after={last}").json["messages"]
    assert [(m["who"], m["body"]) for m in new] == [("Luis (peer)", "Hi, Luis here. <b>How are you?</b>")]
    assert "&lt;b&gt;How are you?&lt;/b&gt;" in client.get("/chat").text


def test_the_code_resumes_the_chat_on_another_device_and_a_wrong_one_does_not(app, client, db):
    say(client, "hello")
    code = code_of(client.get("/chat").text)
    other = app.test_client()
    assert "hello" not in other.get("/chat").text
    wrong = other.post("/chat/resume", data={"code": "AAAA-AAAA"})
    assert wrong.status_code == 404 and "doesn" in wrong.text
    resp = other.post("/chat/resume", data={"code": code.lower().replace("-", " ")})
    assert resp.status_code == 303
    assert ("in", "hello") in bubbles(other.get("/chat").text)
    say(other, "still here")
    assert ("in", "still here") in bubbles(client.get("/chat").text)   # one chat, two devices
    assert count(db, Participant) == 1


def test_resume_guessing_is_limited_per_address(db_url, db):
    from tests.conftest import make_test_app
    app = make_test_app(db_url, CHAT_LIMITS={"resume_failures_per_address": ratelimit.Limit(3, timedelta(minutes=15))})
    client = app.test_client()
    for _ in range(3):
        assert client.post("/chat/resume", data={"code": "BBBB-BBBB"}).status_code == 404
    limited = client.post("/chat/resume", data={"code": "BBBB-BBBB"})
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0 and "Too many tries" in limited.text


def test_leaving_forgets_the_chat_on_this_browser_only(client):
    say(client, "hello")
    code = code_of(client.get("/chat").text)
    resp = client.post("/chat/end", follow_redirects=True)
    assert code in resp.text and "hello" not in "".join(b for _, b in bubbles(resp.text))
    client.post("/chat/resume", data={"code": code})
    assert ("in", "hello") in bubbles(client.get("/chat").text)


def test_rate_limits_are_clear_keep_the_draft_and_never_block_an_emergency(db_url, db):
    from tests.conftest import make_test_app
    app = make_test_app(db_url, CHAT_LIMITS={"message_per_chat": ratelimit.Limit(2, timedelta(minutes=1))})
    client = app.test_client()
    say(client, "hello")
    say(client, "YES")
    limited = say(client, "one more thing")
    assert limited.status_code == 429 and "Please wait" in limited.text and "911" in limited.text
    assert "one more thing</textarea>" in limited.text and int(limited.headers["Retry-After"]) > 0
    as_json = say(client, "one more thing", headers=JSON)
    assert as_json.status_code == 429 and "Please wait" in as_json.json["error"]
    assert count(db, Message, Message.body == "one more thing") == 0
    urgent = say(client, "he overdosed and won't wake up", headers=JSON)
    assert urgent.status_code == 200 and "911" in urgent.json["messages"][-2]["body"] + urgent.json["messages"][-1]["body"]
    assert count(db, Escalation, Escalation.priority == "urgent") == 1


def test_new_chats_are_limited_per_client_address(db_url, db):
    from tests.conftest import make_test_app
    app = make_test_app(db_url, CHAT_LIMITS={"new_chat_per_address": ratelimit.Limit(2, timedelta(hours=1))})
    for n in range(2):
        assert say(app.test_client(), f"hi {n}").status_code == 303
    assert say(app.test_client(), "hi again").status_code == 429
    assert count(db, WebChatSession) == 2
    with db.session() as s:
        keys = set(s.scalars(select(RateHit.key)))
    assert not any("127.0.0.1" in k for k in keys)          # addresses are kept only as keyed hashes


def test_blank_and_overlong_messages_are_refused_with_a_reason(client, db):
    assert say(client, "   ").status_code == 422
    long = say(client, "x" * 1601)
    assert long.status_code == 422 and "too long" in long.text
    assert count(db, Message) == 0


def test_csrf_is_required_and_an_expired_form_keeps_the_draft(db_url, db):
    from tests.conftest import make_test_app
    app = make_test_app(db_url, WTF_CSRF_ENABLED=True)
    client = app.test_client()
    page = client.get("/chat").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    refused = client.post("/chat", data={"body": "hello there", "nonce": nonce_of(page)})
    assert refused.status_code == 400 and "hello there</textarea>" in refused.text
    assert count(db, Message) == 0
    ok = client.post("/chat", data={"body": "hello there", "nonce": nonce_of(page), "csrf_token": token})
    assert ok.status_code == 303 and count(db, Message, Message.direction == "in") == 1


def test_polling_without_a_chat_is_empty_and_never_another_chat(app, client):
    say(client, "hello")
    assert app.test_client().get("/chat/messages").json == {"messages": []}


def test_a_timed_out_question_in_chat_is_reminded_on_the_chat_page(app, client, db):
    """Pinned so the reminder falls at 02:00 New York: quiet hours hold back phone texts, but
    nothing buzzes on web chat, so it is posted at once (core/channels.py)."""
    from datetime import datetime, timezone
    from db.models import Conversation
    app.extensions["homeward.clock"] = lambda: datetime(2025, 3, 4, 3, 0, tzinfo=timezone.utc)  # 22:00 EST
    say(client, "hello")
    say(client, "CHECKIN")
    with db.session() as s:
        due = s.scalar(select(Conversation.timeout_at).where(Conversation.status == "active"))
    app.extensions["homeward.runtime"].run_timeouts(due + timedelta(minutes=1))
    out = app.test_cli_runner().invoke(args=["worker", "--now", (due + timedelta(minutes=2)).isoformat()])
    assert "sent 1" in out.output
    assert "no pressure" in client.get("/chat").text
