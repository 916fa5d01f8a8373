"""The labelled corpus of realistic texts for the understanding step (issue 13, item 7).

The texts are written by hand in `sources/*.txt`, one text a line, under `@ key=value ...`
headers that set the labels of the lines below them (a line may override a label after
` || `). `python -m tests.corpus.corpus` writes dev.yaml and heldout.yaml from them; the split
is a fixed rule (a hash of the text), so a text never moves between the halves and nobody can
pick which half a text lands in. dev.yaml is for tuning; heldout.yaml is never used for tuning.

Labels, per row (the same keys in both files):
    text, lang (language the reply should be in), intent, need, place, topic, mood,
    target_lang, waiting (the question waiting when it was sent), answer (true: it answers
    that question), and hard_negative (true only: scary words that are not a safety hit).
"""
from __future__ import annotations

import hashlib
import shlex
import sys
import unicodedata
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "sources"
ROOT_FLOWS = HERE.parent.parent / "bot" / "content" / "flows"   # the shipped flows
FILES = {"dev": HERE / "dev.yaml", "heldout": HERE / "heldout.yaml"}
DEV_SHARE = 40          # percent of texts in dev, by hash

INTENTS = ("find_place", "talk_to_person", "stop_request", "question", "checkin", "greeting",
           "thanks", "language", "emergency", "crisis", "none")
NEEDS = ("naloxone", "treatment", "detox", "methadone", "buprenorphine", "syringe_services",
         "test_strips", "health_center", "housing", "food", "job", "id", "benefits")
TOPICS = ("naloxone_use", "naloxone_fentanyl", "xylazine", "test_strips", "tolerance",
          "good_samaritan", "buprenorphine", "methadone", "about", "privacy", "cost")
MOODS = ("good", "okay", "bad")
LANGS = ("en", "es")
WAITING = ("yes_no", "choice", "number", "date", "time", "place", "free_text")
SAFETY = ("emergency", "crisis")
KEYS = ("text", "lang", "intent", "need", "place", "topic", "mood", "target_lang", "waiting",
        "answer")
HEADER = """\
# Labelled texts for the understanding step ({split}: {n} rows). Generated from
# tests/corpus/sources/*.txt by `python -m tests.corpus.corpus`; edit the sources, not this file.
# {use}
# Written by hand; never a real person's message.
"""
USE = {"dev": "dev: for tuning and for reading the misses.",
       "heldout": "held-out: never used for tuning. Do not read it to fix a miss; add a new, "
                  "different text to the dev sources instead."}


class CorpusError(ValueError):
    pass


def fold(text: str) -> str:
    """Case, accents and spacing folded: the key for duplicates and for place matching."""
    t = unicodedata.normalize("NFKD", text or "")
    t = "".join(c for c in t if not unicodedata.combining(c)).casefold()
    return " ".join(t.split())


def split_of(text: str) -> str:
    """The fixed rule: the first 8 hex digits of sha256(folded text), mod 100, below 40 is dev."""
    h = int(hashlib.sha256(fold(text).encode("utf-8")).hexdigest()[:8], 16)
    return "dev" if h % 100 < DEV_SHARE else "heldout"


def _labels(spec: str, where: str) -> dict:
    out = {}
    for part in shlex.split(spec):
        if "=" not in part:
            raise CorpusError(f"{where}: expected key=value, got {part!r}")
        k, v = part.split("=", 1)
        if k not in KEYS[1:] and k != "hard_negative":
            raise CorpusError(f"{where}: unknown label {k!r}")
        out[k] = {"null": None, "true": True, "false": False}.get(v, v)
    return out


def read_sources(directory: Path = SOURCES) -> list[dict]:
    rows = []
    for path in sorted(directory.glob("*.txt")):
        defaults: dict = {}
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{path.name}:{n}"
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line.startswith("@ "):
                defaults = _labels(line[2:], where)
                continue
            text, _, spec = line.partition(" || ")
            row = {k: None for k in KEYS}
            row["answer"] = False
            row.update(defaults)
            row.update(_labels(spec, where))
            row["text"] = text.strip()
            row["_where"] = where
            rows.append(row)
    return rows


def problems(rows: list[dict]) -> list[str]:
    """Every way a row breaks the label rules; empty when the corpus is well formed."""
    out, seen = [], {}
    for r in rows:
        w = r.get("_where", repr(r.get("text")))
        p = lambda msg: out.append(f"{w}: {msg}")   # noqa: E731
        if not isinstance(r.get("text"), str) or not r["text"].strip():
            p("empty text")
            continue
        key = fold(r["text"])
        if key in seen:
            p(f"duplicate of {seen[key]}")
        seen.setdefault(key, w)
        if r.get("lang") not in LANGS:
            p(f"lang {r.get('lang')!r}")
        intent = r.get("intent")
        if intent not in INTENTS:
            p(f"intent {intent!r}")
        checks = {"need": ("find_place", NEEDS, True), "topic": ("question", TOPICS, True),
                  "mood": ("checkin", MOODS, True), "target_lang": ("language", LANGS, True)}
        for field, (owner, allowed, required) in checks.items():
            v = r.get(field)
            if intent == owner and not r.get("answer"):
                if v not in allowed and (required or v is not None):
                    p(f"{field} {v!r} (a {owner} row needs one of {', '.join(allowed)})")
            elif v is not None:
                p(f"{field} only on {owner} rows")
        if r.get("place") is not None and (intent != "find_place" or not isinstance(r["place"], str)):
            p("place only on find_place rows, as a string")
        if r.get("waiting") not in (None, *WAITING):
            p(f"waiting {r.get('waiting')!r}")
        if not isinstance(r.get("answer"), bool):
            p("answer must be true or false")
        elif r["answer"] and (r.get("waiting") is None or intent != "none"):
            p("an answer needs a waiting question and intent none (the flow takes it)")
        if r.get("hard_negative") not in (None, True):
            p("hard_negative is true or absent")
        if r.get("hard_negative") and intent in SAFETY:
            p("a hard negative is not a safety row")
    return out


def build(rows: list[dict] | None = None) -> dict[str, list[dict]]:
    rows = read_sources() if rows is None else rows
    bad = problems(rows)
    if bad:
        raise CorpusError("\n".join(bad))
    halves: dict[str, list[dict]] = {"dev": [], "heldout": []}
    for r in rows:
        clean = {k: r[k] for k in KEYS}
        if r.get("hard_negative"):
            clean["hard_negative"] = True
        halves[split_of(r["text"])].append(clean)
    return halves


def dump(rows: list[dict], split: str) -> str:
    body = yaml.safe_dump(rows, allow_unicode=True, sort_keys=False, width=1000)
    return HEADER.format(split=split, n=len(rows), use=USE[split]) + body


def load(split: str) -> list[dict]:
    """The rows of one half ("dev" or "heldout"), as written in its YAML file."""
    with open(FILES[split], encoding="utf-8") as f:
        return yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def read_probe(path: Path) -> list[dict]:
    """A blind writer's batch (tests/corpus/probes/*.tsv: INTENT, LANG, WAITING, EXTRA, text) as
    corpus rows, so one scorer reads both. `hn` is a hard negative (it asks for nothing);
    `answer` answers the question WAITING."""
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t", 4)
        if len(parts) != 5:
            raise CorpusError(f"{Path(path).name}:{n}: expected 5 tab-separated fields, got {len(parts)}")
        intent, lang, waiting, extra, text = parts
        row = {k: None for k in KEYS}
        row.update(text=text.strip(), lang=lang, waiting=None if waiting == "-" else waiting,
                   intent="none" if intent in ("hn", "answer") else intent, answer=intent == "answer")
        if intent == "hn":
            row["hard_negative"] = True
        for pair in ([] if extra == "-" else extra.split(";")):
            key, _, value = pair.partition("=")
            if key not in KEYS[1:]:
                raise CorpusError(f"{Path(path).name}:{n}: unknown label {key!r}")
            row[key] = value
        if row["intent"] not in INTENTS or lang not in LANGS:
            raise CorpusError(f"{Path(path).name}:{n}: unknown intent or language {intent!r} {lang!r}")
        row["_where"] = f"{Path(path).name}:{n}"
        rows.append(row)
    return rows


def main() -> int:
    try:
        halves = build()
    except CorpusError as exc:
        print(exc, file=sys.stderr)
        return 1
    for split, rows in halves.items():
        FILES[split].write_text(dump(rows, split), encoding="utf-8")
        print(f"{FILES[split].relative_to(HERE.parent.parent)}: {len(rows)} rows")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
