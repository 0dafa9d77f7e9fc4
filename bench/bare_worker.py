"""Baseline of the worker benchmark: a bare faust agent on the same broker, topic and partitions
as the case worker, that decodes each event (the project's Avro codec) and writes one table key
(rocksdb, like the worker). Nothing else: no core, no sends. Run by bench/suite.py:

    BENCH_APP_ID=... BENCH_TOPIC=... BENCH_DATADIR=... BENCH_BOOTSTRAP=... \
        .venv/bin/python bench/bare_worker.py
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import faust

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from schemas.codec import get_codec

log = logging.getLogger("bare")
app = faust.App(
    os.environ["BENCH_APP_ID"],
    broker=f"kafka://{os.environ['BENCH_BOOTSTRAP']}",
    store="rocksdb://",
    datadir=os.environ["BENCH_DATADIR"],
    topic_partitions=int(os.environ.get("BENCH_PARTITIONS", "6")),
    topic_replication_factor=1,
    broker_session_timeout=6.0,
    broker_heartbeat_interval=2.0,
    broker_commit_interval=1.0,
    consumer_auto_offset_reset="earliest",
    producer_acks=-1,
    key_serializer="raw",
    value_serializer="raw",
    web_enabled=False,
    table_standby_replicas=0,
)
topic = app.topic(os.environ["BENCH_TOPIC"], key_type=bytes, value_type=bytes)
seen = app.Table(
    "seen", default=None, schema=faust.Schema(key_serializer="json", value_serializer="json")
)
codec = get_codec()


@app.agent(topic)
async def bare(stream: faust.StreamT[Any]) -> None:
    async for event in stream.events():
        _name, record = codec.decode(event.value)
        seen[str(record["envelope"]["case_id"])] = 1


@app.on_rebalance_complete.connect
async def ready(sender: faust.App, **_: Any) -> None:
    print("bare worker ready", flush=True)


if __name__ == "__main__":
    sys.argv = ["bare-worker", "worker", "--without-web", "--loglevel", "warn"]
    app.main()
