"""Recall campaigns in and out: what the carmaker opens, what a dealer records, what the dashboard shows."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field, model_validator

from forecourt.core.schemas import Day, Input, Output
from forecourt.vehicles.schemas.cars import ServiceRecordOut


class RecallScopeIn(Input):
    """Any mix of limits; a car must meet all of a scope's limits, and any scope recalls it."""

    model_code: str | None = Field(default=None, max_length=32)
    trim_code: str | None = Field(default=None, max_length=32)
    vin_from: str | None = Field(default=None, max_length=17)
    vin_to: str | None = Field(default=None, max_length=17)
    produced_from: Day | None = None
    produced_to: Day | None = None

    @model_validator(mode="after")
    def _limited(self) -> RecallScopeIn:
        if not any(self.model_dump().values()):
            raise ValueError("A scope needs at least one limit: a model, a trim, a VIN range or production dates.")
        return self


class RecallCampaignIn(Input):
    code: str = Field(min_length=3, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9-]*$")
    title: str = Field(min_length=5, max_length=200)
    description: str = Field(default="", max_length=4000)
    remedy: str = Field(min_length=5, max_length=4000)
    severity: Literal["critical", "high", "medium", "low"]
    labour_minutes: int = Field(default=60, ge=1, le=1440)
    scopes: list[RecallScopeIn] = Field(min_length=1, max_length=20)


class RecallCloseIn(Input):
    """The carmaker ends a campaign: closed, or superseded by another (open) campaign."""

    outcome: Literal["closed", "superseded"]
    reason: str = Field(min_length=3, max_length=2000)
    superseded_by: str | None = Field(default=None, max_length=32)


class RecallClosedOut(Output):
    code: str
    outcome: str
    closed_at: datetime
    superseded_by: str | None
    affected: int
    remedied: int
    open: int


class RemedyIn(Input):
    vin: str = Field(min_length=17, max_length=17)
    performed_on: Day
    odometer_km: int = Field(ge=0, le=2_000_000)


class RecallFlagOut(Output):
    campaign_code: str
    title: str
    severity: str
    remedy: str
    labour_minutes: int
    message: str


class RecallCheckOut(Output):
    vin: str
    open_recalls: list[RecallFlagOut]


class RecallSummaryOut(Output):
    code: str
    title: str
    severity: str
    opened_at: datetime
    closed_at: datetime | None
    outcome: str | None = None
    affected: int
    notified: int
    remedied: int
    open: int
    completion: float


class DealerRemediesOut(Output):
    dealer_id: int | None
    dealer: str
    remedied: int


class ProgressPointOut(Output):
    week: int
    date: date
    remedied: int
    share: float


class RecallProgressOut(RecallSummaryOut):
    description: str
    remedy: str
    labour_minutes: int
    closing_reason: str | None = None
    superseded_by: str | None = None
    owner_unknown: int
    per_dealer: list[DealerRemediesOut]
    over_time: list[ProgressPointOut]


class RecallOpenedOut(Output):
    code: str
    affected: int
    notified: int
    owner_unknown: int


class RemedyOut(ServiceRecordOut):
    """A remedy is a service record tied to its campaign."""

    recall_campaign_id: int | None
