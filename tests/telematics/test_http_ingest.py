"""Telemetry over HTTP: the embedded batch endpoint and the OsmAnd protocol of the Traccar Client app."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from forecourt.telematics import devices
from forecourt.telematics.models import Position, Rejection, Sample, VehicleEventRecord
from forecourt.telematics.readings import Source

BODY = {"timestamp": "2026-11-20T08:00:00Z", "Vehicle.Speed": 48.5, "Vehicle.TraveledDistance": 12_345_000}


@pytest.fixture
def embedded(make, session):
    vehicle = make.vehicle(owner=make.customer())
    _, secret = devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin,
                                 vehicle_id=vehicle.id)
    session.commit()
    return vehicle, {"Authorization": f"Bearer {secret}"}


def rejections(session, channel: str) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(Rejection.reason).where(Rejection.channel == channel)))


def test_an_embedded_car_posts_a_batch_and_a_resend_is_stored_once(embedded, client, session):
    vehicle, auth = embedded
    batch = {"samples": [BODY, BODY | {"timestamp": "2026-11-20T08:00:10Z", "Vehicle.Speed": 51.0}]}
    first = client.post(f"/api/telemetry/{vehicle.vin}", content=json.dumps(batch), headers=auth)
    assert first.status_code == 202 and first.json()["stored"] == 2
    again = client.post(f"/api/telemetry/{vehicle.vin}", content=json.dumps(batch), headers=auth)
    assert again.status_code == 202 and again.json() == {"stored": 0, "duplicates": 2, "rejected": 0}
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Sample).where(Sample.vehicle_id == vehicle.id,
                                                                         Sample.path == "Vehicle.Speed")) == 2


def test_a_wrong_secret_or_bad_body_is_refused_clearly_and_counted(embedded, client, session):
    vehicle, auth = embedded
    wrong = client.post(f"/api/telemetry/{vehicle.vin}", content=json.dumps(BODY),
                        headers={"Authorization": "Bearer not-the-secret"})
    assert wrong.status_code == 401
    broken = client.post(f"/api/telemetry/{vehicle.vin}", content=b'{"timestamp": "2026-11-20T08:00:00Z", '
                                                                  b'"Vehicle.Speed": "fast"}', headers=auth)
    assert broken.status_code == 400 and "Vehicle.Speed" in broken.json()["detail"]
    assert len(rejections(session, "http")) == 2


@pytest.fixture
def phone(make, session):
    """A paired phone: the car, and the URL path its app reports to (the token is its last segment)."""
    carmaker = make.carmaker()
    owner = make.customer()
    vehicle = make.vehicle(owner=owner)
    make.grant(owner, carmaker, "location_services")
    _, token = devices.pair_phone(session=session, vehicle_id=vehicle.id, identifier="phone-7f3a91", label=None)
    session.commit()
    return vehicle, f"/osmand/{token}"


def test_the_traccar_client_reports_a_position_in_knots(phone, client, session):
    vehicle, path = phone
    response = client.get(path, params={"id": "phone-7f3a91", "timestamp": "1763625600", "lat": "52.5200",
                                        "lon": "13.4050", "speed": "10", "bearing": "90", "altitude": "34",
                                        "accuracy": "8", "batt": "81"})
    assert response.status_code == 200, response.text
    session.expire_all()
    position = session.scalars(select(Position).where(Position.vehicle_id == vehicle.id)).one()
    assert (position.latitude, position.longitude, position.heading) == (52.52, 13.405, 90)
    assert position.speed_kmh == pytest.approx(18.52, abs=0.01)


def test_an_sos_from_the_phone_becomes_a_vehicle_event(phone, client, session):
    vehicle, path = phone
    response = client.post(path, params={"id": "phone-7f3a91", "timestamp": "1763625700", "lat": "52.5",
                                         "lon": "13.4", "alarm": "sos"})
    assert response.status_code == 200
    session.expire_all()
    event = session.scalars(select(VehicleEventRecord).where(VehicleEventRecord.vehicle_id == vehicle.id)).one()
    assert (event.kind, event.latitude) == ("sos", 52.5)


def test_the_json_form_reaches_the_same_url(phone, client, session):
    vehicle, path = phone
    body = {"device_id": "phone-7f3a91", "location": {"timestamp": "2026-11-20T08:00:00Z", "is_moving": True,
                                                      "coords": {"latitude": 52.5, "longitude": 13.4}}}
    response = client.post(path, content=json.dumps(body), headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Position).where(Position.vehicle_id == vehicle.id)) == 1


def test_a_stranger_or_nonsense_is_refused_and_counted(phone, client, session):
    _, path = phone
    unknown = client.get("/osmand/not-a-token", params={"id": "stranger-1234", "timestamp": "1763625600",
                                                        "lat": "1", "lon": "2"})
    assert unknown.status_code == 401 and unknown.json() == {"detail": "unknown device or wrong secret"}
    nonsense = client.get(path, params={"id": "phone-7f3a91", "lat": "north", "lon": "2"})
    assert nonsense.status_code == 400
    assert len(rejections(session, "osmand")) == 2


def test_a_report_over_http_takes_its_cars_lock_once(embedded, client, session):
    """The request owns the car before it writes; refreshing its trips and health afterwards does not
    ask for the lock it holds (PostgreSQL; SQLite's single writer needs none)."""
    from sqlalchemy import event

    vehicle, auth = embedded
    engine = session.get_bind()
    asked: list[str] = []

    def count(_conn, _cursor, statement, *_):
        if "pg_advisory_xact_lock" in statement:
            asked.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        answer = client.post(f"/api/telemetry/{vehicle.vin}", content=json.dumps(BODY), headers=auth)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert answer.status_code == 202 and answer.json()["stored"] == 1
    assert len(asked) == (1 if engine.dialect.name == "postgresql" else 0)
