"""Issue 16, "abuse and load", on both databases: limits hold under parallel requests (threads
against the real app), and an emergency flood from one address gets every 911 answer but one
urgent ticket, flagged."""
from __future__ import annotations

import secrets
import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from db.models import Escalation, Message, WebChatSession
from tests.conftest import make_test_app
from tests.integration.test_api import bearer, token
from web import ratelimit

T = datetime(2026, 12, 1, 17, 0, tzinfo=timezone.utc)
EMERGENCY = "he is not breathing please help"
ROOMY = ratelimit.Limit(10_000, timedelta(minutes=1))


def count(db, model, *where) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def at_once(n: int, request) -> list:
    """Run request(i) in n threads released together; their results in order."""
    start, out = threading.Barrier(n), [None] * n

    def run(i):
        start.wait()
        out[i] = request(i)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


def chat_app(db_url, **limits):
    app = make_test_app(db_url, CHAT_LIMITS=limits)
    app.extensions["homeward.clock"] = lambda: T
    return app


def post(client, body: str, **kw):
    return client.post("/chat", data={"body": body, "nonce": secrets.token_hex(16)},
                       headers={"Accept": "application/json"}, **kw)


# -- 5. limits are atomic --------------------------------------------------------------------------

def test_parallel_messages_in_one_chat_never_pass_its_limit(db_url, db):
    app = chat_app(db_url, message_per_address=ROOMY)      # the per-chat limit (10 a minute) is tested
    first = app.test_client()
    assert post(first, "hello").status_code == 200
    cookie = first.get_cookie("session").value

    def send(i):
        c = app.test_client()
        c.set_cookie("session", cookie)
        return post(c, f"message {i}").status_code

    codes = at_once(30, send)
    assert codes.count(200) == 9 and codes.count(429) == 21          # 10 a minute, the first included
    assert count(db, Message, Message.direction == "in") == 10


def test_parallel_new_chats_from_one_address_never_pass_its_limit(db_url, db):
    app = chat_app(db_url, message_per_address=ROOMY, new_chat_per_address=ratelimit.Limit(8, timedelta(hours=1)))
    codes = at_once(24, lambda i: post(app.test_client(), f"hi {i}").status_code)
    assert codes.count(200) == 8 and codes.count(429) == 16
    assert count(db, WebChatSession) == 8


def test_parallel_api_requests_never_pass_the_tokens_limit(db_url, db):
    app = make_test_app(db_url, API_RATE_PER_MINUTE=10)
    tok = token(db)
    codes = at_once(30, lambda i: app.test_client().get("/api/v1/escalations", headers=bearer(tok)).status_code)
    assert codes.count(200) == 10 and codes.count(429) == 20


# -- 4. the urgent queue cannot be flooded ---------------------------------------------------------

def answered_911(resp) -> bool:
    return resp.status_code == 200 and any("911" in m["body"] for m in resp.json["messages"])


def urgent_tickets(db) -> list[Escalation]:
    with db.session() as s:
        return list(s.scalars(select(Escalation).where(Escalation.priority == "urgent",
                                                       Escalation.status == "open")))


def test_an_emergency_flood_from_one_address_is_answered_every_time_into_one_flagged_ticket(db_url, db):
    app = chat_app(db_url)
    answers = [post(app.test_client(), EMERGENCY) for _ in range(30)]       # 30 new chats, one address
    assert all(answered_911(r) for r in answers)
    [ticket] = urgent_tickets(db)
    assert "Possible flooding: 29 more" in ticket.note
    assert count(db, WebChatSession) == 30          # every chat kept; only the queue is protected


def test_a_parallel_emergency_flood_still_opens_one_ticket(db_url, db):
    app = chat_app(db_url)
    answers = at_once(12, lambda i: post(app.test_client(), EMERGENCY))
    assert all(answered_911(r) for r in answers)
    assert len(urgent_tickets(db)) == 1


def test_repeated_emergencies_in_one_chat_are_flagged_and_the_window_is_bounded(db_url, db):
    app = chat_app(db_url, message_per_chat=ROOMY)
    client = app.test_client()
    for _ in range(3):
        assert answered_911(post(client, EMERGENCY))
    [ticket] = urgent_tickets(db)
    assert "Possible flooding: 2 more" in ticket.note
    # after the window, an emergency from that address counts on its own again
    app.extensions["homeward.clock"] = lambda: T + timedelta(minutes=11)
    assert answered_911(post(app.test_client(), EMERGENCY))
    assert len(urgent_tickets(db)) == 2


def test_a_single_emergency_is_not_flagged(db_url, db):
    app = chat_app(db_url)
    assert answered_911(post(app.test_client(), EMERGENCY))
    [ticket] = urgent_tickets(db)
    assert "flooding" not in ticket.note
