"""The hub's desk: what the dealer's service staff do for car sharing.

Only the service staff of the hub's own dealer reach it (anyone else: not found). The desk works with
booking numbers, cars and times, never the driver's name or contact: the driver shows their booking in
the app. A booked car's position is the renter's personal data: the fleet map shows it only as
``sharing.positions`` allows (late, stolen, crash, or the renter's grant), each time logged.
Damage reports go reported -> repairing -> fixed, with their photos.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from forecourt.core.auth import Principal, Role
from forecourt.core.clock import as_utc, now
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.i18n import _
from forecourt.payments.providers import Gateway
from forecourt.sharing import access, billing, hubs, photos, positions, profiles
from forecourt.sharing.models import DamageReport, Hub, Reservation, SharedCar
from forecourt.vehicles import service as vehicles_service


def hub_of(*, session: Session, principal: Principal, hub_id: int | None = None) -> Hub:
    if principal.role is not Role.DEALER_SERVICE or principal.organization_id is None:
        raise NotFound(_("Hub not found"))
    own = hubs.hubs_of_dealer(session=session, dealer_id=principal.organization_id)
    chosen = [h for h in own if hub_id is None or h.id == hub_id]
    if not chosen:
        raise NotFound(_("Hub not found"))
    return chosen[0]


def reservation_at(*, session: Session, principal: Principal, number: str) -> Reservation:
    found = session.scalars(select(Reservation).where(Reservation.number == (number or "").strip().upper())).first()
    if found is None:
        raise NotFound(_("Reservation not found"))
    hub_of(session=session, principal=principal, hub_id=found.hub_id)
    return found


def car_at(*, session: Session, principal: Principal, car_id: int) -> SharedCar:
    car = session.get(SharedCar, car_id)
    if car is None:
        raise NotFound(_("Car not found"))
    hub_of(session=session, principal=principal, hub_id=car.hub_id)
    return car


def check_licence(*, session: Session, principal: Principal, number: str, licence_number: str,
                  expires_on: date, note: str = ""):
    """The driver of a booking at this hub showed their licence at the desk."""
    reservation = reservation_at(session=session, principal=principal, number=number)
    if reservation.customer_id is None:
        raise NotFound(_("Reservation not found"))
    return profiles.check_licence(session=session, customer_id=reservation.customer_id,
                                  checked_by_user_id=principal.user_id, number=licence_number,
                                  expires_on=expires_on, note=note)


def set_out_of_service(*, session: Session, principal: Principal, car_id: int, out: bool, note: str = "") -> SharedCar:
    car = car_at(session=session, principal=principal, car_id=car_id)
    return hubs.set_out_of_service(session=session, car_id=car.id, out=out, note=note)


def mark_ready(*, session: Session, principal: Principal, car_id: int) -> SharedCar:
    """Cleaned, charged or refuelled."""
    car = car_at(session=session, principal=principal, car_id=car_id)
    car.needs = ""
    session.flush()
    return car


DAMAGE_STATUSES = ("reported", "repairing", "fixed")


def set_damage_status(*, session: Session, principal: Principal, damage_id: int, status: str) -> DamageReport:
    """reported -> repairing -> fixed (or back, when a repair did not hold); a fixed report is no longer
    shown to the next driver at pick-up."""
    report = session.get(DamageReport, damage_id)
    if report is None:
        raise NotFound(_("Damage report not found"))
    car_at(session=session, principal=principal, car_id=report.car_id)
    if status not in DAMAGE_STATUSES:
        raise Invalid(_("Choose reported, being repaired or fixed."), field="status")
    if report.status != status:
        report.status, report.status_changed_at = status, now()
    session.flush()
    return report


def stolen(*, session: Session, principal: Principal, number: str, reported: bool) -> Reservation:
    reservation = reservation_at(session=session, principal=principal, number=number)
    if reported:
        return positions.report_stolen(session=session, principal=principal, reservation=reservation)
    return positions.clear_stolen(session=session, principal=principal, reservation=reservation)


def close(*, session: Session, gateway: Gateway, principal: Principal, number: str):
    reservation = reservation_at(session=session, principal=principal, number=number)
    return billing.close(session=session, gateway=gateway, principal=principal, reservation=reservation)


def _titles(session: Session, cars: list[SharedCar]) -> dict[int, tuple[str, str]]:
    """Each car's title and plate, for all of a hub's cars in one query."""
    vehicles = vehicles_service.get_many(session=session, vehicle_ids=[car.vehicle_id for car in cars])
    return {car.id: (vehicles[car.vehicle_id].title, vehicles[car.vehicle_id].registration
                     or vehicles[car.vehicle_id].vin) for car in cars}


def board(*, session: Session, principal: Principal, hub_id: int | None = None) -> dict:
    """Today's pick-ups and returns, cars to clean or charge, open damage, cars out of service, the map."""
    hub = hub_of(session=session, principal=principal, hub_id=hub_id)
    moment = now()
    day_end = moment + timedelta(hours=24)
    cars = hubs.cars_of_hub(session=session, hub_id=hub.id)
    titles = _titles(session, cars)
    live = list(session.scalars(select(Reservation).where(
        Reservation.hub_id == hub.id, Reservation.status.in_(("held", "booked", "active", "returned")),
        or_(and_(Reservation.starts_at < day_end, Reservation.status.in_(("held", "booked"))),
            and_(Reservation.ends_at < day_end, Reservation.status.in_(("active", "returned")))))
        .order_by(Reservation.starts_at)))

    def row(r: Reservation) -> dict:
        title, plate = titles.get(r.car_id, ("", ""))
        return {"number": r.number, "kind": r.kind, "status": r.status, "starts_at": as_utc(r.starts_at),
                "ends_at": as_utc(r.ends_at), "car": title, "plate": plate,
                "late": r.status == "active" and as_utc(r.ends_at) < moment}

    pick_ups = [row(r) for r in live if r.status in ("held", "booked")]
    returns = [row(r) for r in live if r.status in ("active", "returned")]
    problems = access.command_problems(session=session, reservation_ids=[r.id for r in live])
    damage = list(session.scalars(select(DamageReport).where(DamageReport.car_id.in_([c.id for c in cars] or [0]))
                                  .order_by(DamageReport.status == "fixed", DamageReport.reported_at.desc())
                                  .limit(100)))
    pictures = photos.of_damage(session=session, damage_ids=[d.id for d in damage])
    return {"hub": hub, "pick_ups": pick_ups, "returns": returns,
            "to_prepare": [{"car_id": c.id, "car": titles[c.id][0], "plate": titles[c.id][1], "needs": c.needs}
                           for c in cars if c.needs],
            "out_of_service": [{"car_id": c.id, "car": titles[c.id][0], "plate": titles[c.id][1],
                                "note": c.service_note} for c in cars if c.out_of_service],
            "cars": [{"car_id": c.id, "car": titles[c.id][0], "plate": titles[c.id][1],
                      "out_of_service": c.out_of_service} for c in cars],
            "damage": [{"id": d.id, "car": titles.get(d.car_id, ("", ""))[0], "description": d.description,
                        "status": d.status, "reported_at": as_utc(d.reported_at),
                        "photos": [p.id for p in pictures[d.id]]} for d in damage],
            "stolen": list(session.scalars(select(Reservation.number).where(
                Reservation.hub_id == hub.id, Reservation.status == "active", Reservation.stolen_at.is_not(None)))),
            "problems": [p.detail | {"at": as_utc(p.at)} for p in problems],
            "positions": positions.of_fleet(session=session, principal=principal, hub=hub, cars=cars,
                                            titles=titles)}


def fleet_cars(*, session: Session, principal: Principal) -> tuple[int, frozenset[int]]:
    """The hub whose fleet map a stream follows, and its cars' vehicle ids (anyone else: not found)."""
    hub = hub_of(session=session, principal=principal)
    return hub.id, frozenset(car.vehicle_id for car in hubs.cars_of_hub(session=session, hub_id=hub.id))


def live_positions(*, session: Session, principal: Principal, hub_id: int, vehicle_ids: set[int]) -> dict:
    """The fleet map's news of these cars, under the very rule of the board (``positions.of_fleet``): where each
    may be shown, and which may not be shown (any more) — a renter's position never leaves otherwise."""
    hub = hub_of(session=session, principal=principal, hub_id=hub_id)
    cars = [car for car in hubs.cars_of_hub(session=session, hub_id=hub.id) if car.vehicle_id in vehicle_ids]
    titles = _titles(session, cars)
    shown = positions.of_fleet(session=session, principal=principal, hub=hub, cars=cars, titles=titles)
    visible = {row["car_id"] for row in shown}
    return {"shown": [{"car_id": row["car_id"], "latitude": row["latitude"], "longitude": row["longitude"],
                       "name": f"{row['car']} {row['plate']}", "why": row["why"]} for row in shown],
            "hidden": [car.id for car in cars if car.id not in visible]}
