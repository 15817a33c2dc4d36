"""SOS from the telemetry entry points, fuzzed: whatever a known phone or car sends with an SOS, the
decoder either refuses it with its own clear error or the alert reaches a case, whatever its clock
says (a time out of range is replaced by the time received, never a reason to drop the alert)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from forecourt.handlers import subscribe_all
from forecourt.assist.models import CaseEvent
from forecourt.core import events
from forecourt.core.db import transaction
from forecourt.telematics import devices
from forecourt.telematics.decoders import osmand, vss_json
from forecourt.telematics.ingest import ingest
from forecourt.telematics.readings import DecodeError, Source

FUZZ = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
PHONE = "fuzz-phone-1"
times = st.one_of(st.integers(-10, 2**40).map(str), st.sampled_from(
    ["", "0", "1718000000", "4102444800", "2026-11-20T12:00:00Z", "9999-12-31T23:59:59-14:00",
     "0001-01-01T00:00:00+14:00", "1999-12-31 23:59:59", "yesterday"]))
numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers().map(str),
                    st.sampled_from(["", "52.5", "13.4", "-0", "1e400", "nan"]))


@pytest.fixture
def car(make, session, session_factory):
    vehicle = make.vehicle()
    devices.register(session=session, kind=Source.PHONE, identifier=PHONE, vehicle_id=vehicle.id)
    devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin, vehicle_id=vehicle.id)
    session.commit()
    subscribe_all(session_factory)
    return vehicle


def alerts(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.kind == "alert"))


def stored_alert_opens_a_case(session, session_factory, readings) -> None:
    before = alerts(session)
    with transaction(session_factory) as writer:
        report = ingest(session=writer, readings=readings, channel="fuzz")
    assert not report.rejected, report.rejected  # an SOS is never refused for its time
    assert alerts(session) == before + report.stored


@FUZZ
@given(params=st.fixed_dictionaries({"id": st.just(PHONE), "alarm": st.just("sos")},
                                    optional={"timestamp": times, "lat": numbers, "lon": numbers, "speed": numbers,
                                              "batt": numbers, "bearing": numbers, "altitude": numbers}))
def test_a_phone_sos_with_anything_beside_it(car, session, session_factory, params):
    try:
        reading = osmand.decode_query(params)
    except DecodeError as error:
        assert str(error).isprintable()
        return
    stored_alert_opens_a_case(session, session_factory, [reading])


@FUZZ
@given(timestamp=times, speed=numbers, latitude=numbers)
def test_a_car_sos_with_anything_beside_it(car, session, session_factory, timestamp, speed, latitude):
    payload = ('{"timestamp": %s, "events": ["sos"], "Vehicle.Speed": %s, "Vehicle.CurrentLocation.Latitude": %s, '
               '"Vehicle.CurrentLocation.Longitude": 13.4}') % (json.dumps(timestamp), speed or "1", latitude or "1")
    try:
        readings = vss_json.decode(car.vin, payload)
    except DecodeError as error:
        assert str(error).isprintable()
        return
    stored_alert_opens_a_case(session, session_factory, readings)
