#!/usr/bin/env python3
"""The auditor's filters on a large audit log: with the store's indexes
against the same queries with every index turned off (`NOT INDEXED`), in one
run, on one database file. Prints milliseconds per query and the ratio.

The schema and the indexes are read from crates/store/src/migrations.rs, so
the benchmark follows the store. The queries are the shape the store runs
(`audit_rows.rs`: `seq > ? AND seq <= ? AND <filter> ORDER BY seq LIMIT 100`).

    python3 bench/audit_filters.py            # 1,000,000 entries
    python3 bench/audit_filters.py --entries 200000
"""

import argparse
import os
import random
import re
import sqlite3
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def schema():
    text = open(os.path.join(ROOT, "crates/store/src/migrations.rs"), encoding="utf-8").read()
    table = re.search(r"CREATE TABLE audit_log \(.*?\n\);", text, re.S).group(0)
    columns = re.findall(r"ALTER TABLE audit_log ADD COLUMN [^;]+;", text)
    indexes = re.findall(r"CREATE INDEX audit_log_\w+ ON audit_log [^;]+;", text)
    if not indexes:
        raise SystemExit("no audit_log index in migrations.rs: nothing to measure")
    return table, columns, indexes


def fill(db, n, seed):
    rng = random.Random(seed)
    actors = [f"user{i:03}" for i in range(300)]
    actions = ["camera.search", "video.live", "video.playback", "plate.search", "alert.acknowledge", "login", "incident.note"]
    t0 = 1_767_225_600  # 2026-01-01T00:00:00Z
    rows = []
    for seq in range(1, n + 1):
        case = f"KU-2026-{rng.randrange(20000):05}" if rng.random() < 0.2 else None
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t0 + seq * 3)) + ".000000Z"
        rows.append((seq, ts, rng.choice(actors), rng.choice(actions), f"cam-{rng.randrange(3500)}", "review" if case else None, case, "ok", "{}", "x", "y"))
        if len(rows) == 50_000:
            db.executemany("INSERT INTO audit_log (seq, time, actor, action, target, purpose, case_ref, result, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
            rows.clear()
    if rows:
        db.executemany("INSERT INTO audit_log (seq, time, actor, action, target, purpose, case_ref, result, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
    db.commit()


def timed(db, sql, args, repeat):
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        db.execute(sql, args).fetchall()
        best = min(best, time.perf_counter() - t)
    return best * 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    table, columns, indexes = schema()
    with tempfile.TemporaryDirectory() as d:
        db = sqlite3.connect(os.path.join(d, "audit.db"))
        db.execute(table)
        for c in columns:
            db.execute(c)
        print(f"filling {a.entries:,} entries…", flush=True)
        fill(db, a.entries, a.seed)
        for i in indexes:
            db.execute(i)
        db.commit()
        head = a.entries
        mid = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1_767_225_600 + head * 3 // 2)) + ".000000Z"
        late = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1_767_225_600 + head * 3 // 2 + 3600)) + ".000000Z"
        case = db.execute("SELECT case_ref FROM audit_log WHERE case_ref IS NOT NULL LIMIT 1").fetchone()[0]
        cases = [
            ("one case reference", "case_ref = ?", [case], ""),
            ("one user", "actor = ?", ["user042"], ""),
            ("one action (1 in 7)", "action = ?", ["incident.note"], ""),
            ("one camera", "target = ?", ["cam-17"], ""),
            ("one hour", "time >= ? AND time < ?", [mid, late], " INDEXED BY audit_log_time"),
        ]
        print(f"{'filter':<22}{'indexed ms':>12}{'no index ms':>14}{'ratio':>9}")
        for name, cond, args, hint in cases:
            q = "SELECT seq, time, actor, action, target, purpose, case_ref, result, detail FROM audit_log{} WHERE seq > ? AND seq <= ? AND {} ORDER BY seq LIMIT 100"
            full = [0, head] + args + []
            with_index = timed(db, q.format(hint, cond), full, a.repeat)
            without = timed(db, q.format(" NOT INDEXED", cond), full, a.repeat)
            print(f"{name:<22}{with_index:>12.2f}{without:>14.2f}{without / with_index:>8.0f}×")


if __name__ == "__main__":
    main()
