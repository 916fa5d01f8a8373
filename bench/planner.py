"""How the nudge planner scales: plan 10,000 then 100,000 people and compare.

Why: enrollment and a schedule edit replan everyone, so planning must stay linear in the number
of people (ratio about 10) and cheap enough to redo for a whole program in seconds. People vary
in release date (a month ahead to past the window), time zone, check-in time and enrollment time.
Prints a markdown table: `python bench/planner.py [--sizes 10000 100000] [--seed 7]`.
"""
from __future__ import annotations

import argparse
import random
import sys
import time as clock
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.policy import load_schedule, plan  # noqa: E402

ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
         "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "America/Puerto_Rico",
         "Pacific/Guam"]
NOW = datetime(2025, 3, 6, 15, 0, tzinfo=timezone.utc)


def people(n: int, seed: int) -> list[tuple]:
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        release = NOW.date() + timedelta(days=rnd.randint(-100, 30))
        pref = None if rnd.random() < 0.3 else time(rnd.randint(7, 22), rnd.choice((0, 15, 30, 45)))
        enrolled = min(NOW, datetime.combine(release, time(), tzinfo=timezone.utc)
                       + timedelta(minutes=rnd.randint(-30 * 1440, 20 * 1440)))
        out.append((release, rnd.choice(ZONES), pref, f"p{i}", enrolled))
    return out


def run(n: int, seed: int) -> tuple[float, int]:
    schedule, batch = load_schedule(), people(n, seed)
    start = clock.perf_counter()
    planned = sum(len(plan(r, schedule, tz, pref, key, enrolled, NOW)) for r, tz, pref, key, enrolled in batch)
    return clock.perf_counter() - start, planned


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    run(args.sizes[0], args.seed)                       # warm caches (zoneinfo, allocator)
    rows = [(n, *run(n, args.seed)) for n in args.sizes]
    base_n, base_t, _ = rows[0]
    print("| people | planned texts | seconds | µs per person | ratio to first |")
    print("|---:|---:|---:|---:|---:|")
    for n, t, planned in rows:
        print(f"| {n:,} | {planned:,} | {t:.2f} | {t / n * 1e6:.0f} | {t / base_t:.1f}× "
              f"(size {n / base_n:.0f}×) |")


if __name__ == "__main__":
    main()
