"""Commission rules and statements: what the carmaker sends and reads."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import Field

from forecourt.core.schemas import Input, Output


class CommissionRuleIn(Input):
    """No dealer: every dealer; no model: every model. The most specific rule in force wins."""

    dealer_id: int | None = None
    model_id: int | None = None
    percent: Decimal = Field(default=Decimal(0), ge=0, le=100, decimal_places=2)
    # In the dealer's market's currency (the carmaker's for a rule of every dealer); its upper bound
    # is checked per currency (100,000 EUR, 150,000,000 KRW).
    fixed: Decimal = Field(default=Decimal(0), ge=0, le=150_000_000, decimal_places=2)
    valid_from: date | None = None  # today when not given


class CommissionRuleChange(Input):
    percent: Decimal | None = Field(default=None, ge=0, le=100, decimal_places=2)
    fixed: Decimal | None = Field(default=None, ge=0, le=150_000_000, decimal_places=2)
    valid_from: date | None = None


class RetireIn(Input):
    on: date | None = None  # today when not given


class CommissionRuleOut(Output):
    id: int
    dealer_id: int | None
    model_id: int | None
    percent: float
    fixed: float
    currency: str = Field(description="The currency of the amount per car (EUR, KRW); the rule applies only to sales in it")
    valid_from: date
    retired_on: date | None


class StatementRowOut(Output):
    dealer_id: int
    dealer: str
    currency: str = Field(description="The dealer's market's currency (EUR, KRW): sales and commission are in it")
    cars: int
    sales: float
    commission: float
