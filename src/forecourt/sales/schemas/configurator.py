"""Bodies of the configurator API. Nothing here names who configured a car: the code is a bearer key."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import Field

from forecourt.core.schemas import Input, Output


class ConfigurationIn(Input):
    trim_code: str = Field(min_length=1, max_length=32, description="The trim, e.g. LUMO-E54")
    market: str | None = Field(default=None, min_length=2, max_length=2,
                               description="Priced for this market (DE, KR); the caller's market when left out")
    option_codes: list[Annotated[str, Field(max_length=32)]] = Field(default_factory=list, max_length=60,
                                    description="Chosen options; the standard colour and wheels apply when none")


class OptionOut(Output):
    code: str
    name: str
    kind: str
    price: float
    description: str
    is_default: bool
    notes: list[str] = Field(default_factory=list, description="Rules in words: includes / needs / not with")


class OptionGroup(Output):
    kind: str
    label: str
    one_of: bool = Field(description="Exactly one of these is chosen (colour, wheels, interior)")
    options: list[OptionOut]


class TrimOptionsOut(Output):
    model: str
    trim: str
    trim_code: str
    propulsion: str
    base_price: float
    currency: str = "EUR"
    groups: list[OptionGroup]


class PriceLine(Output):
    code: str
    name: str
    kind: str
    price: float
    included_in: str | None = None


class CheckOut(Output):
    trim_code: str
    valid: bool
    problems: list[str]
    option_codes: list[str]
    lines: list[PriceLine]
    base_price: float
    currency: str = "EUR"
    total_price: float


class SavedOut(Output):
    code: str
    display_code: str
    url: str
    qr_url: str
    total_price: float
    currency: str = "EUR"


class ConfigurationOut(Output):
    code: str
    display_code: str
    url: str
    qr_url: str
    model: str
    trim: str
    trim_code: str
    propulsion: str
    option_codes: list[str]
    lines: list[PriceLine]
    base_price: float
    currency: str = "EUR"
    total_price: float
    created_at: datetime
