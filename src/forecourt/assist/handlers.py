"""Telematics SOS and crash events become cases.

``VehicleSignalled`` arrives after the telemetry's transaction committed; the handler opens its own
unit of work, so a failing case never undoes the telemetry and the telemetry never waits for the
case. Joining the car's open case makes a redelivered or repeated alert harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from sqlalchemy.orm import Session

from forecourt.assist import intake
from forecourt.core import events
from forecourt.core.db import transaction
from forecourt.telematics.ingest import VehicleSignalled

# Telematics event kinds (telematics.readings.VehicleEvent) that call for a person; a tow alarm or a
# power cut is theft territory, not On Call.
CASE_KINDS = {"sos": "sos", "crash": "crash"}


def on_vehicle_signalled(event: VehicleSignalled, *, session: Session) -> None:
    kind = CASE_KINDS.get(event.kind)
    if kind is None:
        return
    intake.raise_alert(session=session, vehicle_id=event.vehicle_id, kind=kind, source=event.source,
                       at=event.measured_at, latitude=event.latitude, longitude=event.longitude,
                       problems=event.problems)


def subscribe_handlers(bus, session_factory: Callable[[], Session]) -> None:
    """Subscribes once per bus; a later call only swaps the session factory (tests build many apps)."""
    source, new = events.session_source(bus, "assist", session_factory)
    if not new:
        return

    def handle(event: VehicleSignalled) -> None:
        if event.kind not in CASE_KINDS:
            return
        with transaction(source.factory, write=True) as session:
            on_vehicle_signalled(event, session=session)

    handle.__name__ = "assist.on_vehicle_signalled"
    bus.subscribe(VehicleSignalled, handle)
