"""eCall in every form a car sends it: the EN 15722 MSD as RFC 8147 carries it, in base64 inside
JSON, Forecourt's JSON by field, and over MQTT; hostile and broken messages still open a case for
the sending car, with what was wrong written on it."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from forecourt.assist import ecall, intake
from forecourt.assist.models import Case, CaseEvent
from forecourt.core.auth import Role
from forecourt.core.clock import frozen_at
from forecourt.core.errors import Invalid
from forecourt.telematics.models import Position
from tests.assist.test_intake import car, embedded, owner  # noqa: F401 (the same car, registered)
from tests.factories import browser_for
from tests.telematics.decoders.msd_bits import Msd
from tests.telematics.decoders.test_ecall_msd import LEGATO_V1_ADDITIONAL, LEGATO_V1_CUT

NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(autouse=True)
def noon():
    with frozen_at(NOON):
        yield


def the_case(session, car) -> Case:
    session.expire_all()
    [case] = session.scalars(select(Case).where(Case.vehicle_id == car.id))
    return case


def crash_msd(car, **changes) -> Msd:
    """A car's real eCall: five seconds ago, two previous positions, additional data attached."""
    return Msd(**{"version": 2, "vin": car.vin, "timestamp": int(NOON.timestamp()) - 5,
                  "propulsion": ("gasoline", "electric"), "additional": (b"\x01\x04\x01", b"\xca\xfe"),
                  "passengers": 3, "direction": 45, **changes})


def test_an_msd_over_http_lands_on_the_case_field_by_field(client, session, car, embedded):
    sent = crash_msd(car)
    response = client.post(f"/api/assist/ecall/{car.vin}", content=sent.encoded(),
                           headers={**embedded, "Content-Type": "application/EmergencyCallData.eCall.MSD"})
    assert response.status_code == 201, response.text
    assert response.json()["problems"] == []
    case = the_case(session, car)
    assert (case.kind, case.source, case.activation, case.test_call) == ("crash", "ecall", "automatic", False)
    assert (case.latitude, case.longitude, case.position_trusted) == (pytest.approx(48.4812), pytest.approx(11.607),
                                                                      True)
    assert (case.heading, case.passengers, case.last_alert_at) == (90.0, 3, NOON - timedelta(seconds=5))
    assert [(round(p["lat"], 5), round(p["lon"], 5)) for p in case.track[:2]] == [(48.48092, 11.60756),
                                                                                   (48.48064, 11.60811)]
    data = case.vehicle_data
    assert (data["vin"], data["version"], data["vehicle_type"]) == (car.vin, 2, "passengerVehicleClassM1")
    assert data["propulsion"] == ["gasoline", "electric"]
    assert data["additional_data"] == {"oid": "1.4.1", "data": "cafe"}
    assert data["raw"] == sent.encoded().hex() and data["recent_deltas"] == [[-10, 20], [-10, 20]]
    alert = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)).one()
    assert alert.details["msd"]["vin"] == car.vin
    assert client.get(f"/api/cases/{case.number}").status_code in (401, 404)  # cars do not read cases


def test_a_manual_test_call_in_base64_json_and_in_version_3(client, session, car, embedded):
    sent = crash_msd(car, version=3, automatic=False, test_call=True, trusted=False, vehicle_type=21)
    body = {"msd": base64.b64encode(sent.encoded()).decode()}
    response = client.post(f"/api/assist/ecall/{car.vin}", json=body, headers=embedded)
    assert response.status_code == 201, response.text
    case = the_case(session, car)
    assert (case.kind, case.activation, case.test_call, case.position_trusted) == ("sos", "manual", True, False)
    assert case.vehicle_data["vehicle_type"] == "specialPurposeAmbulanceCategorySC"


def test_an_msd_without_its_content_type_is_still_read_as_one(client, session, car, embedded):
    response = client.post(f"/api/assist/ecall/{car.vin}", content=crash_msd(car).encoded(),
                           headers={**embedded, "Content-Type": "application/octet-stream"})
    assert response.status_code == 201 and the_case(session, car).vehicle_data["format"] == "asn1-uper"


def test_public_msds_with_an_old_clock_or_another_vin_keep_their_problems(client, session, car, embedded):
    """Legato's version 1 test MSD says 1973 and names another VIN: the case opens at the time
    received, for the car that sent it, and says both."""
    response = client.post(f"/api/assist/ecall/{car.vin}", content=LEGATO_V1_ADDITIONAL,
                           headers={**embedded, "Content-Type": ecall.MEDIA_TYPE})
    problems = response.json()["problems"]
    assert response.status_code == 201
    assert any("before 2000" in p and "used the time received" in p for p in problems)
    assert any("WM9VDSVDSYA123456" in p and "sending car's VIN was used" in p for p in problems)
    case = the_case(session, car)
    assert case.last_alert_at == NOON and case.vehicle_data["additional_data"]["oid"] == "1.2.125"


def test_an_msd_that_cannot_be_decoded_opens_a_case_with_its_bytes(client, session, car, embedded):
    session.add(Position(vehicle_id=car.id, measured_at=NOON - timedelta(minutes=2), latitude=50.1, longitude=8.6,
                         source="embedded"))
    session.commit()
    broken = crash_msd(car).encoded()[:17]
    response = client.post(f"/api/assist/ecall/{car.vin}", content=broken,
                           headers={**embedded, "Content-Type": ecall.MEDIA_TYPE})
    assert response.status_code == 201
    case = the_case(session, car)
    assert (case.kind, case.latitude, case.position_trusted) == ("crash", 50.1, False)
    assert case.vehicle_data["format"] == "unreadable" and case.vehicle_data["raw"] == broken.hex()
    assert any(p.startswith("the MSD could not be decoded") for p in case.problems)
    cut = ecall.receive(session=session, vehicle_id=car.id, vin=car.vin, body=LEGATO_V1_CUT)
    assert any("additional data could not be read" in p for p in cut.problems)


@pytest.mark.parametrize("body, problem", [
    (b"[" * 100_000, "nested too deeply"),
    (b'{"msd": "not base64!"}', "'msd' is not valid base64"),
    (b'{"msd": 12}', "'msd' must be the MSD in base64"),
    (b"[1, 2]", "JSON but not an object"),
    (b'{"automatic_activation": tru', "not valid JSON"),
    (b'{"a": "\xff"}', "not valid JSON"),
])
def test_hostile_json_opens_a_case_never_a_server_error(client, session, car, embedded, body, problem):
    response = client.post(f"/api/assist/ecall/{car.vin}", content=body,
                           headers={**embedded, "Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    assert any(problem in p for p in response.json()["problems"])
    assert the_case(session, car).vehicle_data["raw"] == body[:16 * 1024].hex()


@pytest.mark.parametrize("fields, problem", [
    ({"number_of_passengers": "1e400"}, "number of passengers unreadable"),
    ({"timestamp": "0001-01-01T00:00:00+14:00"}, "cannot be placed in UTC"),
    ({"timestamp": 0}, "before 2000"),
    ({"timestamp": "2099-01-01T00:00:00Z"}, "more than 5 minutes ahead"),
    ({"direction": float("nan")}, "direction unreadable"),
    ({"position": {"latitude": 10**400, "longitude": 1}}, "latitude unreadable"),
    ({"vin": [[[]]]}, "names VIN a list"),
])
def test_odd_fields_are_problems_and_the_time_received_is_used(session, car, fields, problem):
    message = json.loads(json.dumps({"automatic_activation": True, "position": {"latitude": 52.5, "longitude": 13.4},
                                     "timestamp": int(NOON.timestamp()), **fields}).replace('"1e400"', "1e400"))
    case = ecall.from_fields(session=session, vehicle_id=car.id, vin=car.vin, message=message)
    assert any(problem in p for p in case.problems), case.problems
    if "timestamp" in fields:
        assert case.last_alert_at == NOON


def test_an_msd_over_mqtt_and_an_unknown_vin_refused(session, car, embedded):
    case = ecall.from_mqtt(session=session, topic=f"vehicles/{car.vin}/ecall", payload=crash_msd(car).encoded())
    assert case.vehicle_data["vin"] == car.vin and case.passengers == 3
    joined = ecall.from_mqtt(session=session, topic=f"vehicles/{car.vin}/ecall", payload=b'{"test_call": true}')
    assert joined.id == case.id
    with pytest.raises(Invalid, match="No embedded unit"):
        ecall.from_mqtt(session=session, topic="vehicles/WFC1A2B30RA999999/ecall", payload=crash_msd(car).encoded())


# --- fuzzing: every alert from a known car opens a case ---------------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80), st.floats(),
                    st.text(max_size=30), st.sampled_from(["2026-11-20T12:00:00Z", "0001-01-01T00:00:00+14:00",
                                                           "9999-12-31T23:59:59-14:00", "yes", "1"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                          max_size=3), max_leaves=10)
FIELDS = ["automatic_activation", "manual_activation", "test_call", "position_can_be_trusted", "vehicle_type", "vin",
          "propulsion", "timestamp", "position", "direction", "recent_positions", "number_of_passengers", "msd"]
messages = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), values, max_size=8)


@FUZZ
@given(message=messages)
def test_any_json_message_from_a_known_car_opens_its_case(session, car, message):
    case = ecall.receive(session=session, vehicle_id=car.id, vin=car.vin, body=json.dumps(message).encode())
    assert case.vehicle_id == car.id and case.status == "open" and case.kind in ("crash", "sos")
    json.dumps(case.track, allow_nan=False), json.dumps(case.problems), json.dumps(case.vehicle_data)


@FUZZ
@given(body=st.binary(max_size=300))
def test_any_bytes_from_a_known_car_open_its_case(session, car, body):
    case = ecall.receive(session=session, vehicle_id=car.id, vin=car.vin, body=body, media_type=ecall.MEDIA_TYPE)
    assert case.vehicle_id == car.id and case.vehicle_data["raw"] == body.hex()


@FUZZ
@given(kind=values, at=values, latitude=values, longitude=values, heading=values, passengers=values,
       track=st.lists(values, max_size=3))
def test_raise_alert_takes_anything_for_a_known_car(session, car, kind, at, latitude, longitude, heading, passengers,
                                                     track):
    case = intake.raise_alert(session=session, vehicle_id=car.id, kind=kind, source="mqtt", at=at,
                              latitude=latitude, longitude=longitude, heading=heading, passengers=passengers,
                              track=track)
    assert case.vehicle_id == car.id
    assert case.heading is None or 0 <= case.heading <= 360
    assert case.passengers is None or 0 <= case.passengers <= 99
    json.dumps(case.track, allow_nan=False)


def test_the_agent_sees_what_the_ecall_said_on_the_case_page(make, session, car):
    case = ecall.receive(session=session, vehicle_id=car.id, vin=car.vin, body=crash_msd(car).encoded())
    agent = make.staff(make.carmaker(), Role.CALL_CENTRE_AGENT)
    session.commit()
    page = browser_for(make, agent).get(f"/console/cases/{case.number}")
    assert page.status_code == 200
    assert "What the car's eCall said" in page.text and car.vin in page.text
    assert "gasoline, electric" in page.text and "1.4.1" in page.text
