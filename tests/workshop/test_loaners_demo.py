"""The demo's courtesy fleets: three unsold cars per workshop, some lent to upcoming appointments."""

from __future__ import annotations

from random import Random

from sqlalchemy import select

from forecourt.demo import fleet, workshop_loaners
from forecourt.vehicles import service as vehicles_service
from forecourt.workshop import booking
from forecourt.workshop.models import Loaner, LoanerBooking
from tests.workshop.booking_scene import SUNDAY_NOON, WEEKDAYS, utc
from tests.workshop.test_brief import frozen  # noqa: F401 - the fixture


def test_demo_fleet_and_loans(make, session, frozen):  # noqa: F811
    fleet.build_catalogue(session=session)
    dealer = make.dealer(opening_hours=WEEKDAYS, service_bays=2)
    owner = make.customer()
    car = make.vehicle(owner=owner, dealer=dealer)
    make.grant(owner, dealer, "service_reminders")
    from forecourt.customers import service as customers_service

    customers_service.update_preferences(session=session, customer_id=owner.id, changes=dict(radio_presets=["FFN"]))
    appointment = booking.book(session=session, dealer_id=dealer.id, vehicle_id=car.id, customer_id=owner.id, bay=1,
                               starts_at=utc(2, 9), job="inspection", source="owner")
    workshop_loaners.LENT_SHARE = 1.0
    try:
        counts = workshop_loaners.build(session=session, rng=Random(5), now=SUNDAY_NOON)
    finally:
        workshop_loaners.LENT_SHARE = 0.35
    mine = list(session.scalars(select(Loaner).where(Loaner.dealer_id == dealer.id)))
    assert len(mine) == 3 and counts["workshop_loaners"] >= 3
    propulsions = [vehicles_service.get(session=session, vehicle_id=loaner.vehicle_id).propulsion for loaner in mine]
    assert "electric" in propulsions and any(p != "electric" for p in propulsions)
    for loaner in mine:
        vehicle = vehicles_service.get(session=session, vehicle_id=loaner.vehicle_id)
        assert vehicle.selling_dealer_id == dealer.id
        assert vehicles_service.current_owner_id(session=session, vehicle_id=vehicle.id) is None
    lent = session.scalars(select(LoanerBooking).where(LoanerBooking.appointment_id == appointment.id)).one()
    assert lent.preset["radio_presets"] == ["FFN"]
    assert "Same propulsion" in lent.reason  # the owner's car is electric, and so is one loaner
    # the application can add rows after the demo's explicit ids
    assert make.vehicle().id > max(loaner.vehicle_id for loaner in mine)
