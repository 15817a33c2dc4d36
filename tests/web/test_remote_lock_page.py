"""The owner's lock and unlock buttons on their car's page: the command goes out, the page follows the
car's answer, and nobody else can press them or read what they did."""

from __future__ import annotations

from datetime import timedelta

from forecourt.core.clock import now
from forecourt.telematics import commands, devices
from forecourt.telematics.models import VehicleCommand
from forecourt.telematics.readings import Source
from forecourt.vehicles import service as vehicles_service


def _connected_car(make, session, owner, kind=Source.EMBEDDED, identifier=None):
    vehicle = make.vehicle(owner=owner)
    devices.register(session=session, kind=kind, identifier=identifier or vehicle.vin, vehicle_id=vehicle.id)
    session.commit()
    return vehicle


def _command_of(response) -> int:
    location = response.headers["location"]
    assert location.endswith("#remote") and "?command=" in location, location
    return int(location.split("?command=")[1].split("#")[0])


def test_the_owner_unlocks_from_the_page_and_follows_the_car_until_it_confirms(make, session, visit):
    owner = make.customer()
    car = _connected_car(make, session, owner)
    browser = visit(make.customer_login(owner).email)
    page = browser.get(f"/me/vehicles/{car.vin}")
    assert 'id="lock-button"' in page.text and 'id="unlock-button"' in page.text
    assert 'id="command-status"' not in page.text  # nothing asked yet
    asked = browser.post(f"/me/vehicles/{car.vin}/unlock", follow_redirects=False)
    assert asked.status_code == 303
    command_id = _command_of(asked)
    command = session.get(VehicleCommand, command_id)
    assert (command.vin, command.action, command.reason, command.transport) == (car.vin, "unlock", "owner:web", "mqtt")
    shown = browser.get(f"/me/vehicles/{car.vin}?command={command_id}")
    assert 'id="command-status"' in shown.text and f'data-poll="/me/vehicles/{car.vin}/commands/{command_id}"' in shown.text
    assert 'data-final="false"' in shown.text
    assert "waiting for the car to confirm" in shown.text or "Sending to the car" in shown.text
    poll = browser.get(f"/me/vehicles/{car.vin}/commands/{command_id}")
    assert poll.status_code == 200 and poll.headers["cache-control"] == "no-store"
    assert (poll.json()["state"], poll.json()["final"]) == ("waiting", False)
    commands.record_answer(session=session, command_id=command_id, device_identifier=car.vin, ok=True)
    session.commit()
    done = browser.get(f"/me/vehicles/{car.vin}/commands/{command_id}").json()
    assert (done["status"], done["state"], done["final"]) == ("acknowledged", "done", True)
    assert done["text"] == "Done: the car confirmed it is unlocked."
    assert 'data-final="true"' in browser.get(f"/me/vehicles/{car.vin}?command={command_id}").text


def test_a_lock_the_car_never_confirmed_reads_as_not_acknowledged_in_time(make, session, visit):
    owner = make.customer()
    car = _connected_car(make, session, owner, kind=Source.TRACKER, identifier="356307042441099")
    command = commands.request(session=session, vin=car.vin, action="lock", reason="owner:web",
                               deadline=timedelta(seconds=5), now=now() - timedelta(seconds=10))
    session.commit()
    browser = visit(make.customer_login(owner).email)
    late = browser.get(f"/me/vehicles/{car.vin}/commands/{command.id}").json()
    assert (late["status"], late["state"], late["final"]) == ("timed_out", "failed", True)
    assert late["text"].startswith("Not acknowledged in time")
    refused = commands.request(session=session, vin=car.vin, action="unlock", reason="owner:web",
                               deadline=timedelta(seconds=30), now=now())
    commands.record_answer(session=session, command_id=refused.id, device_identifier="356307042441099", ok=False,
                           answer="Error: DOUT1 is busy")
    session.commit()
    said = browser.get(f"/me/vehicles/{car.vin}/commands/{refused.id}").json()
    assert (said["state"], said["text"]) == ("failed", "The car refused: Error: DOUT1 is busy")


def test_nobody_but_the_owner_presses_the_buttons_or_reads_the_answer(make, session, visit):
    owner, stranger = make.customer(), make.customer()
    car = _connected_car(make, session, owner)
    their_car = _connected_car(make, session, stranger)
    command = commands.request(session=session, vin=car.vin, action="lock", reason="owner:web",
                               deadline=timedelta(seconds=30), now=now())
    session.commit()
    before = session.query(VehicleCommand).count()
    them = visit(make.customer_login(stranger).email)
    them.get(f"/me/vehicles/{their_car.vin}")
    for path in (f"/me/vehicles/{car.vin}/lock", f"/me/vehicles/{car.vin}/unlock"):
        assert them.post(path, follow_redirects=False).status_code == 404
    assert them.get(f"/me/vehicles/{car.vin}/commands/{command.id}").status_code == 404
    assert them.get(f"/me/vehicles/{their_car.vin}/commands/{command.id}").status_code == 404  # not under their VIN
    assert 'id="command-status"' not in them.get(f"/me/vehicles/{their_car.vin}?command={command.id}").text
    assert session.query(VehicleCommand).count() == before
    vehicles_service.transfer(session=session, vehicle_id=car.id, customer_id=stranger.id)
    session.commit()
    former = visit(make.customer_login(owner).email)
    former.get("/me")
    assert former.post(f"/me/vehicles/{car.vin}/unlock", follow_redirects=False).status_code == 404
    # the new owner does not see the former owner's command either
    assert them.get(f"/me/vehicles/{car.vin}/commands/{command.id}").status_code == 404


def test_a_car_that_cannot_hear_has_no_buttons_and_a_forged_press_says_why(make, session, visit):
    owner = make.customer()
    car = make.vehicle(owner=owner)
    session.commit()
    browser = visit(make.customer_login(owner).email)
    page = browser.get(f"/me/vehicles/{car.vin}")
    assert page.status_code == 200 and 'id="lock-button"' not in page.text
    refused = browser.post(f"/me/vehicles/{car.vin}/lock", follow_redirects=False)
    assert refused.status_code == 303 and "error=" in refused.headers["location"]
    assert "remote commands" in browser.get(refused.headers["location"]).text
    assert session.query(VehicleCommand).filter(VehicleCommand.vehicle_id == car.id).count() == 0
