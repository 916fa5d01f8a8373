"""What to do with one inbound text: the whole decision, pure.

Order matters and is the safety policy: opt-out keywords (STOP always works), then emergency
and crisis detection (answered even for someone who opted out: they wrote first), then the
other keywords, then the flows. Someone opted out gets nothing else back.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot import keywords, messages, safety
from bot.effects import Escalate, OptIn, OptOut, Outcome, RecordEvent, Reply, SetLanguage
from bot.services import Services


@dataclass(frozen=True)
class Person:
    opted_out: bool = False
    lang: str = "en"


def _say(key: str, lang: str, services: Services, **extra) -> Reply:
    return Reply(messages.text(key, lang, program=services.context.program_name, **extra))


def decide(text: str, num_media: int, person: Person, state: dict | None, now: datetime,
           services: Services, flows=None) -> Outcome:
    body = (text or "").strip()
    lang = person.lang
    kw = keywords.match(body) if body else None

    if kw and kw.kind == "opt_out":
        # Twilio's own STOP handling sends the carrier-compliant confirmation on SMS.
        return Outcome(None, (OptOut(kw.word),))

    verdict = safety.classify(body) if body else None
    if verdict and verdict.kind:
        reply_lang = verdict.lang_hint or lang
        if verdict.kind == "emergency":
            effects = [_say("emergency", reply_lang, services)]
            if messages.has("emergency_2"):
                effects.append(_say("emergency_2", reply_lang, services))
            effects.append(Escalate("emergency", "urgent", f"classifier: {verdict.matched}"))
        else:
            effects = [_say("crisis", reply_lang, services),
                       Escalate("crisis", "urgent", f"classifier: {verdict.matched}")]
        effects.append(RecordEvent("safety", {"kind": verdict.kind}))
        return Outcome(state, tuple(effects))

    if kw and kw.kind == "opt_in" and (person.opted_out or not kw.only_when_opted_out):
        return Outcome(None, (OptIn(kw.word), _say("opted_in", lang, services)))

    if kw and kw.kind == "help":
        return Outcome(state, (_say("help", kw.lang or lang, services),))

    if person.opted_out:
        return Outcome(state, ())

    if kw and kw.kind == "language":
        new_state = dict(state, lang=kw.value) if state else state
        return Outcome(new_state, (SetLanguage(kw.value), _say("language_set", kw.value, services)))

    if not body:
        return Outcome(state, (_say("media_only" if num_media else "empty", lang, services),))

    if flows is not None:
        return flows(body, state, now, services)
    return Outcome(state, (_say("menu", lang, services),))
