"""Download my data and erasure: bookings, trips, photos and bills; bills and photos stay, unlinked."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from forecourt.core.clock import advance, frozen_at
from forecourt.privacy import rights
from forecourt.sharing import access, billing, trips
from forecourt.sharing.models import Bill, Photo, Reservation, SharingProfile, TripEvent
from forecourt.sharing.photos import PhotoStore
from tests.sharing import pictures
from tests.sharing.test_trips import booked_trip, vin_of
from tests.sharing.scene import report

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_export_has_the_trip_and_erasure_keeps_the_bill_and_photos_unlinked(make, session, tmp_path):
    with frozen_at(NOON):
        _dealer, hub, (car, _other), driver, reservation = booked_trip(make, session)
        code = access.issue_code(session=session, reservation=reservation)
        access.unlock_with_code(session=session, reservation=reservation, vin=vin_of(session, car), code=code)
        store = PhotoStore(tmp_path)
        trips.check_out(session=session, reservation=reservation, photos_taken=[pictures.png()], store=store)
        advance(timedelta(minutes=20))
        report(session, car.vehicle_id, odometer=1010.0)
        trips.return_car(session=session, reservation=reservation)
        bill = billing.bill(session=session, reservation=reservation)

        document = rights.export(session=session, customer_id=driver.id)
        booked = document["sharing_reservations"][0]
        assert booked["number"] == reservation.number
        assert [e["kind"] for e in booked["trip_events"]][:2] == ["unlock", "check_out"]
        photo = booked["photos"][0]
        assert photo["url"] == f"/sharing/photos/{photo['id']}" and photo["content_type"] == "image/png"
        assert hashlib.sha256(store.read(photo["sha256"])).hexdigest() == photo["sha256"]
        assert "data_base64" not in photo and booked["inspections"][0]["kind"] == "check_out"
        assert document["sharing_bills"][0]["number"] == bill.number and document["sharing_profiles"]

        result = rights.erase(session=session, customer_id=driver.id)
        kept = {item["what"]: item for item in result["kept"]}
        assert kept["sharing_bills"]["count"] == 1 and "tax" in kept["sharing_bills"]["why"]
        assert kept["sharing_photos"]["count"] == 1 and "no longer name you" in kept["sharing_photos"]["why"]
        assert result["removed"]["sharing_profile"] == 1
        kept_photo = session.get(Photo, photo["id"])
        assert kept_photo.reservation_id == reservation.id and store.read(kept_photo.checksum)
        assert session.scalar(select(func.count(SharingProfile.id)).where(SharingProfile.customer_id == driver.id)) == 0
        kept_bill = session.get(Bill, bill.id)
        assert kept_bill.customer_id is None and kept_bill.total == bill.total
        assert session.get(Reservation, reservation.id).customer_id is None
        # still reproducible from the recorded events
        assert billing.recompute(session=session, reservation=session.get(Reservation, reservation.id))["total"] == \
            str(bill.total)
        assert session.scalar(select(func.count(TripEvent.id)).where(TripEvent.reservation_id == reservation.id)) > 0
