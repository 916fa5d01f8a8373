"""What to do with one inbound text: the whole decision, pure.

Order matters and is the safety policy: opt-out keywords (STOP always works), then emergency
and crisis detection (answered even for someone who opted out: they wrote first), then the
other keywords, then the flows. Someone opted out gets nothing else back.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core import engine, keywords, messages, replies, safety, understand
from core.flows import answers
from core.effects import (CancelTimeout, EndConversation, Escalate, OptIn, OptOut, Outcome,
                         RecordEvent, Reply, SetField, SetLanguage)
from core.services import Services


@dataclass(frozen=True)
class Person:
    opted_out: bool = False
    lang: str = "en"
    new: bool = False           # this is the first thing they ever sent us


MENU_WORDS = {"menu", "opciones", "inicio"}
MORE_WORDS = {"more", "mas"}
WELCOME_FLOW = "welcome"


@dataclass(frozen=True)
class Flows:
    """The flows as this message sees them: the latest published set (for trigger words, the
    menu and new conversations) and the definition the running conversation started on."""
    registry: object            # core.flows.registry.Registry
    current: object = None      # core.flows.schema.Definition of the running conversation


def _say(key: str, lang: str, services: Services, **extra) -> Reply:
    if services.context.channel == "webchat" and messages.has(key + "_chat"):
        key += "_chat"      # web chat is not texting: no message rates, no "stop texts"
    return Reply(messages.text(key, lang, program=services.context.program_name, **extra))


SAFETY_FOLLOW_UP = timedelta(minutes=30)     # a text this soon after the 911 or 988 answer follows it


def _answered_lately(services: Services, now: datetime, kind: str) -> bool:
    """Were the 911 steps ("emergency") or the 988 answer ("crisis") sent less than half an hour ago?"""
    at = services.context.fields.get(f"last_{kind}_at")
    try:
        return bool(at) and timedelta(0) <= now - datetime.fromisoformat(at) <= SAFETY_FOLLOW_UP
    except (TypeError, ValueError):
        return False


def _safety_follow_up(services: Services, now: datetime) -> str | None:
    """The message for a text that follows the 911 steps or the 988 answer by minutes, if any."""
    if _answered_lately(services, now, "emergency"):
        return "emergency_after"
    return "crisis_followup" if _answered_lately(services, now, "crisis") else None


def _switch_language(target: str, state: dict | None, flows: Flows | None, services: Services) -> Outcome:
    """ESPAÑOL, or "english please" while a question waits: their choice from now on, then the
    waiting question again, in it."""
    effects = [SetLanguage(target), SetField("lang_chosen", target), _say("language_set", target, services)]
    if state and flows is not None and flows.current is not None:
        state = dict(state, lang=target)
        effects += engine.repeat(flows.current, state, services).effects
    return Outcome(state, tuple(effects))


def _aside(key: str, lang: str, state: dict, flows: Flows, services: Services) -> Outcome:
    """A word about what they said instead of an answer ("Hey, good to hear from you"), then the
    waiting question again: no "Sorry, I didn't catch that", no re-ask used up."""
    svc = replies.in_lang(services, lang)
    return Outcome(state, (_say(key, lang, svc), *engine.repeat(flows.current, state, svc).effects))


def _side_question(u, body: str, model, registry, now: datetime, state: dict, flows: Flows,
                   services: Services, begin) -> Outcome | None:
    """"who gave u my number" or "does narcan work on fentanyl" while the welcome waits: the
    answer, then the welcome's question again, and the welcome goes on, so a side question never
    costs someone their sign-up. None when the answer is two texts already (a list of places) or
    asks a question of its own (a town to pick): then the welcome gives way, as to any request."""
    lang, keep = replies.reply_lang(u, services, len(body.split()))
    answered = replies.answer(u, body, model, registry, now, replies.in_lang(services, lang), begin)
    if answered.state is not None or len(answered.replies()) != 1 or any(
            isinstance(e, SetField) and e.name == "locator_pending" for e in answered.effects):
        return None
    state = dict(state, lang=lang) if keep else state
    again = engine.repeat(flows.current, state, replies.in_lang(services, state.get("lang") or lang)).effects
    return Outcome(state, keep + tuple(answered.effects) + tuple(again))


def decide(text: str, num_media: int, person: Person, state: dict | None, now: datetime,
           services: Services, flows: Flows | None = None, model: understand.Model | None = None) -> Outcome:
    body = (text or "").strip()
    model = model or understand.default_model()
    lang = person.lang
    kw = keywords.match(body) if body else None

    if kw and kw.kind == "opt_out":
        # Twilio's own STOP handling sends the carrier-compliant confirmation on SMS, for its
        # English words only: PARAR, ALTO, DETENER get ours, once, in Spanish (else: silence).
        if kw.lang == "es" and not person.opted_out:
            return Outcome(None, (OptOut(kw.word), _say("opted_out", "es", services)))
        return Outcome(None, (OptOut(kw.word),))

    asked = replies.waiting_kind(flows.current, state) if flows is not None else None
    verdict = safety.classify(body, learned_half=not understand.plain_answer(body, asked)) if body else None
    if verdict and verdict.kind:
        # The language the text is written in: a Spanish crisis text is answered in Spanish.
        reply_lang = model.language_of(body, model.normalise(body)) or verdict.lang_hint or lang
        if verdict.kind == "emergency" and _answered_lately(services, now, "emergency"):
            # "i gave him the narcan what now", minutes after the 911 steps: what comes next, in
            # one text, not the same two again. The peer sees every update on the urgent ticket.
            effects = [_say("emergency_followup", reply_lang, services),
                       Escalate("emergency", "urgent", f"classifier: {verdict.matched}")]
        elif verdict.kind == "emergency":
            effects = [_say("emergency", reply_lang, services)]
            if messages.has("emergency_2"):
                effects.append(_say("emergency_2", reply_lang, services))
            effects.append(Escalate("emergency", "urgent", f"classifier: {verdict.matched}"))
        else:
            effects = [_say("crisis", reply_lang, services),
                       Escalate("crisis", "urgent", f"classifier: {verdict.matched}")]
        effects.append(SetField(f"last_{verdict.kind}_at", now.isoformat()))
        effects.append(RecordEvent("safety", {"kind": verdict.kind}))
        if reply_lang != lang and not replies.chosen_lang(services) and len(body.split()) >= 3:
            effects.append(SetLanguage(reply_lang))     # "si" after "ya no quiero vivir" is Spanish too
        if state is not None and state.get("waiting"):
            # The check-in's 1-5 (or any question) is moot now: what they text next is about this,
            # and must never get "Sorry, I didn't catch that. Reply 1 to 5".
            effects = [CancelTimeout(), EndConversation("interrupted"), *effects]
            state = None
        return Outcome(state, tuple(effects))

    if kw and kw.kind == "opt_in" and (person.opted_out or not kw.only_when_opted_out):
        return Outcome(None, (OptIn(kw.word), _say("opted_in", lang, services)))

    if kw and kw.kind == "help":
        return Outcome(state, (_say("help", kw.lang or lang, services),))

    if person.opted_out:
        return Outcome(state, ())

    if kw and kw.kind == "language" and not engine.offers(flows.current if flows else None, state, body):
        # (ESPAÑOL sent to the welcome's "which language?" answers it: the flow takes it below.)
        return _switch_language(kw.value, state, flows, services)

    if not body:
        return Outcome(state, (_say("media_only" if num_media else "empty", lang, services),))

    if flows is None:
        return Outcome(state, (_say("menu", lang, services),))
    return converse(body, state, flows, now, services, first_contact=person.new, model=model)


def converse(body: str, state: dict | None, flows: Flows, now: datetime, services: Services,
             first_contact: bool = False, model: understand.Model | None = None) -> Outcome:
    """Trigger words start their flow from any state (unless the waiting question offers that
    very word as a choice); then the understanding step reads the text: a confident request
    that is not an answer to the waiting question interrupts it; otherwise the message answers
    the waiting question; a menu number starts a flow; a first text that is a request is
    answered (the welcome follows); any other first text starts the welcome; anything else is
    answered as understood, or gets one clarifying question."""
    model = model or understand.default_model()
    registry, prefix = flows.registry, ()
    if state is not None and engine.expired(state, now):
        prefix, state = engine.step(flows.current, state, body, now, services).effects, None

    word = keywords.normalise(body).lower().strip(" .!?")
    last_place = services.context.fields.get("last_place") or {}
    if word in MORE_WORDS and "lat" in last_place:   # a waiting question stays open
        result = services.more(services.context.lang, last_place)
        effects = tuple(Reply(t) for t in result.texts)
        if result.place:
            effects += (SetField("last_place", dict(result.place)),)
        return Outcome(state, prefix + effects + (RecordEvent("locator", {"need": last_place.get("need"),
                                                                          "status": "more", "sites": result.sites}),))

    if word in MORE_WORDS:          # nothing listed yet to show more of (and "more" is no stop)
        if state is not None and flows.current is not None and state.get("waiting"):
            return Outcome(state, prefix + engine.repeat(flows.current, state, services).effects)
        pending = replies.pending_place(services, now)
        key = "more_pick" if pending and pending.get("options") else "more_none"
        lang = replies.chosen_lang(services) or ("es" if word == "mas" else services.context.lang)
        return Outcome(state, prefix + (_say(key, lang, services),))

    if word in MENU_WORDS:
        if state is not None:
            prefix += (CancelTimeout(), EndConversation("menu"))
        if services.context.fields.get("locator_pending"):
            prefix += (SetField("locator_pending", None),)   # "4" after MENU is the menu's 4, not a city
        return Outcome(None, prefix + (_say("menu", services.context.lang, services),))

    route = None if engine.offers(flows.current, state, body) else registry.route(body)
    if route is not None:
        if state is not None:
            prefix += (CancelTimeout(), EndConversation("interrupted"))
        # "NALOXONA 60614": answer in Spanish from now on. Not the other way: the flyers' words
        # (CHECKIN, NALOXONE) are English for everyone, so one never moves a Spanish speaker.
        if route.lang and route.lang not in (services.context.lang, "en") and not replies.chosen_lang(services):
            prefix += (SetLanguage(route.lang),)
        return _begin(registry, route.flow, route.params, prefix, now, services)

    waiting = state is not None and flows.current is not None and bool(state.get("waiting"))
    pending = replies.pending_place(services, now)
    pending_answered = bool(pending) and replies.answers_pending(body, pending, model)
    picks_place = pending_answered and bool(pending.get("options"))
    # ("1" after "Which one? 1) Cleveland, OH; 2) ..." picks Cleveland, not the menu's 1)
    choice = None if waiting or picks_place else registry.menu_choice(body)
    if choice is not None:
        follow_up = _safety_follow_up(services, now)
        if follow_up:       # "1" minutes after the 988 answer is how they are, not the menu's first choice
            return Outcome(state, prefix + (_say(follow_up, services.context.lang, services),))
        return _begin(registry, choice, {}, prefix, now, services)
    u = understand.understand(body, model, replies.waiting_kind(flows.current, state) if waiting else None)

    def begin(name, params, pre, svc):     # the caller adds `prefix` in front
        return _begin(registry, name, params, pre, now, svc)

    if (waiting and u.intent == "language" and replies.is_request(u)
            and not replies.answers_node(flows.current, state, body, now.date())):
        # "english please" while "OK if we text you?" waits: as ENGLISH is, then the question again
        target = u.target_lang or u.lang or services.context.lang
        return _with_prefix(prefix, _switch_language(target, state, flows, services))
    moved = answers.new_checkin_time(body) if services.context.fields.get("consent") is True else None
    if moved and u.intent not in ("talk_to_person", "find_place", "question", "join") and not (
            waiting and replies.answers_node(flows.current, state, body, now.date())):
        # "can you text me at 6pm instead" (read as anything but a request for a person or places,
        # and no answer to the question waiting): the check-ins move to that time (replanned);
        # "me pueden escribir a las 7pm en vez de..." is no STOP and no wrong 1-5 answer
        if waiting:
            prefix += (CancelTimeout(), EndConversation("interrupted"))
        lang = replies.reply_lang(u, services, len(body.split()))[0]
        return Outcome(None, prefix + (SetField("checkin_time", moved),
                                       _say("time_changed", lang, services, time=answers.time_in_words(moved))))
    if waiting and not replies.interrupts(u, flows.current, state, body, now.date()):
        lang, keep = replies.reply_lang(u, services, len(body.split()))
        if keep:                                   # written in the other language: follow it
            state, prefix = dict(state, lang=lang), prefix + keep
        if replies.says_hello(u) and not replies.answers_node(flows.current, state, body, now.date()):
            # "hey hows ur day" while 1-5 waits: a hello, not a wrong answer. Say hello and ask
            # again, instead of "Sorry, I didn't catch that" (no re-ask is used up).
            return _with_prefix(prefix, _aside("hello_midflow", state.get("lang") or lang, state, flows, services))
        mood = None if flows.current.name == "checkin" else replies.told_mood(u, body, model)
        if mood and not replies.answers_node(flows.current, state, body, now.date()):
            said = "mood_midflow_bad" if mood == "bad" else "mood_midflow"
            return _with_prefix(prefix, _aside(said, state.get("lang") or lang, state, flows, services))
        if flows.current.name == "checkin":
            node = flows.current.nodes.get(state.get("node"))
            body = replies.mood_heard(u, node, body, model, state.get("lang") or lang, now.date()) or body
        outcome = engine.step(flows.current, state, body, now, replies.in_lang(services, state.get("lang") or lang))
        return _with_prefix(prefix, _chosen(engine.follow(outcome, registry.get, now, services)))
    if waiting and flows.current.name == WELCOME_FLOW and u.intent in ("question", "find_place"):
        aside = _side_question(u, body, model, registry, now, state, flows, services, begin)
        if aside is not None:
            return _with_prefix(prefix, aside)
    if waiting:
        prefix += (CancelTimeout(), EndConversation("interrupted"))
        state = None

    if pending_answered and not (replies.is_request(u) and u.intent != "find_place"):
        lang = replies.reply_lang(u, services, len(body.split()))[0]
        return Outcome(state, prefix + replies.locate(u.need if u.intent == "find_place" else None, body,
                                                      lang, replies.in_lang(services, lang), now, pending))

    fields = services.context.fields
    welcome = registry.get(WELCOME_FLOW) is not None and fields.get("consent") is None
    home = fields.get("release_date")
    out = answers.released_news(body, services.context.lang, now.date()) if (
        fields.get("consent") is True and (not home or home >= now.date().isoformat())) else None
    if out is not None and not (replies.is_request(u) and u.intent not in ("checkin", "join")):
        # "im out!! just got out this morning" from someone not home yet (a day to come, or none
        # given): welcome them home, and the day they name (today unless another) is day 0 from
        # now on (replanned). Someone home already keeps their day ("just got home from work").
        lang = replies.reply_lang(u, services, len(body.split()))[0]
        said = () if home == out.isoformat() else (SetField("release_date", out.isoformat()),)
        return Outcome(state, prefix + said + (_say("welcome_home", lang, services),))
    if u.intent == "join" and replies.is_request(u):
        lang = replies.reply_lang(u, services, len(body.split()))[0]
        if registry.get(WELCOME_FLOW) is None or fields.get("consent") is True:
            return Outcome(state, prefix + (_say("join_already", lang, services),))
        # "how do i sign up for the check ins": what JOIN does (after a no too: a change of mind)
        if lang != services.context.lang and not replies.chosen_lang(services):
            prefix += (SetLanguage(lang),)
        if fields.get("welcome_offered"):
            prefix += (SetField("welcome_offered", None),)
        return _begin(registry, WELCOME_FLOW, {}, prefix, now, engine.with_effects(services, prefix))
    if first_contact and replies.is_request(u) and u.intent != "language":
        # Their request first; the welcome (and consent) follows on their next text.
        outcome = _with_prefix(prefix, replies.answer(u, body, model, registry, now, services, begin))
        if u.intent == "stop_request" or not welcome:
            return outcome
        extra = (SetField("welcome_offered", True),)
        lang = (outcome_lang(outcome, services) if any(isinstance(e, SetLanguage) for e in outcome.effects)
                else replies.reply_lang(u, services, len(body.split()))[0])    # the answer's language
        if len(outcome.replies()) == 1:
            extra += (_say("join_invite", lang, services),)
        return Outcome(outcome.state, outcome.effects + extra)
    follow_up = _safety_follow_up(services, now) if u.intent in ("unclear", "greeting", "thanks", "checkin") else None
    if follow_up:
        # "ok they coming", "thank u fr" minutes after the 911 steps: what to do until help comes;
        # "no se", "estoy solo en el cuarto" after the 988 answer: stay with them. One text, not
        # "places or a peer?" nor the check-in's "hard days happen" (the peer has the urgent ticket)
        lang = replies.reply_lang(u, services, len(body.split()))[0]
        return Outcome(state, prefix + (_say(follow_up, lang, services),))
    offered = fields.get("welcome_offered") and not first_contact
    if welcome and not replies.is_request(u) and (
            first_contact or (offered and (answers.yes_no(body) is True or u.intent == "greeting"))):
        # After their first request and "Want check-ins...? Reply JOIN.": a yes (or a hello)
        # starts the welcome; anything else is answered as itself ("what about food", "thanks").
        if u.lang and u.lang != services.context.lang and not replies.chosen_lang(services):
            prefix += (SetLanguage(u.lang),)
        if fields.get("welcome_offered"):
            prefix += (SetField("welcome_offered", None),)
        return _begin(registry, WELCOME_FLOW, {}, prefix, now, engine.with_effects(services, prefix))
    if first_contact and u.intent == "language" and welcome:
        target = u.target_lang or u.lang or services.context.lang
        prefix += (SetLanguage(target), SetField("lang_chosen", target))
        return _begin(registry, WELCOME_FLOW, {}, prefix, now, engine.with_effects(services, prefix))
    return _with_prefix(prefix, _follow(replies.answer(u, body, model, registry, now, services, begin),
                                        registry, now, services))


def outcome_lang(outcome: Outcome, services: Services) -> str:
    langs = [e.language for e in outcome.effects if isinstance(e, SetLanguage)]
    state_lang = (outcome.state or {}).get("lang")
    return langs[-1] if langs else state_lang or services.context.lang


def _follow(outcome: Outcome, registry, now: datetime, services: Services) -> Outcome:
    return engine.follow(outcome, registry.get, now, services)


def _chosen(outcome: Outcome) -> Outcome:
    """A language a flow set (the welcome's "which language?") is the person's own choice."""
    langs = [e.language for e in outcome.effects if isinstance(e, SetLanguage)]
    if not langs:
        return outcome
    return Outcome(outcome.state, tuple(outcome.effects) + (SetField("lang_chosen", langs[-1]),))


def _begin(registry, name: str, params: dict, prefix: tuple, now: datetime, services: Services) -> Outcome:
    outcome = engine.start(registry.get(name), now, engine.with_effects(services, prefix), params)
    return _with_prefix(prefix, engine.follow(outcome, registry.get, now, services))


def _with_prefix(prefix: tuple, outcome: Outcome) -> Outcome:
    return Outcome(outcome.state, prefix + tuple(outcome.effects)) if prefix else outcome
