"""What per-sender data keys cost: sealing CPU, and a first submission's extra Kafka write.

1. CPU, in process: ``Privacy.seal`` with the master key (the baseline: how identities were sealed
   before data keys) vs with the sender's data key (unwrap + seal), and ``unseal`` likewise.
2. The real gateway on the local Kafka (``pakn services start`` first): POST latency of
   submissions from senders the gateway has never seen (a SenderKey is written and acknowledged
   before the submission) vs the same number from senders it already knows (the baseline: one
   write), at the same concurrency. Own topic prefix, database and state folder, removed at the end.

    .venv/bin/python bench/privacy_seal.py [--n 20000] [--posts 400] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import statistics
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import _common

from pakn.privacy import Privacy, SenderKeyring
from pakn.settings import get_settings

IDENTITY = {
    "full_name": "Nguyễn Văn An",
    "id_number": "001203012345",
    "phone": "+84912345678",
    "email": "an@example.vn",
    "tax_code": None,
}


def cpu(n: int) -> None:
    priv = Privacy({"k1": b"k" * 32}, "k1", b"p" * 32)
    key = priv.new_sender_key("a" * 64)
    ring = SenderKeyring()
    ring.apply(key.topic_key, key)
    for _ in range(2000):  # warm up both paths
        priv.unseal(priv.seal(IDENTITY, "w", key), "w", ring.get)
        priv.unseal(priv.seal(IDENTITY, "w"), "w")
    rows = []
    for label, data_key in (("master key (baseline)", None), ("sender data key", key)):
        t = time.perf_counter()
        sealed = [priv.seal(IDENTITY, f"case-{i}", data_key) for i in range(n)]
        seal_us = (time.perf_counter() - t) / n * 1e6
        t = time.perf_counter()
        for i, s in enumerate(sealed):
            priv.unseal(s, f"case-{i}", ring.get)
        unseal_us = (time.perf_counter() - t) / n * 1e6
        rows.append((label, f"{seal_us:.1f}", f"{unseal_us:.1f}"))
    print(_common.table(("sealed with", "seal µs", "unseal µs"), rows))


def gateway(posts: int, concurrency: int) -> None:
    from pakn.topics import CATALOGUE, create_topics
    from tests.factories import feedback
    from tests.harness import Proc, free_port
    from tests.pipeline import post_all, wait_gateway

    tag = f"bench{uuid.uuid4().hex[:8]}"
    home = Path(tempfile.mkdtemp(prefix="pakn-bench-"))
    settings = get_settings().model_copy(
        update={
            "home": home,
            "topic_prefix": f"{tag}.",
            "clickhouse_database": tag,
            "gateway_port": free_port(),
            "gateway_client_rate": 0.0,
            "gateway_sender_per_hour": 0.0,
            "pii_keys": "b1:" + base64.b64encode(b"k" * 32).decode(),
            "pseudonym_key": base64.b64encode(b"p" * 32).decode(),
        }
    )
    create_topics(settings)
    proc = Proc("gateway", settings, home)
    try:
        proc.start()
        wait_gateway(settings, proc)
        post_all(settings, [feedback(90000 + i) for i in range(50)], concurrency)  # warm up
        rows = []
        for label, first in (("known senders (baseline)", 0), ("new senders", 10000)):
            # known: senders 0..posts-1 posted once before (their keys exist); new: never seen
            if not first:
                post_all(settings, [feedback(i) for i in range(posts)], concurrency)
            t = time.perf_counter()
            done = post_all(settings, [feedback(first + i) for i in range(posts)], concurrency)
            wall = time.perf_counter() - t
            assert all(p.status == 202 for p in done), [p.body for p in done if p.status != 202]
            ms = sorted((p.answered_at - p.sent_at) * 1000 for p in done)
            rows.append(
                (
                    label,
                    f"{statistics.median(ms):.1f}",
                    f"{_common.percentile(ms, 99):.1f}",
                    f"{posts / wall:.0f}",
                )
            )
        print(_common.table(("submissions from", "p50 ms", "p99 ms", "req/s"), rows))
    finally:
        proc.stop()
        with contextlib.suppress(Exception):
            from confluent_kafka.admin import AdminClient

            admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
            admin.delete_topics([s.name(settings) for s in CATALOGUE], operation_timeout=10)
        subprocess.run(["rm", "-rf", str(home)], check=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=20000, help="records sealed in the CPU part")
    ap.add_argument("--posts", type=int, default=400, help="submissions per gateway run")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--no-gateway", action="store_true", help="the CPU part only")
    args = ap.parse_args()
    print(_common.machine())
    cpu(args.n)
    if not args.no_gateway:
        gateway(args.posts, args.concurrency)


if __name__ == "__main__":
    main()
