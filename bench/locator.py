"""Locator benchmark: the indexed grid query against a full haversine scan, in the same run.

Why: the issue's promise is that a lookup never scans every site. This loads the ~29,000 real
sites (bot/content/sites, through core.sites_import) into an in-memory SQLite table with the same
two integer columns and index the shell uses (cell_lat, cell_lon), then times, for the same
random origins (ZIP centroids):

  grid      the shell's query: cell_lat IN (...) AND cell_lon BETWEEN lo AND hi AND kinds match,
            widening 5 -> 15 -> 30 -> 50 -> 100 miles until 4 sites are found, then
            locator.nearest() (the same loop as locator.answer)
  scan      SELECT ... WHERE kinds match ORDER BY haversine(lat, lon) LIMIT 12 over every row
            (a SQL function), then locator.nearest()

Both return the same sites (checked). Then the same at 30,000 and 300,000 synthetic sites
(real sites copied with a few miles of jitter, so density stays realistic).

    .venv/bin/python bench/locator.py [--origins 200] [--scan-origins 40] [--need treatment]
"""
from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import zipcodes  # noqa: E402

from core import locator as L  # noqa: E402
from core.locator.ranking import widening  # noqa: E402
from core import sites_import as si  # noqa: E402

REAL = (("opioid_treatment_programs.csv", "otp"), ("substance_use_treatment.csv", "treatment"),
        ("health_centers.csv", "health_centers"))
COLS = "id, name, kinds, address, city, state, zip, lat, lon, phone, timezone"
N = 4          # a page of 3 and one more, as locator.answer asks for


def load_real() -> list[L.SiteRecord]:
    out: list[L.SiteRecord] = []
    for name, preset in REAL:
        out += [i.site for i in si.import_csv((ROOT / "bot/content/sites" / name).read_bytes(), preset).sites]
    return out


def synthetic(real: list[L.SiteRecord], n: int, seed: int = 7) -> list[tuple]:
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        s = real[i % len(real)] if i < len(real) else rnd.choice(real)
        lat, lon = (s.lat, s.lon) if i < len(real) else (s.lat + rnd.uniform(-0.05, 0.05),
                                                          s.lon + rnd.uniform(-0.05, 0.05))
        copy = "" if i < len(real) else f" #{i}"      # a distinct place, not a duplicate
        rows.append((i + 1, s.name + copy, " ".join(s.kinds), s.address + copy, s.city, s.state,
                     s.zip, lat, lon, s.phone, s.timezone))
    return rows


def database(rows: list[tuple]) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE TABLE sites ({COLS}, cell_lat INTEGER, cell_lon INTEGER)")
    db.executemany(f"INSERT INTO sites VALUES ({', '.join('?' * 13)})",
                   [r + L.cell_of(r[7], r[8]) for r in rows])
    db.execute("CREATE INDEX ix_sites_cell ON sites (cell_lat, cell_lon)")
    db.create_function("haversine", 4, L.haversine, deterministic=True)
    db.execute("ANALYZE")
    return db


def record(r: tuple) -> L.SiteRecord:
    return L.SiteRecord(r[0], r[1], tuple(r[2].split()), r[3], r[4], r[5], r[6], r[7], r[8], r[9],
                        None, r[10])


def grid_fetch(db: sqlite3.Connection, counter: list[int]):
    """What the shell's fetch_candidates does: one indexed query per call."""
    def fetch(cells: L.Cells) -> list[L.SiteRecord]:
        lats = cells.lat_values()
        ranges = " OR ".join("cell_lon BETWEEN ? AND ?" for _ in cells.lon_ranges)
        sql = (f"SELECT {COLS} FROM sites WHERE cell_lat IN ({', '.join('?' * len(lats))}) "
               f"AND ({ranges}) AND ({_kinds_sql(cells.kinds)})")
        rows = db.execute(sql, [*lats, *[v for r in cells.lon_ranges for v in r],
                                *[f"% {k} %" for k in cells.kinds]]).fetchall()
        counter[0] += len(rows)
        return [record(r) for r in rows]
    return fetch


def _kinds_sql(kinds) -> str:
    return " OR ".join("(' ' || kinds || ' ') LIKE ?" for _ in kinds) or "1"


def grid_query(fetch, origin, need) -> list[tuple[float, L.SiteRecord]]:
    """locator.answer's own search (core.locator.ranking.widening): ring after ring until a page
    and one more are found."""
    return widening(fetch, origin, L.NEEDS[need], N, 100)[0]


def scan_query(db, origin, need) -> list[tuple[float, L.SiteRecord]]:
    kinds = sorted(L.NEEDS[need])
    rows = db.execute(f"SELECT {COLS}, haversine(?, ?, lat, lon) AS d FROM sites WHERE {_kinds_sql(kinds)} "
                      f"ORDER BY d LIMIT {N * 3}", [*origin, *[f"% {k} %" for k in kinds]]).fetchall()
    return L.nearest([record(r) for r in rows], origin, need, N, max_miles=100)


def timed(fn, origins) -> tuple[list[float], list]:
    times, results = [], []
    for o in origins:
        t = time.perf_counter()
        results.append(fn(o))
        times.append((time.perf_counter() - t) * 1000)
    return times, results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--origins", type=int, default=200)
    ap.add_argument("--scan-origins", type=int, default=40, help="origins for the slow scans")
    ap.add_argument("--need", default="treatment", choices=sorted(L.NEEDS))
    args = ap.parse_args()

    t = time.perf_counter()
    real = load_real()
    print(f"loaded {len(real)} real sites in {time.perf_counter() - t:.1f}s", file=sys.stderr)
    rnd = random.Random(11)
    zips = [z for z in zipcodes.list_all() if z["zip_code_type"] == "STANDARD" and float(z["lat"])]
    origins = [(float(z["lat"]), float(z["long"])) for z in rnd.sample(zips, args.origins)]

    table = []
    for label, rows in (("real", synthetic(real, len(real))), ("synthetic", synthetic(real, 30_000)),
                        ("synthetic", synthetic(real, 300_000))):
        db = database(rows)
        read = [0]
        fetch = grid_fetch(db, read)
        g_times, g_res = timed(lambda o: grid_query(fetch, o, args.need), origins)
        scan_o = origins[: args.scan_origins]
        s_times, s_res = timed(lambda o: scan_query(db, o, args.need), scan_o)
        for a, b in zip(g_res, s_res):           # same answers, or the ratio means nothing
            assert [round(d, 9) for d, _ in a] == [round(d, 9) for d, _ in b if d <= 100][: len(a)]
        g, s = statistics.mean(g_times), statistics.mean(s_times)
        table.append((label, len(rows), g, statistics.median(g_times), s, s / g, read[0] / len(origins)))
        if label == "real":
            plan = db.execute("EXPLAIN QUERY PLAN SELECT id FROM sites WHERE cell_lat IN (1, 2) "
                              "AND cell_lon BETWEEN 3 AND 4").fetchall()
            print(f"query plan: {plan[0][-1]}", file=sys.stderr)
        db.close()

    print(f"Locator benchmark: need={args.need}, {args.origins} origins (ZIP centroids) for the grid, "
          f"{args.scan_origins} for the scan; in-memory SQLite {sqlite3.sqlite_version}, "
          f"Python {sys.version.split()[0]}\n")
    print("| sites | grid query, mean ms | grid, median ms | full haversine scan, mean ms "
          "| scan / grid | rows read per grid lookup |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, n, g, gm, s, ratio, read in table:
        print(f"| {n:,} ({label}) | {g:.2f} | {gm:.2f} | {s:.1f} | {ratio:.0f}x | {read:,.0f} |")
    ratio = table[0][5]
    print(f"\nreal sites: the indexed query is {ratio:.0f}x faster than a full scan "
          f"(goal >= 20x: {'met' if ratio >= 20 else 'NOT met'}).")


if __name__ == "__main__":
    main()
