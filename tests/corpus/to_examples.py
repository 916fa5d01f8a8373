"""Copy the dev half's texts into the intent files as examples (`python -m tests.corpus.to_examples`).

Real-sounding texts teach the model more than invented keywords, the way a Rasa team moves
reviewed conversations into nlu.yml. Only dev: held-out stays unseen. A text already claimed,
a safety text, or one a keyword would take first is left out and listed. New examples go at the
end of their (topic or mood, language) list under a comment saying where they came from; the
rest of the file, comments included, is left as it is.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from core import intents as content_files
from core import safety
from tests.corpus.corpus import SAFETY, load

MARK = "# from the corpus's dev half (tests/corpus/dev.yaml)"


def append(path: Path, items: list[tuple[str | None, str, str]], mark: str = MARK) -> None:
    """Append (slot, lang, text) items to an intent file's lists, keeping its comments."""
    lines = path.read_text(encoding="utf-8").split("\n")
    last: dict[tuple, tuple[int, int]] = {}      # (slot, lang) -> (last item's line, its indent)
    slot = lang = None
    in_examples = False
    for i, line in enumerate(lines):
        if re.match(r"^examples:\s*$", line):
            in_examples = True
            continue
        if not in_examples or not line.strip() or line.lstrip().startswith("#"):
            continue
        key = re.match(r"^\s*([a-z_]+):\s*$", line)
        if key:
            slot, lang = (slot, key.group(1)) if key.group(1) in content_files.LANGS else (key.group(1), None)
        elif line.lstrip().startswith("- "):
            last[(slot, lang)] = (i, len(line) - len(line.lstrip()))
    grouped: dict[tuple, list[str]] = {}
    for s, lg, text in items:
        grouped.setdefault((s, lg), []).append(text)
    for (i, indent), texts in sorted(((last[k], v) for k, v in grouped.items()), reverse=True):
        lines[i + 1:i + 1] = [" " * indent + mark] + [" " * indent + "- " + json.dumps(t, ensure_ascii=False)
                                                        for t in texts]
    path.write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    content, problems = content_files.load()
    assert content is not None, problems
    claimed = {content_files.normalize(e.text): (e.intent, e.slot) for e in content.examples}
    unsafe = {content_files.normalize(t) for t, lab in zip(*safety.training_texts()) if lab != "other"}
    keywords = content_files.flow_keywords(content_files.FLOWS_DIR)
    plan: dict[str, list] = {}
    for r in load("dev"):
        if r["answer"] or r["intent"] in SAFETY:
            continue
        intent = "unclear" if r["intent"] == "none" else r["intent"]
        slot = r["topic"] if intent == "question" else r["mood"] if intent == "checkin" else None
        norm = content_files.normalize(r["text"])
        example = content_files.Example(r["text"], r["lang"], intent, slot, "dev", 1)
        why = ("claimed by " + str(claimed[norm]) if claimed.get(norm, (intent, slot)) != (intent, slot)
               else "a safety text" if norm in unsafe
               else "a keyword takes it" if content_files.check_examples([example], keywords) else None)
        if why:
            print(f"left out ({why}): {r['text']}")
        elif norm not in claimed:
            claimed[norm] = (intent, slot)
            plan.setdefault(intent, []).append((slot, r["lang"], r["text"]))
    for intent, items in plan.items():
        append(content_files.INTENTS_DIR / f"{intent}.yaml", items)
        print(f"{intent}: {len(items)} added")


if __name__ == "__main__":
    main()
