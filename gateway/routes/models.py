"""Models of the route table that have no other home: answers, query strings, Open311's form.

Query models are lenient about names they do not know (a client may send more) and describe
exactly what the handlers accept, so the OpenAPI document and the server agree.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from processors.areas import shipped_geo
from processors.catalogue import CATEGORIES, PROCESSES
from processors.publication import PUBLISHED_STATUSES
from processors.workflow import STATUSES

MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


def _one_of(values: object) -> str:
    alts = "|".join(sorted(map(str, values)))  # type: ignore[call-overload]
    return rf"^({alts})(,({alts}))*$"


NUM = r"-?\d{1,3}(\.\d{1,12})?"


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore")


def _iso(value: object) -> object:
    """A query's day or instant is ISO-8601 text, never a number read as a timestamp."""
    if isinstance(value, str) and not ISO_START.match(value):
        raise ValueError("not an ISO-8601 date or date-time")
    return value


ISO_START = re.compile(r"\d{4}-\d{2}-\d{2}")
Day = Annotated[date | datetime, BeforeValidator(_iso)]
Instant = Annotated[datetime, BeforeValidator(_iso)]


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
    status: str | None = Field(
        None, pattern=_one_of(PUBLISHED_STATUSES), description="Comma-separated."
    )
    unit: str | None = Field(None, pattern=r"^[A-Za-z0-9._-]{1,64}$")
    category: Literal[tuple(sorted(CATEGORIES))] | None = None  # type: ignore[valid-type]
    process: Literal[PROCESSES] | None = None  # type: ignore[valid-type]
    area: str | None = Field(None, pattern=r"^\d{5}$", description="Commune code.")
    from_: Day | None = Field(
        None, alias="from", description="A day (YYYY-MM-DD, Hanoi time) or an ISO-8601 instant."
    )
    to: Day | None = Field(
        None, description="A day (the whole day, Hanoi time) or an ISO-8601 instant."
    )
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(20, ge=1, le=100)


class FlagsQuery(Query):
    # the handler checks the month itself: a wrong one is `invalid_month`, as on the path
    month: str = Field(json_schema_extra={"pattern": MONTH}, description="YYYY-MM")
    unit: str | None = Field(None, pattern=r"^[A-Za-z0-9._-]{1,64}$")


class WarningPlaceQuery(Query):
    lat: float | None = Field(None, ge=-90, le=90)
    long: float | None = Field(None, ge=-180, le=180)
    commune: Literal[tuple(sorted(shipped_geo()))] | None = Field(  # type: ignore[valid-type]
        None, description="A commune code of Hanoi (2025)."
    )
    unit: str | None = Field(None, pattern=r"^[A-Za-z0-9._-]{1,64}$")


class Open311RequestsQuery(Query):
    service_request_id: str | None = Field(
        None, max_length=2000, pattern=r"^[0-9A-Fa-f,-]*$", description="Comma-separated ids."
    )
    service_code: str | None = Field(None, pattern=_one_of(CATEGORIES))
    status: str | None = Field(None, pattern=_one_of(("open", "closed")))
    start_date: Instant | None = Field(None, description="W3C date-time")
    end_date: Instant | None = Field(None, description="W3C date-time")
    bbox: str | None = Field(
        None,
        pattern=rf"^{NUM},{NUM},{NUM},{NUM}$",
        description="min_long,min_lat,max_long,max_lat (WGS84): requests inside the box.",
    )
    lat: float | None = Field(None, ge=-90, le=90, description="With long and radius.")
    long: float | None = Field(None, ge=-180, le=180, description="With lat and radius.")
    radius: float | None = Field(
        None, ge=1, le=50_000, description="Metres around lat/long (default 1000)."
    )
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(1000, ge=1, le=1000)

    def box(self) -> tuple[float, float, float, float] | None:
        if self.bbox is None:
            return None
        w, s, e, n = (float(v) for v in self.bbox.split(","))
        return (min(w, e), min(s, n), max(w, e), max(s, n))

    def near(self) -> tuple[float, float, float] | None:
        """A circle needs both coordinates; one alone filters nothing (documented)."""
        if self.lat is None or self.long is None:
            return None
        return (self.lat, self.long, self.radius or 1000.0)


class Open311RequestForm(BaseModel):
    """GeoReport v2 POST /requests fields; `attribute[...]` per the service definition. The
    `api_key` field of GeoReport is the security scheme `open311_api_key` (form or query)."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    service_code: str = Field(json_schema_extra={"enum": sorted(CATEGORIES)})
    lat: float | None = Field(None, ge=8.0, le=24.0)
    long: float | None = Field(None, ge=102.0, le=110.0)
    address_string: str | None = Field(None, min_length=3, max_length=500)
    description: str = Field(min_length=10, max_length=4000)
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    email: str = Field(examples=["an.nguyen@example.vn"])
    phone: str = Field(examples=["0912345678"], description="A Vietnamese mobile number.")
    id_number: str = Field(
        alias="attribute[id_number]", pattern=r"^\d{12}$", description="CCCD, 12 digits"
    )


__all__ = ["STATUSES"]


class OpenDataQuery(Query):
    """A month of open data (Hanoi time), optionally one unit, optionally a page."""

    month: str = Field(
        ..., pattern=r"^(19[7-9]\d|2\d{3})-(0[1-9]|1[0-2])$", description="YYYY-MM (1970-2999)."
    )
    unit: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
    page: int | None = Field(None, ge=1, le=1_000_000)
    page_size: int | None = Field(None, ge=1, le=10_000)
