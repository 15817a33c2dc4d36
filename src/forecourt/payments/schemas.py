"""Bodies of the payment routes: what a cashier sends, what a payment and its entries look like."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from forecourt.core.schemas import Input, Output

# A one-time key from the form (or the API client) that makes sending it twice record one entry.
Key = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")


class ReceiptIn(Input):
    """Money a cashier took. The amount is theirs to state: it is what they hold in their hand."""

    amount: Decimal = Field(gt=0, le=10_000_000, decimal_places=2)
    method: Literal["cash", "card_terminal", "transfer"]
    key: str = Key
    note: str = Field(default="", max_length=500)


class ReversalIn(Input):
    reason: str = Field(min_length=3, max_length=500)


class RefundIn(Input):
    amount: Decimal = Field(gt=0, le=10_000_000, decimal_places=2)
    key: str = Key
    reason: str = Field(default="", max_length=500)


class EntryOut(Output):
    id: int
    kind: str
    amount: float
    method: str
    at: datetime
    reverses_entry_id: int | None


class PaymentOut(Output):
    reference: str
    provider: str
    purpose: str
    amount: float
    currency: str
    status: str
    created_at: datetime


class PaymentRequestOut(Output):
    """How to pay what is due: by card (the browser confirms with ``client_secret``) or at the payee's till."""

    provider: str
    kind: str
    amount: float
    status: str  # open (card, waiting for the customer) | pay_at_dealer | paid | ...
    reference: str
    client_secret: str | None
    publishable_key: str | None
    instructions: str
