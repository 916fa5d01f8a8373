"""What to answer a text the understanding step read (core/understand.py), pure.

conversation.converse() decides *whether* an understood request is answered (it may be the
answer to a waiting question instead); this module says *what* the answer is: places from the
locator, the peer flow, how to stop, a shipped Q&A answer, a check-in, a language switch, a
short warm reply, or one clarifying question naming the two likeliest things (never the menu).
"""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from core import engine, messages, places
from core.effects import Outcome, RecordEvent, Reply, SetField, SetLanguage
from core.flows import answers
from core.understand import THRESHOLD, STRONG, Model, Understanding, just_a_word, names_a_place, understand

# Intents that ask for something: answered even when a question waits, if the text is not its answer.
REQUESTS = frozenset({"find_place", "talk_to_person", "stop_request", "question", "language", "checkin", "join"})
PENDING_FOR = timedelta(hours=2)      # "what ZIP are you in?" is answered by the next text or two
MOOD_ANSWER = {"good": "4", "okay": "3", "bad": "2"}   # the check-in's 1-5 scale
WAITING_KINDS = {"yesno": "yes_no", "choice": "choice", "number": "number", "date": "date",
                 "time": "time", "name": "free_text", "free_text": "free_text", "zip": "place",
                 "place": "place"}
CLARIFY_DEFAULTS = ("find_place", "talk_to_person")
# The answer to "Do you want an answer to a question, or places near you?" that picks the question.
ASKS_TO_ASK = frozenset({"question", "a question", "an answer", "answer", "the question", "the answer",
                         "i have a question", "got a question", "pregunta", "una pregunta", "respuesta",
                         "una respuesta", "la pregunta", "tengo una pregunta"})


def chosen_lang(services) -> str | None:
    """The language the person picked themselves (ESPAÑOL, ENGLISH, the welcome's question)."""
    return services.context.fields.get("lang_chosen")


def is_request(u: Understanding) -> bool:
    return u.intent in REQUESTS and u.confidence >= THRESHOLD


def waiting_kind(definition, state: dict | None) -> str | None:
    """The kind of question a conversation waits on, in understand()'s words."""
    if not state or not state.get("waiting") or definition is None:
        return None
    node = definition.nodes.get(state.get("node"))
    if node is None:
        return None
    if node.type == "locate" or state.get("waiting") == "place":
        return "place"
    return WAITING_KINDS.get(node.expect, "free_text")


def interrupts(u: Understanding, definition, state: dict, body: str, today) -> bool:
    """A confident request that is not an answer to the waiting question ends the conversation
    (RapidPro's interrupt). Questions anything reads as an answer to (a name, free text, a
    number) give way only to a very confident request."""
    if not is_request(u):
        return False
    node = definition.nodes.get(state.get("node"))
    if node is None:
        return True
    if node.type == "locate":
        if u.intent == "find_place" and not u.need:
            return False          # a place (even one that does not exist) answers "where are you?"
        if u.intent == "checkin" and u.confidence >= STRONG and not names_a_place(body):
            return True           # "fine i guess" is how they are, not Fine, NY
        found = places.resolve(body)
        return not (isinstance(found, (places.Place, places.Ambiguous)) or answers.is_skip(body)
                    or answers.yes_no(body) is False)
    if not answers_node(definition, state, body, today):
        # How they are is no reason to leave the check-in, or the welcome (a word about it, then
        # the welcome's question again: see conversation.converse).
        return not (definition.name in ("checkin", "welcome") and u.intent == "checkin")
    # A readable answer gives way only to a clear request in a sentence ("today" answers "what day?");
    # "español x fa" to "which language?" is the answer, not a request to leave the welcome for.
    return u.intent not in ("checkin", "language") and u.confidence >= STRONG and len(body.split()) >= 3


def told_mood(u: Understanding, body: str, model: Model) -> str | None:
    """How they are, when that is what a text the waiting question could not take says: the
    step's check-in, or its likeliest reading of a text it left to the question."""
    if u.intent == "checkin":
        return u.mood
    if u.intent == "unclear" and u.answer and u.alternatives[:1] == ("checkin",) and u.confidence >= THRESHOLD:
        again = understand(body, model)           # read as if nothing waited: it has a mood then
        return again.mood if again.intent == "checkin" else None
    return None


def says_hello(u: Understanding) -> bool:
    """A hello, or a short text the step left to the waiting question that reads most as one
    ("buenas q tal" while a 1-5 menu waits: three words could be a choice's label)."""
    return u.intent == "greeting" or (u.intent == "unclear" and bool(u.answer) and u.alternatives[:1] == ("greeting",)
                                      and u.confidence >= THRESHOLD)


def answers_node(definition, state: dict, body: str, today) -> bool:
    """Does `body` answer the question waiting, as the flow engine will read it?"""
    node = definition.nodes.get(state.get("node"))
    if node is None or node.type == "locate":
        return node is not None and isinstance(places.resolve(body), (places.Place, places.Ambiguous))
    return answers.read(node, body, state.get("lang") or "en", today).status in ("ok", "skip")


def mood_text(u: Understanding, node, body: str, lang: str, today) -> str:
    """The text to feed the check-in's mood question: the person's own words when it reads
    them ("not great" is 2), else the mood the model heard, on the 1-5 scale."""
    if node is not None and answers.read(node, body, lang, today).status == "ok":
        return body
    return MOOD_ANSWER.get(u.mood or "okay", "3")


MOOD_SURE = 0.6     # "yeah i guess" (0.62) is how they are; "last week" (0.53) is not


def mood_heard(u: Understanding, node, body: str, model: Model, lang: str, today) -> str | None:
    """While the check-in's 1-5 question waits: the mood a text in words says ("eh not great",
    "could be better"), on the 1-5 scale, when the question cannot read it itself; else None
    (the question answers "Sorry, I didn't catch that" as before: nothing is recorded unheard)."""
    if node is None or node.expect != "choice" or answers.read(node, body, lang, today).status == "ok":
        return None
    if u.intent != "checkin":
        u = understand(body, model)
        if u.intent != "checkin" or u.confidence < MOOD_SURE:
            return None
    return MOOD_ANSWER.get(u.mood or "okay", "3")


def in_lang(services, lang: str):
    """`services` as seen when answering in `lang` (this reply only, unless persisted)."""
    if lang == services.context.lang:
        return services
    return _Lang(dataclasses.replace(services.context, lang=lang), services)


class _Lang:
    def __init__(self, context, inner):
        self.context, self._inner = context, inner

    def locate(self, *args, **kwargs):
        return self._inner.locate(*args, **kwargs)

    def more(self, *args, **kwargs):
        return self._inner.more(*args, **kwargs)


def reply_lang(u: Understanding, services, words: int) -> tuple[str, tuple]:
    """The language to answer in, and the effect that keeps it: a text clearly in a language is
    answered in it; it sticks unless the person chose their language explicitly."""
    current = services.context.lang
    if not u.lang or u.lang == current:
        return current, ()
    if chosen_lang(services) is None and words >= 3:
        return u.lang, (SetLanguage(u.lang),)
    return u.lang, ()


def say(key: str, lang: str, services, **extra) -> Reply:
    return Reply(messages.text(key, lang, program=services.context.program_name, **extra))


def clarify(u: Understanding, model: Model, lang: str, services) -> Reply:
    """One short question naming the two likeliest things; a text with no words gets a short
    note of what we can do instead."""
    if not u.alternatives:
        return say("unreadable", lang, services)
    never = {"checkin", "stop_request", "language"} | ({"join"} if services.context.fields.get("consent") else set())
    picks = [a for a in u.alternatives if a in REQUESTS - never]    # no "sign up?" to someone signed up
    picks += [d for d in CLARIFY_DEFAULTS if d not in picks]
    a, b = (model.labels[p][lang] for p in picks[:2])
    return say("clarify", lang, services, a=a, b=b)


def locate(need: str | None, place_text: str | None, lang: str, services, now: datetime,
           pending: dict | None = None) -> tuple:
    """Ask the locator; remember the place it found, or that it asked where (for the next text)."""
    fields = services.context.fields
    last = dict(fields.get("last_place") or {})
    if pending:
        last.update({k: v for k, v in pending.items() if k != "asked_at"})
    need = need or last.get("need") or "any"
    result = services.locate(need, place_text, lang, last or None)
    effects: list = [Reply(t) for t in result.texts]
    if result.status in ("need_place", "ambiguous"):
        effects.append(SetField("locator_pending", {**dict(result.place or {}), "need": need,
                                                    "asked_at": now.isoformat()}))
    else:
        if result.place:
            effects.append(SetField("last_place", dict(result.place)))
            zone = engine.home_timezone(dict(result.place), fields, services.context.timezone)
            if zone:
                effects.append(SetField("timezone", zone))
        if fields.get("locator_pending"):
            effects.append(SetField("locator_pending", None))
    effects.append(RecordEvent("locator", {"need": need, "status": result.status, "sites": result.sites,
                                           "via": "understanding"}))
    return tuple(effects)


def pending_place(services, now: datetime) -> dict | None:
    """The locator's unanswered "where are you?" question, while it is fresh."""
    pending = services.context.fields.get("locator_pending")
    if not isinstance(pending, dict) or not pending.get("asked_at"):
        return None
    try:
        asked = datetime.fromisoformat(pending["asked_at"])
        return pending if timedelta(0) <= now - asked <= PENDING_FOR else None
    except (TypeError, ValueError):
        return None


def answers_pending(body: str, pending: dict, model: Model) -> bool:
    """Does this text answer the locator's question: a place, or one of the offered options?"""
    if just_a_word(body, model):
        return False            # "ayer" (to "what day did you get home?", an hour later)
    if pending.get("options"):
        opts = [places.Place.from_dict(o) for o in pending["options"]]
        if places.choose(opts, body):
            return True
    return isinstance(places.resolve(body), (places.Place, places.Ambiguous))


def answer(u: Understanding, body: str, model: Model, registry, now: datetime, services, begin) -> Outcome:
    """The reply to an understood text with no conversation waiting for it. `begin(name,
    params, prefix, services)` starts a flow the way converse() does."""
    lang, keep = reply_lang(u, services, len(body.split()))
    if u.intent == "language":
        target = u.target_lang or u.lang or services.context.lang
        return Outcome(None, (SetLanguage(target), SetField("lang_chosen", target),
                              say("language_set", target, services)))
    svc = in_lang(services, lang)
    remembered = (services.context.fields.get("last_place") or {}).get("need")
    if u.intent == "find_place" and not (u.need or u.place or remembered):
        # "necesito ayuda": places of no kind, anywhere. What kind is the one question to ask,
        # not "what ZIP are you in?" (and then clinics, shelters and naloxone all at once).
        return Outcome(None, keep + (say("which_place", lang, services),))
    if u.intent == "find_place":
        place_text = None if u.place in (None, "near me") else u.place
        return Outcome(None, keep + locate(u.need, place_text, lang, svc, now))
    if u.intent == "talk_to_person" and registry.get("peer") is not None:
        return begin("peer", {"reason": "peer_request"}, keep, svc)
    if u.intent == "stop_request":
        return Outcome(None, keep + (say("stop_how", lang, services),
                                     RecordEvent("understood", {"intent": "stop_request"})))
    if u.intent == "question" and u.topic in model.answers:
        text = model.answers[u.topic][lang].format(program=services.context.program_name)
        return Outcome(None, keep + (Reply(text), RecordEvent("question", {"topic": u.topic})))
    if u.intent == "checkin" and registry.get("checkin") is not None:
        return checkin(u, body, registry.get("checkin"), now, svc, keep)
    if u.intent in ("greeting", "thanks"):
        return Outcome(None, keep + (say(u.intent, lang, services),))
    if u.intent == "question" and is_request(u):
        # asked plainly, and no answer of ours fits: say so and who can help, not "a question, or places?"
        return Outcome(None, keep + (say("question_unknown", lang, services),
                                     RecordEvent("question", {"topic": None})))
    if answers.normalize(body) in ASKS_TO_ASK:
        return Outcome(None, keep + (say("ask_away", lang, services),))
    return Outcome(None, keep + (clarify(u, model, lang, services),))


def checkin(u: Understanding, body: str, definition, now: datetime, services, prefix: tuple = ()) -> Outcome:
    """"not great today" with no check-in running: start the check-in at its mood question,
    silently (the text already answered it), and read the text as the answer."""
    started = engine.start(definition, now, services).state
    if not started or not started.get("waiting"):
        return Outcome(None, prefix)
    state = {**started, "timeout_at": None}
    node = definition.nodes.get(state["node"])
    outcome = engine.step(definition, state, mood_text(u, node, body, state["lang"], now.date()), now, services)
    return Outcome(outcome.state, prefix + tuple(outcome.effects))
