"""SLA tick cost vs number of open cases: ``DueIndex.pop_due`` against scanning every open case.

    .venv/bin/python bench/sla_tick.py            # N = 10k, 100k, 1M open cases, K = 100 due
    .venv/bin/python bench/sla_tick.py --sizes 10000,100000 --due 1000

For each N it builds the due entries of N open cases in a ``processors.due_index.DueIndex`` (the
worker's index) and measures, in the same run:

* the index: build time (what a worker pays after a rebalance, index part only — reading the
  table is bench/sla_rebuild.py), memory (tracemalloc, a separate build), and the time of one
  tick ``pop_due(now)`` returning the K entries due now (K fresh due entries are added, untimed,
  before every tick); also the idle tick (nothing due), which is what almost every tick is;
* baseline A, the naive tick: iterate a dict case -> {(stage, kind): instant} and compare every
  instant with now (then remove what is due);
* baseline B, a better scan: a dict case -> next instant, one comparison per case;
* baseline C, the scan a worker without an index would do: ``due_entries(CaseState.from_dict(d))``
  for every stored case dict — measured at 2k and 10k cases only (it is slow) and extrapolated
  linearly to larger N, labelled as such.

Entries follow the workflow (bench/_common.py SHAPES_OPEN): a submitted case has the receive
warning + breach (or the breach alone once warned), a received case assign + handle (4), an
assigned case handle (2), a case awaiting information assign (2) — at most 4 at once, 2.65 on
average; instants spread uniformly over the next 30 days (warning before its breach).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import time
import tracemalloc
from collections.abc import Iterator

import _common as c

from processors.clocks import BREACH, WARNING
from processors.due_index import DueIndex

Entries = dict[tuple[str, str], int]

STAGES_BY_SHAPE = {
    "submitted": (("receive", True),),
    "submitted_warned": (("receive", False),),  # warning raised already: breach only
    "received": (("assign", True), ("handle", True)),
    "assigned": (("handle", True),),
    "awaiting_info": (("assign", True),),  # handling paused: no handle entry
}


def open_entries(n: int, now_ms: int, seed: int) -> Iterator[tuple[str, Entries]]:
    """n (case id, due entries) of open cases, all instants in (now, now + 30 d]."""
    rng = random.Random(seed)
    names = list(c.SHAPES_OPEN)
    shapes = rng.choices(names, [c.SHAPES_OPEN[s] for s in names], k=n)
    horizon = 30 * c.DAY_MS
    for shape in shapes:
        entries: Entries = {}
        for stage, with_warning in STAGES_BY_SHAPE[shape]:
            due = now_ms + rng.randrange(c.MINUTE_MS, horizon)
            if with_warning:
                warn = now_ms + int((due - now_ms) * rng.uniform(0.5, 0.9))
                entries[(stage, WARNING)] = warn
            entries[(stage, BREACH)] = due
        yield c.new_id(rng), entries


def due_now(rng: random.Random, now_ms: int, k: int) -> list[tuple[str, Entries]]:
    """k cases with one entry due at or just before now (a breach whose instant has come)."""
    return [
        (c.new_id(rng), {(rng.choice(("receive", "assign", "handle")), BREACH): now_ms - i})
        for i in range(k)
    ]


# --- the naive ticks -------------------------------------------------------------------------
def scan_all_entries(cases: dict[str, Entries], now_ms: int) -> list[tuple[int, str, str, str]]:
    """Baseline A: look at every instant of every open case."""
    out = []
    for case_id, entries in cases.items():
        for (stage, kind), at in entries.items():
            if at <= now_ms:
                out.append((at, case_id, stage, kind))
    for _, case_id, stage, kind in out:
        entries = cases[case_id]
        del entries[(stage, kind)]
        if not entries:
            del cases[case_id]
    return out


def scan_next_instant(
    nxt: dict[str, int], cases: dict[str, Entries], now_ms: int
) -> list[tuple[int, str, str, str]]:
    """Baseline B: one comparison per case against its cached next instant."""
    out = []
    for case_id in [cid for cid, at in nxt.items() if at <= now_ms]:
        entries = cases[case_id]
        for (stage, kind), at in list(entries.items()):
            if at <= now_ms:
                out.append((at, case_id, stage, kind))
                del entries[(stage, kind)]
        if entries:
            nxt[case_id] = min(entries.values())
        else:
            del nxt[case_id], cases[case_id]
    return out


def scan_states(states: dict[str, dict], now_ms: int) -> list[tuple[int, str, str, str]]:
    """Baseline C: decode every stored case and ask it what it may still raise."""
    out = []
    for case_id, d in states.items():
        for (stage, kind), at in c.state_due(d).items():
            if at <= now_ms:
                out.append((at, case_id, stage, kind))
    return out


# --- measuring -------------------------------------------------------------------------------
def index_memory(n: int, now_ms: int) -> int:
    """Bytes the index holds for n open cases (allocations still alive after building it)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    idx = DueIndex()
    for case_id, entries in open_entries(n, now_ms, seed=n):
        idx.set(case_id, entries)
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del idx
    gc.collect()
    return held


def timed_ticks(
    tick, add, rng: random.Random, now_ms: int, k: int, repeats: int, budget_s: float
) -> list[float]:
    """Seconds of each tick; K due entries are added (untimed) before each one."""
    out: list[float] = []
    spent = 0.0
    while len(out) < repeats and (spent < budget_s or len(out) < 5):
        add(due_now(rng, now_ms, k))
        t0 = time.perf_counter()
        got = tick()
        dt = time.perf_counter() - t0
        assert len(got) == k, (len(got), k)
        out.append(dt)
        spent += dt
    return out


def summary(name: str, n: int | str, samples: list[float], k: int, base: float) -> list[str]:
    med = c.percentile(samples, 50)
    p99 = c.percentile(samples, 99)
    per_item = c.us(med / k) if k else "-"
    return [
        name,
        f"{n:,}" if isinstance(n, int) else n,
        str(len(samples)),
        c.ms(med),
        c.ms(p99),
        per_item,
        f"{med / base:,.0f}x" if base else "-",
    ]


def run(sizes: list[int], k: int, repeats: int, budget_s: float, state_sizes: list[int]) -> None:
    now_ms = int(time.time() * 1000)
    rng = random.Random(1)
    print(f"# SLA tick: DueIndex.pop_due vs scans — {c.machine()}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"K = {k} entries due per tick; up to {repeats} ticks per figure (scans: ~{budget_s} s)")
    print()
    build_rows = []
    index_median: dict[int, float] = {}
    tick_rows = []
    idle_rows = []
    for n in sizes:
        mem = index_memory(n, now_ms)
        inputs = list(open_entries(n, now_ms, seed=n))
        n_entries = sum(len(e) for _, e in inputs)
        gc.collect()
        idx = DueIndex()
        t0 = time.perf_counter()
        for case_id, entries in inputs:
            idx.set(case_id, entries)
        build = time.perf_counter() - t0
        build_rows.append(
            [
                f"{n:,}",
                f"{n_entries:,}",
                f"{build:.3f} s",
                c.us(build / n),
                f"{mem / 2**20:,.1f} MiB",
                f"{mem / n:,.0f} B",
                f"{mem / n_entries:,.0f} B",
            ]
        )

        def add_index(due: list[tuple[str, Entries]], idx: DueIndex = idx) -> None:
            for case_id, entries in due:
                idx.set(case_id, entries)

        idle = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            got = idx.pop_due(now_ms)
            idle.append(time.perf_counter() - t0)
            assert not got
        ix = timed_ticks(
            lambda idx=idx: idx.pop_due(now_ms), add_index, rng, now_ms, k, repeats, 1e9
        )
        base = index_median[n] = c.percentile(ix, 50)
        tick_rows.append(summary("index: DueIndex.pop_due", n, ix, k, base))
        idle_rows.append([f"{n:,}", c.us(c.percentile(idle, 50)), c.us(c.percentile(idle, 99))])
        del idx
        gc.collect()

        cases = {case_id: dict(entries) for case_id, entries in inputs}
        del inputs
        gc.collect()
        a = timed_ticks(
            lambda cases=cases: scan_all_entries(cases, now_ms),
            lambda due, cases=cases: cases.update(due),
            rng,
            now_ms,
            k,
            repeats,
            budget_s,
        )
        tick_rows.append(summary("A: scan every entry", n, a, k, base))
        nxt = {case_id: min(e.values()) for case_id, e in cases.items()}

        def add_b(due: list[tuple[str, Entries]], nxt=nxt, cases=cases) -> None:
            for case_id, entries in due:
                cases[case_id] = entries
                nxt[case_id] = min(entries.values())

        b = timed_ticks(
            lambda nxt=nxt, cases=cases: scan_next_instant(nxt, cases, now_ms),
            add_b,
            rng,
            now_ms,
            k,
            repeats,
            budget_s,
        )
        tick_rows.append(summary("B: scan next instant per case", n, b, k, base))
        del cases, nxt
        gc.collect()
        print(f"  N = {n:,} done", flush=True)

    # Baseline C: the stored states themselves (slow: small N, then extrapolated).
    templates = c.state_templates(now_ms, 300, shapes=c.SHAPES_OPEN)
    per_case = 0.0
    for n in state_sizes:
        srng = random.Random(n)
        states = {}
        for _ in range(n):
            t = srng.choice(templates)
            case_id = c.new_id(srng)
            states[case_id] = {**t, "case_id": case_id}
        samples = []
        for _ in range(5):
            t0 = time.perf_counter()
            scan_states(states, now_ms)
            samples.append(time.perf_counter() - t0)
        med = c.percentile(samples, 50)
        per_case = med / n
        tick_rows.append(
            [
                "C: due_entries(CaseState.from_dict) per case",
                f"{n:,}",
                str(len(samples)),
                c.ms(med),
                c.ms(c.percentile(samples, 99)),
                "-",
                f"{med / index_median[n]:,.0f}x" if n in index_median else "-",
            ]
        )
    for n in sizes:
        if n > max(state_sizes):
            tick_rows.append(
                [
                    "C: same, EXTRAPOLATED (linear)",
                    f"{n:,}",
                    "0",
                    f"~{per_case * n * 1000:,.0f} ms",
                    "-",
                    "-",
                    f"~{per_case * n / index_median[n]:,.0f}x",
                ]
            )

    print()
    print("## Index build and memory (N open cases)")
    print()
    print(
        c.table(
            [
                "open cases",
                "entries",
                "build",
                "build / case",
                "index memory",
                "memory / case",
                "memory / entry",
            ],
            build_rows,
        )
    )
    print()
    print(f"## One tick returning K = {k} due entries (baselines in the same run)")
    print()
    print(
        c.table(
            ["method", "open cases", "ticks", "median", "p99", "per due item", "x index"],
            tick_rows,
        )
    )
    print()
    print("'x index': median / the index's median at the same N. p99 over few ticks is the max.")
    print(f"C measured at {', '.join(f'{n:,}' for n in state_sizes)} cases: {c.us(per_case)}/case.")
    print()
    print("## Idle tick (nothing due): DueIndex.pop_due")
    print()
    print(c.table(["open cases", "median", "p99"], idle_rows))
    print()
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="10000,100000,1000000", help="open cases, comma-separated")
    p.add_argument("--due", type=int, default=100, help="entries due per tick (K)")
    p.add_argument("--ticks", type=int, default=300, help="ticks per index figure")
    p.add_argument("--scan-budget", type=float, default=6.0, help="seconds per scan figure")
    p.add_argument("--state-sizes", default="2000,10000", help="cases for baseline C")
    a = p.parse_args()
    run(
        [int(x) for x in a.sizes.split(",")],
        a.due,
        a.ticks,
        a.scan_budget,
        [int(x) for x in a.state_sizes.split(",")],
    )


if __name__ == "__main__":
    main()
