"""When a car changes hands, the previous owner's devices stop reporting as the car (both owners are
told), and the new owner never sees what the car reported before it was theirs: not on the car's
pages, not in its live map and twin, not in the API and not in their export."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from forecourt.core.auth import Role
from forecourt.core.clock import now
from forecourt.core.outbox import OutboxMessage
from forecourt.telematics import devices
from forecourt.telematics.ingest import ingest
from forecourt.telematics.models import Device, Trip
from forecourt.telematics.readings import Reading, Source
from tests.factories import browser_for
from tests.telematics.test_ingest import reading

SELLER_SPOT = (48.1372, 11.5756)  # where the seller parks: nobody else's business
BUYER_SPOT = (53.5511, 9.9937)


def _phone_reading(identifier: str, at, key: str, spot) -> Reading:
    return Reading(source=Source.PHONE, device_id=identifier, measured_at=at, message_key=key,
                   signals={"Vehicle.Speed": 30.0, "Vehicle.CurrentLocation.Latitude": spot[0],
                            "Vehicle.CurrentLocation.Longitude": spot[1]}, events=())


def _sold_car(make, client, session):
    """The seller's car: its embedded unit, a tracker the carmaker fitted, the seller's phone, a drive
    and positions; then the seller sells it to the buyer from the portal."""
    carmaker = make.carmaker()
    seller, buyer = make.customer(), make.customer()
    car = make.vehicle(owner=seller, since=now() - timedelta(days=100))
    make.on_call(car)
    for person in (seller, buyer):
        make.grant(person, carmaker, "location_services")
    devices.register(session=session, kind=Source.EMBEDDED, identifier=car.vin, vehicle_id=car.id)
    devices.register(session=session, kind=Source.TRACKER, identifier="356307042441234", vehicle_id=car.id)
    session.commit()
    seller_login, buyer_login = make.customer_login(seller), make.customer_login(buyer)
    phone = f"seller-phone-{make.n()}"
    paired = client.post(f"/api/me/vehicles/{car.vin}/phone", headers=seller_login.headers,
                         json={"identifier": phone, "label": "Dana's phone"})
    assert paired.status_code == 201, paired.text
    before = now() - timedelta(hours=2)
    stored = ingest(session=session, channel="test", readings=[
        reading(car.vin, before, f"pre-{car.id}", Vehicle__CurrentLocation__Latitude=SELLER_SPOT[0],
                Vehicle__CurrentLocation__Longitude=SELLER_SPOT[1]),
        _phone_reading(phone, before + timedelta(minutes=30), f"pre-phone-{car.id}", SELLER_SPOT)])
    assert stored.stored == 2 and not stored.rejected
    session.add(Trip(vehicle_id=car.id, started_at=before - timedelta(minutes=20), ended_at=before,
                     end_reason="ignition_off", distance_km=12.0, distance_source="gps",
                     route=[[48.10, 11.50], list(SELLER_SPOT)], end_latitude=SELLER_SPOT[0],
                     end_longitude=SELLER_SPOT[1]))
    session.commit()
    code = client.post(f"/api/me/vehicles/{car.vin}/sale", headers=seller_login.headers).json()["code"]
    assert client.post("/api/me/purchases", headers=buyer_login.headers, json={"code": code}).status_code == 201
    return dict(car=car, seller=seller, buyer=buyer, phone=phone, seller_login=seller_login,
                buyer_login=buyer_login)


def test_the_sellers_phone_stops_reporting_as_the_car_and_both_owners_are_told(make, client, session):
    """Attack: after a sale the seller's phone still reported as the car."""
    scene = _sold_car(make, client, session)
    car, phone = scene["car"], scene["phone"]
    late = ingest(session=session, channel="test",
                  readings=[_phone_reading(phone, now(), f"post-phone-{car.id}", SELLER_SPOT)])
    assert late.stored == 0 and [device for device, _ in late.rejected] == [phone]
    kinds = sorted(d.kind for d in session.scalars(select(Device).where(Device.vehicle_id == car.id)))
    assert kinds == ["embedded", "tracker"]  # the car's own units stay; the person's phone went
    listed = client.get(f"/api/me/vehicles/{car.vin}/devices", headers=scene["buyer_login"].headers).json()
    assert phone not in json.dumps(listed)
    # the seller may pair the same phone to their next car
    next_car = make.vehicle(owner=scene["seller"])
    session.commit()
    assert client.post(f"/api/me/vehicles/{next_car.vin}/phone", headers=scene["seller_login"].headers,
                       json={"identifier": phone}).status_code == 201
    told = {person: session.scalars(select(OutboxMessage).where(OutboxMessage.customer_id == scene[person].id,
                                                                OutboxMessage.topic == "ownership")).all()
            for person in ("seller", "buyer")}
    assert {m.channel for m in told["seller"]} == {"in_app", "email"}
    assert all(phone in m.body for m in told["seller"])  # which device of theirs stopped
    assert {m.channel for m in told["buyer"]} == {"in_app", "email"}
    assert all("no longer report" in m.body and phone not in m.body for m in told["buyer"])


def test_the_buyer_never_sees_what_the_car_reported_before_it_was_theirs(make, client, session):
    """Attack: the buyer saw the seller's live positions and the car's last pre-sale position."""
    scene = _sold_car(make, client, session)
    car, buyer_login = scene["car"], scene["buyer_login"]
    marks = [f"{SELLER_SPOT[0]}", f"{SELLER_SPOT[1]}", "48.1"]
    buyer = browser_for(make, buyer_login)
    page = buyer.get(f"/me/vehicles/{car.vin}")
    assert page.status_code == 200 and not any(mark in page.text for mark in marks)
    live = buyer.get(f"/me/vehicles/{car.vin}/live").json()
    assert live["position"] is None and live["trip"] is None and live["signals"] == []
    exported = client.get("/api/me/export", headers=buyer_login.headers).json()["telemetry"]
    assert exported == {"trips": [], "positions": [], "vehicle_events": [], "samples": [], "commands": []}
    # staff reading for the buyer see the buyer's period only, too
    dealer = make.dealer()
    make.grant(scene["buyer"], dealer, "location_services")
    advisor = browser_for(make, make.staff(dealer, Role.DEALER_SERVICE))
    staff_live = advisor.get(f"/workspace/vehicles/{car.vin}/live?purpose=location_services")
    assert staff_live.status_code == 200 and staff_live.json()["position"] is None
    assert not any(mark in advisor.get(f"/workspace/vehicles/{car.vin}?purpose=location_services").text
                   for mark in marks)
    # what the car reports from now on is the buyer's
    ingest(session=session, channel="test", readings=[
        reading(car.vin, now(), f"post-{car.id}", Vehicle__CurrentLocation__Latitude=BUYER_SPOT[0],
                Vehicle__CurrentLocation__Longitude=BUYER_SPOT[1])])
    session.commit()
    assert buyer.get(f"/me/vehicles/{car.vin}/live").json()["position"] == list(BUYER_SPOT)
    # and the seller keeps their own past: the drive, in their export
    seller_export = client.get("/api/me/export", headers=scene["seller_login"].headers).json()["telemetry"]
    assert [p["latitude"] for p in seller_export["positions"]] == [SELLER_SPOT[0], SELLER_SPOT[0]]
    assert len(seller_export["trips"]) == 1
