"""Alerts in: SOS and crash from the real ingest paths open cases, repeated alerts join, and the
fail-safe keeps broken alerts as cases with their problems written down."""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from forecourt.assist import intake, subscriptions
from forecourt.handlers import subscribe_all
from forecourt.assist.models import Case, CaseEvent
from forecourt.core import events
from forecourt.core.clock import advance, frozen_at
from forecourt.core.db import transaction
from forecourt.core.errors import Invalid
from forecourt.telematics import devices
from forecourt.telematics import ingest as pipeline
from forecourt.telematics.models import Position
from forecourt.telematics.readings import Reading, Source, VehicleEvent

NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def noon():
    with frozen_at(NOON):
        yield


@pytest.fixture
def owner(make):
    return make.customer(first_name="Mira", last_name="Unfallfrei")


@pytest.fixture
def car(make, session, owner):
    vehicle = make.vehicle(owner=owner)
    session.commit()
    return vehicle


def cases_of(session, vehicle) -> list[Case]:
    session.expire_all()
    return list(session.scalars(select(Case).where(Case.vehicle_id == vehicle.id).order_by(Case.id)))


def events_of(session, case) -> list[CaseEvent]:
    return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))


def ingest_event(session_factory, car, kind: VehicleEvent, *, at=NOON, lat=52.52, lon=13.405, key="k1"):
    """The real pipeline: a reading with an event stored and committed; handlers run after the commit."""
    with transaction(session_factory) as writer:
        signals = {"Vehicle.CurrentLocation.Latitude": lat, "Vehicle.CurrentLocation.Longitude": lon}
        pipeline.ingest(session=writer, readings=[Reading(source=Source.EMBEDDED, device_id=car.vin, measured_at=at,
                                                          signals=signals, events=(kind,), message_key=key)],
                        channel="mqtt")


@pytest.fixture
def embedded(session, car):
    _, secret = devices.register(session=session, kind=Source.EMBEDDED, identifier=car.vin, vehicle_id=car.id)
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_an_sos_from_the_phone_app_opens_a_case_with_owner_and_position(make, session, client, car, owner):
    _, token = devices.pair_phone(session=session, vehicle_id=car.id, identifier="phone-sos-1", label=None)
    session.commit()
    response = client.post(f"/osmand/{token}", params={"id": "phone-sos-1", "timestamp": str(int(NOON.timestamp())),
                                                       "lat": "52.5", "lon": "13.4", "alarm": "sos"})
    assert response.status_code == 200, response.text
    [case] = cases_of(session, car)
    assert (case.kind, case.priority, case.status, case.source) == ("sos", 2, "open", "phone")
    assert (case.latitude, case.longitude, case.customer_id) == (52.5, 13.4, owner.id)
    assert re.fullmatch(r"OC-[0-9A-HJKMNP-TV-Z]{5}", case.number)
    [alert] = events_of(session, case)
    assert alert.kind == "alert" and "SOS" in alert.text


def test_a_crash_published_after_commit_opens_a_case_and_a_rollback_opens_none(session_factory, session, car,
                                                                                 embedded):
    subscribe_all(session_factory)
    writer = session_factory()
    pipeline.ingest(session=writer, readings=[Reading(source=Source.EMBEDDED, device_id=car.vin, measured_at=NOON,
                                                      events=(VehicleEvent.CRASH,), message_key="rolled-back")],
                    channel="mqtt")
    writer.rollback()
    writer.close()
    assert cases_of(session, car) == []
    ingest_event(session_factory, car, VehicleEvent.CRASH)
    [case] = cases_of(session, car)
    assert (case.kind, case.priority, case.source) == ("crash", 1, "embedded")


def test_an_sos_from_a_car_whose_on_call_ended_still_opens_a_case(session_factory, session, car, owner,
                                                                   embedded):
    subscriptions.included_on_sale(session=session, vehicle_id=car.id, customer_id=owner.id,
                                   sold_on=date(2022, 3, 4))  # three years: ended 3 March 2025
    session.commit()
    assert subscriptions.status_of(session=session, vehicle_id=car.id, today=NOON.date())["state"] == "expired"
    subscribe_all(session_factory)
    ingest_event(session_factory, car, VehicleEvent.SOS, key="lapsed")
    [case] = cases_of(session, car)
    assert (case.kind, case.status, case.customer_id) == ("sos", "open", owner.id)


def test_repeated_alerts_join_one_case_and_a_crash_raises_the_priority(session_factory, session, car, embedded):
    subscribe_all(session_factory)
    ingest_event(session_factory, car, VehicleEvent.SOS, key="a")
    ingest_event(session_factory, car, VehicleEvent.SOS, at=NOON + timedelta(minutes=2), key="b")
    ingest_event(session_factory, car, VehicleEvent.CRASH, at=NOON + timedelta(minutes=3), lat=52.53, key="c")
    [case] = cases_of(session, car)
    assert (case.kind, case.priority, case.latitude) == ("crash", 1, 52.53)
    texts = [e.text for e in events_of(session, case)]
    assert len(texts) == 3 and "priority raised from sos to crash" in texts[2]
    # a tow alarm is not On Call; an alert 40 minutes after the last one is a new incident
    ingest_event(session_factory, car, VehicleEvent.TOW, at=NOON + timedelta(minutes=5), key="d")
    advance(timedelta(minutes=43))
    ingest_event(session_factory, car, VehicleEvent.SOS, at=NOON + timedelta(minutes=43), key="e")
    assert [c.kind for c in cases_of(session, car)] == ["crash", "sos"]


def test_the_recent_track_comes_from_the_last_ten_minutes(session, car):
    for minutes, lat in ((30, 52.40), (8, 52.50), (2, 52.51)):
        session.add(Position(vehicle_id=car.id, measured_at=NOON - timedelta(minutes=minutes), latitude=lat,
                             longitude=13.4, source="embedded"))
    session.flush()
    case = intake.raise_alert(session=session, vehicle_id=car.id, kind="crash", source="embedded", at=NOON,
                              latitude=52.52, longitude=13.4)
    assert [p["lat"] for p in case.track] == [52.51, 52.50]


def test_broken_fields_become_problems_not_a_lost_alert(session, car):
    case = intake.raise_alert(session=session, vehicle_id=car.id, kind="crash", source="ecall", at="yesterday-ish",
                              latitude=52.5, longitude=13.4, heading="north", passengers=-3)
    assert case.status == "open"
    assert case.opened_at == NOON and case.heading is None and case.passengers is None
    assert "timestamp unreadable: used the time received" in case.problems
    assert any(p.startswith("direction unreadable") for p in case.problems)
    assert any(p.startswith("number of passengers unreadable") for p in case.problems)


def test_without_a_position_the_last_known_one_is_used_and_said(session, car):
    session.add(Position(vehicle_id=car.id, measured_at=NOON - timedelta(minutes=20), latitude=53.55,
                         longitude=9.99, source="embedded"))
    session.flush()
    case = intake.raise_alert(session=session, vehicle_id=car.id, kind="sos", source="mqtt", at=NOON,
                              latitude="??", longitude=None)
    assert (case.latitude, case.longitude, case.position_trusted) == (53.55, 9.99, False)
    assert any("last known position" in p for p in case.problems)


def test_an_alert_without_a_vehicle_is_refused_clearly_and_logged(session, caplog):
    with caplog.at_level(logging.WARNING, logger="forecourt.assist.intake"):
        with pytest.raises(Invalid, match="names no vehicle"):
            intake.raise_alert(session=session, vehicle_id=None, kind="sos", source="mqtt", latitude=1, longitude=2)
        with pytest.raises(Invalid):
            intake.raise_alert(session=session, vehicle_id=987654321, kind="crash", source="mqtt")
    assert "no recognisable vehicle" in caplog.text
    assert session.scalars(select(Case)).first() is None


# --- eCall ---------------------------------------------------------------------------------------

def msd(car, **changes) -> dict:
    return {"automatic_activation": True, "manual_activation": False, "test_call": False,
            "position_can_be_trusted": True, "vehicle_type": "M1", "vin": car.vin, "propulsion": ["gasoline"],
            "timestamp": int((NOON - timedelta(seconds=5)).timestamp()),
            "position": {"latitude": 48.137, "longitude": 11.575}, "direction": 90,
            "recent_positions": [{"latitude": 48.136, "longitude": 11.574}, {"latitude": 48.135, "longitude": 11.573}],
            "number_of_passengers": 2} | changes


def test_a_valid_ecall_opens_a_crash_case_with_every_field(client, session, car, embedded):
    response = client.post(f"/api/assist/ecall/{car.vin}", json=msd(car), headers=embedded)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["problems"] == [] and body["status"] == "open"
    [case] = cases_of(session, car)
    assert case.number == body["case"]
    assert (case.kind, case.source, case.activation, case.test_call) == ("crash", "ecall", "automatic", False)
    assert (case.latitude, case.longitude, case.heading, case.passengers) == (48.137, 11.575, 90, 2)
    assert case.position_trusted is True and case.last_alert_at == NOON - timedelta(seconds=5)
    assert [p["lat"] for p in case.track][:2] == [48.136, 48.135]
    assert events_of(session, case)[0].details["msd"]["vehicle_type"] == "M1"


def test_a_broken_ecall_still_opens_a_case_and_lists_what_was_wrong(client, session, car, embedded):
    broken = msd(car, manual_activation=True, automatic_activation=False, timestamp="half past twelve",
                 direction="sideways", number_of_passengers="many", recent_positions="here and there",
                 vin="NOT-THIS-CAR", test_call="maybe")
    response = client.post(f"/api/assist/ecall/{car.vin}", json=broken, headers=embedded)
    assert response.status_code == 201, response.text
    problems = response.json()["problems"]
    assert "timestamp unreadable: used the time received" in problems
    assert any("direction" in p for p in problems) and any("passengers" in p for p in problems)
    assert any("recent_positions" in p for p in problems) and any("NOT-THIS-CAR" in p for p in problems)
    assert any("test_call" in p for p in problems)
    [case] = cases_of(session, car)
    assert (case.kind, case.activation, case.latitude) == ("sos", "manual", 48.137)


def test_an_ecall_without_position_uses_the_last_known_and_an_unreadable_one_still_opens_a_case(
        client, session, car, embedded):
    session.add(Position(vehicle_id=car.id, measured_at=NOON - timedelta(minutes=3), latitude=50.1,
                         longitude=8.6, source="embedded"))
    session.commit()
    response = client.post(f"/api/assist/ecall/{car.vin}", json=msd(car, position=None), headers=embedded)
    assert response.status_code == 201
    assert any("last known position" in p for p in response.json()["problems"])
    assert cases_of(session, car)[0].latitude == 50.1
    nothing = client.post(f"/api/assist/ecall/{car.vin}", content=b"\x00garbage", headers=embedded)
    assert nothing.status_code == 201
    assert any("MSD format version 0" in p for p in nothing.json()["problems"])
    [case] = cases_of(session, car)  # the same incident: joined, with the bytes kept as received
    assert case.vehicle_data == {"format": "unreadable", "raw": b"\x00garbage".hex(), "problems": [
        "the MSD could not be decoded: MSD format version 0 is not one Forecourt reads (1 to 3)"]}


def test_an_ecall_with_a_wrong_secret_or_unknown_car_is_401(client, session, car, embedded):
    wrong = client.post(f"/api/assist/ecall/{car.vin}", json=msd(car), headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    stranger = client.post("/api/assist/ecall/WFC00000000000000", json=msd(car), headers=embedded)
    assert stranger.status_code == 401
    assert cases_of(session, car) == []
