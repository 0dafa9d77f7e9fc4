"""The media store in a real S3-compatible server (the native s3s-fs of `pakn services`):
evidence uploaded through the gateway lands in the bucket under its hash, once, and a command
citing it is accepted; an unreachable store is a clear 503."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import boto3
import pytest
from botocore.config import Config

from gateway.http.auth import mint_token
from pakn.services import manager
from pakn.settings import Settings
from pakn.topics import COMMANDS, INTAKE
from schemas.codec import get_codec
from tests.factories import feedback
from tests.harness import Proc, free_port
from tests.integration.test_workflow_http import (
    PHOTO,
    UNIT,
    Client,
    ok,
    refused,
    submit,
    until_open,
)
from tests.pipeline import topic_messages, wait_gateway

pytestmark = pytest.mark.integration


@pytest.fixture
def s3_env(engines: Settings, env: Settings) -> Iterator[Settings]:
    """The test's settings with the S3 store, in a key prefix of its own in the shared bucket
    (its objects are deleted after the test)."""
    manager.start(engines, only="s3")  # a no-op once `pakn services start` ran
    settings = env.model_copy(
        update={"media_store": "s3", "media_s3_prefix": f"{env.topic_prefix.rstrip('.')}/"}
    )
    yield settings
    with contextlib.suppress(Exception):
        s3 = bucket_client(settings)
        bucket, prefix = settings.media_s3_bucket, settings.media_s3_prefix
        for obj in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
            s3.delete_object(Bucket=bucket, Key=obj["Key"])


@pytest.fixture
def s3_pipeline(s3_env: Settings, tmp_path: Path) -> Iterator[Settings]:
    running = [Proc(n, s3_env, tmp_path).start() for n in ("gateway", "worker", "sink")]
    try:
        wait_gateway(s3_env, running[0])
        yield s3_env
    finally:
        for p in running:
            p.stop()


def bucket_client(settings: Settings) -> Any:
    """A client of its own (not the store's), to see what is really in the bucket."""
    return boto3.session.Session().client(
        "s3",
        endpoint_url=settings.media_s3_endpoint,
        aws_access_key_id=settings.media_s3_access_key,
        aws_secret_access_key=settings.media_s3_secret_key,
        config=Config(region_name=settings.media_s3_region, s3={"addressing_style": "path"}),
    )


def test_evidence_is_stored_once_in_the_bucket_and_cited_by_a_command(
    s3_pipeline: Settings,
) -> None:
    env = s3_pipeline
    bucket, prefix = env.media_s3_bucket, env.media_s3_prefix
    s3 = bucket_client(env)
    case_id, _ = submit(env, 1)
    receiving = Client(env, "receiving_officer", UNIT)
    handling = Client(env, "handling_officer", UNIT)
    until_open(receiving, case_id)
    ok(receiving.command(case_id, "assign", assignee="officer-17"), "assigned")

    ref = handling.upload(PHOTO)
    key = f"{prefix}{ref['sha256']}"
    obj = s3.get_object(Bucket=bucket, Key=key)
    assert obj["Body"].read() == PHOTO
    assert obj["ContentType"] == "image/jpeg"
    assert obj["Metadata"]["sha256"] == ref["sha256"]

    # Mark the stored object: a second upload of the same bytes must not write it again.
    s3.copy_object(
        Bucket=bucket,
        Key=key,
        CopySource={"Bucket": bucket, "Key": key},
        Metadata={"sha256": ref["sha256"], "mark": "first-upload"},
        MetadataDirective="REPLACE",
        ContentType="image/jpeg",
    )
    again = handling.upload(PHOTO)
    assert again["sha256"] == ref["sha256"] and again["size"] == len(PHOTO)
    assert s3.head_object(Bucket=bucket, Key=key)["Metadata"]["mark"] == "first-upload"
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
    assert [o["Key"] for o in listed["Contents"]] == [key]

    refused(
        handling.command(
            case_id,
            "propose_result",
            result_text="Đã vá ổ gà.",
            evidence=[{"sha256": "0" * 64, "content_type": "image/jpeg"}],
        ),
        422,
        "validation_failed",
    )
    ok(
        handling.command(
            case_id,
            "propose_result",
            result_text="Đã vá ổ gà.",
            evidence=[{"sha256": ref["sha256"], "content_type": "image/jpeg"}],
        ),
        "result_proposed",
    )
    # The command's evidence carries the size the bucket reports.
    codec = get_codec()
    evidence = [
        rec["evidence"]
        for _, rec in (codec.decode(m.value()) for m in topic_messages(env, COMMANDS.name(env)))
        if rec["command"] == "propose_result" and rec["evidence"]
    ]
    keys = ("sha256", "content_type", "size", "filename")  # (images add their hashes too)
    cited = [[{k: e[k] for k in keys} for e in ev] for ev in evidence]
    want = {"sha256": ref["sha256"], "content_type": "image/jpeg", "size": len(PHOTO)}
    assert cited == [[{**want, "filename": None}]]


def test_photos_of_a_submission_go_to_the_bucket(s3_env: Settings, tmp_path: Path) -> None:
    gateway = Proc("gateway", s3_env, tmp_path).start()
    try:
        wait_gateway(s3_env, gateway)

        async def post() -> tuple[int, dict]:
            form = aiohttp.FormData()
            form.add_field("submission", json.dumps(feedback(2)), content_type="application/json")
            form.add_field("media", PHOTO, filename="pothole.jpg", content_type="image/jpeg")
            url = f"http://127.0.0.1:{s3_env.gateway_port}/v1/feedback"
            async with aiohttp.ClientSession() as s, s.post(url, data=form) as r:
                return r.status, await r.json()

        status, body = asyncio.run(post())
        assert status == 202, body
    finally:
        gateway.stop()
    [msg] = topic_messages(s3_env, INTAKE.name(s3_env))
    _, rec = get_codec().decode(msg.value())
    [ref] = rec["media"]
    assert ref["size"] == len(PHOTO) and ref["filename"] == "pothole.jpg"
    key = f"{s3_env.media_s3_prefix}{ref['sha256']}"
    got = bucket_client(s3_env).get_object(Bucket=s3_env.media_s3_bucket, Key=key)
    assert got["Body"].read() == PHOTO


def test_an_unreachable_store_answers_503_media_store_unavailable(
    env: Settings, tmp_path: Path
) -> None:
    down = env.model_copy(
        update={
            "media_store": "s3",
            "media_s3_endpoint": f"http://127.0.0.1:{free_port()}",  # nothing listens there
            "media_s3_timeout_s": 1.0,
        }
    )
    gateway = Proc("gateway", down, tmp_path).start()
    try:
        wait_gateway(down, gateway)
        token = mint_token(down, role="handling_officer", unit=UNIT, subject="officer")

        async def upload() -> tuple[int, dict[str, str], dict]:
            form = aiohttp.FormData()
            form.add_field("media", PHOTO, filename="after.jpg", content_type="image/jpeg")
            async with (
                aiohttp.ClientSession() as s,
                s.post(
                    f"http://127.0.0.1:{down.gateway_port}/v1/media",
                    data=form,
                    headers={"Authorization": f"Bearer {token}"},
                ) as r,
            ):
                return r.status, dict(r.headers), await r.json()

        status, headers, body = asyncio.run(upload())
        assert status == 503, body
        assert body["code"] == "media_store_unavailable"
        assert body["message"]["vi"] and headers["Retry-After"]
    finally:
        gateway.stop()
