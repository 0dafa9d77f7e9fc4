"""How long a worker takes to rebuild its due index from its RocksDB table after a rebalance.

    .venv/bin/python bench/sla_rebuild.py                  # N = 100k and 1M stored cases
    .venv/bin/python bench/sla_rebuild.py --sizes 100000,300000 --dir /some/disk --keep

streams/app.py ``rebuild_due_index`` runs, on every rebalance, for every case of the partitions
the worker owns: ``due.set(case_id, due_entries(CaseState.from_dict(stored)))``, where faust reads
``stored`` from its RocksDB store (rocksdict, one database per partition, JSON bytes keys and
values, the partition's offset under ``__faust\\0offset__``). This script writes N realistic case
states that way (faust's own RocksDB options and JSON codec, 6 partition databases), then times,
in the same run:

* baseline: the raw iteration of the databases (keys and values as bytes, nothing decoded);
* iteration + JSON decoding (faust's serializer registry, as ``cases.items()`` does);
* the worker's whole rebuild: + ``CaseState.from_dict`` + ``due_entries`` + ``DueIndex.set``;
* what-if (NOT in the code): the same rebuild from a small table holding only each open case's
  due entries — what a persisted due index would cost.

The states are the real core's output (open_case + apply_command receive/assign/request_info/
reject + apply_tick, bench/_common.py) for 500 template cases submitted in the last working day,
copied with fresh case ids; 15 % of them are closed (rejected) — the table keeps closed cases, and
the rebuild reads them too. The data were just written, so the figures are for a warm page cache:
a cold disk can only be slower.
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import shutil
import tempfile
import time
import zlib
from pathlib import Path

import _common as c
import rocksdict
from faust.serializers.codecs import dumps as faust_dumps
from faust.serializers.registry import Registry
from faust.stores.rocksdb import RocksDBOptions, Store

from processors.case import CaseState
from processors.clocks import due_entries
from processors.due_index import DueIndex

PARTITIONS = 6  # Settings.topic_partitions: one worker owning every partition
OFFSET_KEY = Store.offset_key
BATCH = 5_000


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def partition_paths(root: Path, table: str) -> list[Path]:
    return [root / f"{table}-{p}.db" for p in range(PARTITIONS)]  # faust: <table>-<p>.db


def open_dbs(paths: list[Path]) -> list[rocksdict.Rdict]:
    return [RocksDBOptions().open(p) for p in paths]  # faust's options, rocksdict driver


def write_table(paths: list[Path], rows) -> tuple[float, int]:
    """Write (key bytes, value bytes) rows, partitioned by key; returns (seconds, rows)."""
    t0 = time.perf_counter()
    dbs = open_dbs(paths)
    batches = [rocksdict.WriteBatch(raw_mode=True) for _ in dbs]
    n = 0
    for key, value in rows:
        p = zlib.crc32(key) % PARTITIONS
        batches[p].put(key, value)
        n += 1
        if batches[p].len() >= BATCH:
            dbs[p].write(batches[p])
            batches[p] = rocksdict.WriteBatch(raw_mode=True)
    for p, db in enumerate(dbs):
        if batches[p].len():
            db.write(batches[p])
        db.put(OFFSET_KEY, str(n).encode())  # faust's persisted changelog offset
        db.flush()
        db.close()
    return time.perf_counter() - t0, n


def visible_items(dbs: list[rocksdict.Rdict]):
    """faust RocksDB Store._visible_items over every owned partition (rocksdict driver)."""
    for db in dbs:
        for key, value in db.items():
            if key != OFFSET_KEY:
                yield key, value


def pass_raw(dbs: list[rocksdict.Rdict]) -> tuple[int, int]:
    n = nbytes = 0
    for key, value in visible_items(dbs):
        n += 1
        nbytes += len(key) + len(value)
    return n, nbytes


def pass_decode(dbs: list[rocksdict.Rdict]) -> tuple[int, int]:
    reg = Registry()
    n = 0
    for key, value in visible_items(dbs):
        reg.loads_key(None, key, serializer="json")
        reg.loads_value(None, value, serializer="json")
        n += 1
    return n, 0


def pass_rebuild(dbs: list[rocksdict.Rdict], due: DueIndex) -> tuple[int, int]:
    """streams/app.py rebuild_due_index, with the store read as faust reads it."""
    reg = Registry()
    due.clear()
    n = 0
    for key, value in visible_items(dbs):
        case_id = reg.loads_key(None, key, serializer="json")
        stored = reg.loads_value(None, value, serializer="json")
        due.set(case_id, due_entries(CaseState.from_dict(stored)))
        n += 1
    return n, len(due)


def pass_compact(dbs: list[rocksdict.Rdict], due: DueIndex) -> tuple[int, int]:
    """What-if: a table case id -> [[stage, kind, instant ms], ...] of the open clocks only."""
    reg = Registry()
    due.clear()
    n = 0
    for key, value in visible_items(dbs):
        case_id = reg.loads_key(None, key, serializer="json")
        entries = reg.loads_value(None, value, serializer="json")
        due.set(case_id, {(stage, kind): at for stage, kind, at in entries})
        n += 1
    return n, len(due)


def timed(fn, *args) -> tuple[float, tuple[int, int]]:
    gc.collect()
    t0 = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t0, out


def run(sizes: list[int], root: Path, keep: bool, what_if: bool) -> None:
    now_ms = int(time.time() * 1000)
    print(f"# SLA index rebuild from the RocksDB table — {c.machine()}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"data folder: {root}")
    templates = c.state_templates(now_ms, 500)
    encoded = [(faust_dumps("json", t["case_id"]), faust_dumps("json", t)) for t in templates]
    entries = [due_entries(CaseState.from_dict(t)) for t in templates]
    compact = [
        faust_dumps("json", [[s, k, at] for (s, k), at in e.items()]) if e else None
        for e in entries
    ]
    mean_value = sum(len(v) for _, v in encoded) / len(encoded)
    closed = sum(1 for e in entries if not e) / len(entries)
    print(
        f"templates: {len(templates)}, mean JSON value {mean_value:,.0f} B, "
        f"{closed:.0%} closed (no clock), open clocks per open case "
        f"{sum(len(e) for e in entries) / sum(1 for e in entries if e):.2f}"
    )
    print(flush=True)
    setup_rows, rows, whatif_rows = [], [], []
    for n in sizes:
        rng = random.Random(n)
        picks = [rng.randrange(len(templates)) for _ in range(n)]
        ids = [c.new_id(rng).encode() for _ in range(n)]
        folder = root / f"n{n}"
        cases_paths = partition_paths(folder, "cases")

        def case_rows(picks=picks, ids=ids):
            for i, new in zip(picks, ids, strict=True):
                old_key, value = encoded[i]
                old = old_key[1:-1]
                yield b'"' + new + b'"', value.replace(old, new)

        write_s, written = write_table(cases_paths, case_rows())
        size = dir_size(folder)
        print(f"  N = {n:,}: written in {write_s:.1f} s ({size / 2**20:,.0f} MiB)", flush=True)

        open_s, dbs = timed(open_dbs, cases_paths)
        first_s, (n1, raw_bytes) = timed(pass_raw, dbs)
        raw_s, (n2, _) = timed(pass_raw, dbs)
        dec_s, (n3, _) = timed(pass_decode, dbs)
        due = DueIndex()
        reb_s, (n4, clocks) = timed(pass_rebuild, dbs, due)
        assert n1 == n2 == n3 == n4 == written, (n1, n2, n3, n4, written)
        for db in dbs:
            db.close()
        due.clear()
        setup_rows.append(
            [
                f"{n:,}",
                f"{write_s:.1f} s",
                f"{raw_bytes / 2**20:,.0f} MiB",
                f"{size / 2**20:,.0f} MiB",
                f"{size / n:,.0f} B",
                f"{open_s * 1000:.0f} ms",
            ]
        )

        def row(name: str, s: float, base: float, n: int = n) -> list[str]:
            return [name, f"{n:,}", f"{s:.2f} s", f"{n / s:,.0f}", c.us(s / n), f"{s / base:.1f}x"]

        rows.append(row("baseline: iterate (bytes, first pass)", first_s, raw_s))
        rows.append(row("baseline: iterate (bytes)", raw_s, raw_s))
        rows.append(row("iterate + JSON decode", dec_s, raw_s))
        rows.append(row("rebuild (app.py): + from_dict + due_entries + set", reb_s, raw_s))
        print(f"  N = {n:,}: rebuilt in {reb_s:.1f} s, {clocks:,} open clocks", flush=True)

        if what_if:
            due_paths = partition_paths(folder, "due")

            def due_rows(picks=picks, ids=ids):
                for i, new in zip(picks, ids, strict=True):
                    if compact[i] is not None:
                        yield b'"' + new + b'"', compact[i]

            _, w_n = write_table(due_paths, due_rows())
            _, ddbs = timed(open_dbs, due_paths)
            timed(pass_raw, ddbs)  # first pass, as above
            draw_s, _ = timed(pass_raw, ddbs)
            dreb_s, (dn, dclocks) = timed(pass_compact, ddbs, due)
            assert dn == w_n and dclocks == clocks, (dn, w_n, dclocks, clocks)
            for db in ddbs:
                db.close()
            due.clear()
            whatif_rows.append(
                [
                    f"{n:,}",
                    f"{w_n:,}",
                    f"{(dir_size(folder) - size) / 2**20:,.0f} MiB",
                    f"{draw_s:.2f} s",
                    f"{dreb_s:.2f} s",
                    f"{reb_s / dreb_s:.0f}x faster",
                ]
            )
        del due
        gc.collect()
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)

    print()
    print("## Data written (faust layout: 6 rocksdict databases, JSON keys and values)")
    print()
    print(
        c.table(
            ["cases", "write", "JSON bytes", "on disk", "disk / case", "open 6 DBs"], setup_rows
        )
    )
    print()
    print("## Rebuild after a rebalance (warm page cache); baseline = raw iteration, same run")
    print()
    print(c.table(["pass", "cases", "time", "cases/s", "per case", "x baseline"], rows))
    if whatif_rows:
        print()
        print("## What-if (not in the code): a persisted table of open clocks only")
        print()
        print(
            c.table(
                [
                    "cases",
                    "open cases stored",
                    "on disk",
                    "iterate",
                    "rebuild from it",
                    "vs app.py rebuild",
                ],
                whatif_rows,
            )
        )
    print()
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="100000,1000000", help="stored cases, comma-separated")
    p.add_argument("--dir", type=Path, default=None, help="where to write (default: a temp dir)")
    p.add_argument("--keep", action="store_true", help="keep the databases")
    p.add_argument("--no-what-if", action="store_true", help="skip the persisted-index what-if")
    a = p.parse_args()
    root = a.dir or Path(tempfile.mkdtemp(prefix="pakn-bench-rebuild-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        run([int(x) for x in a.sizes.split(",")], root, a.keep, not a.no_what_if)
    finally:
        if not a.keep and a.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
