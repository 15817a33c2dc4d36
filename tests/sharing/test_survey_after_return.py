"""A shared car given back, by the minute or after a day-long test drive, asks the driver how it went: once
per return, and only when the hub's dealer holds the driver's sales-contact grant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from forecourt.core import events
from forecourt.core.clock import advance, frozen_at
from forecourt.core.outbox import OutboxMessage
from forecourt.engagement.nps.models import Survey
from forecourt.handlers import subscribe_all
from forecourt.sharing import access, trips
from forecourt.sharing.events import SharedCarReturned
from tests.sharing.scene import report
from tests.sharing.test_trips import booked_trip, vin_of

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # 14:00 in Berlin: the invitation leaves at once


def _drive_and_return(make, session, kind: str):
    dealer, _hub, (car, _other), driver, reservation = booked_trip(make, session, kind=kind)
    code = access.issue_code(session=session, reservation=reservation)
    access.unlock_with_code(session=session, reservation=reservation, vin=vin_of(session, car), code=code)
    trips.check_out(session=session, reservation=reservation)
    advance(timedelta(minutes=40))
    report(session, car.vehicle_id, odometer=1030.0)
    return dealer, car, driver, reservation


def _surveys(session, driver) -> list[Survey]:
    session.expire_all()
    return list(session.scalars(select(Survey).where(Survey.customer_id == driver.id)))


def test_a_minute_trip_returned_invites_the_driver_once_under_the_dealers_grant(session_factory, session, make):
    with frozen_at(NOON):
        subscribe_all(session_factory)
        dealer, car, driver, reservation = _drive_and_return(make, session, "minute")
        make.grant(driver, dealer, "sales_contact")
        trips.return_car(session=session, reservation=reservation)
        session.commit()
        [survey] = _surveys(session, driver)
        assert (survey.touchpoint, survey.subject_key, survey.organization_id, survey.vehicle_id) == (
            "sharing_return", f"sharing:{reservation.id}", dealer.id, None)
        [message] = session.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"nps:{survey.subject_key}"))
        assert message.basis == "sales_contact" and message.consent_organization_id == dealer.id
        again = session_factory()  # the event delivered a second time finds its survey
        events.publish(again, SharedCarReturned(reservation_id=reservation.id, customer_id=driver.id,
                                                dealer_id=dealer.id, vehicle_id=car.vehicle_id, kind="minute"))
        again.commit()
        again.close()
        assert [s.id for s in _surveys(session, driver)] == [survey.id]


def test_a_test_drive_returned_invites_too(session_factory, session, make):
    with frozen_at(NOON):
        subscribe_all(session_factory)
        dealer, _car, driver, reservation = _drive_and_return(make, session, "test_drive")
        make.grant(driver, dealer, "sales_contact")
        trips.return_car(session=session, reservation=reservation)
        session.commit()
        assert [s.subject_key for s in _surveys(session, driver)] == [f"sharing:{reservation.id}"]


def test_no_grant_no_survey(session_factory, session, make):
    with frozen_at(NOON):
        subscribe_all(session_factory)
        _dealer, _car, silent, minute = _drive_and_return(make, session, "minute")
        trips.return_car(session=session, reservation=minute)
        session.commit()
        assert _surveys(session, silent) == []
