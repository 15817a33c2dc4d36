"""What the privacy layer answers with: the customer 360 and the "download my data" document, composed of
the domains' own shapes."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict

from forecourt.consent.schemas import GrantOut
from forecourt.core.schemas import Output
from forecourt.customers.schemas import CustomerOut, PreferencesOut
from forecourt.vehicles.schemas.cars import ServiceRecordOut, VehicleOut


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
    follow_ups: list[dict]  # what a dealer noted to do for the person, with its due day
    finance_contracts: list[dict]  # loans and leases finance partners recorded for the person's cars
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
    nps_surveys: list[dict]  # satisfaction surveys sent after a visit, a delivery or an On Call case
    nps_responses: list[dict]
    nps_topics: list[dict]
    nps_follow_ups: list[dict]
    sharing_profiles: list[dict]
    sharing_reservations: list[dict]
    sharing_bills: list[dict]
    # coordinated engagement: occasions, messages with their offers' senders, responses, contacts, channel choice
    engagement_occasions: list[dict]
    engagement_messages: list[dict]
    engagement_responses: list[dict]
    engagement_contacts: list[dict]
    engagement_contact_choice: dict | None
