from __future__ import annotations

from datetime import datetime

from pydantic import Field

from forecourt.core.schemas import Input, Output
from forecourt.telematics.readings import Source


class DeviceIn(Input):
    kind: Source
    identifier: str | None = Field(default=None, max_length=64,
                                   description="IMEI for a tracker, the app's id for a phone; an embedded "
                                               "unit always reports under its car's VIN")
    label: str | None = Field(default=None, max_length=100)


class PhoneIn(Input):
    identifier: str = Field(min_length=6, max_length=64, description="The device identifier the app shows")
    label: str | None = Field(default=None, max_length=100)


class DeviceOut(Output):
    id: int
    kind: str
    identifier: str
    label: str | None
    is_active: bool
    created_at: datetime
    last_seen_at: datetime | None


class NewDevice(DeviceOut):
    secret: str = Field(description="Shown once: the device's credential for the HTTP endpoint")


class PairedPhone(NewDevice):
    server_url: str = Field(description="Shown once: the server URL to enter in the phone app (Traccar Client); "
                                        "its last segment is the phone's token")


class RejectionCount(Output):
    channel: str
    reason: str
    count: int
    last_at: datetime


class FactorOut(Output):
    name: str
    label: str
    amount: float
    count: int | None
    penalty: float
    explanation: str


class DrivingScoreOut(Output):
    """The rolling driving score as ``score.rolling_score`` computes it: one shape for the car page and the
    insurer's API."""

    vehicle_id: int
    score: int | None
    since: datetime
    until: datetime
    trips: int
    distance_km: float
    driving_s: float
    factors: list[FactorOut]
    summary: str


class CommandOut(Output):
    """A command to the car and what became of it. ``status``: pending (not yet handed over), sent,
    acknowledged, refused (``answer`` says why, in the car's words) or timed_out (the car did not
    answer in time; ``late_result`` is an answer that came afterwards)."""

    id: int
    vin: str
    action: str
    status: str
    issued_at: datetime
    expires_at: datetime
    sent_at: datetime | None
    answered_at: datetime | None
    answer: str | None
    late_result: str | None
