"""Devices are bound to cars by the carmaker or, for a phone, by the car's owner; secrets are shown once."""

from __future__ import annotations

import json

from forecourt.vehicles import service as vehicles_service
from tests.factories import admin_login


def test_the_carmaker_registers_an_embedded_unit_whose_secret_opens_the_http_endpoint(make, client):
    admin = admin_login(make)
    vehicle = make.vehicle(owner=make.customer())
    created = client.post(f"/api/admin/vehicles/{vehicle.vin}/devices", json={"kind": "embedded"},
                          headers=admin.headers)
    assert created.status_code == 201
    device = created.json()
    assert device["identifier"] == vehicle.vin and len(device["secret"]) >= 32
    body = json.dumps({"timestamp": "2026-11-20T08:00:00Z", "Vehicle.Speed": 30.0})
    posted = client.post(f"/api/telemetry/{vehicle.vin}", content=body,
                         headers={"Authorization": f"Bearer {device['secret']}"})
    assert posted.status_code == 202 and posted.json()["stored"] == 1
    twice = client.post(f"/api/admin/vehicles/{vehicle.vin}/devices", json={"kind": "embedded"},
                        headers=admin.headers)
    assert twice.status_code == 409
    summary = client.get("/api/admin/telemetry/rejections", headers=admin.headers)
    assert summary.status_code == 200


def test_an_owner_pairs_a_phone_and_a_former_owner_cannot(make, client, session):
    first, second = make.customer(), make.customer()
    vehicle = make.vehicle(owner=first)
    me = make.customer_login(first)
    paired = client.post(f"/api/me/vehicles/{vehicle.vin}/phone", json={"identifier": "pixel-4711-app"},
                         headers=me.headers)
    assert paired.status_code == 201 and paired.json()["kind"] == "phone"
    listed = client.get(f"/api/me/vehicles/{vehicle.vin}/devices", headers=me.headers).json()
    assert [d["identifier"] for d in listed] == ["pixel-4711-app"] and "secret" not in listed[0]
    vehicles_service.transfer(session=session, vehicle_id=vehicle.id, customer_id=second.id)
    session.commit()
    again = client.post(f"/api/me/vehicles/{vehicle.vin}/phone", json={"identifier": "pixel-4712-app"},
                        headers=me.headers)
    assert again.status_code == 404
    stranger = make.customer_login(make.customer())
    assert client.get(f"/api/me/vehicles/{vehicle.vin}/devices", headers=stranger.headers).status_code == 404
