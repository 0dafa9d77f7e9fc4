"""What the gateway refuses, with which stable code (domain.md §3 identity rules)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from gateway.http.errors import ERRORS, FIELD_MESSAGES
from gateway.models import FieldFeedbackIn, field_errors
from tests.factories import feedback


def codes(body: dict) -> dict[str, str]:
    with pytest.raises(ValidationError) as err:
        FieldFeedbackIn.model_validate(body)
    return {e.field: e.code for e in field_errors(err.value)}


def test_valid_submission_normalises_phone_to_e164() -> None:
    sub = FieldFeedbackIn.model_validate(feedback(3))
    assert sub.sender.phone == "+84910000003"


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("id_number", "12345", "invalid_id_number"),
        ("id_number", "00120301234X", "invalid_id_number"),
        ("phone", "0241234567", "invalid_phone"),  # a Hanoi landline, not a mobile
        ("phone", "+14155550100", "invalid_phone"),
        ("email", "an@", "invalid_email"),
    ],
)
def test_identity_fields_are_checked(field: str, value: str, code: str) -> None:
    body = feedback()
    body["sender"][field] = value
    assert codes(body) == {f"sender.{field}": code}


def test_organisation_without_tax_code_is_refused() -> None:
    body = feedback()
    body["sender"]["kind"] = "organisation"
    assert codes(body) == {"sender": "tax_code_required"}


def test_unknown_category_missing_fields_and_extra_fields_have_codes() -> None:
    body = feedback(category="ufo", extra=1)
    del body["description"]
    assert codes(body) == {
        "category": "unknown_category",
        "description": "required",
        "extra": "unknown_field",
    }


def test_location_needs_coordinates_or_address() -> None:
    assert codes(feedback(location={"commune_code": "00070"})) == {"location": "location_required"}


def test_every_code_has_a_vietnamese_and_english_message() -> None:
    for status, msg in ERRORS.values():
        assert 400 <= status < 600 and msg.vi and msg.en
    for msg in FIELD_MESSAGES.values():
        assert msg.vi and msg.en and msg.vi != msg.en
