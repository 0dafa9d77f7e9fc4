"""Personal data is sealed with a rotating key and counted by keyed pseudonym."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidTag

from pakn.privacy import Privacy

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
