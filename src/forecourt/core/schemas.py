"""Base classes for request and response bodies, and the bounded types every input is made of.

Whatever a client sends must fit what the code and the database can hold: an integer wider than the
database's integer columns, a date in the year 9999 (one day later overflows) or a period of thousands of
years (one row per month) are refused with the field named, before any service sees them. Path and
query parameters use the same types, so the OpenAPI document states the same bounds.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any

from annotated_types import Interval
from pydantic import AfterValidator, BaseModel, ConfigDict, field_validator

from forecourt.core.i18n import _

# Keys and counts are INTEGER columns: 32 bits on PostgreSQL (which refuses a wider value outright),
# 64 on SQLite; the narrower bound holds on both.
LARGEST_ID = 2**31 - 1
FIRST_YEAR, LAST_YEAR = 1900, 2199  # dates anyone has a reason to send (birth dates to contract ends)
LONGEST_PERIOD = timedelta(days=3653)  # ten years: the longest span a report or a list is computed for

Id = Annotated[int, Interval(ge=1, le=LARGEST_ID)]  # the number of a row
Offset = Annotated[int, Interval(ge=0, le=LARGEST_ID)]  # rows to skip in a list (bound as an INTEGER too)


def _within_years(value: date) -> date:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(_("Give a date between the years %(first)s and %(last)s.", first=FIRST_YEAR, last=LAST_YEAR))
    return value


Day = Annotated[date, AfterValidator(_within_years)]
Moment = Annotated[datetime, AfterValidator(_within_years)]


def check_period(start: date | None, end: date | None) -> str | None:
    """What is wrong with a period, in words, or None: it must run forwards and last at most ten years."""
    if start is None or end is None:
        return None
    for day in (start, end):
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            return _("Give a date between the years %(first)s and %(last)s.", first=FIRST_YEAR, last=LAST_YEAR)
    if start > end:
        return _("The period starts after it ends; choose a start date before the end date.")
    if end - start > LONGEST_PERIOD:
        return _("Choose a period of at most ten years.")
    return None


def _no_null_default(schema: dict[str, Any]) -> None:
    """A field that may be left out but not sent as null shows no ``default: null`` in the document."""
    for field in schema.get("properties", {}).values():
        if field.get("default", ...) is None and "anyOf" not in field and field.get("type") != "null":
            del field["default"]


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return any(_holds_nul(item) for item in value)
    return False


class Input(BaseModel):
    """Request bodies: unknown fields are refused, so nobody can slip in an owner, organization or role.
    Text may not hold a NUL character, which PostgreSQL cannot store (and SQLite would keep silently)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if _holds_nul(value):
            raise ValueError(_("Remove the NUL character: it cannot be stored."))
        return value


class Changes(Input):
    """A PATCH body: a field left out keeps its value.

    A field typed without ``None`` (``name: str = None``) may be left out but not sent as null: null
    would blank something the record cannot be without (a name, a flag, a list), so it is refused
    with the field named rather than reaching a NOT NULL column or an answer that promises a value.
    Fields where null means "none" (a phone number, a second address line) keep ``| None``."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra=_no_null_default)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)
