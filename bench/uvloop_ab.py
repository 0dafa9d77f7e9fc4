"""Does the worker go faster on uvloop? The worker section's city mix, A B A B: asyncio's own
loop against uvloop, submissions per CPU-second of the worker process (what a loaded machine
changes least), same broker, same data shape, fresh topics each round.

    .venv/bin/python bench/uvloop_ab.py [--events 4000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import _common  # noqa: F401  (puts the repository on sys.path)
import suite

from pakn.settings import Settings


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=4000)
    p.add_argument("--rounds", type=int, default=2)
    a = p.parse_args()
    a.profile, a.only = None, set()
    logs = Path(tempfile.mkdtemp(prefix="pakn-uvloop-"))
    figures: dict[bool, list[float]] = {False: [], True: []}
    for r in range(a.rounds):
        for uv in (False, True):
            base = Settings(worker_uvloop=uv)
            result, _ = suite.worker_variant(base, a, logs, "project")
            figures[uv].append(result["per_cpu_s"])
            print(
                f"round {r + 1}, {'uvloop' if uv else 'asyncio'}: "
                f"{result['per_cpu_s']:,.0f} submissions per CPU-second",
                flush=True,
            )
    a_med, b_med = statistics.median(figures[False]), statistics.median(figures[True])
    print(
        f"\nasyncio {a_med:,.0f} vs uvloop {b_med:,.0f} submissions per CPU-second "
        f"(uvloop {b_med / a_med:.0%} of asyncio; rounds {figures})"
    )


if __name__ == "__main__":
    main()
