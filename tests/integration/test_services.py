"""The native services: all answer, and each can be stopped and started again with its data."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from clickhouse_driver import Client
from confluent_kafka.admin import AdminClient, NewTopic

from pakn.services import manager
from pakn.services.clickhouse import ClickHouse
from pakn.services.kafka import Kafka
from pakn.services.s3 import S3Store
from pakn.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def settings() -> Iterator[Settings]:
    s = Settings()
    manager.start(s)
    yield s
    manager.start(s)  # whatever a test did, leave them running for the rest of the suite


def _admin(settings: Settings) -> AdminClient:
    # log_level 0: no librdkafka chatter if the broker goes away while this client lives.
    return AdminClient({"bootstrap.servers": settings.kafka_bootstrap, "log_level": 0})


def _ch_execute(settings: Settings, query: str, params: list[tuple[int]] | None = None) -> object:
    client = Client(
        host=settings.clickhouse_host,
        port=settings.clickhouse_port,
        user=settings.clickhouse_user,
        password=settings.clickhouse_password,
    )
    try:
        return client.execute(query, params)
    finally:
        client.disconnect()


def test_start_is_idempotent(settings: Settings) -> None:
    services = (Kafka(settings), ClickHouse(settings), S3Store(settings))
    pids = {svc.name: svc.find_pid() for svc in services}
    manager.start(settings)
    assert {svc.name: svc.find_pid() for svc in services} == pids
    assert manager.status(settings) == {"kafka": True, "clickhouse": True, "s3": True}
    assert manager.kafka_ready(settings, 2) and manager.clickhouse_ready(settings, 2)


def test_kafka_stopped_then_back_keeps_topics(settings: Settings) -> None:
    if Kafka(settings).find_pid() is None:
        pytest.skip("Kafka at these settings is not run by pakn: it cannot be stopped here")
    topic = f"test.services.{uuid.uuid4().hex[:12]}"
    admin = _admin(settings)
    admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])[topic].result(10)
    del admin  # closed before the broker goes away

    manager.stop(settings, only="kafka")
    assert manager.status(settings) == {"kafka": False, "clickhouse": True, "s3": True}
    manager.stop(settings, only="kafka")  # stopping a stopped service is fine

    manager.start(settings, only="kafka")
    assert manager.status(settings)["kafka"]
    admin = _admin(settings)
    try:
        topics = admin.list_topics(timeout=10).topics
        assert topic in topics
        assert len(topics[topic].partitions) == 3
    finally:
        admin.delete_topics([topic])[topic].result(10)


def test_clickhouse_stopped_then_back_keeps_rows(settings: Settings) -> None:
    if ClickHouse(settings).find_pid() is None:
        pytest.skip("ClickHouse at these settings is not run by pakn: it cannot be stopped here")
    db = f"test_services_{uuid.uuid4().hex[:12]}"
    _ch_execute(settings, f"CREATE DATABASE {db}")
    try:
        _ch_execute(settings, f"CREATE TABLE {db}.t (x UInt32) ENGINE = MergeTree() ORDER BY x")
        _ch_execute(settings, f"INSERT INTO {db}.t (x) VALUES", [(i,) for i in range(1000)])

        manager.stop(settings, only="clickhouse")
        assert manager.status(settings) == {"kafka": True, "clickhouse": False, "s3": True}

        manager.start(settings, only="clickhouse")
        assert manager.status(settings)["clickhouse"]
        assert _ch_execute(settings, f"SELECT count(), sum(x) FROM {db}.t") == [(1000, 499500)]
    finally:
        manager.start(settings, only="clickhouse")
        _ch_execute(settings, f"DROP DATABASE IF EXISTS {db}")


def test_s3_stopped_then_back_keeps_objects(settings: Settings) -> None:
    import boto3
    from botocore.config import Config

    if S3Store(settings).find_pid() is None:
        pytest.skip("the S3 store at these settings is not run by pakn: it cannot be stopped here")
    s3 = boto3.session.Session().client(
        "s3",
        endpoint_url=settings.media_s3_endpoint,
        aws_access_key_id=settings.media_s3_access_key,
        aws_secret_access_key=settings.media_s3_secret_key,
        config=Config(region_name=settings.media_s3_region, s3={"addressing_style": "path"}),
    )
    bucket = f"test-services-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    try:
        s3.put_object(Bucket=bucket, Key="k", Body=b"kept")
        manager.stop(settings, only="s3")
        assert manager.status(settings) == {"kafka": True, "clickhouse": True, "s3": False}
        manager.start(settings, only="s3")
        assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"kept"
    finally:
        manager.start(settings, only="s3")
        s3.delete_object(Bucket=bucket, Key="k")
        s3.delete_bucket(Bucket=bucket)
