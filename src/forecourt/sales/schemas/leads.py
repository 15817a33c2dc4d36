"""Lead bodies: what a person sends when they ask a dealer, and what a sales rep reads back."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import EmailStr, Field, field_validator, model_validator

from forecourt.core.schemas import Day, Id, Input, Output


class LeadIn(Input):
    """A request from the website, the configurator or an event. Nobody can set a dealer's score,
    status or the customer it belongs to: those are decided here."""

    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40)
    postcode: str | None = Field(default=None, max_length=16)
    city: str | None = Field(default=None, max_length=100)
    wants: Literal["test_drive", "call", "offer"] = "call"
    preferred_date: Day | None = None
    dealer_id: Id | None = None
    configuration_code: str | None = Field(default=None, max_length=32)
    model_id: Id | None = None
    event_name: str | None = Field(default=None, max_length=120)
    message: str = Field(default="", max_length=4000)
    allow_contact: bool = False

    @field_validator("phone")
    @classmethod
    def _phone_has_digits(cls, value: str | None) -> str | None:
        if value and sum(c.isdigit() for c in value) < 6:
            raise ValueError("A phone number needs at least 6 digits")
        return value or None

    @model_validator(mode="after")
    def _reachable(self) -> LeadIn:
        if not self.email and not self.phone:
            raise ValueError("Give an e-mail address or a phone number, so the dealer can answer you")
        if self.preferred_date and self.wants != "test_drive":
            raise ValueError("A preferred date is for test drives; choose a test drive or leave the date empty")
        return self


class LeadReceived(Output):
    """What the person is told: which dealer has the request and why — never who else we know."""

    dealer_id: int
    dealer_name: str
    routed_by: str
    routing_reason: str
    contact_allowed: bool
    # "allow contact" was ticked without being logged in: a link to confirm it went to the customer's e-mail
    confirmation_requested: bool = False
    message: str


class LeadStatusIn(Input):
    status: Literal["contacted", "qualified", "disqualified"]


class MergeIn(Input):
    duplicate_id: Id


class LeadSummary(Output):
    id: int
    status: str
    source: str
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    city: str | None
    model_id: int | None
    score: int | None
    routed_by: str
    created_at: datetime


class LeadPage(Output):
    items: list[LeadSummary]
    total: int
    waiting_for_permission: int
    limit: int
    offset: int


class TimelineEntry(Output):
    at: datetime
    kind: str
    lead_id: int
    text: str
    contact: str = ""


class LeadOut(LeadSummary):
    customer_id: int | None
    postcode: str | None
    configuration_code: str | None = None
    message: str
    event_name: str | None
    preferred_date: date | None
    routing_reason: str
    score_reasons: list[str]
    merged_into_id: int | None
    timeline: list[TimelineEntry] = []


class RescoreOut(Output):
    rescored: int
