"""Turning vehicle-health events into service proposals.

``DtcAppeared`` and ``ServiceDue`` are durable events: written with the health state that raised
them and delivered after its commit (by the detector process at once, else by the worker), in the
transaction that marks them delivered. ``propose`` is idempotent per car and cause, so a
redelivered event proposes once.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from forecourt.core import events
from forecourt.telematics.health import DtcAppeared, ServiceDue
from forecourt.vehicles import service as vehicles_service
from forecourt.workshop import proposals
from forecourt.workshop.jobs import job_for_fault, job_for_service


def on_dtc_appeared(event: DtcAppeared, *, session: Session) -> None:
    """A fault that needs a workshop proposes a diagnosis; one the driver can ignore proposes nothing.
    A red warning (stop safely) is urgent: the earliest free time is proposed, and why."""
    cause = f"dtc:{event.code}"
    if not event.needs_workshop or not proposals.needs_proposal(session=session, vehicle_id=event.vehicle_id,
                                                                cause=cause):
        return
    proposals.propose(session=session, vehicle_id=event.vehicle_id, job=job_for_fault(event.code),
                      reason=f"{event.description} (fault code {event.code})", cause=cause,
                      dtc_codes=(event.code,), urgent=event.severity == "stop_safely")


def on_service_due(event: ServiceDue, *, session: Session) -> None:
    if not proposals.needs_proposal(session=session, vehicle_id=event.vehicle_id, cause="service_due"):
        return
    vehicle = vehicles_service.get(session=session, vehicle_id=event.vehicle_id)
    reason = event.reason or ("Service overdue" if event.level == "overdue" else "Service due")
    proposals.propose(session=session, vehicle_id=event.vehicle_id, job=job_for_service(vehicle.propulsion),
                      reason=reason, cause="service_due")


def subscribe_handlers(registry: events.Handlers) -> None:
    registry.subscribe(DtcAppeared, "workshop.propose_for_fault", on_dtc_appeared)
    registry.subscribe(ServiceDue, "workshop.propose_service", on_service_due)
