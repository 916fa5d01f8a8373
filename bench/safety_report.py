"""Precision and recall of bot/safety.py on the labelled texts, per class and per language.

    python bench/safety_report.py            # dev and heldout tables
    python bench/safety_report.py --misses   # also list every text it gets wrong

A naive scary-word matcher is measured in the same run as the baseline, so the table shows what
the phrase rules and guards buy (mostly precision: the baseline fires on "what is an overdose").
tests/unit/test_safety.py asserts thresholds on the same numbers.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core import safety  # noqa: E402

LABELLED = ROOT / "tests" / "unit" / "safety_labelled.yaml"
CLASSES = ("emergency", "crisis")
NAIVE = {
    "emergency": {"overdose", "overdosing", "od", "breathing", "wake", "blue", "narcan", "911",
                  "sobredosis", "respira", "despierta", "responde", "morado"},
    "crisis": {"die", "kill", "suicide", "suicidal", "end", "dead", "morir", "matar", "suicidio",
               "vivir", "morirme", "matarme"},
}


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    misses: list = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def load(path: Path = LABELLED) -> dict:
    """split -> lang -> label -> [text]."""
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def examples(data: dict, split: str):
    for lang, groups in data[split].items():
        for label, texts in groups.items():
            for t in texts:
                yield lang, label, str(t)


def naive(text: str) -> str | None:
    words = set(safety.split(text))
    return next((k for k in CLASSES if words & NAIVE[k]), None)


def evaluate(data: dict, split: str, classify=lambda t: safety.classify(t).kind) -> dict:
    """(lang or "all", class) -> Score."""
    scores: dict = {}
    for lang, label, text in examples(data, split):
        got = classify(text) or "none"
        for key in ((lang, None), ("all", None)):
            for cls in CLASSES:
                s = scores.setdefault((key[0], cls), Score())
                if got == cls and label == cls:
                    s.tp += 1
                elif got == cls:
                    s.fp += 1
                    s.misses.append((label, got, text))
                elif label == cls:
                    s.fn += 1
                    s.misses.append((label, got, text))
    return scores


def table(scores: dict, title: str) -> str:
    lines = [title, f"  {'lang':4} {'class':9} {'precision':>9} {'recall':>7}   tp  fp  fn"]
    for (lang, cls), s in sorted(scores.items(), key=lambda kv: (kv[0][0] != "all", kv[0])):
        lines.append(f"  {lang:4} {cls:9} {s.precision:9.3f} {s.recall:7.3f} {s.tp:4} {s.fp:3} {s.fn:3}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    data = load()
    safety.classify("warm up")   # load and compile the lexicons outside the timing
    for split in [s for s in ("dev", "heldout") if s in data]:
        n = sum(1 for _ in examples(data, split))
        t0 = time.perf_counter()
        ours = evaluate(data, split)
        t_ours = time.perf_counter() - t0
        t0 = time.perf_counter()
        base = evaluate(data, split, naive)
        t_base = time.perf_counter() - t0
        print(table(ours, f"{split}: {n} texts, safety.classify"))
        print(table({k: v for k, v in base.items() if k[0] == "all"}, f"{split}: naive scary-word baseline"))
        print(f"  time per text: {1e6 * t_ours / n:.0f} us (baseline {1e6 * t_base / n:.0f} us, "
              f"ratio {t_ours / max(t_base, 1e-9):.1f}x)\n")
        if "--misses" in argv:
            seen = set()
            for (lang, _), s in ours.items():
                for m in s.misses:
                    if lang != "all" and (lang, m) not in seen:
                        seen.add((lang, m))
                        print(f"  MISS {lang} want={m[0]} got={m[1]}: {m[2]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
