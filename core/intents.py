"""The understanding step's content: intent examples, entity words and the Q&A answers.

Supervisors edit these files the way they edit flows (bot/content/intents/*.yaml, Rasa nlu.yml
style; bot/content/entities.yaml; bot/content/answers/*.yaml), so each mistake is reported as
`file:line: severity: message` and a file with an error never reaches a texter: the app refuses
to start and `flows check` exits 1. Pure: files are read, nothing else.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from core import CONTENT, keywords
from core.flows.loader import read_yaml
from core.flows.schema import LANGS, Problem
from core.flows.words import normalize
from core.sms import count_segments

INTENTS_DIR = CONTENT / "intents"
ANSWERS_DIR = CONTENT / "answers"
ENTITIES_FILE = CONTENT / "entities.yaml"
SAFETY_EXAMPLES = CONTENT / "safety" / "examples.yaml"
SAFETY_LABELS = ("emergency", "crisis", "other")
FLOWS_DIR = CONTENT / "flows"

INTENTS = ("find_place", "talk_to_person", "stop_request", "question", "checkin", "greeting",
           "thanks", "language", "join", "unclear")
NEEDS = ("naloxone", "treatment", "detox", "methadone", "buprenorphine", "syringe_services",
         "test_strips", "health_center", "housing", "food", "job", "id", "benefits")
TOPICS = ("naloxone_use", "naloxone_fentanyl", "xylazine", "test_strips", "tolerance",
          "good_samaritan", "buprenorphine", "methadone", "about", "privacy", "cost")
MOODS = ("good", "okay", "bad")
SLOTS = {"topic": TOPICS, "mood": MOODS}
# Words the runtime handles before any intent (carrier, system and menu words).
SYSTEM_WORDS = frozenset(normalize(w) for w in (*keywords.RESERVED, "MENU", "MENÚ", "OPCIONES",
                                                 "INICIO", "MORE", "MAS", "BAJA"))


class IntentError(Exception):
    """Content that must not go live; `.problems` says where and why."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems) or "invalid intent content")


@dataclass(frozen=True)
class Example:
    text: str
    lang: str
    intent: str
    slot: str | None      # the topic or mood this example stands for, if the intent has one
    source: str
    line: int


@dataclass(frozen=True)
class Content:
    examples: tuple[Example, ...]
    labels: dict          # intent -> {lang: label used in the clarifying question}
    needs: dict           # need -> tuple of phrases (any language)
    places: dict          # phrase (a nickname) -> the locator's place text ("New Orleans, LA")
    near_me: tuple        # phrases meaning "where I am"
    languages: dict       # phrase -> "en" | "es" (the language asked for)
    fuzzy: tuple          # words worth correcting when misspelt (narcan, suboxone, ...)
    answers: dict         # topic -> {lang: text}


def _line(data, key, default: int) -> int:
    return data.line_of(key) if hasattr(data, "line_of") else default


def _strings(value, source: str, line: int, where: str, out: list[Problem]) -> list[tuple[str, int]]:
    if not isinstance(value, list) or not value:
        out.append(Problem(source, line, "error", f"{where}: expected a list of texts"))
        return []
    found = []
    for i, item in enumerate(value):
        item_line = value.line_of(i) if hasattr(value, "line_of") else line
        if not isinstance(item, str) or not item.strip():
            out.append(Problem(source, item_line, "error", f"{where}: item {i + 1} is empty or not text"
                               " (quote words like yes, no, on, off)"))
        else:
            found.append((item.strip(), item_line))
    return found


def _read(path: Path, out: list[Problem]):
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        out.append(Problem(str(path), 1, "error", f"cannot read: {exc.strerror}"))
        return None
    data, found = read_yaml(text, str(path))
    out.extend(found)
    if data is not None and not isinstance(data, dict):
        out.append(Problem(str(path), 1, "error", "expected a mapping at the top"))
        return None
    return data


def _by_lang(value, source: str, line: int, where: str, out: list[Problem]) -> list[tuple[str, str, int]]:
    """{en: [...], es: [...]} -> [(text, lang, line)]; both languages required."""
    if not isinstance(value, dict):
        out.append(Problem(source, line, "error", f"{where}: expected en: and es: lists"))
        return []
    rows = []
    for lang, items in value.items():
        l_line = _line(value, lang, line)
        if lang not in LANGS:
            out.append(Problem(source, l_line, "error", f"{where}: unknown language '{lang}' (use en and es)"))
            continue
        rows += [(t, lang, n) for t, n in _strings(items, source, l_line, f"{where} {lang}", out)]
    for lang in LANGS:
        if lang not in value:
            out.append(Problem(source, line, "error", f"{where}: no {lang} examples"))
    return rows


_READ: dict[tuple, tuple] = {}


def read_intent(path: Path, out: list[Problem]) -> tuple[list[Example], dict | None]:
    """One intent file's examples and labels. Start-up reads every file twice (the understanding
    model and the safety model's "other" texts): a file unchanged since (same size and mtime) is
    parsed once."""
    try:
        st = Path(path).stat()
        key = (str(path), st.st_mtime_ns, st.st_size)
    except OSError:
        key = None
    if key in _READ:
        examples, labels, problems = _READ[key]
        out.extend(problems)
        return list(examples), labels
    problems: list[Problem] = []
    examples, labels = _read_intent(path, problems)
    if key is not None:
        _READ[key] = (tuple(examples), labels, tuple(problems))
    out.extend(problems)
    return examples, labels


def _read_intent(path: Path, out: list[Problem]) -> tuple[list[Example], dict | None]:
    data = _read(path, out)
    if data is None:
        return [], None
    source = str(path)
    for key in data:
        if key not in ("intent", "label", "slot", "examples"):
            out.append(Problem(source, _line(data, key, 1), "error",
                               f"unknown key '{key}' (allowed: examples, intent, label, slot)"))
    name = data.get("intent")
    if name not in INTENTS:
        out.append(Problem(source, _line(data, "intent", 1), "error",
                           f"unknown intent {name!r} (known: {', '.join(INTENTS)})"))
        return [], None
    if path.stem != name:
        out.append(Problem(source, _line(data, "intent", 1), "error",
                           f"the intent is '{name}' but its file is '{path.name}'"))
    label = data.get("label")
    labels = None
    if not isinstance(label, dict) or any(not isinstance(label.get(lang), str) for lang in LANGS):
        out.append(Problem(source, _line(data, "label", 1), "error", "label: needs en: and es: texts"))
    else:
        labels = {lang: label[lang].strip() for lang in LANGS}
    slot = data.get("slot")
    examples_line = _line(data, "examples", 1)
    raw = data.get("examples")
    examples: list[Example] = []
    if slot is None:
        examples = [Example(t, lang, name, None, source, n)
                    for t, lang, n in _by_lang(raw, source, examples_line, "examples", out)]
    elif slot not in SLOTS:
        out.append(Problem(source, _line(data, "slot", 1), "error",
                           f"unknown slot {slot!r} (known: {', '.join(SLOTS)})"))
    elif not isinstance(raw, dict):
        out.append(Problem(source, examples_line, "error", f"examples: expected one group per {slot}"))
    else:
        for value, group in raw.items():
            g_line = _line(raw, value, examples_line)
            if value not in SLOTS[slot]:
                out.append(Problem(source, g_line, "error",
                                   f"unknown {slot} {value!r} (known: {', '.join(SLOTS[slot])})"))
                continue
            examples += [Example(t, lang, name, value, source, n)
                         for t, lang, n in _by_lang(group, source, g_line, f"{slot} {value}", out)]
    return examples, labels


def flow_keywords(flows_dir: Path) -> dict[str, str]:
    """Trigger word (normalised) -> flow name, read straight from the flow files."""
    words: dict[str, str] = {}
    for f in sorted(Path(flows_dir).glob("*.yaml")):
        data, _ = read_yaml(f.read_text(encoding="utf-8"), str(f))
        kws = (data or {}).get("keywords") if isinstance(data, dict) else None
        for ws in (kws or {}).values() if isinstance(kws, dict) else ():
            for w in ws or ():
                if isinstance(w, str) and normalize(w):
                    words.setdefault(normalize(w), data.get("name") or f.stem)
    return words


def check_examples(examples: list[Example], flow_words: dict[str, str]) -> list[Problem]:
    """An example claimed by two intents (or two topics), or one a keyword always takes first."""
    out: list[Problem] = []
    seen: dict[str, Example] = {}
    for ex in examples:
        norm = normalize(ex.text)
        if not norm:
            out.append(Problem(ex.source, ex.line, "error", f"example {ex.text!r} has no words"))
            continue
        first = seen.get(norm)
        if first is not None:
            if (first.intent, first.slot) != (ex.intent, ex.slot):
                what = lambda e: e.intent + (f" ({e.slot})" if e.slot else "")  # noqa: E731
                out.append(Problem(ex.source, ex.line, "error",
                                   f"example {ex.text!r} is claimed by {what(ex)} and by {what(first)} "
                                   f"({first.source}:{first.line})"))
            else:
                out.append(Problem(ex.source, ex.line, "warning",
                                   f"example {ex.text!r} is listed twice (first on line {first.line})"))
            continue
        seen[norm] = ex
        if norm.replace(" ", "").upper() in {w.replace(" ", "").upper() for w in SYSTEM_WORDS}:
            out.append(Problem(ex.source, ex.line, "error",
                               f"example {ex.text!r} is a system keyword: the keyword always answers it"))
            continue
        words = norm.split()
        for kw, flow in flow_words.items():
            k = kw.split()
            if words[:len(k)] == k:
                out.append(Problem(ex.source, ex.line, "error",
                                   f"example {ex.text!r} starts with the {flow} flow's keyword "
                                   f"'{kw.upper()}': the keyword always takes it first"))
                break
    return out


def read_entities(path: Path, out: list[Problem]) -> dict:
    data = _read(path, out) or {}
    source = str(path)
    allowed = ("needs", "places", "near_me", "languages", "fuzzy")
    for key in data:
        if key not in allowed:
            out.append(Problem(source, _line(data, key, 1), "error",
                               f"unknown key '{key}' (allowed: {', '.join(allowed)})"))
    needs = {}
    for need, phrases in (data.get("needs") or {}).items():
        n_line = _line(data["needs"], need, 1)
        if need not in NEEDS:
            out.append(Problem(source, n_line, "error", f"unknown need {need!r} (known: {', '.join(NEEDS)})"))
            continue
        needs[need] = tuple(normalize(t) for t, _ in _strings(phrases, source, n_line, f"need {need}", out))
    places = {}
    for label, phrases in (data.get("places") or {}).items():
        p_line = _line(data["places"], label, 1)
        for t, _ in _strings(phrases, source, p_line, f"place {label}", out):
            places[normalize(t)] = str(label)
    near_me = tuple(normalize(t) for t, _ in _strings(data.get("near_me") or [], source,
                                                        _line(data, "near_me", 1), "near_me", out))
    languages = {}
    for lang, phrases in (data.get("languages") or {}).items():
        l_line = _line(data["languages"], lang, 1)
        if lang not in LANGS:
            out.append(Problem(source, l_line, "error", f"unknown language {lang!r} (use en and es)"))
            continue
        languages.update({normalize(t): lang for t, _ in _strings(phrases, source, l_line, f"language {lang}", out)})
    fuzzy = tuple(normalize(t) for t, _ in _strings(data.get("fuzzy") or [], source,
                                                      _line(data, "fuzzy", 1), "fuzzy", out))
    return {"needs": needs, "places": places, "near_me": near_me, "languages": languages, "fuzzy": fuzzy}


def read_answers(directory: Path, out: list[Problem]) -> dict:
    """topic -> {lang: text}; each text within two SMS segments and person-first."""
    from core.flows.checker import stigma_hits   # the flows' own stigma lexicon and matching
    found: dict = {}
    files = sorted(Path(directory).glob("*.yaml"))
    if not files:
        out.append(Problem(str(directory), 1, "error", "no answer files (*.yaml) in this folder"))
    for path in files:
        data = _read(path, out)
        if data is None:
            continue
        source = str(path)
        for key in data:
            if key not in ("topic", "text"):
                out.append(Problem(source, _line(data, key, 1), "error", f"unknown key '{key}' (allowed: text, topic)"))
        topic = data.get("topic")
        if topic not in TOPICS:
            out.append(Problem(source, _line(data, "topic", 1), "error",
                               f"unknown topic {topic!r} (known: {', '.join(TOPICS)})"))
            continue
        if path.stem != topic:
            out.append(Problem(source, _line(data, "topic", 1), "error",
                               f"the topic is '{topic}' but its file is '{path.name}'"))
        text = data.get("text")
        if not isinstance(text, dict):
            out.append(Problem(source, _line(data, "text", 1), "error", "text: needs en: and es:"))
            continue
        by_lang = {}
        for lang in LANGS:
            s, line = text.get(lang), _line(text, lang, _line(data, "text", 1))
            if not isinstance(s, str) or not s.strip():
                out.append(Problem(source, line, "error", f"text: missing {lang} translation"))
                continue
            s = " ".join(s.split())
            n = count_segments(s.replace("{program}", "X" * 12))   # a realistic program name
            if n.segments > 2:
                out.append(Problem(source, line, "error", f"the {lang} text is {n.describe()}: "
                                   "keep it within 2 segments"))
            for word, entry in stigma_hits(s, lang):
                if entry.get("severity", "error") != "warning":
                    out.append(Problem(source, line, "error", f"'{word}' is stigmatizing; person-first "
                                       f"instead: {entry.get('instead', '')}"))
            by_lang[lang] = s
        found[topic] = by_lang
    return found


def read_safety_examples(path: Path, out: list[Problem]) -> list[tuple[str, str]]:
    """The safety model's examples (core/safety.py): {lang: {emergency|crisis|other: [texts]}}
    -> [(text, label)]; every label in both languages, and a text under one label only."""
    data = _read(path, out)
    if data is None:
        return []
    rows, seen = [], {}
    for lang in LANGS:
        if lang not in data:
            out.append(Problem(str(path), 1, "error", f"no {lang} examples"))
    for lang, block in data.items():
        l_line = _line(data, lang, 1)
        if lang not in LANGS or not isinstance(block, dict):
            out.append(Problem(str(path), l_line, "error", f"'{lang}': expected en: or es: with "
                               f"{', '.join(SAFETY_LABELS)} lists under it"))
            continue
        for label, items in block.items():
            k_line = _line(block, label, l_line)
            if label not in SAFETY_LABELS:
                out.append(Problem(str(path), k_line, "error", f"unknown label '{label}' "
                                   f"(use {', '.join(SAFETY_LABELS)})"))
                continue
            for text, line in _strings(items, str(path), k_line, f"{lang} {label}", out):
                key = normalize(text)
                if key in seen and seen[key][0] != label:
                    out.append(Problem(str(path), line, "error", f"'{text}' is also listed as "
                                       f"{seen[key][0]} (line {seen[key][1]})"))
                seen.setdefault(key, (label, line))
                rows.append((text, label))
    return rows


def load(intents_dir: Path = INTENTS_DIR, entities: Path = ENTITIES_FILE, answers_dir: Path = ANSWERS_DIR,
         flows_dir: Path = FLOWS_DIR) -> tuple[Content | None, list[Problem]]:
    """Everything the model needs, and every problem found on the way."""
    problems: list[Problem] = []
    examples, labels = [], {}
    files = sorted(Path(intents_dir).glob("*.yaml"))
    for path in files:
        exs, label = read_intent(path, problems)
        examples += exs
        if label and exs:
            labels[exs[0].intent] = label
    for name in INTENTS:
        if name not in labels and not any(p.severity == "error" for p in problems):
            problems.append(Problem(str(Path(intents_dir) / f"{name}.yaml"), 1, "error",
                                    f"no examples for the intent '{name}'"))
    problems += check_examples(examples, flow_keywords(flows_dir))
    ents = read_entities(Path(entities), problems)
    read_safety_examples(SAFETY_EXAMPLES, problems)
    answers = read_answers(Path(answers_dir), problems)
    for topic in TOPICS:
        if topic not in answers and not any(p.severity == "error" and Path(p.path).stem == topic for p in problems):
            problems.append(Problem(str(Path(answers_dir) / f"{topic}.yaml"), 1, "error",
                                    f"no answer for the topic '{topic}'"))
    problems.sort(key=lambda p: (p.path, p.line, p.severity, p.message))
    if any(p.severity == "error" for p in problems):
        return None, problems
    return Content(tuple(examples), labels, ents["needs"], ents["places"], ents["near_me"],
                   ents["languages"], ents["fuzzy"], answers), problems


def main(intents_dir: Path = INTENTS_DIR) -> int:
    """Print every problem in the intent files and the shipped entity and answer files; 1 on any error."""
    _, problems = load(intents_dir)
    for p in problems:
        print(p)
    errors = sum(p.severity == "error" for p in problems)
    print(f"intents and answers: {errors} error{'s' * (errors != 1)}, "
          f"{len(problems) - errors} warning{'s' * (len(problems) - errors != 1)}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
