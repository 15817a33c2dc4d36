from __future__ import annotations

from datetime import date, datetime

from pydantic import EmailStr, Field

from forecourt.core.schemas import Changes, Day, Input, Output


class ProfileIn(Changes):
    first_name: str | None = Field(default=None, max_length=100)
    last_name: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=40, pattern=r"^[+0-9 ()/-]{4,40}$")
    street: str | None = Field(default=None, max_length=200)
    postcode: str | None = Field(default=None, max_length=16)
    city: str | None = Field(default=None, max_length=100)
    country: str | None = Field(default=None, min_length=2, max_length=2)
    birth_date: Day | None = None
    language: str = Field(default=None, max_length=8)
    # The market that serves you (DE, KR) and your own clock (IANA, e.g. Asia/Seoul); empty: the market's.
    market: str | None = Field(default=None, min_length=2, max_length=2)
    time_zone: str | None = Field(default=None, max_length=64)


class SignUpIn(Input):
    """No password here: it is chosen through the link sent to the address, by whoever reads that mailbox."""

    email: EmailStr
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    phone: str | None = Field(default=None, max_length=40, pattern=r"^[+0-9 ()/-]{4,40}$")
    city: str | None = Field(default=None, max_length=100)


class SignUpReceived(Output):
    detail: str


class NavigationFavourite(Input):
    label: str = Field(min_length=1, max_length=60)
    address: str = Field(min_length=1, max_length=200)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class SeatPosition(Input):
    height: int = Field(ge=0, le=20)
    distance: int = Field(ge=0, le=20)
    recline: int = Field(ge=0, le=20)
    lumbar: int = Field(default=0, ge=0, le=10)


class PreferencesIn(Changes):
    """Send an empty list to clear presets or favourites; null is refused (a preference is never "unknown")."""

    radio_presets: list[str] = Field(default=None, max_length=12)
    navigation_favourites: list[NavigationFavourite] = Field(default=None, max_length=20)
    seat_position: SeatPosition = None
    preferred_contact: str = Field(default=None, pattern="^(email|phone|sms|app)$")


class PreferencesOut(Output):
    radio_presets: list[str]
    navigation_favourites: list[dict]
    seat_position: dict
    preferred_contact: str
    updated_at: datetime | None = None


class CustomerOut(Output):
    id: int
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    street: str | None = None
    postcode: str | None = None
    city: str | None
    country: str | None
    birth_date: date | None = None
    language: str
    market: str | None = None
    time_zone: str | None = None
    created_at: datetime


class CustomerSummary(Output):
    id: int
    first_name: str | None
    last_name: str | None
    email: str | None
    city: str | None


class CustomerPage(Output):
    items: list[CustomerSummary]
    total: int
    limit: int
    offset: int
    purpose: str
