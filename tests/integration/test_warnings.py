"""Warnings to citizens on the real Kafka: exactly one notification per subscribed citizen per
sent version — across overlapping areas, with the fan-out worker killed mid-way and the
notifier killed mid-way — the same people for the update and the cancellation, nobody outside."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from gateway.publisher import producer_config
from pakn.settings import Settings
from pakn.topics import (
    NOTIFICATIONS,
    SUBSCRIPTIONS,
    WARNING_COMMANDS,
    WARNING_DELIVERIES,
    WARNING_RESULTS,
    WARNING_STATE,
    WARNINGS_BY_COMMUNE,
    watermarks,
)
from processors.areas import Area, Circle, shipped_geo, touched_communes
from schemas.codec import get_codec
from tests.harness import Proc, wait_for
from tests.pipeline import topic_count

GEO = shipped_geo()
A, B = "00070", "00004"  # Hoàn Kiếm; Ba Đình (reached through a circle)
FAR = "09676"  # a commune far west of the city centre
PER_GROUP = 2000  # citizens in A only, in B only, in both


def _produce(settings: Settings, topic: str, items: list[tuple[str, str, dict[str, Any]]]) -> None:
    producer = Producer(producer_config(settings.kafka_bootstrap, **{"linger.ms": 20}))
    codec = get_codec()
    for key, name, rec in items:
        producer.produce(topic, key=key.encode(), value=codec.encode(name, rec))
        producer.poll(0)
    assert producer.flush(30) == 0


def _read_committed(settings: Settings, topic: str) -> list[dict[str, Any]]:
    """Every committed message of a transactional topic, decoded."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
    )
    codec = get_codec()
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        parts = [TopicPartition(topic, p, 0) for p in meta.partitions]
        consumer.assign(parts)
        pending, out = {p.partition for p in parts}, []
        deadline = time.monotonic() + 60
        while pending and time.monotonic() < deadline:
            for m in consumer.consume(5000, timeout=0.5):
                if m.error():
                    pending.discard(m.partition())
                    continue
                out.append(codec.decode(m.value())[1])
        assert not pending, "could not read the notifications to their end"
        return out
    finally:
        consumer.close()


def _caught_up(settings: Settings, group: str, topic: str) -> bool:
    """The group committed the end offset of every partition of the topic."""
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": group})
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        parts = [TopicPartition(topic, p) for p in meta.partitions]
        committed = consumer.committed(parts, timeout=10)
        for tp in committed:
            lo, hi = watermarks(consumer, topic, tp.partition)
            if hi > lo and tp.offset < hi:
                return False
        return True
    finally:
        consumer.close()


def _subscription(p: str, home: str, others: list[str], at: int, **kw: Any) -> dict[str, Any]:
    return {
        "pseudonym": p,
        "token": f"fcm-{p}",
        "channel": "fcm",
        "home_commune": home,
        "communes": others,
        "categories": kw.get("categories", []),
        "language": kw.get("language", "vi"),
        "active": True,
        "at": at,
    }


def _command(name: str, role: str, **kw: Any) -> dict[str, Any]:
    return {
        "command_id": str(uuid.uuid4()),
        "warning_id": "w-flood-1",
        "command": name,
        "actor_role": role,
        "actor_unit": "01-VPUB",
        "actor_id": f"{role}-1",
        "at": int(time.time() * 1000),
        "content": kw.get("content"),
        "superseded_by": None,
    }


def _content(now: int, severity: str = "Severe") -> dict[str, Any]:
    b = GEO[B]
    return {
        "category": "flood",
        "severity": severity,
        "urgency": "Immediate",
        "certainty": "Likely",
        "area": {
            "communes": [A],
            "circles": [{"lat": b.lat, "lon": b.lon, "radius_km": 0.3}],
            "polygons": [],
        },
        "effective": now,
        "expires": now + 6 * 3600 * 1000,
        "headline_vi": "Cảnh báo ngập úng",
        "text_vi": "Mưa lớn, nhiều tuyến phố ngập sâu.",
        "instruction_vi": "Hạn chế ra đường.",
        "headline_en": "Flood warning",
        "text_en": "Heavy rain, streets flooded.",
        "instruction_en": None,
    }


def test_warning_reaches_each_subscriber_once_through_kills(env: Settings, tmp_path: Any) -> None:
    now = int(time.time() * 1000)
    touched = touched_communes(
        Area(communes=(A,), circles=(Circle(GEO[B].lat, GEO[B].lon, 0.3),)), GEO
    )
    assert A in touched and B in touched and FAR not in touched
    subs: list[dict[str, Any]] = []
    for i in range(PER_GROUP):
        subs.append(_subscription(f"a{i}", A, [], now))
        subs.append(_subscription(f"b{i}", B, [], now))
        subs.append(_subscription(f"ab{i}", A, [B], now, language="en"))  # overlapping areas
    subs += [
        _subscription("far", FAR, [], now),  # outside the area
        _subscription("storms-only", A, [], now, categories=["storm"]),  # not this category
        _subscription("moved", A, [], now),
        _subscription("moved", FAR, [], now + 1),  # re-subscribed elsewhere: A forgets them
        _subscription("twice", B, [], now),
        _subscription("twice", B, [A], now + 1),  # same citizen, wider subscription
    ]
    expected = {s["pseudonym"] for s in subs if s["pseudonym"].startswith(("a", "b"))}
    expected.add("twice")
    rows = sum(1 + len(s["communes"]) for s in subs) + 1  # "moved" also sends A a removal

    worker = Proc("worker", env, tmp_path).start()
    notifier = Proc("notifier", env, tmp_path).start()
    try:
        _produce(env, SUBSCRIPTIONS.name(env), [(s["pseudonym"], "Subscription", s) for s in subs])
        by_commune = WARNINGS_BY_COMMUNE.name(env)
        wait_for(lambda: topic_count(env, by_commune) >= rows, 180, "subscription rows", 0.5)
        assert topic_count(env, by_commune) == rows

        # --- the alert: kill the worker in the middle of its fan-out -----------------------
        deliveries = WARNING_DELIVERIES.name(env)
        _produce(
            env,
            WARNING_COMMANDS.name(env),
            [
                (
                    "w-flood-1",
                    "WarningCommand",
                    _command("draft", "communications_officer", content=_content(now)),
                ),
                ("w-flood-1", "WarningCommand", _command("approve", "head")),
            ],
        )
        raw_per_version = 4 * PER_GROUP + 2  # "ab" and "twice" are reached through A and B
        seen_at_kill = wait_for(
            lambda: (n := topic_count(env, deliveries)) > PER_GROUP // 2 and n,
            120,
            "the fan-out to start",
            0.02,
        )
        worker.kill()
        assert seen_at_kill < raw_per_version, "the fan-out finished before the kill"
        worker = Proc("worker", env, tmp_path).start()

        def delivered(version: int) -> Counter[str]:
            notes = _read_committed(env, NOTIFICATIONS.name(env))
            return Counter(n["pseudonym"] for n in notes if n["version"] == version)

        wait_for(lambda: len(delivered(1)) >= len(expected), 240, "the alert's notifications", 1)

        # --- the update: kill the notifier in the middle of its transactions ---------------
        _produce(
            env,
            WARNING_COMMANDS.name(env),
            [
                (
                    "w-flood-1",
                    "WarningCommand",
                    _command("update", "head", content=_content(now, "Extreme")),
                )
            ],
        )
        wait_for(
            lambda: topic_count(env, deliveries) > 2 * raw_per_version, 120, "update fan-out", 0.02
        )
        notifier.kill()
        notifier = Proc("notifier", env, tmp_path).start()
        wait_for(lambda: len(delivered(2)) >= len(expected), 240, "the update's notifications", 1)

        # --- the cancellation ---------------------------------------------------------------
        _produce(
            env,
            WARNING_COMMANDS.name(env),
            [("w-flood-1", "WarningCommand", _command("cancel", "head"))],
        )
        wait_for(
            lambda: len(delivered(3)) >= len(expected), 240, "the cancellation's notifications", 1
        )

        # Everything consumed and committed: no copy can still be on its way.
        group = env.worker_app_id
        wait_for(lambda: _caught_up(env, group, by_commune), 60, "the fan-out to finish", 0.5)
        wait_for(lambda: _caught_up(env, f"{group}-notifier", deliveries), 60, "the notifier", 0.5)
        notes = _read_committed(env, NOTIFICATIONS.name(env))
        for version, kind in ((1, "alert"), (2, "update"), (3, "cancel")):
            got = Counter(n["pseudonym"] for n in notes if n["version"] == version)
            assert set(got) == expected, f"v{version}: wrong people"
            assert max(got.values()) == 1, f"v{version}: {got.most_common(3)} got copies"
            assert {n["kind"] for n in notes if n["version"] == version} == {kind}
        assert len(notes) == 3 * len(expected)
        # the raw fan-out did repeat itself (overlap + the kill): the dedup was needed
        assert topic_count(env, deliveries) > len(notes)
        sample = next(n for n in notes if n["pseudonym"] == "ab0" and n["version"] == 1)
        assert sample["headline"] == "Flood warning" and sample["token"] == "fcm-ab0"
        assert sample["cap_url"].endswith("/v1/warnings/w-flood-1.cap")

        # The public state and the results name no citizen.
        codec = get_codec()
        from tests.pipeline import topic_messages

        states = [codec.decode(m.value())[1] for m in topic_messages(env, WARNING_STATE.name(env))]
        assert [s["status"] for s in states][-1] == "cancelled"
        assert states[-1]["audience"] == touched
        results = [
            codec.decode(m.value())[1] for m in topic_messages(env, WARNING_RESULTS.name(env))
        ]
        assert len(results) >= 4 and all(r["accepted"] for r in results)
    finally:
        worker.stop()
        notifier.stop()
