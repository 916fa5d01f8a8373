"""Tuning without the held-out half: 5-fold cross-validation on the dev half.

The dev texts are also training examples (bot/content/intents, bot/content/safety/examples.yaml),
so reading dev scores straight would grade the model on what it learned. Each fold here leaves its
fifth of dev out of the training set and scores it; held-out is never read.

    python -m tests.corpus.crossval intents          # the understanding step, per intent
    python -m tests.corpus.crossval safety 0.3 0.35  # the learned safety half alone, per margin
"""
from __future__ import annotations

import dataclasses
import hashlib
import sys

from core import intents as content_files
from core import safety
from core import understand as step
from tests.corpus import score
from tests.corpus.corpus import SAFETY, fold, load

K = 5


def fold_of(text: str) -> int:
    return int(hashlib.sha1(fold(text).encode()).hexdigest()[:6], 16) % K


def folds():
    dev = load("dev")
    for k in range(K):
        test = [r for r in dev if fold_of(r["text"]) == k]
        yield test, {fold(r["text"]) for r in test}


def intents() -> None:
    content, problems = content_files.load()
    assert content is not None, problems
    right: dict[str, list[int]] = {}
    for test, hold in folds():
        kept = tuple(e for e in content.examples if fold(e.text) not in hold)
        model = step.Model(dataclasses.replace(content, examples=kept))
        res = score.evaluate(test, score.understanding_reader(step.understand, model))
        for name, (ok, n) in res.per_intent.items():
            tally = right.setdefault(name, [0, 0])
            tally[0] += ok
            tally[1] += n
    for name, (ok, n) in sorted(right.items()):
        if name not in SAFETY:
            print(f"  {name:16} {ok:4}/{n:<4} {ok / n:6.1%}")
    print(f"  {'all':16} {sum(v[0] for v in right.values()):4}/{sum(v[1] for v in right.values())}")


def learned_safety(margins: list[float]) -> None:
    texts, labels = safety.training_texts()
    tally = {m: [0, 0, 0, 0, 0, 0] for m in margins}   # emergencies caught, n, crises, n, hard negatives fired, others fired
    for test, hold in folds():
        rows = [(t, lab) for t, lab in zip(texts, labels) if fold(t) not in hold]
        model = safety.Learned([t for t, _ in rows], [lab for _, lab in rows])
        for r in test:
            for m in margins:
                got = model.kind(r["text"], m) is not None
                x = tally[m]
                if r["intent"] == "emergency":
                    x[0] += got
                    x[1] += 1
                elif r["intent"] == "crisis":
                    x[2] += got
                    x[3] += 1
                elif r.get("hard_negative"):
                    x[4] += got
                else:
                    x[5] += got
    for m, x in tally.items():
        print(f"  margin {m}: emergencies {x[0]}/{x[1]}, crises {x[2]}/{x[3]}, "
              f"alarms on hard negatives {x[4]}, on other texts {x[5]}")


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "intents"
    if what == "safety":
        learned_safety([float(a) for a in sys.argv[2:]] or [safety.MODEL_MARGIN])
    else:
        intents()
