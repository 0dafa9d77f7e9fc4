"""The spine, end to end on real Kafka and ClickHouse: HTTP -> Kafka -> faust -> ClickHouse.

Every valid submission is queryable exactly once; every invalid one got a 4xx and left nothing in
any topic; a worker killed with SIGKILL mid-stream and restarted changes none of that.
"""

from __future__ import annotations

import json
import statistics
import threading
from collections import Counter
from pathlib import Path

import pytest

from pakn.settings import Settings
from pakn.topics import INTAKE
from tests.factories import feedback
from tests.harness import Proc, wait_for
from tests.pipeline import post_all, query, topic_count, visible_cases, wait_gateway

pytestmark = pytest.mark.integration

REPORT = Path(__file__).resolve().parents[2] / ".pakn" / "reports"


def invalid_bodies(n: int) -> list[object]:
    """Bodies the gateway must refuse, of every kind."""
    kinds: list[object] = [
        b"{not json",
        [1, 2, 3],
        feedback(category="ufo"),
        feedback(title=""),
        feedback(location={}),
        {**feedback(), "sender": {**feedback()["sender"], "id_number": "12345"}},
        {**feedback(), "sender": {**feedback()["sender"], "phone": "0241234567"}},
        {**feedback(), "sender": {**feedback()["sender"], "email": "nope"}},
        feedback(unexpected="field"),
        feedback(description="x" * 4001),
    ]
    return [kinds[i % len(kinds)] for i in range(n)]


def mixed(n: int, start: int) -> tuple[list[object], set[int]]:
    """n bodies, one in ten invalid; returns the bodies and the indexes of the valid ones."""
    bodies: list[object] = []
    valid: set[int] = set()
    bad = iter(invalid_bodies(n))
    for i in range(n):
        if i % 10 == 7:
            bodies.append(next(bad))
        else:
            bodies.append(feedback(start + i))
            valid.add(i)
    return bodies, valid


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def test_every_valid_submission_lands_once_and_invalid_ones_leave_no_trace(
    env: Settings, procs: dict[str, Proc]
) -> None:
    for p in procs.values():
        p.start()
    wait_gateway(env, procs["gateway"])
    # warm-up: one case through every stage, so latency below is the pipeline's, not start-up's
    [warm] = post_all(env, [feedback(99_999)])
    wait_for(lambda: warm.body["case_id"] in visible_cases(env), 90, "the warm-up case")

    # --- 1,000 submissions, some invalid ---------------------------------------------------
    bodies, valid = mixed(1000, 0)
    posted = post_all(env, bodies, concurrency=32)
    accepted = {p.body["case_id"]: p for p in posted if p.status == 202}
    refused = [p for p in posted if p.index not in valid]
    assert len(accepted) == len(valid) == 900
    assert all(400 <= p.status < 500 and p.body["code"] for p in refused)
    assert {p.status for p in refused} <= {400, 413, 422}

    # latency: POST sent -> row visible in ClickHouse (polled every 50 ms)
    seen_at: dict[str, float] = {}

    def all_visible() -> bool:
        import time

        now = time.time()
        for case_id in visible_cases(env):
            seen_at.setdefault(case_id, now)
        return set(accepted) <= set(seen_at)

    wait_for(all_visible, 120, "all 900 cases in ClickHouse", every=0.05)
    latencies = [seen_at[c] - p.sent_at for c, p in accepted.items()]
    p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
    REPORT.mkdir(parents=True, exist_ok=True)
    (REPORT / "e2e_latency.json").write_text(
        json.dumps(
            {
                "n": len(latencies),
                "p50_s": round(p50, 3),
                "p99_s": round(p99, 3),
                "max_s": round(max(latencies), 3),
            }
        )
    )
    print(
        f"\nPOST -> visible in ClickHouse over {len(latencies)}: "
        f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms"
    )

    # nothing invalid reached any topic: the intake holds exactly the accepted submissions
    assert topic_count(env, INTAKE.name(env)) == 901
    assert set(visible_cases(env)) == set(accepted) | {warm.body["case_id"]}

    # --- SIGKILL the worker mid-stream, restart it, post more -----------------------------
    more_bodies, more_valid = mixed(600, 1000)
    results: list = []
    poster = threading.Thread(
        target=lambda: results.extend(
            post_all(env, more_bodies, concurrency=8, index0=1000, pace_s=0.01)
        )
    )
    poster.start()
    wait_for(lambda: topic_count(env, INTAKE.name(env)) >= 1101, 60, "posting to be under way")
    procs["worker"].kill()
    procs["worker"].start()
    poster.join(120)
    accepted_more = {p.body["case_id"] for p in results if p.status == 202}
    assert len(accepted_more) == len(more_valid) == 540
    everything = set(accepted) | accepted_more | {warm.body["case_id"]}

    wait_for(lambda: set(visible_cases(env)) >= everything, 180, "all cases after the restart")
    counts = visible_cases(env)
    assert set(counts) == everything
    assert Counter(counts.values()) == Counter({1: len(everything)})  # each exactly once
    db = env.clickhouse_database
    # states and deadlines are later messages (another topic, or later in the partition)
    wait_for(
        lambda: (
            query(env, f"SELECT count(), uniqExact(case_id) FROM {db}.cases FINAL")
            == [(len(everything), len(everything))]
        ),
        60,
        "one current state per case",
    )
    wait_for(
        lambda: (
            query(
                env, f"SELECT count() FROM {db}.case_events FINAL WHERE event_type = 'deadline_set'"
            )
            == [(len(everything),)]
        ),
        60,
        "one receiving deadline per case",
    )
    assert topic_count(env, INTAKE.name(env)) == len(everything)
