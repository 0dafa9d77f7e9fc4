"""The media store in an S3-compatible bucket (AWS S3, SeaweedFS, Ceph RGW, s3s-fs...), with boto3.

boto3 is blocking and its clients are thread-safe: one client serves every worker thread the
gateway runs store calls in (gateway/stores/media.py). An object's key is ``<prefix><sha256>``;
a put first asks whether the key exists (HEAD), so the same bytes are uploaded once, and sends
Content-MD5 so the server refuses a body damaged on the way.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from gateway.stores.media import MediaUnavailable, check_digest
from pakn.settings import Settings

log = logging.getLogger(__name__)

_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}


def object_key(prefix: str, sha256: str) -> str:
    return f"{prefix}{check_digest(sha256)}"


def content_md5(data: bytes) -> str:
    """The Content-MD5 header: base64 of the binary MD5 (not hex)."""
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def client_config(settings: Settings) -> Config:
    return Config(
        region_name=settings.media_s3_region,
        connect_timeout=settings.media_s3_timeout_s,
        read_timeout=settings.media_s3_timeout_s,
        retries={"max_attempts": 3, "mode": "standard"},
        s3={"addressing_style": "path" if settings.media_s3_path_style else "virtual"},
        # botocore >= 1.36 adds CRC checksums in aws-chunked bodies by default, which several
        # S3-compatible servers refuse; Content-MD5 is checked everywhere.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )


class S3MediaStore:
    def __init__(self, client: Any, bucket: str, prefix: str = "", create_bucket: bool = True):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.create_bucket = create_bucket
        self._prepared = False
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> S3MediaStore:
        # Empty keys: boto3's own chain (environment, shared files, instance role).
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=settings.media_s3_endpoint or None,
            aws_access_key_id=settings.media_s3_access_key or None,
            aws_secret_access_key=settings.media_s3_secret_key or None,
            config=client_config(settings),
        )
        return cls(
            client,
            settings.media_s3_bucket,
            settings.media_s3_prefix,
            settings.media_s3_create_bucket,
        )

    def where(self) -> str:
        return f"{self.client.meta.endpoint_url}/{self.bucket}/{self.prefix}"

    def prepare(self) -> None:
        """Check the bucket answers; create it when missing (if allowed). Run at the gateway's
        start and, if the store was down then, again before the first write."""
        with self._lock:
            if self._prepared:
                return
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if error_code(exc) not in _MISSING or not self.create_bucket:
                    raise MediaUnavailable(f"bucket {self.bucket}: {exc}") from exc
                self._create()
            except BotoCoreError as exc:
                raise MediaUnavailable(str(exc)) from exc
            self._prepared = True

    def _create(self) -> None:
        region = self.client.meta.region_name
        kwargs: dict[str, Any] = {"Bucket": self.bucket}
        if region and region != "us-east-1":  # us-east-1 refuses an explicit constraint
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            self.client.create_bucket(**kwargs)
            log.info("media bucket created", extra={"bucket": self.bucket})
        except ClientError as exc:
            if error_code(exc) not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise MediaUnavailable(f"create bucket {self.bucket}: {exc}") from exc

    def put(self, data: bytes, content_type: str | None = None) -> str:
        digest = hashlib.sha256(data).hexdigest()
        self.prepare()
        if self.size_of(digest) is not None:
            return digest  # content-addressed: what is there is these bytes
        extra = {"ContentType": content_type} if content_type else {}
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=object_key(self.prefix, digest),
                Body=data,
                ContentMD5=content_md5(data),
                Metadata={"sha256": digest},
                **extra,
            )
        except (ClientError, BotoCoreError) as exc:
            raise MediaUnavailable(f"put {digest}: {exc}") from exc
        return digest

    def size_of(self, sha256: str) -> int | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=object_key(self.prefix, sha256))
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                return None
            raise MediaUnavailable(f"head {sha256}: {exc}") from exc
        except BotoCoreError as exc:
            raise MediaUnavailable(f"head {sha256}: {exc}") from exc
        return int(head["ContentLength"])

    def get(self, sha256: str) -> bytes:
        try:
            obj = self.client.get_object(Bucket=self.bucket, Key=object_key(self.prefix, sha256))
            return bytes(obj["Body"].read())
        except ClientError as exc:
            if error_code(exc) in _MISSING:
                raise KeyError(sha256) from None
            raise MediaUnavailable(f"get {sha256}: {exc}") from exc
        except BotoCoreError as exc:
            raise MediaUnavailable(f"get {sha256}: {exc}") from exc
