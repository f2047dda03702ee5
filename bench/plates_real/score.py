#!/usr/bin/env python3
"""Scores `citywatch analyze` output against labels.csv: a plate counts
as read when some plate read in its image equals the label after keeping
only A-Z and 0-9 (so `LMF-462` = `LMF462`); an image counts when all its
plates are read. Prints the per-image table and, per kind of image, the
exact-match rate.

usage: score.py LABELS.csv ANALYZE.jsonl
"""
import csv
import json
import os
import re
import sys

from fetch import image_name


def key(text):
    return re.sub(r"[^A-Z0-9]", "", text.upper())


def main():
    labels, analysed = sys.argv[1], sys.argv[2]
    reads = {}
    for line in open(analysed):
        line = line.strip()
        if line:
            d = json.loads(line)
            reads[os.path.basename(d["file"])] = d
    kinds = {}
    print(f"{'image':<48} {'kind':<10} {'label':<16} {'vehicles':>8}  reads -> hit")
    for r in csv.DictReader(open(labels, newline="")):
        name = image_name(r)
        want = r["plates"].split(";")
        d = reads.get(name)
        if d is None:
            got, vehicles, status = [], "-", "not analysed"
        else:
            got = [p["text"] for p in d["plates"]]
            vehicles = sum(1 for o in d["objects"] if o["class"] in ("car", "truck", "bus", "motorcycle"))
            hits = sum(1 for w in want if any(key(g) == key(w) for g in got))
            status = "yes" if hits == len(want) else f"no ({hits}/{len(want)})"
        print(f"{name:<48} {r['kind']:<10} {' '.join(want):<16} {vehicles!s:>8}  {got} -> {status}")
        if d is not None:
            k = kinds.setdefault(r["kind"], [0, 0])
            k[0] += status == "yes"
            k[1] += 1
    print()
    for kind, (hit, n) in kinds.items():
        print(f"{kind}: {hit}/{n} images exact ({100.0 * hit / n:.0f}%)")


if __name__ == "__main__":
    main()
