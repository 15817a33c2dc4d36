"""What the On Call case API takes and gives: cases, their timeline and SLA timers, the agent's actions."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from forecourt.core.schemas import Input, Output


class NoteIn(Input):
    text: str = Field(min_length=1, max_length=4000)


class ResolveIn(Input):
    resolution: str = Field(description="help_arrived | driver_ok | false_alarm | test_call | towed | "
                                        "handed_to_emergency_services | no_contact")
    note: str = Field(default="", max_length=4000)


class CaseEventOut(Output):
    id: int
    kind: str
    at: datetime
    user_id: int | None
    text: str
    details: dict


class Timer(BaseModel):
    seconds: int
    target_seconds: int
    running: bool
    overdue: bool


class Sla(BaseModel):
    acknowledge: Timer
    dispatch: Timer


class CaseOut(Output):
    id: int
    number: str
    kind: str
    priority: int
    status: str
    resolution: str | None
    source: str
    activation: str | None
    test_call: bool
    latitude: float | None
    longitude: float | None
    position_trusted: bool | None
    heading: float | None
    passengers: int | None
    track: list
    problems: list
    vehicle_data: dict | None = None
    agent_user_id: int | None
    opened_at: datetime
    last_alert_at: datetime
    acknowledged_at: datetime | None
    dispatched_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    sla: Sla | None = None


class CaseVehicleOut(BaseModel):
    vin: str
    model: str
    trim: str
    model_year: int
    colour: str | None
    propulsion: str
    registration: str | None


class EmergencyContactOut(Output):
    name: str
    phone: str
    relation: str


class CaseCustomerOut(BaseModel):
    """The owner at the time of the alert, read under vital interest for this case (and logged)."""

    id: int
    first_name: str | None
    last_name: str | None
    phone: str | None
    email: str | None
    language: str
    emergency_contacts: list[EmergencyContactOut] = []


class CaseDetailOut(BaseModel):
    case: CaseOut
    vehicle: CaseVehicleOut
    customer: CaseCustomerOut | None
    subscription: dict | None = None
    timeline: list[CaseEventOut]


class EcallAccepted(BaseModel):
    case: str
    status: str
    problems: list[str]


class SosIn(Input):
    """The driver's SOS from the phone app: the phone's position where it has one (the car's last known
    position is used otherwise, and the agent is told)."""

    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000,
                                     description="The position's accuracy in metres, as the phone reports it.")


class HelpComingOut(Output):
    kind: str
    help: str
    provider: str
    phone: str | None
    eta_minutes: int | None
    eta: str
    declined: bool


class DriverCaseOut(Output):
    number: str
    status: str
    in_words: str
    opened_at: datetime
    vin: str
    latitude: float | None
    longitude: float | None
    position_trusted: bool | None
    open: bool
    coming: list[HelpComingOut]
