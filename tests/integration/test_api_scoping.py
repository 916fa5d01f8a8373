"""Who an API token may see (issue 16, 12; 42 CFR Part 2): only its integration's own
participants, enrolled through it or assigned to it, and their escalations, unless an admin
granted a program-wide scope by name. Every read, and every refusal, is audited with the
token's name. On both databases."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from db.models import AuditEvent
from tests import clock
from tests.staff import make_person, make_ticket
from web import api_tokens

OWN = ("participants:read", "participants:write", "escalations:read")


def token(db, name: str, *scopes: str) -> tuple[int, dict]:
    with db.session() as s:
        row, tok = api_tokens.create_token(s, name, scopes or OWN, None, clock.NOW)
        return row.id, {"Authorization": f"Bearer {tok}"}


def enroll(client, headers, external_id: str, phone: str):
    release = (clock.NOW.date() + timedelta(days=7)).isoformat()
    return client.post("/api/v1/participants", headers=headers, json={
        "external_id": external_id, "phone": phone, "release_date": release, "consent": True,
        "consent_channel": "in_person"})


def audits(db, action: str) -> list[AuditEvent]:
    with db.session() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_a_token_reads_only_the_participants_it_enrolled(client, db):
    _, jail = token(db, "County jail")
    _, probation = token(db, "Probation office")
    walk_in = make_person(db, "+13125550101", "Bea")                   # only ever texted in
    mine = enroll(client, jail, "DOC-1", "+13125550102").json["id"]
    theirs = enroll(client, probation, "PRB-1", "+13125550103").json["id"]
    assert client.get(f"/api/v1/participants/{mine}", headers=jail).status_code == 200
    for other in (walk_in, theirs):
        resp = client.get(f"/api/v1/participants/{other}", headers=jail)
        assert resp.status_code == 404 and resp.json["error"]["code"] == "not_found"
        missing = client.get("/api/v1/participants/123456", headers=jail).json["error"]
        assert resp.json["error"]["message"] == missing["message"].replace("123456", str(other))  # same as no one
        assert "Bea" not in resp.text
    for action in ("pause", "stop"):
        assert client.post(f"/api/v1/participants/{theirs}/{action}", headers=jail).status_code == 404
    assert client.patch(f"/api/v1/participants/{theirs}", headers=jail, json={"first_name": "X"}).status_code == 404
    assert client.get(f"/api/v1/participants/{theirs}", headers=probation).json["status"] == "active"
    denied = audits(db, "api_denied")
    assert {(a.participant_id, a.detail["token"], a.detail["why"]) for a in denied} == {
        (walk_in, "County jail", "not_its_participant"), (theirs, "County jail", "not_its_participant")}
    assert [(a.participant_id, a.detail["token"]) for a in audits(db, "api_view_person")] == [
        (mine, "County jail"), (theirs, "Probation office")]


def test_another_integrations_external_id_is_a_conflict_that_shows_nothing(client, db):
    _, jail = token(db, "County jail")
    _, probation = token(db, "Probation office")
    pid = enroll(client, jail, "DOC-7", "+13125550107").json["id"]
    again = enroll(client, jail, "DOC-7", "+13125550107")
    assert again.status_code == 200 and again.json["id"] == pid
    other = enroll(client, probation, "DOC-7", "+13125550107")
    assert other.status_code == 409 and other.json["error"]["code"] == "external_id_taken"
    assert str(pid) not in other.text and "+1312" not in other.text


def test_escalations_list_only_the_tokens_own_people(client, db):
    _, jail = token(db, "County jail")
    mine = enroll(client, jail, "DOC-2", "+13125550112").json["id"]
    walk_in = make_person(db, "+13125550113", external_id="WALK-1")
    mine_ticket = make_ticket(db, mine, "emergency", "urgent")
    make_ticket(db, walk_in, "crisis", "urgent")
    listed = client.get("/api/v1/escalations", headers=jail).json["data"]
    assert [e["id"] for e in listed] == [mine_ticket]
    assert "WALK-1" not in client.get("/api/v1/escalations", headers=jail).text
    listing = audits(db, "api_list_escalations")[0].detail
    assert listing["count"] == 1 and listing["token"] == "County jail" and listing["program_wide"] is False


def test_program_wide_scopes_are_granted_only_by_name(client, db):
    _, reader = token(db, "Program evaluator", "participants:read:all", "escalations:read:all",
                      "participants:read", "escalations:read")
    walk_in = make_person(db, "+13125550121", external_id="WALK-2")
    make_ticket(db, walk_in, "crisis", "urgent")
    assert client.get(f"/api/v1/participants/{walk_in}", headers=reader).status_code == 200
    assert len(client.get("/api/v1/escalations", headers=reader).json["data"]) == 1
    assert audits(db, "api_list_escalations")[0].detail["program_wide"] is True
    _, only_all = token(db, "No base scope", "participants:read:all")
    assert client.get("/api/v1/escalations", headers=only_all).status_code == 403     # :all adds, never replaces


def test_an_admin_assigns_a_participant_to_a_token_and_it_is_audited(app, client, db):
    token_id, jail = token(db, "County jail")
    walk_in = make_person(db, "+13125550131")
    make_ticket(db, walk_in, "asked_for_peer")
    assert client.get(f"/api/v1/participants/{walk_in}", headers=jail).status_code == 404
    runner = app.test_cli_runner()
    out = runner.invoke(args=["tokens", "assign", str(token_id), str(walk_in)])
    assert out.exit_code == 0 and "now sees participant" in out.output
    assert client.get(f"/api/v1/participants/{walk_in}", headers=jail).status_code == 200
    assert len(client.get("/api/v1/escalations", headers=jail).json["data"]) == 1
    assert [a.participant_id for a in audits(db, "token_assign")] == [walk_in]
    out = runner.invoke(args=["tokens", "unassign", str(token_id), str(walk_in)])
    assert out.exit_code == 0
    assert client.get(f"/api/v1/participants/{walk_in}", headers=jail).status_code == 404
    bad = runner.invoke(args=["tokens", "assign", str(token_id), "999999"])
    assert bad.exit_code == 1 and "no participant #999999" in bad.output


def test_a_merged_away_record_keeps_the_token_seeing_the_one_it_joined(client, db):
    _, jail = token(db, "County jail")
    gone = enroll(client, jail, "DOC-9", "+13125550141").json["id"]
    keep = make_person(db, "+13125550142")
    with db.session() as s:
        from db.models import Participant
        s.get(Participant, gone).status, s.get(Participant, gone).merged_into_id = "merged", keep
    assert client.get(f"/api/v1/participants/{gone}", headers=jail).json["merged_into"] == keep
    assert client.get(f"/api/v1/participants/{keep}", headers=jail).status_code == 200
