"""The owner's On Call page and JSON routes: status per car, renewal to pay for, the phone app plan."""

from __future__ import annotations

from datetime import timedelta

from forecourt.assist import subscriptions
from forecourt.core.clock import today
from forecourt.telematics import devices
from forecourt.telematics.readings import Source
from tests.factories import browser_for, csrf_token_of, fast_password_hashing  # noqa: F401  (autouse fixture)


def _owner_with_cars(make):
    owner = make.customer()
    new_car = make.vehicle(owner=owner)
    devices.register(session=make.session, kind=Source.EMBEDDED, identifier=new_car.vin, vehicle_id=new_car.id)
    subscriptions.included_on_sale(session=make.session, vehicle_id=new_car.id, customer_id=owner.id,
                                   sold_on=today() - timedelta(days=3 * 365 - 20))  # ends in ~20 days
    old_car = make.vehicle(owner=owner, model_year=2016)
    make.session.commit()
    return owner, new_car, old_car


def test_the_json_routes(make, client, session):
    owner, new_car, old_car = _owner_with_cars(make)
    me = make.customer_login(owner)
    listing = {row["vin"]: row for row in client.get("/api/me/on-call", headers=me.headers).json()}
    assert listing[new_car.vin]["status"]["state"] == "expiring" and listing[new_car.vin]["embedded_unit"]
    assert listing[old_car.vin]["status"]["state"] == "none" and not listing[old_car.vin]["embedded_unit"]
    make.carmaker()
    body = {"years": 2}
    bought = client.post(f"/api/me/on-call/{new_car.vin}/renewals", headers=me.headers, json=body)
    assert bought.status_code == 201, bought.text
    assert bought.json()["subscription"]["price"] == 198.0 and bought.json()["subscription"]["in_force"] is False
    assert bought.json()["payment"]["amount"] == 198.0 and bought.json()["payment"]["status"] == "open"
    again = client.post(f"/api/me/on-call/{new_car.vin}/renewals", headers=me.headers, json=body)
    assert again.json() == bought.json()
    for bad in ({"years": 0}, {"years": 1, "payment_reference": "Y"}, {"years": 1, "price": 0}):
        assert client.post(f"/api/me/on-call/{new_car.vin}/renewals", headers=me.headers,
                           json=bad).status_code == 422
    no_phone = client.post(f"/api/me/on-call/{old_car.vin}/renewals", headers=me.headers,
                           json={"plan": "phone_app"})
    assert no_phone.status_code == 422 and "Register your phone" in no_phone.text
    stranger = make.customer_login(make.customer())
    assert client.post(f"/api/me/on-call/{new_car.vin}/renewals", headers=stranger.headers,
                       json={}).status_code == 404


def test_the_owner_page(make, client, session):
    owner, new_car, old_car = _owner_with_cars(make)
    make.carmaker()
    session.commit()
    browser = browser_for(make, make.customer_login(owner))
    page = browser.get("/me/on-call")
    assert page.status_code == 200
    assert "Ending soon" in page.text and "<progress" in page.text and "once the payment has arrived" in page.text
    assert 'href="/me/on-call/contacts"' in page.text
    assert "Register your phone for this car first" in page.text  # the old car has no phone yet
    token = csrf_token_of(session, browser)
    renewed = browser.post(f"/me/on-call/{new_car.vin}/renew", follow_redirects=False,
                           data={"csrf_token": token, "years": "1", "reference": "TEST-I-PAID"})
    assert renewed.status_code == 303 and "PAY-" in renewed.headers["location"]
    page = browser.get("/me/on-call")
    assert "Waiting for your payment" in page.text and "Ending soon" in page.text  # not extended until paid
    devices.register(session=session, kind=Source.PHONE, identifier=f"phone-{old_car.id}-web",
                     vehicle_id=old_car.id)
    session.commit()
    assert "Start the phone app plan" in browser.get("/me/on-call").text
    started = browser.post(f"/me/on-call/{old_car.vin}/phone-app", follow_redirects=False,
                           data={"csrf_token": token, "years": "1"})
    assert started.status_code == 303 and "flash=" in started.headers["location"]
    assert subscriptions.status_of(session=session, vehicle_id=old_car.id, today=today())["state"] == "none"
    refused = browser.post(f"/me/on-call/{new_car.vin}/renew", follow_redirects=False,
                           data={"csrf_token": token, "years": "9"})
    assert "error=" in refused.headers["location"]
    stranger = browser_for(make, make.customer_login(make.customer()))
    assert stranger.post(f"/me/on-call/{new_car.vin}/renew", data={"csrf_token": csrf_token_of(session, stranger),
                                                                   "years": "1"}).status_code == 404
