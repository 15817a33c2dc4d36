"""Demo data: car sharing at the demo dealers — hubs with shared cars, bookings under way and past trips.

A hub at every dealer whose service staff have a demo login (the first German and the first Korean
dealer) and at a few more dealers, four cars each (electric and combustion), each car with its own
connected unit and a reading at the hub. The demo drivers (and a few others) have accepted the terms
and shown their licence; there is a booking on the road, one coming, a day-long test drive, and past
trips whose bills were computed from their recorded events.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from random import Random

from sqlalchemy import select
from sqlalchemy.orm import Session

from forecourt.core import references
from forecourt.customers.models import Customer
from forecourt.demo import driver, fleet, korea, korea_people
from forecourt.demo.workshop_loaners import _current_trims
from forecourt.parties.models import Organization, User
from forecourt.sharing import billing, hubs, profiles
from forecourt.sharing.models import Bill, CarSlot, Inspection, Reservation, TripEvent
from forecourt.sharing.reservations import _steps
from forecourt.telematics import devices
from forecourt.telematics.models import TwinSignal
from forecourt.telematics.readings import Source
from forecourt.vehicles.models import Vehicle

CARS_PER_HUB = 4
MORE_HUBS = 6


def _hub_dealers(session: Session) -> list[Organization]:
    emails = [login.email for login in korea.logins() if login.role == "dealer service"]
    from forecourt.demo import organizations

    emails.append(f"service@{organizations.first_dealer_slug()}.example")
    with_login = list(session.scalars(select(Organization).join(User, User.organization_id == Organization.id)
                                      .where(User.email.in_(emails))))
    more = list(session.scalars(select(Organization).where(Organization.kind == "dealer",
                                                           Organization.latitude.is_not(None),
                                                           Organization.id.not_in([d.id for d in with_login] or [0]))
                               .order_by(Organization.id).limit(MORE_HUBS)))
    return with_login + more


def _plate(rng: Random, dealer, taken: set[str], *, electric: bool) -> str:
    """A hub car carries its market's plate, like every other car of its dealer."""
    if dealer.market == "KR":
        return korea_people.towns()[0].registration(rng, taken, electric)
    return fleet.plate("SH", rng, taken, electric=electric)


def _car(session: Session, rng: Random, now: datetime, hub, dealer, trim, taken: set[str]) -> int:
    vehicle = Vehicle(vin="", trim_id=trim.id, model_year=now.year, colour=rng.choice(fleet.COLOURS),
                      registration=_plate(rng, dealer, taken, electric=trim.propulsion == "electric"),
                      selling_dealer_id=dealer.id, service_dealer_id=dealer.id,
                      created_at=now)
    session.add(vehicle)
    session.flush()
    vehicle.vin = fleet.vin(trim, now.year, vehicle.id)
    session.flush()
    devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin, vehicle_id=vehicle.id)
    energy = rng.randint(35, 95)
    path = "Vehicle.Powertrain.TractionBattery.StateOfCharge.Current" if trim.propulsion == "electric" \
        else "Vehicle.Powertrain.FuelSystem.RelativeLevel"
    for signal, value in (("Vehicle.CurrentLocation.Latitude", hub.latitude + rng.uniform(-0.0004, 0.0004)),
                          ("Vehicle.CurrentLocation.Longitude", hub.longitude + rng.uniform(-0.0004, 0.0004)),
                          ("Vehicle.TraveledDistance", float(rng.randint(800, 9000))), (path, energy),
                          ("Vehicle.IsMoving", False)):
        session.add(TwinSignal(vehicle_id=vehicle.id, path=signal, value=value, measured_at=now))
    return hubs.add_car(session=session, hub_id=hub.id, vehicle_id=vehicle.id).id


def _ready(session: Session, customer_id: int, checked_by: int | None, now: datetime) -> None:
    profiles.accept_terms(session=session, customer_id=customer_id)
    profiles.check_licence(session=session, customer_id=customer_id, checked_by_user_id=checked_by or 0,
                           number=f"DL{customer_id:08d}", expires_on=date(now.year + 6, 1, 31),
                           note="Seen at the desk")


def _booking(session: Session, *, hub, car_id: int, customer_id: int, kind: str, status: str, start: datetime,
             hours: float, now: datetime) -> Reservation:
    tariff = hubs.tariff_of(session=session, hub_id=hub.id, kind=kind)
    found = Reservation(number=references.fresh(session, Reservation.number, "SH", (4, 4)), customer_id=customer_id,
                        car_id=car_id, hub_id=hub.id, kind=kind, status=status, starts_at=start,
                        ends_at=start + timedelta(hours=hours), tariff=hubs.tariff_terms(tariff),
                        share_summary=kind == "test_drive", created_at=start - timedelta(hours=2))
    session.add(found)
    session.flush()
    if status in ("booked", "active"):
        session.add_all(CarSlot(car_id=car_id, starts_at=m, reservation_id=found.id)
                        for m in _steps(found.starts_at, found.ends_at))
    return found


def _trip(session: Session, rng: Random, reservation: Reservation, *, driven_minutes: list[tuple[int, int]],
          km: float, returned: bool) -> None:
    """Check-out, driving and parked spells, and (when ``returned``) the return and the bill."""
    start = reservation.starts_at + timedelta(minutes=rng.randint(0, 10))
    odometer = float(rng.randint(2000, 9000))
    events = [TripEvent(reservation_id=reservation.id, kind="check_out", at=start, odometer_km=odometer,
                        energy_percent=80)]
    for begin, length in driven_minutes:
        events.append(TripEvent(reservation_id=reservation.id, kind="driving", at=start + timedelta(minutes=begin)))
        events.append(TripEvent(reservation_id=reservation.id, kind="parked",
                                at=start + timedelta(minutes=begin + length)))
    session.add(Inspection(reservation_id=reservation.id, kind="check_out", at=start, odometer_km=odometer,
                           energy_percent=80))
    reservation.checked_out_at = start
    if returned:
        end = start + timedelta(minutes=driven_minutes[-1][0] + driven_minutes[-1][1] + rng.randint(3, 20))
        events.append(TripEvent(reservation_id=reservation.id, kind="return", at=end, odometer_km=odometer + km,
                                energy_percent=rng.randint(30, 70)))
        session.add(Inspection(reservation_id=reservation.id, kind="return", at=end, odometer_km=odometer + km,
                               energy_percent=events[-1].energy_percent))
        reservation.returned_at = end
    session.add_all(events)
    session.flush()
    if returned:
        computed = billing.recompute(session=session, reservation=reservation)
        session.add(Bill(reservation_id=reservation.id, number=references.fresh(session, Bill.number, "SB", (4, 4)),
                         hub_id=reservation.hub_id, customer_id=reservation.customer_id,
                         currency=computed["currency"], lines=computed["lines"], total=Decimal(computed["total"]),
                         created_at=reservation.returned_at))
        session.flush()


def build(*, session: Session, rng: Random, now: datetime) -> dict[str, int]:
    dealers = _hub_dealers(session)
    trims = [t for t, _model in _current_trims(session, now.year)]
    if not dealers or not trims:
        return {"sharing_hubs": 0, "sharing_cars": 0, "sharing_reservations": 0}
    now = now.replace(second=0, microsecond=0)
    taken: set[str] = set()
    drivers = [c.id for c in session.scalars(select(Customer).where(Customer.email.in_(
        [driver.EMAIL, korea.DRIVER_EMAIL])))]
    drivers += [c.id for c in session.scalars(select(Customer).where(Customer.id.not_in(drivers or [0]),
                                                                     Customer.erased_at.is_(None))
                                              .order_by(Customer.id).limit(12))]
    for customer_id in drivers:
        _ready(session, customer_id, None, now)
    made, cars_made, bookings = 0, 0, 0
    for index, dealer in enumerate(dealers):
        hub = hubs.create_hub(session=session, dealer_id=dealer.id, outside_return="fee" if index % 2 else "refuse")
        made += 1
        electric = [t for t in trims if t.propulsion == "electric"] or trims
        chosen = [rng.choice(electric)] + [rng.choice(trims) for _ in range(CARS_PER_HUB - 1)]
        car_ids = [_car(session, rng, now, hub, dealer, trim, taken) for trim in chosen]
        cars_made += len(car_ids)
        users = [driver_id for driver_id in drivers]
        who = lambda k: users[(index * 3 + k) % len(users)]  # noqa: E731
        # past trips, billed from their events
        for days_ago in (2, 5, 9):
            past = _booking(session, hub=hub, car_id=car_ids[days_ago % len(car_ids)], customer_id=who(days_ago),
                            kind="minute", status="closed", start=now - timedelta(days=days_ago, hours=3), hours=2,
                            now=now)
            _trip(session, rng, past, driven_minutes=[(2, rng.randint(10, 40)), (60, rng.randint(5, 30))],
                  km=rng.uniform(8, 60), returned=True)
            bookings += 1
        # on the road now
        active = _booking(session, hub=hub, car_id=car_ids[0], customer_id=who(0), kind="minute", status="active",
                          start=now - timedelta(minutes=40), hours=2, now=now)
        active.car_unlocked = True
        _trip(session, rng, active, driven_minutes=[(1, 25)], km=12.0, returned=False)
        # coming: a booking this afternoon and a day-long test drive tomorrow
        _booking(session, hub=hub, car_id=car_ids[1], customer_id=who(1), kind="minute", status="booked",
                 start=now + timedelta(hours=2), hours=3, now=now)
        _booking(session, hub=hub, car_id=car_ids[2], customer_id=who(2), kind="test_drive", status="booked",
                 start=now + timedelta(days=1), hours=24, now=now)
        bookings += 3
    session.flush()
    return {"sharing_hubs": made, "sharing_cars": cars_made, "sharing_reservations": bookings}
