"""Demo data: the workshop — when the demo driver can come, a proposal waiting for her, and a calendar
with appointments over the coming days at the busiest dealers, so no page starts empty.

Only appointments, their bay slots, proposals and availability are written here; courtesy cars are
the advisor's part. Everything goes through the booking and proposal services, so the demo obeys the
same rules as the application (opening hours, bays, no double-booking) and stays small and fast.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from random import Random

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forecourt.core.clock import frozen_at
from forecourt.core.errors import Conflict, Invalid
from forecourt.customers.models import Customer
from forecourt.demo import driver
from forecourt.parties.models import Organization
from forecourt.vehicles.models import Ownership, Vehicle
from forecourt.workshop import booking, proposals
from forecourt.workshop.jobs import CATALOGUE, choices
from forecourt.workshop.models import Appointment, Availability, BaySlot, Proposal
from forecourt.workshop.slots import free_slots

DEALERS = 4  # the demo's first dealers get a calendar
PER_DEALER = 12  # appointments over the coming ten days
REASONS = {"inspection": "Annual inspection", "oil_service": "Oil service due", "diagnosis": "Warning light on",
           "brakes": "Brakes squeal when stopping", "tyres": "Change to summer tyres",
           "battery": "Slow to start in the mornings"}


def _driver_car(session: Session) -> tuple[int, int] | None:
    row = session.execute(select(Customer.id, Ownership.vehicle_id).join(
        Ownership, Ownership.customer_id == Customer.id).where(
        Customer.email == driver.EMAIL, Ownership.ended_at.is_(None)).order_by(Ownership.started_at.desc())).first()
    return (row[0], row[1]) if row else None


def _owned_cars(session: Session, dealer_id: int, rng: Random, count: int) -> list[tuple[int, int]]:
    rows = list(session.execute(select(Ownership.customer_id, Ownership.vehicle_id).join(
        Vehicle, Vehicle.id == Ownership.vehicle_id).where(
        Vehicle.service_dealer_id == dealer_id, Ownership.ended_at.is_(None)).order_by(Ownership.vehicle_id)
        .limit(count * 4)))
    rng.shuffle(rows)
    return rows[:count]


def _calendar(session: Session, rng: Random, dealer: Organization, now: datetime, skip: set[int]) -> int:
    booked = 0
    jobs = choices()
    for customer_id, vehicle_id in _owned_cars(session, dealer.id, rng, PER_DEALER):
        if vehicle_id in skip:
            continue  # the demo driver's car has its proposal waiting for her click
        job = rng.choice(jobs)
        after = now + timedelta(hours=rng.randint(2, 24 * 9))
        found = free_slots(session=session, dealer=dealer, job=job, after=after, days=3, limit=3)
        if not found:
            continue
        slot = rng.choice(found)
        try:
            booking.book(session=session, dealer_id=dealer.id, vehicle_id=vehicle_id, customer_id=customer_id,
                         bay=slot.bay, starts_at=slot.starts_at, job=job, source=rng.choice(("owner", "proactive")),
                         reason=REASONS[job.code])
        except (Conflict, Invalid):
            continue
        booked += 1
    return booked


def build(*, session: Session, rng: Random, now: datetime) -> dict[str, int]:
    """Writes the demo's workshop rows after customers, cars and consents exist; returns row counts by table."""
    with frozen_at(now):
        mine = _driver_car(session)
        if mine is not None:
            customer_id, vehicle_id = mine
            proposals.set_availability(session=session, customer_id=customer_id, windows=[
                (0, "07:30", "12:00"), (2, "07:30", "12:00"), (4, "13:00", "18:00"), (5, "09:00", "13:00")])
            proposals.propose(session=session, vehicle_id=vehicle_id, job=CATALOGUE["oil_service"],
                              reason="Service due in about 900 km", cause="service_due")
        dealers = list(session.scalars(select(Organization).where(
            Organization.kind == "dealer", Organization.service_bays > 0, Organization.market == "DE")
            .order_by(Organization.id).limit(DEALERS)))
        dealers += list(session.scalars(select(Organization).where(  # and every Korean dealer
            Organization.kind == "dealer", Organization.service_bays > 0, Organization.market == "KR")
            .order_by(Organization.id)))
        for dealer in dealers:
            _calendar(session, rng, dealer, now, {mine[1]} if mine else set())
        session.flush()
    return {table.__tablename__: session.scalar(select(func.count()).select_from(table))
            for table in (Appointment, BaySlot, Proposal, Availability)}
