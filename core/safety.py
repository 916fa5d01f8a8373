"""Is this text an overdose happening now (emergency) or a person thinking of dying (crisis)?

Runs before any flow on every inbound message, so it must be fast, pure (no DB, no clock, no
logging: the text never leaves this function) and forgiving of how people text in a panic:
typos, no apostrophes, slang, repeated letters, all caps, no accents. A missed emergency costs
far more than a spare 911 reminder, but firing on "where can I get narcan" or "what is an
overdose" would teach people to ignore us, so the rules are phrases, not single scary words.

How it works, per language (bot/content/safety/en.yaml, es.yaml; loaded once):
1. normalise: strip accents, lowercase, drop apostrophes ("won't" -> "wont"), punctuation to
   spaces, sentence ends to "|" boundaries, repeated letters squeezed ("breeeathing" and
   "sleep" both lose their doubles; the rules are squeezed the same way), common misspellings
   folded ("frend" -> "friend"), a word typed without vowels read as the listed word it is the
   skeleton of ("brthng" -> "breathing", `skeletons`), and near-misses of a few long anchor
   words (one typo) corrected ("breating" -> "breathing").
2. guards mask what must not count: idioms ("dying to see"), negation ("never overdosed"),
   the past ("overdosed two years ago"), fear ("scared of overdosing") and questions about
   overdose in general ("what is an overdose", "if someone overdoses ...": to the clause end).
3. rules, in order, over what is left; the first match wins. Emergency beats crisis (someone
   who took pills to die needs 911 first; the escalation carries it to a peer either way).
4. second thoughts: a rule fired, but the text also says something that usually means "not
   now" (`defusers`: the past, "she's home now", a class or a walk, "lol", asthma) and nothing
   urgent (`urgent`: "help", "what do i do", "ahora mismo"). Then the learned model must not
   read it as "other" more surely than as the rule's kind (each further sign of "not now"
   lowers that bar: VETO_STEP). A phrase rule cannot tell "my sister
   was unresponsive back in march, she's doing great" from "she's unresponsive"; the model,
   trained on hundreds of such memories, can. Without a defuser the rule stands alone, so a
   plain "he's not breathing" never waits on the model. The model's own verdict (step 5) gets
   the same second thoughts when two or more things say "not now".
5. when no rule fires, a learned model gets a say (`Learned`): character n-grams and a linear
   SVM trained on bot/content/safety/examples.yaml, with every intent example as "other". The
   rules were written on the texts we had and miss new phrasings ("we was using and my bro just
   dropped"); the model generalises from the same texts. It speaks only past its margin
   (MODEL_MARGIN, per kind).

Pattern language (a rule or guard is a string of space-separated items, matched over tokens):
    word        the token exactly (normalised like the text)      word*  any token starting so
    {class}     any phrase of a class                            (a|b c) any of these phrases
    ~N          up to N other tokens (never across a sentence end)   item?  optional
    ^ / $       the start / end of a sentence
"""
from __future__ import annotations

import re
import sys
import unicodedata
from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from core import CONTENT

LEXICONS = CONTENT / "safety"
EXAMPLES = LEXICONS / "examples.yaml"
# The score the model's best kind must pass to count, per kind. Chosen by 5-fold cross-validation
# over the corpus's dev half and a fourth writer's 660 texts (`python -m tests.corpus.crossval
# safety ...`; held-out never read): an emergency counts from 0.2 (a spare 911 reminder costs
# less than a miss; no more alarms on dev's 742 ordinary texts than at 0.5), a crisis from 0.5
# (at 0.4 "gonna take a nap" and "de noche mejor" read as crises). The old single margin, 0.5,
# left emergencies the rules missed at scores of 0.26-0.43 ("theres foam coming out his mouth").
MODEL_MARGIN = {"emergency": 0.2, "crisis": 0.5}
# Second thoughts (step 4): a defused rule hit stands unless the model scores "other" above the
# rule's kind by more than this. Chosen by the same cross-validation over dev and two more
# writers' 1,180 texts: at 0.0 no emergency or crisis in either was dropped, and the alarms on the
# writers' 660 hard negatives fell from 106 to 22; at -0.5 an emergency was dropped.
VETO_MARGIN = 0.0
# Each further sign of "not now" ("back in march", "in rehab now", "doin great": three) lowers the
# bar by this much, to at most two steps: one defuser can sit in a scene ("she od'd, i used to be
# an emt"), three in one text rarely do.
VETO_STEP = 0.25
LANGS = ("en", "es")
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)   # libyaml when installed: ~10x faster
KINDS = ("emergency", "crisis")


@dataclass(frozen=True)
class Classification:
    kind: str | None = None          # "emergency" | "crisis" | None
    lang_hint: str | None = None     # language of the rule that fired
    matched: str | None = None       # rule id, e.g. "en.emergency.not_breathing"; never the text

    def __bool__(self) -> bool:
        return self.kind is not None


NONE = Classification()

_APOSTROPHES = re.compile(r"['\u2018\u2019\u02bc`\u00b4]")
_ENDS = re.compile(r"[.!?;\n\r\u2026]+")
_NON_WORD = re.compile(r"[^a-z0-9|]+")
_SQUEEZE = re.compile(r"([a-z])\1+")
_STRETCH = re.compile(r"([a-z])\1{2,}")
_VOWELS = re.compile(r"[aeiou]")
_O_D = re.compile(r"\bo\s?\.\s?d\b\.?")          # "O.D." -> "od"


def split(text: str) -> list[str]:
    """Language-neutral tokens: no accents, lowercase, apostrophes dropped, "|" at sentence ends."""
    text = text or ""
    t = text if text.isascii() else "".join(c for c in unicodedata.normalize("NFKD", text)
                                            if not unicodedata.combining(c))
    t = _APOSTROPHES.sub("", t.casefold())
    t = _O_D.sub("od", t)
    t = _ENDS.sub(" | ", t.replace("|", " "))
    return _NON_WORD.sub(" ", t).split()


def _within_one(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance <= 1 (one insertion, deletion, substitution or swap)."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = next((i for i in range(len(short)) if short[i] != long_[i]), len(short))
    return short[i:] == long_[i + 1:]


class Lexicon:
    """One language's compiled rules. Built once from YAML; immutable afterwards."""

    GAP = r"(?:[^ |]+ ){0,%d}"
    ITEM = re.compile(r"\(([^)]*)\)(\?)?|\{(\w+)\}(\?)?|~(\d+)|(\^)|(\$)|([^\s(){}~?]+)(\?)?")

    def __init__(self, lang: str, data: dict):
        self.lang = lang
        self.keep = frozenset(data.get("keep", ()))
        self.folds = {self._squeeze(k): self._squeeze(v) for k, v in (data.get("folds") or {}).items()}
        self.classes = {name: [self.phrase(p) for p in phrases]
                        for name, phrases in (data.get("classes") or {}).items()}
        self.anchors = [self.word(w) for w in data.get("fuzzy", ())]
        self.skeletons = {_VOWELS.sub("", self.word(w)): self.word(w) for w in data.get("skeletons", ())}
        self.vocab, self.prefixes = set(self.anchors), set()
        for phrases in self.classes.values():
            for p in phrases:
                self._learn(p)
        self._needs: dict[re.Pattern, list] = {}   # a pattern -> the words one of its items must be
        self.guards = {kind: [] for kind in KINDS}
        for g in data.get("guards", ()):
            rx = self.compile(g["pattern"])
            for kind in g.get("applies", KINDS):
                self.guards[kind].append((rx, g.get("scope", "span")))
        self.defusers = self._any(data.get("defusers", ()))
        self.urgent = self._any(data.get("urgent", ()))
        self.rules = {kind: [(f"{lang}.{kind}.{r['id']}", [self.compile(p) for p in _listify(r)])
                             for r in (data.get("rules") or {}).get(kind, ())] for kind in KINDS}
        # Most texts match no rule, and most patterns need a word the text does not have: each
        # pattern is indexed by its rarest required item, and searched only when the text has one
        # of that item's words. The rules are still tried in order, so the first rule still wins.
        common = {w for name in _COMMON_CLASSES for p in self.classes.get(name, ()) for w in p[:1]}
        self.guard_index = {kind: _Needs([(rx, self._needs[rx]) for rx, _ in guards], common)
                            for kind, guards in self.guards.items()}
        self.rule_index = {kind: _Needs([(p, self._needs[p]) for _, ps in rules for p in ps], common)
                           for kind, rules in self.rules.items()}
        # Which rules (by position) have each pattern: only the rules with a pattern that could
        # match are tried (most texts leave two or three of about sixty), still in order.
        self.rules_with = {kind: _positions(rules) for kind, rules in self.rules.items()}
        # Each token's normal form, once per process: most of a text's words were seen before.
        self._seen: dict[str, str] = {}

    def _any(self, patterns) -> re.Pattern:
        return re.compile("|".join(f"(?:{self.compile(p).pattern})" for p in patterns) or "(?!)")

    # -- normalisation shared by text and patterns ---------------------------------------
    def _squeeze(self, w: str) -> str:
        w = "".join(split(w))
        if w in self.keep:
            return w
        doubled = _STRETCH.sub(r"\1\1", w)      # "nooose" is "noose", kept, not "nose"
        return doubled if doubled in self.keep else _SQUEEZE.sub(r"\1", w)

    def word(self, w: str) -> str:
        star = w.endswith("*")
        w = self._squeeze(w.rstrip("*"))
        return w + "*" if star else self.folds.get(w, w)   # folds are whole words, never a stem

    def phrase(self, p: str) -> list[str]:
        if not isinstance(p, str):   # an unquoted no/off/yes in the YAML became a bool
            raise TypeError(f"{self.lang} safety lexicon: {p!r} must be a quoted string")
        return [self.word(w) for w in p.split()]

    def _learn(self, words: list[str]) -> None:
        for w in words:
            (self.prefixes.add(w[:-1]) if w.endswith("*") else self.vocab.add(w))

    def tokens(self, raw: list[str]) -> list[str]:
        seen = self._seen
        out = []
        for t in raw:
            w = seen.get(t)
            if w is None:
                w = self._token(t)
                if len(seen) > 50_000:      # a memo, not a store: people's words come and go
                    seen.clear()
                seen[t] = w
            out.append(w)
        return out

    def _token(self, t: str) -> str:
        if t == "|":
            return t
        t = self.word(t)
        if t not in self.vocab and not _VOWELS.search(t):
            t = self.skeletons.get(t, t)
        if t not in self.vocab and len(t) >= 5 and not t.isdigit() \
                and not any(t.startswith(p) for p in self.prefixes):
            t = next((a for a in self.anchors if _within_one(t, a)), t)
        return t

    # -- pattern compiler --------------------------------------------------------------
    def _alts(self, phrases: list[list[str]]) -> str:
        def one(words):
            return "".join(re.escape(w[:-1]) + r"[^ |]* " if w.endswith("*") else re.escape(w) + " "
                           for w in words)
        return "(?:" + "|".join(one(p) for p in phrases) + ")"

    def compile(self, pattern: str) -> re.Pattern:
        rx, covered, needs = [r"(?<= )"], 0, []
        for m in self.ITEM.finditer(pattern):
            if pattern[covered:m.start()].strip():
                break
            covered = m.end()
            group, gopt, cls, copt, gap, start, end, word, wopt = m.groups()
            if group is not None:
                phrases = []
                for alt in group.split("|"):
                    if re.search(r"(^|\s)(~\d+|\^|\$)(\s|$)", alt):   # would be read as a word
                        raise ValueError(f"{self.lang} safety lexicon: {pattern!r}: ~N, ^ and $ "
                                         f"cannot go inside ( | ); write a pattern of its own")
                    ref = re.fullmatch(r"\{(\w+)\}", alt.strip())
                    phrases += self.classes[ref[1]] if ref else [self.phrase(alt)]
                [self._learn(p) for p in phrases]
                rx.append(self._alts(phrases) + (gopt or ""))
                if not gopt:
                    needs.append([p[0] for p in phrases])
            elif cls:
                rx.append(self._alts(self.classes[cls]) + (copt or ""))
                if not copt:
                    needs.append([p[0] for p in self.classes[cls]])
            elif gap:
                rx.append(self.GAP % int(gap))
            elif start:
                rx.append(r"(?<=\| )")
            elif end:
                rx.append(r"(?=\|)")
            else:
                p = self.phrase(word)
                self._learn(p)
                rx.append(self._alts([p]) + (wopt or ""))
                if not wopt:
                    needs.append([p[0]])
        if pattern[covered:].strip():   # e.g. nested parentheses, which are not supported
            raise ValueError(f"{self.lang} safety lexicon: cannot read {pattern!r} at {covered}")
        compiled = re.compile("".join(rx))
        self._needs[compiled] = needs
        return compiled

    # -- classification ------------------------------------------------------------------
    def line(self, toks: list[str]) -> str:
        return "| " + " ".join(toks) + " |"

    def guarded(self, toks: list[str], kind: str) -> set[int]:
        """Indices of the tokens a guard covers (to the clause end for clause guards)."""
        may = self.guard_index[kind].could_match(toks)
        if not may:
            return set()
        s, starts, pos = self.line(toks), [], 2
        for t in toks:
            starts.append(pos)
            pos += len(t) + 1
        hidden = set()
        for rx, scope in self.guards[kind]:
            if rx not in may:
                continue
            for m in rx.finditer(s):
                end = s.index("|", m.end()) if scope == "clause" else m.end()
                hidden.update(i for i in range(bisect_left(starts, m.start()), bisect_left(starts, end))
                              if toks[i] != "|")
        return hidden

    def first_rule(self, toks: list[str], kind: str, hidden: set[int]) -> str | None:
        shown = ["_" if i in hidden else t for i, t in enumerate(toks)]
        may = self.rule_index[kind].could_match(shown)
        if not may:
            return None
        s, rules, rules_with = self.line(shown), self.rules[kind], self.rules_with[kind]
        for i in sorted({i for p in may for i in rules_with.get(p, ())}):
            rule_id, patterns = rules[i]
            if any(p in may and p.search(s) for p in patterns):
                return rule_id
        return None


def _positions(rules: list[tuple[str, list[re.Pattern]]]) -> dict[re.Pattern, list[int]]:
    """Each pattern -> the positions of the rules that have it (one pattern may serve several)."""
    out: dict[re.Pattern, list[int]] = {}
    for i, (_, patterns) in enumerate(rules):
        for p in patterns:
            out.setdefault(p, []).append(i)
    return out


# Classes of everyday words ("he", "not", "want"): an item of these says little about a text.
_COMMON_CLASSES = ("third", "neg", "generic", "want", "intend", "turn")


class _Needs:
    """Which patterns could match a text, from the words it has. Each pattern is indexed by one
    of the items it cannot match without (the one with fewest everyday words, then fewest
    words): a text with none of that item's words cannot match it. Saying "this one cannot"
    is exact; the pattern itself still decides."""

    def __init__(self, patterns: list[tuple[re.Pattern, list]], common: set):
        self.anywhere: frozenset = frozenset(rx for rx, needs in patterns if not needs)
        self.exact: dict[str, set] = {}
        self.prefixes: dict[str, list[tuple[str, re.Pattern]]] = {}   # by the prefix's first letter
        for rx, needs in patterns:
            if not needs:
                continue
            words = min(needs, key=lambda ws: (sum(w.rstrip("*") in common for w in ws), len(ws)))
            for w in words:
                if w.endswith("*") and len(w) > 1:
                    self.prefixes.setdefault(w[:1], []).append((w[:-1], rx))
                else:
                    self.exact.setdefault(w, set()).add(rx)

    def could_match(self, toks: list[str]) -> set:
        may = set(self.anywhere)
        for t in set(toks):
            may.update(self.exact.get(t, ()))
            for prefix, rx in self.prefixes.get(t[:1], ()):
                if t.startswith(prefix):
                    may.add(rx)
        return may


def _listify(rule: dict) -> list[str]:
    return [rule["pattern"]] if "pattern" in rule else list(rule["patterns"])


@lru_cache(maxsize=None)
def lexicon(lang: str) -> Lexicon:
    with open(LEXICONS / f"{lang}.yaml", encoding="utf-8") as f:
        return Lexicon(lang, yaml.load(f, Loader=SAFE_LOADER))


class Learned:
    """The learned half: trained once from fixed texts with fixed settings (deterministic)."""

    # A miss costs 3x a spare reply at the balance the margins above were chosen at (round 6:
    # 4.5 "other" texts for each emergency, 5.1 for each crisis). The weights follow the balance
    # as examples are added, so that adding harmless texts does not quietly raise the bar.
    COST = 3.0
    BALANCE_AT_MARGINS = {"emergency": 4.5, "crisis": 5.1}

    @classmethod
    def weights(cls, labels: list[str]) -> dict[str, float]:
        n = {k: max(labels.count(k), 1) for k in (*KINDS, "other")}
        return {"other": 1.0, **{k: round(cls.COST * (n["other"] / n[k]) / cls.BALANCE_AT_MARGINS[k], 3)
                                 for k in KINDS}}

    def __init__(self, texts: list[str], labels: list[str]):
        from core.textmodel import Linear, Space, fitted
        weights = self.weights(labels)

        def train() -> dict:
            from sklearn.feature_extraction.text import TfidfVectorizer
            from sklearn.svm import LinearSVC
            vec = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=False)
            x = vec.fit_transform([self.normalise(t) for t in texts])
            space = Space.of(vec)
            return {"space": space.parts(),
                    "model": Linear.of(space, LinearSVC(C=0.5, class_weight=weights, random_state=0).fit(x, labels)).parts()}

        trained = fitted("safety", (texts, labels, sorted(weights.items())), train, code=(sys.modules[__name__],))
        self.model = Linear(Space(**trained["space"]), *trained["model"])

    @staticmethod
    def normalise(text: str) -> str:
        return " ".join(t for t in split(text) if t != "|")

    def _scores(self, norm: str) -> dict[str, float]:
        return dict(zip(self.model.classes, self.model.scores(norm).tolist()))

    def kind(self, text: str, margin: float | dict = MODEL_MARGIN) -> str | None:
        """The kind past its margin, or None. One word is too little for letters to go on: "y" (yes)
        shares its n-grams with every "y no respira"; a one-word emergency is the rules' to catch."""
        norm = self.normalise(text)
        if " " not in norm:
            return None
        scores = self._scores(norm)
        best = max(KINDS, key=lambda k: scores[k])
        need = margin[best] if isinstance(margin, dict) else margin
        return best if scores[best] > need and scores[best] > scores["other"] else None

    def doubts(self, text: str, kind: str, signs: int = 1) -> bool:
        """Does the model read `text` as "other" more surely than as `kind` (step 4)? `signs`: how
        many things in it say "not now"."""
        scores = self._scores(self.normalise(text))
        return scores["other"] > scores[kind] + VETO_MARGIN - VETO_STEP * min(max(signs - 1, 0), 2)


def training_texts(examples: Path = EXAMPLES) -> tuple[list[str], list[str]]:
    """examples.yaml's texts, and every intent example (bot/content/intents) as "other".
    Raises ValueError on a broken file (`flows check` reports it as file:line: message)."""
    from core import intents
    problems: list = []
    rows = intents.read_safety_examples(examples, problems)
    for path in sorted(intents.INTENTS_DIR.glob("*.yaml")):
        rows += [(ex.text, "other") for ex in intents.read_intent(path, problems)[0]]
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ValueError("\n".join(str(p) for p in errors))
    return [t for t, _ in rows], [label for _, label in rows]


@lru_cache(maxsize=1)
def learned() -> Learned:
    return Learned(*training_texts())


def warm() -> None:
    """Parse and compile both lexicons and train the model now, not inside the first texter's
    webhook (where every thread of a fresh worker would otherwise do it at once)."""
    for lang in LANGS:
        lexicon(lang)
    learned()


def classify(text: str, learned_half: bool = True) -> Classification:
    """Emergency beats crisis; within a kind English rules are tried before Spanish ones.

    Each language normalises the same raw tokens one-to-one, so a guard in either language
    (say "what is an overdose") hides those tokens from the rules of both: mixed-language
    texts are common and a Spanish rule must not fire on an English question.

    `learned_half=False`: the rules alone (the text plainly answers the question waiting).

    Where a guard covered words, the model must also find the kind in what the guards left: it
    cannot tell "i dont want to die" from "i want to die" by their letters, and a guard already
    said those words are not a crisis.
    """
    verdict, raw, hidden, toks = _rules(text)
    if verdict:
        signs = _defused(toks)
        return NONE if signs and learned().doubts(text, verdict.kind, signs) else verdict
    if not raw or not learned_half:
        return verdict
    kind = learned().kind(text)
    if kind == "emergency" and _only_asks_for_help(raw):
        kind = None
    if kind and hidden.get(kind):
        kept = [t for i, t in enumerate(raw) if i not in hidden[kind] and t != "|"]
        kind = kind if kept and learned().kind(" ".join(kept)) == kind else None
    if not kind:
        return NONE
    # The model read the whole text with one bar for every text; two or more signs of "not now"
    # ("last weekend", "hes fine now") raise it, as they do for a rule (step 4).
    signs = _defused(toks)
    if signs > 1 and learned().doubts(text, kind, signs):
        return NONE
    words = set(raw)     # the reply's language: the lexicon sharing more of the words
    lang = max(LANGS, key=lambda lg: (len(words & lexicon(lg).vocab), lg == "en"))
    return Classification(kind, lang, f"{lang}.{kind}.model")


# A plain ask for help and nothing else ("i need help", "necesito ayuda", "no se") looks like too
# many things by its letters alone: the model's emergency needs one word more ("help him", "hes
# cold", "no mueve") or an urgent one ("ayuda ya", "AYUDAAA"). The rules read every text.
_URGENT_SHORT = frozenset("""hurry now asap quick quickly fast 911 emergency urgent ya rapido
apurate urgente emergencia socorro auxilio ahora ahorita""".split())
_STRETCHED = re.compile(r"([a-z])\1\1")


# Words that ask for help without saying what is happening ("i need help", "alguien me puede ayudar").
_PLAIN_ASK = frozenset("""i im need needs help someone somebody anyone can could u you some get want a
the no idk dont know necesito ayuda alguien puede pueden yo quiero se nose""".split())


def _only_asks_for_help(raw: list[str]) -> bool:
    words = [t for t in raw if t != "|"]
    if any(t in _URGENT_SHORT or _STRETCHED.search(t) or words.count(t) >= 3 for t in words):
        return False        # "ayuda ya", "AYUDAAA", "help help help"
    return all(t in _PLAIN_ASK for t in words)      # "help him", "hes cold", "no mueve": the model reads them


def _defused(toks: list[list[str]]) -> int:
    """How many things in the text say "not now" (the most in either language), or 0 when
    something says "now". A "now" inside a "not now" does not count: "now hes home" is over."""
    counts = []
    for lx, t in zip((lexicon(lang) for lang in LANGS), toks):
        s = lx.line(t)
        spans = [m.span() for m in lx.defusers.finditer(s)]
        if any(not any(a <= u.start() and u.end() <= b for a, b in spans) for u in lx.urgent.finditer(s)):
            return 0
        counts.append(len(spans))
    return max(counts)


def by_rules(text: str) -> Classification:
    """The phrase rules alone (steps 1-3)."""
    return _rules(text)[0]


def _rules(text: str) -> tuple[Classification, list[str], dict[str, set[int]], list[list[str]]]:
    """The rules' verdict, the raw tokens, the indices each kind's guards covered, and each
    language's tokens (in LANGS order, for the defusers). A guard hides words from its own kind
    only: "not waking up tomorrow" is not an overdose, and may still be a crisis."""
    raw = split(text)
    if not raw:
        return NONE, raw, {}, []
    lexicons = [lexicon(lang) for lang in LANGS]
    toks = [lx.tokens(raw) for lx in lexicons]
    covered: dict[str, set[int]] = {}
    for kind in KINDS:
        hidden = set().union(*(lx.guarded(t, kind) for lx, t in zip(lexicons, toks)))
        covered[kind] = hidden
        for lx, t in zip(lexicons, toks):
            rule = lx.first_rule(t, kind, hidden)
            if rule:
                return Classification(kind, lx.lang, rule), raw, covered, toks
    return NONE, raw, covered, toks
