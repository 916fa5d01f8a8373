"""How well Homeward understands what people text: the labelled corpus (tests/corpus), dev and
held-out, the understanding step (core/understand.py) against today's keyword-only baseline,
in one run.

    python bench/understanding.py            # every table, both halves
    python bench/understanding.py --misses   # also list the dev texts each reader gets wrong
    python bench/understanding.py --probe tests/corpus/probes/X.tsv [--misses]
                                             # a blind writer's batch alone (and its misses)

Held-out misses are never listed: held-out is for measuring, not for tuning (tests/corpus).
tests/unit/test_understanding_corpus.py asserts the acceptance thresholds on held-out.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core import safety  # noqa: E402
from tests.corpus import score  # noqa: E402
from tests.corpus.corpus import INTENTS, NEEDS, SAFETY, TOPICS, load, read_probe  # noqa: E402

SHORT = {"find_place": "place", "talk_to_person": "person", "stop_request": "stop",
         "question": "quest", "checkin": "check", "greeting": "greet", "thanks": "thank",
         "language": "lang", "emergency": "emerg", "crisis": "crisis", "none": "none",
         "answer": "answer"}
ROWS = [i for i in INTENTS] + ["answer"]
PASSES = 3


def timings(fn, rows: list[dict]) -> tuple[list[float], list[float]]:
    """Microseconds per call, wall clock and this thread's CPU, every row PASSES times (after one
    warm-up pass). On a shared machine the wall p99 is mostly waiting for a core; the CPU
    time is what the call itself costs."""
    for r in rows:
        fn(r)
    wall, cpu = [], []
    for _ in range(PASSES):
        for r in rows:
            c0, t0 = time.thread_time_ns(), time.perf_counter_ns()
            fn(r)
            wall.append((time.perf_counter_ns() - t0) / 1000)
            cpu.append((time.thread_time_ns() - c0) / 1000)
    return wall, cpu


def pct(right_n) -> str:
    right, n = right_n
    return f"{100 * right / n:5.1f}% ({right}/{n})" if n else "    —"


def load_step():
    """(understand, model, seconds to build the model), or None when the step is not there."""
    try:
        from core.understand import default_model, understand
    except ImportError:
        return None
    t0 = time.perf_counter()
    model = default_model()
    return understand, model, time.perf_counter() - t0


def confusion(res: score.Result, title: str) -> str:
    cols = [c for c in ROWS if any(res.confusion[(e, c)] for e in ROWS)]
    lines = [f"  {title} (rows: expected, columns: read as)",
             "  " + f"{'':8}" + "".join(f"{SHORT[c]:>7}" for c in cols)]
    for e in ROWS:
        if any(res.confusion[(e, c)] for c in cols):
            lines.append("  " + f"{SHORT[e]:8}" + "".join(
                f"{res.confusion[(e, c)] or '.':>7}" for c in cols))
    return "\n".join(lines)


def report(split: str, rows: list[dict], step, misses: bool) -> None:
    base = score.evaluate(rows, score.baseline)
    ours = score.evaluate(rows, score.understanding_reader(step[0], step[1])) if step else None
    mid = sum(1 for r in rows if r["waiting"])
    print(f"\n=== {split}: {len(rows)} texts ({sum(r['lang'] == 'es' for r in rows)} to answer in "
          f"Spanish, {mid} sent mid-conversation, {sum(bool(r.get('hard_negative')) for r in rows)} hard negatives)")
    head = f"  {'intent':24} {'baseline':>18}" + (f" {'understanding':>18}" if ours else "")
    print("\n  accuracy per intent (answer = a text that answers the waiting question; emergency/"
          "crisis by safety.classify)")
    print(head)
    for intent in ROWS:
        n = base.per_intent.get(intent, (0, 0))[1]
        if n:
            line = f"  {intent:24} {pct(base.per_intent[intent]):>18}"
            if ours:
                line += f" {pct(ours.per_intent[intent]):>18}"
            print(line)
    total = lambda res: (sum(v[0] for v in res.per_intent.values()), res.n)  # noqa: E731
    print(f"  {'all':24} {pct(total(base)):>18}" + (f" {pct(total(ours)):>18}" if ours else ""))
    for lang, label in (("en", "all, English"), ("es", "all, Spanish")):
        print(f"  {label:24} {pct(base.by_lang[lang]):>18}" + (f" {pct(ours.by_lang[lang]):>18}" if ours else ""))
    print("\n  entities and language")
    print(head.replace("intent", "what  "))
    for name, label in (("need", "need"), ("place", "place"), ("topic", "topic"), ("mood", "mood"),
                        ("target_lang", "target language")):
        line = f"  {label:24} {pct(base.entity[name]):>18}"
        print(line + (f" {pct(ours.entity[name]):>18}" if ours else ""))
    line = f"  {'place invented':24} {pct(base.invented_place):>18}"
    print(line + (f" {pct(ours.invented_place):>18}" if ours else "") + "   (lower is better)")
    for label, attr in (("reply language", "lang"), ("answer kept", "answers"),
                        ("request mid-conv", "interrupts")):
        line = f"  {label:24} {pct(getattr(base, attr)):>18}"
        print(line + (f" {pct(getattr(ours, attr)):>18}" if ours else ""))
    print("\n  need and topic, by value (find_place and question rows)")
    for name, values in (("need", NEEDS), ("topic", TOPICS)):
        for v in values:
            line = f"  {name + ' ' + v:24} {pct(base.by_value[(name, v)]):>18}"
            print(line + (f" {pct(ours.by_value[(name, v)]):>18}" if ours else ""))
    print()
    print(confusion(base, "confusion, baseline"))
    if ours:
        print(confusion(ours, "confusion, understanding"))

    s = score.safety_scores(rows)
    print("\n  safety.classify")
    for kind in SAFETY:
        print(f"  {kind:9} recall {pct(s.recall[kind]):>18}   caught as either kind "
              f"{pct(s.any_hit[kind]):>18}")
    print(f"  false alarms on other rows {len(s.false_alarms)}/{s.n_other}; on hard negatives "
          f"{len(s.hard_negatives)}/{s.n_hard}")

    print(f"\n  time per message, µs ({PASSES} passes of every text)")
    print(f"  {'':22} {'wall p50 / p99':>17}  {'CPU p50 / p99':>17}")
    for label, fn, note in (
            ("safety.classify", lambda r: safety.classify(r["text"]), ""),
            ("baseline reader", lambda r: score.baseline(r["text"], r["waiting"], score.person_lang(r)),
             "   (keywords, safety, triggers, need words)"),
            *((("understand()", lambda r: step[0](r["text"], step[1], waiting=r["waiting"]),
                "   (the step alone; budget: under 1,000 µs p99)"),) if step else ())):
        wall, cpu = timings(fn, rows)
        (w50, w99), (c50, c99) = score.p50_p99(wall), score.p50_p99(cpu)
        print(f"  {label:22} {w50:7.1f} / {w99:7.1f}  {c50:7.1f} / {c99:7.1f}{note}")

    if misses and split != "heldout":
        for name, res in (("baseline", base), ("understanding", ours)):
            if res is None:
                continue
            print(f"\n  dev misses, {name}:")
            for row, r in res.misses:
                want = "answer" if row["answer"] else row["intent"]
                print(f"    want={want:14} got={r.intent:14} waiting={row['waiting'] or '-':9} {row['text']}")
        for row, kind in s.missed + s.false_alarms:
            print(f"    safety want={row['intent']:9} got={kind or 'none':9} {row['text']}")


def main(argv: list[str]) -> int:
    safety.warm()
    score.registry()
    score.baseline("warm up 60614", None, "en")
    step = load_step()
    if step:
        print(f"understanding step: core.understand (default_model() built in {step[2]:.2f} s)")
    else:
        print("understanding step not present (core/understand.py): the baseline alone")
    if "--probe" in argv:
        path = argv[argv.index("--probe") + 1]
        report(f"probe {Path(path).name}", read_probe(Path(path)), step, "--misses" in argv)
        return 0
    for split in ("dev", "heldout"):
        report(split, load(split), step, "--misses" in argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
