"""Telematics SOS and crash events become cases.

``VehicleSignalled`` for an SOS or a crash is a durable event: it is written with the reading and
delivered after the commit, first by the process that stored it, else by the worker. The handler
runs in the transaction that marks the event delivered, so a case is opened once in effect;
joining the car's open case makes a repeated alert harmless too.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from forecourt.assist import intake
from forecourt.core import events
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


def subscribe_handlers(registry: events.Handlers) -> None:
    registry.subscribe(VehicleSignalled, "assist.open_case", on_vehicle_signalled)
