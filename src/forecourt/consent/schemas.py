from __future__ import annotations

from datetime import datetime

from pydantic import Field

from forecourt.core.schemas import Id, Input, Output


class PurposeOut(Output):
    code: str
    name: str
    description: str
    legal_basis: str
    data_categories: list[str]
    needs_consent: bool


class NoticeOut(Output):
    version: int
    language: str = Field(description="The language of this title and body (en, de, ko): the reader's, or "
                                      "English where the version is not published in it")
    title: str
    body: str
    purposes: list[str]
    published_at: datetime


class GrantIn(Input):
    notice_version: Id | None = Field(default=None, description="The notice version the customer read; "
                                                                  "defaults to the current one")
    language: str | None = Field(default=None, max_length=35,
                                 description="The language of the notice text the customer read (en, de, ko); "
                                             "defaults to the language of the request")


class GrantOut(Output):
    organization_id: int
    purpose_code: str
    notice_version: int
    granted_at: datetime
    withdrawn_at: datetime | None


class ConsentRow(Output):
    """One cell of the "who can see my data" matrix."""

    organization_id: int
    organization_name: str
    organization_kind: str
    purpose_code: str
    purpose_name: str
    granted: bool
    granted_at: datetime | None
    notice_version: int | None


class ReceiptOut(Output):
    receipt_id: str
    customer_id: int
    organization_id: int
    purpose_code: str
    legal_basis: str
    notice_version: int
    state: str
    method: str
    jurisdiction: str
    language: str | None = Field(description="The language of the notice text the customer read; empty on "
                                             "receipts from before notices were published per language")
    recorded_at: datetime


class AccessOut(Output):
    organization_id: int | None
    organization_name: str | None = None
    role: str
    purpose_code: str
    legal_basis: str
    what: str
    reference: str | None
    at: datetime
