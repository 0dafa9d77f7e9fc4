"""`pakn privacy`: the operator's actions on senders' personal data (docs/privacy.md).

* ``erase`` — crypto-shredding: destroy every data key of one sender (tombstones on
  ``privacy.sender-keys``), so every copy of their sealed identity on every topic is unreadable
  for good; the pseudonym, and every figure counted by it, stays. Audited on ``privacy.audit``.
* ``rewrap`` — wrap every data key still under an old master key with the first one of
  ``PAKN_PII_KEYS``, so the old master key can be retired.
"""

from __future__ import annotations

import json
import os
from typing import Any

import click

from pakn.settings import Settings, get_settings

OPERATOR = "operator"


def _producer(settings: Settings) -> Any:
    from confluent_kafka import Producer

    from gateway.publisher import producer_config

    # Same partitioner as the gateway (murmur2): a tombstone must land on its key's partition.
    return Producer(producer_config(settings.kafka_bootstrap))


def _send_all(producer: Any, messages: list[tuple[str, bytes, bytes | None]]) -> None:
    errors: list[str] = []

    def delivered(err: Any, _msg: Any) -> None:
        if err is not None:
            errors.append(str(err))

    for topic, key, value in messages:
        producer.produce(topic, key=key, value=value, on_delivery=delivered)
    left = producer.flush(30)
    if left or errors:
        raise click.ClickException(f"Kafka did not confirm every write: {errors or left}")


def pseudonym_of_case(settings: Settings, case_id: str) -> str | None:
    from sinks.connection import clickhouse

    client = clickhouse(settings)
    try:
        rows = client.execute(
            f"SELECT sender_pseudonym FROM {settings.clickhouse_database}.cases FINAL "
            "WHERE case_id = toUUID(%(id)s)",
            {"id": case_id},
        )
    finally:
        client.disconnect()
    return rows[0][0] if rows else None


def erase_sender(
    settings: Settings, pseudonym: str, *, actor: str, reason: str, case_id: str | None = None
) -> dict[str, Any]:
    """Destroy every data key of the sender and audit it; returns what was done."""
    from pakn.privacy import audit_record
    from pakn.sender_keys import load_keyring
    from pakn.topics import PRIVACY_AUDIT, SENDER_KEYS
    from schemas.codec import get_codec

    keys = load_keyring(settings).of_sender(pseudonym)
    topic = SENDER_KEYS.name(settings)
    record = audit_record(
        "erase",
        actor_subject=actor,
        actor_role=OPERATOR,
        justification=reason,
        outcome="shredded" if keys else "nothing_to_shred",
        case_id=case_id,
        pseudonym=pseudonym,
        detail=f"{len(keys)} data key(s) destroyed",
    )
    messages: list[tuple[str, bytes, bytes | None]] = [
        (topic, k.topic_key.encode(), None) for k in keys
    ]
    messages.append(
        (
            PRIVACY_AUDIT.name(settings),
            (case_id or pseudonym).encode(),
            get_codec().encode("PrivacyAudit", record),
        )
    )
    _send_all(_producer(settings), messages)
    return {
        "pseudonym": pseudonym,
        "keys_destroyed": len(keys),
        "audit_id": record["audit_id"],
        "outcome": record["outcome"],
    }


@click.group("privacy")
def privacy() -> None:
    """Senders' personal data: erasure (crypto-shredding) and master-key rotation."""


@privacy.command("erase")
@click.option("--pseudonym", default=None, help="The sender's pseudonym (64 hex).")
@click.option("--case-id", default=None, help="A case of the sender (erases the whole sender).")
@click.option(
    "--identity",
    default=None,
    metavar="CCCD|MST",
    help="The sender's identity number or tax code (the pseudonym is computed).",
)
@click.option("--reason", required=True, help="The erasure request (reference, date).")
@click.option("--actor", default=None, help="Who runs it (default: $USER).")
def erase(
    pseudonym: str | None,
    case_id: str | None,
    identity: str | None,
    reason: str,
    actor: str | None,
) -> None:
    """Erase a sender's personal data: destroy their data keys (audited).

    Every sealed identity of the sender, on every topic and in every copy, can no longer be
    opened; re-identification answers 410 identity_erased. Pseudonym-based figures are untouched.
    """
    settings = get_settings()
    if sum(x is not None for x in (pseudonym, case_id, identity)) != 1:
        raise click.UsageError("give exactly one of --pseudonym, --case-id, --identity")
    if len(reason.strip()) < 10:
        raise click.UsageError("--reason needs at least 10 characters (the request, its date)")
    if identity is not None:
        from pakn.privacy import load_privacy

        pseudonym = load_privacy(settings).pseudonym(identity)
    elif case_id is not None:
        pseudonym = pseudonym_of_case(settings, case_id)
        if not pseudonym:
            raise click.ClickException(f"no case {case_id} in the warehouse")
    assert pseudonym is not None
    done = erase_sender(
        settings,
        pseudonym,
        actor=actor or os.environ.get("USER", "operator"),
        reason=reason.strip(),
        case_id=case_id,
    )
    click.echo(json.dumps(done))


@privacy.command("rewrap")
def rewrap() -> None:
    """Wrap every data key under the first key of PAKN_PII_KEYS (then retire the old ones)."""
    from pakn.privacy import load_privacy
    from pakn.sender_keys import load_keyring
    from pakn.topics import SENDER_KEYS
    from schemas.codec import get_codec

    settings = get_settings()
    priv = load_privacy(settings)
    ring = load_keyring(settings)
    topic = SENDER_KEYS.name(settings)
    old = [k for k in ring.all() if k.master_key_id != priv.active_key_id]
    codec = get_codec()
    _send_all(
        _producer(settings),
        [
            (topic, k.topic_key.encode(), codec.encode("SenderKey", priv.rewrap(k).as_record()))
            for k in old
        ],
    )
    click.echo(json.dumps({"rewrapped": len(old), "master_key_id": priv.active_key_id}))
