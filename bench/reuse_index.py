"""Reuse lookup vs number of indexed images: the banded index against scanning every hash.

    .venv/bin/python bench/reuse_index.py                  # N = 100k, 1M images, 6 hashes each
    .venv/bin/python bench/reuse_index.py --sizes 100000 --queries 500

Each indexed image has 6 hashes, as the worker stores them (the image and 5 crop variants,
``perceptual_hashes``). The hashes are synthetic — generating and hashing a million photos would
take hours — in two mixes: *uniform* (independent random 64-bit hashes: the best case for bucket
balance) and *clustered* (images drawn around 20k "scenes", 12–20 bits from their scene: street
photos of the same kind look alike, so buckets are uneven). Variants are 2–12 bits from their image
(measured crop variants are 4–16 bits from the plain hash). Queries: half are copies of an indexed
image (a variant with 0–8 more bits flipped: re-encoded, resized, cropped), half unrelated.

For each N, in the same run:

* the index: ``processors.reuse.HashIndex`` with the stream's layout (``PAKN_INTEGRITY_REUSE_BANDS``
  = 4 pieces of 16 bits, radius 2 at distance 10: 548 probed buckets) — build time, memory of its
  arrays and dicts, lookup time (median, p99), candidates compared per lookup;
* baseline A: a linear scan in Python (every hash, ``(q ^ h).bit_count()``) on a few queries;
* baseline B: a vectorised linear scan (numpy ``bitwise_count`` over a uint64 array of every
  hash) — the best a scan can do on one core;
* at 100k, the other layouts (6 pieces: radius 1, 66 probes; 11 pieces: radius 0, 11 probes) to
  show why the stream uses 4.

Every lookup's answer is checked against the numpy scan (same refs, same distances).
"""

from __future__ import annotations

import argparse
import gc
import random
import sys
import time

import _common as c
import numpy as np

from processors.reuse import HashIndex

DISTANCE = 10


def flip(h: int, bits: int, rng: random.Random) -> int:
    for b in rng.sample(range(64), bits):
        h ^= 1 << b
    return h


def images(n: int, mix: str, seed: int) -> list[list[int]]:
    rng = random.Random(seed)
    scenes = [rng.getrandbits(64) for _ in range(20_000)]
    out = []
    for _ in range(n):
        base = (
            rng.getrandbits(64)
            if mix == "uniform"
            else flip(rng.choice(scenes), rng.randrange(12, 21), rng)
        )
        out.append([base] + [flip(base, rng.randrange(2, 13), rng) for _ in range(5)])
    return out


def queries(stored: list[list[int]], k: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    out = []
    for i in range(k):
        if i % 2 == 0:
            out.append(flip(rng.choice(rng.choice(stored)), rng.randrange(0, 9), rng))
        else:
            out.append(rng.getrandbits(64))
    return out


def index_bytes(ix: HashIndex) -> int:
    total = sys.getsizeof(ix.hashes) + sys.getsizeof(ix.ids)
    for k, a in ix.hashes.items():
        total += sys.getsizeof(a) + sys.getsizeof(ix.ids[k]) + sys.getsizeof(k)
    return total


def scan_numpy(all_h: np.ndarray, all_id: np.ndarray, q: int) -> list[tuple[int, int]]:
    d = np.bitwise_count(np.bitwise_xor(all_h, np.uint64(q)))
    hit = d <= DISTANCE
    best: dict[int, int] = {}
    for ref, dist in zip(all_id[hit].tolist(), d[hit].tolist(), strict=True):
        if dist < best.get(ref, 65):
            best[ref] = dist
    return sorted(best.items(), key=lambda rd: (rd[1], rd[0]))


def scan_python(flat: list[tuple[int, int]], q: int) -> list[tuple[int, int]]:
    best: dict[int, int] = {}
    for h, ref in flat:
        dist = (q ^ h).bit_count()
        if dist <= DISTANCE and dist < best.get(ref, 65):
            best[ref] = dist
    return sorted(best.items(), key=lambda rd: (rd[1], rd[0]))


def timed(fn, qs: list[int]) -> tuple[list[float], list]:  # type: ignore[no-untyped-def]
    times, answers = [], []
    for q in qs:
        t = time.perf_counter()
        answers.append(fn(q))
        times.append(time.perf_counter() - t)
    return times, answers


def run(n: int, mix: str, bands: int, k: int, python_k: int) -> list[str]:
    stored = images(n, mix, seed=n)
    qs = queries(stored, k, seed=n + 1)
    gc.collect()
    t = time.perf_counter()
    ix = HashIndex(DISTANCE, bands)
    for ref, hs in enumerate(stored):
        ix.add(hs, ref)
    build = time.perf_counter() - t
    mem = index_bytes(ix)

    t_ix, ans_ix = timed(ix.query, qs)
    cands = []
    for q in qs[:200]:
        cands.append(sum(len(ix.hashes[k]) for k in ix.candidates(q)))
    flat_h = np.fromiter((h for hs in stored for h in dict.fromkeys(hs)), np.uint64)
    flat_id = np.fromiter(
        (ref for ref, hs in enumerate(stored) for _ in dict.fromkeys(hs)), np.int64
    )
    t_np, ans_np = timed(lambda q: scan_numpy(flat_h, flat_id, q), qs)
    assert ans_ix == ans_np, "the index must answer what the scan answers"
    found = sum(1 for a in ans_ix if a)
    row = [
        f"{n:,}",
        mix,
        str(bands),
        str(ix.probes()),
        f"{build:.1f} s",
        f"{mem / 2**20:.0f} MiB ({mem / len(flat_h):.1f} B/hash)",
        c.ms(c.percentile(t_ix, 50)),
        c.ms(c.percentile(t_ix, 99)),
        f"{sum(cands) / len(cands):,.0f}",
        c.ms(c.percentile(t_np, 50)),
    ]
    if python_k:
        flat = list(zip(flat_h.tolist(), flat_id.tolist(), strict=True))
        t_py, ans_py = timed(lambda q: scan_python(flat, q), qs[:python_k])
        assert ans_py == ans_np[:python_k]
        row.append(c.ms(c.percentile(t_py, 50)))
    else:
        row.append("—")
    row.append(f"{found}/{len(qs)}")
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--python-queries", type=int, default=10)
    ap.add_argument("--mixes", default="uniform,clustered")
    ap.add_argument("--no-layouts", action="store_true", help="skip the 6- and 11-piece layouts")
    args = ap.parse_args()
    print(c.machine())
    import os

    print(f"load average {os.getloadavg()}")
    headers = [
        "images",
        "hashes",
        "pieces",
        "probes",
        "build",
        "index memory",
        "lookup p50",
        "lookup p99",
        "candidates",
        "numpy scan p50",
        "python scan p50",
        "queries answered",
    ]
    rows = []
    sizes = [int(s) for s in args.sizes.split(",")]
    for n in sizes:
        for mix in args.mixes.split(","):
            rows.append(run(n, mix, 4, args.queries, args.python_queries))
            print(c.table(headers, rows[-1:]), flush=True)
    if not args.no_layouts:
        n = min(sizes)
        for bands in (6, 11):
            rows.append(run(n, "clustered", bands, min(args.queries, 200), 0))
            print(c.table(headers, rows[-1:]), flush=True)
    print()
    print(c.table(headers, rows))


if __name__ == "__main__":
    main()
