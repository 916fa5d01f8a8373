"""The lifecycle's rules, without a database: which operation may run in which state, where it
leaves the person and what happens to their planned check-ins."""
from __future__ import annotations

import pytest

from core import lifecycle
from core.lifecycle import Refused, transition


@pytest.mark.parametrize("status", [None, "prospect", "completed"])
def test_enrolling_makes_the_person_active_and_plans_their_checkins(status):
    t = transition("enroll", status, opted_out=False)
    assert (t.status, t.plan) == ("active", "replan")


@pytest.mark.parametrize("status", [None, "prospect", "active", "completed"])
def test_a_number_that_opted_out_cannot_be_enrolled_by_anyone_but_the_person(status):
    with pytest.raises(Refused) as exc:
        transition("enroll", status, opted_out=True)
    assert exc.value.code in ("opted_out", "already_enrolled")
    if status != "active":
        assert exc.value.code == "opted_out" and "START" in exc.value.message


@pytest.mark.parametrize("status", ["active", "paused"])
def test_enrolling_someone_already_enrolled_is_refused(status):
    with pytest.raises(Refused) as exc:
        transition("enroll", status, opted_out=False)
    assert exc.value.code == "already_enrolled"


@pytest.mark.parametrize("op", lifecycle.OPERATIONS)
def test_a_merged_record_refuses_every_change(op):
    with pytest.raises(Refused) as exc:
        transition(op, "merged", opted_out=False)
    assert exc.value.code == "merged"


def test_stop_cancels_and_start_replans_the_days_ahead():
    out = transition("opt_out", "active", opted_out=False)
    assert (out.status, out.plan) == ("active", "cancel")
    back = transition("opt_in", "active", opted_out=True)
    assert (back.status, back.plan, back.changed) == ("active", "replan", True)


def test_start_from_someone_never_enrolled_plans_nothing():
    assert transition("opt_in", "prospect", opted_out=True).plan == "keep"


def test_pause_holds_resume_replans_and_repeats_are_harmless():
    assert transition("pause", "active", False) == lifecycle.Transition("paused", "hold", True)
    assert transition("pause", "paused", False).changed is False
    assert transition("resume", "paused", False) == lifecycle.Transition("active", "replan", True)
    assert transition("resume", "active", False).changed is False


@pytest.mark.parametrize("op,status,code", [("pause", "prospect", "not_active"), ("pause", "completed", "not_active"),
                                            ("resume", "prospect", "not_paused"), ("resume", "completed", "not_paused")])
def test_pause_and_resume_refuse_people_not_in_the_program(op, status, code):
    with pytest.raises(Refused) as exc:
        transition(op, status, False)
    assert exc.value.code == code and status in exc.value.message


def test_consent_by_text_enrolls_a_prospect_once():
    assert transition("consent", "prospect", False) == lifecycle.Transition("active", "replan", True)
    assert transition("consent", "paused", False).changed is False


def test_stop_ends_outreach():
    assert transition("stop", "paused", False) == lifecycle.Transition("completed", "cancel", True)


@pytest.mark.parametrize("status,opted_out,has_date,state", [
    ("active", False, True, "pending"), ("paused", False, True, "held"), ("active", True, True, None),
    ("active", False, False, None), ("prospect", False, True, None), ("completed", False, True, None)])
def test_who_may_have_a_plan(status, opted_out, has_date, state):
    assert lifecycle.plannable(status, opted_out, has_date) == state


def test_the_least_loaded_peer_with_room_is_chosen():
    assert lifecycle.pick_peer([(1, 5), (2, 3), (3, 3)], room=10) == 2
    assert lifecycle.pick_peer([(1, 10), (2, 12)], room=10) is None
    assert lifecycle.pick_peer([], room=10) is None


def test_a_merge_keeps_the_more_engaged_status():
    assert lifecycle.merged_status("prospect", "active") == "active"
    assert lifecycle.merged_status("completed", "paused") == "paused"
    assert lifecycle.merged_status("prospect", "prospect") == "prospect"
