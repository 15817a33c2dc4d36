"""Turning vehicle-health events into service proposals.

Events arrive after the transaction that raised them committed, carrying ids only; each handler
opens its own unit of work, so a failing proposal never undoes the telemetry that caused it, and
``propose`` is idempotent per car and cause, so a redelivered event proposes once.
"""

from __future__ import annotations

from collections.abc import Callable
from sqlalchemy.orm import Session

from forecourt.core import events
from forecourt.core.db import transaction
from forecourt.telematics.health import DtcAppeared, ServiceDue
from forecourt.vehicles import service as vehicles_service
from forecourt.workshop import proposals
from forecourt.workshop.jobs import job_for_fault, job_for_service

def on_dtc_appeared(event: DtcAppeared, *, session: Session) -> None:
    """A fault that needs a workshop proposes a diagnosis; one the driver can ignore proposes nothing."""
    if not event.needs_workshop:
        return
    proposals.propose(session=session, vehicle_id=event.vehicle_id, job=job_for_fault(event.code),
                      reason=f"{event.description} (fault code {event.code})", cause=f"dtc:{event.code}",
                      dtc_codes=(event.code,))


def on_service_due(event: ServiceDue, *, session: Session) -> None:
    vehicle = vehicles_service.get(session=session, vehicle_id=event.vehicle_id)
    reason = event.reason or ("Service overdue" if event.level == "overdue" else "Service due")
    proposals.propose(session=session, vehicle_id=event.vehicle_id, job=job_for_service(vehicle.propulsion),
                      reason=reason, cause="service_due")


HANDLERS = {DtcAppeared: on_dtc_appeared, ServiceDue: on_service_due}


def subscribe_handlers(bus, session_factory: Callable[[], Session]) -> None:
    """Subscribes the workshop's handlers to ``bus`` once; a later call only swaps the session factory
    (the web app and the ingest worker each call this at start-up; tests build many apps)."""
    source, new = events.session_source(bus, "workshop", session_factory)
    if not new:
        return
    for event_type, handler in HANDLERS.items():
        bus.subscribe(event_type, _bound(source, handler))


def _cause(event) -> str | None:
    if isinstance(event, DtcAppeared):
        return f"dtc:{event.code}" if event.needs_workshop else None
    return "service_due"


def _bound(source: events.SessionSource, handler):
    def handle(event) -> None:
        cause = _cause(event)
        if cause is None:
            return
        # Look before taking SQLite's write lock: most events (a car with no owner, a fault already
        # proposed) need no write at all, and must not queue behind the ingest worker's batches.
        with transaction(source.factory) as session:
            if not proposals.needs_proposal(session=session, vehicle_id=event.vehicle_id, cause=cause):
                return
        # A write under contention (the ingest worker's batches): take SQLite's write lock up front.
        with transaction(source.factory, write=True) as session:
            handler(event, session=session)
    handle.__name__ = f"workshop.{handler.__name__}"
    return handle
