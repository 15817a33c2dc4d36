"""Request and response bodies of the dispatch routes."""

from __future__ import annotations

from datetime import datetime, time
from typing import Literal

from pydantic import Field

from forecourt.core.schemas import Id, Input, Output


class DispatchIn(Input):
    """One click in the console: which provider, sent as what (tow | dealer | emergency)."""

    provider_id: Id
    kind: str


class DispatchOut(Output):
    id: int
    case_id: int
    provider_id: int
    kind: str
    distance_km: float
    eta_minutes: int
    destination_dealer_id: int | None
    dispatched_at: datetime
    dispatched_by: int | None
    arrived_at: datetime | None
    status: str
    answer: str | None = None
    answered_at: datetime | None = None
    answer_note: str | None = None


class DispatchAnswerIn(Input):
    """The provider's word: on its way (with its own ETA if it has one), or not coming."""

    answer: Literal["accepted", "declined"]
    note: str | None = Field(default=None, max_length=500)
    eta_minutes: int | None = Field(default=None, ge=0, le=24 * 60)


class WebhookIn(Input):
    url: str = Field(max_length=500)


class WebhookOut(Output):
    """Shown once, when set or rotated: the secret to verify our signatures with."""

    organization_id: int
    url: str
    secret: str
    created_at: datetime


class AvailabilityOut(Output):
    """``open`` (``around_the_clock`` or by its hours), ``closed`` until ``opens_at`` (UTC; ``opens_local`` on the
    provider's own clock; both empty when its hours never open), or ``at_capacity`` (``busy`` of ``capacity``)."""

    state: str
    around_the_clock: bool
    opens_at: datetime | None
    opens_local: time | None
    busy: int
    capacity: int | None


class ProviderOut(Output):
    provider_id: int
    kind: str
    name: str
    city: str | None
    phone: str | None
    latitude: float
    longitude: float
    distance_km: float
    eta_minutes: int
    eta: str
    availability: AvailabilityOut


class UnavailableOut(Output):
    dealers: list[ProviderOut]
    towing: list[ProviderOut]
    emergency: list[ProviderOut]


class ProvidersOut(Output):
    case: str
    latitude: float | None
    longitude: float | None
    problem: str | None
    dealers: list[ProviderOut]
    towing: list[ProviderOut]
    emergency: list[ProviderOut]
    unavailable: UnavailableOut  # the nearer providers skipped, each with why


class IncomingCustomer(Output):
    name: str
    phone: str | None
    email: str | None


class IncomingOut(Output):
    dispatch_id: int
    case: str
    case_kind: str
    vin: str
    model: str
    colour: str | None
    propulsion: str
    towed_by: str | None
    dispatched_at: datetime
    eta_minutes: int
    eta: str
    # "from" is a Python keyword: the JSON field is ``from`` ("near Hamburg, 23 km away")
    origin: str = Field(validation_alias="from", serialization_alias="from")
    customer: IncomingCustomer | None = None
