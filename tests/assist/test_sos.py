"""SOS from the driver's phone: the owner's press opens a case the agents see, with the phone's position or,
failing that, the car's last known one (flagged for the agent); nobody else can press it for the car; the
driver follows the help on its way."""

from __future__ import annotations

from sqlalchemy import select

from forecourt.assist.models import Case, Dispatch
from forecourt.core.clock import now
from forecourt.telematics.models import Position
from tests.factories import browser_for, csrf_token_of, fast_password_hashing  # noqa: F401  (autouse fixture)


def _cases(session, vehicle_id) -> list[Case]:
    session.expire_all()
    return list(session.scalars(select(Case).where(Case.vehicle_id == vehicle_id)))


def test_the_owner_presses_sos_on_the_page_and_follows_the_help(make, client, session):
    owner = make.customer()
    car = make.vehicle(owner=owner)
    session.commit()
    browser = browser_for(make, make.customer_login(owner))
    page = browser.get("/me/on-call")
    assert "SOS — call for help" in page.text and f'action="/me/on-call/{car.vin}/sos"' in page.text

    pressed = browser.post(f"/me/on-call/{car.vin}/sos", follow_redirects=False, data={
        "csrf_token": csrf_token_of(session, browser), "latitude": "52.5163", "longitude": "13.3777",
        "accuracy": "18"})
    assert pressed.status_code == 303
    (case,) = _cases(session, car.id)
    assert pressed.headers["location"] == f"/me/on-call/help/{case.number}"
    assert (case.kind, case.source, case.activation, case.status) == ("sos", "driver_app", "manual", "open")
    assert (case.latitude, case.longitude, case.position_trusted) == (52.5163, 13.3777, True)
    assert case.customer_id == owner.id

    help_page = browser.get(pressed.headers["location"])
    assert help_page.status_code == 200
    assert "Your call has reached the call centre" in help_page.text and "Nobody has been sent yet" in help_page.text
    assert 'http-equiv="refresh"' in help_page.text  # it follows the case while it is open

    tow = make.partner("roadside")
    session.add(Dispatch(case_id=case.id, provider_id=tow.id, kind="tow", distance_km=4.2, eta_minutes=25,
                         status="on_the_way", dispatched_at=now()))
    case.status = "dispatched"
    session.commit()
    help_page = browser.get(pressed.headers["location"])
    assert "Help is on the way." in help_page.text and tow.name in help_page.text and "Towing" in help_page.text


def test_a_second_press_joins_the_case_and_a_press_without_position_uses_the_last_known(make, client, session):
    owner = make.customer()
    car = make.vehicle(owner=owner)
    session.add(Position(vehicle_id=car.id, measured_at=now(), latitude=48.137, longitude=11.575, source="embedded"))
    session.commit()
    me = make.customer_login(owner)
    first = client.post(f"/api/me/vehicles/{car.vin}/sos", headers=me.headers, json={})
    assert first.status_code == 201, first.text
    assert first.json()["position_trusted"] is False and first.json()["latitude"] == 48.137
    again = client.post(f"/api/me/vehicles/{car.vin}/sos", headers=me.headers,
                        json={"latitude": 48.14, "longitude": 11.58, "accuracy_m": 1500})
    assert again.status_code == 201 and again.json()["number"] == first.json()["number"]
    assert len(_cases(session, car.id)) == 1
    followed = client.get(f"/api/me/on-call/cases/{first.json()['number']}", headers=me.headers)
    assert followed.status_code == 200 and followed.json()["open"] is True and followed.json()["coming"] == []


def test_bad_positions_are_refused_by_the_api_and_ignored_by_the_page(make, client, session):
    owner = make.customer()
    car = make.vehicle(owner=owner)
    session.commit()
    me = make.customer_login(owner)
    for bad in ({"latitude": 91, "longitude": 0}, {"latitude": 1, "longitude": 2, "owner": 5},
                {"latitude": "north", "longitude": 0}):
        assert client.post(f"/api/me/vehicles/{car.vin}/sos", headers=me.headers, json=bad).status_code == 422
    assert _cases(session, car.id) == []
    # the page never refuses help over a position it cannot read: the case opens without it
    browser = browser_for(make, me)
    pressed = browser.post(f"/me/on-call/{car.vin}/sos", follow_redirects=False, data={
        "csrf_token": csrf_token_of(session, browser), "latitude": "nan", "longitude": "east"})
    assert pressed.status_code == 303
    (case,) = _cases(session, car.id)
    assert case.latitude is None and any("ask the driver where they are" in p for p in case.problems)


def test_nobody_else_can_press_sos_for_a_car_or_read_its_case(make, client, session):
    owner = make.customer()
    car = make.vehicle(owner=owner)
    session.commit()
    mine = client.post(f"/api/me/vehicles/{car.vin}/sos", headers=make.customer_login(owner).headers, json={})
    stranger = make.customer_login(make.customer())
    assert client.post(f"/api/me/vehicles/{car.vin}/sos", headers=stranger.headers, json={}).status_code == 404
    assert client.post("/api/me/vehicles/WAUZZZ00000000000/sos", headers=stranger.headers,
                       json={}).status_code == 404
    assert client.get(f"/api/me/on-call/cases/{mine.json()['number']}", headers=stranger.headers).status_code == 404
    rep = make.staff(make.dealer())
    assert client.post(f"/api/me/vehicles/{car.vin}/sos", headers=rep.headers, json={}).status_code == 404
    assert len(_cases(session, car.id)) == 1
