"""Form checks of a sender's identity (domain.md §3, §7). Each failure names a stable code.

Deeper checks (province code, century/birth-year plausibility, tax-code check digit) belong to the
submission-integrity work; these are the forms every submission must have.
"""

from __future__ import annotations

import re

import phonenumbers

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_TAX = re.compile(r"^\d{10}(-\d{3})?$")


class IdentityError(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def id_number(value: str) -> str:
    """Citizen identity number (CCCD): exactly 12 digits."""
    v = value.strip()
    if len(v) != 12 or not v.isdigit():
        raise IdentityError("invalid_id_number")
    return v


def mobile_phone(value: str) -> str:
    """A Vietnamese mobile number, returned in E.164 (+84...)."""
    try:
        n = phonenumbers.parse(value, "VN")
    except phonenumbers.NumberParseException as exc:
        raise IdentityError("invalid_phone") from exc
    if (
        n.country_code != 84
        or not phonenumbers.is_valid_number(n)
        or phonenumbers.number_type(n) != phonenumbers.PhoneNumberType.MOBILE
    ):
        raise IdentityError("invalid_phone")
    return phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)


def email(value: str) -> str:
    v = value.strip()
    if len(v) > 254 or not _EMAIL.match(v):
        raise IdentityError("invalid_email")
    local, _, domain = v.rpartition("@")
    return f"{local}@{domain.lower()}"


def tax_code(value: str) -> str:
    v = value.strip()
    if not _TAX.match(v):
        raise IdentityError("invalid_tax_code")
    return v
