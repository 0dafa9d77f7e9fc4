"""Fan-out of one city-wide warning to 1.45 million subscribers (iHanoi's account count).

    .venv/bin/python bench/warning_fanout.py                       # core 1.45M + stream 50k
    .venv/bin/python bench/warning_fanout.py --subscribers 200000 --stream 0

Part 1, in this process, at ``--subscribers`` (default 1,450,000): the subscriptions (spread over
Hanoi's 126 communes, one in five with a second commune, so the city-wide warning reaches them
twice) are stored as the worker stores them (processors/fanout.py: rows per commune, buckets);
then the warning is fanned out bucket by bucket (processors.fanout.deliveries), each delivery
Avro-encoded (WarningDelivery) and produced to Kafka with confluent-kafka, and deduplicated as
the notifier does (processors.fanout.Seen). Printed: load, fan-out only, fan-out + encode,
fan-out + encode + produce (acked), the peak RSS; beside it, the **baseline measured in the same
run**: the raw confluent-kafka producer sending the same number of pre-encoded messages of the
same size with the same settings.

Part 2, the real processes (``pakn worker`` + ``pakn notifier``) at ``--stream`` subscribers
(default 50,000; 0 skips it): subscriber rows are produced straight onto warnings.by-commune
(the per-citizen diff stage is bypassed: it is not part of the fan-out), the worker loads them,
then a city-wide warning is drafted and approved; timed from the approval to the last
notification committed by the notifier, with the exactly-once check (one per citizen).

Needs Kafka (``.venv/bin/pakn services start``). Topics are removed at the end.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import resource
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import _common as c
from confluent_kafka import Consumer, Producer, TopicPartition

from gateway.publisher import producer_config
from pakn.settings import Settings
from pakn.topics import (
    CATALOGUE,
    NOTIFICATIONS,
    WARNING_COMMANDS,
    WARNING_DELIVERIES,
    WARNINGS_BY_COMMUNE,
    create_topics,
)
from processors import fanout
from processors.areas import shipped_geo
from schemas.codec import get_codec
from tests.conftest import TEST_KEYS
from tests.harness import Proc, free_port

GEO = shipped_geo()
COMMUNES = sorted(GEO)
NOW = int(time.time() * 1000)


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def subscriptions(n: int, seed: int = 8) -> Any:
    """n citizens: 64-hex pseudonyms, FCM-sized tokens, communes weighted by area."""
    rng = random.Random(seed)
    weights = [GEO[k].radius_km ** 2 + 1.0 for k in COMMUNES]
    homes = rng.choices(COMMUNES, weights=weights, k=n)
    for i, home in enumerate(homes):
        p = hashlib.sha256(f"citizen-{i}".encode()).hexdigest()
        others = [rng.choice(COMMUNES)] if rng.random() < 0.2 else []
        yield {
            "pseudonym": p,
            "token": (p * 3)[:152],
            "channel": "fcm" if i % 3 else "apns",
            "home_commune": home,
            "communes": [o for o in others if o != home],
            "categories": [],
            "language": "en" if i % 10 == 0 else "vi",
            "active": True,
            "at": NOW,
        }


def task(commune: str, bucket: int, settings: Settings) -> dict[str, Any]:
    return {
        "warning_id": "bench-city-storm",
        "version": 1,
        "kind": "alert",
        "commune": commune,
        "bucket": bucket,
        "category": "storm",
        "severity": "Extreme",
        "headline_vi": "Cảnh báo bão số 3 trên toàn thành phố",
        "headline_en": "Typhoon warning for the whole city",
        "expires": NOW + 6 * 3600 * 1000,
        "cap_url": f"{settings.public_url}/v1/warnings/bench-city-storm.cap",
    }


def producer(settings: Settings) -> Producer:
    return Producer(
        producer_config(
            settings.kafka_bootstrap,
            **{"linger.ms": 5, "batch.size": 1_000_000, "queue.buffering.max.messages": 500_000},
        )
    )


def produce_all(p: Producer, topic: str, items: Any) -> int:
    n = 0
    for key, value, headers in items:
        while True:
            try:
                p.produce(topic, key=key, value=value, headers=headers)
                break
            except BufferError:
                p.poll(0.05)
        n += 1
        if n % 10_000 == 0:
            p.poll(0)
    assert p.flush(120) == 0, "messages not acknowledged"
    return n


def part1(settings: Settings, n: int) -> list[list[Any]]:
    codec = get_codec()
    base_rss = rss_mib()
    t0 = time.perf_counter()
    buckets: dict[str, dict[str, list[Any]]] = {}
    rows = 0
    for sub in subscriptions(n):
        for commune, row in fanout.subscription_rows(None, sub):
            key = fanout.bucket_key(commune, fanout.bucket_of(sub["pseudonym"]))
            # the worker keeps the bucket in its table and reassigns it; here in place
            bucket = buckets.setdefault(key, {})
            bucket[row["pseudonym"]] = [
                row["at"],
                row["token"],
                row["channel"],
                row["language"],
                row["categories"],
            ]
            rows += 1
    load_s = time.perf_counter() - t0
    loaded_rss = rss_mib()
    tasks = [task(k, b, settings) for k in COMMUNES for b in range(fanout.BUCKETS)]

    def deliveries() -> Any:
        for t in tasks:
            yield from fanout.deliveries(
                t, buckets.get(fanout.bucket_key(t["commune"], t["bucket"]))
            )

    t0 = time.perf_counter()
    raw = sum(1 for _ in deliveries())
    core_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    sizes = 0
    for d in deliveries():
        sizes += len(codec.encode("WarningDelivery", d))
    encode_s = time.perf_counter() - t0
    size = sizes // max(raw, 1)

    topic = scratch_topic(settings, "bench-deliveries")
    seen = fanout.Seen()
    unique = 0

    def encoded() -> Any:
        nonlocal unique
        for d in deliveries():
            if seen.add(fanout.bucket_of(d["pseudonym"], settings.topic_partitions), d["event_id"]):
                unique += 1
            yield (
                d["pseudonym"].encode(),
                codec.encode("WarningDelivery", d),
                {"event_id": uuid.UUID(d["event_id"]).bytes},
            )

    p = producer(settings)
    t0 = time.perf_counter()
    produced = produce_all(p, topic, encoded())
    full_s = time.perf_counter() - t0
    assert unique == n, f"{unique} unique deliveries for {n} subscribers"

    # Baseline: the raw producer, same count, same size, same settings, same run.
    payload = b"x" * size
    keys = [hashlib.sha256(str(i).encode()).hexdigest().encode() for i in range(1000)]
    header = {"event_id": uuid.uuid4().bytes}
    p2 = producer(settings)
    t0 = time.perf_counter()
    produce_all(
        p2,
        scratch_topic(settings, "bench-baseline"),
        ((keys[i % 1000], payload, header) for i in range(produced)),
    )
    raw_s = time.perf_counter() - t0

    def rate(count: int, s: float) -> str:
        return f"{count / s:,.0f}/s"

    return [
        [
            "subscriptions stored (rows per commune, buckets)",
            f"{n:,} ({rows:,} rows)",
            f"{load_s:.1f} s",
            rate(rows, load_s),
        ],
        [
            "fan-out only (core: deliveries per bucket)",
            f"{raw:,}",
            f"{core_s:.1f} s",
            rate(raw, core_s),
        ],
        ["fan-out + Avro encode", f"{raw:,} × {size} B", f"{encode_s:.1f} s", rate(raw, encode_s)],
        [
            "fan-out + encode + dedup + produce (acked)",
            f"{produced:,}",
            f"{full_s:.1f} s",
            rate(produced, full_s),
        ],
        [
            "**baseline: raw confluent-kafka producer**",
            f"{produced:,} × {size} B",
            f"{raw_s:.1f} s",
            rate(produced, raw_s),
        ],
        [
            "memory: RSS before / after loading / peak",
            "",
            f"{base_rss:.0f} / {loaded_rss:.0f} / {peak_mib():.0f} MiB",
            f"{(loaded_rss - base_rss) * 2**20 / n:.0f} B per subscriber",
        ],
    ]


def scratch_topic(settings: Settings, suffix: str) -> str:
    """A topic of this run only (part 1 must not feed the processes of part 2)."""
    from confluent_kafka.admin import AdminClient, NewTopic

    name = settings.topic_prefix + suffix
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    for fut in admin.create_topics([NewTopic(name, settings.topic_partitions, 1)]).values():
        fut.result()
    return name


def caught_up(settings: Settings, group: str, topic: str) -> bool:
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": group})
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        parts = [TopicPartition(topic, p) for p in meta.partitions]
        for tp in consumer.committed(parts, timeout=10):
            lo, hi = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), 10)
            if hi > lo and tp.offset < hi:
                return False
        return True
    finally:
        consumer.close()


def committed_count(settings: Settings, topic: str) -> int:
    """Committed messages on a transactional topic (read_committed, to the end)."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"bench-{uuid.uuid4().hex}",
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            "enable.auto.commit": False,
        }
    )
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        consumer.assign([TopicPartition(topic, p, 0) for p in meta.partitions])
        pending, ids = set(meta.partitions), set()
        while pending:
            for m in consumer.consume(10_000, timeout=1.0):
                if m.error():
                    pending.discard(m.partition())
                    continue
                ids.add(m.headers()[0][1])
        return len(ids)
    finally:
        consumer.close()


def part2(settings: Settings, n: int, logs: Path) -> list[list[Any]]:
    codec = get_codec()
    rows = []
    for sub in subscriptions(n, seed=9):
        for commune, row in fanout.subscription_rows(None, sub):
            rows.append((commune.encode(), codec.encode("SubscriberRow", row), None))
    p = producer(settings)
    produce_all(p, WARNINGS_BY_COMMUNE.name(settings), rows)
    worker = Proc("worker", settings, logs).start()
    notifier = Proc("notifier", settings, logs).start()
    try:
        started = time.perf_counter()
        while not caught_up(settings, settings.worker_app_id, WARNINGS_BY_COMMUNE.name(settings)):
            assert worker.alive, worker.log_tail()
            time.sleep(1)
        loaded = time.perf_counter()
        command = {
            "command_id": str(uuid.uuid4()),
            "warning_id": "bench-city-storm",
            "actor_role": "head",
            "actor_unit": "01-VPUB",
            "actor_id": "bench",
            "superseded_by": None,
        }
        content = {
            "category": "storm",
            "severity": "Extreme",
            "urgency": "Immediate",
            "certainty": "Likely",
            "area": {
                "communes": [],
                "circles": [{"lat": 21.0, "lon": 105.8, "radius_km": 80.0}],
                "polygons": [],
            },
            "effective": NOW,
            "expires": NOW + 6 * 3600 * 1000,
            "headline_vi": "Cảnh báo bão",
            "text_vi": "Bão đổ bộ.",
            "instruction_vi": None,
            "headline_en": "Typhoon",
            "text_en": None,
            "instruction_en": None,
        }
        at = int(time.time() * 1000)
        p.produce(
            WARNING_COMMANDS.name(settings),
            key=b"bench-city-storm",
            value=codec.encode(
                "WarningCommand",
                {
                    **command,
                    "command": "draft",
                    "at": at,
                    "content": content,
                    "actor_role": "communications_officer",
                },
            ),
        )
        p.produce(
            WARNING_COMMANDS.name(settings),
            key=b"bench-city-storm",
            value=codec.encode(
                "WarningCommand",
                {
                    **command,
                    "command_id": str(uuid.uuid4()),
                    "command": "approve",
                    "at": at,
                    "content": None,
                },
            ),
        )
        assert p.flush(30) == 0
        approved = time.perf_counter()
        got = 0
        while got < n:
            assert worker.alive and notifier.alive, worker.log_tail() + notifier.log_tail()
            time.sleep(2)
            got = committed_count(settings, NOTIFICATIONS.name(settings))
            if time.perf_counter() - approved > 1800:
                raise AssertionError(f"only {got:,} of {n:,} notifications after 30 min")
        done = time.perf_counter()
    finally:
        worker.stop()
        notifier.stop()
    from tests.pipeline import topic_count

    raw_deliveries = topic_count(settings, WARNING_DELIVERIES.name(settings))
    total = committed_count(settings, NOTIFICATIONS.name(settings))
    return [
        [
            "stream: worker start + store the rows (faust table)",
            f"{len(rows):,} rows",
            f"{loaded - started:.1f} s",
            f"{len(rows) / (loaded - started):,.0f}/s",
        ],
        [
            "stream: approval -> last notification committed (worker + notifier)",
            f"{n:,} citizens",
            f"{done - approved:.1f} s",
            f"{n / (done - approved):,.0f}/s",
        ],
        [
            "stream: raw deliveries (before dedup) / notifications committed",
            f"{raw_deliveries:,} / {total:,}",
            "",
            "exactly once" if total == n else "MISMATCH",
        ],
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--subscribers", type=int, default=1_450_000)
    ap.add_argument("--stream", type=int, default=50_000)
    args = ap.parse_args()
    tag = f"b{uuid.uuid4().hex[:10]}"
    home = Path(tempfile.mkdtemp(prefix="bench-warnings-"))
    settings = Settings().model_copy(
        update={
            "home": home,
            "topic_prefix": f"{tag}.",
            "worker_app_id": f"{tag}-worker",
            "worker_web_port": 0,
            "worker_session_timeout_s": 6.0,
            "gateway_port": free_port(),
            "log_level": "INFO",
            **TEST_KEYS,
        }
    )
    create_topics(settings)
    load = " / ".join(f"{x:.1f}" for x in __import__("os").getloadavg())
    print(f"# warning fan-out — {c.machine()}, load average {load}", flush=True)
    try:
        rows = part1(settings, args.subscribers)
        print(c.table(["step", "messages", "time", "rate"], rows), flush=True)
        if args.stream:
            rows2 = part2(settings, args.stream, home)
            print(c.table(["step", "messages", "time", "rate"], rows2), flush=True)
    finally:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
        names = [t for t in admin.list_topics(timeout=10).topics if t.startswith(tag)]
        names += [s.name(settings) for s in CATALOGUE]
        if names:
            admin.delete_topics(sorted(set(names)), operation_timeout=30)
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
