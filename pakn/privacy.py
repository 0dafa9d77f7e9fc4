"""Personal data never travels in plain text: seal it (AES-256-GCM) and count senders by pseudonym.

* ``seal``/``unseal``: the sender's identity (name, identity number, phone, email, tax code) as one
  AES-GCM ciphertext; the key id travels with it so keys can rotate (every listed key decrypts,
  the first one encrypts). The case id is the associated data: a ciphertext moved to another case
  does not open.
* ``pseudonym``: HMAC-SHA256 of the normalised identity number, so the pipeline can count and
  match a sender (repeats, abuse limits) without knowing who it is.

Keys come from settings (``PAKN_PII_KEYS``, ``PAKN_PSEUDONYM_KEY``); on a developer machine, when
they are empty, random keys are created once under ``<home>/secrets`` (mode 0600).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pakn.settings import Settings


@dataclass(frozen=True)
class Sealed:
    key_id: str
    nonce: bytes
    ciphertext: bytes

    def as_record(self) -> dict[str, Any]:
        return {"key_id": self.key_id, "nonce": self.nonce, "ciphertext": self.ciphertext}


class Privacy:
    def __init__(self, keys: dict[str, bytes], active_key_id: str, pseudonym_key: bytes) -> None:
        if active_key_id not in keys:
            raise ValueError(f"active key {active_key_id!r} is not among the keys")
        self._aead = {kid: AESGCM(key) for kid, key in keys.items()}
        self._active = active_key_id
        self._pseudonym_key = pseudonym_key

    def seal(self, fields: dict[str, Any], case_id: str) -> Sealed:
        nonce = os.urandom(12)
        plain = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
        ct = self._aead[self._active].encrypt(nonce, plain, case_id.encode())
        return Sealed(self._active, nonce, ct)

    def unseal(self, sealed: dict[str, Any] | Sealed, case_id: str) -> dict[str, Any]:
        s = sealed if isinstance(sealed, Sealed) else Sealed(**sealed)
        plain = self._aead[s.key_id].decrypt(s.nonce, s.ciphertext, case_id.encode())
        return json.loads(plain)

    def pseudonym(self, identity: str) -> str:
        normalised = "".join(identity.split()).upper()
        return hmac.new(self._pseudonym_key, normalised.encode(), hashlib.sha256).hexdigest()


def _parse_keys(spec: str) -> tuple[dict[str, bytes], str]:
    keys: dict[str, bytes] = {}
    first = ""
    for item in filter(None, (p.strip() for p in spec.split(","))):
        kid, _, b64 = item.partition(":")
        key = base64.b64decode(b64)
        if len(key) != 32:
            raise ValueError(f"PII key {kid!r} must be 32 bytes (base64)")
        keys[kid] = key
        first = first or kid
    return keys, first


def _dev_secret(home: Path, name: str, make: str) -> str:
    """A random secret kept under <home>/secrets, created on first use (development only)."""
    folder = home / "secrets"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as f:
        f.write(make)
    return make


def load_privacy(settings: Settings) -> Privacy:
    spec = settings.pii_keys or _dev_secret(
        settings.home, "pii_keys", f"dev1:{base64.b64encode(secrets.token_bytes(32)).decode()}"
    )
    keys, active = _parse_keys(spec)
    pkey = settings.pseudonym_key or _dev_secret(
        settings.home, "pseudonym_key", base64.b64encode(secrets.token_bytes(32)).decode()
    )
    return Privacy(keys, active, base64.b64decode(pkey))
