"""Helpers for tests that drive the whole pipeline: post over HTTP, read Kafka and ClickHouse."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from confluent_kafka import Consumer, TopicPartition

from pakn.settings import Settings
from pakn.topics import watermarks
from sinks.connection import clickhouse
from tests.harness import Proc, wait_for


@dataclass
class Posted:
    index: int
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    sent_at: float  # time.time() when the request started
    answered_at: float


async def _post_all(
    url: str, bodies: list[Any], concurrency: int, index0: int = 0, pace_s: float = 0.0
) -> list[Posted]:
    sem = asyncio.Semaphore(concurrency)
    out: list[Posted] = []
    async with aiohttp.ClientSession() as session:

        async def one(i: int, body: Any) -> None:
            async with sem:
                sent = time.time()
                kw: dict[str, Any] = (
                    {"data": body, "headers": {"Content-Type": "application/json"}}
                    if isinstance(body, (bytes, str))
                    else {"json": body}
                )
                async with session.post(url, **kw) as resp:
                    data = await resp.json(content_type=None)
                    out.append(
                        Posted(index0 + i, resp.status, data, dict(resp.headers), sent, time.time())
                    )

        tasks = []
        for i, b in enumerate(bodies):
            tasks.append(asyncio.create_task(one(i, b)))
            if pace_s:
                await asyncio.sleep(pace_s)
        await asyncio.gather(*tasks)
    return sorted(out, key=lambda p: p.index)


def post_all(
    settings: Settings,
    bodies: list[Any],
    concurrency: int = 32,
    index0: int = 0,
    pace_s: float = 0.0,
) -> list[Posted]:
    url = f"http://127.0.0.1:{settings.gateway_port}/v1/feedback"
    return asyncio.run(_post_all(url, bodies, concurrency, index0, pace_s))


def wait_gateway(settings: Settings, gateway: Proc, timeout: float = 30) -> None:
    import urllib.request

    def up() -> bool:
        assert gateway.alive, gateway.log_tail()
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{settings.gateway_port}/healthz", timeout=1
            ) as r:
                return r.status == 200
        except OSError:
            return False

    wait_for(up, timeout, "the gateway to answer /healthz")


def query(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    client = clickhouse(settings)
    try:
        return client.execute(sql)
    finally:
        client.disconnect()


def topic_messages(settings: Settings, topic: str, timeout: float = 10) -> list[Any]:
    """Every message currently in a topic (all partitions, from the beginning)."""
    consumer = Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": f"reader-{time.time_ns()}",
            "enable.auto.commit": False,
        }
    )
    try:
        meta = consumer.list_topics(topic, timeout=timeout).topics[topic]
        parts = []
        ends = {}
        for p in meta.partitions:
            lo, hi = watermarks(consumer, topic, p, timeout)
            if hi > lo:
                parts.append(TopicPartition(topic, p, lo))
                ends[p] = hi
        if not parts:
            return []
        consumer.assign(parts)
        out = []
        remaining = dict(ends)
        deadline = time.monotonic() + timeout
        while remaining and time.monotonic() < deadline:
            for msg in consumer.consume(500, timeout=0.5):
                if msg.error():
                    continue
                out.append(msg)
                if msg.offset() + 1 >= remaining.get(msg.partition(), 0):
                    remaining.pop(msg.partition(), None)
        return out
    finally:
        consumer.close()


def topic_count(settings: Settings, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": "counter"})
    try:
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        total = 0
        for p in meta.partitions:
            lo, hi = watermarks(consumer, topic, p)
            total += hi - lo
        return total
    finally:
        consumer.close()


def visible_cases(settings: Settings) -> dict[str, int]:
    """case id -> number of case_submitted events a query sees (FINAL: after dedup)."""
    db = settings.clickhouse_database
    rows = query(
        settings,
        f"SELECT toString(case_id), count() FROM {db}.case_events FINAL "
        "WHERE event_type = 'case_submitted' GROUP BY case_id",
    )
    return dict(rows)


def wait_cases_open(
    settings: Settings, case_ids: set[str] | list[str], timeout: float = 30
) -> None:
    """Until the worker has opened these cases (their state is on the case.state topic)."""
    from pakn.topics import CASE_STATE

    want = {c.encode() for c in case_ids}
    wait_for(
        lambda: want <= {m.key() for m in topic_messages(settings, CASE_STATE.name(settings))},
        timeout,
        "the cases to open",
        every=0.2,
    )


def send_commands(settings: Settings, records: list[dict[str, Any]]) -> None:
    """Produce CaseCommand records as an agency system would (murmur2, like faust)."""
    from confluent_kafka import Producer

    from gateway.publisher import producer_config
    from pakn.topics import COMMANDS
    from schemas.codec import get_codec

    producer = Producer(producer_config(settings.kafka_bootstrap))
    for rec in records:
        case_id = str(rec["envelope"]["case_id"])
        producer.produce(
            COMMANDS.name(settings),
            key=case_id.encode(),
            value=get_codec().encode("CaseCommand", rec),
        )
    assert producer.flush(10) == 0
