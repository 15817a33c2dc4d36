"""Request bodies are counted as they arrive, before authentication and before parsing: over the
route's limit the answer is 413 and nothing is stored — except an eCall, which opens a case with what
could be read."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import func, select

from forecourt.assist.models import Case
from forecourt.parties.models import LoginAttempt
from forecourt.sales.models import Lead
from forecourt.telematics import devices
from forecourt.telematics.models import Position, Rejection, Sample
from forecourt.telematics.decoders import vss_json
from forecourt.telematics.readings import Source
from forecourt.web.limits import DEFAULT_LIMIT, FORM_LIMIT, KIB, limit_for

MIB = 1024 * KIB


def count(session, model) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def car(make, session):
    vehicle = make.vehicle(owner=make.customer())
    _, secret = devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin,
                                 vehicle_id=vehicle.id)
    devices.register(session=session, kind=Source.PHONE, identifier="phone-body-limit", vehicle_id=vehicle.id)
    session.commit()
    return vehicle, {"Authorization": f"Bearer {secret}"}


def samples_body(size: int) -> bytes:
    """A well-formed VSS batch of 900 samples, padded with whitespace to ``size`` bytes."""
    one = {"timestamp": "2026-11-20T08:00:00Z", "Vehicle.Speed": 48.5}
    batch = json.dumps({"samples": [one | {"timestamp": f"2026-11-20T08:{i // 60:02d}:{i % 60:02d}Z"}
                                    for i in range(900)]}).encode()
    return batch + b" " * (size - len(batch))


def assert_too_large(response, limit: int) -> None:
    assert response.status_code == 413, response.text[:200]
    assert response.headers["content-type"] == "application/json"
    assert response.json()["detail"] == (f"The request body is larger than {limit // KIB} KB, the most this "
                                         "address accepts. Nothing was stored.")


def test_ten_megabytes_of_telemetry_are_refused_before_the_secret_is_checked(client, session, car):
    vehicle, auth = car
    before = (count(session, Sample), count(session, Rejection))
    for headers in (auth, {"Authorization": "Bearer wrong"}, {}):
        assert_too_large(client.post(f"/api/telemetry/{vehicle.vin}", content=b"{" + b" " * (10 * MIB) + b"}",
                                     headers=headers), vss_json.MAX_PAYLOAD_BYTES)
    assert (count(session, Sample), count(session, Rejection)) == before  # not even a refusal row


def test_a_large_batch_within_the_telemetry_limit_is_stored(client, session, car):
    vehicle, auth = car
    body = samples_body(200 * KIB)  # above the global default, within the vehicles' limit
    assert DEFAULT_LIMIT < len(body) < vss_json.MAX_PAYLOAD_BYTES
    response = client.post(f"/api/telemetry/{vehicle.vin}", content=body, headers=auth)
    assert response.status_code == 202, response.text
    assert response.json()["stored"] == 900


def test_a_phone_body_over_its_limit_is_refused_and_nothing_stored(client, session, car):
    before = (count(session, Position), count(session, Rejection))
    body = json.dumps({"device_id": "phone-body-limit", "location": {"coords": {"latitude": 52.5, "longitude": 13.4}},
                       "padding": "x" * (300 * KIB)}).encode()
    assert_too_large(client.post("/osmand", content=body, headers={"content-type": "application/json"}),
                     limit_for("/osmand", b"").limit)
    assert (count(session, Position), count(session, Rejection)) == before


def test_a_login_body_is_small_and_an_oversized_one_is_not_counted_as_an_attempt(client, session):
    before = count(session, LoginAttempt)
    body = json.dumps({"email": "driver@example.com", "password": "x" * (100 * KIB)})
    assert_too_large(client.post("/api/auth/token", content=body, headers={"content-type": "application/json"}),
                     16 * KIB)
    assert count(session, LoginAttempt) == before


def test_forms_are_small(client):
    body = "email=a%40b.c&password=" + "x" * FORM_LIMIT
    response = client.post("/login", content=body, headers={"content-type": "application/x-www-form-urlencoded"})
    assert_too_large(response, FORM_LIMIT)


def test_every_other_body_has_the_global_limit(client, session, make):
    dealer = make.dealer()
    session.commit()
    before = count(session, Lead)
    lead = {"first_name": "Big", "last_name": "Body", "email": "big.body@example.test", "dealer_id": dealer.id,
            "message": "x" * DEFAULT_LIMIT}
    assert_too_large(client.post("/api/leads", json=lead), DEFAULT_LIMIT)
    assert count(session, Lead) == before


# --- what the server sees: the body arrives in pieces ------------------------------------------------

def call(app, path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]]) -> tuple[int, bytes, int]:
    """Sends ``chunks`` one ``http.request`` message at a time; answers (status, body, chunks read)."""
    pending = list(chunks)
    read = 0
    sent: list[dict] = []

    async def receive():
        nonlocal read
        if not pending:
            await asyncio.sleep(3600)  # the client is still there: waits for the disconnect that never comes
        read += 1
        chunk = pending.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
             "headers": [*headers, (b"accept-language", b"en")],  # a client reading English
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80), "state": {}}
    asyncio.run(asyncio.wait_for(app(scope, receive, send), timeout=60))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body, read


def test_a_chunked_body_is_cut_off_as_soon_as_it_passes_the_limit(app, session, car):
    vehicle, auth = car
    before = (count(session, Sample), count(session, Rejection))
    chunk = b" " * (64 * KIB)
    headers = [(b"authorization", auth["Authorization"].encode()), (b"content-type", b"application/json"),
               (b"transfer-encoding", b"chunked")]
    status, body, read = call(app, f"/api/telemetry/{vehicle.vin}", [b"{"] + [chunk] * 40 + [b"}"], headers)
    assert status == 413 and b"larger than 256 KB" in body
    assert read == 5  # the brace and three chunks fit the 256 KB limit, the fourth passed it: nothing more was read
    assert (count(session, Sample), count(session, Rejection)) == before


def test_a_declared_length_over_the_limit_is_refused_without_reading_the_body(app, car):
    vehicle, auth = car
    headers = [(b"authorization", auth["Authorization"].encode()), (b"content-length", str(10 * MIB).encode())]
    status, body, read = call(app, f"/api/telemetry/{vehicle.vin}", [b"{}"], headers)
    assert (status, read) == (413, 0)


def test_a_body_lying_about_its_length_is_counted_all_the_same(app):
    headers = [(b"content-type", b"application/json"), (b"content-length", b"20")]
    status, _, read = call(app, "/api/auth/token", [b"{" + b" " * (8 * KIB)] * 4, headers)
    assert status == 413 and read == 2


# --- eCall: never refused for its size ---------------------------------------------------------------

def test_an_ecall_over_its_limit_still_opens_a_case_and_says_it_was_cut(client, session, car):
    vehicle, auth = car
    limit = limit_for(f"/api/assist/ecall/{vehicle.vin}", b"").limit
    body = b'{"automatic_activation": true, "padding": "' + b"x" * (2 * limit) + b'"}'
    response = client.post(f"/api/assist/ecall/{vehicle.vin}", content=body, headers=auth)
    assert response.status_code == 201, response.text
    assert any("was cut" in problem for problem in response.json()["problems"])
    session.expire_all()
    case = session.scalars(select(Case).where(Case.vehicle_id == vehicle.id)).one()
    assert (case.kind, case.source) == ("crash", "ecall")


def test_an_ecall_within_its_limit_is_read_as_before(client, session, car):
    vehicle, auth = car
    message = {"automatic_activation": False, "manual_activation": True, "vin": vehicle.vin,
               "position": {"latitude": 48.137, "longitude": 11.575}, "padding": "x" * (32 * KIB)}
    response = client.post(f"/api/assist/ecall/{vehicle.vin}", json=message, headers=auth)
    assert response.status_code == 201, response.text
    assert not any("was cut" in problem for problem in response.json()["problems"])
    session.expire_all()
    case = session.scalars(select(Case).where(Case.vehicle_id == vehicle.id)).one()
    assert (case.kind, case.latitude) == ("sos", 48.137)


def test_an_unknown_car_gets_401_for_an_ecall_of_any_size(client, session, car):
    vehicle, _ = car
    response = client.post(f"/api/assist/ecall/{vehicle.vin}", content=b"x" * (200 * KIB),
                           headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401
    assert count(session, Case) == 0
