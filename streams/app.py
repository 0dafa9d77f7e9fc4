"""The faust App, alone (faust's own examples/fastapi_project layout): features declare their
topics, tables and agents on it through ``streams.runtime.Runtime``; ``streams.worker`` builds and
starts it."""

from __future__ import annotations

import faust

from pakn.settings import Settings


def create_app(settings: Settings, store: str = "rocksdb://") -> faust.App:
    """The worker's app. ``store="memory://"``: agents tested in process (faust's test_context)."""
    return faust.App(
        settings.worker_app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store=store,
        datadir=str(settings.worker_dir),
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication,
        broker_session_timeout=settings.worker_session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.worker_session_timeout_s / 3),
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        producer_linger=0.005,
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=settings.worker_web_port != 0,
        web_port=settings.worker_web_port or 6066,
        web_host="127.0.0.1",
        table_standby_replicas=settings.worker_standby_replicas,
        autodiscover=False,
    )
