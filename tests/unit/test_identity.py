"""Identity checks (processors/identity.py): CCCD, mobile phone, email, tax code."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.http.errors import FIELD_MESSAGES
from processors import identity
from processors.identity import (
    CCCD_PROVINCES,
    IdentityError,
    email,
    id_number,
    mobile_phone,
    parse_id_number,
    tax_check_digit,
    tax_code,
)

TODAY = date(2026, 2, 13)


def code_of(fn, value: str, **kw) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(IdentityError) as err:
        fn(value, **kw)
    return err.value.code


# --- CCCD -----------------------------------------------------------------------------------------
def test_province_list_is_the_63_pre_2025_provinces() -> None:
    assert len(CCCD_PROVINCES) == 63
    assert CCCD_PROVINCES["001"] == "Hà Nội" and CCCD_PROVINCES["079"] == "Hồ Chí Minh"
    assert CCCD_PROVINCES["096"] == "Cà Mau" and CCCD_PROVINCES["031"] == "Hải Phòng"
    assert all(len(c) == 3 and c.startswith("0") for c in CCCD_PROVINCES)
    assert len(set(CCCD_PROVINCES.values())) == 63


def test_a_cccd_number_reads_as_province_gender_and_birth_year() -> None:
    info = parse_id_number(" 001203012345 ", today=TODAY)
    assert (info.number, info.province, info.gender, info.birth_year) == (
        "001203012345",
        "Hà Nội",
        "male",
        2003,
    )
    assert parse_id_number("079190001234", today=TODAY).gender == "female"
    assert parse_id_number("079190001234", today=TODAY).birth_year == 1990
    assert id_number("001090001234", today=TODAY) == "001090001234"


@pytest.mark.parametrize(
    ("digit", "year", "gender"),
    [("0", 1985, "male"), ("1", 1985, "female"), ("2", 2005, "male"), ("3", 2005, "female")],
)
def test_century_and_gender_digit(digit: str, year: int, gender: str) -> None:
    info = parse_id_number(f"001{digit}{year % 100:02d}000001", today=TODAY)
    assert (info.birth_year, info.gender) == (year, gender)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("12345", "invalid_id_number"),
        ("00120301234X", "invalid_id_number"),
        ("0012030123456", "invalid_id_number"),
        ("００１２０３０１２３４５", "invalid_id_number"),  # full-width digits
        ("003203012345", "id_number_unknown_province"),  # 003 is not a province code
        ("000203012345", "id_number_unknown_province"),
        ("097203012345", "id_number_unknown_province"),
        ("099203012345", "id_number_unknown_province"),
        ("001230012345", "id_number_birth_year_in_future"),  # born 2030
        ("001427012345", "id_number_birth_year_in_future"),  # 2100s
        ("001627012345", "id_number_birth_year_in_future"),  # 2200s
        ("001890012345", "id_number_implausible_birth_year"),  # 1890: 135 years old
        ("001990012345", "id_number_implausible_birth_year"),  # 1800s, female
        ("001003012345", "id_number_implausible_birth_year"),  # 1903: 122-123 years old
        ("001215012345", "id_number_under_minimum_age"),  # born 2015
        ("001313012345", "id_number_under_minimum_age"),  # born 2013: at most 13 in 2026
    ],
)
def test_cccd_failures_have_distinct_codes(value: str, code: str) -> None:
    assert code_of(id_number, value, today=TODAY) == code


def test_age_bounds_only_fail_when_no_birthday_in_that_year_fits() -> None:
    assert id_number("001212012345", today=TODAY)  # born 2012: 14 by the end of 2026
    assert id_number("001005012345", today=TODAY)  # born 1905: 120 until their 2026 birthday
    assert code_of(id_number, "001004012345", today=TODAY) == "id_number_implausible_birth_year"
    assert id_number("001215012345", today=TODAY, min_age=0)  # the minimum is a parameter
    assert code_of(id_number, "001090012345", today=TODAY, max_age=30) == (
        "id_number_implausible_birth_year"
    )


def test_the_default_day_is_today() -> None:
    assert id_number("001203012345") == "001203012345"


@given(
    st.sampled_from(sorted(CCCD_PROVINCES)),
    st.integers(1906, 2012),
    st.booleans(),
    st.integers(0, 999_999),
)
def test_every_plausible_number_is_accepted_and_read_back(
    province: str, year: int, female: bool, serial: int
) -> None:
    digit = str((year // 100 - 19) % 10 * 2 + int(female))
    value = f"{province}{digit}{year % 100:02d}{serial:06d}"
    info = parse_id_number(value, today=TODAY)
    assert (info.province_code, info.birth_year) == (province, year)
    assert info.gender == ("female" if female else "male")


@given(st.text(max_size=14))
def test_any_text_is_accepted_or_refused_with_a_known_code(value: str) -> None:
    try:
        assert len(id_number(value, today=TODAY)) == 12
    except IdentityError as exc:
        assert exc.code in FIELD_MESSAGES


# --- phone ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "e164"),
    [
        ("0912345678", "+84912345678"),
        ("+84912345678", "+84912345678"),
        ("84 912 345 678", "+84912345678"),
        ("0987.654.321", "+84987654321"),
        ("0356789012", "+84356789012"),  # Viettel 03x
        ("0701234567", "+84701234567"),  # MobiFone 07x
        ("0812345678", "+84812345678"),  # VinaPhone 08x
        ("0921234567", "+84921234567"),  # Vietnamobile 092
    ],
)
def test_vietnamese_mobiles_are_normalised(value: str, e164: str) -> None:
    assert mobile_phone(value) == e164


@pytest.mark.parametrize(
    "value",
    ["0241234567", "02439421234", "+14155550100", "091234567", "09123456789", "hello", "", "112"],
)
def test_landlines_foreign_and_malformed_numbers_are_refused(value: str) -> None:
    assert code_of(mobile_phone, value) == "invalid_phone"


# --- email ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("an.nguyen@example.vn", "an.nguyen@example.vn"),
        ("An.Nguyen+pakn@Mail.Hanoi.GOV.VN", "An.Nguyen+pakn@mail.hanoi.gov.vn"),
        ("x@sub-domain.example.com.vn", "x@sub-domain.example.com.vn"),
        ("o'brien@example.org", "o'brien@example.org"),
        ("a@xn--hni-q6a.vn", "a@xn--hni-q6a.vn"),  # IDN label in its ASCII form
        ("a@example.xn--p1ai", "a@example.xn--p1ai"),  # IDN top-level domain
    ],
)
def test_valid_emails(value: str, normalised: str) -> None:
    assert email(value) == normalised


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("an@", "invalid_email"),
        ("@example.vn", "invalid_email"),
        ("an.example.vn", "invalid_email"),
        ("a@b@example.vn", "invalid_email"),
        ("a" * 250 + "@example.vn", "invalid_email"),
        (".an@example.vn", "email_invalid_local_part"),
        ("an.@example.vn", "email_invalid_local_part"),
        ("a..n@example.vn", "email_invalid_local_part"),
        ("an nguyen@example.vn", "email_invalid_local_part"),
        ("nguyễn@example.vn", "email_invalid_local_part"),
        ("a" * 65 + "@example.vn", "email_invalid_local_part"),
        ("an@localhost", "email_invalid_domain"),
        ("an@-example.vn", "email_invalid_domain"),
        ("an@example-.vn", "email_invalid_domain"),
        ("an@exa_mple.vn", "email_invalid_domain"),
        ("an@example..vn", "email_invalid_domain"),
        ("an@" + "a" * 64 + ".vn", "email_invalid_domain"),
        ("an@hànội.vn", "email_invalid_domain"),
        ("an@example.v", "email_invalid_tld"),
        ("an@example.123", "email_invalid_tld"),
        ("an@example.", "email_invalid_tld"),
        ("an@example.c0m", "email_invalid_tld"),
    ],
)
def test_invalid_emails_name_the_rule(value: str, code: str) -> None:
    assert code_of(email, value) == code


# --- tax code -------------------------------------------------------------------------------------
# Real organisations' tax codes (public registration data).
REAL_TAX_CODES = {
    "0100109106": "Viettel (Tập đoàn Công nghiệp - Viễn thông Quân đội)",
    "0100112437": "Vietcombank (Ngân hàng TMCP Ngoại thương Việt Nam)",
    "0100100079": "EVN (Tập đoàn Điện lực Việt Nam)",
    "0100107370": "Petrolimex (Tập đoàn Xăng dầu Việt Nam)",
    "0101248141": "FPT (Công ty Cổ phần FPT)",
    "0300588569": "Vinamilk (Công ty Cổ phần Sữa Việt Nam)",
    "0101245486": "Vingroup (Tập đoàn Vingroup)",
    "0100233488": "python-stdnum's example",
    "0314409058": "python-stdnum's example",
}


@pytest.mark.parametrize("value", sorted(REAL_TAX_CODES))
def test_real_tax_codes_pass_the_check_digit(value: str) -> None:
    assert tax_code(value) == value
    assert tax_code(f"{value}-001") == f"{value}-001"


def test_check_digit_rule() -> None:
    # 0100109106: 1*29 + 1*17 + 9*7 + 1*5 = 114; 114 mod 11 = 4; 10 - 4 = 6
    assert tax_check_digit("010010910") == 6
    # Petrolimex: remainder 10 gives check digit 0
    assert tax_check_digit("010010737") == 0
    # remainder 0 would need a check digit of 10: no valid code starts with these nine digits
    assert tax_check_digit("000000000") is None
    assert identity.TAX_WEIGHTS == (31, 29, 23, 19, 17, 13, 7, 5, 3)


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("0101234567", "tax_code_bad_check_digit"),  # the gateway's old example
        ("0100109107", "tax_code_bad_check_digit"),
        ("0100112430", "tax_code_bad_check_digit"),
        ("0100109106-000", "tax_code_invalid_branch"),
        ("0100000000", "tax_code_invalid_serial"),
        ("010010910", "invalid_tax_code"),
        ("01001091066", "invalid_tax_code"),
        ("0100109106-01", "invalid_tax_code"),
        ("0100109106001", "invalid_tax_code"),
        ("0100109106 001", "invalid_tax_code"),
        ("01001O9106", "invalid_tax_code"),
        ("０１００１０９１０６", "invalid_tax_code"),
    ],
)
def test_tax_code_failures_name_the_rule(value: str, code: str) -> None:
    assert code_of(tax_code, value) == code


@given(st.from_regex(r"\A[0-9]{9}\Z"))
def test_exactly_one_check_digit_fits_or_none(first_nine: str) -> None:
    fits = []
    for d in range(10):
        try:
            tax_code(first_nine + str(d))
            fits.append(d)
        except IdentityError as exc:
            assert exc.code in ("tax_code_bad_check_digit", "tax_code_invalid_serial")
    check = tax_check_digit(first_nine)
    assert fits == ([] if check is None or first_nine[2:] == "0000000" else [check])


# --- every code has its messages ------------------------------------------------------------------
def test_every_identity_code_has_vietnamese_and_english_messages() -> None:
    codes = {
        "invalid_id_number",
        "id_number_unknown_province",
        "id_number_birth_year_in_future",
        "id_number_implausible_birth_year",
        "id_number_under_minimum_age",
        "invalid_phone",
        "invalid_email",
        "email_invalid_local_part",
        "email_invalid_domain",
        "email_invalid_tld",
        "invalid_tax_code",
        "tax_code_bad_check_digit",
        "tax_code_invalid_serial",
        "tax_code_invalid_branch",
    }
    for c in codes:
        assert (
            FIELD_MESSAGES[c].vi
            and FIELD_MESSAGES[c].en
            and FIELD_MESSAGES[c].vi != (FIELD_MESSAGES[c].en)
        )
