"""Scores a reader of texts on the labelled corpus: the runtime's order, then the reader.

Both readers see a text the way the runtime does (core/conversation.py): the STOP keywords
first, then the emergency and crisis check (emergency/crisis rows are judged by
core.safety.classify alone), then the other system keywords, then the reader:

- baseline: today's behaviour, keywords only: a flow's trigger word (the shipped flows), else
  the waiting question takes the text, else a menu number, else a need word
  (core.locator.need_from_text), else nothing (today: the menu).
- understanding: core.understand.understand(text, model, waiting) (issue 13).

The language a reply goes out in is the reader's language, or when it says none, the
person's: the row's own language mid-conversation (they are in a conversation in it), English
for a single text (a new number starts in English).
"""
from __future__ import annotations

import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

from core import keywords, locator, places, safety
from core.understand import plain_answer
from core.flows.registry import load_registry
from tests.corpus.corpus import ROOT_FLOWS, SAFETY, fold

# What each shipped flow means as an intent when its trigger word or menu number starts it.
FLOW_INTENTS = {"naloxone": ("find_place", "naloxone"), "treatment": ("find_place", "treatment"),
                "peer": ("talk_to_person", None), "checkin": ("checkin", None),
                "welcome": ("greeting", None)}
# Locator needs that are a kind of a corpus need.
LOCATOR_NEEDS = {"vending_machine": "naloxone", "mail_order": "naloxone"}
NEAR_ME = {"near me", "near_me", "nearby", "here", "current", "cerca de mi"}


@dataclass
class Reading:
    intent: str
    lang: str
    need: str | None = None
    place: str | None = None
    topic: str | None = None
    mood: str | None = None
    target_lang: str | None = None
    answer: bool | None = None      # the reader says the text answers the waiting question


def person_lang(row: dict) -> str:
    return row["lang"] if row.get("waiting") else "en"


@lru_cache(maxsize=1)
def registry():
    return load_registry(ROOT_FLOWS, check=False)


def _place_label(text: str | None) -> str | None:
    if not text:
        return None
    found = places.resolve(text, ignore=locator.ALL_NEED_WORDS)
    if isinstance(found, places.Place):
        return found.label
    if isinstance(found, places.Ambiguous) and found.options:
        return found.options[0].label
    return None


def judge(text: str, waiting: str | None) -> safety.Classification:
    """The safety check as core.conversation.decide runs it with this question waiting."""
    return safety.classify(text, learned_half=not plain_answer(text, waiting))


def system_first(text: str, lang: str, waiting: str | None = None, model=None) -> Reading | None:
    """What the runtime decides before any reader: STOP, safety (the rules alone for a plain
    answer to the waiting question, as core.conversation.decide does), the system keywords.
    With the understanding step's `model`, a safety answer goes out in the language the text is
    written in, as decide() sends it; without (the baseline), in the language of the rule."""
    kw = keywords.match(text)
    if kw and kw.kind == "opt_out":
        return Reading("stop_request", kw.lang or lang)
    verdict = judge(text, waiting)
    if verdict.kind:
        written = model.language_of(text, model.normalise(text)) if model is not None else None
        return Reading(verdict.kind, written or verdict.lang_hint or lang)
    if kw and kw.kind == "language":
        return Reading("language", kw.value, target_lang=kw.value)
    if kw and kw.kind == "help":
        return Reading("question", kw.lang or lang, topic="about")
    if kw and kw.kind == "opt_in" and not kw.only_when_opted_out:   # nobody here opted out
        return Reading("none", kw.lang or lang)
    return None


def baseline(text: str, waiting: str | None, lang: str) -> Reading:
    """Today: trigger words, the waiting question, menu numbers, need words."""
    first = system_first(text, lang, waiting)
    if first:
        return first
    reg = registry()
    route = reg.route(text)
    if route is not None:
        intent, need = FLOW_INTENTS.get(route.flow, ("none", None))
        place = _place_label(route.params.get("place")) if intent == "find_place" else None
        return Reading(intent, route.lang or lang, need=need, place=place)
    if waiting:
        return Reading("none", lang, answer=True)
    choice = reg.menu_choice(text)
    if choice is not None:
        intent, need = FLOW_INTENTS.get(choice, ("none", None))
        return Reading(intent, lang, need=need)
    need = locator.need_from_text(text)
    if need:
        return Reading("find_place", lang, need=LOCATOR_NEEDS.get(need, need), place=_place_label(text))
    return Reading("none", lang)


def understanding_reader(understand: Callable, model) -> Callable[[str, str | None, str], Reading]:
    def read(text: str, waiting: str | None, lang: str) -> Reading:
        first = system_first(text, lang, waiting, model)
        if first:
            return first
        u = understand(text, model, waiting=waiting)
        intent = "none" if u.intent == "unclear" else u.intent   # the step's word for "asks for nothing"
        return Reading(intent, u.lang or lang, need=u.need, place=_as_text(u.place), topic=u.topic,
                       mood=u.mood, target_lang=u.target_lang, answer=getattr(u, "answer", None))
    return read


def _as_text(place) -> str | None:
    """An extracted place as text, whatever shape the reader gives it (str, Place, dict)."""
    if place is None or isinstance(place, str):
        return place
    if isinstance(place, dict):
        return " ".join(str(place[k]) for k in ("label", "query", "city", "zip") if place.get(k)) or None
    return getattr(place, "label", None) or getattr(place, "query", None) or str(place)


def place_matches(expected: str, got: str | None) -> bool:
    """The expected ZIP or city name is in the extracted place (case and accents folded)."""
    if not got:
        return False
    got_f = fold(got).replace(",", " ")
    if expected == "near me":
        return fold(got) in NEAR_ME or "near me" in got_f
    city = fold(expected.split(",")[0])
    return f" {city} " in f" {' '.join(got_f.split())} "


def intent_right(row: dict, r: Reading) -> bool:
    if row["answer"]:
        return r.intent in ("none", "answer") or r.answer is True
    return r.intent == row["intent"]


@dataclass
class Result:
    n: int = 0
    per_intent: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))  # intent -> [right, n]
    confusion: Counter = field(default_factory=Counter)      # (expected, got) -> count
    entity: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))      # name -> [right, n]
    by_value: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))    # (name, value) -> [right, n]
    by_lang: dict = field(default_factory=lambda: defaultdict(lambda: [0, 0]))     # row lang -> [right, n]
    invented_place: list = field(default_factory=lambda: [0, 0])
    lang: list = field(default_factory=lambda: [0, 0])
    answers: list = field(default_factory=lambda: [0, 0])     # answer rows kept as answers
    interrupts: list = field(default_factory=lambda: [0, 0])  # requests mid-conversation read right
    times_us: list = field(default_factory=list)
    misses: list = field(default_factory=list)

    def accuracy(self, intent: str) -> float:
        right, n = self.per_intent.get(intent, (0, 0))
        return right / n if n else float("nan")


def evaluate(rows: list[dict], read: Callable[[str, str | None, str], Reading]) -> Result:
    res = Result()
    for row in rows:
        lang = person_lang(row)
        t0 = time.perf_counter_ns()
        r = read(row["text"], row["waiting"], lang)
        res.times_us.append((time.perf_counter_ns() - t0) / 1000)
        res.n += 1
        ok = intent_right(row, r)
        expected = "answer" if row["answer"] else row["intent"]
        got = "answer" if (row["answer"] and ok) else r.intent
        res.per_intent[expected][0] += ok
        res.per_intent[expected][1] += 1
        res.by_lang[row["lang"]][0] += ok
        res.by_lang[row["lang"]][1] += 1
        res.confusion[(expected, got)] += 1
        if row["waiting"]:
            bucket = res.answers if row["answer"] else res.interrupts
            bucket[0] += ok
            bucket[1] += 1
        if not ok:
            res.misses.append((row, r))
        res.lang[0] += r.lang == row["lang"]
        res.lang[1] += 1
        for name in ("need", "topic", "mood", "target_lang"):
            if row[name] is not None:
                right = getattr(r, name) == row[name]
                res.entity[name][0] += right
                res.entity[name][1] += 1
                res.by_value[(name, row[name])][0] += right
                res.by_value[(name, row[name])][1] += 1
        if row["intent"] == "find_place" and not row["answer"]:
            if row["place"] is not None:
                res.entity["place"][0] += place_matches(row["place"], r.place)
                res.entity["place"][1] += 1
            else:
                res.invented_place[0] += r.place is not None
                res.invented_place[1] += 1
    return res


@dataclass
class SafetyResult:
    recall: dict            # kind -> (caught as that kind, n)
    any_hit: dict           # kind -> (caught as either kind, n)
    false_alarms: list      # rows not emergency/crisis that the check fired on
    hard_negatives: list    # the hard negatives among them
    n_other: int
    n_hard: int
    times_us: list
    missed: list


def safety_scores(rows: list[dict]) -> SafetyResult:
    recall = {k: [0, 0] for k in SAFETY}
    any_hit = {k: [0, 0] for k in SAFETY}
    false, hard, times, missed = [], [], [], []
    n_other = n_hard = 0
    for row in rows:
        t0 = time.perf_counter_ns()
        kind = judge(row["text"], row.get("waiting")).kind
        times.append((time.perf_counter_ns() - t0) / 1000)
        if row["intent"] in SAFETY:
            recall[row["intent"]][0] += kind == row["intent"]
            recall[row["intent"]][1] += 1
            any_hit[row["intent"]][0] += kind is not None
            any_hit[row["intent"]][1] += 1
            if kind != row["intent"]:
                missed.append((row, kind))
        else:
            n_other += 1
            n_hard += bool(row.get("hard_negative"))
            if kind:
                false.append((row, kind))
                if row.get("hard_negative"):
                    hard.append((row, kind))
    return SafetyResult({k: tuple(v) for k, v in recall.items()},
                        {k: tuple(v) for k, v in any_hit.items()}, false, hard, n_other, n_hard,
                        times, missed)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * len(s) + 0.5) - 1))]


def p50_p99(values: list[float]) -> tuple[float, float]:
    return (statistics.median(values) if values else float("nan"), percentile(values, 99))

