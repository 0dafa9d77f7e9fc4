"""Personal data is sealed with a rotating key and counted by keyed pseudonym."""

from __future__ import annotations

import dataclasses

import pytest
from cryptography.exceptions import InvalidTag

from pakn.privacy import (
    SENDER_KEY_PREFIX,
    Erased,
    Privacy,
    SenderKey,
    SenderKeyring,
    UnknownMasterKey,
    sender_of,
)

K1, K2, P = b"1" * 32, b"2" * 32, b"p" * 32
IDENTITY = {"full_name": "Nguyễn Văn An", "id_number": "001203012345", "phone": "+84912345678"}


def test_sealed_identity_opens_only_for_its_case() -> None:
    priv = Privacy({"k1": K1}, "k1", P)
    sealed = priv.seal(IDENTITY, "case-a")
    assert b"001203012345" not in sealed.ciphertext
    assert priv.unseal(sealed, "case-a") == IDENTITY
    with pytest.raises(InvalidTag):
        priv.unseal(sealed, "case-b")


def test_key_rotation_keeps_old_data_readable() -> None:
    old = Privacy({"k1": K1}, "k1", P).seal(IDENTITY, "c")
    rotated = Privacy({"k2": K2, "k1": K1}, "k2", P)
    assert rotated.seal(IDENTITY, "c").key_id == "k2"
    assert rotated.unseal(old, "c") == IDENTITY


def test_pseudonym_is_stable_keyed_and_not_the_number() -> None:
    a = Privacy({"k1": K1}, "k1", P)
    b = Privacy({"k1": K1}, "k1", b"q" * 32)
    assert a.pseudonym("001203012345") == a.pseudonym(" 001203012345 ")
    assert a.pseudonym("001203012345") != b.pseudonym("001203012345")
    assert "001203012345" not in a.pseudonym("001203012345")


# --- envelope encryption: per-sender data keys, crypto-shredding ------------------------------
SENDER_A, SENDER_B = "a" * 64, "b" * 64


def _ring(*keys: object) -> SenderKeyring:
    ring = SenderKeyring()
    for k in keys:
        ring.apply(k.topic_key, k)  # type: ignore[attr-defined]
    return ring


def test_an_identity_sealed_with_the_senders_data_key_opens_while_the_key_lives() -> None:
    priv = Privacy({"k1": K1}, "k1", P)
    key = priv.new_sender_key(SENDER_A)
    assert key.key_ref.startswith(SENDER_KEY_PREFIX) and key.master_key_id == "k1"
    sealed = priv.seal(IDENTITY, "case-a", key)
    assert sealed.key_id == key.key_ref
    ring = _ring(key)
    assert priv.unseal(sealed.as_record(), "case-a", ring.get) == IDENTITY
    with pytest.raises(InvalidTag):  # the case id is still the associated data
        priv.unseal(sealed, "case-b", ring.get)


def test_destroying_a_senders_keys_erases_them_and_no_one_else() -> None:
    priv = Privacy({"k1": K1}, "k1", P)
    a1, a2, b = (
        priv.new_sender_key(SENDER_A, 1),
        priv.new_sender_key(SENDER_A, 2),
        priv.new_sender_key(SENDER_B),
    )
    ring = _ring(a1, a2, b)
    sealed_a = [priv.seal(IDENTITY, f"case-{i}", k) for i, k in enumerate((a1, a2))]
    sealed_b = priv.seal(IDENTITY, "case-b", b)
    assert ring.current(SENDER_A) == a2 and len(ring.of_sender(SENDER_A)) == 2
    for k in ring.of_sender(SENDER_A):  # what `pakn privacy erase` produces: tombstones
        ring.apply(k.topic_key, None)
    for i, s in enumerate(sealed_a):
        with pytest.raises(Erased):
            priv.unseal(s, f"case-{i}", ring.get)
    assert priv.unseal(sealed_b, "case-b", ring.get) == IDENTITY
    assert ring.current(SENDER_A) is None and sender_of(b.topic_key) == SENDER_B


def test_a_data_key_is_bound_to_its_sender_and_ref() -> None:
    priv = Privacy({"k1": K1}, "k1", P)
    key = priv.new_sender_key(SENDER_A)
    moved = dataclasses.replace(key, pseudonym=SENDER_B)
    with pytest.raises(InvalidTag):
        priv.unwrap(moved)


def test_master_key_rotation_keeps_old_data_keys_and_old_records_open() -> None:
    old = Privacy({"k1": K1}, "k1", P)
    key = old.new_sender_key(SENDER_A)
    sealed_with_data_key = old.seal(IDENTITY, "c1", key)
    sealed_with_master = old.seal(IDENTITY, "c2")  # records from before data keys
    rotated = Privacy({"k2": K2, "k1": K1}, "k2", P)
    assert rotated.new_sender_key(SENDER_B).master_key_id == "k2"
    ring = _ring(key)
    assert rotated.unseal(sealed_with_data_key, "c1", ring.get) == IDENTITY
    assert rotated.unseal(sealed_with_master, "c2", ring.get) == IDENTITY
    # rewrap, then the old master key can go
    rewrapped = rotated.rewrap(key)
    assert rewrapped.master_key_id == "k2" and rewrapped.key_ref == key.key_ref
    retired = Privacy({"k2": K2}, "k2", P)
    assert retired.unseal(sealed_with_data_key, "c1", _ring(rewrapped).get) == IDENTITY
    with pytest.raises(UnknownMasterKey):
        retired.unwrap(key)


def test_a_sender_key_survives_its_avro_round_trip() -> None:
    from schemas.codec import get_codec

    key = Privacy({"k1": K1}, "k1", P).new_sender_key(SENDER_A)
    codec = get_codec()
    name, record = codec.decode(codec.encode("SenderKey", key.as_record()))
    assert name == "SenderKey" and SenderKey.from_record(record) == key


def test_a_master_key_id_cannot_look_like_a_data_key() -> None:
    with pytest.raises(ValueError):
        Privacy({"sk.1": K1}, "sk.1", P)
