"""The gateway's documented request bodies (pydantic) and how their errors map to stable codes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from gateway.http.errors import FIELD_MESSAGES, FieldError
from processors import identity
from processors.catalogue import CATEGORIES


def _checked(fn):  # type: ignore[no-untyped-def]
    """Turn a processors.identity check into a pydantic validator keeping its stable code."""

    def check(v: str) -> str:
        try:
            return fn(v)
        except identity.IdentityError as exc:
            raise PydanticCustomError(exc.code, exc.code) from exc

    return AfterValidator(check)


IdNumber = Annotated[str, Field(examples=["001203012345"]), _checked(identity.id_number)]
Phone = Annotated[str, Field(examples=["0912345678"]), _checked(identity.mobile_phone)]
Email = Annotated[str, Field(examples=["an.nguyen@example.vn"]), _checked(identity.email)]
TaxCode = Annotated[str, Field(examples=["0101234565"]), _checked(identity.tax_code)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Location(Strict):
    lat: float | None = Field(None, ge=8.0, le=24.0, description="WGS84 latitude (Vietnam).")
    lon: float | None = Field(None, ge=102.0, le=110.0, description="WGS84 longitude (Vietnam).")
    address: str | None = Field(None, min_length=3, max_length=500)
    commune_code: str | None = Field(
        None, pattern=r"^\d{5}$", description="Statistics-office code of the commune-level unit."
    )

    @model_validator(mode="after")
    def _somewhere(self) -> Location:
        if (self.lat is None or self.lon is None) and not self.address:
            raise PydanticCustomError("location_required", "location_required")
        return self


class SenderIn(Strict):
    kind: Literal["person", "organisation"] = "person"
    full_name: str = Field(min_length=2, max_length=200)
    id_number: IdNumber = Field(description="Citizen identity number (CCCD), 12 digits.")
    phone: Phone
    email: Email
    tax_code: TaxCode | None = Field(None, description="Required for organisations.")
    confidential: bool = Field(
        False, description="Hide the sender's identity from handling units and the public."
    )

    @model_validator(mode="after")
    def _organisation_has_tax_code(self) -> SenderIn:
        if self.kind == "organisation" and not self.tax_code:
            raise PydanticCustomError("tax_code_required", "tax_code_required")
        return self


def _known_category(code: str) -> str:
    if code not in CATEGORIES:
        raise PydanticCustomError("unknown_category", "unknown_category")
    return code


class FieldFeedbackIn(Strict):
    """POST /v1/feedback: a submission — by default a field report (phản ánh, kiến nghị hiện
    trường); `process` names the others of domain.md §2."""

    process: Literal[
        "field_feedback",
        "administrative_procedure",
        "waste_report",
        "investor_business",
        "initiative",
    ] = "field_feedback"
    category: Annotated[str, AfterValidator(_known_category)] = Field(
        description="Category code; see GET /v1/categories.", examples=["road_damage"]
    )
    title: str = Field(min_length=5, max_length=200)
    description: str = Field(min_length=10, max_length=4000)
    location: Location
    observed_at: datetime | None = Field(None, description="When the problem was seen.")
    sender: SenderIn
    unit_code: str | None = Field(None, max_length=32)

    @model_validator(mode="after")
    def _investors_are_organisations(self) -> FieldFeedbackIn:
        if self.process == "investor_business" and self.sender.kind != "organisation":
            raise PydanticCustomError("organisation_required", "organisation_required")
        return self


_TYPE_CODES = {
    "missing": "required",
    "string_too_short": "too_short",
    "string_too_long": "too_long",
    "too_short": "too_short",
    "too_long": "too_long",
    "literal_error": "invalid_choice",
    "enum": "invalid_choice",
    "greater_than_equal": "out_of_range",
    "less_than_equal": "out_of_range",
    "greater_than": "out_of_range",
    "less_than": "out_of_range",
    "extra_forbidden": "unknown_field",
    "datetime_parsing": "invalid_datetime",
    "datetime_from_date_parsing": "invalid_datetime",
    "datetime_type": "invalid_datetime",
    "string_pattern_mismatch": "invalid",
}


def field_errors(exc: ValidationError) -> list[FieldError]:
    out = []
    for err in exc.errors(include_url=False):
        kind = err["type"]
        code = _TYPE_CODES.get(kind)
        if code is None:  # our own codes (PydanticCustomError) are the keys of FIELD_MESSAGES
            code = (
                kind
                if kind in FIELD_MESSAGES
                else ("invalid_type" if kind.endswith(("_type", "_parsing")) else "invalid")
            )
        loc = ".".join(str(p) for p in err["loc"] if not str(p).startswith("function-"))
        out.append(FieldError(loc or "body", code, None if code != "invalid" else err["msg"]))
    return out


def openapi_schemas() -> dict[str, Any]:
    return FieldFeedbackIn.model_json_schema(ref_template="#/components/schemas/{model}")
