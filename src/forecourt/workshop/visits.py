"""Work on a booked car: a work order opened against one of the dealer's own appointments.

An appointment is the owner's own request — they booked it, or accepted a proposal with one click —
so a work order opened against it is the car's recorded mileage and the reason to read the car's
own odometer and its warranty under the owner's contract (``warranty_work``). The appointment must
be this dealer's, for this car, booked by its current owner, not cancelled, and begun (its time has
come, or the car was checked in): a booking next month does not put the car in the workshop today.

Writing anything on a car at all — a work order, a recall remedy, an extended-warranty offer — needs a
real relationship between the dealer and the car (``require_relationship``): the car is its stock, it
sold the car to the current owner, the owner chose it as their workshop, or the current owner booked
the car in there (any live or finished booking). Consent is not enough: a grant lets a dealer read and
contact, it does not put the car in its workshop. Without a relationship the car does not exist for
that dealer (404). A work order with a relationship but no begun appointment behind it reads nothing
of the owner's, sets no mileage and opens nothing (``vehicles.work_orders``).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.consent.service import Reference
from forecourt.core import events
from forecourt.core.auth import Principal
from forecourt.core.clock import as_utc, now
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.telematics import service as telematics_service
from forecourt.vehicles import service as vehicles_service
from forecourt.vehicles import work_orders
from forecourt.workshop import calendar
from forecourt.workshop.events import VisitClosed
from forecourt.workshop.models import Appointment

if TYPE_CHECKING:
    from forecourt.vehicles.models import ServiceRecord, Vehicle

WARRANTY_WORK = "warranty_work"
ODOMETER = "Vehicle.TraveledDistance"  # VSS, metres
WORKING = ("confirmed", "checked_in", "done")
OWNERS_SOURCES = ("owner", "proactive")


def _begun(appointment: Appointment) -> bool:
    return appointment.status in ("checked_in", "done") or as_utc(appointment.starts_at) <= now()


def _owners_request(session: Session, appointment: Appointment) -> bool:
    """Booked by the car's current owner (or accepted by them from a proposal), not made up by the workshop."""
    owner = vehicles_service.current_owner_id(session=session, vehicle_id=appointment.vehicle_id)
    return (appointment.source in OWNERS_SOURCES and appointment.customer_id is not None
            and appointment.customer_id == owner)


def appointment_for_work(*, session: Session, principal: Principal, vehicle_id: int, appointment_id: int,
                         performed_on: date | None = None) -> Appointment:
    """The caller's own appointment for this car that work may be recorded against, or why not."""
    appointment = calendar.get_for_dealer(session=session, principal=principal, appointment_id=appointment_id)
    if appointment.vehicle_id != vehicle_id:
        raise Invalid(_("Appointment %(id)s is for another car.", id=appointment.id), field="appointment_id")
    if appointment.status not in WORKING:
        raise Invalid(_("Appointment %(id)s was cancelled; no work can be recorded against it.", id=appointment.id),
                      field="appointment_id")
    if not _begun(appointment):
        raise Invalid(_("Appointment %(id)s has not begun yet; check the car in when it arrives.",
                        id=appointment.id), field="appointment_id")
    if not _owners_request(session, appointment):
        raise Invalid(_("Appointment %(id)s was not booked by the car's owner.", id=appointment.id),
                      field="appointment_id")
    if performed_on is not None and performed_on < calendar.local(appointment.starts_at).date():
        raise Invalid(_("The work is dated before appointment %(id)s.", id=appointment.id), field="performed_on")
    return appointment


def has_relationship(*, session: Session, principal: Principal, vehicle: Vehicle) -> bool:
    """Whether the caller's dealer may act on this car (see the module's docstring for the rule)."""
    dealer_id = principal.organization_id
    if dealer_id is None:
        return False
    ownership = vehicles_service.current_ownership(session=session, vehicle_id=vehicle.id)
    if ownership is None:
        return vehicles_service.in_stock_of(session=session, vehicle=vehicle, dealer_id=dealer_id)
    if dealer_id in (ownership.sold_by_dealer_id, vehicle.service_dealer_id):
        return True
    return session.scalars(select(Appointment.id).where(
        Appointment.dealer_id == dealer_id, Appointment.vehicle_id == vehicle.id,
        Appointment.customer_id == ownership.customer_id, Appointment.source.in_(OWNERS_SOURCES),
        Appointment.status.in_(WORKING)).limit(1)).first() is not None


def require_relationship(*, session: Session, principal: Principal, vehicle: Vehicle) -> Vehicle:
    """The car, or 404 as if it did not exist: a dealer with nothing to do with it learns nothing."""
    if not has_relationship(session=session, principal=principal, vehicle=vehicle):
        raise NotFound("Vehicle not found")
    return vehicle


def reference_for(*, session: Session, principal: Principal, appointment: Appointment) -> Reference:
    """The owner's booking as the reason to read the car under the warranty contract."""
    return Reference(purpose=WARRANTY_WORK, customer_id=appointment.customer_id,
                     organization_id=principal.organization_id, label=f"appointment {appointment.id}")


def _car_odometer_km(session: Session, vehicle_id: int) -> int | None:
    reading = telematics_service.twin_of(session=session, vehicle_id=vehicle_id).get(ODOMETER)
    if reading is None or not isinstance(reading[0], int | float) or isinstance(reading[0], bool):
        return None
    return int(reading[0] // 1000)


def record_work_order(*, session: Session, principal: Principal, vehicle_id: int, appointment_id: int | None,
                      performed_on: date, **work) -> ServiceRecord:
    """Write the work order; against an appointment, the car's own odometer checks the reading (a read
    of the owner's data under the contract, so it is in their access log)."""
    require_relationship(session=session, principal=principal,
                         vehicle=vehicles_service.get(session=session, vehicle_id=vehicle_id))
    odometer_from_car = None
    if appointment_id is not None:
        appointment = appointment_for_work(session=session, principal=principal, vehicle_id=vehicle_id,
                                           appointment_id=appointment_id, performed_on=performed_on)
        vehicle = vehicles_service.get(session=session, vehicle_id=vehicle_id)
        try:
            consent_service.require(session=session, principal=principal, customer_id=appointment.customer_id,
                                    purpose=WARRANTY_WORK, what=f"odometer check {vehicle.vin}",
                                    reference=reference_for(session=session, principal=principal,
                                                            appointment=appointment))
        except NotFound:
            raise NotFound("Appointment not found") from None  # not work this role does
        odometer_from_car = _car_odometer_km(session, vehicle_id)
    record = work_orders.record_work_order(session=session, principal=principal, vehicle_id=vehicle_id,
                                           performed_on=performed_on, odometer_from_car=odometer_from_car,
                                           appointment_id=appointment_id, **work)
    events.publish(session, VisitClosed(service_record_id=record.id, vehicle_id=record.vehicle_id,
                                        dealer_id=record.dealer_id, customer_id=record.customer_id))
    return record


def bookings_for_work(*, session: Session, principal: Principal, vehicle_id: int) -> list[Appointment]:
    """The caller's appointments for this car that a work order may be opened against, newest first."""
    if principal.organization_id is None:
        return []
    found = session.scalars(select(Appointment).where(
        Appointment.dealer_id == principal.organization_id, Appointment.vehicle_id == vehicle_id,
        Appointment.status.in_(WORKING)).order_by(Appointment.starts_at.desc()).limit(20))
    return [a for a in found if _begun(a) and _owners_request(session, a)]
