"""What a free text asks for: an intent, its entities and a confidence, in English or Spanish.

People text the way they text a friend ("can i get narcan in dayton", "llamame porfa", "quit
texting me"), so keywords alone leave most of them at a dead end. This step runs after STOP
and the safety check and before the flows (core/conversation.py). It is pure and deterministic:
the model is trained from the shipped examples (bot/content/intents/*.yaml) with fixed
settings, so the same files always give the same answers.

- intent: a character n-gram TF-IDF + logistic regression (scikit-learn), robust to typos and
  missing accents; misspelt key words (narcan, suboxone, methadone) are first corrected with
  rapidfuzz against bot/content/entities.yaml;
- need and place: phrases from entities.yaml, a ZIP code, a city nickname, "near me", or a
  city found by core.places (offline);
- topic (question) and mood (checkin): a second model per slot, trained on the grouped examples;
- language: lingua, built for English and Spanish only (its models ship with the package).
Below THRESHOLD the intent is "unclear" and `alternatives` names the two likeliest, for one
short clarifying question.
"""
from __future__ import annotations

import itertools
import re
import sys
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from core import intents as content_files
from core import places
from core import textmodel
from core.textmodel import Linear, Space

THRESHOLD = 0.45          # below it: one clarifying question (tuned on the examples and dev corpus)
# A sentence is answered from the answer set only when the step is fairly sure it is a question
# or sure of its topic ("what" alone is asking what this is) (5-fold cross-validation on dev: 6 off-topic texts no longer answered, no
# real question lost).
QUESTION_SURE = 0.6
TOPIC_SURE = 0.9
NEED_SURE = 0.5           # a need learned from the examples, when no phrase names one (else: asked)
STRONG = 0.75             # a request this sure interrupts even a free-text question
MAX_CHARS = 480           # the words past three SMS segments do not change what was asked
LANG_CHARS = 200          # the first sentence or two tell the language
LANG_MIN_LETTERS = 4      # fewer letters than this: too short to tell the language
LANG_MIN_CONFIDENCE = 0.65     # the likelier language's share, lingua and our model averaged
LANG_SHORT_SURE = 0.98         # a text of under LANG_MIN_LETTERS letters: our model alone, this sure
LANG_SURE = 0.95               # our model alone this sure: lingua (the costliest step) is not asked

# Words around a request that are never part of a place name.
_REQUEST_WORDS = frozenset("""
where wher whr can could i we u you get find some any is there theres a an the near nearby
around close to for me my in at of on by please pls plz need needs want looking look got gotta
anywhere place places spot spots somewhere go give free kit kits how do does get
donde puedo consigo conseguir hay algun alguna un una en el la los las por favor necesito
quiero busco buscar cerca de mi aqui para lugar lugares sitio gratis me dan dar
""".split())


@dataclass(frozen=True)
class Understanding:
    intent: str            # find_place | talk_to_person | stop_request | question | checkin
                           # | greeting | thanks | language | unclear
    confidence: float      # 0..1
    lang: str | None       # the text's language: "en" | "es" | None when too short to tell
    need: str | None = None
    place: str | None = None
    topic: str | None = None
    mood: str | None = None
    target_lang: str | None = None
    alternatives: tuple[str, ...] = ()
    answer: bool = False   # sent while a question waits, it reads as that question's answer


_NEGATIONS = frozenset("dont not no cant never nunca ni".split())
# After a "no", a "you" starts a new question: "no entiendo, hablas español?" asks for Spanish.
_ASKING_YOU = frozenset("you u ya hablas habla hablan puedes pueden usted ustedes".split())
_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc`\u00b4]")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_REPEATS = re.compile(r"([a-z])\1{2,}")
_ZIP = re.compile(r"(?<!\d)(\d{5})(?:-\d{4})?(?!\d)")
_LETTER = re.compile(r"[^\W\d_]")


def clean(text: str) -> str:
    """Lowercase ASCII words: accents folded, apostrophes dropped, "pleeease" -> "please"."""
    t = text or ""
    if not t.isascii():
        t = "".join(c for c in unicodedata.normalize("NFKD", t) if not unicodedata.combining(c))
    t = t.casefold()
    t = _APOSTROPHES.sub("", t)
    t = _NON_WORD.sub(" ", t)
    return _REPEATS.sub(r"\1\1", t).strip()


class Model:
    """The trained step: built once per process (default_model()), read-only afterwards."""

    def __init__(self, content: content_files.Content):
        from rapidfuzz import fuzz, process

        self.content = content
        self._fuzz, self._process = fuzz, process
        self.known = frozenset(w for ex in content.examples for w in clean(ex.text).split()) | frozenset(
            w for phrases in content.needs.values() for p in phrases for w in p.split()) | frozenset(
            w for p in (*content.places, *content.near_me, *content.languages) for w in p.split())
        # Words people text when they ask for no place: a town named like one ("nada") is the word.
        self.everyday = frozenset(w for ex in content.examples if ex.intent != "find_place"
                                  for w in clean(ex.text).split())
        self.fuzzy = tuple(dict.fromkeys(content.fuzzy))
        self.need_order = {need: i for i, need in enumerate(content.needs)}
        self.needs = _Phrases([(p, need) for need, phrases in content.needs.items() for p in phrases])
        # Words that name a need are never part of a town ("detox" is Detox, nowhere); the little
        # articles of a longer phrase ("the" of "on the done", "a" of "a bed") are not need words:
        # "at the library" stays a library.
        self.need_words = frozenset(w for phrases in content.needs.values() for p in phrases for w in p.split()
                                    if w not in _PHRASE_GLUE)
        self.nicknames = _Phrases(list(content.places.items()))
        self.near_me = _Phrases([(p, "near me") for p in content.near_me])
        self.language_words = _Phrases(list(content.languages.items()))

        rows = {slot: [i for i, ex in enumerate(content.examples) if ex.slot in values]
                for slot, values in content_files.SLOTS.items()}

        def train() -> dict:
            from sklearn.feature_extraction.text import TfidfVectorizer
            from sklearn.svm import LinearSVC
            # One n-gram space for every model: a text's features are computed once per message.
            texts = [self.normalise(ex.text) for ex in content.examples]
            vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=False)
            x_all = vec.fit_transform(texts)
            space = Space.of(vec)

            def fit(idx: list[int], labels: list[str], weight=None) -> tuple:
                return Linear.of(space, LinearSVC(C=0.5, class_weight=weight, random_state=0).fit(x_all[idx], labels)).parts()

            everyone = list(range(len(texts)))
            needs = {i: self.need_in(texts[i].split()) for i, ex in enumerate(content.examples)
                     if ex.intent == "find_place"}
            named = [i for i, need in needs.items() if need]
            return {"space": space.parts(),
                    "need": fit(named, [needs[i] for i in named]),
                    "intent": fit(everyone, [ex.intent for ex in content.examples], "balanced"),
                    "lang": fit(everyone, [ex.lang for ex in content.examples]),
                    **{slot: fit(idx, [content.examples[i].slot for i in idx]) for slot, idx in rows.items()}}

        # The examples, the misspellings corrected (content.fuzzy) and the code that prepares the texts.
        inputs = ([(ex.text, ex.intent, ex.lang, ex.slot) for ex in content.examples], self.fuzzy,
                  sorted(self.known), sorted(rows.items()), sorted((k, sorted(v)) for k, v in content.needs.items()))
        trained = textmodel.fitted("intents", inputs, train, code=(sys.modules[__name__], sys.modules[places.__name__]))
        self.space = Space(**trained["space"])
        self.intent_model = Linear(self.space, *trained["intent"])
        self.lang_model = Linear(self.space, *trained["lang"])
        self.slot_models = {slot: Linear(self.space, *trained[slot]) for slot in rows}
        # What a request for places asks for when no phrase of entities.yaml names it ("jeringuillas",
        # "a doc for my subs"): learned from the find_place examples whose phrases do name it.
        self.need_model = Linear(self.space, *trained["need"])
        self.labels = content.labels
        self.answers = content.answers
        self.detector = _detector()

    # -- text -----------------------------------------------------------------------------
    def normalise(self, text: str) -> str:
        """clean(), with misspellings of the words that matter corrected (narcn -> narcan)."""
        out = []
        for w in clean(text).split():
            if len(w) >= 5 and w not in self.known and not w.isdigit():
                hit = self._process.extractOne(w, self.fuzzy, scorer=self._fuzz.ratio, score_cutoff=80)
                if hit:
                    w = hit[0]
            out.append(w)
        return " ".join(out)

    @staticmethod
    def _proba(model: Linear, text: str) -> list[tuple[str, float]]:
        return model.rank(text)

    # -- entities ---------------------------------------------------------------------------
    def need_in(self, words: list[str]) -> str | None:
        """The need of the longest phrase the text contains; as long: the one entities.yaml lists first."""
        hits = self.needs.find(words)
        return min(hits, key=lambda h: (-h[2], self.need_order[h[1]]))[1] if hits else None

    def place_in(self, text: str, words: list[str]) -> str | None:
        """A ZIP, a nickname's place, a city core.places finds, or "near me"; else None."""
        m = _ZIP.search(text)
        if m:
            return m.group(1)
        hits = self.nicknames.find(words)
        if hits:
            return max(hits, key=lambda h: h[2])[1]
        rest = " ".join(w for w in words if w not in self.need_words)
        found = self._resolve(rest) if rest.strip() else None
        if isinstance(found, places.Place) and _said(found.label, found.state, rest, text):
            return found.label
        if isinstance(found, places.Ambiguous) and found.options and _said(found.options[0].label, None, rest, text):
            return found.options[0].label.split(",")[0]
        last = max((i for i, w in enumerate(words) if w in _LOCATIVES), default=None)
        if self.near_me.find(words):
            return "near me"
        if (found is not None and last is not None and 0 < last + 1 < len(words)   # "... a script in louisville"
                and words[last + 1] not in _MINE):                                   # not "en mi pueblo"
            return self.place_in(" ".join(words[last + 1:]), words[last + 1:])
        return None

    def _resolve(self, rest: str):
        """core.places.resolve, when the text names a city core.places knows; a misspelt city
        next to its state ("dayten ohio") is matched with rapidfuzz among that state's cities."""
        index = places._index()
        words = places.normalize(rest).split()
        grams = {" ".join(words[i:i + n]) for n in (1, 2, 3) for i in range(len(words) - n + 1)}
        if any(g in index.cities or g in places._CITY_ALIASES for g in grams):
            # A weak state code ("in", "me", "oh") counts only right after a city: "im in toledo"
            # must not send core.places looking for a misspelt Indiana town called "im".
            kept = [w for i, w in enumerate(words) if w not in _WEAK_CODES or (i > 0 and any(
                " ".join(words[j:i]) in index.cities for j in range(max(0, i - 3), i)))]
            return places.resolve(" ".join(kept), ignore=_REQUEST_WORDS)
        for i, w in enumerate(words):
            state = places._STATE_WORDS.get(w) or (w.upper() if w.upper() in places.STATES
                                                   and w not in _WEAK_CODES else None)
            if state and i > 0 and words[i - 1] not in _REQUEST_WORDS:
                hit = self._process.extractOne(words[i - 1], index.by_state[state], scorer=self._fuzz.ratio,
                                               score_cutoff=80)
                if hit:
                    return index.cities[hit[0]][state].place()
        return None

    def target_in(self, words: list[str]) -> str | None:
        """The language asked for; "i dont speak spanish" / "no hablo ingles" ask for the other."""
        for start, lang, _ in self.language_words.find(words):
            before = words[max(0, start - 4):start]
            last_no = max((i for i, w in enumerate(before) if w in _NEGATIONS), default=None)
            if last_no is not None and not _ASKING_YOU & set(before[last_no + 1:]):
                return "en" if lang == "es" else "es"
            return lang
        return None

    def language_of(self, text: str, norm: str) -> str | None:
        """lingua's reading of the text averaged with a model of our own examples, which knows
        texting words lingua does not ("porfa", "hmu"); None when the two together are unsure."""
        letters = len(_LETTER.findall(text))
        if letters < 2:             # a ZIP, a number, an emoji: no language in it
            return None
        p_es = dict(self.lang_model.rank(norm)).get("es", 0.5)
        if letters < LANG_MIN_LETTERS:   # "ola", "klk", "mal": only a word our examples know well says which
            if set(norm.split()) & _BOTH_LANGS or abs(p_es - 0.5) < LANG_SHORT_SURE - 0.5:
                return None
            return "es" if p_es > 0.5 else "en"
        if abs(p_es - 0.5) >= LANG_SURE - 0.5:       # ours is sure: lingua would not change it
            return "es" if p_es > 0.5 else "en"
        values = {v.language.name: v.value
                  for v in self.detector.compute_language_confidence_values(text[:LANG_CHARS])}
        if values.get("SPANISH", 0) + values.get("ENGLISH", 0) > 0:   # ours knows texting words: it weighs more
            p_es = 0.7 * p_es + 0.3 * values.get("SPANISH", 0)
        if abs(p_es - 0.5) < LANG_MIN_CONFIDENCE - 0.5:
            return None
        return "es" if p_es > 0.5 else "en"


# Short words people write the same in both languages ("no", "ya", "yo" texted in English too).
_BOTH_LANGS = frozenset("no nop ya yo me mi si so oh ah eh ha uh ay bro ok".split())
_WEAK_CODES = frozenset("in me oh ok la or hi de al pa mi id co ma ga".split())
_QUESTION_WORDS = frozenset("what whats how does do is are can will why who when que como cual quien "
                            "cuando por porque es puedo".split())
_PHRASE_GLUE = frozenset("the a an my mi tu su on and".split())
_MINE = frozenset("mi my su tu your este esta this our nuestro nuestra".split())   # "en mi pueblo": no town
_ARTICLES = frozenset("the el la los las".split())   # "at the library": a town's name never follows one
_STOP_US = re.compile(r"\b(?:text\w*|txt\w*|message\w*|msg\w*|contact\w*|number|stop|unsubscribe|remove|off|list|"
                      r"program|alone|bother|homeward|yall|you|u|spam|mensaj\w*|escrib\w*|mand\w*|numero|para|parar|"
                      r"deja\w*|lista|programa|molest\w*|bye|quit\w*|cancel\w*|opt|sign|inscrib\w*|delete|block|unsub\w*|"
                      r"enough|basta|saca\w*|borra\w*|baja|leave|end|me|mi)\b")
_JOIN_DENIED = re.compile(r"\b(?:dont|do not|didnt|did not|never|not|no quiero|nunca|no me)\b")
_JOIN_US = re.compile(r"\b(?:text|texts|txt|txts|message|messages|msgs|check ?ins?|checkins|program|this|homeward|"
                      r"yall|you guys|u guys|peer|mensajes|programa|esto|ustedes|seguimiento|aqui|here|list|lista)\b")
_HOW_TO_GET = re.compile(r"\b(?:(?:how|hwo|hw) (?:do|can|would|could|should) (?:i|u|you|we) (?:get|find|replace|apply|sign up)|"
                         r"where (?:do|can|would|could|should) (?:i|u|you|we) (?:get|find|go)|where to (?:get|find)|"
                         r"como (?:consigo|saco|obtengo|tramito|puedo sacar|puedo conseguir|le hago para sacar)|"
                         r"donde (?:consigo|saco|puedo sacar|puedo conseguir|tramito))\b")
_LOCATIVES = frozenset("in en near around at by from to cerca outside downtown live living stay staying".split())


# A city with this many ZIP codes (Seattle, Dallas, Fresno: about 150 names) is meant wherever its
# name stands ("seattle suboxone clinic same day?"), unless the name is an everyday word too.
BIG_CITY_ZIPS = 12
_EVERYDAY = frozenset("mobile reading spring mesa jamaica columbia aurora flint salem naples "
                      "hollywood lincoln jackson austin tyler madison charlotte savannah irving "
                      "henderson lafayette arlington augusta washington pueblo".split())


SHORT_REQUEST = 8
SHORT_FOLLOW_UP = 5


def _first(ranked: list, name: str, confidence: float) -> list:
    """The ranking with `name` read first, at `confidence` (a rule that knows better than the model)."""
    return [(name, confidence)] + [kv for kv in ranked if kv[0] != name]


def _last(ranked: list, name: str, confidence: float) -> list:
    """The ranking with `name` put last (a rule says it is not that): the next reading stands."""
    return [kv for kv in ranked if kv[0] != name] + [(name, confidence)]


def _no_topic(model: "Model", norm: str) -> bool:
    """No answer of ours is what the question asks ("how do i get an ID" is no "what is Homeward")."""
    topic, sure = model._proba(model.slot_models["topic"], norm)[0]
    return topic in ("about", "cost") or sure < TOPIC_SURE


def _spanish_around(model: "Model", words: list[str], place: str) -> str | None:
    """"es" when the request's words besides its place and ZIP read as Spanish."""
    named = set(places.normalize(place.split(",")[0]).split())
    rest = [w for w in words if w not in named and not w.isdigit()]
    if all(w in model.need_words for w in rest):     # "detox bronx": a need's name alone says neither
        return None
    return "es" if model.language_of(" ".join(rest), " ".join(rest)) == "es" else None


def _big_city(word: str, state: str | None) -> bool:
    if word in _EVERYDAY:
        return False
    states = places._index().cities.get(word, {})
    return any(c.nzips >= BIG_CITY_ZIPS for st, c in states.items() if state in (None, st))


def _said(label: str, state: str | None, text: str, whole: str) -> bool:
    """Was the place core.places found really named? A one-word town ("Como", "Spray", "Many")
    counts only after "in"/"en"/"near", next to its state, or as all the text says besides the
    need, at its start or end ("narcan dayton"): in a sentence such words are usually just words."""
    words = places.normalize(text).split()
    full = places.normalize(whole).split()
    city = places.normalize(label.split(",")[0]).split()
    at = next((i for i in range(len(words) - len(city) + 1) if words[i:i + len(city)] == city), None)
    if at is None or (at > 0 and words[at - 1] in _MINE | _ARTICLES):
        return False        # "en mi pueblo", "this reading", "at the library": a word, not a town
    if len(city) >= 2 or (at > 0 and words[at - 1] in _LOCATIVES) or _big_city(city[0], state):
        return True
    after = words[at + 1:at + 4]
    if state and (state.lower() in after and state.lower() not in ("in", "me", "oh", "ok", "la", "or")
                  or any(" ".join(after[:n]) == places.STATES[state] for n in (1, 2, 3))):
        return True
    content = [w for w in words if w not in _REQUEST_WORDS and w not in places.FILLER]
    return content == city and (full[:len(city)] == city or full[-len(city):] == city)


_INTERRUPTING = frozenset({"find_place", "talk_to_person", "stop_request", "question", "language", "checkin",
                           "join"})


def reads_as_answer(text: str, waiting: str) -> bool:
    """Does `text` read as an answer to a question of this kind? (The flow engine reads it for
    real with the node's own choices; this is what can be said from the kind alone.)"""
    from core.flows import answers
    if waiting == "yes_no":
        return answers.yes_no(text) is not None or answers.is_skip(text)
    if waiting == "choice":
        return _leading_choice(text) or len(clean(text).split()) <= 3
    if waiting == "number":
        return answers.number(text) is not None
    if waiting == "time":
        return answers.time_of_day(text) is not None
    if waiting == "date":
        return answers.calendar_date(text, "en", _REFERENCE_DAY) is not None
    if waiting == "place":
        return isinstance(places.resolve(text), (places.Place, places.Ambiguous))
    return bool(clean(text))


def _town_said(text: str) -> str | None:
    """The label of the town core.places finds in `text`, when it was really said as a place.
    core.places finds a town in almost any sentence ("fine i guess" is Fine, NY; "el estres me
    tiene loco" is Loco, OK)."""
    found = places.resolve(text)
    if isinstance(found, places.Place):
        return found.label if _said(found.label, found.state, text, text) else None
    if isinstance(found, places.Ambiguous) and found.options:
        label = found.options[0].label
        return label if _said(label, None, text, text) else None
    return None


def _without_place(text: str, known: frozenset = frozenset()) -> str | None:
    """The text with the town it names taken out, or None when it names none. A one-word
    town that is also a word people text ("nada" is Nada, TX) is the word, not the town."""
    label = _town_said(text)
    if not label:
        return None
    city = places.normalize(label.split(",")[0]).split()
    if len(city) == 1 and city[0] in known:
        return None
    words = places.normalize(text).split()
    for i in range(len(words) - len(city) + 1):
        if words[i:i + len(city)] == city:
            return " ".join(words[:i] + words[i + len(city):])
    return None


def just_a_word(text: str, model: "Model") -> bool:
    """One word people text that is also a small town's name ("ayer" is Ayer, MA; "fine" Fine,
    NY): the word, even while "what ZIP or city?" waits. Big cities and nicknames are places."""
    words = model.normalise(text).split()
    return (len(words) == 1 and words[0] in model.everyday and not words[0].isdigit()
            and not _big_city(words[0], None) and not model.nicknames.find(words))


def names_a_place(text: str) -> bool:
    """Does the text really name a place, a ZIP or a town said as one? Said while "what ZIP or
    city are you in?" waits, a text that names none is not an answer to it."""
    return bool(_ZIP.search(text or "")) or _town_said(text) is not None


_HELLO_WORDS = frozenset("hey hi hello yo hola oye ey buenas".split())
_MORE_FIRST = ("what about", "how about", "need", "necesito", "ocupo", "busco", "any", "i need")
_AND = frozenset("and y e also plus tambien tmb".split())
_MORE_LAST = frozenset("too also tambien tmb".split())


def _asks_for_more(words: list[str], raw: str, need_words: frozenset) -> bool:
    """"what about food", "y trabajo?", "jobs too", "hey necesito suboxone": the shape of asking
    for one more thing, which "im at work", "y ya tengo trabajo" and "i got the job too" do not
    have: a question, "what about"/"need" first, "and" right before the need, or "too" right after."""
    rest = words[1:] if words and words[0] in _HELLO_WORDS else words
    said = " ".join(rest)
    return bool(rest) and (
        "?" in raw or any(said == p or said.startswith(p + " ") for p in _MORE_FIRST)
        or (len(rest) >= 2 and rest[0] in _AND and rest[1] in need_words)
        or (2 <= len(rest) <= 3 and rest[-1] in _MORE_LAST and rest[-2] in need_words))


def _yes_or_no(text: str) -> bool:
    from core.flows import answers
    return answers.yes_no(text) is not None


def _leading_choice(text: str) -> bool:
    from core.flows import answers
    return bool(answers.LEADING_CHOICE.match(clean(text)))


def plain_answer(text: str, waiting: str | None) -> bool:
    """A short, plain answer to the question waiting ("no creo" to a yes/no, "un 4" to 1-5).
    The safety check judges one by its phrase rules alone: the learned half reads a few short
    words by their letters, and "no creo" shares them with "no respira". Free text ("anything
    your peer should know?") and anything longer than four words get both halves."""
    return waiting not in (None, "free_text") and len(text.split()) <= 4 and reads_as_answer(text, waiting)


_REFERENCE_DAY = __import__("datetime").date(2025, 1, 1)   # only "is it a date?" is asked, never which


class _Phrases:
    """Phrases (space-separated words) found in a text by their first word: a lookup per word,
    not a scan of every phrase. find() gives (start, value, rank) in text order; rank is the
    phrase's length unless `rank` says otherwise."""

    def __init__(self, pairs, rank=None):
        self.by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for phrase, value in pairs:
            words = tuple(phrase.split())
            if words:
                self.by_first.setdefault(words[0], []).append((words, value))
        self.rank = rank

    def find(self, words: list[str]) -> list[tuple[int, str, int]]:
        out = []
        for i, w in enumerate(words):
            for phrase, value in self.by_first.get(w, ()):
                if tuple(words[i:i + len(phrase)]) == phrase:
                    out.append((i, value, self.rank(value) if self.rank else len(phrase)))
        return out


def _detector():
    from lingua import Language, LanguageDetectorBuilder
    return (LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.SPANISH)
            .with_low_accuracy_mode().with_preloaded_language_models().build())


@lru_cache(maxsize=1)
def default_model() -> Model:
    """The model of the shipped content, built once per process. Raises IntentError when a
    content file has an error (the app then refuses to start)."""
    content, problems = content_files.load()
    if content is None:
        raise content_files.IntentError([p for p in problems if p.severity == "error"])
    return Model(content)


def understand(text: str, model: Model, waiting: str | None = None) -> Understanding:
    """What `text` asks for. `waiting`: the kind of question the conversation waits on
    (yes_no, choice, number, date, time, place, free_text) or None; a short text sent while a
    question waits is more likely an answer than a request, so it needs more to count as one."""
    raw = (text or "")[:MAX_CHARS]
    norm = model.normalise(raw)
    words = norm.split()
    lang = model.language_of(raw, norm)
    if lang == "es" and len(words) <= 5:
        # "salinas", "el paso", "narcan in los angeles": a city's name is no vote for Spanish (the
        # names that read as English, "fresno", rarely cost an answer's language; not looked up)
        rest = _without_place(raw, model.everyday)
        if rest is not None:
            lang = model.language_of(rest, model.normalise(rest)) if clean(rest) else None
    if not _LETTER.search(raw) or not words:     # no letters, or none the model reads (CJK, emoji)
        if waiting and reads_as_answer(raw, waiting):
            return Understanding("unclear", 0.0, lang, answer=True)
        zip5 = _ZIP.search(raw)
        if zip5 and len(clean(raw).split()) == 1:       # a ZIP alone: places there, for the last need
            return Understanding("find_place", 0.9, lang, place=zip5.group(1))
        return Understanding("unclear", 0.0, lang)
    ranked = model._proba(model.intent_model, norm)
    intent, confidence = ranked[0]
    # Mostly words no example has ("asdfgh", "my dog ate my homework"): less sure.
    known = sum(w in model.known for w in words) / len(words)
    confidence *= 0.5 + 0.5 * known
    need = model.need_in(words)
    place = model.place_in(raw, words) if need or intent == "find_place" else None
    if place and place != "near me" and lang != "es" and len(words) <= SHORT_REQUEST:
        # "busco doctor de suboxone en springfield", "jeringas 02119 roxbury": the town's name and
        # the ZIP are no vote for English either; the words around them say which.
        lang = _spanish_around(model, words, place) or lang
    asks = "?" in raw or bool(set(words[:2]) & _QUESTION_WORDS)
    if need and place and place != "near me" and (intent in ("find_place", "unclear", "greeting", "thanks",
                                                            "checkin") or known < 0.5
                                                  or (intent == "question" and not asks)):
        # A need and a place ("methadone 45402", "narcan in dayton") is a request for places.
        ranked = _first(ranked, "find_place", max(confidence, 0.9))
        intent, confidence = ranked[0]
    if need and intent in ("find_place", "unclear", "question", "greeting", "thanks", "checkin", "join") \
            and _HOW_TO_GET.search(" ".join(words)) and (intent != "question" or _no_topic(model, norm)):
        # "hwo do i get my state id back", "how do i get an ID", "como saco mi acta de nacimiento":
        # how to get a thing we list places for asks for those places (not "what is Homeward")
        ranked = _first(ranked, "find_place", max(confidence, THRESHOLD))
        intent, confidence = ranked[0]
    if intent == "stop_request" and len(words) > 2 and not _STOP_US.search(norm):
        # "i cant do this anymore", "ya no puedo mas": no word about texts or us, so no request to
        # stop them (a hard day, more likely): the next reading stands
        ranked = _last(ranked, "stop_request", confidence)
        intent, confidence = ranked[0]
    if intent == "join" and (_JOIN_DENIED.search(norm) or (len(words) > 4 and not _JOIN_US.search(norm))):
        # "i dont want to sign up" is no sign-up; "how do i join NA", "sign me up for the vivitrol
        # shot" sign up for something else: the next reading stands
        ranked = _last(ranked, "join", confidence)
        intent, confidence = ranked[0]
    if intent == "join" and need:
        # "how do i sign up for food stamps": a need named is what they sign up for, not our texts
        ranked = _first([kv for kv in ranked if kv[0] != "join"], "find_place", max(confidence, THRESHOLD))
        intent, confidence = ranked[0]
    if intent == "question" and len(words) == 1 and "?" not in raw and (
            _yes_or_no(raw) or model._proba(model.slot_models["topic"], norm)[0][1] < TOPIC_SURE):
        # "si", "sam": one word, no question mark, read as a question only by its letters ("si"
        # as in "si el narcan no funciona"; "sam" as in "good sam"). One word is a question when
        # it names a topic ("tranq", "cost", "privacy", "what"), else a question says more.
        ranked = _last(ranked, "question", confidence)
        intent = "unclear"
    if (need and not place and not waiting and len(words) <= SHORT_FOLLOW_UP and intent != "find_place"
            and (intent == "unclear" or (intent in ("greeting", "thanks", "checkin") and confidence < STRONG))
            and _asks_for_more(words, raw, model.need_words)):
        # "what about food", "y trabajo?", "hey necesito suboxone": a need named in a few words,
        # read as little else, asks for places (where: the place remembered, or one question).
        ranked = _first(ranked, "find_place", max(confidence, THRESHOLD))
        intent, confidence = ranked[0]
    if waiting and len(words) <= 2 and intent in ("greeting", "thanks", "checkin"):
        confidence *= 0.8
    # A readable answer gives way only to a clear request in a sentence ("today" answers "what day?").
    strong = intent in _INTERRUPTING - {"checkin"} and confidence >= STRONG and len(words) >= 3
    if waiting == "place" and intent == "find_place" and not need:
        strong = False      # "im in chicago" names the place asked for; it asks for nothing new
    if waiting == "place" and intent == "checkin" and confidence >= STRONG and not names_a_place(raw):
        strong = True       # "fine i guess" says how they are; no town called Fine was meant
    if waiting == "choice" and _leading_choice(raw):
        strong = False      # "1 narcan pls" picks option 1 (as the flow engine reads it), not a question
    if waiting and reads_as_answer(raw, waiting) and not strong:
        # Left to the question; the readings likelier than "nothing" go with it (a hello is
        # answered with a hello before the question again; "banana" is read as nothing).
        likelier = tuple(name for name, _ in itertools.takewhile(lambda kv: kv[0] != "unclear", ranked))
        return Understanding("unclear", round(confidence, 4), lang, answer=True, alternatives=likelier[:2])
    requests = [name for name, _ in ranked if name != "unclear"]
    if confidence < THRESHOLD or intent == "unclear":
        return Understanding("unclear", round(confidence, 4), lang, alternatives=tuple(requests[:2]))
    alternatives = tuple(name for name in requests if name != intent)[:2]
    u = dict(intent=intent, confidence=round(confidence, 4), lang=lang, alternatives=alternatives)
    if intent == "find_place":
        if need is None:
            guess, sure = model._proba(model.need_model, norm)[0]
            need = guess if sure >= NEED_SURE else None
        u.update(need=need, place=place)
    elif intent == "question":
        topic, sure = model._proba(model.slot_models["topic"], norm)[0]
        if confidence < QUESTION_SURE and sure < TOPIC_SURE and len(words) >= 3:
            # "my tattoo is for my friend who died of an od": it reads a little like a question and
            # like no topic in particular; one clarifying question beats a wrong answer.
            return Understanding("unclear", round(confidence, 4), lang, alternatives=tuple(requests[:2]))
        u["topic"] = topic
    elif intent == "checkin":
        u["mood"] = model._proba(model.slot_models["mood"], norm)[0][0]
    elif intent == "language":
        u["target_lang"] = model.target_in(words) or lang
        u["lang"] = u["target_lang"] or lang      # the answer goes out in the language asked for
    return Understanding(**u)
