from __future__ import annotations

from datetime import date, datetime

from pydantic import ConfigDict, EmailStr, Field

from forecourt.consent.schemas import GrantOut
from forecourt.core.schemas import Changes, Day, Input, Output
from forecourt.vehicles.schemas import ServiceRecordOut, VehicleOut


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


class VehicleWithOwnership(Output):
    vehicle: VehicleOut
    owned_since: datetime
    owned_until: datetime | None


class Customer360(Output):
    customer: CustomerOut
    purpose: str
    categories: list[str]
    vehicles: list[VehicleWithOwnership]
    service_history: list[ServiceRecordOut]
    preferences: PreferencesOut | None
    # Under sales_history: configurations, test drives and visits, deals, orders, cars bought here.
    sales: dict | None = None
    consents: list[GrantOut]


class ExportedVehicle(Output):
    model_config = ConfigDict(extra="forbid")

    vin: str
    model: str
    trim: str
    model_year: int
    colour: str | None
    registration: str | None
    ownership: dict


class ExportDocument(Output):
    """The shape of "download my data". Checked on every export, so a section cannot silently go
    missing or change shape; its JSON Schema is published at /api/me/export/schema."""

    model_config = ConfigDict(extra="forbid")

    format: str
    exported_at: datetime
    customer: dict
    preferences: dict | None
    account: dict | None
    sessions: list[dict]
    vehicles: list[ExportedVehicle]
    ownerships: list[dict]
    service_records: list[dict]
    consent_grants: list[dict]
    consent_ledger: list[dict]
    access_log: list[dict]
    data_requests: list[dict]
    telemetry: dict[str, list[dict]]
    configurations: list[dict]
    leads: list[dict]
    opportunities: list[dict]
    sales_activities: list[dict]
    orders: list[dict]
    payments: list[dict]
    warranty_contracts: list[dict]
    warranty_offers: list[dict]
    ownership_transfers: list[dict]
    messages: list[dict]
    email_links: list[dict]
    workshop_appointments: list[dict]
    workshop_proposals: list[dict]
    workshop_availability: list[dict]
    workshop_loaner_bookings: list[dict]
    assist_cases: list[dict]
    assist_subscriptions: list[dict]
    assist_emergency_contacts: list[dict]
