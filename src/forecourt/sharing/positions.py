"""Where the hub's cars are, as far as the hub may know it.

A free car's position is the dealer's own. A car in a trip is where its renter is, which is the
renter's personal data: the hub's staff see it only while the trip is late, the car is reported
stolen, the car recorded a crash during the trip (telematics keeps crash events; On Call, which opens
the case, sits above car sharing and is not asked), or the renter allowed it — their grant of
"location services" to the hub's dealer, given and withdrawn on their booking page (the consent
ledger keeps each change). Late, stolen and crash rest on the rental contract ("car sharing"), the
booking being the reference; consent rests on the grant. Every position of a renter's car shown to
staff passes the consent door, so each is written to the renter's access log.

A theft report is made by the renter or the hub's service staff and cleared by the hub; both are in
the audit trail.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.consent import service as consent_service
from forecourt.core.auth import Principal, Role
from forecourt.core.clock import as_utc, now
from forecourt.core.errors import Conflict, NotFound
from forecourt.core.i18n import _
from forecourt.parties import service as parties_service
from forecourt.sharing import hubs, profiles, trips
from forecourt.sharing.models import CONTRACT_PURPOSE, Hub, Reservation, SharedCar
from forecourt.telematics import service as telematics_service

CONSENT_PURPOSE = "location_services"


def allows(*, session: Session, reservation: Reservation) -> bool:
    """Whether the renter lets the hub's dealer see where the car is."""
    if reservation.customer_id is None:
        return False
    hub = hubs.get_hub(session=session, hub_id=reservation.hub_id)
    return consent_service.active_grant(session=session, customer_id=reservation.customer_id,
                                        organization_id=hub.dealer_id, purpose_code=CONSENT_PURPOSE) is not None


def set_allowed(*, session: Session, reservation: Reservation, allowed: bool) -> None:
    """The renter allows or stops allowing the hub's dealer to see the car's position (a grant, with
    its receipt in the ledger)."""
    if reservation.customer_id is None:
        raise NotFound(_("Reservation not found"))
    hub = hubs.get_hub(session=session, hub_id=reservation.hub_id)
    if allowed:
        consent_service.give(session=session, customer_id=reservation.customer_id, organization_id=hub.dealer_id,
                             purpose_code=CONSENT_PURPOSE, method="sharing-booking")
    else:
        consent_service.withdraw(session=session, customer_id=reservation.customer_id,
                                 organization_id=hub.dealer_id, purpose_code=CONSENT_PURPOSE,
                                 method="sharing-booking")


def set_standing(*, session: Session, customer_id: int, allowed: bool) -> None:
    """The renter's standing wish, from their sharing page: applied now to every booking not yet over,
    and to each later one when it is booked (``on_booked``)."""
    profiles.set_position_sharing(session=session, customer_id=customer_id, allowed=allowed)
    for reservation in session.scalars(select(Reservation).where(
            Reservation.customer_id == customer_id, Reservation.status.in_(("held", "booked", "active")))):
        set_allowed(session=session, reservation=reservation, allowed=allowed)


def on_booked(*, session: Session, reservation: Reservation) -> None:
    profile = profiles.profile_of(session=session, customer_id=reservation.customer_id) \
        if reservation.customer_id is not None else None
    if profile is not None and profile.share_position:
        set_allowed(session=session, reservation=reservation, allowed=True)


def report_stolen(*, session: Session, principal: Principal, reservation: Reservation) -> Reservation:
    """The renter (their own booking) or the hub's staff (a booking at their hub) say the car is gone."""
    if reservation.status != "active":
        raise Conflict(_("Only a car out on a trip can be reported stolen."), field="status")
    if reservation.stolen_at is not None:
        raise Conflict(_("This car is already reported stolen."), field="status")
    reservation.stolen_at = now()
    parties_service.audit(session=session, actor=principal, action="sharing.reported_stolen",
                          target=f"sharing_reservation:{reservation.number}",
                          details={"car_id": reservation.car_id, "by": principal.role.value})
    session.flush()
    return reservation


def clear_stolen(*, session: Session, principal: Principal, reservation: Reservation) -> Reservation:
    """The hub found the car (or the report was a mistake): its position is the renter's again."""
    if reservation.stolen_at is None:
        raise Conflict(_("This car is not reported stolen."), field="status")
    reservation.stolen_at = None
    parties_service.audit(session=session, actor=principal, action="sharing.stolen_cleared",
                          target=f"sharing_reservation:{reservation.number}", details={"car_id": reservation.car_id})
    session.flush()
    return reservation


def _reason(booking: Reservation, crashed: set[int], vehicle_id: int, moment) -> str | None:
    if booking.stolen_at is not None:
        return "stolen"
    if vehicle_id in crashed:
        return "crash"
    if as_utc(booking.ends_at) < moment:
        return "late"
    return None


def _door(session: Session, principal: Principal, hub: Hub, booking: Reservation, why: str | None) -> str | None:
    """Opens the consent door for this renter's position, or says it stays shut (no log then)."""
    if booking.customer_id is None:
        return why  # erased: nobody's data any more
    what = f"sharing position {booking.number}"
    try:
        if why is not None:
            reference = consent_service.Reference(purpose=CONTRACT_PURPOSE, customer_id=booking.customer_id,
                                                  organization_id=hub.dealer_id, label=booking.number)
            consent_service.require(session=session, principal=principal, customer_id=booking.customer_id,
                                    purpose=CONTRACT_PURPOSE, what=what, reference=reference)
            return why
        consent_service.require(session=session, principal=principal, customer_id=booking.customer_id,
                                purpose=CONSENT_PURPOSE, what=what)
        return "consent"
    except NotFound:
        return None


def of_fleet(*, session: Session, principal: Principal, hub: Hub, cars: list[SharedCar], titles: dict) -> list[dict]:
    """Where each car is, where this member of the hub's staff may know it (see the module's words)."""
    if principal.role is not Role.DEALER_SERVICE or principal.organization_id != hub.dealer_id:
        return []
    moment = now()
    by_car = {r.car_id: r for r in session.scalars(select(Reservation).where(
        Reservation.car_id.in_([c.id for c in cars] or [0]), Reservation.status == "active"))}
    vehicle_of = {c.id: c.vehicle_id for c in cars}
    crashed = telematics_service.crashed_since(session=session, since={
        vehicle_of[car_id]: r.checked_out_at or r.starts_at for car_id, r in by_car.items()})
    where = trips.positions(session=session, vehicle_ids=[c.vehicle_id for c in cars])
    shown = []
    for car in cars:
        booking = by_car.get(car.id)
        if car.vehicle_id not in where:
            continue
        latitude, longitude = where[car.vehicle_id]
        why = "free"
        if booking is not None:
            why = _door(session, principal, hub, booking, _reason(booking, crashed, car.vehicle_id, moment))
            if why is None:
                continue
        shown.append({"car_id": car.id, "car": titles[car.id][0], "plate": titles[car.id][1],
                      "latitude": latitude, "longitude": longitude, "why": why,
                      "number": booking.number if booking is not None else None})
    return shown
