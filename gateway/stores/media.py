"""Content-addressed media store: a file is stored once under its SHA-256.

Two backends with one interface (`MediaStore`): a local folder (default) and an S3-compatible
bucket (gateway/stores/media_s3.py), chosen by ``PAKN_MEDIA_STORE``. The stores are blocking; the
gateway calls them through `put_files` / `stored_size`, which run them in a worker thread and turn
a store that cannot be reached into 503 ``media_store_unavailable``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from gateway.http.errors import unavailable
from pakn.settings import Settings

ALLOWED_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/webp", "image/heic", "video/mp4", "video/quicktime"}
)
# Evidence of a result may also be a document: a reply letter, an inspection record (§4.1).
DOCUMENT_TYPES = frozenset({"application/pdf"})

_SHA256 = re.compile(r"[0-9a-f]{64}")


class MediaUnavailable(Exception):
    """The store cannot be reached or refused the request (not: the object is missing)."""


def check_digest(sha256: str) -> str:
    """A reference is a lowercase hex SHA-256; anything else never names a stored file."""
    if not _SHA256.fullmatch(sha256):
        raise ValueError(f"not a sha256 hex digest: {sha256!r}")
    return sha256


class MediaStore(Protocol):
    def prepare(self) -> None:
        """Make the store usable (folder, bucket); idempotent. Raises MediaUnavailable."""

    def put(self, data: bytes, content_type: str | None = None) -> str:
        """Store `data` under its SHA-256 (once: a second put of the same bytes writes nothing);
        return the hex digest."""

    def size_of(self, sha256: str) -> int | None:
        """Size in bytes of the stored file, or None if nothing is stored under `sha256`."""

    def get(self, sha256: str) -> bytes:
        """The stored bytes; KeyError if nothing is stored under `sha256`."""

    def where(self) -> str:
        """Where files go, for logs."""


class LocalMediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        check_digest(sha256)
        return self.root / sha256[:2] / sha256

    def prepare(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    def put(self, data: bytes, content_type: str | None = None) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self.path_of(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)  # atomic: readers never see half a file
        return digest

    def size_of(self, sha256: str) -> int | None:
        try:
            return self.path_of(sha256).stat().st_size
        except FileNotFoundError:
            return None

    def get(self, sha256: str) -> bytes:
        try:
            return self.path_of(sha256).read_bytes()
        except FileNotFoundError:
            raise KeyError(sha256) from None

    def where(self) -> str:
        return str(self.root)


def open_store(settings: Settings) -> MediaStore:
    """The store ``PAKN_MEDIA_STORE`` names."""
    if settings.media_store == "s3":
        from gateway.stores.media_s3 import S3MediaStore  # boto3 is imported only when configured

        return S3MediaStore.from_settings(settings)
    return LocalMediaStore(settings.home / "media")


# --- from the event loop -------------------------------------------------------------------
async def _blocking(fn: Any, *args: Any) -> Any:
    try:
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)
    except MediaUnavailable as exc:
        raise unavailable("media_store_unavailable") from exc


async def put_files(
    store: MediaStore, files: Sequence[tuple[str, str | None, bytes]]
) -> list[dict[str, Any]]:
    """Store each (content type, file name, bytes); their references, in order."""
    return [
        {
            "sha256": await _blocking(store.put, data, ctype),
            "content_type": ctype,
            "size": len(data),
            "filename": name,
        }
        for ctype, name, data in files
    ]


async def stored_size(store: MediaStore, sha256: str) -> int | None:
    return await _blocking(store.size_of, sha256)
