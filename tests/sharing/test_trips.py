"""Reserve -> code -> unlock (a real command row) -> check-out -> drive -> return inside the area -> bill;
and every bad input refused with a clear error that changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from forecourt.core.clock import advance, frozen_at
from forecourt.core.errors import Conflict, Invalid
from forecourt.sales.models import Activity, FollowUp, Lead
from forecourt.sales import trials
from forecourt.sharing import access, billing, handlers, reservations, trips
from forecourt.sharing.events import ModelTrialBooked, ModelTrialReturned
from forecourt.sharing.models import TripEvent
from forecourt.telematics import commands, devices
from forecourt.telematics.commands import VehicleCommandFailed
from forecourt.telematics.readings import Source
from forecourt.vehicles import service as vehicles_service
from forecourt.sharing.photos import PhotoStore
from tests.sharing import pictures
from tests.sharing.scene import GATEWAY, hub_with_cars, ready_driver, report

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def booked_trip(make, session, kind="minute", **values):
    dealer, hub, cars = hub_with_cars(make, **values)
    for car in cars:
        vin = vehicles_service.get(session=session, vehicle_id=car.vehicle_id).vin
        devices.register(session=session, kind=Source.EMBEDDED, identifier=vin, vehicle_id=car.vehicle_id)
        report(session, car.vehicle_id, odometer=1000.0, charge=80, lat=hub.latitude, lon=hub.longitude, moving=False)
    driver = ready_driver(make)
    reservation = reservations.reserve(session=session, gateway=GATEWAY, customer_id=driver.id, car_id=cars[0].id,
                                       starts_at=NOON, hours=2, kind=kind, share_summary=kind == "test_drive")
    reservations.confirm(session=session, reservation=reservation)
    return dealer, hub, cars, driver, reservation


def vin_of(session, car):
    return vehicles_service.get(session=session, vehicle_id=car.vehicle_id).vin


def test_a_whole_trip_is_billed_from_its_events(make, session, tmp_path):
    with frozen_at(NOON):
        _dealer, hub, (car, other), _driver, reservation = booked_trip(make, session)
        code = access.issue_code(session=session, reservation=reservation)
        command_id = access.unlock_with_code(session=session, reservation=reservation, vin=vin_of(session, car),
                                             code=code)
        sent = commands.get(session=session, command_id=command_id)
        assert (sent.action, sent.reason, sent.transport) == ("unlock", f"sharing:{reservation.number}", "mqtt")
        trips.check_out(session=session, reservation=reservation, damage="Scratch on the rear bumper",
                        photos_taken=[pictures.jpeg()], store=PhotoStore(tmp_path))
        assert [d.description for d in trips.open_damage(session=session, car_id=car.id)] == [
            "Scratch on the rear bumper"]
        advance(timedelta(minutes=5))
        report(session, car.vehicle_id, moving=True)
        assert trips.follow(session=session) == 1
        advance(timedelta(minutes=40))
        report(session, car.vehicle_id, moving=False, odometer=1160.0, charge=20,
               lat=hub.latitude + 0.01, lon=hub.longitude)
        trips.follow(session=session)
        with pytest.raises(Conflict, match=r"is 9\d\d m outside the return area"):
            trips.return_car(session=session, reservation=reservation)
        assert reservation.status == "active"
        advance(timedelta(minutes=10))
        report(session, car.vehicle_id, lat=hub.latitude, lon=hub.longitude)
        trips.return_car(session=session, reservation=reservation)
        bill = billing.bill(session=session, reservation=reservation)
        codes = {line["code"]: line["amount"] for line in bill.lines}
        assert codes == {"unlock_fee": "1.00", "driving": "11.60", "parked": "1.35", "km_over": "15.00",
                         "low_energy": "10.00"}
        assert str(bill.total) == "38.95" and bill.currency == "EUR"
        again = billing.recompute(session=session, reservation=reservation)
        assert again["lines"] == bill.lines and again["total"] == str(bill.total)
        assert billing.bill(session=session, reservation=reservation).id == bill.id
        assert car.needs == "charge"


def test_bad_codes_double_unlock_and_return_without_check_out_are_refused(make, session):
    with frozen_at(NOON - timedelta(hours=1)):
        _dealer, _hub, (car, other), _driver, reservation = booked_trip(make, session)
        code = access.issue_code(session=session, reservation=reservation)
        with pytest.raises(Invalid, match="works from 15 minutes before"):
            access.unlock_with_code(session=session, reservation=reservation, vin=vin_of(session, car), code=code)
    with frozen_at(NOON):
        with pytest.raises(Invalid, match="for another car"):
            access.unlock_with_code(session=session, reservation=reservation, vin=vin_of(session, other), code=code)
        with pytest.raises(Invalid, match="not valid"):
            access.unlock_with_code(session=session, reservation=reservation, vin=vin_of(session, car),
                                    code="000000" if code != "000000" else "000001")
        with pytest.raises(Conflict, match="never checked out"):
            trips.return_car(session=session, reservation=reservation)
        assert session.scalar(select(func.count(TripEvent.id)).where(
            TripEvent.reservation_id == reservation.id)) == 0
        access.unlock_with_code(session=session, reservation=reservation, vin=vin_of(session, car), code=code)
        with pytest.raises(Conflict, match="already unlocked"):
            access.unlock_with_code(session=session, reservation=reservation, vin=vin_of(session, car), code=code)
    with frozen_at(NOON + timedelta(minutes=5)):
        access.lock(session=session, reservation=reservation)
        with pytest.raises(Conflict, match="already locked"):
            access.lock(session=session, reservation=reservation)


def test_a_code_after_the_booking_window_has_expired(make, session):
    with frozen_at(NOON):
        _dealer, _hub, (car, _other), _driver, reservation = booked_trip(make, session)
        code = access.issue_code(session=session, reservation=reservation)
    with frozen_at(NOON + timedelta(hours=2, minutes=1)):
        with pytest.raises(Invalid, match="has expired"):
            access.unlock_with_code(session=session, reservation=reservation, vin=vin_of(session, car), code=code)
        assert reservation.car_unlocked is False


def test_an_unlock_the_car_never_acknowledged_is_on_the_trip_for_driver_and_hub(make, session):
    with frozen_at(NOON):
        _dealer, _hub, (car, _other), _driver, reservation = booked_trip(make, session)
        code = access.issue_code(session=session, reservation=reservation)
        command_id = access.unlock_with_code(session=session, reservation=reservation, vin=vin_of(session, car),
                                             code=code)
        event = VehicleCommandFailed(command_id=command_id, vin=vin_of(session, car), action="unlock",
                                     reason=f"sharing:{reservation.number}", why="timed_out")
        handlers.on_command_failed(event, session=session)
        handlers.on_command_failed(event, session=session)  # delivered twice: recorded once
        problems = access.command_problems(session=session, reservation_ids=[reservation.id])
        assert [(p.detail["action"], p.detail["why"]) for p in problems] == [("unlock", "timed_out")]
        assert reservation.car_unlocked is False  # never assumed open


def test_a_day_long_test_drive_becomes_a_lead_then_a_follow_up_with_the_model_tried(make, session):
    with frozen_at(NOON):
        dealer, hub, (car, _other), driver, reservation = booked_trip(make, session, kind="test_drive")
        make.staff(dealer)  # the dealer's sales rep who will get the follow-up
        trials.on_trial_booked(ModelTrialBooked(reservation_id=reservation.id, customer_id=driver.id,
                                                dealer_id=dealer.id, model_id=car.model_id, allow_contact=True),
                               session=session)
        lead = session.scalars(select(Lead).where(Lead.customer_id == driver.id)).one()
        assert (lead.dealer_id, lead.source, lead.model_id) == (dealer.id, "test_drive", car.model_id)
        code = access.issue_code(session=session, reservation=reservation)
        access.unlock_with_code(session=session, reservation=reservation, vin=vin_of(session, car), code=code)
        trips.check_out(session=session, reservation=reservation)
        advance(timedelta(hours=20))
        report(session, car.vehicle_id, odometer=1240.0)
        trips.return_car(session=session, reservation=reservation)
        assert billing.bill(session=session, reservation=reservation).total == 0
        summary = trips.trip_summary(session=session, reservation=reservation)
        assert summary == {"days": 0.83, "km": 240.0}
        trials.on_trial_returned(ModelTrialReturned(reservation_id=reservation.id, customer_id=driver.id,
                                                    dealer_id=dealer.id, model_id=car.model_id, **summary),
                                 session=session)
        activity = session.scalars(select(Activity).where(Activity.customer_id == driver.id,
                                                          Activity.kind == "test_drive")).one()
        assert activity.model_id == car.model_id and "240.0 km" in activity.notes
        follow_up = session.scalars(select(FollowUp).where(FollowUp.customer_id == driver.id)).one()
        assert follow_up.organization_id == dealer.id and "test drive" in follow_up.title
