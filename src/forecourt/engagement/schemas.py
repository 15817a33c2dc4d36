"""Bodies of the engagement routes: a partner's offer in, offers, messages and figures out."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from annotated_types import Interval, MaxLen
from pydantic import BaseModel, ConfigDict

from forecourt.core.schemas import Day, Id, Input

Count = Annotated[int, Interval(ge=0, le=2_000_000)]
Years = Annotated[int, Interval(ge=0, le=60)]


class OfferIn(Input):
    """A partner's offer. The rule (models, markets, age, mileage) says which cars it is for; the service
    refuses a rule no car can meet, and names the field."""

    title: Annotated[str, MaxLen(120)]
    body: Annotated[str, MaxLen(1000)] = ""
    purpose: Annotated[str, MaxLen(32)]
    occasion_kinds: Annotated[list[Annotated[str, MaxLen(24)]], MaxLen(12)]
    models: Annotated[list[Annotated[str, MaxLen(32)]], MaxLen(50)] = []
    markets: Annotated[list[Annotated[str, MaxLen(2)]], MaxLen(20)] = []
    min_age_years: Years | None = None
    max_age_years: Years | None = None
    min_km: Count | None = None
    max_km: Count | None = None
    price: Annotated[Decimal, Interval(ge=0, le=Decimal("9999999999"))] | None = None
    currency: Annotated[str, MaxLen(3)] | None = None
    benefit: Annotated[str, MaxLen(120)] | None = None
    valid_from: Day
    valid_until: Day
    action: Annotated[str, MaxLen(16)]
    action_code: Annotated[str, MaxLen(32)] | None = None
    relevance: Annotated[int, Interval(ge=0, le=100)] = 50


class OfferOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    organization_id: int
    title: str
    body: str
    purpose: str
    occasion_kinds: list[str]
    models: list[str]
    markets: list[str]
    min_age_years: int | None
    max_age_years: int | None
    min_km: int | None
    max_km: int | None
    price: Decimal | None
    currency: str | None
    benefit: str | None
    valid_from: date
    valid_until: date
    action: str
    action_code: str | None
    relevance: int
    withdrawn: bool


class ChoiceIn(Input):
    email: bool = True
    per_month: Annotated[int, Interval(ge=0, le=31)] | None = None


class AcceptIn(Input):
    """Which slot (for a booking), as offered on the message; nothing else is needed to accept."""

    slot: Annotated[int, Interval(ge=0, le=20)] = 0


class ComposeIn(Input):
    kind: Annotated[str, MaxLen(24)]


class ItemOut(BaseModel):
    id: int
    offer_id: int
    title: str
    body: str
    sender: str
    action: str
    price: str | None
    benefit: str | None
    accepted: bool


class MessageOut(BaseModel):
    id: int
    subject: str
    occasions: list[str]
    sent_at: str | None
    opened: bool
    legal: bool
    items: list[ItemOut]


MessageId = Id
