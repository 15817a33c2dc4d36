"""The driver's pages and the app's API end to end (reserve -> book -> code -> unlock -> pick up -> drive ->
return -> bill), the hub desk and the carmaker's figures; refusals say why and change nothing."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from forecourt.core.auth import Role
from forecourt.sharing import trips
from forecourt.sharing.models import Reservation
from forecourt.telematics import devices
from forecourt.telematics.readings import Source
from forecourt.vehicles import service as vehicles_service
from tests.factories import admin_login, browser_for, csrf_token_of
from tests.sharing.scene import hub_with_cars, ready_driver, report


def fleet(make, session):
    dealer, hub, cars = hub_with_cars(make)
    for car in cars:
        vin = vehicles_service.get(session=session, vehicle_id=car.vehicle_id).vin
        devices.register(session=session, kind=Source.EMBEDDED, identifier=vin, vehicle_id=car.vehicle_id)
        report(session, car.vehicle_id, odometer=1000.0, charge=80, lat=hub.latitude, lon=hub.longitude, moving=False)
    session.commit()
    return dealer, hub, cars


def test_the_api_takes_a_driver_from_the_map_to_the_bill(make, session, client):
    dealer, hub, (car, other) = fleet(make, session)
    driver = ready_driver(make)
    session.commit()
    me = make.customer_login(driver)
    found = client.get("/api/sharing/hubs", params={"lat": hub.latitude, "lon": hub.longitude}).json()
    mine = next(h for h in found if h["hub_id"] == hub.id)
    offered = {c["car_id"]: c for c in mine["cars"]}
    assert set(offered) == {car.id, other.id}
    assert offered[car.id]["energy_percent"] == 80 and offered[car.id]["range_km"] == 336
    assert offered[car.id]["currency"] == "EUR" and offered[car.id]["per_minute"] == "0.29"

    tampered = client.post("/api/me/sharing/reservations", headers=me.headers,
                           json={"car_id": car.id, "hours": 1, "quoted_deposit": "1.00"})
    assert tampered.status_code == 409 and "price" in tampered.text
    made = client.post("/api/me/sharing/reservations", headers=me.headers,
                       json={"car_id": car.id, "hours": 1, "quoted_deposit": offered[car.id]["deposit"]})
    assert made.status_code == 201, made.text
    number = made.json()["number"]
    assert made.json()["status"] == "held"
    assert client.post(f"/api/me/sharing/reservations/{number}/confirm", headers=me.headers).json()["status"] == "booked"
    code = client.post(f"/api/me/sharing/reservations/{number}/code", headers=me.headers).json()["code"]
    other_vin = vehicles_service.get(session=session, vehicle_id=other.vehicle_id).vin
    wrong = client.post(f"/api/me/sharing/reservations/{number}/unlock", headers=me.headers,
                        json={"vin": other_vin, "code": code})
    assert wrong.status_code == 422 and "another car" in wrong.text
    vin = vehicles_service.get(session=session, vehicle_id=car.vehicle_id).vin
    opened = client.post(f"/api/me/sharing/reservations/{number}/unlock", headers=me.headers,
                         json={"vin": vin, "code": code})
    assert opened.status_code == 200 and opened.json()["status"] in ("pending", "sent")
    again = client.post(f"/api/me/sharing/reservations/{number}/unlock", headers=me.headers,
                        json={"vin": vin, "code": code})
    assert again.status_code == 409
    early_return = client.post(f"/api/me/sharing/reservations/{number}/return", headers=me.headers, json={})
    assert early_return.status_code == 409 and "never checked out" in early_return.text
    out = client.post(f"/api/me/sharing/reservations/{number}/check-out", headers=me.headers,
                      json={"damage": "Dent in the left door"})
    assert out.status_code == 200 and out.json()["status"] == "active"
    report(session, car.vehicle_id, odometer=1012.0, charge=70)
    session.commit()
    back = client.post(f"/api/me/sharing/reservations/{number}/return", headers=me.headers, json={})
    assert back.status_code == 200, back.text
    bill = back.json()["bill"]
    assert bill["currency"] == "EUR" and [line["code"] for line in bill["lines"]][0] == "unlock_fee"

    # the hub's service staff close it; a salesperson of the same dealer and another dealer's staff cannot
    advisor = make.staff(dealer, Role.DEALER_SERVICE)
    assert client.post(f"/api/hub/reservations/{number}/close", headers=make.staff(dealer).headers).status_code == 404
    assert client.post(f"/api/hub/reservations/{number}/close",
                       headers=make.staff(make.dealer(), Role.DEALER_SERVICE).headers).status_code == 404
    closed = client.post(f"/api/hub/reservations/{number}/close", headers=advisor.headers)
    assert closed.status_code == 200 and closed.json()["total"] == bill["total"]
    board = client.get("/api/hub/board", headers=advisor.headers).json()
    assert board["damage"][0]["description"] == "Dent in the left door"


def test_the_driver_pages_on_a_phone_reserve_open_drive_return_and_show_the_bill(make, session, client):
    dealer, hub, (car, _other) = fleet(make, session)
    driver = ready_driver(make)
    session.commit()
    browser = browser_for(make, make.customer_login(driver))
    page = browser.get("/sharing", params={"lat": hub.latitude, "lon": hub.longitude})
    assert page.status_code == 200 and hub.name in page.text and "Reserve" in page.text
    token = csrf_token_of(session, browser)
    made = browser.post("/me/sharing/reserve", data={"csrf_token": token, "car_id": car.id, "hours": "1",
                                                     "quoted_deposit": "100.00"}, follow_redirects=False)
    assert made.status_code == 303 and "/me/sharing/SH-" in made.headers["location"]
    url = made.headers["location"].split("?")[0]
    number = url.rsplit("/", 1)[1]
    assert browser.post(f"{url}/confirm", data={"csrf_token": token}).status_code == 200
    coded = browser.post(f"{url}/code", data={"csrf_token": token}, follow_redirects=False)
    code = coded.headers["location"].split("code=")[1]
    vin = vehicles_service.get(session=session, vehicle_id=car.vehicle_id).vin
    opened = browser.post(f"{url}/unlock", data={"csrf_token": token, "vin": vin, "code": code})
    assert "asked to unlock" in opened.text
    browser.post(f"{url}/check-out", data={"csrf_token": token, "damage": ""})
    report(session, car.vehicle_id, lat=hub.latitude + 0.02)
    session.commit()
    refused = browser.post(f"{url}/return", data={"csrf_token": token})
    assert "outside the return area" in refused.text
    assert session.scalars(select(Reservation).where(Reservation.number == number)).one().status == "active"
    report(session, car.vehicle_id, lat=hub.latitude, odometer=1030.0)
    session.commit()
    returned = browser.post(f"{url}/return", data={"csrf_token": token})
    assert returned.status_code == 200 and 'id="bill-total"' in returned.text
    # someone else's booking does not exist for another driver
    stranger = browser_for(make, make.customer_login(make.customer()))
    assert stranger.get(url).status_code == 404


def test_the_hub_desk_and_the_carmaker_figures_open_only_to_their_people(make, session, client):
    dealer, hub, (car, _other) = fleet(make, session)
    advisor = make.staff(dealer, Role.DEALER_SERVICE)
    desk = browser_for(make, advisor)
    page = desk.get("/workspace/hub")
    assert page.status_code == 200 and hub.name in page.text
    token = csrf_token_of(session, desk)
    desk.post(f"/workspace/hub/cars/{car.id}/service", data={"csrf_token": token, "out_of_service": "yes",
                                                            "note": "Windscreen"})
    session.expire_all()
    assert trips.hubs.get_car(session=session, car_id=car.id).out_of_service is True
    assert browser_for(make, make.staff(dealer)).get("/workspace/hub").status_code == 404
    admin = browser_for(make, admin_login(make))
    figures = admin.get("/admin/sharing")
    assert figures.status_code == 200 and "Utilisation per hub and model" in figures.text
    assert desk.get("/admin/sharing").status_code == 404


def test_licence_is_checked_once_at_the_desk_by_booking_number(make, session, client):
    dealer, hub, (car, _other) = fleet(make, session)
    driver = make.customer()
    from forecourt.sharing import profiles, reservations
    from tests.sharing.scene import GATEWAY

    profiles.accept_terms(session=session, customer_id=driver.id)
    profiles.check_licence(session=session, customer_id=driver.id, checked_by_user_id=1, number="OLD1234",
                           expires_on=date.today() + timedelta(days=1))
    found = reservations.reserve(session=session, gateway=GATEWAY, customer_id=driver.id, car_id=car.id,
                                 starts_at=None, hours=1)
    session.commit()
    advisor = make.staff(dealer, Role.DEALER_SERVICE)
    answer = client.post(f"/api/hub/reservations/{found.number}/licence", headers=advisor.headers,
                         json={"number": "B072RRE2I55", "expires_on": str(date.today() + timedelta(days=800))})
    assert answer.status_code == 204
    assert profiles.profile_of(session=session, customer_id=driver.id).licence_number == "B072RRE2I55"
    expired = client.post(f"/api/hub/reservations/{found.number}/licence", headers=advisor.headers,
                          json={"number": "B072RRE2I55", "expires_on": str(date.today() - timedelta(days=1))})
    assert expired.status_code == 422
