"""Request and response bodies of opportunities, quotes, stages and targets."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from forecourt.core.schemas import Day, Id, Input, Moment, Output

LostReason = Literal["price", "competitor_offer", "financing_declined", "delivery_time", "trade_in_value",
                     "no_decision", "bought_used", "other"]
ActivityKind = Literal["call", "visit", "test_drive", "email", "note"]


class OpportunityIn(Input):
    """A walk-in (``retail``: a customer who allowed sales contact) or a fleet deal for a company."""

    kind: Literal["retail", "fleet"] = "retail"
    customer_id: Id | None = None
    title: str | None = Field(default=None, max_length=200)
    model_id: Id | None = None
    configuration_code: str | None = Field(default=None, max_length=32)
    amount: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    expected_close: Day | None = None
    account_name: str | None = Field(default=None, max_length=200)
    quantity: int = Field(default=1, ge=1, le=10_000)
    rfp_reference: str | None = Field(default=None, max_length=64)
    rfp_due: Day | None = None
    rfp_requirements: str | None = Field(default=None, max_length=10_000)


class OpportunityUpdate(Input):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    amount: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    expected_close: Day | None = None
    owner_user_id: Id | None = None
    model_id: Id | None = None
    # {"price": false, "trade_in_value": true}: the factors this buyer decides on, true once covered.
    buying_factors: dict[str, bool] | None = None
    account_name: str | None = Field(default=None, min_length=1, max_length=200)
    quantity: int | None = Field(default=None, ge=1, le=10_000)
    rfp_reference: str | None = Field(default=None, max_length=64)
    rfp_due: Day | None = None
    rfp_requirements: str | None = Field(default=None, max_length=10_000)


class StageMoveIn(Input):
    stage_code: str = Field(min_length=1, max_length=32)


class LostIn(Input):
    reason: LostReason | None = None
    post_mortem: str = Field(default="", max_length=10_000)


class ActivityIn(Input):
    kind: ActivityKind
    notes: str = Field(default="", max_length=10_000)
    happened_at: Moment | None = None
    model_id: Id | None = None


class QuoteLineIn(Input):
    configuration_code: str | None = Field(default=None, max_length=32)
    description: str | None = Field(default=None, max_length=200)
    quantity: int = Field(default=1, ge=1, le=10_000)
    unit_price: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    discount_percent: Decimal = Field(default=Decimal(0), ge=0, le=100, max_digits=5, decimal_places=2)


class QuoteIn(Input):
    lines: list[QuoteLineIn] = Field(min_length=1, max_length=50)
    valid_until: Day | None = None
    note: str = Field(default="", max_length=10_000)


class StageIn(Input):
    code: str | None = Field(default=None, max_length=32)
    name: str = Field(min_length=1, max_length=64)
    probability: int = Field(ge=0, le=100)


class StagesIn(Input):
    """The dealer's open stages in order; the won and lost stages always close the process."""

    stages: list[StageIn] = Field(min_length=1, max_length=12)
    won_name: str = Field(default="Won", min_length=1, max_length=64)
    lost_name: str = Field(default="Lost", min_length=1, max_length=64)


class TargetIn(Input):
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    user_id: Id | None = None
    units: int = Field(ge=0, le=100_000)
    value: Decimal = Field(ge=0, max_digits=14, decimal_places=2)


# --- out ---------------------------------------------------------------------------------------------

class StageOut(Output):
    code: str
    name: str
    position: int
    probability: int
    outcome: str | None


class StagesOut(Output):
    own: bool  # false: the network default process
    stages: list[StageOut]


class OpportunityOut(Output):
    id: int
    dealer_id: int
    owner_user_id: int | None
    customer_id: int | None
    lead_id: int | None
    configuration_id: int | None
    model_id: int | None
    kind: str
    title: str
    account_name: str | None
    quantity: int
    amount: float
    expected_close: date | None
    stage_code: str
    status: str
    buying_factors: dict
    lost_reason: str | None
    post_mortem: str
    rfp_reference: str | None
    rfp_due: date | None
    rfp_requirements: str
    created_at: datetime
    stage_entered_at: datetime
    closed_at: datetime | None


class QuoteOut(Output):
    id: int
    opportunity_id: int
    version: int
    lines: list[dict]
    total: float
    valid_until: date | None
    status: str
    note: str
    created_by: int | None
    created_at: datetime


class ActivityOut(Output):
    id: int
    kind: str
    happened_at: datetime
    notes: str
    model_id: int | None
    user_id: int | None


class TimelineEntry(Output):
    at: datetime
    kind: str  # stage | call | visit | test_drive | email | note | quote
    text: str
    user_id: int | None = None


class OpportunityDetail(Output):
    opportunity: OpportunityOut
    stages: list[StageOut]
    quotes: list[QuoteOut]
    timeline: list[TimelineEntry]


class TargetOut(Output):
    id: int
    dealer_id: int
    user_id: int | None
    month: str
    units: int
    value: float
