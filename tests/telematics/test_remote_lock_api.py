"""The owner locks and unlocks their own connected car from the phone and follows the command."""

from __future__ import annotations

from datetime import timedelta

from forecourt.core.clock import now
from forecourt.telematics import commands, devices
from forecourt.telematics.readings import Source
from forecourt.vehicles import service as vehicles_service


def _connected_car(make, session, owner):
    vehicle = make.vehicle(owner=owner)
    devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin, vehicle_id=vehicle.id)
    session.commit()
    return vehicle


def test_the_owner_unlocks_and_follows_the_command_until_the_car_answers(make, client, session):
    owner = make.customer()
    car = _connected_car(make, session, owner)
    me = make.customer_login(owner)
    accepted = client.post(f"/api/me/vehicles/{car.vin}/unlock", headers=me.headers)
    assert accepted.status_code == 202
    body = accepted.json()
    assert (body["action"], body["vin"], body["status"] in ("pending", "sent")) == ("unlock", car.vin, True)
    assert "reason" not in body
    commands.record_answer(session=session, command_id=body["id"], device_identifier=car.vin, ok=True)
    session.commit()
    followed = client.get(f"/api/me/vehicles/{car.vin}/commands/{body['id']}", headers=me.headers)
    assert followed.status_code == 200 and followed.json()["status"] == "acknowledged"


def test_a_command_nobody_answered_reads_as_timed_out(make, client, session):
    owner = make.customer()
    car = _connected_car(make, session, owner)
    me = make.customer_login(owner)
    command = commands.request(session=session, vin=car.vin, action="lock", reason="owner:app",
                               deadline=timedelta(seconds=5), now=now() - timedelta(seconds=10))
    session.commit()
    answer = client.get(f"/api/me/vehicles/{car.vin}/commands/{command.id}", headers=me.headers)
    assert answer.status_code == 200 and answer.json()["status"] == "timed_out"


def test_nobody_else_locks_the_car_or_reads_its_commands(make, client, session):
    owner, stranger = make.customer(), make.customer()
    car = _connected_car(make, session, owner)
    other_car = _connected_car(make, session, stranger)
    command = commands.request(session=session, vin=car.vin, action="lock", reason="owner:app",
                               deadline=timedelta(seconds=30), now=now())
    session.commit()
    them = make.customer_login(stranger)
    assert client.post(f"/api/me/vehicles/{car.vin}/lock", headers=them.headers).status_code == 404
    assert client.get(f"/api/me/vehicles/{car.vin}/commands/{command.id}", headers=them.headers).status_code == 404
    # their own car's path does not open another car's command either
    assert client.get(f"/api/me/vehicles/{other_car.vin}/commands/{command.id}",
                      headers=them.headers).status_code == 404
    vehicles_service.transfer(session=session, vehicle_id=car.id, customer_id=stranger.id)
    session.commit()
    former = make.customer_login(owner)
    assert client.post(f"/api/me/vehicles/{car.vin}/unlock", headers=former.headers).status_code == 404


def test_a_car_without_a_connected_unit_is_refused_clearly(make, client, session):
    owner = make.customer()
    car = make.vehicle(owner=owner)
    session.commit()
    me = make.customer_login(owner)
    refused = client.post(f"/api/me/vehicles/{car.vin}/unlock", headers=me.headers)
    assert refused.status_code == 422
    assert "remote commands" in refused.json()["detail"][0]["msg"]


def test_the_owners_commands_are_in_their_export_and_go_with_their_erasure(make, session):
    from forecourt.telematics import service as telematics_service

    owner = make.customer()
    car = _connected_car(make, session, owner)
    commands.request(session=session, vin=car.vin, action="unlock", reason="owner:app",
                     deadline=timedelta(seconds=30), now=now())
    session.flush()
    exported = telematics_service.telemetry_of_owner(session=session, customer_id=owner.id)["commands"]
    assert [(c["action"], c["vehicle_id"]) for c in exported] == [("unlock", car.id)]
    erased = telematics_service.erase_owner_telemetry(session=session, customer_id=owner.id)
    assert erased["commands"] == 1
    assert commands.commands_of(session=session, vehicle_id=car.id) == []
