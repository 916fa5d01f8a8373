"""The integration API on both databases: tokens (missing, unknown, revoked, wrong scope, rate
limit), enrolling idempotently, replanning, pause/resume/stop, status without bodies, the
escalation list, JSON errors everywhere, the audit trail, the CLI and the admin page."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from db.models import ApiToken, AuditEvent, ScheduledMessage
from tests import clock
from tests.staff import inbound, login, make_person, make_ticket, make_user
from web import api_tokens

ALL = ("participants:read", "participants:write", "escalations:read",
       "participants:read:all", "participants:write:all", "escalations:read:all")   # program-wide: see test_api_scoping


def token(db, *scopes, name="County jail") -> str:
    with db.session() as s:
        return api_tokens.create_token(s, name, scopes or ALL, None, clock.NOW)[1]


def bearer(tok: str) -> dict:
    return {"Authorization": f"Bearer {tok}"}


def enrollment(**over) -> dict:
    release = (clock.NOW.date() + timedelta(days=7)).isoformat()
    return {"external_id": "DOC-123", "phone": "+13125552671", "release_date": release, "consent": True,
            "consent_channel": "in_person", "first_name": "Ana", **over}


def audits(db, action=None) -> list[AuditEvent]:
    with db.session() as s:
        stmt = select(AuditEvent).order_by(AuditEvent.id)
        return list(s.scalars(stmt.where(AuditEvent.action == action) if action else stmt))


def pending(db, pid) -> list[ScheduledMessage]:
    with db.session() as s:
        return list(s.scalars(select(ScheduledMessage).where(ScheduledMessage.participant_id == pid,
                                                             ScheduledMessage.state == "pending")))


def assert_error(resp, status: int, code: str):
    assert resp.status_code == status, resp.data
    assert resp.mimetype == "application/json"
    assert resp.json["error"]["code"] == code and resp.json["error"]["message"]


# -- tokens -----------------------------------------------------------------------------------------
def test_no_token_an_unknown_one_and_a_malformed_header_get_401_with_a_challenge(client, db):
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        resp = client.get("/api/v1/escalations", headers=headers)
        assert_error(resp, 401, "missing_token")
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    resp = client.get("/api/v1/escalations", headers=bearer("hw_" + "x" * 43))
    assert_error(resp, 401, "invalid_token")
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]


def test_a_revoked_token_is_refused_and_the_attempt_audited(client, db):
    tok = token(db)
    assert client.get("/api/v1/escalations", headers=bearer(tok)).status_code == 200
    with db.session() as s:
        token_id = s.scalar(select(ApiToken.id))
        api_tokens.revoke(s, token_id, None, clock.NOW)
    assert_error(client.get("/api/v1/escalations", headers=bearer(tok)), 401, "revoked_token")
    [denied] = audits(db, "api_denied")
    assert denied.detail["why"] == "revoked" and denied.detail["token_id"] == token_id


def test_a_token_without_the_scope_gets_403(client, db):
    reader = token(db, "participants:read", "escalations:read")
    assert_error(client.post("/api/v1/participants", json=enrollment(), headers=bearer(reader)), 403,
                 "insufficient_scope")
    pid = make_person(db)
    assert_error(client.post(f"/api/v1/participants/{pid}/stop", headers=bearer(reader)), 403, "insufficient_scope")
    writer = token(db, "participants:write", name="writer")
    assert_error(client.get(f"/api/v1/participants/{pid}", headers=bearer(writer)), 403, "insufficient_scope")
    assert_error(client.get("/api/v1/escalations", headers=bearer(writer)), 403, "insufficient_scope")
    assert [a.detail["scope"] for a in audits(db, "api_denied")] == [
        "participants:write", "participants:write", "participants:read", "escalations:read"]


def test_tokens_are_stored_hashed_and_use_is_recorded(client, db):
    tok = token(db)
    with db.session() as s:
        row = s.scalar(select(ApiToken))
        assert tok not in (row.token_hash, row.prefix) and len(row.token_hash) == 64
        assert tok.startswith(row.prefix) and row.last_used_at is None
    client.get("/api/v1/escalations", headers=bearer(tok))
    with db.session() as s:
        assert s.scalar(select(ApiToken)).last_used_at is not None


def test_too_many_requests_get_429_with_retry_after(db_url, db):
    from tests.conftest import make_test_app
    app = make_test_app(db_url, API_RATE_PER_MINUTE=3)
    client, tok = app.test_client(), token(db)
    for _ in range(3):
        assert client.get("/api/v1/escalations", headers=bearer(tok)).status_code == 200
    resp = client.get("/api/v1/escalations", headers=bearer(tok))
    assert_error(resp, 429, "rate_limited")
    assert 1 <= int(resp.headers["Retry-After"]) <= 60


# -- participants ---------------------------------------------------------------------------------
def test_enroll_is_idempotent_on_the_external_id_plans_nudges_and_is_audited(client, db):
    h = bearer(token(db))
    first = client.post("/api/v1/participants", json=enrollment(), headers=h)
    assert first.status_code == 201, first.json
    body = first.json
    assert body["status"] == "active" and body["enrolled"] and body["external_id"] == "DOC-123"
    assert body["channels"] == ["sms"] and body["next_nudge_at"] and not body["opted_out"]
    again = client.post("/api/v1/participants", json=enrollment(first_name="Someone else"), headers=h)
    assert again.status_code == 200 and again.json["id"] == body["id"]
    [audit] = audits(db, "api_enroll")
    assert audit.participant_id == body["id"] and audit.detail["token"] == "County jail"
    assert audit.detail["planned_nudges"] == len(pending(db, body["id"])) > 0
    assert len(audits(db, "api_enroll_repeat")) == 1


def test_enroll_conflicts_and_validation_errors_say_what_is_wrong(client, db):
    h = bearer(token(db))
    assert client.post("/api/v1/participants", json=enrollment(), headers=h).status_code == 201
    assert_error(client.post("/api/v1/participants", json=enrollment(external_id="DOC-999"), headers=h),
                 409, "phone_enrolled")
    bad = client.post("/api/v1/participants", json=enrollment(external_id="X-1", phone="+1555", timezone="Mars/Base",
                                                              release_date="2031-01-01"), headers=h)
    assert_error(bad, 422, "invalid")
    assert set(bad.json["error"]["fields"]) == {"phone"}          # the schema's check comes first
    bad = client.post("/api/v1/participants", json=enrollment(external_id="X-1", phone="+13125550000",
                                                              timezone="Mars/Base", release_date="2035-01-01"),
                      headers=h)
    assert_error(bad, 422, "invalid")
    assert set(bad.json["error"]["fields"]) == {"timezone", "release_date"}
    unknown_peer = client.post("/api/v1/participants", json=enrollment(external_id="X-2", phone="+13125550001",
                                                                       peer_email="nobody@example.org"), headers=h)
    assert_error(unknown_peer, 422, "invalid")
    assert_error(client.post("/api/v1/participants", data="{", headers={**h, "Content-Type": "application/json"}),
                 400, "invalid_json")
    assert_error(client.post("/api/v1/participants", data="a=b", headers=h), 415, "unsupported_media_type")
    assert_error(client.post("/api/v1/participants", json=["x"], headers=h), 422, "invalid")
    nul = client.post("/api/v1/participants", json=enrollment(external_id="X-3", first_name="A\x00na"), headers=h)
    assert_error(nul, 422, "invalid")                    # PostgreSQL text cannot hold NUL: refused, not a 500
    assert set(nul.json["error"]["fields"]) == {"first_name"}


def test_an_opted_out_number_cannot_be_enrolled_over_the_api(client, db):
    make_person(db, status="prospect", opted_out_at=clock.NOW)
    resp = client.post("/api/v1/participants", json=enrollment(), headers=bearer(token(db)))
    assert_error(resp, 409, "opted_out")


def test_someone_who_texted_first_is_enrolled_in_place(client, db):
    pid = make_person(db, status="prospect")
    resp = client.post("/api/v1/participants", json=enrollment(peer_email=None), headers=bearer(token(db)))
    assert resp.status_code == 201 and resp.json["id"] == pid


def test_a_new_release_date_replans_the_nudges(client, db):
    h = bearer(token(db))
    pid = client.post("/api/v1/participants", json=enrollment(), headers=h).json["id"]
    before = client.get(f"/api/v1/participants/{pid}", headers=h).json["next_nudge_at"]
    later = (clock.NOW.date() + timedelta(days=20)).isoformat()
    resp = client.patch(f"/api/v1/participants/{pid}", json={"release_date": later, "checkin_time": None}, headers=h)
    assert resp.status_code == 200 and resp.json["release_date"] == later
    assert resp.json["next_nudge_at"] > before
    with db.session() as s:
        replanned = s.scalars(select(ScheduledMessage).where(ScheduledMessage.last_error == "replanned")).all()
    assert replanned
    [audit] = audits(db, "api_update")
    assert audit.detail["changes"]["release_date"][1] == later and audit.detail["replanned"] > 0
    assert_error(client.patch(f"/api/v1/participants/{pid}", json={}, headers=h), 422, "invalid")
    assert_error(client.patch(f"/api/v1/participants/{pid}", json={"external_id": "x"}, headers=h), 422, "invalid")
    assert_error(client.patch("/api/v1/participants/999999", json={"first_name": "A"}, headers=h), 404, "not_found")


def test_pause_resume_and_stop(client, db):
    h = bearer(token(db))
    pid = client.post("/api/v1/participants", json=enrollment(), headers=h).json["id"]
    planned = len(pending(db, pid))
    paused = client.post(f"/api/v1/participants/{pid}/pause", headers=h)
    assert paused.json["status"] == "paused" and paused.json["next_nudge_at"] is None and not pending(db, pid)
    assert client.post(f"/api/v1/participants/{pid}/pause", headers=h).status_code == 200   # no-op
    resumed = client.post(f"/api/v1/participants/{pid}/resume", headers=h)
    assert resumed.json["status"] == "active" and len(pending(db, pid)) == planned
    stopped = client.post(f"/api/v1/participants/{pid}/stop", headers=h)
    assert stopped.json["status"] == "completed" and stopped.json["next_nudge_at"] is None and not pending(db, pid)
    assert client.post(f"/api/v1/participants/{pid}/stop", headers=h).status_code == 200     # no-op
    assert_error(client.post(f"/api/v1/participants/{pid}/resume", headers=h), 409, "not_paused")
    assert_error(client.post(f"/api/v1/participants/{pid}/pause", headers=h), 409, "not_active")
    assert [a.action for a in audits(db) if a.action.startswith("api_") and a.action != "api_enroll"] == [
        "api_pause", "api_pause", "api_resume", "api_stop", "api_stop"]     # refusals change nothing


def test_status_has_no_message_bodies_and_reading_it_is_audited(client, db):
    pid = make_person(db, release=date(2026, 11, 1))
    inbound(db, pid, "a private thing I said")
    resp = client.get(f"/api/v1/participants/{pid}", headers=bearer(token(db)))
    assert resp.status_code == 200
    assert "private" not in resp.text and resp.json["last_contact_at"] and resp.json["release_date"] == "2026-11-01"
    assert [a.participant_id for a in audits(db, "api_view_person")] == [pid]
    assert_error(client.get("/api/v1/participants/0", headers=bearer(token(db, name="b"))), 404, "not_found")
    assert_error(client.get("/api/v1/participants/99999999999999999999", headers=bearer(token(db, name="c"))),
                 404, "not_found")


def test_a_merged_record_points_at_the_one_it_joined(client, db):
    keep = make_person(db, "+13125550001")
    gone = make_person(db, "+13125550002", status="merged", merged_into_id=keep)
    h = bearer(token(db))
    assert client.get(f"/api/v1/participants/{gone}", headers=h).json["merged_into"] == keep
    resp = client.post(f"/api/v1/participants/{gone}/stop", headers=h)
    assert_error(resp, 409, "merged")
    assert f"#{keep}" in resp.json["error"]["message"]


# -- escalations ------------------------------------------------------------------------------------
def test_escalations_filter_and_page(client, db):
    h = bearer(token(db))
    t0 = clock.NOW - timedelta(hours=5)
    people = [make_person(db, f"+1312555{n:04d}", external_id=f"E-{n}") for n in range(5)]
    ids = [make_ticket(db, p, "emergency" if n % 2 else "asked_for_peer", "urgent" if n % 2 else "normal",
                       created=t0 + timedelta(hours=n)) for n, p in enumerate(people)]
    everything = client.get("/api/v1/escalations", headers=h).json
    assert [e["id"] for e in everything["data"]] == ids[::-1] and everything["next_cursor"] is None
    assert everything["data"][0]["external_id"] == "E-4" and "note" not in everything["data"][0]
    urgent = client.get("/api/v1/escalations?priority=urgent&reason=emergency", headers=h).json["data"]
    assert [e["id"] for e in urgent] == [ids[3], ids[1]]
    since = (t0 + timedelta(hours=2, minutes=30)).isoformat()
    assert len(client.get("/api/v1/escalations", query_string={"since": since}, headers=h).json["data"]) == 2
    page1 = client.get("/api/v1/escalations?limit=2", headers=h).json
    page2 = client.get(f"/api/v1/escalations?limit=2&cursor={page1['next_cursor']}", headers=h).json
    page3 = client.get(f"/api/v1/escalations?limit=2&cursor={page2['next_cursor']}", headers=h).json
    assert [e["id"] for e in page1["data"] + page2["data"] + page3["data"]] == ids[::-1]
    assert page3["next_cursor"] is None
    assert client.get("/api/v1/escalations?status=resolved", headers=h).json["data"] == []
    assert client.get("/api/v1/escalations?cursor=9999999999", headers=h).status_code == 200   # past 32 bits
    for bad in ("status=closed", "priority=low", "limit=0", "limit=101", "limit=ten", "cursor=-1",
                "since=yesterday", "reason=", "reason=a%00b", "priorty=urgent", "=0"):
        assert_error(client.get(f"/api/v1/escalations?{bad}", headers=h), 400, "invalid_parameter")
    [audit] = [a for a in audits(db, "api_list_escalations") if a.detail["filters"].get("reason")]
    assert audit.detail["count"] == 2


# -- errors are JSON, never HTML ---------------------------------------------------------------------
def test_unknown_paths_and_methods_answer_in_json(client, db):
    h = bearer(token(db))
    assert_error(client.get("/api/v1/nothing/here", headers=h), 404, "not_found")
    assert_error(client.get("/api/v1/participants/abc", headers=h), 404, "not_found")
    assert_error(client.get("/api/v1/", headers=h), 404, "not_found")
    resp = client.delete("/api/v1/participants/1", headers=h)
    assert_error(resp, 405, "method_not_allowed")
    assert resp.headers["Allow"] == "GET, HEAD, OPTIONS, PATCH"
    assert_error(client.get("/api/v1/participants", headers=h), 405, "method_not_allowed")
    assert client.options("/api/v1/escalations").headers["Allow"] == "GET, HEAD, OPTIONS"
    assert_error(client.get("/api/v1/participants/%0A", headers=h), 404, "not_found")   # no rule matches
    assert_error(client.open("/api/v1/participants", method="PROPFIND", headers=h), 405, "method_not_allowed")
    assert_error(client.get("/api/v1/participants/1?verbose=1", headers=h), 400, "invalid_parameter")
    assert client.get("/no/such/page").mimetype == "text/html"        # the rest of the site is unchanged


def test_the_description_is_served_and_names_every_route(app, client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.1")
    served = {r.rule.replace("<int:participant_id>", "{participant_id}") for r in app.url_map.iter_rules()
              if r.endpoint.startswith("api.") and r.endpoint not in ("api.root", "api.nowhere", "api.openapi")}
    assert served == set(spec["paths"])


# -- making and revoking tokens -------------------------------------------------------------------
def test_cli_creates_lists_and_revokes_tokens(app, client, db):
    make_user(db, "admin@example.org", "admin", "Ada Admin")
    runner = app.test_cli_runner()
    out = runner.invoke(args=["tokens", "create", "--name", "Probation office", "--scope", "participants:read",
                              "--scope", "escalations:read", "--by", "admin@example.org"])
    assert out.exit_code == 0, out.output
    tok = out.output.strip().splitlines()[-1]
    assert tok.startswith("hw_") and len(tok) > 40
    assert client.get("/api/v1/escalations", headers=bearer(tok)).status_code == 200
    listing = runner.invoke(args=["tokens", "list"]).output
    assert "Probation office" in listing and tok not in listing and tok[:10] in listing
    token_id = listing.split()[0].lstrip("#")
    assert runner.invoke(args=["tokens", "revoke", token_id]).exit_code == 0
    assert client.get("/api/v1/escalations", headers=bearer(tok)).status_code == 401
    bad = runner.invoke(args=["tokens", "create", "--name", "x", "--scope", "everything"])
    assert bad.exit_code != 0
    assert {a.action for a in audits(db)} >= {"token_create", "token_revoke"}
    assert audits(db, "token_create")[0].user_id is not None


def test_the_admin_page_shows_a_new_token_once_and_revokes(app, client, db):
    make_user(db, "admin@example.org", "admin", "Ada Admin")
    make_user(db, "luis@example.org", "peer")
    peer = app.test_client()
    login(peer, "luis@example.org")
    assert peer.get("/admin/api-tokens").status_code == 403
    login(client, "admin@example.org")
    made = client.post("/admin/api-tokens", data={"name": "Reentry center", "scope": ["participants:write"]})
    assert made.status_code == 200 and 'id="token-value"' in made.text
    assert made.headers["Cache-Control"] == "no-store"
    tok = made.text.split('id="token-value">', 1)[1].split("<", 1)[0]
    assert client.post("/api/v1/participants", json=enrollment(), headers=bearer(tok)).status_code == 201
    assert tok not in client.get("/admin/api-tokens").text
    assert client.post("/admin/api-tokens", data={"name": "No scopes"}).status_code == 422
    assert client.post("/admin/api-tokens", data={"name": "a\x00b", "scope": ["participants:read"]}).status_code == 422
    with db.session() as s:
        token_id = s.scalar(select(ApiToken.id))
    client.post(f"/admin/api-tokens/{token_id}/revoke")
    assert client.get("/api/v1/participants/1", headers=bearer(tok)).status_code == 401
