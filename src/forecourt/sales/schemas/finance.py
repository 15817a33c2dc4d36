"""Bodies of the finance-contract routes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from annotated_types import Interval, MaxLen, MinLen
from pydantic import BaseModel

from forecourt.core.schemas import Day, Id, Input


class FinanceContractIn(Input):
    """A loan or lease for one car, named by its VIN; the contract is its current owner's."""

    vin: Annotated[str, MinLen(11), MaxLen(17)]
    product: Literal["loan", "lease", "balloon"]
    reference: Annotated[str, MaxLen(40)] = ""
    starts_on: Day
    ends_on: Day
    monthly_amount: Annotated[Decimal, Interval(gt=0, le=Decimal("9999999999"))]
    currency: Annotated[str, MinLen(3), MaxLen(3)]


class FinanceContractOut(BaseModel):
    id: Id
    vin: str
    product: str
    reference: str
    starts_on: date
    ends_on: date
    monthly_amount: Decimal
    currency: str
    customer_id: int | None
