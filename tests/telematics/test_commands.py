"""Commands to cars: written with their outbox row, answered once, timed out when the car stays silent."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from forecourt.core import events
from forecourt.core.clock import advance, frozen_at
from forecourt.core.config import get_settings
from forecourt.core.errors import Invalid, NotFound
from forecourt.core.outbox import OutboxMessage
from forecourt.telematics import commands, devices
from forecourt.telematics.models import Rejection
from forecourt.telematics.readings import Source

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.fixture
def heard():
    """Every command event delivered after commit, in order."""
    seen: list = []
    for kind in (commands.VehicleCommandAcknowledged, commands.VehicleCommandFailed):
        events.bus.subscribe(kind, seen.append)
    yield seen
    for kind in (commands.VehicleCommandAcknowledged, commands.VehicleCommandFailed):
        events.bus.handlers[kind].remove(seen.append)


def connected_car(make, session, kind: Source = Source.EMBEDDED, identifier: str | None = None):
    vehicle = make.vehicle(owner=make.customer())
    devices.register(session=session, kind=kind, identifier=identifier or vehicle.vin, vehicle_id=vehicle.id)
    session.flush()
    return vehicle


def ask(session, vin: str, action: str = "unlock", seconds: int = 30):
    return commands.request(session=session, vin=vin, action=action, reason="sharing:reservation:42",
                            deadline=timedelta(seconds=seconds), now=T0)


def test_a_command_is_written_with_its_outbox_row_and_nothing_leaves_before_the_commit(make, session):
    vehicle = connected_car(make, session)
    with frozen_at(T0):
        command = ask(session, vehicle.vin)
        assert (command.status, command.transport, command.device_identifier) == ("pending", "mqtt", vehicle.vin)
        assert command.expires_at == T0 + timedelta(seconds=30)
        message = session.scalars(select(OutboxMessage).where(
            OutboxMessage.dedupe_key == f"vehicle_command:{command.id}")).one()
        assert (message.channel, message.subject, message.sent_at) == ("mqtt", f"vehicles/{vehicle.vin}/commands", None)
        assert json.loads(message.body) == {"id": command.id, "action": "unlock", "issued_at": T0.isoformat(),
                                            "expires_at": (T0 + timedelta(seconds=30)).isoformat()}
        assert commands.status(session=session, command_id=command.id) == "pending"


def test_an_acknowledgement_is_recorded_once_and_announced_after_commit(make, session, heard):
    vehicle = connected_car(make, session)
    with frozen_at(T0):
        command = ask(session, vehicle.vin)
        assert commands.mark_sent(session=session, command_id=command.id)
        payload = json.dumps({"id": command.id, "result": "ok"}).encode()
        topic = f"vehicles/{vehicle.vin}/commands/ack"
        assert commands.from_mqtt(session=session, topic=topic, payload=payload) == "recorded"
        assert heard == []  # not before the commit
        session.commit()
        assert commands.from_mqtt(session=session, topic=topic, payload=payload) == "duplicate"
        session.commit()
    assert heard == [commands.VehicleCommandAcknowledged(command_id=command.id, vin=vehicle.vin, action="unlock",
                                                         reason="sharing:reservation:42")]
    assert commands.get(session=session, command_id=command.id).status == "acknowledged"


def test_a_refusal_fails_the_command_with_the_cars_words(make, session, heard):
    vehicle = connected_car(make, session)
    with frozen_at(T0):
        command = ask(session, vehicle.vin, action="lock")
        payload = json.dumps({"id": command.id, "result": "refused", "reason": "door open"}).encode()
        assert commands.from_mqtt(session=session, topic=f"vehicles/{vehicle.vin}/commands/ack",
                                  payload=payload) == "recorded"
        session.commit()
    command = commands.get(session=session, command_id=command.id)
    assert (command.status, command.answer) == ("refused", "door open")
    assert [(e.why, e.action) for e in heard] == [("refused", "lock")]


def test_a_silent_car_times_out_on_read_and_a_late_answer_does_not_bring_it_back(make, session, heard):
    vehicle = connected_car(make, session)
    with frozen_at(T0):
        command = ask(session, vehicle.vin, seconds=10)
        session.commit()
        advance(timedelta(seconds=9))
        session.expire_all()  # the app's sender may have published it meanwhile (the machine's broker)
        assert commands.status(session=session, command_id=command.id) in ("pending", "sent")
        advance(timedelta(seconds=1))
        assert commands.status(session=session, command_id=command.id) == "timed_out"
        session.commit()
        late = json.dumps({"id": command.id, "result": "ok"}).encode()
        assert commands.from_mqtt(session=session, topic=f"vehicles/{vehicle.vin}/commands/ack",
                                  payload=late) == "late"
        session.commit()
    command = commands.get(session=session, command_id=command.id)
    assert (command.status, command.late_result) == ("timed_out", "ok")
    assert [(e.why, e.command_id) for e in heard] == [("timed_out", command.id)]
    message = session.scalars(select(OutboxMessage).where(
        OutboxMessage.dedupe_key == f"vehicle_command:{command.id}")).one()
    assert message.sent_at is not None  # sent before its deadline, or closed as "not sent" at it


def test_the_schedule_times_out_every_overdue_command_once(make, session, heard):
    cars = [connected_car(make, session) for _ in range(3)]
    with frozen_at(T0):
        asked = [ask(session, car.vin, seconds=s) for car, s in zip(cars, (5, 60, 5))]
        session.commit()
        advance(timedelta(seconds=6))
        assert commands.expire_due(session=session) == 2
        assert commands.expire_due(session=session) == 0
        session.commit()
        # read on the test's clock: a command is pending only until its own deadline, which the real
        # clock passes a minute after T0
        assert commands.status(session=session, command_id=asked[1].id) == "pending"
    assert sorted(e.command_id for e in heard) == sorted([asked[0].id, asked[2].id])


def test_answers_that_match_no_command_are_written_down_and_change_nothing(make, session):
    vehicle, other = connected_car(make, session), connected_car(make, session)
    with frozen_at(T0):
        command = ask(session, vehicle.vin)
        for topic, payload in [
            (f"vehicles/{vehicle.vin}/commands/ack", b"{not json"),
            (f"vehicles/{vehicle.vin}/commands/ack", b'{"id": "7", "result": "ok"}'),
            (f"vehicles/{vehicle.vin}/commands/ack", json.dumps({"id": command.id, "result": "maybe"}).encode()),
            (f"vehicles/{vehicle.vin}/commands/ack", json.dumps({"id": 10 ** 9, "result": "ok"}).encode()),
            (f"vehicles/{other.vin}/commands/ack", json.dumps({"id": command.id, "result": "ok"}).encode()),
            (f"vehicles/{vehicle.vin}/commands/ack", b"[]"),
        ]:
            assert commands.from_mqtt(session=session, topic=topic, payload=payload) == "ignored"
        assert commands.status(session=session, command_id=command.id) in ("pending", "sent")
    reasons = list(session.scalars(select(Rejection.reason).where(Rejection.reason.like("%command%"))))
    assert len(reasons) == 6


def test_a_tracker_car_is_commanded_through_its_tracker_and_refusals_of_the_request_are_clear(make, session):
    tracker_car = connected_car(make, session, Source.TRACKER, identifier="356307042441013")
    with frozen_at(T0):
        command = ask(session, tracker_car.vin)
        assert (command.transport, command.device_identifier) == ("teltonika", "356307042441013")
        message = session.scalars(select(OutboxMessage).where(
            OutboxMessage.dedupe_key == f"vehicle_command:{command.id}")).one()
        assert (message.channel, message.body) == ("codec12", "unlock")  # its text is rendered when sent
        assert commands.due_for_tracker(session=session, imei="356307042441013").id == command.id
        unconnected = make.vehicle()
        with pytest.raises(Invalid):
            ask(session, unconnected.vin)
        with pytest.raises(Invalid):
            ask(session, tracker_car.vin, action="open_sunroof")
        with pytest.raises(Invalid):
            ask(session, tracker_car.vin, seconds=0)
        with pytest.raises(NotFound):
            ask(session, "WFC1A2B30RA999999")
        with pytest.raises(NotFound):
            commands.get(session=session, command_id=10 ** 9)


def test_racing_outcomes_leave_exactly_one_of_them_and_one_event(fresh_database_url):
    """Two deliveries of one answer and the schedule timing it out, side by side: one outcome wins."""
    import threading

    from forecourt.core.clock import now
    from forecourt.core.db import get_engine, make_sessionmaker, transaction
    from forecourt.core.events import DomainEvent
    from tests.factories import Factory

    url = fresh_database_url("command_race")
    sessions = make_sessionmaker(get_engine(url))
    with transaction(sessions) as session:
        vehicle = Factory(session=session, client=None).vehicle()
        devices.register(session=session, kind=Source.EMBEDDED, identifier=vehicle.vin, vehicle_id=vehicle.id)
        vin = vehicle.vin
        ids = [commands.request(session=session, vin=vin, action="unlock", reason="race", deadline=timedelta(seconds=30),
                                now=now()).id for _ in range(3)]
    barrier, outcomes = threading.Barrier(6), []

    def answer(command_id: int) -> None:
        barrier.wait()
        with transaction(sessions, write=True) as session:
            outcomes.append(commands.record_answer(session=session, command_id=command_id, device_identifier=vin,
                                                   ok=True))

    def expire() -> None:
        barrier.wait()
        with transaction(sessions, write=True) as session:
            outcomes.append(commands.expire_due(session=session, now=now() + timedelta(minutes=5)))

    threads = [threading.Thread(target=answer, args=(ids[i % 3],)) for i in range(4)] + [
        threading.Thread(target=expire) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with sessions() as session:
        names = list(session.scalars(select(DomainEvent.name).where(DomainEvent.name.like("telematics.vehicle_command%"))))
        statuses = [commands.get(session=session, command_id=i).status for i in ids]
    assert len(names) == 3  # one outcome per command, whoever won
    assert names.count("telematics.vehicle_command_acknowledged") == statuses.count("acknowledged")
    assert names.count("telematics.vehicle_command_failed") == statuses.count("timed_out")


def test_every_process_that_delivers_events_knows_the_command_outcomes():
    """The worker may deliver an acknowledgement the web app published before it ever ran a command job."""
    import subprocess
    import sys

    probe = ("from sqlalchemy.orm import sessionmaker\n"
             "from forecourt.core import events\n"
             "from forecourt.handlers import subscribe_all\n"
             "subscribe_all(sessionmaker())\n"
             "print(all(events.kind_named(n) for n in ('telematics.vehicle_command_acknowledged',"
             " 'telematics.vehicle_command_failed')))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "True", done.stderr


def test_tracker_texts_come_from_the_settings_which_refuse_what_a_tracker_could_not_run(make, session):
    texts = get_settings(tracker_commands={"unlock": "  setdigout 1 ", "lock": "setdigout 0"}).tracker_commands
    assert texts == {"unlock": "setdigout 1", "lock": "setdigout 0", "status": "getstatus"}  # status kept
    assert get_settings().tracker_commands == {"unlock": "setdigout 1? 2", "lock": "setdigout ?1 0 2",
                                               "status": "getstatus"}
    for wrong in ({"open_sunroof": "setdigout 1"}, {"unlock": ""}, {"lock": "setdigout 0\nsetdigout 1"},
                  {"lock": "setdigout 0 ä"}, {"lock": "x" * 201}, {"unlock": "setdigout 1", "lock": "setdigout 1"}):
        with pytest.raises(ValidationError):
            get_settings(tracker_commands=wrong)
    tracker_car = connected_car(make, session, Source.TRACKER, identifier="356307042441014")
    with frozen_at(T0):
        command = commands.request(session=session, vin=tracker_car.vin, action="lock", reason="owner:app",
                                   deadline=timedelta(seconds=30), now=T0)
        message = session.scalars(select(OutboxMessage).where(
            OutboxMessage.dedupe_key == f"vehicle_command:{command.id}")).one()
        assert message.body == "lock"  # the listener renders this car's wiring when it sends
        assert commands.waiting_for_trackers(session=session, imeis=["356307042441014"], tracker_texts=texts) == {
            "356307042441014": (command.id, "setdigout 0")}
        assert commands.waiting_for_trackers(session=session, imeis=["356307042441014"]) == {
            "356307042441014": (command.id, "setdigout ?1 0 2")}
