"""Content-addressed media store (local folder): a file is stored once under its SHA-256."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

ALLOWED_TYPES = frozenset(
    {"image/jpeg", "image/png", "image/webp", "image/heic", "video/mp4", "video/quicktime"}
)
# Evidence of a result may also be a document: a reply letter, an inspection record (§4.1).
DOCUMENT_TYPES = frozenset({"application/pdf"})


class MediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self.path_of(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(data)
            tmp.replace(path)  # atomic: readers never see half a file
        return digest
