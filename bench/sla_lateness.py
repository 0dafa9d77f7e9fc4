"""How late a breach is emitted after its deadline, on the real pipeline (Kafka, faust, ClickHouse).

    .venv/bin/python bench/sla_lateness.py                 # tick interval 0.2 s, then 1.0 s
    .venv/bin/python bench/sla_lateness.py --cases 500 --intervals 0.2

Needs the native services (``.venv/bin/pakn services start``). For each tick interval it starts
the project's own processes (``pakn gateway``, ``pakn worker``, ``pakn sink`` through
tests.harness.Proc) on a fresh topic prefix and ClickHouse database, with the second-scale policy
tests/data/sla_policy_seconds.json (receive: 20 s, warning at 50 %) on a 24/7 calendar, posts
``--cases`` submissions through the gateway over ``--spread`` seconds and never receives them.
Every case then breaches its receiving deadline once; for every SlaAlert on case.events:

    lateness = Kafka timestamp of the alert (CreateTime: the worker's producer, at send) - due_at

split into the timer's part (the ClockTick on sla.ticks: its Kafka timestamp - its instant) and
the rest (alert timestamp - tick timestamp: the tick through Kafka, the agent, the alert sent);
and, for a reader, ``seen`` = when this script's consumer got it - due_at. Warnings are measured
against their own instant (the envelope's occurred_at); ``intake`` is how long the worker took to
pick a submission up (its forwarded copy's timestamp - the gateway's occurred_at), a sign of a
worker that cannot keep up. Also printed: the CPU share of each process over the run, and the
rate at which breaches fell due against the rate at which the worker sent them (equal when it
keeps up). The check: exactly one breach event id per posted case, no other case.

The yardstick printed next to the figures is the tick interval itself: a deadline waits on
average half an interval for the next tick (at most one), before the tick goes through Kafka to
the agent that owns the case and the alert goes out. Lateness far above it means the worker is
behind (queueing), not the timer.

Topics, database and the state folder are removed at the end; the processes are stopped.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import _common as c
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from pakn.settings import Settings
from pakn.topics import CASE_EVENTS, CATALOGUE, CLOCK_TICKS, create_topics
from processors.case import as_datetime, to_ms
from schemas.codec import get_codec
from sinks.connection import clickhouse
from sinks.migrate import migrate
from tests.conftest import TEST_KEYS
from tests.factories import feedback
from tests.harness import Proc, free_port, wait_for
from tests.pipeline import post_all, wait_gateway

POLICY = c.ROOT / "tests" / "data" / "sla_policy_seconds.json"
RECEIVE_S = 20  # the policy's receive allowance


def run_settings(base: Settings, home: Path, interval: float) -> Settings:
    tag = f"b{uuid.uuid4().hex[:10]}"
    return base.model_copy(
        update={
            "home": home,
            "topic_prefix": f"{tag}.",
            "clickhouse_database": tag,
            "worker_app_id": f"{tag}-worker",
            "sink_group": f"{tag}-sink",
            "gateway_port": free_port(),
            "worker_web_port": 0,
            "worker_session_timeout_s": 6.0,
            "sink_flush_interval_s": 0.5,
            "log_level": "INFO",
            **TEST_KEYS,
            "sla_policy": str(POLICY),
            "calendar_office_hours": '{"mon-sun": "00:00-24:00"}',
            "calendar_public_holidays": False,
            "sla_tick_interval_s": interval,
        }
    )


def cleanup(settings: Settings) -> None:
    """Delete this run's topics (ours and faust's) and its ClickHouse database; say what failed."""
    from confluent_kafka.admin import AdminClient

    tag = settings.clickhouse_database
    try:
        admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap, "log_level": 3})
        existing = set(admin.list_topics(timeout=5).topics)
        names = {spec.name(settings) for spec in CATALOGUE}
        names |= {t for t in existing if t.startswith(tag)}
        names &= existing
        if names:
            for fut in admin.delete_topics(sorted(names), operation_timeout=10).values():
                fut.result()
    except Exception as exc:
        print(f"    cleanup: could not delete the topics {tag}*: {exc}", flush=True)
    try:
        client = clickhouse(settings, database=False)
        client.execute(f"DROP DATABASE IF EXISTS {tag}")
        client.disconnect()
    except Exception as exc:
        print(f"    cleanup: could not drop the database {tag}: {exc}", flush=True)


def reader(settings: Settings, topics: list[str]) -> Consumer:
    """A consumer of every partition of the topics, from the beginning (no group offsets)."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"{settings.clickhouse_database}-bench-reader",
            "enable.auto.commit": False,
        }
    )
    parts = []
    for topic in topics:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        parts += [TopicPartition(topic, p, OFFSET_BEGINNING) for p in meta.partitions]
    consumer.assign(parts)
    return consumer


def cpu_seconds(proc: Proc) -> float:
    """User + system CPU seconds the process has used so far (Linux /proc)."""
    assert proc.popen is not None
    with open(f"/proc/{proc.popen.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(base: Settings, interval: float, cases: int, spread: float, log_dir: Path) -> dict:
    home = Path(tempfile.mkdtemp(prefix="pakn-bench-lateness-"))
    settings = run_settings(base, home / "home", interval)
    settings.home.mkdir(parents=True)
    run_logs = log_dir / f"interval-{interval}"
    run_logs.mkdir(parents=True, exist_ok=True)
    procs = {n: Proc(n, settings, run_logs) for n in ("gateway", "worker", "sink")}
    consumer = None
    try:
        create_topics(settings)
        migrate(settings)
        for p in procs.values():
            p.start()
        wait_gateway(settings, procs["gateway"], timeout=60)

        worker = procs["worker"]

        def worker_log(since: int) -> str:
            with worker.log_path.open("rb") as f:
                f.seek(since)
                return f.read().decode(errors="replace")

        def worker_ready(since: int = 0) -> bool:
            assert worker.alive, worker.log_tail()
            return "due index rebuilt" in worker_log(since)

        wait_for(worker_ready, 90, "the worker to own its partitions", every=0.5)
        if "Ignoring missing topic" in worker_log(0):
            # faust assigned partitions before the changelog topics it had just created were in
            # the cluster metadata: every event would then fail (PartitionsMismatch) and go to
            # the dead letters. Seen on a fresh app id under load; a restart finds the topics.
            print("    worker started before its changelog topics were visible: restarted it")
            worker.stop()
            since = worker.log_path.stat().st_size
            worker.start()
            wait_for(lambda: worker_ready(since), 90, "the restarted worker", every=0.5)
            assert "Ignoring missing topic" not in worker_log(since), worker.log_tail()
        events, ticks = CASE_EVENTS.name(settings), CLOCK_TICKS.name(settings)
        consumer = reader(settings, [events, ticks])
        codec = get_codec()
        cpu0 = {n: cpu_seconds(p) for n, p in procs.items()}
        wall0 = time.monotonic()

        t0 = time.time()
        posted = post_all(
            settings, [feedback(i) for i in range(cases)], concurrency=32, pace_s=spread / cases
        )
        post_s = time.time() - t0
        bad = Counter(p.status for p in posted if p.status != 202)
        assert not bad, f"gateway refused submissions: {bad}"
        ids = {str(p.body["case_id"]) for p in posted}

        breach_ids: dict[str, set[str]] = defaultdict(set)
        late_breach: list[int] = []  # first copy of each breach: Kafka timestamp - due_at
        seen_breach: list[int] = []  # first copy: consumed at - due_at
        late_warning: list[int] = []
        intake_lag: list[int] = []  # CaseSubmitted forwarded by the worker: ts - occurred_at
        due_at: dict[str, int] = {}  # case -> its breach instant
        tick_ts: dict[str, int] = {}  # case -> Kafka timestamp of its (first) breach tick
        late_tick: list[int] = []  # breach tick sent by the timer: Kafka timestamp - at
        alert_ts: dict[str, int] = {}  # case -> Kafka timestamp of its (first) breach alert
        copies = Counter()
        ts_types = Counter()
        deadline = time.monotonic() + RECEIVE_S + spread + 90
        drain_until = None
        while time.monotonic() < deadline:
            if drain_until is None and len(breach_ids) >= len(ids):
                drain_until = time.monotonic() + 3 * interval + 3  # late duplicates, if any
            if drain_until is not None and time.monotonic() > drain_until:
                break
            for msg in consumer.consume(500, timeout=0.2):
                if msg.error():
                    continue
                got_ms = int(time.time() * 1000)
                ts_type, ts = msg.timestamp()
                name, rec = codec.decode(msg.value())
                if msg.topic() == ticks:
                    case_id = str(rec["case_id"])
                    if rec["kind"] == "breach" and case_id not in tick_ts:
                        tick_ts[case_id] = ts
                        late_tick.append(ts - to_ms(as_datetime(rec["at"])))
                    continue
                env = rec["envelope"]
                if name == "CaseSubmitted":
                    intake_lag.append(ts - to_ms(as_datetime(env["occurred_at"])))
                if name != "SlaAlert":
                    continue
                ts_types[ts_type] += 1
                case_id, event_id = str(env["case_id"]), str(env["event_id"])
                copies[event_id] += 1
                if copies[event_id] > 1:
                    continue
                if env["event_type"] == "sla_breached":
                    breach_ids[case_id].add(event_id)
                    alert_ts[case_id] = ts
                    due_ms = due_at[case_id] = to_ms(as_datetime(rec["due_at"]))
                    late_breach.append(ts - due_ms)
                    seen_breach.append(got_ms - due_ms)
                elif env["event_type"] == "sla_warning":
                    late_warning.append(ts - to_ms(as_datetime(env["occurred_at"])))
        assert set(breach_ids) == ids, (
            f"breaches for {len(set(breach_ids) & ids)} of {len(ids)} cases, "
            f"{len(set(breach_ids) - ids)} unknown"
        )
        several = {k: v for k, v in breach_ids.items() if len(v) != 1}
        assert not several, f"{len(several)} cases with more than one breach id"
        wall = time.monotonic() - wall0
        cpu = {n: (cpu_seconds(p) - cpu0[n]) / wall for n, p in procs.items()}
        due_span = (max(due_at.values()) - min(due_at.values())) / 1000
        sent_span = (max(alert_ts.values()) - min(alert_ts.values())) / 1000
        return {
            "due_rate": len(due_at) / max(due_span, 1e-3),
            "sent_rate": len(alert_ts) / max(sent_span, 1e-3),
            "wall_s": wall,
            "cpu": cpu,
            "tick": late_tick,
            "tick_to_alert": [alert_ts[k] - tick_ts[k] for k in alert_ts if k in tick_ts],
            "interval": interval,
            "cases": len(ids),
            "post_s": post_s,
            "breach": late_breach,
            "seen": seen_breach,
            "warning": late_warning,
            "intake": intake_lag,
            "duplicates": sum(n - 1 for n in copies.values()),
            "ts_types": dict(ts_types),
        }
    finally:
        if consumer is not None:
            consumer.close()
        for name in ("gateway", "worker", "sink"):
            procs[name].stop()
        cleanup(settings)
        shutil.rmtree(home, ignore_errors=True)


def stats(values: list[int]) -> list[str]:
    return [
        f"{c.percentile(values, 50):,.0f}",
        f"{c.percentile(values, 99):,.0f}",
        f"{max(values):,.0f}",
        f"{min(values):,.0f}",
        f"{len(values):,}",
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cases", type=int, default=2000, help="submissions per run")
    p.add_argument("--spread", type=float, default=10.0, help="seconds to post them over")
    p.add_argument("--intervals", default="0.2,1.0", help="sla_tick_interval_s values")
    p.add_argument("--logs", type=Path, default=None, help="keep the process logs here")
    a = p.parse_args()
    base = Settings()
    log_dir = a.logs or Path(tempfile.mkdtemp(prefix="pakn-bench-lateness-logs-"))
    keep_logs = a.logs is not None  # a temporary folder is removed unless a run failed
    print(f"# SLA breach lateness on the real pipeline — {c.machine()}")
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"{a.cases:,} submissions over ~{a.spread:g} s per run, receive deadline {RECEIVE_S} s "
        f"after submission (warning at {RECEIVE_S // 2} s), 24/7 calendar; process logs: {log_dir}"
    )
    print(flush=True)
    results = []
    for interval in [float(x) for x in a.intervals.split(",")]:
        try:
            r = one_run(base, interval, a.cases, a.spread, log_dir)
        except BaseException:
            print(f"run failed; process logs kept in {log_dir}", flush=True)
            raise
        results.append(r)
        print(
            f"  interval {interval:g} s: {r['cases']:,} cases posted in {r['post_s']:.1f} s, "
            f"{len(r['breach']):,} breaches, one id per case; duplicate copies {r['duplicates']}; "
            f"timestamp types {r['ts_types']}",
            flush=True,
        )
        busy = ", ".join(f"{n} {v:.0%}" for n, v in r["cpu"].items())
        print(f"    CPU of one core over the {r['wall_s']:.0f} s measured: {busy}", flush=True)
        print(
            f"    breaches fell due at {r['due_rate']:,.0f}/s and were sent at "
            f"{r['sent_rate']:,.0f}/s",
            flush=True,
        )
    rows = []
    for r in results:
        iv = r["interval"] * 1000
        yardstick = f"tick interval (yardstick) {r['interval']:g} s"
        rows.append([yardstick, f"~{iv / 2:,.0f}", "-", f"{iv:,.0f}", "0", "-"])
        rows.append(["  breach: Kafka timestamp - due_at", *stats(r["breach"])])
        rows.append(["    = timer: breach tick sent - due_at", *stats(r["tick"])])
        rows.append(["    + tick -> agent -> alert sent", *stats(r["tick_to_alert"])])
        rows.append(["  breach: seen by a consumer - due_at", *stats(r["seen"])])
        rows.append(["  warning: Kafka timestamp - warn instant", *stats(r["warning"])])
        rows.append(["  intake: worker forward - submitted", *stats(r["intake"])])
    print()
    print("## Lateness, ms (yardstick row: the mean and the longest wait for the next tick)")
    print()
    print(c.table(["what", "p50", "p99", "max", "min", "count"], rows))
    print()
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if not keep_logs:
        shutil.rmtree(log_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
