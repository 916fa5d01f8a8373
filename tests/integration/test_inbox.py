"""The peer inbox on both databases: roles, CSRF, escaping, audit, tickets, people."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from bot import tickets
from bot.escalations import open_escalation
from bot.channels.sender import SendError, SendResult
from web import outbound
from db.models import (AuditEvent, Contact, Escalation, Message, Note, Participant, ScheduledMessage, User)
from scheduler.dispatch import DispatchConfig, Dispatcher
from tests import clock
from tests.staff import PASSWORD, inbound, login, make_person, make_ticket, make_user
from tests.twilio_signing import sms

PHONE = "+13125552671"
NY_2AM = datetime(2026, 3, 10, 7, 0, tzinfo=timezone.utc)      # 02:00 in New York
NY_NOON = datetime(2026, 3, 10, 16, 0, tzinfo=timezone.utc)    # 12:00 in New York


class RecordingSender:
    """A fake carrier: remembers what it was asked to send, or fails the way Twilio does."""
    name = "fake"

    def __init__(self, error: SendError | None = None):
        self.sent, self.error = [], error

    def send(self, to_address, body):
        if self.error:
            raise self.error
        self.sent.append((to_address, body))
        return SendResult(f"SM{len(self.sent):032x}", "queued")


ON_SHIFT = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}  # a peer at work


@pytest.fixture
def peer(app, db, client):
    """Luis, signed in at the tests' pinned noon (a session begun at the real hour would have
    idled out by then, or not yet begun)."""
    uid = make_user(db, "luis@example.org", "peer", "Luis Ortega", shift=ON_SHIFT)
    fixed_clock(app, NY_NOON)
    login(client, "luis@example.org")
    return uid


@pytest.fixture
def sender(app):
    fake = RecordingSender()
    app.extensions["homeward.sender"] = fake
    return fake


def fixed_clock(app, at):
    app.extensions["homeward.clock"] = lambda: at


def rows_of(db, model, *where):
    with db.session() as s:
        return list(s.scalars(select(model).where(*where)))


def audit_actions(db, person_id=None):
    where = [AuditEvent.participant_id == person_id] if person_id else []
    return [e.action for e in rows_of(db, AuditEvent, *where)]


# -- access ---------------------------------------------------------------------------------------

STAFF_GETS = ["/inbox", "/inbox/rows", "/people", "/people/new", "/people/1", "/people/1/edit",
              "/caseload", "/admin/audit", "/admin/canned"]
STAFF_POSTS = ["/inbox/1/claim", "/inbox/1/release", "/people/1/reply", "/people/1/note",
               "/people/1/resolve", "/people/1/pause", "/people/1/merge", "/people/find", "/caseload/handoff"]


def test_logged_out_every_staff_page_redirects_to_login(client, db):
    make_person(db)
    for url in STAFF_GETS + STAFF_POSTS:
        resp = client.get(url) if url in STAFF_GETS else client.post(url, data={"body": "hi"})
        assert resp.status_code == 302, url
        assert resp.headers["Location"].startswith("/login"), url
    assert rows_of(db, Message) == [] and rows_of(db, Note) == []


def test_a_peer_cannot_open_supervisor_pages_but_a_supervisor_can(app, db, client, peer):
    other = make_user(db, "ana@example.org", "peer")
    for url in ("/admin/audit", "/admin/canned", f"/caseload?peer={other}"):
        assert client.get(url).status_code == 403, url
    assert client.post("/admin/canned", data={"title": "x", "body_en": "x", "body_es": "x"}).status_code == 403
    assert client.post("/caseload/handoff", data={"from_peer": other, "to_peer": peer}).status_code == 403
    nav = client.get("/inbox").get_data(as_text=True)
    assert "Audit log" not in nav and "Caseload" in nav

    make_user(db, "sam@example.org", "supervisor")
    sup = app.test_client()
    login(sup, "sam@example.org")
    for url in ("/admin/audit", "/admin/canned", f"/caseload?peer={other}", "/inbox"):
        assert sup.get(url).status_code == 200, url
    assert "Audit log" in sup.get("/inbox").get_data(as_text=True)


def test_csrf_is_enforced_on_forms_but_not_on_the_signed_twilio_webhook(db_url):
    from tests.conftest import make_test_app
    from tests import dbs
    app = make_test_app(db_url, WTF_CSRF_ENABLED=True)
    db = app.extensions["homeward.db"]
    dbs.wipe(db.engine)
    make_user(db, "luis@example.org")
    person_id = make_person(db)
    client = app.test_client()
    # no token: refused before the password is even looked at
    resp = client.post("/login", data={"email": "luis@example.org", "password": PASSWORD})
    assert resp.status_code == 400 and "expired" in resp.get_data(as_text=True)
    assert client.get("/inbox").status_code == 302
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', client.get("/login").get_data(as_text=True))
    assert token, "login form carries a CSRF token"
    resp = client.post("/login", data={"email": "luis@example.org", "password": PASSWORD, "csrf_token": token[1]})
    assert resp.status_code == 302
    page = client.get(f"/people/{person_id}").get_data(as_text=True)
    assert client.post(f"/people/{person_id}/note", data={"body": "forged"}).status_code == 400
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    assert client.post(f"/people/{person_id}/note", data={"body": "real", "csrf_token": form_token}).status_code == 302
    assert [n.body for n in rows_of(db, Note)] == ["real"]
    assert sms(client, "+13125550000", "hello").status_code == 200  # exempt: signature-verified
    db.engine.dispose()


# -- the queue ------------------------------------------------------------------------------------

def test_queue_is_urgent_first_then_by_sla_with_filters_and_masked_numbers(client, db, peer):
    now = NY_NOON                                  # the clock the peer fixture pinned
    a = make_person(db, "+13125550001", "Normal")
    b = make_person(db, "+13125550002", "Urgent")
    c = make_person(db, "+13125550003", "High")
    d = make_person(db, "+13125550004", "Mia")
    make_ticket(db, a, "asked_for_peer", "normal", now - timedelta(hours=5))  # overdue, but normal
    make_ticket(db, b, "emergency", "urgent", now, sla_minutes=5)
    make_ticket(db, c, "no_contact", "high", now - timedelta(minutes=10), sla_minutes=30)
    make_ticket(db, d, "crisis", "urgent", now - timedelta(minutes=1), sla_minutes=5, assignee_id=peer)
    html = client.get("/inbox").get_data(as_text=True)
    order = re.findall(r'class="person" href="/people/\d+">([^<]+)<', html)
    assert order == ["Mia", "Urgent", "High", "Normal"]
    assert "+1******0002" in html and "3125550002" not in html
    assert "overdue" in html and "unassigned" in html
    mine = client.get("/inbox?view=mine").get_data(as_text=True)
    assert re.findall(r'class="person" href="/people/\d+">([^<]+)<', mine) == ["Mia"]
    unassigned = client.get("/inbox/rows?view=unassigned").get_data(as_text=True)
    assert "Mia" not in unassigned and "Urgent" in unassigned and "<html" not in unassigned
    for href in re.findall(r'(?:href|action)="([^"]+)"', html):
        assert not re.search(r"\d{7,}", href), href


def test_queue_paginates_fifty_a_page(client, db, peer):
    now = NY_NOON                              # the clock the peer fixture pinned
    person = make_person(db)
    with db.session() as s:
        s.add_all([Escalation(participant_id=person, reason="r", priority="normal", priority_rank=2,
                              created_at=now, sla_due_at=now + timedelta(minutes=i)) for i in range(55)])
    first = client.get("/inbox").get_data(as_text=True)
    assert first.count('class="ticket ') == 50 and "Page 1 of 2" in first
    assert client.get("/inbox?page=2").get_data(as_text=True).count('class="ticket ') == 5


def test_an_emergency_texted_in_lands_at_the_top(client, db, peer):
    make_ticket(db, make_person(db, "+13125550009", "Waiting"), "asked_for_peer", "normal")
    assert sms(client, PHONE, "my friend is not breathing, he took something").status_code == 200
    rows = client.get("/inbox/rows").get_data(as_text=True)
    first = re.search(r'<tr class="ticket p-(\w+)".*?class="reason">([^<]+)<', rows, re.S)
    assert first.groups() == ("urgent", "Overdose reported")


def test_claim_release_and_a_second_claim_is_told_who_won(app, client, db, peer):
    person = make_person(db)
    tid = make_ticket(db, person)
    assert client.post(f"/inbox/{tid}/claim", data={"expected": ""}).status_code == 302
    assert rows_of(db, Escalation)[0].assignee_id == peer
    make_user(db, "ana@example.org", "peer", "Ana Diaz")
    other = app.test_client()
    login(other, "ana@example.org")
    resp = other.post(f"/inbox/{tid}/claim", data={"expected": ""}, follow_redirects=True)
    assert "Luis Ortega claimed it first" in resp.get_data(as_text=True)
    assert rows_of(db, Escalation)[0].assignee_id == peer
    other.post(f"/inbox/{tid}/claim", data={"expected": str(peer)})  # a deliberate take-over
    assert rows_of(db, Escalation)[0].assignee_id != peer
    assert client.post(f"/inbox/{tid}/release", follow_redirects=True).status_code == 200
    assert rows_of(db, Escalation)[0].assignee_id is not None  # only the assignee may release
    other.post(f"/inbox/{tid}/release")
    assert rows_of(db, Escalation)[0].assignee_id is None
    assert audit_actions(db, person).count("claim") == 2 and "release" in audit_actions(db, person)


# -- the person page ------------------------------------------------------------------------------

def test_person_page_escapes_every_body_and_is_audited(client, db, peer):
    person = make_person(db, name="<b>Bo</b>", fields={"note<i>": "<img src=x onerror=alert(1)>"})
    inbound(db, person, "<script>alert('x')</script> & more")
    make_ticket(db, person, note="<script>bad()</script>")
    client.post(f"/people/{person}/note", data={"body": "<script>note()</script>"})
    html = client.get(f"/people/{person}").get_data(as_text=True)
    assert "<script>alert" not in html and "<script>bad" not in html and "<script>note" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; more" in html
    assert "<img src=x" not in html and "<b>Bo</b>" not in html
    assert PHONE in html  # the full number is shown on the person's own page only
    assert "view_person" in audit_actions(db, person) and "note" in audit_actions(db, person)
    event = rows_of(db, AuditEvent, AuditEvent.action == "view_person")[0]
    assert event.user_id == peer and event.created_at is not None


def test_reply_goes_through_the_sender_and_answers_the_ticket(app, client, db, peer, sender):
    fixed_clock(app, NY_NOON)
    person = make_person(db)
    tid = make_ticket(db, person, created=NY_NOON - timedelta(minutes=3))
    resp = client.post(f"/people/{person}/reply", data={"body": "Hi Ana,\r\nit's Luis. Here if you need me."},
                       follow_redirects=True)
    assert "Sent (1 segment" in resp.get_data(as_text=True)
    assert sender.sent == [(f"sms:{PHONE}", "Hi Ana,\nit's Luis. Here if you need me.")]
    msg = rows_of(db, Message)[0]
    assert (msg.kind, msg.direction, msg.author_id, msg.status) == ("peer", "out", peer, "queued")
    assert msg.provider_sid.startswith("SM")
    ticket = rows_of(db, Escalation)[0]
    assert ticket.id == tid and ticket.first_response_at == NY_NOON and ticket.assignee_id == peer
    assert "reply" in audit_actions(db, person)


def test_the_sandbox_sender_is_used_by_default(app, client, db, peer):
    fixed_clock(app, NY_NOON)
    person = make_person(db)
    client.post(f"/people/{person}/reply", data={"body": "hello"})
    assert rows_of(db, Message)[0].status == "sandbox"


def test_opted_out_people_and_numbers_are_refused_clearly(app, client, db, peer, sender):
    person = make_person(db, opted_out_at=NY_NOON)
    page = client.get(f"/people/{person}").get_data(as_text=True)
    assert "opted out (texted STOP)" in page and 'action="/people/%d/reply"' % person not in page
    resp = client.post(f"/people/{person}/reply", data={"body": "are you ok?"})
    assert resp.status_code == 409 and "Nothing can be sent" in resp.get_data(as_text=True)
    other = make_person(db, "+13125550077", "Cy")
    with db.session() as s:
        s.scalar(select(Contact).where(Contact.participant_id == other)).opted_out_at = NY_NOON
    assert client.post(f"/people/{other}/reply", data={"body": "hi"}).status_code == 409
    assert sender.sent == [] and rows_of(db, Message) == []
    assert audit_actions(db, person).count("reply_refused") == 1


def test_quiet_hours_warn_unless_the_person_just_wrote(app, client, db, peer, sender):
    fixed_clock(app, NY_2AM)
    person = make_person(db)
    assert "quiet hours" in client.get(f"/people/{person}").get_data(as_text=True)
    resp = client.post(f"/people/{person}/reply", data={"body": "checking in"})
    assert resp.status_code == 200 and "send anyway" in resp.get_data(as_text=True).lower()
    assert sender.sent == []
    assert "checking in" in resp.get_data(as_text=True)  # the draft is kept
    client.post(f"/people/{person}/reply", data={"body": "checking in", "quiet_ok": "1"})
    assert len(sender.sent) == 1
    with db.session() as s:
        s.get(Participant, person).last_inbound_at = NY_2AM - timedelta(minutes=20)
    assert "quiet-warning" not in client.get(f"/people/{person}").get_data(as_text=True)
    client.post(f"/people/{person}/reply", data={"body": "I'm here"})
    assert len(sender.sent) == 2


def test_a_send_error_is_shown_and_recorded(app, client, db, peer):
    app.extensions["homeward.sender"] = RecordingSender(SendError(False, "21211", 400, "twilio 400 code 21211"))
    fixed_clock(app, NY_NOON)
    person = make_person(db)
    resp = client.post(f"/people/{person}/reply", data={"body": "hi"}, follow_redirects=True)
    assert "Not sent: twilio 400 code 21211" in resp.get_data(as_text=True)
    msg = rows_of(db, Message)[0]
    assert (msg.status, msg.error_code) == ("failed", "21211")
    assert "error 21211" in client.get(f"/people/{person}").get_data(as_text=True)


def test_a_reply_queued_by_a_process_that_died_is_sent_once_by_the_worker(db, peer, sender):
    """The reply is an outbox row born claimed by the web process: a worker pass meanwhile leaves
    it alone; if the process dies before sending, the worker sends it once its lease runs out."""
    person = make_person(db)
    web = outbound.web_dispatcher(db, sender)
    queued = outbound.queue_reply(db, web, person, None, peer, "Still here for you.", False, NY_NOON)
    worker = Dispatcher(db, sender, web.schedule, DispatchConfig(worker_id="worker-1"))
    assert worker.run_pass(NY_NOON + timedelta(seconds=5)).claimed == 0      # the web process holds it
    assert rows_of(db, Message)[0].status == "sending" and sender.sent == []
    after_lease = NY_NOON + web.cfg.lease + timedelta(seconds=1)             # the web process died
    assert worker.run_pass(after_lease).sent == 1
    assert worker.run_pass(after_lease + timedelta(minutes=5)).claimed == 0
    assert sender.sent == [(f"sms:{PHONE}", "Still here for you.")]
    [msg] = rows_of(db, Message)
    assert (msg.id, msg.kind, msg.author_id, msg.status) == (queued.message_id, "peer", peer, "queued")
    assert web.work(queued.row_id, after_lease).outcome == "lost_lease"     # nor could it send it again
    assert len(sender.sent) == 1


def test_a_reply_goes_to_the_address_the_peer_chose(app, client, db, peer, sender):
    fixed_clock(app, NY_NOON)
    person = make_person(db)
    with db.session() as s:
        other = Contact(participant_id=person, channel="sms", address="sms:+13125550199",
                        last_inbound_at=NY_NOON - timedelta(days=1))
        s.add(other)
        s.flush()
        other_id = other.id
    client.post(f"/people/{person}/reply", data={"body": "Is this still your number?", "contact_id": other_id})
    assert sender.sent == [("sms:+13125550199", "Is this still your number?")]


def test_resolve_with_an_outcome_then_a_new_message_reopens_it(client, db, peer):
    person = make_person(db)
    tid = make_ticket(db, person, "emergency", "urgent", assignee_id=peer)
    assert client.post(f"/people/{person}/resolve", data={"ticket_id": tid, "outcome": "bogus"}).status_code == 302
    assert rows_of(db, Escalation)[0].status == "open"
    client.post(f"/people/{person}/resolve", data={"ticket_id": tid, "outcome": "naloxone_provided",
                                                   "note": "dropped off a kit"})
    ticket = rows_of(db, Escalation)[0]
    assert (ticket.status, ticket.outcome) == ("resolved", "naloxone_provided")
    assert [n.body for n in rows_of(db, Note)] == ["dropped off a kit"]
    assert "resolve" in audit_actions(db, person)
    later = ticket.resolved_at + timedelta(hours=2)
    with db.session() as s:
        reopened = tickets.reopen_on_inbound(s, s.get(Participant, person), later, inbound(db, person, "thanks"),
                                             tz="America/New_York")
        assert reopened.id == tid
        assert tickets.reopen_on_inbound(s, s.get(Participant, person), later,
                                         tz="America/New_York") is None  # already open
    ticket = rows_of(db, Escalation)[0]
    assert (ticket.status, ticket.priority, ticket.reopened_count, ticket.outcome) == ("open", "normal", 1, None)
    assert ticket.assignee_id == peer and ticket.first_response_at is None
    assert ticket.sla_due_at == later + timedelta(minutes=240)
    with db.session() as s:  # the same message is an emergency: the reopened ticket goes urgent
        bumped = open_escalation(s, s.get(Participant, person), "emergency", "urgent", "again", later,
                                 tz="America/New_York")
        assert (bumped.id, bumped.priority) == (tid, "urgent")


def test_an_old_resolved_ticket_stays_closed(db):
    person = make_person(db)
    long_ago = NY_NOON - timedelta(days=tickets.REOPEN_WINDOW_DAYS + 1)
    make_ticket(db, person, status="resolved", resolved_at=long_ago, outcome="reached")
    with db.session() as s:
        assert tickets.reopen_on_inbound(s, s.get(Participant, person), NY_NOON,
                                         tz="America/New_York") is None


def test_canned_replies_are_kept_by_supervisors_and_prefill_the_reply(app, client, db, peer):
    make_user(db, "sam@example.org", "supervisor")
    sup = app.test_client()
    login(sup, "sam@example.org")
    sup.post("/admin/canned", data={"title": "Naloxone", "body_en": "Want a free naloxone kit?",
                                    "body_es": "¿Quieres un kit de naloxona gratis?"})
    person = make_person(db, language="es")
    cid = rows_of(db, AuditEvent, AuditEvent.action == "canned_create")[0].detail["canned_id"]
    page = client.get(f"/people/{person}?canned={cid}").get_data(as_text=True)
    assert "¿Quieres un kit de naloxona gratis?</textarea>" in page
    assert "UCS-2" not in page and "1 segment (GSM-7" in page  # ¿ and á-free text fit GSM-7


# -- people ---------------------------------------------------------------------------------------

ENROLL = {"phone": "(312) 555-2671", "first_name": "Ana", "release_date": clock.NOW.date().isoformat(),
          "language": "es", "timezone": "America/Chicago", "checkin_time": "10:30",
          "consent": "1", "consent_channel": "in_person"}


def test_enroll_validates_and_creates_an_active_person(client, db, peer):
    bad = client.post("/people/new", data={**ENROLL, "phone": "12", "timezone": "Mars/Olympus",
                                           "checkin_time": "25:00", "consent": ""})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    for field in ("phone-error", "timezone-error", "checkin_time-error", "consent-error"):
        assert field in text
    resp = client.post("/people/new", data={**ENROLL, "peer_id": str(peer)})
    assert resp.status_code == 302
    person = rows_of(db, Participant)[0]
    assert (person.status, person.language, person.timezone, person.checkin_time) == \
        ("active", "es", "America/Chicago", "10:30")
    assert person.assigned_peer_id == peer and person.consent_channel == "in_person" and person.consent_at
    assert [c.address for c in rows_of(db, Contact)] == [f"sms:{PHONE}"]
    assert "enroll" in audit_actions(db, person.id)
    again = client.post("/people/new", data=ENROLL)
    assert again.status_code == 409 and f"already enrolled as person #{person.id}" in again.get_data(as_text=True)


def test_enrolling_someone_who_texted_in_first_keeps_their_record(client, db, peer):
    prospect = make_person(db, status="prospect", name=None)
    inbound(db, prospect, "JOIN")
    assert client.post("/people/new", data=ENROLL).status_code == 302
    assert [(p.id, p.status, p.first_name) for p in rows_of(db, Participant)] == [(prospect, "active", "Ana")]
    opted = make_person(db, "+13125550088", status="prospect", opted_out_at=NY_NOON)
    resp = client.post("/people/new", data={**ENROLL, "phone": "+13125550088"})
    assert resp.status_code == 409 and "texting START" in resp.get_data(as_text=True)
    assert rows_of(db, Participant, Participant.id == opted)[0].status == "prospect"


def test_edit_is_audited_and_replans_pause_holds_and_resume_skips_the_missed_days(app, client, db, peer):
    fixed_clock(app, NY_NOON)                                  # Tue Mar 10 2026
    person = make_person(db, release=date(2026, 3, 1))
    with db.session() as s:
        s.add(ScheduledMessage(participant_id=person, kind="nudge", dedupe_key="nudge:10:2026-03-01",
                               due_at=NY_NOON + timedelta(days=1)))
    form = {"first_name": "Ana", "release_date": "2026-03-02", "language": "en",
            "timezone": "America/New_York", "checkin_time": "", "peer_id": str(peer), "phone": "+13125550123"}
    assert client.post(f"/people/{person}/edit", data=form).status_code == 302
    change = rows_of(db, AuditEvent, AuditEvent.action == "edit_person")[0].detail["changes"]
    assert change["release_date"] == ["2026-03-01", "2026-03-02"] and change["assigned_peer_id"] == [None, peer]
    assert len(rows_of(db, Contact, Contact.participant_id == person)) == 2

    def plan():
        return {r.dedupe_key: r.state for r in rows_of(db, ScheduledMessage)}
    # The old date's check-in is withdrawn; the new date's days ahead are planned (day 10 = Mar 12).
    assert plan()["nudge:10:2026-03-01"] == "cancelled"
    assert plan()["nudge:10:2026-03-02"] == plan()["nudge:14:2026-03-02"] == "pending"
    client.post(f"/people/{person}/pause")
    assert {v for k, v in plan().items() if k.endswith("2026-03-02")} == {"held"}
    fixed_clock(app, NY_NOON + timedelta(days=5))             # Sun Mar 15: day 10 passed while paused
    login(client, "luis@example.org")                  # days later: a new session
    client.post(f"/people/{person}/resume")
    assert plan()["nudge:10:2026-03-02"] == "skipped" and plan()["nudge:14:2026-03-02"] == "pending"
    assert rows_of(db, Participant)[0].status == "active"
    assert {"pause", "resume"} <= set(audit_actions(db, person))


def test_merge_moves_numbers_thread_and_tickets_onto_one_person(client, db, peer):
    keep = make_person(db, PHONE, "Ana", peer_id=peer)
    other = make_person(db, "+17735550100", None, status="prospect")
    inbound(db, keep, "old number")
    inbound(db, other, "new phone, it's Ana")
    make_ticket(db, keep, "no_contact", "high")
    make_ticket(db, other, "crisis", "urgent")
    resp = client.post(f"/people/{keep}/merge", data={"other": "+1 773 555 0100"})
    assert "confirm" in client.get(f"/people/{keep}").get_data(as_text=True)  # unconfirmed: nothing merged
    assert resp.status_code == 302 and rows_of(db, Participant, Participant.id == other)[0].status == "prospect"
    client.post(f"/people/{keep}/merge", data={"other": "+1 773 555 0100", "confirm": "1"})
    tomb = rows_of(db, Participant, Participant.id == other)[0]
    assert (tomb.status, tomb.merged_into_id) == ("merged", keep)
    assert {c.participant_id for c in rows_of(db, Contact)} == {keep}
    assert {m.participant_id for m in rows_of(db, Message)} == {keep}
    open_ = rows_of(db, Escalation, Escalation.status == "open")
    assert [(t.participant_id, t.priority) for t in open_] == [(keep, "urgent")]
    assert client.get(f"/people/{other}").headers["Location"].endswith(f"/people/{keep}")
    html = client.get(f"/people/{keep}").get_data(as_text=True)
    assert "old number" in html and "new phone, it&#39;s Ana" in html
    assert "merge" in audit_actions(db, keep) and "merged_into" in audit_actions(db, other)
    assert client.post(f"/people/{keep}/merge", data={"other": f"#{keep}", "confirm": "1"},
                       follow_redirects=True).status_code == 200  # refused politely, not a 500


def test_hand_off_a_caseload_to_another_peer(app, client, db, peer):
    ana = make_user(db, "ana@example.org", "peer", "Ana Diaz")
    released = NY_NOON.date() - timedelta(days=3)          # day 3 at the pinned noon
    people = [make_person(db, f"+1312555000{i}", f"P{i}", peer_id=peer, release=released) for i in range(3)]
    tid = make_ticket(db, people[0], assignee_id=peer)
    page = client.get("/caseload").get_data(as_text=True)
    assert len(re.findall(r'href="/people/\d+"', page)) == 3 and "day 3" in page
    resp = client.post("/caseload/handoff", data={"to_peer": ana, "tickets": "1"}, follow_redirects=True)
    assert "Handed 3 people to Ana Diaz" in resp.get_data(as_text=True)
    assert {p.assigned_peer_id for p in rows_of(db, Participant)} == {ana}
    assert rows_of(db, Escalation, Escalation.id == tid)[0].assignee_id == ana
    assert all("handoff" in audit_actions(db, p) for p in people)
    assert not re.findall(r'href="/people/\d+"', client.get("/caseload").get_data(as_text=True))


def test_caseload_shows_last_contact_and_next_nudge(app, client, db, peer):
    fixed_clock(app, NY_NOON)
    person = make_person(db, peer_id=peer, release=date(2026, 3, 3))
    inbound(db, person, "hey", NY_NOON - timedelta(hours=2))
    with db.session() as s:
        s.add(ScheduledMessage(participant_id=person, kind="nudge", dedupe_key="d8",
                               due_at=NY_NOON + timedelta(days=1)))
    page = client.get("/caseload").get_data(as_text=True)
    assert "day 7" in page and "2 h 00 min ago" in page and "Wed Mar 11, 12:00" in page


def test_find_by_phone_is_a_post_and_people_search_never_shows_full_numbers(client, db, peer):
    person = make_person(db)
    resp = client.post("/people/find", data={"q": "312-555-2671"})
    assert resp.headers["Location"] == f"/people/{person}"
    assert client.post("/people/find", data={"q": "ana"}).headers["Location"] == "/people?q=ana"
    listing = client.get("/people?q=ana").get_data(as_text=True)
    assert "+1******2671" in listing and "5552671" not in listing


def test_supervisor_reads_the_audit_log(app, client, db, peer):
    person = make_person(db)
    client.get(f"/people/{person}")
    make_user(db, "sam@example.org", "supervisor")
    sup = app.test_client()
    login(sup, "sam@example.org")
    page = sup.get(f"/admin/audit?person={person}").get_data(as_text=True)
    assert "view_person" in page and "Luis Ortega" in page and f"#{person}" in page
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "login")) == 2


def test_failed_sign_ins_from_one_address_are_limited_across_web_processes(db_url, db):
    """Ten wrong passwords from one address in a minute, spread over two web processes (each its
    own app): the eleventh try is refused with 429 on either, even with the right password, and
    no password is checked; another address still signs in."""
    from tests.conftest import make_test_app
    make_user(db, "luis@example.org", "peer")
    make_user(db, "ana@example.org", "peer")
    web1, web2 = make_test_app(db_url), make_test_app(db_url)
    office = {"REMOTE_ADDR": "203.0.113.7"}
    for i in range(10):
        web = (web1, web2)[i % 2].test_client()
        wrong = web.post("/login", data={"email": f"guess{i}@example.org", "password": "nope"},
                         environ_base=office)
        assert wrong.status_code == 401
    for web in (web1, web2):
        right = web.test_client().post("/login", data={"email": "luis@example.org", "password": PASSWORD},
                                       environ_base=office)
        assert right.status_code == 429 and "Too many attempts" in right.get_data(as_text=True)
    elsewhere = web1.test_client().post("/login", data={"email": "ana@example.org", "password": PASSWORD},
                                        environ_base={"REMOTE_ADDR": "198.51.100.4"})
    assert elsewhere.status_code == 302
    for web in (web1, web2):
        web.extensions["homeward.db"].engine.dispose()


def test_sign_in_limits_hold_when_attempts_arrive_all_at_once(app, db):
    """Thirty wrong passwords from one address sent at the same moment: exactly ten are checked
    (401), the rest refused (429). Five wrong passwords for one account at once, from five
    addresses: every one counts, and the account's owner still signs in."""
    import threading
    from concurrent.futures import ThreadPoolExecutor
    make_user(db, "luis@example.org", "peer")
    start = threading.Barrier(10)

    def attempt(email: str, address: str) -> int:
        web = app.test_client()
        start.wait(30)
        return web.post("/login", data={"email": email, "password": "nope"},
                        environ_base={"REMOTE_ADDR": address}).status_code

    def burst(jobs):
        with ThreadPoolExecutor(max_workers=10) as pool:
            return sorted(pool.map(lambda job: attempt(*job), jobs))
    one_address = burst([(f"guess{i}@example.org", "203.0.113.7") for i in range(30)])
    assert one_address.count(401) == 10 and one_address.count(429) == 20
    start = threading.Barrier(5)
    assert burst([("luis@example.org", f"198.51.100.{i}") for i in range(5)]) == [401] * 5
    with db.session() as s:
        assert s.scalar(select(User.failed_logins).where(User.email == "luis@example.org")) == 5
    assert app.test_client().post("/login", data={"email": "luis@example.org", "password": PASSWORD},
                                  environ_base={"REMOTE_ADDR": "192.0.2.1"}).status_code == 302
