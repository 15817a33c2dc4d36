"""The long-running commands started as processes, checked to do their work, and stopped the way Ctrl-C
or systemd stops them: serve and simulate, ingest, the mail sink."""

from __future__ import annotations

import json
import mailbox
import signal
import smtplib
import uuid
from email.message import EmailMessage

import httpx
from sqlalchemy import func, select

from forecourt.core.db import get_engine, make_sessionmaker
from forecourt.telematics.models import ReceivedMessage, Sample
from forecourt.vehicles.models import Vehicle
from tests.cli.commands import Running, listening
from forecourt.core.db import transaction
from tests.factories import Factory
from tests.smtp_servers import free_port
from tests.telematics.fleet import committed_fleet, publisher, sample

BROKER = "mqtt://127.0.0.1:1883"


def count(url: str, model, *where) -> int:
    with make_sessionmaker(get_engine(url))() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_serve_answers_then_stops_and_simulate_drives_cars_into_it(fresh_database_url, tmp_path):
    url = fresh_database_url("cli_serve")
    with transaction(make_sessionmaker(get_engine(url))) as session:
        make = Factory(session=session, client=None)
        for _ in range(2):
            make.vehicle()  # the simulator gives them devices
    port = free_port()
    server = Running(["serve", "--port", str(port), "--no-migrate"], url, tmp_path / "serve.log")
    try:
        server.wait_for(lambda: listening(port), "the server to listen")
        health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=10)
        assert health.status_code == 200
        home = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert home.status_code == 200 and "Forecourt" in home.text
        # simulate: cars report over HTTP to the server until stopped; without --server it finds the
        # server on the configured port, as `forecourt serve` does
        cars = Running(["simulate", "--via", "http", "-n", "2", "--rate", "4", "--workers", "1"], url,
                       tmp_path / "simulate.log", port=port)
        try:
            cars.wait_for(lambda: count(url, Sample) > 0, "the simulated cars' first samples to be stored")
        finally:
            assert cars.stop(signal.SIGINT) == 0
        assert "Driving 2 cars via http" in cars.output() and "Done:" in cars.output()
        reported = count(url, Sample)
        assert reported > 0 and count(url, ReceivedMessage) > 0
    finally:
        # uvicorn shuts down gracefully, then exits by the signal it caught, as a process told to stop does
        assert server.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
    assert "Forecourt on http://127.0.0.1:" in server.output() and "Application shutdown complete" in server.output()
    assert not listening(port)


def test_ingest_stores_what_cars_publish_and_stops_cleanly(fresh_database_url, tmp_path):
    url = fresh_database_url("cli_ingest")
    (vin,) = committed_fleet(url, cars=1)
    client_id = f"cli-ingest-{uuid.uuid4().hex[:8]}"
    worker = Running(["ingest", "--mqtt", BROKER, "--client-id", client_id, "--store-processes", "1"], url,
                     tmp_path / "ingest.log")
    car = publisher(BROKER, f"cli-car-{uuid.uuid4().hex[:8]}")
    try:
        worker.wait_for(lambda: "Ingesting" in worker.output(), "the worker to subscribe")

        def stored() -> bool:
            car.publish(f"vehicles/{vin}/telemetry", sample(7), qos=1)  # the same message again: stored once
            return count(url, ReceivedMessage) > 0

        worker.wait_for(stored, "the car's message to be stored")
    finally:
        car.loop_stop()
        car.disconnect()
        assert worker.stop(signal.SIGTERM) == 0
    assert count(url, ReceivedMessage) == 1  # repeated, stored once
    with make_sessionmaker(get_engine(url))() as session:
        vehicle_id = session.scalar(select(Vehicle.id).where(Vehicle.vin == vin))
    assert count(url, Sample, Sample.vehicle_id == vehicle_id, Sample.path == "Vehicle.Speed") == 1
    assert "Stopped after" in worker.output() and "1 readings stored" in worker.output()


def test_mailsink_keeps_what_it_is_sent_and_stops_cleanly(database_url, tmp_path):
    port, directory = free_port(), tmp_path / "mail"
    sink = Running(["mailsink", "--port", str(port), "--maildir", str(directory)], database_url,
                   tmp_path / "mailsink.log")
    try:
        sink.wait_for(lambda: listening(port), "the sink to listen")
        email = EmailMessage()
        email["From"], email["To"], email["Subject"] = "recalls@aurora.example", "owner@example.test", "Caught?"
        email.set_content(json.dumps({"recall": "RC-1"}))
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            smtp.send_message(email)
    finally:
        assert sink.stop(signal.SIGTERM) == 0
    (kept,) = list(mailbox.Maildir(str(directory), create=False))
    assert kept["Subject"] == "Caught?" and kept["X-RcptTo"] == "owner@example.test"
    assert "Mail sink on" in sink.output() and "Mail sink stopped." in sink.output()
    assert not listening(port)
