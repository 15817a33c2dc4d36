"""Bodies of the service advisor's JSON routes: the calendar, the brief, loaners and check-in."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from forecourt.core.schemas import Input, Output
from forecourt.workshop.handovers import MAX_ODOMETER_KM, PHOTOS_LIMIT
from forecourt.workshop.symptoms import FINDINGS_LIMIT


class CalendarItemOut(Output):
    id: int
    bay: int
    starts_at: datetime  # dealer's local time (Europe/Berlin), with offset
    ends_at: datetime
    car: str
    job: str
    status: str
    has_dtcs: bool
    has_recalls: bool
    brief_url: str


class CalendarOut(Output):
    dealer_id: int
    day: date
    bays: list[int]
    opening_hours: list[list[str]]
    appointments: list[CalendarItemOut]


class CarOut(Output):
    vin: str
    model: str
    trim: str
    propulsion: str
    colour: str | None
    model_year: int
    registration: str | None


class DtcOut(Output):
    code: str
    description: str
    severity: str
    advice: str
    active: bool  # the car reports it now
    booked: bool  # it is why the appointment was made


class ServiceOut(Output):
    performed_on: date
    kind: str
    summary: str
    odometer_km: int
    operations: list[str]
    odometer_flag: str | None = None


class EtaOut(Output):
    km: float
    minutes: int
    age_minutes: int
    text: str
    stale: bool


class RecallFlagOut(Output):
    code: str
    title: str | None = None
    severity: str | None = None
    remedy: str | None = None


class CustomerCardOut(Output):
    name: str
    email: str | None = None
    phone: str | None = None
    preferred_contact: str | None = None


class SharedOut(Output):
    service: bool
    health: bool
    location: bool


class PresetOut(Output):
    radio_presets: list[str] = []
    navigation_favourites: list[dict] = []
    seat_position: dict = {}
    why: str


class LoanerBookingOut(Output):
    id: int
    appointment_id: int
    loaner_id: int
    vin: str
    car: str
    propulsion: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    tier: str | None = None  # interest | propulsion | any
    preset: PresetOut
    handed_over_at: datetime | None = None
    returned_at: datetime | None = None


class SymptomOut(Output):
    code: str
    label: str


class SymptomsOut(Output):
    what: list[SymptomOut]
    when: list[SymptomOut]
    notes: str


class FindingsIn(Input):
    findings: str = Field(min_length=1, max_length=FINDINGS_LIMIT)


class HandoverIn(Input):
    odometer_km: int = Field(ge=0, le=MAX_ODOMETER_KM)
    energy_percent: int = Field(ge=0, le=100, description="Fuel or charge level")
    damage_notes: str = Field("", max_length=2000)
    photos: list[str] = Field(default_factory=list, max_length=PHOTOS_LIMIT,
                              description="https:// links to the photos taken at the car")


class HandoverOut(Output):
    id: int
    booking_id: int
    kind: str  # handover | return
    odometer_km: int
    energy_percent: int
    damage_notes: str
    photos: list[str]
    late_minutes: int | None = None
    extra_km: int | None = None
    recorded_at: datetime


class LoanerHistoryBookingOut(Output):
    id: int
    appointment_id: int
    starts_at: datetime
    ends_at: datetime
    state: str  # booked | out | returned
    handover: HandoverOut | None
    returned: HandoverOut | None


class LoanerHistoryOut(Output):
    id: int
    vin: str
    car: str
    is_active: bool
    bookings: list[LoanerHistoryBookingOut]


class BriefOut(Output):
    id: int
    dealer_id: int
    bay: int
    starts_at: datetime
    ends_at: datetime
    status: str
    job: str
    reason: str
    car: CarOut
    shared: SharedOut
    customer: CustomerCardOut | None
    preferences: dict | None
    services: list[ServiceOut] | None
    dtcs: list[DtcOut] | None
    health: dict | None
    eta: EtaOut | None
    eta_text: str
    recalls: list[RecallFlagOut]
    warranty: dict
    loaner: LoanerBookingOut | None = None
    symptoms: SymptomsOut | None = None  # None: the owner shares neither service nor health with the dealer
    findings: str = ""
    findings_at: datetime | None = None


class LoanerOut(Output):
    id: int
    vin: str
    car: str
    propulsion: str
    colour: str | None
    is_active: bool
    out_until: datetime | None
    next_booking: datetime | None
    overdue: bool = False


class LoanerIn(Input):
    vin: str = Field(min_length=11, max_length=17)


class LoanerChange(Input):
    is_active: bool


class CheckInOut(Output):
    id: int
    status: str
    recalls: list[RecallFlagOut]
    message: str
