"""Faults on the real engines: an engine goes away mid-traffic and comes back.

- ClickHouse down for ~30 s while submissions keep coming: the gateway still accepts them (its
  POST path never touches ClickHouse), the sink stays alive, pauses and retries with back-off, and
  once ClickHouse is back every accepted case is visible exactly once.
- Kafka down: once the gateway has noticed, every submission is refused at once (503,
  `kafka_unavailable`, `Retry-After`), /readyz says not ready, and when the broker is back the
  gateway accepts again by itself; the intake topic holds exactly the submissions answered 202.

Both tests stop a shared engine: each restarts it in a `finally`, since later tests use it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections import Counter
from typing import Any

import pytest

from pakn.services import manager
from pakn.services.clickhouse import ClickHouse
from pakn.services.kafka import Kafka
from pakn.settings import Settings
from pakn.topics import INTAKE
from tests.factories import feedback
from tests.harness import Proc, wait_for
from tests.pipeline import Posted, post_all, query, topic_count, visible_cases, wait_gateway

pytestmark = pytest.mark.integration


def post_one(env: Settings, i: int) -> Posted:
    [p] = post_all(env, [feedback(i)], concurrency=1)
    return p


def took(p: Posted) -> float:
    return p.answered_at - p.sent_at


def get(env: Settings, path: str, timeout: float = 10) -> tuple[int, dict[str, Any]]:
    url = f"http://127.0.0.1:{env.gateway_port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def assert_refused(p: Posted) -> None:
    """A clean refusal: 503, the stable code, and when to come back."""
    assert p.status == 503, (p.status, p.body)
    assert p.body["code"] == "kafka_unavailable", p.body
    assert int(p.headers["Retry-After"]) > 0, p.headers


def log_lines(proc: Proc, message: str) -> list[dict[str, Any]]:
    """The JSON log records of a process whose message is `message`."""
    out = []
    for line in proc.log_path.read_text(errors="replace").splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and rec.get("message") == message:
            out.append(rec)
    return out


@pytest.mark.timeout(300)
def test_sink_retries_while_clickhouse_is_down_and_loses_nothing(
    engines: Settings, env: Settings, procs: dict[str, Proc]
) -> None:
    if ClickHouse(engines).find_pid() is None:
        pytest.skip("ClickHouse at these settings is not run by pakn: it cannot be stopped here")
    for p in procs.values():
        p.start()
    sink = procs["sink"]
    wait_gateway(env, procs["gateway"])
    [warm] = post_all(env, [feedback(99_999)])
    assert warm.status == 202, warm.body
    wait_for(lambda: warm.body["case_id"] in visible_cases(env), 90, "the warm-up case")

    try:
        t = time.monotonic()
        manager.stop(engines, only="clickhouse")
        print(f"\nClickHouse stopped in {time.monotonic() - t:.1f} s")
        outage_started = time.monotonic()

        # ~30 s of steady traffic while ClickHouse is down: 300 submissions at 10/s
        posted = post_all(env, [feedback(i) for i in range(300)], concurrency=8, pace_s=0.1)
        assert Counter(p.status for p in posted) == Counter({202: 300}), [
            (p.status, p.body) for p in posted if p.status != 202
        ][:5]
        accepted = {p.body["case_id"] for p in posted}
        assert len(accepted) == 300

        # the sink is alive, paused and retrying (not crashed, not dropping the batch)
        assert sink.alive, sink.log_tail()
        retries = wait_for(
            lambda: log_lines(sink, "clickhouse write failed; retrying")[1:],
            15,
            "the sink to log its retries",
        )
        delays = [r["retry_in_s"] for r in retries]
        assert max(delays) > 0.2, delays  # it backs off
        assert max(delays) <= env.sink_retry_max_s, delays
        assert not log_lines(sink, "dropping buffered batch on revoke")
        # the read path fails cleanly too
        status, body = get(env, f"/v1/cases/{warm.body['case_id']}")
        assert status == 503 and body["code"] == "warehouse_unavailable", (status, body)
        outage = time.monotonic() - outage_started
        print(
            f"ClickHouse down {outage:.1f} s: {len(accepted)} submissions accepted, "
            f"sink logged {len(retries) + 1} failed writes (back-off up to {max(delays)} s)"
        )
        t = time.monotonic()
        manager.start(engines, only="clickhouse")
        back = time.monotonic()
        print(f"ClickHouse answering again {back - t:.1f} s after start")
    finally:
        manager.start(engines, only="clickhouse")  # no-op if already up; later tests need it

    everything = accepted | {warm.body["case_id"]}
    wait_for(
        lambda: set(visible_cases(env)) >= everything, 120, "every case after the outage", every=0.2
    )
    print(
        f"all {len(everything)} cases visible {time.monotonic() - back:.1f} s after ClickHouse "
        "was back"
    )
    assert sink.alive, sink.log_tail()
    counts = visible_cases(env)
    assert set(counts) == everything
    assert Counter(counts.values()) == Counter({1: len(everything)})  # each exactly once
    assert get(env, f"/v1/cases/{warm.body['case_id']}")[0] == 200
    db = env.clickhouse_database

    def cases() -> int:  # the states follow the events on a topic of their own
        return query(env, f"SELECT count() FROM {db}.cases FINAL")[0][0]

    wait_for(lambda: cases() == len(everything) == 301, 60, "every case's state")


@pytest.mark.timeout(240)
def test_gateway_answers_503_within_a_second_while_kafka_is_down_then_accepts_again(
    engines: Settings, env: Settings, procs: dict[str, Proc]
) -> None:
    if Kafka(engines).find_pid() is None:
        pytest.skip("Kafka at these settings is not run by pakn: it cannot be stopped here")
    gateway = procs["gateway"].start()
    wait_gateway(env, gateway)
    n = iter(range(100_000))
    first = post_one(env, next(n))
    assert first.status == 202, first.body
    accepted = 1
    assert get(env, "/readyz")[0] == 200

    try:
        stopping = time.time()  # wall clock, as Posted's timestamps
        manager.stop(engines, only="kafka")
        stopped = time.time()
        print(f"\nKafka stopped in {stopped - stopping:.1f} s")

        # The first request after the stop may race with the gateway noticing (librdkafka reports
        # all brokers down as the connections close, then a 0.3 s probe confirms): it is still a
        # clean 503, never a 202 or a 500, at worst once the delivery timeout has passed.
        first_down = post_one(env, next(n))
        assert_refused(first_down)
        assert took(first_down) < env.gateway_delivery_timeout_s + 1.5
        print(
            f"stop -> first 503: {first_down.answered_at - stopped:.3f} s after stop returned, "
            f"{first_down.answered_at - stopping:.3f} s after it was called "
            f"(that request took {took(first_down):.3f} s)"
        )

        # steady state: every request refused within a second
        steady = [post_one(env, next(n)) for _ in range(20)]
        for p in steady:
            assert_refused(p)
        latencies = sorted(took(p) for p in steady)
        print(
            f"503 latency over {len(steady)}: median {latencies[10] * 1000:.0f} ms, "
            f"max {latencies[-1] * 1000:.0f} ms"
        )
        assert latencies[-1] < 1.0, latencies

        status, ready = get(env, "/readyz")
        assert status == 503 and ready["kafka"] is False, (status, ready)

        t = time.monotonic()
        manager.start(engines, only="kafka")
        back = time.time()
        print(f"Kafka answering again {time.monotonic() - t:.1f} s after start")
    finally:
        manager.start(engines, only="kafka")  # no-op if already up; later tests need it

    # the gateway comes back by itself: refusals (clean ones) until the first 202
    after: list[Posted] = []

    def accepting() -> bool:
        p = post_one(env, next(n))
        after.append(p)
        if p.status != 202:
            assert_refused(p)
        return p.status == 202

    wait_for(accepting, 30, "a 202 after Kafka was back", every=0.05)
    print(
        f"broker back -> first 202: {after[-1].answered_at - back:.3f} s "
        f"({len(after) - 1} refusals in between)"
    )
    more = post_all(env, [feedback(next(n)) for _ in range(20)], concurrency=4)
    assert [p.status for p in more] == [202] * 20
    accepted += 1 + len(more)
    assert get(env, "/readyz")[0] == 200

    for message in (
        "kafka unreachable: refusing submissions until it is back",
        "kafka reachable again: accepting submissions",
    ):
        assert len(log_lines(gateway, message)) == 1, gateway.log_tail()

    # nothing half-accepted: the intake holds exactly the submissions answered 202
    assert topic_count(env, INTAKE.name(env)) == accepted
