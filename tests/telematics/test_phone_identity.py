"""A phone is a device with a secret: its reports need the token in the URL it was paired with.

Before, a phone's short id was its only credential: anyone who found one could raise a crash at
any position as that phone. Now the id alone, a wrong token, a removed phone or another phone's
id all get one and the same refusal, failed attempts are limited per client address, and the
owner's own phone still reports and opens a case with its SOS.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select

from forecourt.assist.models import Case
from forecourt.core import auth
from forecourt.core.clock import advance, frozen_at
from forecourt.telematics import devices
from forecourt.telematics.models import Device, Position, Rejection, VehicleEventRecord

NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PHONE_ID = "471108"  # what the Traccar Client shows by default: six random digits, easy to walk through


@pytest.fixture(autouse=True)
def noon():
    with frozen_at(NOON):
        yield


@pytest.fixture
def paired(make, session):
    """A car whose owner paired their phone; the carmaker may store its positions."""
    owner = make.customer()
    vehicle = make.vehicle(owner=owner)
    make.grant(owner, make.carmaker(), "location_services")
    _, token = devices.pair_phone(session=session, vehicle_id=vehicle.id, identifier=PHONE_ID, label="Mine")
    session.commit()
    return vehicle, token


def crash(phone_id: str = PHONE_ID, **extra) -> dict:
    return {"id": phone_id, "timestamp": str(int(NOON.timestamp())), "lat": "48.1", "lon": "11.5",
            "alarm": "accident"} | extra


def client_at(client, address: str) -> TestClient:
    return TestClient(client.app, base_url="http://testserver", client=(address, 40000))


def stored_for(session, vehicle) -> tuple[int, int, int]:
    session.expire_all()
    count = lambda model, column: session.scalar(select(func.count()).select_from(model).where(  # noqa: E731
        column == vehicle.id))
    return (count(Case, Case.vehicle_id), count(VehicleEventRecord, VehicleEventRecord.vehicle_id),
            count(Position, Position.vehicle_id))


def test_a_phone_id_alone_raises_no_crash_and_stores_nothing(paired, client, session):
    vehicle, _ = paired
    for path in ("/osmand", "/osmand/", "/osmand/guessed-token"):
        for method in ("GET", "POST"):
            response = client.request(method, path, params=crash())
            assert response.status_code in (401, 404), (method, path, response.text)
    assert stored_for(session, vehicle) == (0, 0, 0)


def test_another_phones_url_cannot_report_as_this_phone(paired, make, session, client):
    vehicle, _ = paired
    _, mine = devices.pair_phone(session=session, vehicle_id=make.vehicle(owner=make.customer()).id,
                                 identifier="attacker-phone", label=None)
    session.commit()
    response = client.get(f"/osmand/{mine}", params=crash(PHONE_ID))
    assert response.status_code == 401
    assert stored_for(session, vehicle) == (0, 0, 0)


def test_every_refusal_looks_the_same(paired, make, session, client):
    """A known id, an unknown one, no token, a wrong token, a removed phone, another phone's id:
    one status, one body, and the same work on the database (a stand-in for the same time)."""
    vehicle, token = paired
    removed, removed_token = devices.pair_phone(session=session, vehicle_id=vehicle.id, identifier="old-phone",
                                                label=None)
    devices.unpair(session=session, vehicle_id=vehicle.id, device_id=removed.id)
    session.commit()
    attempts = {
        "known id, no token": ("/osmand", crash()),
        "unknown id, no token": ("/osmand", crash("no-such-phone")),
        "known id, wrong token": ("/osmand/" + auth.new_token(), crash()),
        "unknown id, wrong token": ("/osmand/" + auth.new_token(), crash("no-such-phone")),
        "removed phone": (f"/osmand/{removed_token}", crash("old-phone")),
        "right token, other id": (f"/osmand/{token}", crash("no-such-phone")),
    }
    answers, statements = {}, {}
    for name, (path, params) in attempts.items():
        executed: list[str] = []
        def listener(conn, cursor, statement, *rest):
            # Only the request's own work: an On Call console opened by an earlier test of this process
            # keeps its case watcher reading the same database in a thread of its own.
            if threading.current_thread().name != "forecourt-case-watch":
                executed.append(statement)
        engine = session.get_bind().engine
        event.listen(engine, "before_cursor_execute", listener)
        try:
            response = client.get(path, params=params)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        answers[name] = (response.status_code, response.text)
        statements[name] = [s.split()[0] for s in executed if not s.startswith(("SAVEPOINT", "RELEASE"))]
    assert set(answers.values()) == {(401, '{"detail":"unknown device or wrong secret"}')}, answers
    without_decoding = {k: v for k, v in statements.items() if k != "right token, other id"}
    assert len({tuple(v) for v in without_decoding.values()}) == 1, statements
    assert "INSERT" in statements["known id, no token"], statements  # the refusal is written down
    assert stored_for(session, vehicle) == (0, 0, 0)


def test_failed_attempts_are_limited_per_client_and_a_real_sos_still_gets_through(paired, client, session,
                                                                                  settings):
    vehicle, token = paired
    prober = client_at(client, "198.51.100.7")
    for _ in range(settings.device_max_failures):
        assert prober.get("/osmand/" + auth.new_token(), params=crash()).status_code == 401
    limited = prober.get("/osmand/" + auth.new_token(), params=crash())
    assert limited.status_code == 429 and limited.headers["retry-after"] == str(settings.device_window_seconds)
    session.expire_all()
    rows = session.scalar(select(func.count(Rejection.id)).where(Rejection.address == "198.51.100.7"))
    assert rows == settings.device_max_failures, "a refused attempt past the limit is not written down"
    # another client is not affected
    assert client_at(client, "203.0.113.9").get("/osmand/" + auth.new_token(), params=crash()).status_code == 401
    # the owner's phone behind the same address (a carrier's shared address) still reports its SOS
    sos = prober.post(f"/osmand/{token}", params=crash(alarm="sos"))
    assert sos.status_code == 200, sos.text
    session.expire_all()
    [case] = session.scalars(select(Case).where(Case.vehicle_id == vehicle.id)).all()
    assert (case.kind, case.source, case.latitude) == ("sos", "phone", 48.1)
    # once the window has passed, the prober is answered like anyone else again
    advance(timedelta(seconds=settings.device_window_seconds + 1))
    assert prober.get("/osmand/" + auth.new_token(), params=crash()).status_code == 401


def test_only_a_digest_of_the_token_is_kept(paired, session):
    vehicle, token = paired
    session.expire_all()
    device = session.scalars(select(Device).where(Device.vehicle_id == vehicle.id)).one()
    assert device.secret_digest == auth.token_digest(token) and token not in device.secret_digest
    assert len(token) >= 40  # 32 random bytes, URL-safe


def test_pairing_again_gives_a_new_url_and_retires_the_old(paired, client, session):
    vehicle, old = paired
    _, new = devices.pair_phone(session=session, vehicle_id=vehicle.id, identifier=PHONE_ID, label="Mine")
    session.commit()
    assert new != old
    position = {"id": PHONE_ID, "timestamp": str(int(NOON.timestamp())), "lat": "52.5", "lon": "13.4"}
    assert client.get(f"/osmand/{old}", params=position).status_code == 401
    assert client.get(f"/osmand/{new}", params=position).status_code == 200


def test_the_access_log_never_holds_a_token(app):
    """uvicorn logs every request line; the phone's token (and an e-mailed link's) is cut out."""
    import logging

    token = auth.new_token()
    access = logging.getLogger("uvicorn.access")
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("203.0.113.9:5000", "GET", f"/osmand/{token}?id={PHONE_ID}&lat=52.5", "1.1", 200),
                               None)
    assert all(f.filter(record) for f in access.filters)
    line = record.getMessage()
    assert token not in line and f"/osmand/[token]?id={PHONE_ID}" in line
    for path in (f"/account/claim/{token}", f"/contact/confirm/{token}"):
        record.args = ("203.0.113.9:5000", "POST", path, "1.1", 303)
        assert all(f.filter(record) for f in access.filters)
        assert token not in record.getMessage()
