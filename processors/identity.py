"""Checks of a sender's identity (domain.md §3, §7). Each failure raises a stable code.

- ``id_number``: the citizen identity number (CCCD, số định danh cá nhân): 12 digits =
  3-digit province code of birth registration + 1 century/gender digit + 2 digits of birth year +
  6 random digits. The province must be one of the 63 pre-2025 codes (``CCCD_PROVINCES``); the
  birth year must not lie in the future, the holder must be at most ``MAX_AGE`` years old and at
  least ``MIN_AGE``.
- ``mobile_phone``: a Vietnamese mobile number (``phonenumbers``, region VN, type mobile).
- ``email``: the address form (local part, domain labels, top-level domain).
- ``tax_code``: an organisation's tax code (mã số thuế): 10 digits with a check digit, or 13
  characters ``NNNNNNNNNN-BBB`` for a dependent unit (branch) of that organisation.

Codes are the keys of ``gateway.http.errors.FIELD_MESSAGES`` (Vietnamese and English message each);
``docs/integrity.md`` lists them with the rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import phonenumbers

# --- CCCD -----------------------------------------------------------------------------------------
# Province (of birth registration) codes printed in the CCCD number: "0" + the 2-digit statistics
# office code of the 63 provinces that existed before the 2025 merger (Circular 59/2021/TT-BCA,
# appendix; the same list as Circular 07/2016/TT-BCA). Numbers already issued keep these codes
# after the merger, and the 34 post-merger provinces each kept one of these codes, so this set
# covers both.
CCCD_PROVINCES: dict[str, str] = {
    "001": "Hà Nội",
    "002": "Hà Giang",
    "004": "Cao Bằng",
    "006": "Bắc Kạn",
    "008": "Tuyên Quang",
    "010": "Lào Cai",
    "011": "Điện Biên",
    "012": "Lai Châu",
    "014": "Sơn La",
    "015": "Yên Bái",
    "017": "Hòa Bình",
    "019": "Thái Nguyên",
    "020": "Lạng Sơn",
    "022": "Quảng Ninh",
    "024": "Bắc Giang",
    "025": "Phú Thọ",
    "026": "Vĩnh Phúc",
    "027": "Bắc Ninh",
    "030": "Hải Dương",
    "031": "Hải Phòng",
    "033": "Hưng Yên",
    "034": "Thái Bình",
    "035": "Hà Nam",
    "036": "Nam Định",
    "037": "Ninh Bình",
    "038": "Thanh Hóa",
    "040": "Nghệ An",
    "042": "Hà Tĩnh",
    "044": "Quảng Bình",
    "045": "Quảng Trị",
    "046": "Thừa Thiên Huế",
    "048": "Đà Nẵng",
    "049": "Quảng Nam",
    "051": "Quảng Ngãi",
    "052": "Bình Định",
    "054": "Phú Yên",
    "056": "Khánh Hòa",
    "058": "Ninh Thuận",
    "060": "Bình Thuận",
    "062": "Kon Tum",
    "064": "Gia Lai",
    "066": "Đắk Lắk",
    "067": "Đắk Nông",
    "068": "Lâm Đồng",
    "070": "Bình Phước",
    "072": "Tây Ninh",
    "074": "Bình Dương",
    "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu",
    "079": "Hồ Chí Minh",
    "080": "Long An",
    "082": "Tiền Giang",
    "083": "Bến Tre",
    "084": "Trà Vinh",
    "086": "Vĩnh Long",
    "087": "Đồng Tháp",
    "089": "An Giang",
    "091": "Kiên Giang",
    "092": "Cần Thơ",
    "093": "Hậu Giang",
    "094": "Sóc Trăng",
    "095": "Bạc Liêu",
    "096": "Cà Mau",
}

# The 4th digit: (first year of the century, gender). 0/1 1900s, 2/3 2000s, 4/5 2100s,
# 6/7 2200s, 8/9 1800s; even = male, odd = female.
CENTURY_GENDER: dict[str, tuple[int, str]] = {
    "0": (1900, "male"),
    "1": (1900, "female"),
    "2": (2000, "male"),
    "3": (2000, "female"),
    "4": (2100, "male"),
    "5": (2100, "female"),
    "6": (2200, "male"),
    "7": (2200, "female"),
    "8": (1800, "male"),
    "9": (1800, "female"),
}

# Minimum age of a sender (choice, see docs/integrity.md): the Identity Law 2023 (Luật Căn cước,
# 26/2023/QH15, Art. 19) makes the identity card compulsory from 14; younger citizens may hold one
# on request but a submission carries the sender's legal responsibility (domain.md §3), so 14 is
# the default. Both bounds are parameters of ``id_number``.
MIN_AGE = 14
MAX_AGE = 120


class IdentityError(ValueError):
    def __init__(self, code: str, detail: str | None = None) -> None:
        super().__init__(code if detail is None else f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True, slots=True)
class CccdInfo:
    number: str
    province_code: str
    province: str
    gender: str  # "male" | "female"
    birth_year: int


def parse_id_number(
    value: str,
    *,
    today: date | None = None,
    min_age: int = MIN_AGE,
    max_age: int = MAX_AGE,
) -> CccdInfo:
    """What a CCCD number says, or ``IdentityError`` with the first rule it breaks.

    Only the birth year is known, so an age bound fails only when it fails for every birthday in
    that year: under age when ``this_year - birth_year < min_age``; too old when even a holder
    born on 31 December would be older than ``max_age`` (``this_year - birth_year - 1 > max_age``).
    """
    v = value.strip()
    if len(v) != 12 or not v.isascii() or not v.isdigit():
        raise IdentityError("invalid_id_number")
    province_code = v[:3]
    province = CCCD_PROVINCES.get(province_code)
    if province is None:
        raise IdentityError("id_number_unknown_province", province_code)
    century, gender = CENTURY_GENDER[v[3]]
    birth_year = century + int(v[4:6])
    this_year = (today or date.today()).year
    if birth_year > this_year:
        raise IdentityError("id_number_birth_year_in_future", str(birth_year))
    if this_year - birth_year - 1 > max_age:
        raise IdentityError("id_number_implausible_birth_year", str(birth_year))
    if this_year - birth_year < min_age:
        raise IdentityError("id_number_under_minimum_age", str(birth_year))
    return CccdInfo(v, province_code, province, gender, birth_year)


def id_number(
    value: str,
    *,
    today: date | None = None,
    min_age: int = MIN_AGE,
    max_age: int = MAX_AGE,
) -> str:
    """Citizen identity number (CCCD), checked as ``parse_id_number``; returns the 12 digits."""
    return parse_id_number(value, today=today, min_age=min_age, max_age=max_age).number


# --- phone ----------------------------------------------------------------------------------------
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


# --- email ----------------------------------------------------------------------------------------
# Local part: RFC 5322 dot-atom (no quoted strings): atoms of these characters, single dots.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LOCAL = re.compile(rf"^{_ATOM}(\.{_ATOM})*$")
# Domain label (RFC 1035/1123): letters, digits, hyphens; 1-63 characters; no hyphen at either end.
_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
# Top-level domain: letters only (2-63), or an IDN TLD in its ASCII form (xn--...).
_TLD = re.compile(r"^([A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$")


def email(value: str) -> str:
    """An email address ``local@domain``; returns it with the domain in lower case.

    Codes: ``invalid_email`` (not one ``@`` between two non-empty parts, or longer than 254),
    ``email_invalid_local_part`` (over 64 characters, or not a dot-atom),
    ``email_invalid_domain`` (under two labels, a label empty, over 63 characters, with a character
    other than a letter, digit or inner hyphen, or the domain over 253 characters),
    ``email_invalid_tld`` (the last label not 2+ letters nor ``xn--``).
    """
    v = value.strip()
    if len(v) > 254 or v.count("@") != 1:
        raise IdentityError("invalid_email")
    local, _, domain = v.partition("@")
    if not local or not domain:
        raise IdentityError("invalid_email")
    if len(local) > 64 or not _LOCAL.match(local):
        raise IdentityError("email_invalid_local_part")
    labels = domain.split(".")
    if (
        len(domain) > 253
        or len(labels) < 2
        or not all(_LABEL.match(label) for label in labels[:-1])
    ):
        raise IdentityError("email_invalid_domain")
    if not _TLD.match(labels[-1]):
        raise IdentityError("email_invalid_tld")
    return f"{local}@{domain.lower()}"


# --- tax code -------------------------------------------------------------------------------------
_TAX = re.compile(r"^(\d{10})(?:-(\d{3}))?$")
# The tax-registration rules (Circular 105/2020/TT-BTC) give the structure N1N2 (tax-office area)
# N3..N9 (serial, 0000001-9999999) N10 (check digit) [- N11N12N13 dependent unit, 001-999]. The
# check digit is the one every validator uses (e.g. python-stdnum's ``stdnum.vn.mst``): weights
# below over N1..N9, check = 10 - (sum mod 11); a remainder of 0 would give 10, which no issued
# code can carry. Verified on real codes in tests/unit/test_identity.py.
TAX_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)


def tax_check_digit(first_nine: str) -> int | None:
    """The check digit of a tax code's first nine digits, or None when none exists (remainder 0)."""
    total = sum(w * int(d) for w, d in zip(TAX_WEIGHTS, first_nine, strict=True))
    check = 10 - total % 11
    return None if check == 10 else check


def tax_code(value: str) -> str:
    """Organisation tax code: ``NNNNNNNNNC`` or ``NNNNNNNNNC-BBB``.

    Codes: ``invalid_tax_code`` (not that form), ``tax_code_invalid_serial`` (serial N3..N9 is
    0000000), ``tax_code_bad_check_digit`` (the 10th digit is not the check digit of the first
    nine), ``tax_code_invalid_branch`` (dependent-unit suffix 000).
    """
    v = value.strip()
    m = _TAX.match(v)
    if not m or not v.isascii():
        raise IdentityError("invalid_tax_code")
    main, branch = m.group(1), m.group(2)
    if main[2:9] == "0000000":
        raise IdentityError("tax_code_invalid_serial")
    if tax_check_digit(main[:9]) != int(main[9]):
        raise IdentityError("tax_code_bad_check_digit")
    if branch == "000":
        raise IdentityError("tax_code_invalid_branch")
    return v
