"""Operator commands, run the way an operator runs them (Click's runner), on both databases."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, select

from db.models import Conversation, Escalation, Message, Participant, ScheduledMessage, User


def run(app, *args, input=None):
    return app.test_cli_runner().invoke(args=list(args), input=input, catch_exceptions=False)


def test_users_create_prompts_for_the_password_and_refuses_duplicates(app, db):
    out = run(app, "users", "create", "--email", "Luis@Example.org", "--role", "peer",
              input="long-enough-pass\nlong-enough-pass\n")
    assert out.exit_code == 0 and "created peer luis@example.org" in out.output
    again = run(app, "users", "create", "--email", "luis@example.org", "--role", "peer", "--password", "x" * 12)
    assert again.exit_code != 0 and "already exists" in again.output
    with db.session() as s:
        user = s.scalar(select(User))
        assert user.password_hash.startswith(("scrypt:", "pbkdf2:")) and "long-enough" not in user.password_hash


def test_enroll_then_preview_shows_the_plan_in_local_time(app, db):
    run(app, "users", "create", "--email", "luis@example.org", "--role", "peer", "--name", "Luis Ortega",
        "--password", "long-enough-pass")
    now = datetime(2026, 1, 5, 15, 0, tzinfo=timezone.utc)           # January: Chicago keeps CST
    release = (now + timedelta(days=2)).date().isoformat()
    out = run(app, "participants", "enroll", "--phone", "(312) 555-2671", "--release-date", release,
              "--name", "Ana", "--tz", "America/Chicago", "--checkin-time", "18:30", "--peer", "luis@example.org",
              "--now", now.isoformat())
    assert out.exit_code == 0, out.output
    preview = run(app, "nudges", "preview", "+1 312 555 2671")
    lines = preview.output.splitlines()
    assert "Ana" in lines[0] and "America/Chicago" in lines[0]
    assert "day   0" in lines[1] and "Hi Ana, it's Luis from Homeward" in lines[1] and "CST" in lines[1]
    assert all(" 18:" in line for line in lines[1:6])        # their 18:30, with a little spread, never 21:00-09:00
    bad = run(app, "participants", "enroll", "--phone", "12", "--release-date", "2026-13-01")
    assert bad.exit_code == 2 and "phone:" in bad.output and "release_date:" in bad.output


def test_worker_texts_the_supervisor_on_shift_about_an_urgent_ticket_past_its_sla(app, db):
    from db.models import StaffText
    from tests.staff import make_person, make_ticket, make_user
    make_user(db, "sam@example.org", "supervisor", "Sam", shift={"wed": [["09:00", "17:00"]]}, phone="+13125550111")
    opened = datetime(2027, 1, 6, 15, 50, tzinfo=timezone.utc)      # Wednesday 10:50 in New York
    ticket = make_ticket(db, make_person(db), "crisis", "urgent", opened, sla_minutes=5)
    assert "sent 1" in run(app, "worker", "--now", "2027-01-06T16:00:00+00:00").output
    assert "sent 0" in run(app, "worker", "--now", "2027-01-06T16:01:00+00:00").output
    with db.session() as s:
        [row] = s.scalars(select(StaffText))
        assert (row.escalation_id, row.state) == (ticket, "sent") and row.provider_sid.startswith("SB")


def test_worker_once_with_now_sends_what_is_due_then(app, db):
    run(app, "participants", "enroll", "--phone", "+13125552671", "--release-date", "2027-01-06", "--name", "Ana",
        "--now", "2027-01-01T15:00:00+00:00")
    out = run(app, "worker", "--now", "2027-01-06T16:00:00+00:00")
    assert "sent 1" in out.output
    assert "sent 0" in run(app, "worker", "--now", "2027-01-06T16:05:00+00:00").output
    with db.session() as s:
        msg = s.scalar(select(Message).where(Message.direction == "out"))
        assert msg.kind == "nudge" and "Ana" in msg.body and msg.status == "sandbox"
        # the reply to that nudge goes into the check-in flow
        convo = s.scalar(select(Conversation).where(Conversation.status == "active"))
        assert convo.flow == "checkin" and convo.timeout_at is None


def test_a_reply_to_a_nudge_is_a_checkin_answer(app, client, db):
    from tests.twilio_signing import sms
    run(app, "participants", "enroll", "--phone", "+13125552671", "--release-date", "2027-01-06", "--name", "Ana",
        "--now", "2027-01-01T15:00:00+00:00")
    run(app, "worker", "--now", "2027-01-06T16:00:00+00:00")
    app.extensions["homeward.clock"] = lambda: datetime(2027, 1, 6, 16, 5, tzinfo=timezone.utc)
    resp = sms(client, "+13125552671", "4")
    assert b"Every good day counts" in resp.data


def test_three_unanswered_nudges_in_the_first_two_weeks_open_a_no_contact_ticket(app, db):
    run(app, "participants", "enroll", "--phone", "+13125552671", "--release-date", "2027-01-06", "--name", "Ana",
        "--now", "2027-01-01T15:00:00+00:00")
    for day in (6, 7, 8):
        run(app, "worker", "--now", f"2027-01-0{day}T16:00:00+00:00")
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Escalation)) == 0
    run(app, "worker", "--now", "2027-01-09T17:00:00+00:00")   # a day after the third went unanswered
    with db.session() as s:
        ticket = s.scalar(select(Escalation))
        assert ticket.reason == "no_contact" and ticket.priority == "high"
    run(app, "worker", "--now", "2027-01-10T17:00:00+00:00")
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Escalation)) == 1   # one per release, not per sweep


def test_flows_check_reports_file_and_line_and_exits_nonzero(app, tmp_path):
    good = run(app, "flows", "check")
    assert good.exit_code == 0 and "0 errors" in good.output
    src = Path(app.config["FLOWS_DIR"]) / "checkin.yaml"
    broken = tmp_path / "checkin.yaml"
    broken.write_text(src.read_text().replace("next: struggling", "next: strugling"))
    out = app.test_cli_runner().invoke(args=["flows", "check", str(broken)])
    assert out.exit_code == 1 and f"{broken}:" in out.output and "strugling" in out.output


def test_the_app_refuses_to_start_with_an_invalid_flow(db_url, tmp_path):
    import shutil
    import pytest
    from core.flows.registry import FlowError
    from tests.conftest import make_test_app
    flows = tmp_path / "flows"
    shutil.copytree(Path(__file__).resolve().parents[2] / "bot" / "content" / "flows", flows)
    (flows / "peer.yaml").write_text((flows / "peer.yaml").read_text().replace("type: escalate", "type: escalat"))
    with pytest.raises(FlowError) as err:
        make_test_app(db_url, FLOWS_DIR=str(flows))
    assert "peer.yaml:" in str(err.value)


def test_chat_simulator_shows_replies_and_effects(app, db):
    out = run(app, "chat", "--lang", "es", "--now", "2026-01-05T15:00:00+00:00", input="CHEQUEO\n1\nsi\n")
    assert "bot> " in out.output and "¿Cómo estás hoy?" in out.output
    assert "escalation: struggling (high)" in out.output
    assert "Throwaway database" in out.output.splitlines()[0]
    with db.session() as s:      # the live database never saw the pretend texter or their ticket
        assert s.scalar(select(Participant.language)) is None


def test_broken_content_at_the_flask_command_is_a_list_of_file_line_problems_not_a_traceback():
    import click
    import pytest
    from flask.cli import NoAppException
    from app import _refuse_content
    from core.intents import IntentError
    from core.flows.schema import Problem
    problem = Problem("bot/content/intents/thanks.yaml", 5, "error", "unknown key 'exampels'")
    with click.Context(click.Command("flask")):          # what `flask --app app ...` runs in
        with pytest.raises(NoAppException) as err, _refuse_content():
            raise IntentError([problem])
    assert "bot/content/intents/thanks.yaml:5: error: unknown key 'exampels'" in err.value.format_message()
    with pytest.raises(IntentError), _refuse_content():  # a server or a test gets the error itself
        raise IntentError([problem])
