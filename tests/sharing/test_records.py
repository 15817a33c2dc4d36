"""Download my data and erasure: bookings, trips, photos and bills; bills stay, unlinked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from forecourt.core.clock import advance, frozen_at
from forecourt.privacy import rights
from forecourt.sharing import access, billing, trips
from forecourt.sharing.models import Bill, Photo, Reservation, SharingProfile, TripEvent
from tests.sharing.test_trips import booked_trip, vin_of
from tests.sharing.scene import report

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_export_has_the_trip_and_erasure_keeps_only_the_unlinked_bill(make, session):
    with frozen_at(NOON):
        _dealer, hub, (car, _other), driver, reservation = booked_trip(make, session)
        code = access.issue_code(session=session, reservation=reservation)
        access.unlock_with_code(session=session, reservation=reservation, vin=vin_of(session, car), code=code)
        trips.check_out(session=session, reservation=reservation, photos=[("image/png", b"\x89PNGpicture")])
        advance(timedelta(minutes=20))
        report(session, car.vehicle_id, odometer=1010.0)
        trips.return_car(session=session, reservation=reservation)
        bill = billing.bill(session=session, reservation=reservation)

        document = rights.export(session=session, customer_id=driver.id)
        booked = document["sharing_reservations"][0]
        assert booked["number"] == reservation.number
        assert [e["kind"] for e in booked["trip_events"]][:2] == ["unlock", "check_out"]
        assert booked["photos"][0]["data_base64"] and booked["inspections"][0]["kind"] == "check_out"
        assert document["sharing_bills"][0]["number"] == bill.number and document["sharing_profiles"]

        result = rights.erase(session=session, customer_id=driver.id)
        kept = {item["what"]: item for item in result["kept"]}
        assert kept["sharing_bills"]["count"] == 1 and "tax" in kept["sharing_bills"]["why"]
        assert result["removed"]["sharing_photos"] == 1 and result["removed"]["sharing_profile"] == 1
        assert session.scalar(select(func.count(Photo.id))) == 0
        assert session.scalar(select(func.count(SharingProfile.id)).where(SharingProfile.customer_id == driver.id)) == 0
        kept_bill = session.get(Bill, bill.id)
        assert kept_bill.customer_id is None and kept_bill.total == bill.total
        assert session.get(Reservation, reservation.id).customer_id is None
        # still reproducible from the recorded events
        assert billing.recompute(session=session, reservation=session.get(Reservation, reservation.id))["total"] == \
            str(bill.total)
        assert session.scalar(select(func.count(TripEvent.id)).where(TripEvent.reservation_id == reservation.id)) > 0
