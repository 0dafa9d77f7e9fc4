"""Models of the route table that have no other home: answers, query strings, Open311's form.

Query models are lenient about names they do not know (a client may send more) and describe
exactly what the handlers accept, so the OpenAPI document and the server agree.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from processors.catalogue import CATEGORIES, PROCESSES
from processors.workflow import STATUSES

PUBLISHED = ("published", "closed", "rated_unsatisfied")
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"
DAY_OR_INSTANT = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?$"


def _one_of(values: object) -> str:
    alts = "|".join(sorted(map(str, values)))  # type: ignore[call-overload]
    return rf"^({alts})(,({alts}))*$"


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Accepted(BaseModel):
    case_id: str = Field(json_schema_extra={"format": "uuid"})
    status: str
    submitted_at: str = Field(json_schema_extra={"format": "date-time"})
    tracking_url: str


class CommandAnswer(BaseModel):
    command_id: str
    case_id: str
    command: str
    accepted: bool
    code: str | None = None
    status: str | None = None
    version: int | None = None
    case_url: str


class ReidentifyIn(BaseModel):
    justification: str = Field(
        min_length=10, max_length=2000, pattern=r"\S.{8,}\S", description="Why (audited)."
    )


class ResultsQuery(Query):
    status: str | None = Field(None, pattern=_one_of(PUBLISHED), description="Comma-separated.")
    unit: str | None = Field(None, pattern=r"^[A-Za-z0-9._-]{1,64}$")
    category: str | None = Field(None, json_schema_extra={"enum": sorted(CATEGORIES)})
    process: str | None = Field(None, json_schema_extra={"enum": list(PROCESSES)})
    area: str | None = Field(None, pattern=r"^\d{5}$", description="Commune code.")
    from_: str | None = Field(
        None, alias="from", pattern=DAY_OR_INSTANT, description="YYYY-MM-DD or ISO-8601."
    )
    to: str | None = Field(None, pattern=DAY_OR_INSTANT, description="YYYY-MM-DD or ISO-8601.")
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(20, ge=1, le=100)


class FlagsQuery(Query):
    month: str = Field(pattern=MONTH, description="YYYY-MM")
    unit: str | None = Field(None, pattern=r"^[A-Za-z0-9._-]{1,64}$")


class WarningPlaceQuery(Query):
    lat: float | None = Field(None, ge=-90, le=90)
    long: float | None = Field(None, ge=-180, le=180)
    commune: str | None = Field(None, pattern=r"^\d{5}$")
    unit: str | None = Field(None, pattern=r"^[A-Za-z0-9._-]{1,64}$")


class Open311RequestsQuery(Query):
    service_request_id: str | None = Field(None, max_length=4000, description="Comma-separated.")
    service_code: str | None = Field(None, pattern=_one_of(CATEGORIES))
    status: str | None = Field(None, pattern=_one_of(("open", "closed")))
    start_date: str | None = Field(None, pattern=DAY_OR_INSTANT)
    end_date: str | None = Field(None, pattern=DAY_OR_INSTANT)
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(1000, ge=1, le=1000)


class Open311RequestForm(BaseModel):
    """GeoReport v2 POST /requests fields; `attribute[...]` per the service definition."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    api_key: str = Field(description="The client's key (or the api_key query parameter).")
    service_code: str = Field(json_schema_extra={"enum": sorted(CATEGORIES)})
    lat: float | None = Field(None, ge=8.0, le=24.0)
    long: float | None = Field(None, ge=102.0, le=110.0)
    address_string: str | None = Field(None, min_length=3, max_length=500)
    description: str = Field(min_length=10, max_length=4000)
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    email: str | None = None
    phone: str | None = None
    id_number: str = Field(
        alias="attribute[id_number]", pattern=r"^\d{12}$", description="CCCD, 12 digits"
    )


__all__ = ["STATUSES"]
