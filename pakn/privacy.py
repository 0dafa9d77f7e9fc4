"""Personal data never travels in plain text: seal it (AES-256-GCM) and count senders by pseudonym.

* ``seal``/``unseal``: the sender's identity (name, identity number, phone, email, tax code) as one
  AES-GCM ciphertext; the key id travels with it so keys can rotate (every listed key decrypts,
  the first one encrypts). The case id is the associated data: a ciphertext moved to another case
  does not open.
* ``pseudonym``: HMAC-SHA256 of the normalised identity number, so the pipeline can count and
  match a sender (repeats, abuse limits) without knowing who it is.
* **Envelope encryption** (crypto-shredding): each sender has data keys of their own
  (``SenderKey``: 32 random bytes wrapped with a master key, AES-GCM, associated data = the
  pseudonym and the key's ref). Sealed records carry the data key's ref (``sk.<hex>``) as
  ``key_id``; destroying every data key of a sender (a tombstone on the compacted topic
  ``privacy.sender-keys``, pakn/sender_keys.py) makes every copy of their sealed identity, on
  every append-only topic, unreadable for good — while the pseudonym, and every figure counted
  by it, stays. Records sealed directly with a master key (before data keys) still open.
  ``SenderKeyring`` is the in-memory view of that topic. docs/privacy.md is the reader's version.

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
import time
from collections.abc import Callable
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


SENDER_KEY_PREFIX = "sk."  # refs of sender data keys; any other key id names a master key


class Erased(Exception):
    """The data key that sealed this record was destroyed (the sender's data was erased)."""


class UnknownMasterKey(Exception):
    """A record or data key wrapped with a master key no longer configured (PAKN_PII_KEYS)."""


@dataclass(frozen=True)
class SenderKey:
    """One data key of one sender, wrapped with a master key; the value on ``sender-keys``."""

    pseudonym: str
    key_ref: str
    master_key_id: str
    nonce: bytes
    wrapped: bytes
    created_at: int  # ms since the epoch

    @property
    def topic_key(self) -> str:
        return f"{self.pseudonym}/{self.key_ref}"

    def as_record(self) -> dict[str, Any]:
        return {
            "pseudonym": self.pseudonym,
            "key_ref": self.key_ref,
            "master_key_id": self.master_key_id,
            "nonce": self.nonce,
            "wrapped": self.wrapped,
            "created_at": self.created_at,
        }

    @classmethod
    def from_record(cls, r: dict[str, Any]) -> SenderKey:
        created = r["created_at"]
        if not isinstance(created, int):  # fastavro reads timestamp-millis as a datetime
            created = int(created.timestamp() * 1000)
        return cls(
            r["pseudonym"], r["key_ref"], r["master_key_id"], r["nonce"], r["wrapped"], created
        )


def sender_of(topic_key: str) -> str:
    """The pseudonym part of a ``sender-keys`` message key (``<pseudonym>/<key ref>``)."""
    return topic_key.partition("/")[0]


class SenderKeyring:
    """The live data keys, by ref and by sender: what the ``sender-keys`` topic says now.

    ``apply`` takes each message in order (``None`` value = a tombstone: that key is gone).
    """

    def __init__(self) -> None:
        self._by_ref: dict[str, SenderKey] = {}
        self._by_sender: dict[str, dict[str, SenderKey]] = {}

    def apply(self, topic_key: str, key: SenderKey | None) -> None:
        pseudonym, _, ref = topic_key.partition("/")
        if key is None:
            self._by_ref.pop(ref, None)
            keys = self._by_sender.get(pseudonym, {})
            keys.pop(ref, None)
            if not keys:
                self._by_sender.pop(pseudonym, None)
            return
        self._by_ref[key.key_ref] = key
        self._by_sender.setdefault(key.pseudonym, {})[key.key_ref] = key

    def get(self, ref: str) -> SenderKey | None:
        return self._by_ref.get(ref)

    def of_sender(self, pseudonym: str) -> list[SenderKey]:
        return sorted(self._by_sender.get(pseudonym, {}).values(), key=lambda k: k.created_at)

    def current(self, pseudonym: str) -> SenderKey | None:
        """The newest data key of the sender (what new submissions are sealed with)."""
        keys = self.of_sender(pseudonym)
        return keys[-1] if keys else None

    def all(self) -> list[SenderKey]:
        return list(self._by_ref.values())

    def __len__(self) -> int:
        return len(self._by_ref)


def _wrap_aad(pseudonym: str, ref: str) -> bytes:
    return f"pakn-sender-key/{pseudonym}/{ref}".encode()


class Privacy:
    def __init__(self, keys: dict[str, bytes], active_key_id: str, pseudonym_key: bytes) -> None:
        if active_key_id not in keys:
            raise ValueError(f"active key {active_key_id!r} is not among the keys")
        if any(k.startswith(SENDER_KEY_PREFIX) for k in keys):
            raise ValueError(f"a master key id may not start with {SENDER_KEY_PREFIX!r}")
        self._aead = {kid: AESGCM(key) for kid, key in keys.items()}
        self._active = active_key_id
        self._pseudonym_key = pseudonym_key

    @property
    def active_key_id(self) -> str:
        return self._active

    # --- data keys (envelope encryption) -------------------------------------------------
    def new_sender_key(self, pseudonym: str, now_ms: int | None = None) -> SenderKey:
        """A fresh random data key for the sender, wrapped with the active master key."""
        ref = SENDER_KEY_PREFIX + secrets.token_hex(16)
        nonce = os.urandom(12)
        wrapped = self._aead[self._active].encrypt(
            nonce, secrets.token_bytes(32), _wrap_aad(pseudonym, ref)
        )
        at = int(time.time() * 1000) if now_ms is None else now_ms
        return SenderKey(pseudonym, ref, self._active, nonce, wrapped, at)

    def unwrap(self, key: SenderKey) -> bytes:
        aead = self._aead.get(key.master_key_id)
        if aead is None:
            raise UnknownMasterKey(key.master_key_id)
        return aead.decrypt(key.nonce, key.wrapped, _wrap_aad(key.pseudonym, key.key_ref))

    def rewrap(self, key: SenderKey) -> SenderKey:
        """The same data key wrapped with the active master key (to retire an old master)."""
        nonce = os.urandom(12)
        wrapped = self._aead[self._active].encrypt(
            nonce, self.unwrap(key), _wrap_aad(key.pseudonym, key.key_ref)
        )
        return SenderKey(key.pseudonym, key.key_ref, self._active, nonce, wrapped, key.created_at)

    # --- sealing ------------------------------------------------------------------------
    def seal(
        self, fields: dict[str, Any], case_id: str, data_key: SenderKey | None = None
    ) -> Sealed:
        """Seal with the sender's data key (shreddable), or with the active master key."""
        nonce = os.urandom(12)
        plain = json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()
        if data_key is None:
            kid, aead = self._active, self._aead[self._active]
        else:
            kid, aead = data_key.key_ref, AESGCM(self.unwrap(data_key))
        return Sealed(kid, nonce, aead.encrypt(nonce, plain, case_id.encode()))

    def unseal(
        self,
        sealed: dict[str, Any] | Sealed,
        case_id: str,
        data_keys: Callable[[str], SenderKey | None] | None = None,
    ) -> dict[str, Any]:
        """Open a sealed identity. ``data_keys(ref)`` finds a sender data key (None: destroyed,
        ``Erased``); records sealed with a master key open with that key."""
        s = sealed if isinstance(sealed, Sealed) else Sealed(**sealed)
        if s.key_id.startswith(SENDER_KEY_PREFIX):
            key = data_keys(s.key_id) if data_keys is not None else None
            if key is None:
                raise Erased(s.key_id)
            aead = AESGCM(self.unwrap(key))
        else:
            found = self._aead.get(s.key_id)
            if found is None:
                raise UnknownMasterKey(s.key_id)
            aead = found
        return json.loads(aead.decrypt(s.nonce, s.ciphertext, case_id.encode()))

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


def audit_record(
    action: str,
    *,
    actor_subject: str,
    actor_role: str,
    justification: str,
    outcome: str,
    case_id: str | None = None,
    pseudonym: str | None = None,
    detail: str = "",
    at_ms: int | None = None,
) -> dict[str, Any]:
    """A PrivacyAudit record (topic ``privacy.audit``): who did what to whose personal data."""
    import uuid

    return {
        "audit_id": str(uuid.uuid4()),
        "action": action,
        "at": int(time.time() * 1000) if at_ms is None else at_ms,
        "actor_subject": actor_subject,
        "actor_role": actor_role,
        "case_id": case_id,
        "pseudonym": pseudonym,
        "justification": justification,
        "outcome": outcome,
        "detail": detail,
    }
