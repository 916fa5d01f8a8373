"""The engine, with no database: small flows written inline, a fake locator, a fixed clock."""
from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone

import pytest

from core import engine
from core.effects import (CancelTimeout, EndConversation, Escalate, RecordEvent, Reply,
                         ScheduleTimeout, SetField, SetLanguage, StartFlow)
from core.flows import defaults
from core.flows.checker import stigma_hits
from core.flows.loader import load_text
from core.services import Context
from core.sms import count_segments
from tests.fakes import FakeServices

NOW = datetime(2025, 3, 3, 14, 0, tzinfo=timezone.utc)


def flow(text: str):
    definition, problems = load_text(text, "inline.yaml", version=3)
    assert definition is not None, problems
    return definition


def services(lang="en", **fields):
    return FakeServices(Context(lang=lang, fields=fields))


ASK = flow("""
schema: 1
name: demo
expires_after: 2d
timeout: {after: 4h}
nodes:
  mood:
    type: ask
    expect: number
    min: 1
    max: 5
    text: {en: "Hi {first_name|there}, 1-5?", es: "Hola {first_name|}, ¿1-5?"}
    save: mood
    next: route
  route:
    type: branch
    cases:
      - when: mood <= 2
        next: low
    else: fine
  low:
    type: escalate
    reason: struggling
    priority: "{prio|high}"
    note: "mood {mood}"
    next: bye
  fine:
    type: set
    fields: {last_mood: "{mood}"}
    add: {points: 2}
    next: bye
  bye:
    type: end
    outcome: done
    text: {en: "Thanks! Score {points}.", es: "¡Gracias! Puntos {points}."}
""")


def test_start_gives_first_prompt_and_json_state():
    out = engine.start(ASK, NOW, services())
    assert out.replies() == ["Hi there, 1-5?"]
    assert out.effects[-1] == ScheduleTimeout(NOW + timedelta(hours=4))
    state = json.loads(json.dumps(out.state))
    assert state == out.state
    assert {k: state[k] for k in ("flow", "version", "node", "lang", "waiting", "reasks")} == {
        "flow": "demo", "version": 3, "node": "mood", "lang": "en", "waiting": "answer", "reasks": 0}
    assert state["answers"] == {} and state["scores"] == {"points": 0}
    assert state["expires_at"] == (NOW + timedelta(days=2)).isoformat()


def test_step_branches_escalates_and_ends():
    state = engine.start(ASK, NOW, services()).state
    out = engine.step(ASK, state, "2", NOW, services())
    assert out.state is None
    assert out.effects == (Escalate("struggling", "high", "mood 2"), Reply("Thanks! Score 0."),
                           CancelTimeout(), EndConversation("done"))


def test_set_fields_keep_types_and_scores_add_up():
    state = engine.start(ASK, NOW, services()).state
    out = engine.step(ASK, state, "five", NOW, services())
    assert SetField("last_mood", 5) in out.effects
    assert Reply("Thanks! Score 2.") in out.effects


def test_step_is_pure_and_deterministic():
    state = engine.start(ASK, NOW, services()).state
    before = copy.deepcopy(state)
    a = engine.step(ASK, state, "4", NOW, services())
    b = engine.step(ASK, state, "4", NOW, services())
    assert state == before and a == b


def test_language_comes_from_context_then_from_state():
    out = engine.start(ASK, NOW, services(lang="es", first_name="Ana"))
    assert out.replies() == ["Hola Ana, ¿1-5?"]
    state = {**engine.start(ASK, NOW, services()).state, "lang": "es"}  # the runtime saw ESPAÑOL
    assert engine.step(ASK, state, "5", NOW, services()).replies() == ["¡Gracias! Puntos 2."]


def test_unreadable_answer_reasks_twice_then_moves_on():
    svc = services()
    state = engine.start(ASK, NOW, svc).state
    first = engine.step(ASK, state, "banana", NOW, svc)
    assert first.replies() == ["Sorry, I didn't catch that. Please reply with a number from 1 to 5."]
    assert first.state["reasks"] == 1 and first.state["node"] == "mood"
    second = engine.step(ASK, first.state, "9", NOW, svc)
    assert second.replies() == ["No worries. Just a number from 1 to 5 is fine."]
    third = engine.step(ASK, second.state, "purple", NOW, svc)
    assert third.replies()[0] == "No problem, let's keep going."
    assert RecordEvent("answer_not_understood", {"flow": "demo", "node": "mood"}) in third.effects
    assert third.state is None and third.effects[-1] == EndConversation("done")


def test_timeout_reminds_once_then_ends():
    svc = services()
    state = engine.start(ASK, NOW, svc).state
    early = engine.timeout(ASK, state, NOW + timedelta(hours=1), svc)
    assert early.effects == () and early.state == state  # stale or replaced timer: nothing
    at = NOW + timedelta(hours=4)
    remind = engine.timeout(ASK, state, at, svc)
    assert remind.replies() == ["Hi there, 1-5?"] and remind.state["reminded"] is True
    assert remind.effects[-1] == ScheduleTimeout(at + timedelta(hours=4))
    end = engine.timeout(ASK, remind.state, at + timedelta(hours=4), svc)
    assert end.state is None
    assert end.effects == (RecordEvent("timed_out", {"flow": "demo", "node": "mood"}), EndConversation("timed_out"))


def test_answer_after_reminder_resets_it():
    svc = services()
    state = engine.start(ASK, NOW, svc).state
    remind = engine.timeout(ASK, state, NOW + timedelta(hours=4), svc)
    out = engine.step(ASK, remind.state, "4", NOW + timedelta(hours=5), svc)
    assert out.replies() == ["Thanks! Score 2."]


def test_conversation_expires():
    svc = services()
    state = engine.start(ASK, NOW, svc).state
    later = NOW + timedelta(days=2)
    assert engine.expired(state, later) and not engine.expired(state, later - timedelta(seconds=1))
    out = engine.step(ASK, state, "4", later, svc)
    assert out.state is None and out.replies() == []
    assert out.effects[0] == CancelTimeout() and out.effects[-1] == EndConversation("expired")


def test_unknown_node_in_state_ends_with_error():
    state = {**engine.start(ASK, NOW, services()).state, "node": "gone"}
    out = engine.step(ASK, state, "1", NOW, services())
    assert out.state is None and out.effects[-1] == EndConversation("error")


CHOICES = flow("""
schema: 1
name: choices
params: [place]
nodes:
  pick:
    type: ask
    expect: choice
    optional: true
    text: {en: "1 tea, 2 coffee", es: "1 té, 2 café"}
    choices:
      - value: tea
        words: {en: [tea], es: [té]}
        add: {score: 1}
        next: chose
      - value: coffee
        words: {en: [coffee], es: [café]}
        next: chose
    next: skipped
  chose:
    type: set
    language: "{lang_pick|es}"
    next: done
  skipped:
    type: flow
    flow: other
    params: {from: "{pick|none}", where: "{place}"}
  done:
    type: end
    text: {en: "Picked {pick}.", es: "Elegiste {pick}."}
""")


def test_choice_by_word_in_either_language_sets_language():
    out = engine.step(CHOICES, engine.start(CHOICES, NOW, services()).state, "un café", NOW, services())
    assert out.effects == (SetLanguage("es"), Reply("Elegiste coffee."), EndConversation("completed"))


def test_skip_goes_on_and_flow_node_hands_off_with_params():
    state = engine.start(CHOICES, NOW, services(), params={"place": "60614"}).state
    out = engine.step(CHOICES, state, "skip", NOW, services())
    assert out.state is None
    assert out.effects == (EndConversation("completed"), StartFlow("other", {"from": "none", "where": "60614"}))


def test_follow_starts_the_next_flow_with_fresh_fields():
    other = flow("""
schema: 1
name: other
nodes:
  hi:
    type: end
    text: {en: "From {from}, {first_name}.", es: "De {from}, {first_name}."}
""")
    out = engine.Outcome(None, (SetField("first_name", "Sam"), EndConversation(), StartFlow("other", {"from": "x"})))
    followed = engine.follow(out, {"other": other}.get, NOW, services())
    assert followed.replies() == ["From x, Sam."]
    assert followed.effects[-1] == EndConversation("completed")


LOCATE = flow("""
schema: 1
name: find
keyword_rest: place
timeout: {after: 1h}
nodes:
  look:
    type: locate
    need: naloxone
    place: "{place}"
    next: bye
  bye:
    type: end
""")


def test_locator_asks_for_a_place_then_remembers_it():
    svc = services()
    first = engine.start(LOCATE, NOW, svc)
    assert first.replies() == ["What's your ZIP code or town? I'll look for places near you."]
    assert first.state["waiting"] == "place"
    out = engine.step(LOCATE, first.state, "60614", NOW, svc)
    assert SetField("last_place", {"text": "60614"}) in out.effects
    assert RecordEvent("locator", {"need": "naloxone", "status": "found", "sites": 1}) in out.effects
    assert svc.calls[-1] == ("naloxone", "60614", "en", None)


def test_locator_uses_a_place_given_with_the_keyword_and_a_known_place():
    svc = services(last_place={"text": "10001"})
    out = engine.start(LOCATE, NOW, svc, params={"place": "60614"})
    assert out.state is None and svc.calls == [("naloxone", "60614", "en", {"text": "10001"})]


def test_locator_gives_up_after_two_retries_and_no_moves_on():
    svc = services()
    state = engine.start(LOCATE, NOW, svc).state
    for _ in range(2):
        state = engine.step(LOCATE, state, "Springfield", NOW, svc).state
        assert state is not None
    out = engine.step(LOCATE, state, "Springfield", NOW, svc)
    assert out.replies() == [defaults.LOCATE_GIVE_UP.get("en")] and out.state is None
    declined = engine.step(LOCATE, engine.start(LOCATE, NOW, svc).state, "no", NOW, svc)
    assert declined.state is None and declined.replies() == []


def test_loop_guard_ends_instead_of_spinning():
    looped = flow("""
schema: 1
name: loop
nodes:
  a: {type: set, add: {n: 1}, next: b}
  b: {type: set, add: {n: 1}, next: a}
""")
    out = engine.start(looped, NOW, services())
    assert out.state is None and out.effects[-1] == EndConversation("error")


def test_unknown_priority_falls_back_to_normal():
    d = flow("""
schema: 1
name: esc
nodes:
  e: {type: escalate, reason: "{why|peer_request}", priority: "{p}", next: x}
  x: {type: end}
""")
    out = engine.start(d, NOW, services(), params={"p": "whenever"})
    assert out.effects[0] == Escalate("peer_request", "normal", "")


@pytest.mark.parametrize("kind, text", list(defaults.all_texts()))
def test_default_texts_are_translated_short_and_person_first(kind, text):
    assert set(text.by_lang) == {"en", "es"}
    for lang, s in text.by_lang.items():
        assert count_segments(s.replace("{count}", "10").replace("{min}", "100").replace("{max}", "1000")).segments <= 2
        assert list(stigma_hits(s, lang)) == []


# -- properties over the shipped flows -----------------------------------------------------
from hypothesis import given, settings, strategies as st  # noqa: E402

from core.flows.registry import load_registry  # noqa: E402
from tests.flows.golden import FLOWS  # noqa: E402

SHIPPED = load_registry(FLOWS)
ANSWERS = st.one_of(
    st.sampled_from(["1", "2", "3", "4", "5", "yes", "no", "sí", "skip", "60614", "Springfield",
                     "9am", "mañana", "Maria", "0", "", "?", "STOP", "not sure"]),
    st.text(max_size=40))


@settings(max_examples=60, deadline=None)
@given(name=st.sampled_from(sorted(SHIPPED.flows)), lang=st.sampled_from(["en", "es"]),
       messages=st.lists(ANSWERS, min_size=1, max_size=8))
def test_every_message_gets_an_answer_and_state_stays_json(name, lang, messages):
    """No dead ends: whatever the person texts, a waiting conversation answers or finishes."""
    svc = services(lang=lang)
    out = engine.start(SHIPPED.get(name), NOW, svc)
    for text in messages:
        if out.state is None:
            break
        assert json.loads(json.dumps(out.state)) == out.state
        out = engine.step(SHIPPED.get(out.state["flow"]), out.state, text, NOW, svc)
        assert out.state is None or out.replies(), (name, text)
        assert EndConversation("error") not in out.effects


def test_repeat_resends_the_question_in_the_new_language():
    state = {**engine.start(ASK, NOW, services()).state, "lang": "es"}
    assert engine.repeat(ASK, state, services()).replies() == ["Hola, ¿1-5?"]
    assert engine.repeat(ASK, None, services()).effects == ()
