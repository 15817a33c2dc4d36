"""A car on a trip is where its renter is: the hub's fleet map shows it only while the trip is late, the car
is reported stolen or recorded a crash, or while the renter allows it; each time it is shown, the renter's
access log says who looked and why. A theft report is audited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from forecourt.consent.models import AccessLogEntry
from forecourt.core.auth import Role
from forecourt.core.clock import advance, frozen_at
from forecourt.parties.models import AuditEntry
from forecourt.sharing import access, positions, reservations, trips
from forecourt.sharing.models import Reservation
from forecourt.telematics.models import VehicleEventRecord
from tests.factories import browser_for, csrf_token_of
from tests.sharing.scene import GATEWAY
from tests.sharing.test_trips import booked_trip, vin_of

NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _on_the_road(make, session):
    dealer, hub, (car, other), driver, reservation = booked_trip(make, session)
    code = access.issue_code(session=session, reservation=reservation)
    access.unlock_with_code(session=session, reservation=reservation, vin=vin_of(session, car), code=code)
    trips.check_out(session=session, reservation=reservation)
    session.commit()
    return dealer, car, other, driver, reservation


def _shown(client, advisor) -> dict[int, str]:
    board = client.get("/api/hub/board", headers=advisor.headers)
    assert board.status_code == 200, board.text
    return {p["car_id"]: p["why"] for p in board.json()["positions"]}


def _log(session, driver) -> list[tuple[str, str | None]]:
    session.expire_all()
    return [(row.purpose_code, row.reference) for row in session.scalars(
        select(AccessLogEntry).where(AccessLogEntry.customer_id == driver.id).order_by(AccessLogEntry.id))]


def test_a_booked_car_is_hidden_until_the_renter_allows_it_and_hidden_again_when_they_stop(make, session, client):
    with frozen_at(NOON):
        dealer, car, other, driver, reservation = _on_the_road(make, session)
        advisor = make.staff(dealer, Role.DEALER_SERVICE)
        assert _shown(client, advisor) == {other.id: "free"}
        assert _log(session, driver) == []
        me = make.customer_login(driver)
        url = f"/api/me/sharing/reservations/{reservation.number}/position"
        assert client.put(url, headers=me.headers).status_code == 204
        assert _shown(client, advisor) == {other.id: "free", car.id: "consent"}
        assert _log(session, driver) == [("location_services", None)]
        assert client.delete(url, headers=me.headers).status_code == 204
        assert _shown(client, advisor) == {other.id: "free"}
        assert _log(session, driver) == [("location_services", None)]  # nothing read, nothing logged
        # another dealer's advisor never sees the hub's cars at all
        assert client.get("/api/hub/board",
                          headers=make.staff(make.dealer(), Role.DEALER_SERVICE).headers).status_code == 404


def test_a_late_trip_shows_the_car_under_the_rental_contract_and_logs_each_read(make, session, client):
    with frozen_at(NOON):
        dealer, car, _other, driver, reservation = _on_the_road(make, session)
        advisor = make.staff(dealer, Role.DEALER_SERVICE)
        assert car.id not in _shown(client, advisor)
        advance(timedelta(hours=2, minutes=1))  # the two-hour booking is over, the car not back
        advisor = make.staff(dealer, Role.DEALER_SERVICE)  # a fresh login: the first one's token has expired
        assert _shown(client, advisor)[car.id] == "late"
        assert _shown(client, advisor)[car.id] == "late"
        assert _log(session, driver) == [("car_sharing", reservation.number)] * 2


def test_a_crash_recorded_during_the_trip_shows_the_car_an_earlier_one_does_not(make, session, client):
    with frozen_at(NOON):
        dealer, car, _other, driver, reservation = _on_the_road(make, session)
        advisor = make.staff(dealer, Role.DEALER_SERVICE)
        session.add(VehicleEventRecord(vehicle_id=car.vehicle_id, kind="crash", measured_at=NOON - timedelta(days=3),
                                       source="embedded", message_key="old-crash"))
        session.commit()
        assert car.id not in _shown(client, advisor)
        advance(timedelta(minutes=30))
        session.add(VehicleEventRecord(vehicle_id=car.vehicle_id, kind="crash", measured_at=NOON + timedelta(minutes=29),
                                       latitude=53.55, longitude=9.99, source="embedded", message_key="crash-now"))
        session.commit()
        assert _shown(client, advisor)[car.id] == "crash"
        assert _log(session, driver) == [("car_sharing", reservation.number)]


def test_the_renter_reports_the_car_stolen_and_the_hub_clears_it_both_audited(make, session, client):
    with frozen_at(NOON):
        dealer, car, _other, driver, reservation = _on_the_road(make, session)
        advisor = make.staff(dealer, Role.DEALER_SERVICE)
        stranger = make.customer_login(make.customer())
        url = f"/api/me/sharing/reservations/{reservation.number}/stolen"
        assert client.post(url, headers=stranger.headers).status_code == 404
        assert client.post(url, headers=make.customer_login(driver).headers).status_code == 200
        assert client.post(url, headers=make.customer_login(driver).headers).status_code == 409  # once
        assert _shown(client, advisor)[car.id] == "stolen"
        board = client.get("/api/hub/board", headers=advisor.headers).json()
        assert board["stolen"] == [reservation.number]
        desk_page = browser_for(make, advisor)
        token = csrf_token_of(session, desk_page)
        cleared = desk_page.post("/workspace/hub/stolen", data={"csrf_token": token, "number": reservation.number,
                                                                "stolen": "no"})
        assert cleared.status_code == 200 and "theft report is cleared" in cleared.text
        assert car.id not in _shown(client, advisor)
        unknown = desk_page.post("/workspace/hub/stolen", data={"csrf_token": token, "number": "SH-NOPE"})
        assert "No booking at this hub has that number" in unknown.text
        session.expire_all()
        actions = [(a.action, a.target) for a in session.scalars(select(AuditEntry).where(
            AuditEntry.target == f"sharing_reservation:{reservation.number}").order_by(AuditEntry.id))]
        assert actions == [("sharing.reported_stolen", f"sharing_reservation:{reservation.number}"),
                           ("sharing.stolen_cleared", f"sharing_reservation:{reservation.number}")]
        assert session.get(Reservation, reservation.id).stolen_at is None
        assert _log(session, driver) == [("car_sharing", reservation.number)] * 2  # the two board reads


def test_a_standing_permission_becomes_a_grant_at_each_booking(make, session, client):
    with frozen_at(NOON):
        _dealer, _hub, (_car, other), driver, reservation = booked_trip(make, session)
        assert positions.allows(session=session, reservation=reservation) is False
        positions.set_standing(session=session, customer_id=driver.id, allowed=True)
        assert positions.allows(session=session, reservation=reservation) is True
        positions.set_standing(session=session, customer_id=driver.id, allowed=False)
        assert positions.allows(session=session, reservation=reservation) is False
        positions.set_standing(session=session, customer_id=driver.id, allowed=True)
        reservations.cancel(session=session, reservation=reservation)
        positions.set_allowed(session=session, reservation=reservation, allowed=False)
        later = reservations.reserve(session=session, gateway=GATEWAY, customer_id=driver.id, car_id=other.id,
                                     starts_at=NOON + timedelta(days=1), hours=1)
        assert positions.allows(session=session, reservation=later) is False  # held: not yet a booking
        reservations.confirm(session=session, reservation=later)
        assert positions.allows(session=session, reservation=later) is True
