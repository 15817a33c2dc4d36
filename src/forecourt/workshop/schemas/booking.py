"""Bodies of the owner's workshop routes: booking a service, proposals, slots and dealers."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field, field_validator

from forecourt.core.schemas import Id, Input, Moment, Output
from forecourt.workshop.symptoms import MAX_CODES, NOTES_LIMIT

_CLOCK = r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$"


class WindowIn(Input):
    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    from_time: str = Field(pattern=_CLOCK, description="HH:MM, local time")
    to_time: str = Field(pattern=_CLOCK)

    @field_validator("to_time")
    @classmethod
    def ends_after_start(cls, value: str, info) -> str:
        start = info.data.get("from_time")
        if start and value <= start:
            raise ValueError("the window must end after it begins")
        return value


class AvailabilityIn(Input):
    windows: list[WindowIn] = Field(default_factory=list, max_length=21)


class SymptomsIn(Input):
    """What the driver noticed: codes from ``workshop.symptoms`` (unknown ones are refused) and their words."""

    symptoms: list[str] = Field(default_factory=list, max_length=MAX_CODES,
                                description="noise, warning_light, vibration, smell, pulling, leak, smoke, "
                                            "hard_start; when: cold_start, braking, at_speed, turning, "
                                            "accelerating, idling, always")
    symptom_notes: str = Field("", max_length=NOTES_LIMIT, description="In the driver's words")


class AcceptIn(SymptomsIn):
    slot_index: int = Field(ge=0, le=50)


class BookingIn(SymptomsIn):
    job: str = Field(min_length=1, max_length=24)
    dealer_id: Id
    bay: int = Field(ge=1, le=200)
    starts_at: Moment


class RecallBookingIn(SymptomsIn):
    """One of the times offered for a recall's remedy (``GET /api/me/vehicles/{vin}/recalls``)."""

    dealer_id: Id
    bay: int = Field(ge=1, le=200)
    starts_at: Moment


class MoveIn(Input):
    bay: int = Field(ge=1, le=200)
    starts_at: Moment


class AutomaticBookingOut(Output):
    dealer_id: int
    granted: bool


class SlotOut(Output):
    starts_at: datetime
    ends_at: datetime
    bay: int
    label: str


class WindowOut(Output):
    weekday: int
    from_time: str
    to_time: str


class DealerOut(Output):
    id: int
    name: str
    street: str | None = None
    postcode: str | None = None
    city: str | None = None
    phone: str | None = None


class ProposalOut(Output):
    id: int
    vin: str
    job: str
    job_name: str
    reason: str
    dtc_codes: list[str]
    dealer: DealerOut
    slots: list[SlotOut]
    status: str
    expires_at: datetime
    urgent: bool = False


class AppointmentOut(Output):
    id: int
    vin: str
    job: str
    job_name: str
    reason: str
    dealer: DealerOut
    bay: int
    starts_at: datetime
    ends_at: datetime
    status: str
    symptoms: list[str] = []
    symptom_notes: str = ""
    auto_booked: bool = False
    move_to: list[SlotOut] = []


class ServiceOverviewOut(Output):
    proposals: list[ProposalOut]
    appointments: list[AppointmentOut]
    availability: list[WindowOut]
    automatic_dealers: list[int] = []


class SlotOfferOut(Output):
    dealer: DealerOut | None
    reason: str
    job: str
    slots: list[SlotOut]


class DealerSlotsOut(Output):
    dealer_id: int
    job: str
    duration_minutes: int
    slots: list[SlotOut]


class RecallOfferOut(Output):
    """One open recall on the owner's car: the booking already made for its fix, or free times to book."""

    code: str
    title: str
    severity: str
    critical: bool
    remedy: str | None = None
    labour_minutes: int | None = None
    booked: AppointmentOut | None = None
    dealer: DealerOut | None = None
    reason: str = ""
    slots: list[SlotOut] = []
