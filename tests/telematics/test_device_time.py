"""One rule for a device's time, whatever it spoke: readings from before 2000 or more than five
minutes ahead are refused and counted, an SOS or crash is kept at the time received with the problem
on its case, and the twin is never held by a time still to come. Plus the physical limits of VSS
signals and the phone's own status, both as the HTTP endpoints receive them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from forecourt.handlers import subscribe_all
from forecourt.assist.models import Case
from forecourt.core import events
from forecourt.core.clock import frozen_at
from forecourt.core.db import transaction
from forecourt.telematics import device_time, devices
from forecourt.telematics.ingest import ingest
from forecourt.telematics.models import Device, Position, Rejection, TwinSignal
from forecourt.telematics.readings import Reading, Source, VehicleEvent

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
SPEED = "Vehicle.Speed"


@pytest.fixture(autouse=True)
def clock():
    with frozen_at(NOW):
        yield


@pytest.fixture
def car(make, session):
    vehicle = make.vehicle()  # not sold yet: its positions are kept without anyone's consent
    _, secret = devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin, vehicle_id=vehicle.id)
    session.commit()
    return vehicle, {"Authorization": f"Bearer {secret}"}


def reading(vin: str, at: datetime, key: str, events_=(), speed: float = 50.0) -> Reading:
    return Reading(source=Source.EMBEDDED, device_id=vin, measured_at=at, events=tuple(events_), message_key=key,
                   signals={SPEED: speed, "Vehicle.CurrentLocation.Latitude": 52.5,
                            "Vehicle.CurrentLocation.Longitude": 13.4})


def twin_speed(session, vehicle) -> tuple[float, datetime]:
    session.expire_all()
    row = session.scalars(select(TwinSignal).where(TwinSignal.vehicle_id == vehicle.id, TwinSignal.path == SPEED)).one()
    measured_at = row.measured_at if row.measured_at.tzinfo else row.measured_at.replace(tzinfo=UTC)
    return row.value, measured_at


@pytest.mark.parametrize("at, reason", [
    (NOW + timedelta(minutes=6), "more than 5 minutes ahead of the server's clock"),
    (NOW + timedelta(days=3650), "more than 5 minutes ahead"),
    (datetime(1970, 1, 1, tzinfo=UTC), "is before 2000: its clock is not set"),
    (datetime(1999, 12, 31, 23, 59, tzinfo=UTC), "is before 2000"),
])
def test_readings_out_of_time_are_refused_with_their_reason_and_counted(car, session, at, reason):
    vehicle, _ = car
    report = ingest(session=session, readings=[reading(vehicle.vin, at, "late"), reading(vehicle.vin, NOW, "ok")],
                    channel="mqtt")
    assert report.stored == 1 and len(report.rejected) == 1 and reason in report.rejected[0][1]
    assert [r for r in session.scalars(select(Rejection.reason).where(Rejection.channel == "mqtt"))] == \
        [report.rejected[0][1]]
    assert twin_speed(session, vehicle)[1] == NOW


def test_a_clock_a_little_fast_is_believed_but_cannot_hold_the_twin(car, session):
    vehicle, _ = car
    ingest(session=session, readings=[reading(vehicle.vin, NOW + timedelta(minutes=4), "fast", speed=80.0)],
           channel="mqtt")
    assert twin_speed(session, vehicle) == (80.0, NOW)  # at the time received, not four minutes on
    with frozen_at(NOW + timedelta(minutes=1)):
        ingest(session=session, readings=[reading(vehicle.vin, NOW + timedelta(minutes=1), "next", speed=30.0)],
               channel="mqtt")
    assert twin_speed(session, vehicle) == (30.0, NOW + timedelta(minutes=1))
    session.expire_all()
    stored = session.scalars(select(Position.measured_at).where(Position.vehicle_id == vehicle.id)).all()
    assert len(stored) == 2  # the fast reading's own time stays with its position


@pytest.mark.parametrize("at", [NOW + timedelta(days=400), datetime(1970, 1, 1, 0, 0, 5, tzinfo=UTC)])
def test_an_sos_out_of_time_is_kept_at_the_time_received_and_its_case_says_why(car, session_factory, session, at):
    vehicle, _ = car
    subscribe_all(session_factory)
    with transaction(session_factory) as writer:
        report = ingest(session=writer, readings=[reading(vehicle.vin, at, "sos", [VehicleEvent.SOS])],
                        channel="mqtt")
    assert report.stored == 1 and report.rejected == []
    session.expire_all()
    case = session.scalars(select(Case).where(Case.vehicle_id == vehicle.id)).one()
    assert case.last_alert_at.replace(tzinfo=UTC) == NOW and case.kind == "sos"
    assert any("used the time received" in problem for problem in case.problems)
    assert twin_speed(session, vehicle)[1] == NOW


def test_the_rule_itself():
    assert device_time.problem(NOW, received_at=NOW) is None
    assert device_time.problem(NOW + timedelta(minutes=5), received_at=NOW) is None
    assert device_time.problem(datetime(2000, 1, 1, tzinfo=UTC), received_at=NOW) is None
    from datetime import timezone
    year_one = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14)))
    assert device_time.problem(year_one, received_at=NOW) == "the device's time cannot be placed in UTC"
    assert device_time.believable(year_one, received_at=NOW) == NOW


def test_the_http_endpoint_refuses_8000_kmh_and_a_decade_ahead(car, client, session):
    vehicle, auth = car
    fast = client.post(f"/api/telemetry/{vehicle.vin}", headers=auth,
                       content=json.dumps({"timestamp": NOW.isoformat(), SPEED: 8000}))
    assert fast.status_code == 400
    assert fast.json()["detail"] == "Vehicle.Speed: 8000.0 km/h is outside -100..600 km/h: faster than any road vehicle"
    high = client.post(f"/api/telemetry/{vehicle.vin}", headers=auth, content=json.dumps(
        {"timestamp": NOW.isoformat(), "Vehicle.CurrentLocation.Altitude": 35_000}))
    assert high.status_code == 400 and "no road lies" in high.json()["detail"]
    ahead = client.post(f"/api/telemetry/{vehicle.vin}", headers=auth,
                        content=json.dumps({"timestamp": "2036-11-20T08:00:00Z", SPEED: 50}))
    assert ahead.status_code == 202 and ahead.json() == {"stored": 0, "duplicates": 0, "rejected": 1}
    session.expire_all()
    reasons = session.scalars(select(Rejection.reason).where(Rejection.channel.in_(["http"]))).all()
    assert any("Vehicle.Speed: 8000" in r for r in reasons) and any("5 minutes ahead" in r for r in reasons)
    assert session.scalar(select(func.count()).select_from(TwinSignal).where(TwinSignal.vehicle_id == vehicle.id)) == 0


def test_a_phone_status_report_is_kept_on_the_phone_never_as_a_position(make, client, session):
    vehicle = make.vehicle()
    _, token = devices.register(session=session, kind=Source.PHONE, identifier="traccar-77", vehicle_id=vehicle.id)
    session.commit()
    status = client.post(f"/osmand/{token}", params={"id": "traccar-77", "batt": "23.0", "charge": "false",
                                            "cell": "262,1,1234,5678", "wifi": "aa:bb:cc:dd:ee:ff,-60"})
    assert status.status_code == 200, status.text
    later = client.post(f"/osmand/{token}", params={"id": "traccar-77", "lat": "52.5", "lon": "13.4", "batt": "22",
                                           "timestamp": str(int(NOW.timestamp()) - 60)})
    assert later.status_code == 200
    session.expire_all()
    phone = session.scalars(select(Device).where(Device.identifier == "traccar-77")).one()
    assert phone.status == {"battery_percent": 23.0, "charging": False}  # the older report did not win
    assert phone.status_at.replace(tzinfo=UTC) == NOW  # no timestamp: the time it was received
    positions = session.scalars(select(Position).where(Position.vehicle_id == vehicle.id)).all()
    assert [(p.latitude, p.longitude) for p in positions] == [(52.5, 13.4)]
    assert session.scalar(select(func.count()).select_from(TwinSignal).where(
        TwinSignal.vehicle_id == vehicle.id, TwinSignal.path.like("%Battery%"))) == 0
